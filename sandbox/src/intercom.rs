//! A fake Intercom REST API for the sandbox and the tests: admins,
//! contacts, conversations with their parts, notes added to them, the
//! install flow (OAuth, `/me`) and data connectors.
//!
//! It answers with Intercom's shapes (`error.list` bodies, numeric and string
//! ids mixed as Intercom mixes them) and checks the bearer token, so the
//! real `sf_inbox::intercom::IntercomClient` is what talks to it.
//!
//! # Workspaces
//! [`SANDBOX_INTERCOM_TOKEN`] acts for workspace [`SANDBOX_WORKSPACE_ID`] (its admin is the
//! first of `fixtures/intercom/admins.json`). Installing through `GET /oauth` (the Install page,
//! for client [`SANDBOX_INTERCOM_CLIENT_ID`]) and `POST /auth/eagle/token` (with
//! [`SANDBOX_INTERCOM_CLIENT_SECRET`]) mints another token, bound to the workspace picked on the
//! page (`sandbox-2`, `sandbox-3`, ... by default); `GET /me` names it. Every endpoint takes
//! every such token. Contacts and conversations are shared by all workspaces (one set of
//! fixtures); what a token does is recorded per workspace: [`Note::workspace_id`], data
//! connectors, and the admins (a workspace's are the fixture admins plus whoever installed it).

mod data_connectors;
mod oauth;

pub use data_connectors::DataConnector;
pub use oauth::{
    Install, InstallAdmin, Region, SANDBOX_INTERCOM_CLIENT_ID, SANDBOX_INTERCOM_CLIENT_SECRET,
    SANDBOX_WORKSPACE_ID,
};

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};

pub const SANDBOX_INTERCOM_TOKEN: &str = "sandbox-intercom-access-token";

/// A note the app added to a conversation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Note {
    pub conversation_id: String,
    pub admin_id: String,
    pub body: String,
    /// The workspace whose token added it ([`SANDBOX_WORKSPACE_ID`] for
    /// [`SANDBOX_INTERCOM_TOKEN`]).
    pub workspace_id: String,
}

struct Inner {
    admins: Vec<Value>,
    contacts: Vec<Value>,
    conversations: Mutex<Vec<Value>>,
    /// `GET /data_attributes` definitions (`fixtures/intercom/data_attributes.json`).
    data_attributes: Vec<Value>,
    notes: Mutex<Vec<Note>>,
    fail_status: Mutex<Option<u16>>,
    requests: Mutex<Vec<String>>,
    installs: Mutex<oauth::Installs>,
    data_connectors: Mutex<Vec<DataConnector>>,
}

pub struct FakeIntercom {
    url: String,
    inner: Arc<Inner>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

fn load(dir: &Path, name: &str) -> std::io::Result<Vec<Value>> {
    let path = dir.join("intercom").join(name);
    let text = std::fs::read_to_string(&path)?;
    serde_json::from_str(&text).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

impl FakeIntercom {
    /// Binds `addr` and serves the records under `fixtures_dir/intercom/`.
    pub async fn start(addr: SocketAddr, fixtures_dir: &Path) -> std::io::Result<FakeIntercom> {
        let admins = load(fixtures_dir, "admins.json")?;
        let first = admins.first().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "intercom/admins.json: no admin for the sandbox workspace",
            )
        })?;
        let text = |k: &str| first[k].as_str().unwrap_or_default().to_string();
        let sandbox_admin = InstallAdmin {
            id: id_text(&first["id"]).unwrap_or_default(),
            name: text("name"),
            email: text("email"),
        };
        let inner = Arc::new(Inner {
            installs: Mutex::new(oauth::Installs::new(sandbox_admin)),
            data_connectors: Mutex::new(Vec::new()),
            admins,
            contacts: load(fixtures_dir, "contacts.json")?,
            conversations: Mutex::new(load(fixtures_dir, "conversations.json")?),
            data_attributes: match load(fixtures_dir, "data_attributes.json") {
                Ok(v) => v,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(e),
            },
            notes: Mutex::new(Vec::new()),
            fail_status: Mutex::new(None),
            requests: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/admins", get(list_admins))
            .route("/admins/{id}", get(get_admin))
            .route("/contacts/{id}", get(get_contact))
            .route("/contacts/{id}/companies", get(get_contact_companies))
            .route("/conversations/{id}", get(get_conversation))
            .route("/conversations/{id}/reply", post(reply))
            .route("/data_attributes", get(list_data_attributes))
            .route("/oauth", get(oauth::authorize_page))
            .route("/oauth/authorize", post(oauth::authorize_install))
            .route("/auth/eagle/token", post(oauth::token))
            .route("/me", get(oauth::me))
            .route(
                "/data_connectors",
                get(data_connectors::list).post(data_connectors::create),
            )
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(FakeIntercom {
            url,
            inner,
            stop: Some(tx),
        })
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Notes added so far, oldest first.
    pub fn notes(&self) -> Vec<Note> {
        self.inner.notes.lock().unwrap().clone()
    }

    /// Every install, oldest first: the sandbox token's, then each token exchanged.
    /// The client secret the token endpoint accepts from now on (the app
    /// under test's `INTERCOM_CLIENT_SECRET`).
    pub fn set_client_secret(&self, secret: &str) {
        self.inner.installs.lock().unwrap().client_secret = secret.to_string();
    }

    /// The workspace removes the app, as in Intercom's settings: every
    /// token of it stops working (401), as Intercom's do.
    pub fn uninstall(&self, workspace_id: &str) {
        self.inner.installs.lock().unwrap().uninstall(workspace_id);
    }

    pub fn installs(&self) -> Vec<Install> {
        self.inner.installs.lock().unwrap().all().to_vec()
    }

    /// Data connectors created so far, every workspace's, oldest first.
    pub fn data_connectors(&self) -> Vec<DataConnector> {
        self.inner.data_connectors.lock().unwrap().clone()
    }

    /// `METHOD /path` of every request answered, oldest first.
    pub fn requests(&self) -> Vec<String> {
        self.inner.requests.lock().unwrap().clone()
    }

    /// Makes every call fail with this status (`None` clears).
    pub fn fail_with(&self, status: Option<u16>) {
        *self.inner.fail_status.lock().unwrap() = status;
    }

    /// Adds or replaces a conversation (tests build their own scenarios).
    pub fn put_conversation(&self, conversation: Value) {
        let mut all = self.inner.conversations.lock().unwrap();
        all.retain(|c| c["id"] != conversation["id"]);
        all.push(conversation);
    }

    /// Sets conversation attributes (`custom_attributes`), as a teammate or
    /// a Workflow would.
    pub fn set_attributes(&self, conversation_id: &str, attributes: Value) {
        let mut all = self.inner.conversations.lock().unwrap();
        if let Some(c) = all.iter_mut().find(|c| c["id"] == conversation_id) {
            if !c["custom_attributes"].is_object() {
                c["custom_attributes"] = json!({});
            }
            for (k, v) in attributes.as_object().into_iter().flatten() {
                c["custom_attributes"][k] = v.clone();
            }
        }
    }

    /// Sets the conversation's title.
    pub fn set_title(&self, conversation_id: &str, title: &str) {
        let mut all = self.inner.conversations.lock().unwrap();
        if let Some(c) = all.iter_mut().find(|c| c["id"] == conversation_id) {
            c["title"] = json!(title);
        }
    }
}

impl Drop for FakeIntercom {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"type": "error.list", "request_id": "sandbox", "errors": [{"code": code, "message": message}]})),
    )
        .into_response()
}

/// The fault switch's answer, when it is on.
fn fault(inner: &Inner) -> Option<Response> {
    let s = (*inner.fail_status.lock().unwrap())?;
    let status = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Some(error(status, "server_error", "Sandbox fault switch is on"))
}

/// Logs the request, then applies auth and the fault switch; the install the token is from.
fn gate(inner: &Inner, headers: &HeaderMap, what: String) -> Result<Install, Box<Response>> {
    inner.requests.lock().unwrap().push(what);
    let install = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| inner.installs.lock().unwrap().by_token(token).cloned());
    let Some(install) = install else {
        return Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Access Token Invalid",
        )));
    };
    if let Some(r) = fault(inner) {
        return Err(Box::new(r));
    }
    Ok(install)
}

/// An id as text, whether Intercom wrote it as a string or a number.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A workspace's admins: the fixture's, then those who installed the app in it.
fn admins_of(inner: &Inner, workspace_id: &str) -> Vec<Value> {
    let mut admins = inner.admins.clone();
    for install in inner.installs.lock().unwrap().all() {
        let known = admins
            .iter()
            .any(|a| id_text(&a["id"]).as_deref() == Some(install.admin.id.as_str()));
        if install.workspace_id == workspace_id && !known {
            admins.push(json!({
                "type": "admin", "id": install.admin.id, "name": install.admin.name,
                "email": install.admin.email, "job_title": null, "away_mode_enabled": false,
            }));
        }
    }
    admins
}

fn find<'a>(list: &'a [Value], id: &str) -> Option<&'a Value> {
    list.iter()
        .find(|v| id_text(&v["id"]).as_deref() == Some(id))
}

async fn list_admins(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let install = match gate(&inner, &headers, "GET /admins".into()) {
        Ok(install) => install,
        Err(r) => return *r,
    };
    let admins = admins_of(&inner, &install.workspace_id);
    Json(json!({"type": "admin.list", "admins": admins})).into_response()
}

async fn get_admin(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let install = match gate(&inner, &headers, format!("GET /admins/{id}")) {
        Ok(install) => install,
        Err(r) => return *r,
    };
    match find(&admins_of(&inner, &install.workspace_id), &id) {
        Some(a) => Json(a.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "admin_not_found", "Admin not found"),
    }
}

/// The fixtures keep a contact's companies as `[{id, name}]`; Intercom's
/// contact object carries only references to them.
async fn get_contact(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    if let Err(r) = gate(&inner, &headers, format!("GET /contacts/{id}")) {
        return *r;
    }
    match find(&inner.contacts, &id) {
        Some(c) => {
            let mut c = c.clone();
            let refs: Vec<Value> = companies_of(&c)
                .iter()
                .map(|co| {
                    let cid = co["id"].as_str().unwrap_or_default();
                    json!({"type": "company", "id": cid, "url": format!("/companies/{cid}")})
                })
                .collect();
            c["companies"] = json!({"type": "list", "data": refs, "url": format!("/contacts/{id}/companies"),
                                    "total_count": refs.len(), "has_more": false});
            Json(c).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "not_found", "User Not Found"),
    }
}

fn companies_of(contact: &Value) -> Vec<Value> {
    contact["companies"].as_array().cloned().unwrap_or_default()
}

async fn get_contact_companies(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    if let Err(r) = gate(&inner, &headers, format!("GET /contacts/{id}/companies")) {
        return *r;
    }
    let Some(contact) = find(&inner.contacts, &id) else {
        return error(StatusCode::NOT_FOUND, "not_found", "User Not Found");
    };
    let data: Vec<Value> = companies_of(contact)
        .iter()
        .map(|co| {
            json!({"type": "company", "id": co["id"], "company_id": co["id"], "name": co["name"],
                   "user_count": 1, "tags": {"type": "tag.list", "tags": []}})
        })
        .collect();
    Json(
        json!({"type": "list", "data": data, "pages": {"type": "pages", "next": null, "page": 1,
                "per_page": 50, "total_pages": 1}, "total_count": data.len()}),
    )
    .into_response()
}

async fn get_conversation(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    if let Err(r) = gate(&inner, &headers, format!("GET /conversations/{id}")) {
        return *r;
    }
    let all = inner.conversations.lock().unwrap();
    match find(&all, &id) {
        Some(c) => Json(c.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "Resource Not Found"),
    }
}

/// `GET /data_attributes?model=conversation`: the attribute definitions
/// of one model (all without `model`), as a `list`.
async fn list_data_attributes(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    if let Err(r) = gate(&inner, &headers, "GET /data_attributes".to_string()) {
        return *r;
    }
    let data: Vec<Value> = inner
        .data_attributes
        .iter()
        .filter(|a| q.get("model").is_none_or(|m| a["model"] == m.as_str()))
        .cloned()
        .collect();
    Json(json!({"type": "list", "data": data})).into_response()
}

async fn reply(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Json(body): Json<Value>,
) -> Response {
    let install = match gate(&inner, &headers, format!("POST /conversations/{id}/reply")) {
        Ok(install) => install,
        Err(r) => return *r,
    };
    let admin_id = match &body["admin_id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "parameter_not_found",
                "admin_id not specified",
            )
        }
    };
    if find(&admins_of(&inner, &install.workspace_id), &admin_id).is_none() {
        return error(StatusCode::NOT_FOUND, "admin_not_found", "Admin not found");
    }
    let Some(text) = body["body"].as_str() else {
        return error(
            StatusCode::BAD_REQUEST,
            "parameter_not_found",
            "Body is required",
        );
    };
    let mut all = inner.conversations.lock().unwrap();
    let Some(conv) = all.iter_mut().find(|c| c["id"] == id.as_str()) else {
        return error(StatusCode::NOT_FOUND, "not_found", "Resource Not Found");
    };
    let part_type = body["message_type"]
        .as_str()
        .unwrap_or("comment")
        .to_string();
    let parts = conv["conversation_parts"]["conversation_parts"]
        .as_array_mut()
        .expect("fixture conversations have parts");
    let part_id = format!("{id}{:03}", parts.len() + 500);
    parts.push(json!({
        "type": "conversation_part", "id": part_id, "part_type": part_type, "body": text,
        "author": {"type": "admin", "id": admin_id}, "created_at": chrono::Utc::now().timestamp()
    }));
    if part_type == "note" {
        inner.notes.lock().unwrap().push(Note {
            conversation_id: id.clone(),
            admin_id,
            body: text.to_string(),
            workspace_id: install.workspace_id,
        });
    }
    Json(conv.clone()).into_response()
}
