//! HTTP routes. Handlers stay thin: the extractors of [`crate::edge`] have
//! already read the body under its limit, checked the signature (401) and
//! parsed it (400); a handler hands the request over and serialises the
//! answer.

use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

use crate::edge::{CanvasKit, SigningSecret, Webhook};
use crate::workspaces::{Registry, Serving};

#[derive(Clone)]
pub struct AppState {
    pub intercom_secret: SigningSecret,
    /// Every request asks it for "this workspace".
    pub registry: Arc<Registry>,
    /// The install, connect and uninstall routes (`INTERCOM_CLIENT_ID`).
    pub install: Option<Arc<crate::workspaces::routes::Install>>,
}

impl FromRef<AppState> for SigningSecret {
    fn from_ref(s: &AppState) -> SigningSecret {
        s.intercom_secret.clone()
    }
}

impl FromRef<AppState> for Arc<Registry> {
    fn from_ref(s: &AppState) -> Arc<Registry> {
        s.registry.clone()
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
    let mut router = Router::new()
        .merge(canvas)
        .route("/healthz", get(healthz))
        .route("/webhooks/intercom", post(webhook))
        .route("/actions/salesforce-case", post(case_action));
    if let Some(install) = state.install.clone() {
        router = router
            .merge(crate::workspaces::routes::router(install))
            .merge(crate::console::routes::router(state.registry.clone()));
    }
    router.with_state(state)
}

async fn initialize(State(registry): State<Arc<Registry>>, CanvasKit(req): CanvasKit) -> Response {
    crate::answer::canvas_response(registry.initialize(&req).await)
}

async fn submit(State(registry): State<Arc<Registry>>, CanvasKit(req): CanvasKit) -> Response {
    crate::answer::canvas_response(registry.submit(&req).await)
}

/// A verified notification goes to the queue of the workspace its
/// `app_id` names.
async fn webhook(State(registry): State<Arc<Registry>>, hook: Webhook) -> Response {
    let app_id = hook.json["app_id"].as_str().unwrap_or_default().to_string();
    match registry.serving(&app_id).await {
        Ok(Serving::Tenant(t)) => t.webhooks.receive(hook).await,
        Ok(Serving::NotInstalled) => {
            tracing::warn!(workspace = %app_id, "notification from a workspace that has not installed the app");
            crate::tasks::webhook::not_installed()
        }
        Err(e) => {
            tracing::error!(workspace = %app_id, error = %e, "workspace lookup failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "could not look up the workspace; retry later"})),
            )
                .into_response()
        }
    }
}

/// `POST /actions/salesforce-case`: the bearer token names the workspace.
async fn case_action(
    State(registry): State<Arc<Registry>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let presented = crate::cases::action::bearer(&headers);
    let tenant = match presented {
        "" => None,
        token => registry.for_action_token(token).await,
    };
    match tenant {
        Some(t) => t.case_action.handle(body).await,
        None => crate::cases::action::unauthorised(),
    }
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
