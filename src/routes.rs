//! HTTP routes. Handlers stay thin: check the signature on the raw bytes,
//! parse, hand over to the sidebar, serialise the canvas.
//!
//! Order matters: an oversized body is refused (413) before it is read in
//! full, the signature is checked (401) before the JSON is parsed (400), and
//! nothing else happens for a request that fails either.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

use crate::canvas::signature::{verify_body_signature, SignatureError};
use crate::canvas::CanvasRequest;
use crate::config::Secret;
use crate::sidebar::Sidebar;

/// Canvas Kit bodies are a few KB; `stored_data` and `content` are capped
/// at 64 KB each, so 256 KB is generous.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub intercom_secret: Secret,
    pub sidebar: Arc<Sidebar>,
    pub webhooks: Arc<crate::tasks::webhook::Webhooks>,
}

/// Why a request was refused before it reached the sidebar.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("malformed JSON body: {0}")]
    BadJson(String),
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = match self {
            HttpError::Signature(_) => StatusCode::UNAUTHORIZED,
            HttpError::BadJson(_) => StatusCode::BAD_REQUEST,
        };
        (status, Json(json!({"error": self.to_string()}))).into_response()
    }
}

pub fn router(state: AppState) -> Router {
    // A bug must not blank the sidebar: a panic in a canvas handler still
    // answers 200 with a canvas. (Webhooks keep their 5xx so Intercom
    // redelivers.)
    let canvas = Router::new()
        .route("/canvas/initialize", post(initialize))
        .route("/canvas/submit", post(submit))
        .layer(CatchPanicLayer::custom(panic_canvas));
    Router::new()
        .merge(canvas)
        .route("/healthz", get(healthz))
        .route("/webhooks/intercom", crate::tasks::webhook::route())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

fn verified(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<CanvasRequest, HttpError> {
    let sig = headers
        .get("x-body-signature")
        .and_then(|v| v.to_str().ok());
    verify_body_signature(state.intercom_secret.expose().as_bytes(), body, sig)?;
    serde_json::from_slice(body).map_err(|e| HttpError::BadJson(e.to_string()))
}

async fn initialize(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    let req = verified(&state, &headers, &body)?;
    let canvas = state.sidebar.initialize(&req).await;
    Ok(Json(canvas.into_response()).into_response())
}

async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    let req = verified(&state, &headers, &body)?;
    let canvas = state.sidebar.submit(&req).await;
    Ok(Json(canvas.into_response()).into_response())
}

/// The answer when a canvas handler panicked: the teammate gets a screen
/// with a retry, the log gets the bug.
pub fn panic_canvas(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = %what, "a canvas handler panicked");
    Json(crate::panels::internal_error_canvas().into_response()).into_response()
}

async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}
