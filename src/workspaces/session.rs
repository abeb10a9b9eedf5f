//! Admin sessions and the browser binding of OAuth states.
//!
//! - The session cookie (`sf_inbox_session`) holds 32 random bytes; the
//!   store keeps only their SHA-256, with the workspace, the admin and the
//!   form token (CSRF) of that session. `HttpOnly`, `SameSite=Lax`, and
//!   `Secure` when the app is served over HTTPS.
//! - The OAuth browser cookie (`sf_inbox_oauth`) binds a `state` to the
//!   browser that started the flow: a callback whose state was started in
//!   another browser (a link sent to a victim) is refused.
//! - [`Admin`] is the extractor of a signed-in admin; [`Admin::check_csrf`]
//!   checks a form's `csrf_token` in constant time.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Registry;
use crate::config::Secret;
use crate::store::AdminSession;

pub const SESSION_COOKIE: &str = "sf_inbox_session";
pub const OAUTH_COOKIE: &str = "sf_inbox_oauth";

/// How long a console session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

/// How long an OAuth flow may take between its start and its callback.
pub const STATE_TTL: Duration = Duration::from_secs(10 * 60);

/// 32 random bytes, hex: session ids, browser nonces, form tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    hex::encode(bytes)
}

/// SHA-256, hex (what the store keeps of a browser nonce).
pub fn digest(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: `HttpOnly; SameSite=Lax; Path=/`, `Secure` on
/// HTTPS, gone after `max_age` (zero deletes it).
pub fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        max_age.as_secs()
    ))
    .expect("cookie names and hex values are header-safe")
}

/// Adds a `Set-Cookie` header to a response.
pub fn with_cookie(mut resp: Response, cookie: HeaderValue) -> Response {
    resp.headers_mut().append(SET_COOKIE, cookie);
    resp
}

/// Starts a session for the admin `/me` named; the cookie to set.
pub async fn sign_in(
    registry: &Registry,
    workspace_id: &str,
    me: &crate::intercom::oauth::Me,
) -> Result<HeaderValue, crate::store::StoreError> {
    let id = random_token();
    let session = AdminSession {
        workspace_id: workspace_id.to_string(),
        admin_id: me.admin_id.clone(),
        admin_name: me.admin_name.clone(),
        admin_email: me.admin_email.clone(),
        csrf_token: Secret::new(random_token()),
        expires_at: Utc::now() + chrono::Duration::from_std(SESSION_TTL).expect("eight hours fit"),
    };
    registry.store().create_session(&id, &session).await?;
    Ok(set_cookie(
        SESSION_COOKIE,
        &id,
        SESSION_TTL,
        registry.public_base().starts_with("https://"),
    ))
}

/// A signed-in admin of one workspace. Without a session the request is
/// sent to sign in (`/install`, Intercom OAuth, which signs in an admin of
/// a workspace that installed the app already).
pub struct Admin {
    pub session: AdminSession,
    /// The cookie's value (sign-out deletes its row).
    pub cookie: String,
}

impl Admin {
    /// Whether a form's token is this session's (constant time).
    pub fn check_csrf(&self, presented: &str) -> bool {
        let expected = self.session.csrf_token.expose().as_bytes();
        !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(expected))
    }

    pub fn workspace_id(&self) -> &str {
        &self.session.workspace_id
    }

    /// A 403 page when `asked` (a link's or a form's workspace) is another
    /// workspace than this session's: an admin acts on their own only.
    pub fn refuse_other(&self, asked: Option<&str>) -> Option<Response> {
        let asked = asked.filter(|w| !w.is_empty())?;
        (asked != self.workspace_id()).then(|| {
            tracing::warn!(admin = %self.session.admin_id, signed_in = %self.workspace_id(), %asked, "admin refused for another workspace");
            let page = crate::console::view::MessagePage {
                title: "This is another workspace".into(),
                paragraphs: vec![format!(
                    "You're signed in as an admin of workspace {}, not {asked}. Sign in with that workspace to manage it.",
                    self.workspace_id()
                )],
                links: vec![crate::console::view::Link::new(
                    "Sign in with another workspace",
                    "/install",
                )],
                error: true,
            };
            (
                axum::http::StatusCode::FORBIDDEN,
                axum::response::Html(crate::console::view::message_page(&page)),
            )
                .into_response()
        })
    }
}

/// Why there is no [`Admin`]: not signed in (→ sign-in), or the store
/// could not be read.
pub enum NoAdmin {
    SignIn,
    Unavailable,
}

impl IntoResponse for NoAdmin {
    fn into_response(self) -> Response {
        match self {
            NoAdmin::SignIn => Redirect::to("/install").into_response(),
            NoAdmin::Unavailable => (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                axum::response::Html(crate::console::view::message_page(
                    &crate::console::view::MessagePage {
                        title: "Try again in a moment".to_string(),
                        paragraphs: vec![
                            "Your session could not be checked just now. Reload the page to try again."
                                .to_string(),
                        ],
                        links: Vec::new(),
                        error: true,
                    },
                )),
            )
                .into_response(),
        }
    }
}

impl<S> FromRequestParts<S> for Admin
where
    S: Send + Sync,
    Arc<Registry>: FromRef<S>,
{
    type Rejection = NoAdmin;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Admin, NoAdmin> {
        let registry = Arc::<Registry>::from_ref(state);
        let Some(value) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(NoAdmin::SignIn);
        };
        match registry.store().session(&value).await {
            Ok(Some(session)) => Ok(Admin {
                session,
                cookie: value,
            }),
            Ok(None) => Err(NoAdmin::SignIn),
            Err(e) => {
                tracing::error!(error = %e, "admin session unreadable");
                Err(NoAdmin::Unavailable)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others_and_empty_ones_are_none() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("a=1; sf_inbox_session=abc ; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, OAUTH_COOKIE), None);
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("sf_inbox_oauth="));
        assert_eq!(cookie(&h, OAUTH_COOKIE), None);
    }

    #[test]
    fn session_cookies_are_http_only_lax_and_secure_on_https() {
        let c = set_cookie(SESSION_COOKIE, "v", SESSION_TTL, true);
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
        let c = set_cookie(SESSION_COOKIE, "v", SESSION_TTL, false);
        assert!(!c.to_str().unwrap().contains("Secure"));
    }

    #[test]
    fn random_tokens_differ() {
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 64);
    }
}
