//! Intercom's install flow, faked: the authorize page (`GET /oauth`, where an admin picks the
//! workspace and clicks Install), the code exchange (`POST /auth/eagle/token`) and `GET /me`.
//! Each install mints a token bound to its workspace; every other endpoint takes any token
//! minted here, and tells handlers whose it is.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use serde_json::{json, Value};

use super::{error, gate, Inner, SANDBOX_INTERCOM_TOKEN};
use crate::auth::{random_alnum, random_chars};
use crate::pages::{hidden, html_escape, page, redirect_target, with_query};

/// The sandbox app's OAuth client id (the Developer Hub's "Client ID").
pub const SANDBOX_INTERCOM_CLIENT_ID: &str = "sandbox-intercom-client-id";
/// Its client secret: Intercom uses one secret for the OAuth exchange and for signing Canvas Kit
/// requests, so this is the app's sandbox Canvas signing secret too.
pub const SANDBOX_INTERCOM_CLIENT_SECRET: &str = "sandbox-intercom-client-secret";
/// The workspace [`SANDBOX_INTERCOM_TOKEN`] belongs to.
pub const SANDBOX_WORKSPACE_ID: &str = "sandbox";

/// How long a code can be exchanged (Intercom's live about 5 minutes).
const CODE_LIFETIME: Duration = Duration::from_secs(300);

/// An Intercom region, as the install form offers it and `/me` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Region {
    Us,
    Eu,
    Au,
}

impl Region {
    fn parse(s: &str) -> Option<Region> {
        match s {
            "us" => Some(Region::Us),
            "eu" => Some(Region::Eu),
            "au" => Some(Region::Au),
            _ => None,
        }
    }

    /// `app.region` in `/me`.
    pub fn label(self) -> &'static str {
        match self {
            Region::Us => "US",
            Region::Eu => "Europe",
            Region::Au => "Australia",
        }
    }

    fn timezone(self) -> &'static str {
        match self {
            Region::Us => "America/Los_Angeles",
            Region::Eu => "Europe/Dublin",
            Region::Au => "Australia/Sydney",
        }
    }
}

/// The admin who installed the app.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstallAdmin {
    pub id: String,
    pub name: String,
    pub email: String,
}

/// One install: a token and the workspace (and admin) it acts for.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Install {
    pub token: String,
    pub workspace_id: String,
    pub workspace_name: String,
    pub region: Region,
    pub admin: InstallAdmin,
    /// Unix seconds (`app.created_at` in `/me`).
    pub created_at: i64,
}

/// A code waiting for its exchange.
struct PendingCode {
    client_id: String,
    install: Install,
    issued: Instant,
}

/// Installs (the sandbox token's first) and pending codes.
pub(super) struct Installs {
    installs: Vec<Install>,
    codes: HashMap<String, PendingCode>,
    /// The app's client secret the token endpoint accepts (the app's
    /// `INTERCOM_CLIENT_SECRET`; [`SANDBOX_INTERCOM_CLIENT_SECRET`] unless set).
    pub client_secret: String,
}

impl Installs {
    /// Knows [`SANDBOX_INTERCOM_TOKEN`], installed in workspace `sandbox` by `admin`.
    pub fn new(admin: InstallAdmin) -> Installs {
        let sandbox = Install {
            token: SANDBOX_INTERCOM_TOKEN.to_string(),
            workspace_id: SANDBOX_WORKSPACE_ID.to_string(),
            workspace_name: "Sandbox".to_string(),
            region: Region::Us,
            admin,
            created_at: chrono::Utc::now().timestamp(),
        };
        Installs {
            installs: vec![sandbox],
            codes: HashMap::new(),
            client_secret: SANDBOX_INTERCOM_CLIENT_SECRET.to_string(),
        }
    }

    /// The workspace removed the app: its tokens stop working (401).
    pub fn uninstall(&mut self, workspace_id: &str) {
        self.installs.retain(|i| i.workspace_id != workspace_id);
    }

    pub fn by_token(&self, token: &str) -> Option<&Install> {
        self.installs.iter().find(|i| i.token == token)
    }

    /// Every install, oldest first.
    pub fn all(&self) -> &[Install] {
        &self.installs
    }

    /// Spends `code` if it is known, fresh and `client_id`'s, and installs what it was minted
    /// for; a code that is not usable stays as it is (another client cannot burn it).
    fn redeem(&mut self, code: &str, client_id: &str) -> Option<Install> {
        let usable = self
            .codes
            .get(code)
            .is_some_and(|p| p.client_id == client_id && p.issued.elapsed() <= CODE_LIFETIME);
        let install = usable.then(|| self.codes.remove(code)).flatten()?.install;
        self.installs.push(install.clone());
        Some(install)
    }

    /// `sandbox-N` for the smallest N ≥ 2 not installed yet: what the form offers.
    fn fresh_number(&self) -> usize {
        (2..)
            .find(|n| {
                let id = format!("sandbox-{n}");
                !self.installs.iter().any(|i| i.workspace_id == id)
            })
            .expect("an unused number")
    }
}

/// A token shaped like Intercom's (base64 of `tok:<uuid>:1:0`).
fn mint_token() -> String {
    let hex = b"0123456789abcdef";
    let uuid = [8, 4, 4, 4, 12]
        .iter()
        .map(|n| random_chars(*n, hex))
        .collect::<Vec<_>>()
        .join("-");
    STANDARD.encode(format!("tok:{uuid}:1:0"))
}

fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

fn refusal(message: &str) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        page(
            "Install failed | Sandbox Intercom",
            &format!(
                "<p>Sandbox Intercom (not Intercom)</p><h1>This app can't be installed</h1>\n<p>{}</p>\n",
                html_escape(message)
            ),
        ),
    )
}

/// The client and where it wants the admin sent back, checked as Intercom checks them before
/// it shows anything (an unknown client is refused, not redirected); `Err` is the 400 page.
fn check_client(params: &HashMap<String, String>) -> Result<url::Url, Box<Response>> {
    let field = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    if field("client_id") != SANDBOX_INTERCOM_CLIENT_ID {
        return Err(Box::new(refusal(
            "Unknown client_id: no app is registered with it.",
        )));
    }
    // The sandbox cannot know the app's configured redirect URLs (its PUBLIC_URL), so it takes
    // any absolute http(s) URL: never a script or a relative one.
    redirect_target(field("redirect_uri")).ok_or_else(|| {
        Box::new(refusal(
            "The redirect_uri is missing or is not an absolute http(s) URL.",
        ))
    })
}

/// `GET /oauth?client_id&state&redirect_uri`: the install page.
pub(super) async fn authorize_page(
    State(inner): State<Arc<Inner>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let redirect = match check_client(&params) {
        Ok(url) => url,
        Err(refused) => return *refused,
    };
    let field = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    let state = field("state");
    let n = inner.installs.lock().unwrap().fresh_number();
    let cancel = with_query(&redirect, &[("error", "access_denied"), ("state", state)]);
    let text = |name: &str, label: &str, value: &str| {
        format!(
            "<p><label>{} <input type=\"text\" name=\"{}\" value=\"{}\"></label></p>\n",
            html_escape(label),
            html_escape(name),
            html_escape(value)
        )
    };
    let body = format!(
        "<p>Sandbox Intercom (not Intercom): no account needed</p>\n<h1>Install sf-inbox in your Intercom workspace</h1>\n<form method=\"post\" action=\"/oauth/authorize\">\n{hidden}\n<fieldset><legend>Workspace</legend>\n{ws}{ws_name}<p><label>Region <select name=\"region\"><option value=\"us\" selected>US</option><option value=\"eu\">Europe</option><option value=\"au\">Australia</option></select></label></p>\n</fieldset>\n<fieldset><legend>You (the admin installing)</legend>\n{admin_id}{admin_name}{admin_email}</fieldset>\n<button type=submit>Install</button> <a href=\"{cancel}\">Cancel</a>\n</form>\n",
        hidden = [
            ("client_id", SANDBOX_INTERCOM_CLIENT_ID),
            ("redirect_uri", field("redirect_uri")),
            ("state", state),
        ]
        .iter()
        .map(|(k, v)| hidden(k, v))
        .collect::<String>(),
        ws = text("workspace_id", "Workspace id", &format!("sandbox-{n}")),
        ws_name = text("workspace_name", "Workspace name", &format!("Sandbox Workspace {n}")),
        admin_id = text("admin_id", "Admin id", &format!("sandbox-admin-{n}")),
        admin_name = text("admin_name", "Name", "Sandbox Admin"),
        admin_email = text("admin_email", "Email", &format!("admin@sandbox-{n}.example")),
        cancel = html_escape(&cancel),
    );
    html(
        StatusCode::OK,
        page("Install sf-inbox in your Intercom workspace", &body),
    )
}

/// Ids as Intercom workspaces and admins have them: short, URL-safe.
fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `POST /oauth/authorize` (the Install button): mints a one-time code for the chosen
/// workspace and admin and sends the browser back with it (303). Fields the form did not send
/// take the page's defaults, so a test can post only `client_id`, `redirect_uri` and `state`.
pub(super) async fn authorize_install(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let redirect = match check_client(&form) {
        Ok(url) => url,
        Err(refused) => return *refused,
    };
    let mut installs = inner.installs.lock().unwrap();
    let n = installs.fresh_number();
    let field = |k: &str, default: String| {
        form.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or(default)
    };
    let workspace_id = field("workspace_id", format!("sandbox-{n}"));
    let admin_id = field("admin_id", format!("sandbox-admin-{n}"));
    if !valid_id(&workspace_id) || !valid_id(&admin_id) {
        return refusal("Workspace and admin ids are 1 to 64 letters, digits, '-' or '_'.");
    }
    let Some(region) = Region::parse(&field("region", "us".into())) else {
        return refusal("The region is one of us, eu, au.");
    };
    let install = Install {
        token: mint_token(),
        workspace_name: field("workspace_name", format!("Sandbox Workspace {n}")),
        workspace_id,
        region,
        admin: InstallAdmin {
            id: admin_id,
            name: field("admin_name", "Sandbox Admin".into()),
            email: field("admin_email", format!("admin@sandbox-{n}.example")),
        },
        created_at: chrono::Utc::now().timestamp(),
    };
    let code = random_alnum(40);
    installs.codes.insert(
        code.clone(),
        PendingCode {
            client_id: SANDBOX_INTERCOM_CLIENT_ID.to_string(),
            install,
            issued: Instant::now(),
        },
    );
    let state = form.get("state").map(String::as_str).unwrap_or_default();
    let location = with_query(&redirect, &[("code", &code), ("state", state)]);
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// The token request's fields, from a form or a JSON body (Intercom takes both).
fn token_fields(headers: &HeaderMap, body: &[u8]) -> HashMap<String, String> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if json {
        serde_json::from_slice::<serde_json::Map<String, Value>>(body)
            .map(|map| {
                map.into_iter()
                    .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        url::form_urlencoded::parse(body).into_owned().collect()
    }
}

/// `POST /auth/eagle/token` (`code`, `client_id`, `client_secret`): the code's token. Client
/// credentials are checked first (401); then the code must be known, unspent, fresh and the
/// client's (400 `invalid_grant`). The code is spent by the successful exchange.
pub(super) async fn token(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    inner
        .requests
        .lock()
        .unwrap()
        .push("POST /auth/eagle/token".to_string());
    if let Some(fault) = super::fault(&inner) {
        return fault;
    }
    let form = token_fields(&headers, &body);
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if field("client_id") != SANDBOX_INTERCOM_CLIENT_ID
        || field("client_secret") != inner.installs.lock().unwrap().client_secret
    {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Client credentials are invalid",
        );
    }
    let redeemed = inner
        .installs
        .lock()
        .unwrap()
        .redeem(field("code"), field("client_id"));
    let Some(install) = redeemed else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The authorization code is invalid, expired or already used",
        );
    };
    let token = install.token;
    Json(json!({"token": token, "access_token": token, "token_type": "Bearer"})).into_response()
}

/// `GET /me`: the token's admin with its workspace (`app`), Intercom's `admin_with_app`.
pub(super) async fn me(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let install = match gate(&inner, &headers, "GET /me".into()) {
        Ok(install) => install,
        Err(r) => return *r,
    };
    Json(json!({
        "type": "admin",
        "id": install.admin.id,
        "name": install.admin.name,
        "email": install.admin.email,
        "email_verified": true,
        "app": {
            "type": "app",
            "id_code": install.workspace_id,
            "name": install.workspace_name,
            "created_at": install.created_at,
            "secure": false,
            "identity_verification": false,
            "timezone": install.region.timezone(),
            "region": install.region.label(),
        },
        "avatar": {"type": "avatar", "image_url": null},
        "has_inbox_seat": true,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin() -> InstallAdmin {
        InstallAdmin {
            id: "1".into(),
            name: "A".into(),
            email: "a@example.com".into(),
        }
    }

    fn with_code(issued: Instant) -> Installs {
        let mut installs = Installs::new(admin());
        let install = Install {
            token: mint_token(),
            workspace_id: "w".into(),
            workspace_name: "W".into(),
            region: Region::Au,
            admin: admin(),
            created_at: 0,
        };
        installs.codes.insert(
            "code".into(),
            PendingCode {
                client_id: SANDBOX_INTERCOM_CLIENT_ID.into(),
                install,
                issued,
            },
        );
        installs
    }

    #[test]
    fn a_code_expires_after_five_minutes() {
        let old = Instant::now()
            .checked_sub(CODE_LIFETIME + Duration::from_secs(1))
            .expect("the clock is past six minutes");
        let mut installs = with_code(old);
        assert!(installs
            .redeem("code", SANDBOX_INTERCOM_CLIENT_ID)
            .is_none());
        assert_eq!(installs.all().len(), 1, "nothing installed");
        let mut installs = with_code(Instant::now());
        let install = installs
            .redeem("code", SANDBOX_INTERCOM_CLIENT_ID)
            .expect("a fresh code");
        assert_eq!(installs.by_token(&install.token), Some(&install));
    }

    #[test]
    fn another_client_cannot_use_or_burn_a_code() {
        let mut installs = with_code(Instant::now());
        assert!(installs.redeem("code", "other-client").is_none());
        assert!(installs
            .redeem("code", SANDBOX_INTERCOM_CLIENT_ID)
            .is_some());
        assert!(installs
            .redeem("code", SANDBOX_INTERCOM_CLIENT_ID)
            .is_none());
    }

    #[test]
    fn tokens_look_like_intercoms() {
        let token = mint_token();
        let decoded = String::from_utf8(STANDARD.decode(&token).unwrap()).unwrap();
        assert!(
            decoded.starts_with("tok:") && decoded.ends_with(":1:0"),
            "{decoded}"
        );
        assert_ne!(token, mint_token());
    }
}
