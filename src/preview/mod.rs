//! A local inbox preview: `GET /` shows a page that looks like Intercom's
//! Inbox, with sample conversations on the left and this app's sidebar on
//! the right, so a developer sees the sidebar itself after `cargo run`.
//!
//! The sidebar is drawn from the app's real answers. The page's script asks
//! this module's API (`/preview/api/*`), which builds the Canvas Kit bodies
//! Intercom would send for a sample conversation, signs them with the
//! configured `INTERCOM_CLIENT_SECRET` and POSTs them over loopback to the
//! app's own `/canvas/initialize` and `/canvas/submit`; it returns the exact
//! request and response so the page can show both. In sandbox mode the
//! sandbox org's fault switches are proxied too, so every error canvas is
//! one click away on a single origin.
//!
//! The sample inbox is the sandbox Intercom's own world: its conversations,
//! people and teammates (`fixtures/intercom/`), so the ids the page sends,
//! the thread it shows, a New Case's Subject and the task picker all agree.
//!
//! On by default in sandbox mode, off otherwise unless `PREVIEW=on`. The
//! preview can only render those sample people, and refuses cross-site
//! requests (no CSRF onto the sandbox controls).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Path as AxPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::canvas::signature::sign_body;
use crate::canvas::CanvasRequestBuilder;
use crate::config::{Config, Secret};

const PAGE: &str = include_str!("page.html");
const STYLE: &str = include_str!("preview.css");
const SCRIPT: &str = include_str!("preview.js");
/// The sandbox Intercom's records shipped with the app, used when
/// `FIXTURES_DIR/intercom/` does not have them.
const BUILT_IN_CONVERSATIONS: &str = include_str!("../../fixtures/intercom/conversations.json");
const BUILT_IN_CONTACTS: &str = include_str!("../../fixtures/intercom/contacts.json");
const BUILT_IN_ADMINS: &str = include_str!("../../fixtures/intercom/admins.json");

/// Only the page's own scripts and styles; canvas images may come from anywhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src http: https: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The sandbox control calls the page may make (`POST`), besides `GET state`.
const SANDBOX_ACTIONS: [&str; 4] = ["switches", "expire-tokens", "revoke", "reset"];

/// One sample conversation in the inbox list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SampleConversation {
    pub id: String,
    /// The list's one-line summary (the opening message, shortened).
    pub subject: String,
    /// The opening message, as text.
    pub message: String,
    /// When the last part was written (`24 Nov`).
    #[serde(default)]
    pub waiting: String,
    /// The replies and notes after the opening message.
    #[serde(default)]
    pub parts: Vec<ThreadPart>,
    pub contact: SampleContact,
    /// The teammate the preview acts as (the assignee, else the first admin).
    pub admin: SampleAdmin,
    #[serde(default)]
    pub admin_assignee_id: Option<String>,
}

/// A reply or note in a sample thread.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ThreadPart {
    pub author: String,
    /// `comment` or `note`.
    pub kind: String,
    pub text: String,
}

/// The person in a sample conversation, as Intercom knows them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SampleContact {
    pub id: String,
    /// `user` or `lead`.
    pub role: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub company_id: Option<String>,
}

/// A teammate of the sandbox Intercom.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SampleAdmin {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("preview conversations {path}: {reason}")]
    Conversations { path: String, reason: String },
}

/// Everything the preview handlers need.
pub struct Preview {
    /// The app's own base URL on loopback, e.g. `http://127.0.0.1:8080`.
    pub app_url: String,
    pub secret: Secret,
    /// The sandbox org's URL; `None` hides the fault controls.
    pub sandbox_url: Option<String>,
    /// Sent as `workspace_id` (the configured one, so requests are not refused).
    pub workspace_id: String,
    pub conversations: Vec<SampleConversation>,
    pub http: reqwest::Client,
    /// The installed workspaces the page can send requests from (`None`:
    /// the configured one only), and whether `/install` is there.
    pub registry: Option<Arc<crate::workspaces::Registry>>,
}

type Shared = Arc<Preview>;

/// Adds the preview routes to `router` when `config.preview` is on.
/// `local` is the address the app is bound to (an unspecified address is
/// reached on loopback); `sandbox_url` is the sandbox org, if one runs.
pub fn attach(
    router: Router,
    config: &Config,
    local: SocketAddr,
    sandbox_url: Option<String>,
    registry: Option<Arc<crate::workspaces::Registry>>,
) -> Result<Router, PreviewError> {
    if !config.preview {
        return Ok(router);
    }
    let preview = Preview {
        app_url: loopback_url(local),
        secret: config.intercom_client_secret.clone(),
        sandbox_url,
        workspace_id: config
            .workspace_id
            .clone()
            .unwrap_or_else(|| "preview".to_string()),
        conversations: load_conversations(&config.fixtures_dir)?,
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("a plain HTTP client builds"),
        registry,
    };
    Ok(router.merge(self::router(preview)))
}

pub fn router(preview: Preview) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/preview/preview.css", get(style))
        .route("/preview/preview.js", get(script))
        .route("/preview/api/conversations", get(conversations))
        .route("/preview/api/initialize", post(initialize))
        .route("/preview/api/submit", post(submit))
        .route("/preview/api/sandbox/state", get(sandbox_state))
        .route("/preview/api/sandbox/{action}", post(sandbox_action))
        .with_state(Arc::new(preview))
}

/// `http://IP:PORT` of a bound address, with `0.0.0.0`/`::` replaced by loopback.
pub fn loopback_url(local: SocketAddr) -> String {
    let ip = match local.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, local.port()))
}

/// The sandbox Intercom's conversations, people and teammates
/// (`FIXTURES_DIR/intercom/`, else the built-in copies) as the sample inbox.
pub fn load_conversations(fixtures_dir: &Path) -> Result<Vec<SampleConversation>, PreviewError> {
    let dir = fixtures_dir.join("intercom");
    let read = |name: &str, built_in: &str| -> Result<(Value, String), PreviewError> {
        let path = dir.join(name);
        let (text, shown) = match std::fs::read_to_string(&path) {
            Ok(t) => (t, path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                (built_in.to_string(), format!("{name} (built in)"))
            }
            Err(e) => {
                return Err(PreviewError::Conversations {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })
            }
        };
        let value = serde_json::from_str(&text).map_err(|e| PreviewError::Conversations {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        Ok((value, shown))
    };
    let (conversations, shown) = read("conversations.json", BUILT_IN_CONVERSATIONS)?;
    let (contacts, _) = read("contacts.json", BUILT_IN_CONTACTS)?;
    let (admins, _) = read("admins.json", BUILT_IN_ADMINS)?;
    let list = samples(&conversations, &contacts, &admins);
    if list.is_empty() {
        return Err(PreviewError::Conversations {
            path: shown,
            reason: "no conversations".to_string(),
        });
    }
    Ok(list)
}

fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn str_of(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string).filter(|s| !s.is_empty())
}

/// `24 Nov` from a Unix time.
fn day_of(v: &Value) -> String {
    v.as_i64()
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.format("%-d %b").to_string())
        .unwrap_or_default()
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map(|(a, _)| a).unwrap_or(&cut);
    format!("{cut}…")
}

/// The sample inbox from the sandbox Intercom's records: each
/// conversation with the contact who started it and the teammate it is
/// assigned to (else the first one), all with the sandbox's own ids.
pub fn samples(conversations: &Value, contacts: &Value, admins: &Value) -> Vec<SampleConversation> {
    let empty = Vec::new();
    let contacts = contacts.as_array().unwrap_or(&empty);
    let admins = admins.as_array().unwrap_or(&empty);
    let admin_of = |a: &Value| SampleAdmin {
        id: id_of(&a["id"]).unwrap_or_default(),
        name: str_of(&a["name"]).unwrap_or_else(|| "Teammate".to_string()),
        email: str_of(&a["email"]),
    };
    let mut out = Vec::new();
    for conv in conversations.as_array().unwrap_or(&empty) {
        let Some(id) = id_of(&conv["id"]) else {
            continue;
        };
        let contact_id = conv["contacts"]["contacts"][0]["id"]
            .as_str()
            .or_else(|| conv["source"]["author"]["id"].as_str())
            .unwrap_or_default();
        let Some(person) = contacts
            .iter()
            .find(|c| c["id"].as_str() == Some(contact_id))
        else {
            continue;
        };
        let company = &person["companies"][0];
        let assignee = id_of(&conv["admin_assignee_id"]);
        let admin = assignee
            .as_deref()
            .and_then(|a| {
                admins
                    .iter()
                    .find(|x| id_of(&x["id"]).as_deref() == Some(a))
            })
            .or_else(|| admins.first())
            .map(admin_of)
            .unwrap_or(SampleAdmin {
                id: String::new(),
                name: "Teammate".to_string(),
                email: None,
            });
        let message = crate::intercom::html_to_text(conv["source"]["body"].as_str().unwrap_or(""));
        let parts_json = conv["conversation_parts"]["conversation_parts"]
            .as_array()
            .unwrap_or(&empty);
        let parts = parts_json
            .iter()
            .filter_map(|p| {
                let text = crate::intercom::html_to_text(p["body"].as_str()?);
                (!text.is_empty()).then(|| ThreadPart {
                    author: str_of(&p["author"]["name"]).unwrap_or_default(),
                    kind: str_of(&p["part_type"]).unwrap_or_else(|| "comment".to_string()),
                    text,
                })
            })
            .collect();
        let last = parts_json
            .last()
            .map(|p| &p["created_at"])
            .unwrap_or(&conv["created_at"]);
        out.push(SampleConversation {
            subject: shorten(&message, 48),
            waiting: day_of(last),
            message,
            parts,
            contact: SampleContact {
                id: contact_id.to_string(),
                role: str_of(&person["role"]).unwrap_or_else(|| "user".to_string()),
                name: str_of(&person["name"]).unwrap_or_else(|| "Unnamed".to_string()),
                email: str_of(&person["email"]),
                phone: str_of(&person["phone"]),
                owner_id: id_of(&person["owner_id"]),
                company: str_of(&company["name"]),
                company_id: id_of(&company["id"]),
            },
            admin,
            admin_assignee_id: assignee,
            id,
        });
    }
    out
}

/// The initialize body Intercom would send for `conv` (shape of Intercom's
/// docs), with the sandbox Intercom's ids for the person, their company,
/// the teammate and the conversation.
pub fn initialize_body(conv: &SampleConversation, workspace_id: &str) -> Value {
    request_for(conv, workspace_id).build()
}

/// The submit body: the initialize body plus what was clicked, the canvas it
/// was clicked on (with its `stored_data`) and every form value.
pub fn submit_body(
    conv: &SampleConversation,
    workspace_id: &str,
    component_id: &str,
    current_canvas: Value,
    input_values: Map<String, Value>,
) -> Value {
    request_for(conv, workspace_id)
        .submit(component_id, current_canvas, Value::Object(input_values))
        .build()
}

fn request_for(conv: &SampleConversation, workspace_id: &str) -> CanvasRequestBuilder {
    let c = &conv.contact;
    let a = &conv.admin;
    let mut b = CanvasRequestBuilder::new(workspace_id)
        .region("us")
        .admin(&a.id, Some(&a.name), a.email.as_deref())
        .contact(&c.role, c.email.as_deref())
        .contact_id(&c.id)
        .name(&c.name);
    if let Some(phone) = &c.phone {
        b = b.phone(phone);
    }
    if let Some(owner) = &c.owner_id {
        b = b.owner(owner);
    }
    if let Some(company) = &c.company {
        let id = c
            .company_id
            .clone()
            .unwrap_or_else(|| format!("company-{}", conv.id));
        b = b.company(Some(&id), company);
    }
    b = b.conversation(&conv.id).state("open");
    if let Some(assignee) = &conv.admin_assignee_id {
        b = b.assignee(assignee);
    }
    b
}

// ---- handlers ----

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

async fn page(State(p): State<Shared>) -> Response {
    let html = render_page(&p);
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        html,
    )
        .into_response()
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn conversations(State(p): State<Shared>) -> Response {
    let mut workspaces = vec![json!({"id": p.workspace_id, "name": null})];
    let mut install = false;
    if let Some(r) = p.registry.as_ref().filter(|r| r.installs()) {
        install = true;
        match r.store().installed_workspaces().await {
            Ok(rows) => workspaces.extend(
                rows.into_iter()
                    .filter(|w| w.workspace_id != p.workspace_id)
                    .map(|w| json!({"id": w.workspace_id, "name": w.name})),
            ),
            Err(e) => tracing::warn!(error = %e, "installed workspaces unreadable"),
        }
    }
    Json(json!({
        "conversations": p.conversations,
        "sandbox": p.sandbox_url.is_some(),
        "workspaces": workspaces,
        "install": install,
    }))
    .into_response()
}

/// The workspace a preview request comes from: the page's choice when it
/// looks like an Intercom workspace id, else the configured one.
fn workspace_for<'a>(p: &'a Preview, asked: Option<&'a str>) -> &'a str {
    match asked {
        Some(w)
            if !w.is_empty()
                && w.len() <= 64
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            w
        }
        _ => &p.workspace_id,
    }
}

#[derive(Deserialize)]
struct InitializeAsk {
    conversation: String,
    #[serde(default)]
    workspace_id: Option<String>,
}

#[derive(Deserialize)]
struct SubmitAsk {
    conversation: String,
    #[serde(default)]
    workspace_id: Option<String>,
    component_id: String,
    #[serde(default)]
    current_canvas: Value,
    #[serde(default)]
    input_values: Map<String, Value>,
}

async fn initialize(
    State(p): State<Shared>,
    headers: HeaderMap,
    Json(ask): Json<InitializeAsk>,
) -> Response {
    if cross_site(&headers) {
        return error(StatusCode::FORBIDDEN, "cross-site request refused");
    }
    let Some(conv) = p.conversation(&ask.conversation) else {
        return unknown_conversation();
    };
    let body = initialize_body(conv, workspace_for(&p, ask.workspace_id.as_deref()));
    p.forward("/canvas/initialize", body).await
}

async fn submit(
    State(p): State<Shared>,
    headers: HeaderMap,
    Json(ask): Json<SubmitAsk>,
) -> Response {
    if cross_site(&headers) {
        return error(StatusCode::FORBIDDEN, "cross-site request refused");
    }
    let Some(conv) = p.conversation(&ask.conversation) else {
        return unknown_conversation();
    };
    let body = submit_body(
        conv,
        workspace_for(&p, ask.workspace_id.as_deref()),
        &ask.component_id,
        ask.current_canvas,
        ask.input_values,
    );
    p.forward("/canvas/submit", body).await
}

async fn sandbox_state(State(p): State<Shared>) -> Response {
    let Some(org) = &p.sandbox_url else {
        return no_sandbox();
    };
    relay(p.http.get(format!("{org}/__sandbox/state"))).await
}

async fn sandbox_action(
    State(p): State<Shared>,
    AxPath(action): AxPath<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if cross_site(&headers) {
        return error(StatusCode::FORBIDDEN, "cross-site request refused");
    }
    let Some(org) = &p.sandbox_url else {
        return no_sandbox();
    };
    if !SANDBOX_ACTIONS.contains(&action.as_str()) {
        return error(StatusCode::NOT_FOUND, "unknown sandbox action");
    }
    let mut req = p.http.post(format!("{org}/__sandbox/{action}"));
    if action == "switches" {
        req = req
            .header(header::CONTENT_TYPE, "application/json")
            .body(body);
    }
    relay(req).await
}

impl Preview {
    fn conversation(&self, id: &str) -> Option<&SampleConversation> {
        self.conversations.iter().find(|c| c.id == id)
    }

    /// Signs `body` as Intercom does and POSTs it to the app's own `path`.
    /// Answers `{request, response}`: exactly what went over the wire.
    async fn forward(&self, path: &str, body: Value) -> Response {
        let bytes = serde_json::to_vec(&body).expect("a JSON value serialises");
        let signature = sign_body(self.secret.expose().as_bytes(), &bytes);
        let url = format!("{}{path}", self.app_url);
        let sent = self
            .http
            .post(&url)
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-body-signature", &signature)
            .body(bytes)
            .send()
            .await;
        let request = json!({
            "method": "POST",
            "url": url,
            "headers": {"Content-Type": "application/json", "X-Body-Signature": signature},
            "body": body,
        });
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "preview could not reach the app");
                return (
                    StatusCode::BAD_GATEWAY,
                    Json(json!({"request": request, "error": format!("could not reach the app: {e}")})),
                )
                    .into_response();
            }
        };
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
        Json(json!({
            "request": request,
            "response": {"status": status, "body": body},
        }))
        .into_response()
    }
}

/// Relays a sandbox control answer (status and JSON body) to the page.
async fn relay(req: reqwest::RequestBuilder) -> Response {
    match req.send().await {
        Ok(r) => {
            let status =
                StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let text = r.text().await.unwrap_or_default();
            let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
            (status, Json(body)).into_response()
        }
        Err(e) => error(
            StatusCode::BAD_GATEWAY,
            &format!("could not reach the sandbox org: {e}"),
        ),
    }
}

/// Browsers mark cross-site requests; refuse them so another site cannot
/// drive the sandbox controls or the signing through a teammate's browser.
fn cross_site(headers: &HeaderMap) -> bool {
    !matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        None | Some("same-origin" | "none")
    )
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

fn unknown_conversation() -> Response {
    error(StatusCode::NOT_FOUND, "no such sample conversation")
}

fn no_sandbox() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not in sandbox mode: there are no sandbox controls",
    )
}

// ---- the page ----

/// The HTML page with the conversation list rendered in (escaped).
fn render_page(p: &Preview) -> String {
    let mut items = String::new();
    for conv in &p.conversations {
        let c = &conv.contact;
        let who = match (&c.email, &c.company) {
            (Some(e), Some(co)) => format!("{e} · {co}"),
            (Some(e), None) => e.clone(),
            (None, Some(co)) => co.clone(),
            (None, None) => "no email".to_string(),
        };
        items.push_str(&format!(
            concat!(
                "<li><button type=\"button\" class=\"conv\" data-conversation=\"{id}\">",
                "<span class=\"avatar\" aria-hidden=\"true\">{initial}</span>",
                "<span class=\"conv-main\"><span class=\"conv-top\"><span class=\"conv-name\">{name}</span>",
                "<span class=\"conv-time\">{waiting}</span></span>",
                "<span class=\"conv-subject\">{subject}</span>",
                "<span class=\"conv-who\">{role} · {who}</span></span></button></li>\n"
            ),
            id = escape_html(&conv.id),
            initial = escape_html(&c.name.chars().next().unwrap_or('?').to_uppercase().to_string()),
            name = escape_html(&c.name),
            waiting = escape_html(&conv.waiting),
            subject = escape_html(&conv.subject),
            role = escape_html(&c.role),
            who = escape_html(&who),
        ));
    }
    PAGE.replace("{{conversations}}", &items).replace(
        "{{sandbox}}",
        if p.sandbox_url.is_some() { "on" } else { "off" },
    )
}

/// Escapes text for HTML element content and quoted attributes: the one
/// escaper, shared with Intercom note bodies.
pub use crate::intercom::html_escape as escape_html;

#[cfg(test)]
mod tests {
    use super::*;

    fn built_in() -> Vec<SampleConversation> {
        let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap();
        samples(
            &parse(BUILT_IN_CONVERSATIONS),
            &parse(BUILT_IN_CONTACTS),
            &parse(BUILT_IN_ADMINS),
        )
    }

    #[test]
    fn built_in_samples_cover_the_journeys() {
        let list = built_in();
        let emails: Vec<Option<&str>> = list.iter().map(|c| c.contact.email.as_deref()).collect();
        for e in [
            "hana@globex.example",
            "lena@initech.example",
            "omar@umbrella.example",
            "nobody@nowhere.example",
            "priya@hooli.example",
            "solo@freelance.example",
            "o'brien@x.com",
            "twins@dup.example",
            "tony@stark.example",
        ] {
            assert!(emails.contains(&Some(e)), "{e} missing");
        }
        assert!(emails.contains(&None), "a person without an email");
    }

    #[test]
    fn samples_are_the_sandbox_intercoms_world() {
        let list = built_in();
        let hana = list.iter().find(|c| c.id == "4711").unwrap();
        assert_eq!(hana.contact.id, "ic-hana");
        assert_eq!(hana.admin.id, "814860");
        assert_eq!(
            hana.message,
            "Hi! Our CSV export of invoices has been failing since Monday."
        );
        assert_eq!(hana.parts.len(), 3);
        assert_eq!(hana.parts[2].kind, "note");
        let priya = list.iter().find(|c| c.id == "4714").unwrap();
        assert_eq!(priya.contact.email.as_deref(), Some("priya@hooli.example"));
        // Unassigned: the preview acts as the first teammate, whom the
        // sandbox Intercom knows.
        let unassigned = list.iter().find(|c| c.id == "4715").unwrap();
        assert_eq!(unassigned.admin.id, "814860");
    }

    #[test]
    fn bodies_have_intercoms_shape() {
        let list = built_in();
        let hana = &list[0];
        let b = initialize_body(hana, "ws");
        assert_eq!(b["contact"]["email"], "hana@globex.example");
        assert_eq!(b["contact"]["id"], "ic-hana");
        assert_eq!(b["contact"]["companies"]["data"][0]["id"], "cmp-globex");
        assert_eq!(
            b["contact"]["companies"]["data"][0]["name"],
            "Globex Corporation"
        );
        assert_eq!(b["admin"]["id"], "814860");
        assert_eq!(b["conversation"]["id"], hana.id);
        let s = submit_body(hana, "ws", "refresh", json!({"content": {}}), Map::new());
        assert_eq!(s["component_id"], "refresh");
        assert!(s["input_values"].is_object());
        let anon = list.iter().find(|c| c.contact.email.is_none()).unwrap();
        assert!(initialize_body(anon, "ws")["contact"]
            .get("email")
            .is_none());
    }

    #[test]
    fn unspecified_addresses_are_reached_on_loopback() {
        assert_eq!(
            loopback_url("0.0.0.0:8080".parse().unwrap()),
            "http://127.0.0.1:8080"
        );
        assert_eq!(loopback_url("[::]:81".parse().unwrap()), "http://[::1]:81");
        assert_eq!(
            loopback_url("127.0.0.1:9".parse().unwrap()),
            "http://127.0.0.1:9"
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html(r#"<b a="x">O'Brien & co</b>"#),
            "&lt;b a=&quot;x&quot;&gt;O&#39;Brien &amp; co&lt;/b&gt;"
        );
    }
}
