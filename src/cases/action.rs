//! `POST /actions/salesforce-case`: the endpoint of the Intercom data
//! connector "Create case in Salesforce" that Workflows, Fin and the Help
//! Desk call.
//!
//! `Authorization: Bearer <token>`: the workspace's token (its SHA-256 in
//! the store, which the console shows and rotates) or, in single-workspace
//! mode, `ACTION_TOKEN`; compared in constant time before the body is
//! read; anything else is a 401. Body `{"conversation_id", "attributes"}`.
//! It creates the conversation's Case, or updates the one it has, and
//! answers `{"case_id", "case_number", "case_url", "status"}` with
//! `created` or `updated`; when Salesforce is slow or down the work goes to
//! the queue and `status` is `queued`. A refusal (not a Contact, a bad
//! value, a validation rule) is a 422 with the reason, and a sync error.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use subtle::ConstantTimeEq;
use tokio::sync::Notify;

use super::{CaseRequest, Cases, TOPIC_ACTION};
use crate::config::Secret;
use crate::settings::WorkspaceSettings;
use crate::store::{token_hash, Store};

/// The action's body limit.
const MAX_BODY: usize = 64 * 1024;

pub struct CaseAction {
    pub cases: Arc<Cases>,
    pub store: Store,
    pub wake: Arc<Notify>,
    pub defaults: WorkspaceSettings,
    /// `ACTION_TOKEN` (single-workspace mode).
    pub token: Option<Secret>,
    /// How long the answer waits for Salesforce before queueing the work.
    pub wait: Duration,
}

fn answer(status: StatusCode, v: Value) -> Response {
    (status, Json(v)).into_response()
}

impl CaseAction {
    /// Whether `presented` is the workspace's token (constant time: the
    /// SHA-256 of each is compared).
    pub async fn authorised(&self, presented: &str) -> bool {
        let given = token_hash(presented);
        let mut ok = false;
        if let Some(t) = &self.token {
            ok |= bool::from(given.as_bytes().ct_eq(token_hash(t.expose()).as_bytes()));
        }
        if let Ok(Some(stored)) = self.store.action_token_hash().await {
            ok |= bool::from(given.as_bytes().ct_eq(stored.as_bytes()));
        }
        ok
    }
}

/// The bearer token of `Authorization: Bearer <token>` (empty when absent).
pub fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("")
}

/// The answer to a call without a workspace's token.
pub fn unauthorised() -> Response {
    answer(
        StatusCode::UNAUTHORIZED,
        json!({"error": "a valid Authorization: Bearer token is required"}),
    )
}

impl CaseAction {
    /// Creates or updates the conversation's Case for an authorised call
    /// (the route has found the workspace by the call's token).
    pub async fn handle(&self, body: axum::body::Bytes) -> Response {
        handle(self, body).await
    }
}

async fn handle(action: &CaseAction, body: axum::body::Bytes) -> Response {
    if body.len() > MAX_BODY {
        return answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": "the body is over 64 KB"}),
        );
    }
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({"error": "the body must be JSON: {\"conversation_id\": \"…\", \"attributes\": {…}}"}),
            )
        }
    };
    let conversation_id = match &v["conversation_id"] {
        Value::String(s) if !s.trim().is_empty() => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({"error": "conversation_id is required"}),
            )
        }
    };
    let attributes: Map<String, Value> = match &v["attributes"] {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        _ => {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({"error": "attributes must be an object of attribute name → value"}),
            )
        }
    };
    let settings = match WorkspaceSettings::load(&action.store, &action.defaults).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "workspace settings unreadable");
            return answer(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "settings unreadable; retry later"}),
            );
        }
    };
    let req = CaseRequest {
        conversation_id: conversation_id.clone(),
        workspace_id: None,
        closing: false,
        attributes: attributes.clone(),
        create: true,
        update_existing: true,
        job_id: None,
    };
    let outcome = tokio::time::timeout(
        action.wait,
        action.cases.write(&action.store, &settings, &req),
    )
    .await;
    match outcome {
        Ok(Ok(w)) => {
            let _ = action
                .store
                .resolve_sync_error(crate::store::SyncKind::AutoCase, &conversation_id)
                .await;
            answer(
                StatusCode::OK,
                json!({
                    "case_id": w.case_id, "case_number": w.case_number,
                    "case_url": w.case_url, "status": w.status.as_str(),
                }),
            )
        }
        Ok(Err(e)) if !e.is_transient() => {
            let err = Cases::sync_error(
                &conversation_id,
                "Create or update the conversation's Case (Workflow action)",
                &e,
                None,
            );
            if let Err(se) = action.store.record_sync_error(&err).await {
                tracing::error!(error = %se, "could not record a sync error");
            }
            answer(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": e.to_string(), "code": err.code, "fields": err.fields, "status": "failed"}),
            )
        }
        // Slow or transient: the queue finishes it.
        other => {
            if let Ok(Err(e)) = &other {
                tracing::warn!(conversation = %conversation_id, error = %e, "case action queued after a transient failure");
            } else {
                tracing::warn!(conversation = %conversation_id, "case action queued: Salesforce is slow");
            }
            let id = format!(
                "action:{conversation_id}:{}",
                chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
            );
            let payload = json!({"attributes": attributes}).to_string();
            match action
                .store
                .enqueue(
                    &id,
                    TOPIC_ACTION,
                    &conversation_id,
                    None,
                    payload.as_bytes(),
                )
                .await
            {
                Ok(_) => {
                    action.wake.notify_one();
                    answer(
                        StatusCode::OK,
                        json!({"case_id": null, "case_number": null, "case_url": null, "status": "queued"}),
                    )
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not queue a case action");
                    answer(
                        StatusCode::SERVICE_UNAVAILABLE,
                        json!({"error": "could not queue the case; retry later"}),
                    )
                }
            }
        }
    }
}
