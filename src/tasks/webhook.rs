//! `POST /webhooks/intercom`: Intercom's notifications.
//!
//! The handler does the least it can before answering, because Intercom
//! retries what is not answered in 5 s and favours endpoints that answer in
//! 500 ms. The [`Webhook`] extractor has checked `X-Hub-Signature` (HMAC-SHA1
//! of the raw body with the client secret, compared in constant time) → 401
//! when it is missing or wrong. The handler reads the topic and
//! conversation id and stores the notification (synced to disk) → 200. Salesforce is never called here: the [`super::worker`]
//! does that afterwards. A storage failure answers 503 so Intercom retries.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use tokio::sync::Notify;

use super::worker::{TOPIC_CLOSED, TOPIC_CREATED};
use crate::edge::Webhook;
use crate::store::Store;

/// What the webhook route needs besides the signing secret.
pub struct Webhooks {
    /// `None` when `AUTO_TASKS` is off: notifications are acknowledged and dropped.
    queue: Option<(Store, Arc<Notify>)>,
    /// `INTERCOM_WORKSPACE_ID`: a notification from another `app_id` is
    /// acknowledged and dropped.
    workspace_id: Option<String>,
}

impl Webhooks {
    pub fn new(queue: Option<(Store, Arc<Notify>)>) -> Webhooks {
        Webhooks {
            queue,
            workspace_id: None,
        }
    }

    /// Honours the workspace allow-list (`INTERCOM_WORKSPACE_ID`).
    pub fn with_workspace(mut self, workspace_id: Option<String>) -> Webhooks {
        self.workspace_id = workspace_id;
        self
    }
}

fn answer(status: StatusCode, v: Value) -> Response {
    (status, Json(v)).into_response()
}

impl Webhooks {
    /// Stores a verified notification of this workspace (the route has
    /// found the workspace by its `app_id`).
    pub async fn receive(&self, hook: Webhook) -> Response {
        receive(self, hook).await
    }
}

/// The answer to a notification from a workspace that has not installed
/// the app: 200, so Intercom does not redeliver what will never be taken.
pub fn not_installed() -> Response {
    answer(
        StatusCode::OK,
        json!({"status": "ignored", "reason": "the workspace has not installed the app"}),
    )
}

async fn receive(hooks: &Webhooks, hook: Webhook) -> Response {
    let Webhook { body, json: v } = hook;
    if let Some(allowed) = hooks.workspace_id.as_deref() {
        let from = v["app_id"].as_str().unwrap_or_default();
        if from != allowed {
            tracing::warn!(workspace = %from, "notification from a workspace this app does not serve");
            // 200, so Intercom does not redeliver what will never be taken.
            return answer(
                StatusCode::OK,
                json!({"status": "ignored", "reason": "another workspace"}),
            );
        }
    }
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
