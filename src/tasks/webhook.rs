//! `POST /webhooks/intercom`: Intercom's notifications.
//!
//! The handler does the least it can before answering, because Intercom
//! retries what is not answered in 5 s and favours endpoints that answer in
//! 500 ms: check `X-Hub-Signature` (HMAC-SHA1 of the raw body with the
//! client secret, compared in constant time) → 401 when it is missing or
//! wrong; read the topic and conversation id; store the notification (synced
//! to disk) → 200. Salesforce is never called here: the [`super::worker`]
//! does that afterwards. A storage failure answers 503 so Intercom retries.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};
use axum::Json;
use serde_json::{json, Value};
use tokio::sync::Notify;

use super::store::TaskStore;
use super::worker::{TOPIC_CLOSED, TOPIC_CREATED};
use crate::canvas::signature::verify_hub_signature;
use crate::config::Secret;
use crate::routes::AppState;

/// Notifications carry the whole conversation; allow more than a canvas.
pub const MAX_WEBHOOK_BYTES: usize = 2 * 1024 * 1024;

/// What the webhook route needs.
pub struct Webhooks {
    secret: Secret,
    /// `None` when `AUTO_TASKS` is off: notifications are acknowledged and dropped.
    queue: Option<(TaskStore, Arc<Notify>)>,
}

impl Webhooks {
    pub fn new(secret: Secret, queue: Option<(TaskStore, Arc<Notify>)>) -> Webhooks {
        Webhooks { secret, queue }
    }
}

/// The route, for `routes::router`.
pub fn route() -> MethodRouter<AppState> {
    post(receive).layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES))
}

fn answer(status: StatusCode, v: Value) -> Response {
    (status, Json(v)).into_response()
}

async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let hooks = &state.webhooks;
    let sig = headers.get("x-hub-signature").and_then(|v| v.to_str().ok());
    if let Err(e) = verify_hub_signature(hooks.secret.expose().as_bytes(), &body, sig) {
        tracing::warn!(error = %e, "webhook refused");
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": format!("invalid signature: {e}")}),
        );
    }
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("malformed JSON body: {e}")}),
            )
        }
    };
    let topic = v["topic"].as_str().unwrap_or_default();
    if !matches!(topic, TOPIC_CREATED | TOPIC_CLOSED) {
        return answer(StatusCode::OK, json!({"status": "ignored"}));
    }
    let Some((store, wake)) = &hooks.queue else {
        return answer(
            StatusCode::OK,
            json!({"status": "ignored", "reason": "AUTO_TASKS is off"}),
        );
    };
    let id = v["id"].as_str().unwrap_or_default();
    let conversation = match &v["data"]["item"]["id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if id.is_empty() || conversation.is_empty() {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "a notification needs an id and data.item.id"}),
        );
    }
    let workspace = v["app_id"].as_str();
    match store
        .enqueue(id, topic, &conversation, workspace, &body)
        .await
    {
        Ok(fresh) => {
            if fresh {
                wake.notify_one();
            }
            answer(
                StatusCode::OK,
                json!({"status": if fresh { "queued" } else { "duplicate" }}),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "could not store a webhook notification");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "could not store the notification; retry later"}),
            )
        }
    }
}
