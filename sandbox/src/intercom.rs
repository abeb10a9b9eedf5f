//! A fake Intercom REST API for the sandbox and the tests: admins,
//! contacts, conversations with their parts, and notes added to them.
//!
//! It answers with Intercom's shapes (`error.list` bodies, numeric and string
//! ids mixed as Intercom mixes them) and checks the bearer token, so the
//! real `sf_inbox::intercom::IntercomClient` is what talks to it.

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
        let inner = Arc::new(Inner {
            admins: load(fixtures_dir, "admins.json")?,
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

/// Logs the request, then applies auth and the fault switch.
fn gate(inner: &Inner, headers: &HeaderMap, what: String) -> Result<(), Box<Response>> {
    inner.requests.lock().unwrap().push(what);
    let expected = format!("Bearer {SANDBOX_INTERCOM_TOKEN}");
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Access Token Invalid",
        )));
    }
    if let Some(s) = *inner.fail_status.lock().unwrap() {
        let status = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Err(Box::new(error(
            status,
            "server_error",
            "Sandbox fault switch is on",
        )));
    }
    Ok(())
}

fn find<'a>(list: &'a [Value], id: &str) -> Option<&'a Value> {
    list.iter().find(|v| match &v["id"] {
        Value::String(s) => s == id,
        Value::Number(n) => n.to_string() == id,
        _ => false,
    })
}

async fn list_admins(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    if let Err(r) = gate(&inner, &headers, "GET /admins".into()) {
        return *r;
    }
    Json(json!({"type": "admin.list", "admins": inner.admins})).into_response()
}

async fn get_admin(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    if let Err(r) = gate(&inner, &headers, format!("GET /admins/{id}")) {
        return *r;
    }
    match find(&inner.admins, &id) {
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
    if let Err(r) = gate(&inner, &headers, format!("POST /conversations/{id}/reply")) {
        return *r;
    }
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
    if find(&inner.admins, &admin_id).is_none() {
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
        });
    }
    Json(conv.clone()).into_response()
}
