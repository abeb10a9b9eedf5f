// sf-inbox local inbox preview: draws the app's Canvas Kit answers the way
// Intercom's Inbox sidebar does.
//
// Canvas text comes from Salesforce records, so the DOM is built with
// createElement / textContent only (never innerHTML), and only http(s)
// links and images are followed.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  const state = {
    conversations: [],
    current: null, // the selected conversation
    canvas: null, // the canvas on screen (sent back as current_canvas)
    fields: [], // {id, value()} of every input on the canvas
    exchanges: 0,
    busy: false,
    workspace: null, // the Intercom workspace the requests come from
  };

  // ---- small DOM helpers ----

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function safeUrl(url) {
    if (typeof url !== "string") return null;
    try {
      const u = new URL(url, window.location.href);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch (_) {
      return null;
    }
  }

  function openUrl(url) {
    const safe = safeUrl(url);
    if (safe) window.open(safe, "_blank", "noopener,noreferrer");
  }

  function linkTo(url, className, text) {
    const safe = safeUrl(url);
    if (!safe) return null;
    const a = el("a", className, text);
    a.href = safe;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }

  // ---- Canvas Kit text markup: **bold**, [label](url), backslash escapes ----

  const ESCAPABLE = "*[]\\";

  function indexOfUnescaped(text, needle, from) {
    for (let i = from; i < text.length; i++) {
      if (text[i] === "\\" && ESCAPABLE.includes(text[i + 1] || "")) {
        i++;
        continue;
      }
      if (text.startsWith(needle, i)) return i;
    }
    return -1;
  }

  function unescapeMarkup(text) {
    let out = "";
    for (let i = 0; i < text.length; i++) {
      if (text[i] === "\\" && ESCAPABLE.includes(text[i + 1] || "")) {
        out += text[i + 1];
        i++;
      } else {
        out += text[i];
      }
    }
    return out;
  }

  // `[label](url)` starting at `i`, or null.
  function parseLink(text, i) {
    const close = indexOfUnescaped(text, "]", i + 1);
    if (close < 0 || text[close + 1] !== "(") return null;
    const end = text.indexOf(")", close + 2);
    if (end < 0) return null;
    return {
      label: unescapeMarkup(text.slice(i + 1, close)),
      url: text.slice(close + 2, end).trim(),
      end: end + 1,
    };
  }

  function appendMarkup(parent, text) {
    let target = parent;
    let buf = "";
    const flush = () => {
      if (buf) target.appendChild(document.createTextNode(buf));
      buf = "";
    };
    let i = 0;
    while (i < text.length) {
      const ch = text[i];
      if (ch === "\\" && ESCAPABLE.includes(text[i + 1] || "")) {
        buf += text[i + 1];
        i += 2;
        continue;
      }
      if (ch === "*" && text[i + 1] === "*") {
        if (target === parent && indexOfUnescaped(text, "**", i + 2) >= 0) {
          flush();
          target = el("strong");
          parent.appendChild(target);
          i += 2;
          continue;
        }
        if (target !== parent) {
          flush();
          target = parent;
          i += 2;
          continue;
        }
      }
      if (ch === "[") {
        const link = parseLink(text, i);
        if (link) {
          flush();
          const a = linkTo(link.url, "ck-link", link.label);
          target.appendChild(a || document.createTextNode(link.label));
          i = link.end;
          continue;
        }
      }
      buf += ch;
      i++;
    }
    flush();
  }

  // ---- components ----

  function labelFor(component, control) {
    if (!component.label) return null;
    const label = el("label", "ck-label", component.label);
    if (control) {
      control.id = "ck-" + component.id;
      label.htmlFor = control.id;
    }
    return label;
  }

  function saveState(component) {
    if (!component.save_state || component.save_state === "unsaved") return null;
    const text = component.save_state === "saved" ? "Saved" : "Failed to save";
    return el("span", "ck-save ck-save-" + component.save_state, text);
  }

  function wrap(component, className) {
    const box = el("div", "ck " + className);
    box.dataset.componentType = component.type;
    if (component.id) box.dataset.componentId = component.id;
    return box;
  }

  function renderText(c) {
    const style = c.style || "paragraph";
    const tag = style === "header" ? "h3" : "p";
    const node = el(tag, "ck ck-text ck-" + style);
    node.dataset.componentType = "text";
    if (c.align) node.classList.add("ck-align-" + c.align);
    if (c.bottom_margin === "none") node.classList.add("ck-no-margin");
    appendMarkup(node, String(c.text || ""));
    return node;
  }

  function renderButton(c) {
    const style = c.style || "primary";
    const className = "ck ck-button ck-button-" + style;
    const action = c.action || { type: "submit" };
    let node;
    if ((action.type === "url" || action.type === "sheet") && !c.disabled) {
      node = linkTo(action.url, className, c.label);
      if (!node) {
        node = el("button", className, c.label);
        node.type = "button";
        node.disabled = true;
      }
    } else {
      node = el("button", className, c.label);
      node.type = "button";
      node.disabled = !!c.disabled;
      if (action.type === "submit") node.addEventListener("click", () => submit(c.id));
    }
    node.dataset.componentType = "button";
    node.dataset.componentId = c.id;
    return node;
  }

  function renderList(c) {
    const list = el("ul", "ck ck-list");
    list.dataset.componentType = "list";
    for (const item of c.items || []) {
      const li = el("li", "ck-item");
      const action = item.action;
      const disabled = !!(c.disabled || item.disabled);
      let body;
      if (action && (action.type === "url" || action.type === "sheet") && !disabled) {
        body = linkTo(action.url, "ck-item-body ck-item-action") || el("div", "ck-item-body");
      } else if (action && action.type === "submit") {
        body = el("button", "ck-item-body ck-item-action");
        body.type = "button";
        body.disabled = disabled;
        body.addEventListener("click", () => submit(item.id));
      } else {
        body = el("div", "ck-item-body");
      }
      if (disabled) li.classList.add("ck-disabled");
      body.dataset.componentId = item.id;
      const image = safeUrl(item.image);
      if (image) {
        const img = el("img", "ck-item-image" + (item.rounded_image ? " ck-rounded" : ""));
        img.src = image;
        img.alt = "";
        img.width = item.image_width || 48;
        img.height = item.image_height || 48;
        body.appendChild(img);
      }
      const texts = el("span", "ck-item-texts");
      texts.appendChild(el("span", "ck-item-title", item.title));
      if (item.subtitle) texts.appendChild(el("span", "ck-item-subtitle", item.subtitle));
      if (item.tertiary_text) texts.appendChild(el("span", "ck-item-tertiary", item.tertiary_text));
      body.appendChild(texts);
      li.appendChild(body);
      list.appendChild(li);
    }
    return list;
  }

  function renderDataTable(c) {
    const table = el("dl", "ck ck-data-table");
    table.dataset.componentType = "data-table";
    for (const item of c.items || []) {
      const row = el("div", "ck-row");
      row.appendChild(el("dt", "ck-field", item.field));
      row.appendChild(el("dd", "ck-value", item.value));
      table.appendChild(row);
    }
    return table;
  }

  function renderDropdown(c) {
    const box = wrap(c, "ck-dropdown");
    const select = el("select", "ck-select");
    select.disabled = !!c.disabled;
    select.dataset.componentId = c.id;
    for (const o of c.options || []) {
      const option = el("option", null, o.text);
      option.value = o.id;
      option.disabled = !!o.disabled;
      select.appendChild(option);
    }
    if (c.value !== undefined && c.value !== null) select.value = c.value;
    const label = labelFor(c, select);
    if (label) box.appendChild(label);
    box.appendChild(select);
    const saved = saveState(c);
    if (saved) box.appendChild(saved);
    state.fields.push({ id: c.id, value: () => select.value });
    return box;
  }

  function renderSingleSelect(c) {
    const box = wrap(c, "ck-single-select");
    const label = labelFor(c, null);
    if (label) box.appendChild(label);
    const group = el("div", "ck-options");
    group.setAttribute("role", "radiogroup");
    if (c.label) group.setAttribute("aria-label", c.label);
    let value = c.value === undefined ? null : c.value;
    const buttons = [];
    for (const o of c.options || []) {
      const b = el("button", "ck-option", o.text);
      b.type = "button";
      b.setAttribute("role", "radio");
      b.dataset.optionId = o.id;
      b.disabled = !!(c.disabled || o.disabled);
      b.addEventListener("click", () => {
        value = o.id;
        for (const other of buttons) {
          other.setAttribute("aria-checked", String(other.dataset.optionId === value));
        }
        if (c.action && c.action.type === "submit") submit(c.id);
      });
      b.setAttribute("aria-checked", String(o.id === value));
      buttons.push(b);
      group.appendChild(b);
    }
    box.appendChild(group);
    const saved = saveState(c);
    if (saved) box.appendChild(saved);
    state.fields.push({ id: c.id, value: () => value });
    return box;
  }

  function renderInput(c) {
    const box = wrap(c, "ck-input");
    const input = el("input", "ck-field-input");
    input.type = "text";
    input.dataset.componentId = c.id;
    if (c.placeholder) input.placeholder = c.placeholder;
    if (c.value !== undefined && c.value !== null) input.value = c.value;
    input.disabled = !!c.disabled;
    const label = labelFor(c, input);
    if (label) box.appendChild(label);
    const row = el("div", "ck-input-row");
    row.appendChild(input);
    if (c.action && c.action.type === "submit") {
      const go = el("button", "ck-input-submit", "→");
      go.type = "button";
      go.setAttribute("aria-label", "Submit " + (c.label || c.id));
      go.disabled = !!c.disabled;
      go.addEventListener("click", () => submit(c.id));
      input.addEventListener("keydown", (e) => {
        if (e.key === "Enter") submit(c.id);
      });
      row.appendChild(go);
    }
    box.appendChild(row);
    const saved = saveState(c);
    if (saved) box.appendChild(saved);
    state.fields.push({ id: c.id, value: () => input.value });
    return box;
  }

  function renderTextarea(c) {
    const box = wrap(c, "ck-textarea");
    const area = el("textarea", "ck-field-input" + (c.error ? " ck-invalid" : ""));
    area.rows = 4;
    area.dataset.componentId = c.id;
    if (c.placeholder) area.placeholder = c.placeholder;
    if (c.value !== undefined && c.value !== null) area.value = c.value;
    area.disabled = !!c.disabled;
    if (c.error) area.setAttribute("aria-invalid", "true");
    const label = labelFor(c, area);
    if (label) box.appendChild(label);
    box.appendChild(area);
    state.fields.push({ id: c.id, value: () => area.value });
    return box;
  }

  function renderCheckbox(c) {
    const box = wrap(c, "ck-checkbox");
    const fieldset = el("fieldset", "ck-fieldset");
    if (c.label) fieldset.appendChild(el("legend", "ck-label", c.label));
    const chosen = new Set(Array.isArray(c.value) ? c.value : []);
    const boxes = [];
    for (const o of c.options || []) {
      const row = el("label", "ck-check");
      const input = el("input");
      input.type = "checkbox";
      input.value = o.id;
      input.checked = chosen.has(o.id);
      input.disabled = !!c.disabled;
      boxes.push(input);
      row.appendChild(input);
      row.appendChild(el("span", null, o.text));
      fieldset.appendChild(row);
    }
    box.appendChild(fieldset);
    const saved = saveState(c);
    if (saved) box.appendChild(saved);
    state.fields.push({
      id: c.id,
      value: () => boxes.filter((b) => b.checked).map((b) => b.value),
    });
    return box;
  }

  function renderImage(c) {
    const box = wrap(c, "ck-image" + (c.align ? " ck-align-" + c.align : ""));
    const url = safeUrl(c.url);
    if (!url) return box;
    const img = el("img", c.rounded ? "ck-rounded" : null);
    img.src = url;
    img.alt = "";
    if (c.width) img.width = c.width;
    if (c.height) img.height = c.height;
    if (c.action && c.action.type === "url" && safeUrl(c.action.url)) {
      const a = linkTo(c.action.url, "ck-image-link");
      a.appendChild(img);
      box.appendChild(a);
    } else {
      box.appendChild(img);
    }
    return box;
  }

  function renderComponent(c) {
    switch (c && c.type) {
      case "text":
        return renderText(c);
      case "button":
        return renderButton(c);
      case "list":
        return renderList(c);
      case "data-table":
        return renderDataTable(c);
      case "dropdown":
        return renderDropdown(c);
      case "single-select":
        return renderSingleSelect(c);
      case "input":
        return renderInput(c);
      case "textarea":
        return renderTextarea(c);
      case "checkbox":
        return renderCheckbox(c);
      case "divider": {
        const hr = el("hr", "ck ck-divider");
        if (c.bottom_margin === "none") hr.classList.add("ck-no-margin");
        return hr;
      }
      case "spacer":
        return el("div", "ck ck-spacer ck-spacer-" + (c.size || "s"));
      case "image":
        return renderImage(c);
      default:
        return el("p", "ck ck-text ck-error", "Unsupported component: " + String(c && c.type));
    }
  }

  function renderCanvas(canvas) {
    const root = $("sidebar");
    state.fields = [];
    const nodes = [];
    const components = (canvas && canvas.content && canvas.content.components) || [];
    for (const c of components) nodes.push(renderComponent(c));
    root.replaceChildren(...nodes);
  }

  function renderFailure(title, detail) {
    state.fields = [];
    const root = $("sidebar");
    const box = el("div", "ck-failure");
    box.appendChild(el("p", "ck-text ck-error", title));
    if (detail) box.appendChild(el("pre", "ck-failure-detail", detail));
    root.replaceChildren(box);
  }

  // ---- exchanges with the app (through the preview API) ----

  async function postJson(path, body) {
    const resp = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    let data = null;
    try {
      data = await resp.json();
    } catch (_) {
      data = null;
    }
    return { ok: resp.ok, status: resp.status, data };
  }

  function setBusy(busy) {
    state.busy = busy;
    const root = $("sidebar");
    root.dataset.state = busy ? "loading" : "ready";
    root.setAttribute("aria-busy", String(busy));
    $("sidebar-status").textContent = busy ? "Loading…" : "";
    root.inert = busy;
    root.classList.toggle("ck-busy", busy);
  }

  async function exchange(path, body) {
    if (state.busy) return;
    setBusy(true);
    let result;
    try {
      result = await postJson(path, body);
    } catch (e) {
      result = { ok: false, status: 0, data: { error: String(e) } };
    }
    const data = result.data || {};
    showJson(data.request, data.response || data);
    const response = data.response;
    if (result.ok && response && response.status === 200 && response.body && response.body.canvas) {
      state.canvas = response.body.canvas;
      renderCanvas(state.canvas);
    } else if (response) {
      renderFailure(
        "The app answered HTTP " + response.status + " instead of a canvas.",
        JSON.stringify(response.body, null, 2)
      );
    } else {
      renderFailure("The preview could not reach the app.", data.error || "HTTP " + result.status);
    }
    state.exchanges += 1;
    setBusy(false);
    $("sidebar").dataset.exchange = String(state.exchanges);
  }

  function submit(componentId) {
    if (!state.current || !state.canvas) return;
    const inputValues = {};
    for (const f of state.fields) {
      const v = f.value();
      if (v !== null && v !== undefined) inputValues[f.id] = v;
    }
    exchange("/preview/api/submit", {
      workspace_id: state.workspace,
      conversation: state.current.id,
      component_id: componentId,
      current_canvas: state.canvas,
      input_values: inputValues,
    });
  }

  // ---- conversations ----

  function showPerson(conv) {
    const c = conv.contact;
    const box = $("person");
    const rows = [
      ["Name", c.name],
      ["Email", c.email || "—"],
      ["Type", c.role === "lead" ? "Lead" : "User"],
      ["Company", c.company || "—"],
      ["Teammate", conv.admin ? conv.admin.name : "—"],
    ];
    const dl = el("dl", "person-table");
    for (const [k, v] of rows) {
      const row = el("div", "person-row");
      row.appendChild(el("dt", null, k));
      row.appendChild(el("dd", null, v));
      dl.appendChild(row);
    }
    box.replaceChildren(dl);
  }

  function bubble(initial, author, text, className) {
    const row = el("div", "bubble-row" + (className ? " " + className : ""));
    row.appendChild(el("span", "avatar", initial));
    const box = el("div", "bubble");
    box.appendChild(el("div", "bubble-author", author));
    box.appendChild(el("p", "bubble-text", text));
    row.appendChild(box);
    return row;
  }

  // The thread as the sandbox Intercom has it: the opening message, then
  // every reply and note (the texts the task picker offers).
  function showThread(conv) {
    const name = conv.contact.name || "?";
    const rows = [bubble(name.charAt(0).toUpperCase(), name + (conv.waiting ? " · " + conv.waiting : ""), conv.message)];
    for (const p of conv.parts || []) {
      const who = p.author || "Teammate";
      const note = p.kind === "note";
      const isPerson = who === name;
      rows.push(
        bubble(
          who.charAt(0).toUpperCase(),
          who + (note ? " · internal note" : ""),
          p.text,
          note ? "bubble-row-admin bubble-row-note" : isPerson ? "" : "bubble-row-admin"
        )
      );
    }
    $("thread-parts").replaceChildren(...rows);
  }

  // `#conversation=4711` names the conversation to open.
  function conversationFromHash() {
    const m = /^#conversation=([^&]+)$/.exec(window.location.hash || "");
    return m ? decodeURIComponent(m[1]) : null;
  }

  function openConversation(id) {
    const conv = state.conversations.find((c) => c.id === id);
    if (!conv || state.busy) return;
    state.current = conv;
    state.canvas = null;
    for (const b of document.querySelectorAll("[data-conversation]")) {
      b.classList.toggle("conv-active", b.dataset.conversation === id);
      b.setAttribute("aria-current", String(b.dataset.conversation === id));
    }
    $("thread-empty").hidden = true;
    $("thread").hidden = false;
    $("thread-subject").textContent = conv.subject;
    showThread(conv);
    if (window.location.hash !== "#conversation=" + id) {
      history.replaceState(null, "", "#conversation=" + id);
    }
    showPerson(conv);
    return exchange("/preview/api/initialize", { conversation: id, workspace_id: state.workspace });
  }

  // ---- developer panels ----

  function showJson(request, response) {
    $("json-request").textContent = request ? JSON.stringify(request, null, 2) : "—";
    $("json-response").textContent = response ? JSON.stringify(response, null, 2) : "—";
  }

  function toggleJson() {
    const panel = $("json-panel");
    panel.hidden = !panel.hidden;
    const button = $("toggle-json");
    button.setAttribute("aria-pressed", String(!panel.hidden));
    button.textContent = panel.hidden ? "Show request & response JSON" : "Hide request & response JSON";
  }

  const SANDBOX_ACTIONS = {
    slow: ["switches", { latency_ms: 5000 }],
    fail: ["switches", { fail_status: 503 }],
    malformed: ["switches", { malformed: true }],
    "api-limit": ["switches", { api_limit: true }],
    "expire-tokens": ["expire-tokens", null],
    revoke: ["revoke", null],
    reset: ["reset", null],
  };

  function describeSandbox(s) {
    const faults = [];
    if (s.latency_ms) faults.push("slow (" + s.latency_ms + " ms)");
    if (s.fail_status) faults.push("failing with " + s.fail_status);
    if (s.malformed) faults.push("malformed answers");
    if (s.api_limit) faults.push("API limit reached");
    const calls = typeof s.api_calls === "number" ? " · " + s.api_calls + " API calls so far" : "";
    return (faults.length ? "Now: " + faults.join(", ") : "Now: healthy") + calls;
  }

  async function sandboxAction(name) {
    const spec = SANDBOX_ACTIONS[name];
    if (!spec) return;
    const [action, body] = spec;
    const r = await postJson("/preview/api/sandbox/" + action, body || {});
    const out = $("sandbox-state");
    if (r.ok && r.data) {
      let text = describeSandbox(r.data);
      if (name === "expire-tokens") text += " · access tokens expired";
      if (name === "revoke") {
        text += " · access revoked: the app shows Reconnect Salesforce until it is restarted (Reset does not undo it)";
      }
      if (name !== "reset") text += " — click Refresh in the sidebar to see it";
      out.textContent = text;
      out.title = text;
      out.dataset.healthy = String(!(r.data.latency_ms || r.data.fail_status || r.data.malformed || r.data.api_limit));
    } else {
      out.textContent = "Sandbox control failed: " + ((r.data && r.data.error) || "HTTP " + r.status);
    }
  }

  async function loadSandboxState() {
    try {
      const resp = await fetch("/preview/api/sandbox/state");
      if (!resp.ok) return;
      const s = await resp.json();
      $("sandbox-state").textContent = describeSandbox(s);
    } catch (_) {
      /* the controls still work */
    }
  }

  async function start() {
    $("toggle-json").addEventListener("click", toggleJson);
    for (const b of document.querySelectorAll("[data-sandbox-action]")) {
      b.addEventListener("click", () => sandboxAction(b.dataset.sandboxAction));
    }
    for (const b of document.querySelectorAll("[data-conversation]")) {
      b.addEventListener("click", () => openConversation(b.dataset.conversation));
    }
    const resp = await fetch("/preview/api/conversations");
    const data = await resp.json();
    state.conversations = data.conversations || [];
    // The environment's workspace first, then every installed one; a
    // change redraws the open conversation as that workspace sees it.
    const select = $("workspace");
    for (const w of data.workspaces || []) {
      const o = el("option", null, w.name ? w.id + " · " + w.name : w.id);
      o.value = w.id;
      select.appendChild(o);
    }
    state.workspace = select.value || null;
    select.addEventListener("change", () => {
      state.workspace = select.value;
      if (state.current) {
        const id = state.current.id;
        state.current = null;
        openConversation(id);
      }
    });
    $("install-link").hidden = !data.install;
    if (data.sandbox) {
      $("sandbox-controls").hidden = false;
      loadSandboxState();
    }
    // Open the conversation the address names, else the first one, so the
    // page never starts with an empty sidebar.
    const wanted = conversationFromHash();
    const first = state.conversations.find((c) => c.id === wanted) || state.conversations[0];
    window.addEventListener("hashchange", () => {
      const id = conversationFromHash();
      if (id && (!state.current || state.current.id !== id)) openConversation(id);
    });
    if (first) await openConversation(first.id);
    document.body.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", start);
})();
