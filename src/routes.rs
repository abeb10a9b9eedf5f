//! HTTP routes. Handlers stay thin: the extractors of [`crate::edge`] have
//! already read the body under its limit, checked the signature (401) and
//! parsed it (400); a handler hands the request over and serialises the
//! answer.

use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

use crate::edge::{CanvasKit, SigningSecret};
use crate::sidebar::Sidebar;
use crate::tasks::webhook::Webhooks;

#[derive(Clone)]
pub struct AppState {
    pub intercom_secret: SigningSecret,
    pub sidebar: Arc<Sidebar>,
    pub webhooks: Arc<Webhooks>,
    /// `POST /actions/salesforce-case`.
    pub case_action: Arc<crate::cases::action::CaseAction>,
}

impl FromRef<AppState> for SigningSecret {
    fn from_ref(s: &AppState) -> SigningSecret {
        s.intercom_secret.clone()
    }
}

impl FromRef<AppState> for Arc<crate::cases::action::CaseAction> {
    fn from_ref(s: &AppState) -> Arc<crate::cases::action::CaseAction> {
        s.case_action.clone()
    }
}

impl FromRef<AppState> for Arc<Webhooks> {
    fn from_ref(s: &AppState) -> Arc<Webhooks> {
        s.webhooks.clone()
    }
}

/// The app's routes (without the request-id and trace layers, which
/// [`crate::edge::traced`] puts around everything served).
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
        .route("/actions/salesforce-case", crate::cases::action::route())
        .with_state(state)
}

async fn initialize(State(state): State<AppState>, CanvasKit(req): CanvasKit) -> Response {
    crate::answer::canvas_response(state.sidebar.initialize_answer(&req).await)
}

async fn submit(State(state): State<AppState>, CanvasKit(req): CanvasKit) -> Response {
    crate::answer::canvas_response(state.sidebar.submit_answer(&req).await)
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
