//! Golden canvases: every screen, rendered from `fixtures/` through the real
//! client and the sandbox org, compared with `canvases/*.json`, and checked
//! against Intercom's Canvas Kit schema. A screen change shows up as a diff
//! of those files; regenerate them with `UPDATE_GOLDENS=1 cargo test`.

use crate::common;

use std::path::Path;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use common::*;
use serde_json::{json, Map, Value};
use sf_inbox::canvas::CanvasRequest;
use sf_inbox::panels::{self, RenderCtx, View};
use sf_inbox::salesforce::lookup::{self, PersonQuery};
use sf_inbox::salesforce::SalesforceError;

const INSTANCE: &str = "https://sandbox.my.salesforce.com";

fn normalise(canvas: Value, org_url: &str) -> Value {
    let s = serde_json::to_string(&canvas)
        .unwrap()
        .replace(org_url, INSTANCE);
    serde_json::from_str(&mask_clock(&s)).unwrap()
}

/// A live render says when it fetched (`fetched at 14:05 UTC`): the goldens
/// keep `HH:MM` there. Anything else in that place is left, so a change
/// of format still shows.
fn mask_clock(s: &str) -> String {
    const AT: &str = "fetched at ";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(AT) {
        let (head, tail) = rest.split_at(i + AT.len());
        out.push_str(head);
        let b = tail.as_bytes();
        let is_clock = b.len() >= 9
            && b[..5].iter().enumerate().all(|(k, c)| {
                if k == 2 {
                    *c == b':'
                } else {
                    c.is_ascii_digit()
                }
            })
            && &tail[5..9] == " UTC";
        if is_clock {
            out.push_str("HH:MM");
            rest = &tail[5..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

fn check_golden(name: &str, canvas: &Value) {
    validate_canvas(canvas)
        .unwrap_or_else(|e| panic!("{name}: not a valid Canvas Kit response: {e}"));
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("canvases")
        .join(format!("{name}.json"));
    let pretty = serde_json::to_string_pretty(canvas).unwrap() + "\n";
    if std::env::var("UPDATE_GOLDENS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &pretty).unwrap();
        return;
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run UPDATE_GOLDENS=1 cargo test --test golden_canvases",
            path.display()
        )
    });
    let golden: Value = serde_json::from_str(&golden).unwrap();
    assert!(
        &golden == canvas,
        "{name} changed; if intended, run UPDATE_GOLDENS=1 cargo test --test golden_canvases\n--- golden\n{}\n--- now\n{}",
        serde_json::to_string_pretty(&golden).unwrap(),
        pretty
    );
}

async fn render(app: &TestApp, body: &Value, submit: bool) -> Value {
    let req: CanvasRequest = serde_json::from_value(body.clone()).unwrap();
    let canvas = if submit {
        app.sidebar.submit(&req).await
    } else {
        app.sidebar.initialize(&req).await
    };
    normalise(
        serde_json::to_value(canvas.into_response()).unwrap(),
        &app.org.url(),
    )
}

#[tokio::test]
async fn record_screens_match_their_goldens() {
    let app = spawn().await;
    let hana = person(
        "user",
        Some("hana@globex.example"),
        Some("Globex Corporation"),
    );
    let summary = render(&app, &hana, false).await;
    check_golden("contact_several_opportunities", &summary);

    let account = render(
        &app,
        &submit_from(&hana, &summary, "tab", json!({"tab": "tab_account"})),
        true,
    )
    .await;
    check_golden("contact_account_tab", &account);
    let deals = render(
        &app,
        &submit_from(&hana, &summary, "tab", json!({"tab": "tab_deals"})),
        true,
    )
    .await;
    check_golden("contact_several_opportunities_tab", &deals);
    // One click on another deal shows its details.
    let second = deals["canvas"]["content"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "list")
        .unwrap()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let switched = render(&app, &submit_from(&hana, &deals, &second, json!({})), true).await;
    check_golden("contact_second_opportunity", &switched);
    let cases = render(
        &app,
        &submit_from(&hana, &summary, "show_cases", json!({})),
        true,
    )
    .await;
    check_golden("contact_case_list", &cases);

    for (name, body) in [
        (
            "account_only",
            person("user", Some("tony@stark.example"), Some("Stark Industries")),
        ),
        ("lead", person("lead", Some("lena@initech.example"), None)),
        (
            "converted_lead",
            person("lead", Some("omar@umbrella.example"), None),
        ),
        (
            "contact_without_opportunities",
            person("user", Some("priya@hooli.example"), Some("Hooli")),
        ),
        (
            "contact_without_account",
            person("user", Some("solo@freelance.example"), None),
        ),
        (
            "not_found",
            person("user", Some("nobody@nowhere.example"), Some("Nowhere Ltd")),
        ),
        ("no_email", person("lead", None, None)),
    ] {
        check_golden(name, &render(&app, &body, false).await);
    }
}

#[tokio::test]
async fn stale_screen_matches_its_golden() {
    // Rendering is a pure function of data and time: fetch Hana once, then
    // draw her as last-known data from 14 minutes ago after a timeout.
    let app = spawn().await;
    let q = PersonQuery::new(
        sf_inbox::canvas::PersonRole::User,
        Some("hana@globex.example"),
        vec![],
    );
    let (profile, _) = lookup::fetch(app.sidebar.client(), &q, None).await.unwrap();
    // Fixed times: the screen says when the data was fetched, as a clock time.
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 14, 0).unwrap();
    let err = SalesforceError::Timeout(Duration::from_secs(4));
    let canvas = panels::profile_canvas(
        &profile,
        &View::Summary { opportunity: None },
        &RenderCtx {
            instance_url: &app.org.url(),
            now,
            fetched_at: now - chrono::Duration::minutes(14),
            stale: Some(&err),
            can_log_task: false,
        },
    );
    check_golden(
        "stale_data",
        &normalise(
            serde_json::to_value(canvas.into_response()).unwrap(),
            &app.org.url(),
        ),
    );
}

#[tokio::test]
async fn error_screens_match_their_goldens() {
    let hana = person("user", Some("hana@globex.example"), None);

    let app = spawn().await;
    app.org.switches().set_api_limit(true);
    check_golden("error_api_limit", &render(&app, &hana, false).await);
    app.org.switches().set_api_limit(false);
    app.org.switches().fail_with(Some(503));
    check_golden("error_unavailable", &render(&app, &hana, false).await);
    app.org.switches().fail_with(None);
    app.org.switches().set_malformed(true);
    check_golden("error_malformed", &render(&app, &hana, false).await);
    app.org.switches().set_malformed(false);

    let slow = spawn_with(&[("SALESFORCE_TIMEOUT_MS", "200")]).await;
    slow.org.switches().set_latency(Duration::from_millis(1500));
    check_golden("error_timeout", &render(&slow, &hana, false).await);

    let revoked = spawn().await;
    revoked.org.switches().revoke_refresh_tokens();
    check_golden("error_reconnect", &render(&revoked, &hana, false).await);

    let unconfigured = spawn_with(&[
        ("SALESFORCE_CLIENT_ID", ""),
        ("SALESFORCE_CLIENT_SECRET", ""),
    ])
    .await;
    check_golden(
        "error_not_configured",
        &render(&unconfigured, &hana, false).await,
    );

    let forbidden = panels::error_canvas(&SalesforceError::Forbidden(
        "INSUFFICIENT_ACCESS: insufficient access rights on object id".into(),
    ));
    check_golden(
        "error_internal",
        &serde_json::to_value(panels::internal_error_canvas().into_response()).unwrap(),
    );
    check_golden(
        "error_forbidden",
        &serde_json::to_value(forbidden.into_response()).unwrap(),
    );
}

/// Form tokens are random: pin them so goldens compare.
fn pin_token(mut canvas: Value) -> Value {
    if let Some(t) = canvas.pointer_mut("/canvas/stored_data/form_token") {
        *t = json!("TOKEN");
    }
    canvas
}

async fn step(app: &TestApp, body: &Value, from: &Value, id: &str, inputs: Value) -> Value {
    pin_token(render(app, &submit_from(body, from, id, inputs), true).await)
}

#[tokio::test]
async fn lead_placeholder_question_matches_its_golden() {
    // Required fields left empty: the form asks once before sending the placeholder.
    let app = spawn().await;
    let bare = person("lead", Some("bare@lodz.example"), None);
    let panel = render(&app, &bare, false).await;
    let empty_form = step(&app, &bare, &panel, "lead_open", json!({})).await;
    check_golden(
        "lead_form_placeholders",
        &step(
            &app,
            &bare,
            &empty_form,
            "lead_create",
            input_values(&empty_form, &[]),
        )
        .await,
    );
}

#[tokio::test]
async fn form_screens_match_their_goldens() {
    let app = spawn_with(&[(
        "SALESFORCE_CASE_FIELDS",
        "SuppliedEmail,Type,Status,Reason,Origin,Priority,Order_Number__c,Refund_Amount__c,Discount__c,Due_Date__c,Region__c",
    )])
    .await;
    let mut zoe = person("lead", Some("zoe@lodz.example"), Some("Łódź Widgets"));
    zoe["contact"]["name"] = json!("Zoë O'Brien-Łukasiewicz");
    zoe["contact"]["phone"] = json!("+48 42 123 45 67");
    let panel = render(&app, &zoe, false).await;
    let form = step(&app, &zoe, &panel, "lead_open", json!({})).await;
    check_golden("lead_form_prefilled", &form);
    let bare = person("lead", Some("bare@lodz.example"), None);
    check_golden(
        "lead_form_empty",
        &step(&app, &bare, &panel, "lead_open", json!({})).await,
    );
    check_golden(
        "lead_form_field_errors",
        &step(
            &app,
            &zoe,
            &form,
            "lead_create",
            input_values(
                &form,
                &[
                    ("lead_f_Email", "zoe@"),
                    ("lead_f_FirstName", &"Z".repeat(41)),
                ],
            ),
        )
        .await,
    );
    // Another form for the same person (its own token: not pinned).
    let other = render(
        &app,
        &submit_from(&zoe, &panel, "lead_open", json!({})),
        true,
    )
    .await;
    let created = step(&app, &zoe, &form, "lead_create", input_values(&form, &[])).await;
    check_golden("lead_created", &created);
    check_golden(
        "lead_form_salesforce_error",
        &step(&app, &zoe, &other, "lead_create", input_values(&other, &[])).await,
    );
    let no_email = person("lead", None, None);
    check_golden(
        "lead_needs_email",
        &step(&app, &no_email, &panel, "lead_open", json!({})).await,
    );

    let hana = person(
        "user",
        Some("hana@globex.example"),
        Some("Globex Corporation"),
    );
    let panel = render(&app, &hana, false).await;
    let form = step(&app, &hana, &panel, "case_open", json!({})).await;
    check_golden("case_form_prefilled", &form);
    let empty: Value = input_values(&form, &[])
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if k.starts_with("case_f_") {
                    json!("")
                } else {
                    v.clone()
                },
            )
        })
        .collect::<Map<String, Value>>()
        .into();
    check_golden(
        "case_form_empty",
        &step(&app, &hana, &form, "case_record_type", empty).await,
    );
    check_golden(
        "case_form_billing",
        &step(
            &app,
            &hana,
            &form,
            "case_record_type",
            input_values(&form, &[("case_record_type", "0125e000000SbxBAAS")]),
        )
        .await,
    );
    check_golden(
        "case_form_field_errors",
        &step(
            &app,
            &hana,
            &form,
            "case_create",
            input_values(
                &form,
                &[
                    ("case_f_Product__c", ""),
                    ("case_f_Due_Date__c", "tomorrow"),
                    ("case_f_Refund_Amount__c", "12.345"),
                ],
            ),
        )
        .await,
    );
    check_golden(
        "case_form_salesforce_error",
        &step(
            &app,
            &hana,
            &form,
            "case_create",
            input_values(
                &form,
                &[
                    ("case_record_type", "0125e000000SbxBAAS"),
                    ("case_f_Origin", "Email"),
                    ("case_f_Product__c", "Toaster"),
                    ("case_f_Type", "Refund"),
                ],
            ),
        )
        .await,
    );
    check_golden(
        "case_created",
        &step(
            &app,
            &hana,
            &form,
            "case_create",
            input_values(&form, &[("case_f_Product__c", "Toaster")]),
        )
        .await,
    );
    let lena = person("lead", Some("lena@initech.example"), None);
    check_golden(
        "case_needs_contact",
        &step(&app, &lena, &panel, "case_open", json!({})).await,
    );
}

#[tokio::test]
async fn task_screens_match_their_goldens() {
    let app = spawn().await;
    let conv = |id: &str, email: &str| {
        let mut b = person("user", Some(email), None);
        b["conversation"]["id"] = json!(id);
        b
    };
    let hana = conv("4711", "hana@globex.example");
    let start = render(&app, &hana, false).await;
    let picker = render(
        &app,
        &submit_from(&hana, &start, "task_new", json!({})),
        true,
    )
    .await;
    check_golden("task_picker", &picker);

    let create = |body: &Value, from: &Value, choice: &str| {
        submit_from(body, from, "task_create", json!({"task_choice": choice}))
    };
    let omar = conv("4713", "omar@umbrella.example");
    let logged = render(&app, &create(&omar, &start, "part:source"), true).await;
    check_golden("task_logged_contact", &logged);

    let twins = conv("4717", "twins@dup.example");
    let leads = render(&app, &create(&twins, &start, "conversation"), true).await;
    check_golden("task_logged_leads", &leads);
    let again = render(&app, &create(&twins, &start, "conversation"), true).await;
    check_golden("task_already_logged", &again);

    let nobody = conv("4715", "nobody@nowhere.example");
    let lead = render(&app, &create(&nobody, &start, "conversation"), true).await;
    check_golden("task_lead_created", &lead);

    let anonymous = conv("4716", "visitor@else.example");
    let no_email = render(&app, &create(&anonymous, &start, "conversation"), true).await;
    check_golden("task_no_email", &no_email);

    app.org.switches().fail_with(Some(503));
    let failed = render(&app, &create(&hana, &start, "part:471103"), true).await;
    check_golden("task_unavailable", &failed);
    app.org.switches().fail_with(None);
}

// ---- A small validator for Intercom's Canvas Kit JSON Schema -----------
//
// Stricter than the schema in one way (errata 8 in SOURCE.md): a key the
// schema does not declare is an error, so a typo cannot slip through.
// `oneOf` is read as `anyOf` (errata 1).

fn schema() -> Value {
    let text = include_str!("../data/intercom/canvas-kit.2.11.schema.json");
    serde_json::from_str(text).unwrap()
}

fn validate_canvas(v: &Value) -> Result<(), String> {
    let s = schema();
    let defs = s["$defs"].as_object().unwrap();
    validate(v, &defs["initialize_response"], defs, "$")
}

fn validate(v: &Value, sch: &Value, defs: &Map<String, Value>, at: &str) -> Result<(), String> {
    if let Some(r) = sch.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        return validate(v, &defs[name], defs, at);
    }
    if let Some(parts) = sch.get("allOf").and_then(Value::as_array) {
        // Merge the parts so the strict unknown-key check sees all of them.
        let mut props = Map::new();
        let mut required = Vec::new();
        for part in parts {
            let part = match part.get("$ref").and_then(Value::as_str) {
                Some(r) => &defs[r.trim_start_matches("#/$defs/")],
                None => part,
            };
            if let Some(p) = part.get("properties").and_then(Value::as_object) {
                props.extend(p.clone());
            }
            if let Some(r) = part.get("required").and_then(Value::as_array) {
                required.extend(r.clone());
            }
        }
        let merged = json!({"type": "object", "properties": props, "required": required});
        return validate(v, &merged, defs, at);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = sch.get(key).and_then(Value::as_array) {
            let errors: Vec<String> = alts
                .iter()
                .filter_map(|a| validate(v, a, defs, at).err())
                .collect();
            if errors.len() == alts.len() {
                return Err(format!(
                    "{at}: matches no alternative: {}",
                    errors.join(" | ")
                ));
            }
            return Ok(());
        }
    }
    if let Some(allowed) = sch.get("enum").and_then(Value::as_array) {
        if !allowed.contains(v) {
            return Err(format!("{at}: {v} not in {allowed:?}"));
        }
    }
    let ty = sch.get("type");
    let is = |t: &str| {
        ty.is_some_and(|x| x == t || x.as_array().is_some_and(|a| a.iter().any(|y| y == t)))
    };
    match v {
        Value::Object(m) if is("object") || sch.get("properties").is_some() => {
            let props = sch.get("properties").and_then(Value::as_object);
            for req in sch
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let k = req.as_str().unwrap();
                if !m.contains_key(k) {
                    return Err(format!("{at}: missing required {k}"));
                }
            }
            if let Some(props) = props {
                for (k, val) in m {
                    match props.get(k) {
                        Some(p) => validate(val, p, defs, &format!("{at}.{k}"))?,
                        None if sch.get("additionalProperties").is_some() => {}
                        None => return Err(format!("{at}: undeclared key {k}")),
                    }
                }
            }
            Ok(())
        }
        Value::Array(a) if is("array") => {
            if let Some(items) = sch.get("items") {
                for (i, x) in a.iter().enumerate() {
                    validate(x, items, defs, &format!("{at}[{i}]"))?;
                }
            }
            Ok(())
        }
        Value::String(_) if is("string") => Ok(()),
        Value::Bool(_) if is("boolean") => Ok(()),
        Value::Number(_) if is("integer") || is("number") => Ok(()),
        Value::Null if is("null") => Ok(()),
        _ if ty.is_none() => Ok(()),
        _ => Err(format!("{at}: {v} is not of type {ty:?}")),
    }
}

#[test]
fn the_validator_can_fail() {
    assert!(validate_canvas(
        &json!({"canvas": {"content": {"components": [{"type": "text", "text": "x"}]}}})
    )
    .is_ok());
    assert!(validate_canvas(
        &json!({"canvas": {"content": {"components": [{"type": "txt", "text": "x"}]}}})
    )
    .is_err());
    assert!(validate_canvas(
        &json!({"canvas": {"content": {"components": [{"type": "button", "label": "x"}]}}})
    )
    .is_err());
    assert!(validate_canvas(&json!({"canvas": {"content": {"components": [{"type": "text", "text": "x", "styel": "muted"}]}}})).is_err());
}

#[tokio::test]
async fn default_case_form_matches_its_golden() {
    // No SALESFORCE_CASE_FIELDS: required and standard fields only.
    let app = spawn().await;
    let hana = person("user", Some("hana@globex.example"), None);
    let panel = render(&app, &hana, false).await;
    check_golden(
        "case_form_default_fields",
        &step(&app, &hana, &panel, "case_open", json!({})).await,
    );
}
