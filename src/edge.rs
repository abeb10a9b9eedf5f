//! The HTTP edge: what every request goes through before a handler sees it.
//!
//! - [`CanvasKit`]: an axum extractor for `/canvas/*`. It reads the body
//!   itself, under [`MAX_CANVAS_BYTES`], feeding every byte through the
//!   HMAC-SHA256 of `X-Body-Signature` (checked in constant time before
//!   anything is parsed), then parses the [`CanvasRequest`].
//! - [`Webhook`]: the same for `/webhooks/intercom` (`X-Hub-Signature`,
//!   `sha1=` HMAC-SHA1, [`MAX_WEBHOOK_BYTES`]); the handler gets the
//!   verified raw bytes and their parsed JSON.
//! - [`EdgeError`]: the one error type of this layer, turned into the answer
//!   the protocol expects ([`Rejection`]): a missing or wrong signature is a
//!   401 with a JSON reason for both; a signed Canvas Kit body over the limit
//!   is a canvas ("This request is too large…") because Intercom shows a
//!   canvas and nothing else; a webhook over the limit is a 413.
//! - [`traced`]: `x-request-id` (kept when the caller sent one, generated
//!   when not, echoed in the answer) and one log line per request with the
//!   method, the route, the status, the latency and that id. Bodies, headers
//!   and query strings are never logged.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRef, FromRequest, MatchedPath, Request};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::canvas::components::{header, paragraph, submit_button, ButtonStyle, Canvas};
use crate::canvas::signature::{BodySignature, HubSignature, SignatureCheck, SignatureError};
use crate::canvas::CanvasRequest;
use crate::config::Secret;

/// Canvas Kit bodies are a few KB; `stored_data` and `content` are capped
/// at 64 KB each, so 256 KB is generous.
pub const MAX_CANVAS_BYTES: usize = 256 * 1024;

/// Notifications carry the whole conversation; allow more than a canvas.
pub const MAX_WEBHOOK_BYTES: usize = 2 * 1024 * 1024;

/// The Intercom app's client secret, which keys both signatures. Handlers'
/// states provide it through [`FromRef`].
#[derive(Clone)]
pub struct SigningSecret(pub Secret);

/// Why a request was refused at the edge.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error("invalid signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("the body is over the {limit}-byte limit")]
    TooLarge { limit: usize },
    #[error("malformed JSON body: {0}")]
    BadJson(String),
    #[error("the body could not be read: {0}")]
    BodyRead(String),
}

/// Which protocol a refusal answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    CanvasKit,
    Webhook,
}

/// An [`EdgeError`] on its way out, answered in its protocol's terms.
#[derive(Debug)]
pub struct Rejection {
    pub protocol: Protocol,
    pub error: EdgeError,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = match (&self.error, self.protocol) {
            (EdgeError::TooLarge { limit }, Protocol::CanvasKit) => {
                tracing::warn!(limit, "a signed canvas request was over the limit");
                return Json(too_large_canvas().into_response()).into_response();
            }
            (EdgeError::TooLarge { .. }, Protocol::Webhook) => StatusCode::PAYLOAD_TOO_LARGE,
            (EdgeError::Signature(_), _) => StatusCode::UNAUTHORIZED,
            (EdgeError::BadJson(_), _) => StatusCode::BAD_REQUEST,
            (EdgeError::BodyRead(_), _) => StatusCode::BAD_REQUEST,
        };
        tracing::warn!(error = %self.error, protocol = ?self.protocol, "request refused");
        (status, Json(json!({"error": self.error.to_string()}))).into_response()
    }
}

/// The answer to a signed Canvas Kit request too large to handle: what
/// happened and what to do, with a way back to the panel.
pub fn too_large_canvas() -> Canvas {
    Canvas::new(vec![
        header("This request is too large"),
        paragraph(format!(
            "Intercom sent more than this app accepts ({} KB); nothing was read or sent to Salesforce. Shorten what was typed (a long description or many fields), then try again.",
            MAX_CANVAS_BYTES / 1024
        )),
        submit_button(crate::actions::ids::REFRESH, "Back to the panel", ButtonStyle::Secondary),
    ])
    .with_data("view", "error")
}

/// A Canvas Kit request whose `X-Body-Signature` matched its body.
#[derive(Debug)]
pub struct CanvasKit(pub CanvasRequest);

/// A webhook notification whose `X-Hub-Signature` matched its body: the
/// raw bytes (stored as received) and their JSON.
#[derive(Debug)]
pub struct Webhook {
    pub body: Bytes,
    pub json: Value,
}

impl<S> FromRequest<S> for CanvasKit
where
    S: Send + Sync,
    SigningSecret: FromRef<S>,
{
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Rejection> {
        let reject = |error| Rejection {
            protocol: Protocol::CanvasKit,
            error,
        };
        let secret = SigningSecret::from_ref(state);
        let bytes = verified_body::<BodySignature>(req, &secret.0, MAX_CANVAS_BYTES)
            .await
            .map_err(reject)?;
        serde_json::from_slice(&bytes)
            .map(CanvasKit)
            .map_err(|e| reject(EdgeError::BadJson(e.to_string())))
    }
}

impl<S> FromRequest<S> for Webhook
where
    S: Send + Sync,
    SigningSecret: FromRef<S>,
{
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Rejection> {
        let reject = |error| Rejection {
            protocol: Protocol::Webhook,
            error,
        };
        let secret = SigningSecret::from_ref(state);
        let body = verified_body::<HubSignature>(req, &secret.0, MAX_WEBHOOK_BYTES)
            .await
            .map_err(reject)?;
        let json =
            serde_json::from_slice(&body).map_err(|e| reject(EdgeError::BadJson(e.to_string())))?;
        Ok(Webhook { body, json })
    }
}

/// Reads the body frame by frame, keeping at most `limit` bytes but MACing
/// all of them, so that an oversized body is still answered only if it is
/// signed. The signature decides first: a wrong one is refused whatever the
/// size.
async fn verified_body<C: SignatureCheck>(
    req: Request,
    secret: &Secret,
    limit: usize,
) -> Result<Bytes, EdgeError> {
    let header = req
        .headers()
        .get(C::HEADER)
        .map(|v| v.to_str().map(str::to_string).unwrap_or_default());
    // Parse the header before reading: a malformed one needs no body.
    let expected = C::parse_header(header.as_deref())?;
    let mut mac = C::mac(secret.expose().as_bytes());
    let mut kept = Vec::new();
    let mut over = false;
    let mut body: Body = req.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| EdgeError::BodyRead(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        C::update(&mut mac, &data);
        if !over && kept.len() + data.len() <= limit {
            kept.extend_from_slice(&data);
        } else {
            over = true;
            kept = Vec::new();
        }
    }
    C::verify(mac, &expected)?;
    if over {
        return Err(EdgeError::TooLarge { limit });
    }
    Ok(Bytes::from(kept))
}

/// `x-request-id`, and one log line per request. Applied once, outermost,
/// to everything the server answers (`main` and the test harness).
pub fn traced(router: Router) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    router
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    // The route's pattern, not the path: no ids or query strings.
                    let route = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_else(|| "(unmatched)".to_string());
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        route = %route,
                        request_id = %id,
                    )
                })
                .on_request(())
                .on_body_chunk(())
                .on_eos(())
                .on_response(|res: &Response, latency: Duration, _span: &Span| {
                    tracing::info!(
                        status = res.status().as_u16(),
                        latency_ms = format_args!("{:.1}", latency.as_secs_f64() * 1000.0),
                        "answered"
                    );
                })
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
}
