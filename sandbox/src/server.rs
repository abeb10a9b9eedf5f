//! HTTP layer: the OAuth endpoints (authorize page, token, revoke, identity), `/services/data/**` (with auth, faults, limit headers
//! and the request log), composite, the Lightning record page and the `/__sandbox` control API.
//! Data routes are plain functions over `(method, path, body)` so composite subrequests run
//! through exactly the same code as top-level calls.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path as AxPath, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

use super::auth::{random_alnum, random_chars, AuthCode, Grant, Tokens};
use super::error::SfError;
use super::json::Json;
use super::pages::{hidden, html_escape, page, redirect_target, with_query};
use super::store::Store;
use super::{
    soql, LoggedRequest, OrgOptions, Shared, Stats, Switches, SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
};

/// Newest API version served (Summer '26).
const MAX_VERSION: u32 = 67;
/// Describe answers claim this modification time (fixtures are static).
const DESCRIBE_LAST_MODIFIED: &str = "Wed, 06 May 2026 09:49:20 GMT";
const API_MAX: usize = 15000;

/// A query result kept for `nextRecordsUrl`, bound to the access token that ran it.
struct Cursor {
    token: String,
    total: usize,
    records: Vec<Json>,
}

pub(super) struct Inner {
    pub url: String,
    pub store: Mutex<Store>,
    pub switches: Switches,
    pub stats: Stats,
    pub org: OrgOptions,
    cursors: Mutex<HashMap<String, Cursor>>,
}

impl Inner {
    pub fn new(url: String, store: Store, org: OrgOptions) -> Inner {
        let tokens = Tokens::new(&org.refresh_token, &org.org_id);
        Inner {
            url,
            store: Mutex::new(store),
            switches: Switches {
                shared: Arc::new(Shared {
                    state: Mutex::default(),
                    tokens: Mutex::new(tokens),
                }),
            },
            stats: Stats::default(),
            org,
            cursors: Mutex::new(HashMap::new()),
        }
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.switches.shared.tokens.lock().expect("token lock")
    }

    /// `{url}/id/{org}/{user}`: the identity URL of this org's API user.
    fn identity_url(&self) -> String {
        format!("{}/id/{}/{}", self.url, self.org.org_id, self.org.user_id)
    }
}

/// What a handler answers, before it becomes an HTTP response or a composite entry.
enum Body {
    Json(Json),
    /// JSON text served as is (describe bodies keep their file's key order).
    RawJson(String),
    Text(String, &'static str),
    Empty,
}

struct Reply {
    status: u16,
    body: Body,
    headers: Vec<(String, String)>,
}

impl Reply {
    fn json(status: u16, body: Json) -> Reply {
        Reply {
            status,
            body: Body::Json(body),
            headers: Vec::new(),
        }
    }

    fn error(e: SfError) -> Reply {
        Reply::json(e.status, e.body())
    }

    fn header(mut self, k: &str, v: impl Into<String>) -> Reply {
        self.headers.push((k.to_string(), v.into()));
        self
    }

    /// The body as JSON (for composite entries and reference resolution).
    fn body_json(&self) -> Json {
        match &self.body {
            Body::Json(j) => j.clone(),
            Body::RawJson(s) => serde_json::from_str::<Value>(s)
                .map(Json::from)
                .unwrap_or(Json::Null),
            Body::Text(s, _) => Json::Str(s.clone()),
            Body::Empty => Json::Null,
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (content_type, body) = match self.body {
            Body::Json(j) => (
                Some("application/json;charset=UTF-8"),
                j.to_string_compact(),
            ),
            Body::RawJson(s) => (Some("application/json;charset=UTF-8"), s),
            Body::Text(s, ct) => (Some(ct), s),
            Body::Empty => (None, String::new()),
        };
        let mut resp = (status, body).into_response();
        let h = resp.headers_mut();
        if let Some(ct) = content_type {
            h.insert("content-type", HeaderValue::from_static(ct));
        } else {
            h.remove("content-type");
        }
        for (k, v) in self.headers {
            if let (Ok(name), Ok(value)) = (
                axum::http::HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(&v),
            ) {
                h.insert(name, value);
            }
        }
        resp
    }
}

/// What one request ran, for the log.
#[derive(Default)]
struct Trace {
    soql: Vec<String>,
    subrequests: usize,
    auto_assign: Option<String>,
    subcalls: Vec<crate::LoggedCall>,
    /// A composite saved a record create (and did not roll it back).
    composite_created: bool,
}

pub(super) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route(
            "/services/oauth2/authorize",
            get(authorize_page).post(authorize_decision),
        )
        .route("/services/oauth2/token", post(token))
        .route("/services/oauth2/revoke", post(revoke))
        .route("/id/{org_id}/{user_id}", get(identity))
        .route("/lightning/r/{sobject}/{id}/view", get(lightning))
        .route("/__sandbox/state", get(control_state))
        .route("/__sandbox/switches", post(control_switches))
        .route("/__sandbox/expire-tokens", post(control_expire))
        .route("/__sandbox/revoke", post(control_revoke))
        .route("/__sandbox/reset", post(control_reset))
        .route(
            "/__sandbox/requests",
            get(control_requests).delete(control_clear),
        )
        .fallback(services)
        .with_state(inner)
}

fn log(inner: &Inner, method: &Method, path: &str, trace: Trace, status: u16) {
    inner.stats.push(LoggedRequest {
        method: method.to_string(),
        path: path.to_string(),
        soql: trace.soql,
        status,
        subrequests: trace.subrequests,
        auto_assign: trace.auto_assign,
        subcalls: trace.subcalls,
    });
}

fn oauth_error(error: &str, description: &str) -> Reply {
    Reply::json(
        400,
        Json::obj()
            .with("error", error)
            .with("error_description", description),
    )
}

/// A base64-looking signature (44 characters, like Salesforce's HMAC-SHA256 in base64).
fn signature() -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    format!("{}=", random_chars(43, alphabet))
}

/// A successful token answer, Salesforce's fields in Salesforce's order.
fn token_answer(
    inner: &Inner,
    access_token: String,
    refresh_token: Option<String>,
    scope: &str,
) -> Reply {
    let mut body = Json::obj().with("access_token", access_token);
    if let Some(r) = refresh_token {
        body.insert("refresh_token", Json::from(r));
    }
    let issued = chrono::Utc::now().timestamp_millis().to_string();
    body = body
        .with("signature", signature())
        .with("scope", scope)
        .with("instance_url", inner.url.as_str())
        .with("id", inner.identity_url())
        .with("token_type", "Bearer")
        .with("issued_at", issued);
    Reply::json(200, body)
}

async fn token(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    inner.stats.token_requests.fetch_add(1, Ordering::SeqCst);
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let latency = inner.switches.latency();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let grant_type = field("grant_type");
    let reply = if grant_type != "refresh_token" && grant_type != "authorization_code" {
        tokio::time::sleep(latency).await;
        oauth_error("unsupported_grant_type", "grant type not supported")
    } else if field("client_id") != SANDBOX_CLIENT_ID
        || field("client_secret") != SANDBOX_CLIENT_SECRET
    {
        tokio::time::sleep(latency).await;
        oauth_error("invalid_client", "invalid client credentials")
    } else if grant_type == "authorization_code" {
        tokio::time::sleep(latency).await;
        let issued = inner.tokens().redeem(
            field("code"),
            field("client_id"),
            field("redirect_uri"),
            field("code_verifier"),
        );
        match issued {
            // Salesforce says no more for a bad, spent or expired code, a wrong verifier or
            // redirect_uri.
            None => oauth_error("invalid_grant", "authentication failure"),
            Some(issued) => token_answer(
                &inner,
                issued.access_token,
                issued.refresh_token,
                &issued.scope,
            ),
        }
    } else {
        let refresh = field("refresh_token").to_string();
        let began = inner.tokens().begin(&refresh);
        tokio::time::sleep(latency).await;
        if !began {
            oauth_error("invalid_grant", "token request is already being processed")
        } else {
            let rotate = inner.switches.state().rotation;
            let grant = {
                let mut t = inner.tokens();
                let g = t.refresh(&refresh, rotate);
                t.end(&refresh);
                g
            };
            match grant {
                Grant::InvalidGrant => oauth_error("invalid_grant", "expired access/refresh token"),
                Grant::Issued {
                    access_token,
                    refresh_token,
                } => {
                    let late = inner.switches.state().token_latency_ms;
                    if late > 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(late)).await;
                    }
                    token_answer(&inner, access_token, refresh_token, "api refresh_token")
                }
            }
        }
    };
    let status = reply.status;
    log(
        &inner,
        &Method::POST,
        "/services/oauth2/token",
        Trace::default(),
        status,
    );
    reply.into_response()
}

/// The authorize request's parameters, checked.
struct AuthorizeRequest {
    redirect_uri: url::Url,
    /// `redirect_uri` as sent: the token request must repeat exactly this string.
    redirect_raw: String,
    scope: String,
    state: String,
    code_challenge: String,
}

/// Scopes requested when the authorize request names none (the connected app's own).
const DEFAULT_SCOPE: &str = "api refresh_token";

/// What the page says each scope lets the app do (Salesforce's wording, shortened).
fn scope_label(scope: &str) -> String {
    match scope {
        "api" => "Manage user data via APIs (api)".to_string(),
        "refresh_token" | "offline_access" => {
            format!("Perform requests at any time ({scope})")
        }
        "id" | "profile" | "email" | "openid" => {
            format!("Access the identity URL service ({scope})")
        }
        "full" => "Full access (full)".to_string(),
        other => other.to_string(),
    }
}

/// Checks what Salesforce checks before it shows the Allow page; `Err((error, description))`
/// is answered as its OAUTH_ERROR page, not as a redirect (the redirect target is not trusted
/// until the client is known).
fn check_authorize(
    params: &HashMap<String, String>,
) -> Result<AuthorizeRequest, (&'static str, &'static str)> {
    let field = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    if field("response_type") != "code" {
        return Err(("unsupported_response_type", "response type not supported"));
    }
    if field("client_id") != SANDBOX_CLIENT_ID {
        return Err(("invalid_client_id", "client identifier invalid"));
    }
    let Some(redirect_uri) = redirect_target(field("redirect_uri")) else {
        return Err((
            "redirect_uri_mismatch",
            "redirect_uri must match configuration",
        ));
    };
    let challenge = field("code_challenge");
    if challenge.is_empty() {
        return Err(("invalid_request", "missing required code challenge"));
    }
    if field("code_challenge_method") != "S256" {
        return Err(("invalid_request", "invalid code challenge method"));
    }
    // A SHA-256 in base64url without padding is 43 characters.
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(("invalid_request", "invalid code challenge"));
    }
    let scope = field("scope")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(AuthorizeRequest {
        redirect_uri,
        redirect_raw: field("redirect_uri").to_string(),
        scope: if scope.is_empty() {
            DEFAULT_SCOPE.to_string()
        } else {
            scope
        },
        state: field("state").to_string(),
        code_challenge: challenge.to_string(),
    })
}

fn html(status: u16, body: String) -> Reply {
    Reply {
        status,
        body: Body::Text(body, "text/html; charset=utf-8"),
        headers: Vec::new(),
    }
}

/// Salesforce's OAuth error page (`OAUTH_ERROR`), for a request it will not redirect.
fn oauth_error_page(error: &str, description: &str) -> Reply {
    html(
        400,
        page(
            "OAuth Error | Sandbox",
            &format!(
                "<p>Sandbox org (not Salesforce)</p><h1>OAUTH_ERROR</h1>\n<p>We can't authorize you because of an OAuth error.</p>\n<p>error=<code>{}</code><br>error_description=<code>{}</code></p>\n",
                html_escape(error),
                html_escape(description)
            ),
        ),
    )
}

/// `GET /services/oauth2/authorize`: the Allow/Deny page of the web-server flow. The sandbox
/// skips the login: the org's API user is signed in.
async fn authorize_page(State(inner): State<Arc<Inner>>, uri: Uri) -> Response {
    tokio::time::sleep(inner.switches.latency()).await;
    let params: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let reply = match check_authorize(&params) {
        Err((error, description)) => oauth_error_page(error, description),
        Ok(req) => {
            let org = html_escape(&inner.org.name);
            let scopes: String = req
                .scope
                .split(' ')
                .map(|s| format!("<li>{}</li>", html_escape(&scope_label(s))))
                .collect();
            let fields: String = [
                ("response_type", "code"),
                ("client_id", SANDBOX_CLIENT_ID),
                ("redirect_uri", req.redirect_raw.as_str()),
                ("scope", req.scope.as_str()),
                ("state", req.state.as_str()),
                ("code_challenge", req.code_challenge.as_str()),
                ("code_challenge_method", "S256"),
            ]
            .iter()
            .map(|(k, v)| hidden(k, v))
            .collect();
            html(
                200,
                page(
                    &format!("Allow Access? | {}", inner.org.name),
                    &format!(
                        "<p>Sandbox org (not Salesforce): signed in as the org's API user</p>\n<h1>Allow sf-inbox to access {org}?</h1>\n<p>sf-inbox is asking to:</p>\n<ul>{scopes}</ul>\n<form method=\"post\" action=\"/services/oauth2/authorize\">{fields}\n<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\n<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n</form>\n",
                    ),
                ),
            )
        }
    };
    let status = reply.status;
    log(
        &inner,
        &Method::GET,
        "/services/oauth2/authorize",
        Trace::default(),
        status,
    );
    reply.into_response()
}

/// `POST /services/oauth2/authorize` (the page's form): Allow mints a code and redirects (302,
/// as Salesforce does) with it; Deny redirects with `error=access_denied`. The hidden fields are
/// checked again: the form is only the browser's word.
async fn authorize_decision(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    tokio::time::sleep(inner.switches.latency()).await;
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let reply = match check_authorize(&form) {
        Err((error, description)) => oauth_error_page(error, description),
        Ok(req) => {
            let location = match form.get("decision").map(String::as_str) {
                Some("allow") => {
                    let code = inner.tokens().grant_code(AuthCode {
                        client_id: SANDBOX_CLIENT_ID.to_string(),
                        redirect_uri: req.redirect_raw,
                        code_challenge: req.code_challenge,
                        scope: req.scope,
                        issued: std::time::Instant::now(),
                    });
                    with_query(&req.redirect_uri, &[("code", &code), ("state", &req.state)])
                }
                _ => with_query(
                    &req.redirect_uri,
                    &[
                        ("error", "access_denied"),
                        ("error_description", "end-user denied authorization"),
                        ("state", &req.state),
                    ],
                ),
            };
            Reply {
                status: 302,
                body: Body::Empty,
                headers: vec![("Location".to_string(), location)],
            }
        }
    };
    let status = reply.status;
    log(
        &inner,
        &Method::POST,
        "/services/oauth2/authorize",
        Trace::default(),
        status,
    );
    reply.into_response()
}

/// `GET /id/{orgId}/{userId}`: the identity URL a token answer's `id` names. With a valid access
/// token (bearer, or `?oauth_token=`), the user's name, email, org id and the org's REST URLs.
async fn identity(
    State(inner): State<Arc<Inner>>,
    axum::extract::Path((org_id, user_id)): axum::extract::Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    tokio::time::sleep(inner.switches.latency()).await;
    let token = bearer(&headers)
        .or_else(|| query_param(uri.query(), "oauth_token"))
        .unwrap_or_default();
    let valid = inner.tokens().access_valid(&token);
    let path = uri.path().to_string();
    let reply = if !valid {
        Reply {
            status: 403,
            body: Body::Text("Bad_OAuth_Token".into(), "text/plain"),
            headers: Vec::new(),
        }
    } else {
        let user = (org_id == inner.org.org_id)
            .then(|| {
                inner
                    .store
                    .lock()
                    .expect("store lock")
                    .rows("User")
                    .iter()
                    .find(|u| u.get("Id").and_then(Value::as_str) == Some(user_id.as_str()))
                    .cloned()
            })
            .flatten();
        match user {
            None => Reply {
                status: 404,
                body: Body::Text("Bad_Id".into(), "text/plain"),
                headers: Vec::new(),
            },
            Some(u) => {
                let f = |k: &str| {
                    u.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let base = inner.url.as_str();
                let org = inner.org.org_id.as_str();
                let v = "{version}";
                let urls = Json::obj()
                    .with("enterprise", format!("{base}/services/Soap/c/{v}/{org}"))
                    .with("partner", format!("{base}/services/Soap/u/{v}/{org}"))
                    .with("rest", format!("{base}/services/data/v{v}/"))
                    .with("sobjects", format!("{base}/services/data/v{v}/sobjects/"))
                    .with("search", format!("{base}/services/data/v{v}/search/"))
                    .with("query", format!("{base}/services/data/v{v}/query/"))
                    .with("profile", format!("{base}/{user_id}"));
                Reply::json(
                    200,
                    Json::obj()
                        .with("id", format!("{base}/id/{org}/{user_id}"))
                        .with("asserted_user", true)
                        .with("user_id", user_id.as_str())
                        .with("organization_id", org)
                        .with("username", f("Username"))
                        .with("nick_name", f("Alias"))
                        .with("display_name", f("Name"))
                        .with("email", f("Email"))
                        .with("email_verified", true)
                        .with("first_name", f("FirstName"))
                        .with("last_name", f("LastName"))
                        .with(
                            "active",
                            u.get("IsActive").and_then(Value::as_bool).unwrap_or(false),
                        )
                        .with("user_type", "STANDARD")
                        .with("language", "en_US")
                        .with("locale", "en_US")
                        .with("utcOffset", 0u64)
                        .with("last_modified_date", f("LastModifiedDate"))
                        .with("urls", urls),
                )
            }
        }
    };
    let status = reply.status;
    log(&inner, &Method::GET, &path, Trace::default(), status);
    reply.into_response()
}

/// `POST /services/oauth2/revoke` with `token=` (a refresh or access token): revokes that
/// token's connection, its refresh and access tokens (always 200, as a client cannot act on a
/// failed revoke anyway); the org's other connections keep working.
async fn revoke(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    tokio::time::sleep(inner.switches.latency()).await;
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if let Some(token) = form.get("token") {
        inner.tokens().revoke(token);
    }
    log(
        &inner,
        &Method::POST,
        "/services/oauth2/revoke",
        Trace::default(),
        200,
    );
    Reply {
        status: 200,
        body: Body::Empty,
        headers: Vec::new(),
    }
    .into_response()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
        .then(|| token.trim().to_string())
}

fn fault(status: u16) -> Reply {
    let (code, message) = match status {
        503 => ("SERVER_UNAVAILABLE", "Server temporarily unavailable".to_string()),
        502 => ("SERVER_UNAVAILABLE", "Bad Gateway".to_string()),
        _ => (
            "UNKNOWN_EXCEPTION",
            format!(
                "An unexpected error occurred. Please include this ErrorId if you contact support: {}-{} (-{})",
                random_chars(10, b"0123456789"),
                random_chars(5, b"0123456789"),
                random_chars(10, b"0123456789")
            ),
        ),
    };
    Reply::error(SfError::new(status, code, message))
}

async fn services(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let mut trace = Trace::default();
    let is_data = path == "/services/data" || path.starts_with("/services/data/");
    if path.starts_with("/services/") {
        tokio::time::sleep(inner.switches.latency()).await;
    }
    let reply = if is_data {
        let used = inner.stats.api_calls.fetch_add(1, Ordering::SeqCst)
            + 1
            + inner.switches.state().other_api_usage as usize;
        inner
            .data(&method, &path, uri.query(), &headers, &body, &mut trace)
            .header("Sforce-Limit-Info", format!("api-usage={used}/{API_MAX}"))
    } else {
        Reply::error(SfError::not_found())
    };
    let create_latency = inner.switches.state().create_latency_ms;
    let creates = (method == Method::POST && path.contains("/sobjects/"))
        || trace
            .subcalls
            .iter()
            .any(|c| c.method == "POST" && c.path.contains("/sobjects/"));
    if create_latency > 0 && creates {
        tokio::time::sleep(std::time::Duration::from_millis(create_latency)).await;
    }
    let saved_create =
        (method == Method::POST && path.contains("/sobjects/") && reply.status == 201)
            || (reply.status == 200 && trace.composite_created);
    if inner.switches.state().reset_after_create && saved_create {
        log(&inner, &method, &path, trace, reply.status);
        // The record is saved; the connection goes down unanswered (hyper
        // drops a connection whose handler unwinds; no panic message).
        std::panic::resume_unwind(Box::new("sandbox: reset after create"));
    }
    trace.auto_assign = headers
        .get("sforce-auto-assign")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    log(&inner, &method, &path, trace, reply.status);
    reply.into_response()
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn method_not_allowed(method: &Method, allowed: &str) -> Reply {
    Reply::error(SfError::new(
        405,
        "METHOD_NOT_ALLOWED",
        format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
    ))
}

fn versions() -> Json {
    const LABELS: &[(u32, &str)] = &[
        (60, "Spring '24"),
        (61, "Summer '24"),
        (62, "Winter '25"),
        (63, "Spring '25"),
        (64, "Summer '25"),
        (65, "Winter '26"),
        (66, "Spring '26"),
        (67, "Summer '26"),
    ];
    Json::Arr(
        LABELS
            .iter()
            .map(|(v, label)| {
                Json::obj()
                    .with("label", *label)
                    .with("url", format!("/services/data/v{v}.0"))
                    .with("version", format!("{v}.0"))
            })
            .collect(),
    )
}

/// Accepts `vNN.0` up to the newest version.
fn valid_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let Some((major, minor)) = rest.split_once('.') else {
        return false;
    };
    minor == "0"
        && major
            .parse::<u32>()
            .is_ok_and(|m| (20..=MAX_VERSION).contains(&m))
}

/// Deterministic short hash for ETags.
fn fnv(text: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

impl Inner {
    /// Everything under `/services/data`: faults and auth first, then the route.
    fn data(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
        trace: &mut Trace,
    ) -> Reply {
        let sw = self.switches.state();
        if let Some(status) = sw.fail_status {
            return fault(status);
        }
        let rest = path.trim_start_matches("/services/data").trim_matches('/');
        if rest.is_empty() {
            return if *method == Method::GET {
                Reply::json(200, versions())
            } else {
                method_not_allowed(method, "GET,HEAD")
            };
        }
        let token = bearer(headers).unwrap_or_default();
        let valid = self
            .switches
            .shared
            .tokens
            .lock()
            .expect("token lock")
            .access_valid(&token);
        if !valid {
            return Reply::error(SfError::invalid_session());
        }
        if sw.api_limit {
            return Reply::error(SfError::new(
                403,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            ));
        }
        if sw.malformed {
            return Reply {
                status: 200,
                body: Body::Text(
                    r#"{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Contact","url":"/services/data/v"#
                        .to_string(),
                    "application/json;charset=UTF-8",
                ),
                headers: Vec::new(),
            };
        }
        let parsed = if body.is_empty() {
            None
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(v) => Some(v),
                Err(e) => {
                    return Reply::error(SfError::new(
                        400,
                        "JSON_PARSER_ERROR",
                        format!(
                            "Unexpected character: {e} at [line:{}, column:{}]",
                            e.line(),
                            e.column()
                        ),
                    ))
                }
            }
        };
        self.route(method, rest, query, parsed, headers, &token, trace, false)
    }

    /// One data resource; `rest` is the path after `/services/data/`.
    #[allow(clippy::too_many_arguments)]
    fn route(
        &self,
        method: &Method,
        rest: &str,
        query: Option<&str>,
        body: Option<Value>,
        headers: &HeaderMap,
        token: &str,
        trace: &mut Trace,
        in_composite: bool,
    ) -> Reply {
        let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let Some(version) = segs.first().copied() else {
            return Reply::json(200, versions());
        };
        if !valid_version(version) {
            return Reply::error(SfError::not_found());
        }
        let get_only = |f: &dyn Fn() -> Reply| {
            if *method == Method::GET {
                f()
            } else {
                method_not_allowed(method, "GET,HEAD")
            }
        };
        match segs.as_slice() {
            [_] => get_only(&|| {
                let base = format!("/services/data/{version}");
                Reply::json(
                    200,
                    Json::obj()
                        .with("limits", format!("{base}/limits"))
                        .with("sobjects", format!("{base}/sobjects"))
                        .with("query", format!("{base}/query"))
                        .with("queryAll", format!("{base}/queryAll"))
                        .with("composite", format!("{base}/composite")),
                )
            }),
            [_, "limits"] => get_only(&|| {
                let used = self.stats.api_calls.load(Ordering::SeqCst);
                Reply::json(
                    200,
                    Json::obj().with(
                        "DailyApiRequests",
                        Json::obj()
                            .with("Max", API_MAX)
                            .with("Remaining", API_MAX.saturating_sub(used)),
                    ),
                )
            }),
            [_, "query" | "queryAll"] => {
                if *method != Method::GET {
                    return method_not_allowed(method, "GET,HEAD");
                }
                let Some(q) = query_param(query, "q") else {
                    return Reply::error(SfError::new(
                        400,
                        "MALFORMED_QUERY",
                        "A query string has to be specified",
                    ));
                };
                trace.soql.push(q.clone());
                self.query(version, &q, token)
            }
            [_, "query" | "queryAll", locator] => {
                if *method != Method::GET {
                    return method_not_allowed(method, "GET,HEAD");
                }
                self.next_page(version, locator, token)
            }
            [_, "sobjects"] => get_only(&|| self.describe_global()),
            [_, "sobjects", sobject] => match *method {
                Method::POST => self.create(version, sobject, body),
                Method::GET => self.sobject_info(version, sobject),
                _ => method_not_allowed(method, "GET,HEAD,POST"),
            },
            [_, "sobjects", sobject, field, value] if *method == Method::PATCH => {
                self.upsert(version, sobject, field, value, query, body)
            }
            [_, "sobjects", sobject, "describe"] => {
                get_only(&|| self.describe(version, sobject, headers))
            }
            [_, "sobjects", sobject, id] => match *method {
                Method::GET => self.get_record(version, sobject, id, query),
                Method::PATCH => {
                    let body = body.unwrap_or(Value::Object(Default::default()));
                    let result = self
                        .store
                        .lock()
                        .expect("store lock")
                        .update(sobject, id, &body);
                    match result {
                        Ok(()) => Reply {
                            status: 204,
                            body: Body::Empty,
                            headers: Vec::new(),
                        },
                        Err(e) => Reply::error(e),
                    }
                }
                Method::DELETE => {
                    let result = self.store.lock().expect("store lock").delete(sobject, id);
                    match result {
                        Ok(()) => Reply {
                            status: 204,
                            body: Body::Empty,
                            headers: Vec::new(),
                        },
                        Err(e) => Reply::error(e),
                    }
                }
                _ => method_not_allowed(method, "GET,HEAD,PATCH,DELETE"),
            },
            [_, "ui-api", "object-info", sobject, "picklist-values", rt] => {
                get_only(&|| self.picklist_values(version, sobject, rt))
            }
            [_, "composite"] if !in_composite => {
                if *method != Method::POST {
                    return method_not_allowed(method, "POST");
                }
                self.composite(version, body, token, trace)
            }
            [_, "composite", "sobjects"] => {
                if *method != Method::POST {
                    return method_not_allowed(method, "POST");
                }
                self.collection_create(body)
            }
            _ => Reply::error(SfError::not_found()),
        }
    }

    fn query(&self, version: &str, q: &str, token: &str) -> Reply {
        let outcome = {
            let store = self.store.lock().expect("store lock");
            soql::run(&store, q, version)
        };
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => return Reply::error(e),
        };
        let page = self.switches.state().page_size;
        if outcome.records.len() <= page {
            return Reply::json(
                200,
                Json::obj()
                    .with("totalSize", outcome.total_size)
                    .with("done", true)
                    .with("records", Json::Arr(outcome.records)),
            );
        }
        let locator = format!("01g{}", random_alnum(15));
        let first = outcome.records[..page].to_vec();
        self.cursors.lock().expect("cursor lock").insert(
            locator.clone(),
            Cursor {
                token: token.to_string(),
                total: outcome.total_size,
                records: outcome.records,
            },
        );
        Reply::json(
            200,
            Json::obj()
                .with("totalSize", outcome.total_size)
                .with("done", false)
                .with(
                    "nextRecordsUrl",
                    format!("/services/data/{version}/query/{locator}-{page}"),
                )
                .with("records", Json::Arr(first)),
        )
    }

    fn next_page(&self, version: &str, locator: &str, token: &str) -> Reply {
        let invalid = || {
            Reply::error(SfError::new(
                400,
                "INVALID_QUERY_LOCATOR",
                "invalid query locator",
            ))
        };
        let Some((id, offset)) = locator.rsplit_once('-') else {
            return invalid();
        };
        let Ok(offset) = offset.parse::<usize>() else {
            return invalid();
        };
        let cursors = self.cursors.lock().expect("cursor lock");
        let Some(cursor) = cursors.get(id).filter(|c| c.token == token) else {
            return invalid();
        };
        if offset > cursor.records.len() {
            return invalid();
        }
        let page = self.switches.state().page_size;
        let end = (offset + page).min(cursor.records.len());
        let mut body = Json::obj()
            .with("totalSize", cursor.total)
            .with("done", end >= cursor.records.len());
        if end < cursor.records.len() {
            body.insert(
                "nextRecordsUrl",
                Json::from(format!("/services/data/{version}/query/{id}-{end}")),
            );
        }
        body.insert("records", Json::Arr(cursor.records[offset..end].to_vec()));
        Reply::json(200, body)
    }

    fn create(&self, version: &str, sobject: &str, body: Option<Value>) -> Reply {
        let body = body.unwrap_or(Value::Null);
        let mut store = self.store.lock().expect("store lock");
        let Some(name) = store.schema.object(sobject).map(|o| o.name.clone()) else {
            return Reply::error(SfError::not_found());
        };
        match store.create(&name, &body) {
            Ok(id) => Reply::json(
                201,
                Json::obj()
                    .with("id", id.as_str())
                    .with("success", true)
                    .with("errors", Json::Arr(Vec::new())),
            )
            .header(
                "Location",
                format!("/services/data/{version}/sobjects/{name}/{id}"),
            ),
            Err(e) => Reply::error(e),
        }
    }

    /// Upsert by external id (`PATCH /sobjects/{Object}/{Field}/{value}`): no record with that
    /// value → created (201, or 404 with `?updateOnly=true`); one → updated (200); several → 300
    /// with their URLs. `Field` must be an external id field, or `Id`.
    fn upsert(
        &self,
        version: &str,
        sobject: &str,
        field: &str,
        value: &str,
        query: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let value = url::form_urlencoded::parse(format!("v={value}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let mut body = body.unwrap_or(Value::Object(Default::default()));
        let update_only = query_param(query, "updateOnly").is_some_and(|v| v == "true");
        let mut store = self.store.lock().expect("store lock");
        let Some(object) = store.schema.object(sobject) else {
            return Reply::error(SfError::not_found());
        };
        let name = object.name.clone();
        let def = object
            .field(field)
            .filter(|f| f.external_id || f.name == "Id")
            .map(|f| f.name.clone());
        let Some(field) = def else {
            return Reply::error(SfError::new(
                404,
                "NOT_FOUND",
                format!("Provided external ID field does not exist or is not accessible: {field}"),
            ));
        };
        if body.get(&field).is_some() {
            return Reply::error(SfError::new(
                400,
                "INVALID_FIELD",
                format!("The {field} field should not be specified in the sobject data."),
            ));
        }
        let matches: Vec<String> = store
            .rows(&name)
            .iter()
            .filter(|r| {
                r.get(&field)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case(&value))
            })
            .filter_map(|r| r.get("Id").and_then(Value::as_str).map(str::to_string))
            .collect();
        let url = |id: &str| format!("/services/data/{version}/sobjects/{name}/{id}");
        match matches.as_slice() {
            [] if update_only || field == "Id" => Reply::error(SfError::not_found()),
            [] => {
                if let Some(m) = body.as_object_mut() {
                    m.insert(field.clone(), Value::String(value.clone()));
                }
                match store.create(&name, &body) {
                    Ok(id) => Reply::json(
                        201,
                        Json::obj()
                            .with("id", id.as_str())
                            .with("success", true)
                            .with("errors", Json::Arr(Vec::new()))
                            .with("created", true),
                    )
                    .header("Location", url(&id)),
                    Err(e) => Reply::error(e),
                }
            }
            [id] => match store.update(&name, id, &body) {
                Ok(()) => Reply::json(
                    200,
                    Json::obj()
                        .with("id", id.as_str())
                        .with("success", true)
                        .with("errors", Json::Arr(Vec::new()))
                        .with("created", false),
                ),
                Err(e) => Reply::error(e),
            },
            several => Reply::json(
                300,
                Json::Arr(several.iter().map(|id| Json::from(url(id))).collect()),
            ),
        }
    }

    /// sObject Collections create (`POST /composite/sobjects`): up to 200 records, each typed by
    /// its `attributes.type`, one result per record in order (`statusCode` in the errors, as that
    /// API spells it). With `allOrNone` one failure rolls every record back.
    fn collection_create(&self, body: Option<Value>) -> Reply {
        let body = body.unwrap_or(Value::Null);
        let Some(records) = body.get("records").and_then(Value::as_array) else {
            return Reply::error(SfError::new(
                400,
                "JSON_PARSER_ERROR",
                "Required field records is missing",
            ));
        };
        if records.len() > 200 {
            return Reply::error(SfError::new(
                400,
                "EXCEEDED_ID_LIMIT",
                "Record limit reached. Cannot submit more than 200 records into this call",
            ));
        }
        let all_or_none = body
            .get("allOrNone")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut store = self.store.lock().expect("store lock");
        let snapshot = all_or_none.then(|| store.clone());
        let error = |e: &SfError| {
            let mut item = Json::obj()
                .with("statusCode", e.code.as_str())
                .with("message", e.message.as_str());
            item.insert(
                "fields",
                Json::Arr(
                    e.fields
                        .clone()
                        .unwrap_or_default()
                        .into_iter()
                        .map(Json::from)
                        .collect(),
                ),
            );
            item
        };
        let mut results: Vec<Result<String, SfError>> = Vec::new();
        for r in records {
            let typed = r
                .get("attributes")
                .and_then(|a| a.get("type"))
                .and_then(Value::as_str)
                .and_then(|t| store.schema.object(t).map(|o| o.name.clone()));
            let result = match typed {
                None => Err(SfError::new(
                    400,
                    "INVALID_TYPE",
                    "No SObject Type defined in attributes, or the type is not supported",
                )),
                Some(name) => {
                    let mut fields = r.clone();
                    if let Some(m) = fields.as_object_mut() {
                        m.remove("attributes");
                    }
                    store.create(&name, &fields)
                }
            };
            results.push(result);
        }
        let failed = results.iter().any(Result::is_err);
        if failed && all_or_none {
            if let Some(snapshot) = snapshot {
                *store = snapshot;
            }
        }
        let items = results
            .iter()
            .map(|r| match r {
                Ok(_) if failed && all_or_none => Json::obj()
                    .with("success", false)
                    .with(
                        "errors",
                        Json::Arr(vec![error(&SfError::new(
                            400,
                            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                            "Record rolled back because not all records were valid and the request was using AllOrNone header",
                        ))]),
                    ),
                Ok(id) => Json::obj()
                    .with("id", id.as_str())
                    .with("success", true)
                    .with("errors", Json::Arr(Vec::new())),
                Err(e) => Json::obj()
                    .with("success", false)
                    .with("errors", Json::Arr(vec![error(e)])),
            })
            .collect();
        Reply::json(200, Json::Arr(items))
    }

    /// UI API `object-info/{Type}/picklist-values/{recordTypeId}`: every
    /// picklist of the object with the values that record type offers.
    fn picklist_values(&self, version: &str, sobject: &str, rt: &str) -> Reply {
        let store = self.store.lock().expect("store lock");
        let Some(o) = store.schema.object(sobject) else {
            return Reply::error(SfError::not_found());
        };
        let known = super::rules::record_types(o).iter().any(|r| {
            r["recordTypeId"]
                .as_str()
                .is_some_and(|id| id.get(..15).is_some() && id.get(..15) == rt.get(..15))
        });
        if !known {
            return Reply::error(SfError::new(
                404,
                "NOT_FOUND",
                format!("Record type {rt} not found for {}", o.name),
            ));
        }
        let entry = |value: &str| {
            Json::obj()
                .with("attributes", Json::Null)
                .with("label", value)
                .with("validFor", Json::Arr(Vec::new()))
                .with("value", value)
        };
        let mut fields = Json::obj();
        for f in o
            .fields
            .iter()
            .filter(|f| matches!(f.ftype.as_str(), "picklist" | "multipicklist"))
        {
            let (values, default) = match store.picklists.for_record_type(&o.name, rt, &f.name) {
                Some(v) => (v.values.clone(), v.default.clone()),
                None => (f.active_values.clone(), f.default_value.clone()),
            };
            let url = format!(
                "/services/data/{version}/ui-api/object-info/{}/picklist-values/{rt}/{}",
                o.name, f.name
            );
            fields.insert(
                &f.name,
                Json::obj()
                    .with("controllerValues", Json::obj())
                    .with(
                        "defaultValue",
                        default.as_deref().map(entry).unwrap_or(Json::Null),
                    )
                    .with("eTag", format!("{:08x}", fnv(&format!("{url}{values:?}"))))
                    .with("url", url)
                    .with(
                        "values",
                        Json::Arr(values.iter().map(|v| entry(v)).collect()),
                    ),
            );
        }
        Reply::json(
            200,
            Json::obj()
                .with("eTag", format!("{:08x}", fnv(&format!("{}{rt}", o.name))))
                .with("picklistFieldValues", fields),
        )
    }

    fn describe_global(&self) -> Reply {
        let store = self.store.lock().expect("store lock");
        let objects = store
            .schema
            .objects
            .iter()
            .map(|o| {
                Json::obj()
                    .with("name", o.name.as_str())
                    .with("keyPrefix", o.key_prefix.as_str())
                    .with("queryable", true)
            })
            .collect();
        Reply::json(
            200,
            Json::obj()
                .with("encoding", "UTF-8")
                .with("maxBatchSize", 200usize)
                .with("sobjects", Json::Arr(objects)),
        )
    }

    fn sobject_info(&self, version: &str, sobject: &str) -> Reply {
        let store = self.store.lock().expect("store lock");
        let Some(o) = store.schema.object(sobject) else {
            return Reply::error(SfError::not_found());
        };
        Reply::json(
            200,
            Json::obj()
                .with(
                    "objectDescribe",
                    Json::obj()
                        .with("name", o.name.as_str())
                        .with("keyPrefix", o.key_prefix.as_str())
                        .with(
                            "urls",
                            Json::obj().with(
                                "describe",
                                format!("/services/data/{version}/sobjects/{}/describe", o.name),
                            ),
                        ),
                )
                .with("recentItems", Json::Arr(Vec::new())),
        )
    }

    fn describe(&self, version: &str, sobject: &str, headers: &HeaderMap) -> Reply {
        let store = self.store.lock().expect("store lock");
        let Some(o) = store.schema.object(sobject) else {
            return Reply::error(SfError::not_found());
        };
        let raw = o.describe_raw.replace("/v67.0/", &format!("/{version}/"));
        let etag = format!("\"{:08x}--gzip\"", fnv(&raw));
        let last_modified = chrono::DateTime::parse_from_rfc2822(DESCRIBE_LAST_MODIFIED).ok();
        let since = headers
            .get("if-modified-since")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok());
        let none_match = headers
            .get("if-none-match")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
        let not_modified =
            none_match || matches!((since, last_modified), (Some(s), Some(lm)) if s >= lm);
        let reply = if not_modified {
            Reply {
                status: 304,
                body: Body::Empty,
                headers: Vec::new(),
            }
        } else {
            Reply {
                status: 200,
                body: Body::RawJson(raw),
                headers: Vec::new(),
            }
        };
        reply
            .header("ETag", etag)
            .header("Last-Modified", DESCRIBE_LAST_MODIFIED)
    }

    fn get_record(&self, version: &str, sobject: &str, id: &str, query: Option<&str>) -> Reply {
        let store = self.store.lock().expect("store lock");
        let Some(o) = store.schema.object(sobject) else {
            return Reply::error(SfError::not_found());
        };
        let Some(row) = store.get(&o.name, id) else {
            return Reply::error(SfError::not_found());
        };
        let fields: Vec<String> = match query_param(query, "fields") {
            Some(list) => {
                let mut out = Vec::new();
                for f in list.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                    match o.field(f) {
                        Some(def) => out.push(def.name.clone()),
                        None => {
                            return Reply::error(SfError::new(
                                400,
                                "INVALID_FIELD",
                                format!("No such column '{f}' on sobject of type {}", o.name),
                            ))
                        }
                    }
                }
                out
            }
            None => o.fields.iter().map(|f| f.name.clone()).collect(),
        };
        let rid = row.get("Id").and_then(Value::as_str).unwrap_or(id);
        let mut out = Json::obj().with(
            "attributes",
            Json::obj().with("type", o.name.as_str()).with(
                "url",
                format!("/services/data/{version}/sobjects/{}/{rid}", o.name),
            ),
        );
        for f in fields {
            let v = row.get(&f).map(Json::from).unwrap_or(Json::Null);
            out.insert(&f, v);
        }
        Reply::json(200, out)
    }

    fn composite(
        &self,
        version: &str,
        body: Option<Value>,
        token: &str,
        trace: &mut Trace,
    ) -> Reply {
        let body = body.unwrap_or(Value::Null);
        let Some(requests) = body.get("compositeRequest").and_then(Value::as_array) else {
            return Reply::error(SfError::new(
                400,
                "JSON_PARSER_ERROR",
                "Required field compositeRequest is missing",
            ));
        };
        let all_or_none = body
            .get("allOrNone")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        trace.subrequests = requests.len();
        if requests.len() > 25 {
            return Reply::error(SfError::new(
                400,
                "LIMIT_EXCEEDED",
                format!(
                    "Composite request size exceeds the limit of 25 subrequests: {} were provided.",
                    requests.len()
                ),
            ));
        }
        let queries = requests
            .iter()
            .filter(|r| {
                r.get("url").and_then(Value::as_str).is_some_and(|u| {
                    u.contains("/query?") || u.contains("/queryAll?") || u.contains("/query/")
                })
            })
            .count();
        if queries > 5 {
            return Reply::error(SfError::new(
                400,
                "LIMIT_EXCEEDED",
                format!("A composite request can contain at most 5 query operations: {queries} were provided."),
            ));
        }
        let _ = version;
        let snapshot = all_or_none.then(|| self.store.lock().expect("store lock").clone());
        let mut results: HashMap<String, Json> = HashMap::new();
        let mut entries: Vec<(String, u16, Json, Json)> = Vec::new();
        let mut failed = false;
        let halted = |msg: &str| SfError::new(400, "PROCESSING_HALTED", msg).body();
        for req in requests {
            let ref_id = req
                .get("referenceId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if failed && all_or_none {
                entries.push((
                    ref_id,
                    400,
                    halted("The transaction was rolled back since another operation in the same transaction failed."),
                    Json::obj(),
                ));
                continue;
            }
            let method = req
                .get("method")
                .and_then(Value::as_str)
                .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
                .unwrap_or(Method::GET);
            let url = req.get("url").and_then(Value::as_str).unwrap_or_default();
            let resolved = resolve_refs_str(url, &results).and_then(|u| {
                let b = match req.get("body") {
                    Some(b) => Some(resolve_refs_value(b, &results)?),
                    None => None,
                };
                Ok((u, b))
            });
            let (url, sub_body) = match resolved {
                Ok(x) => x,
                Err(expr) => {
                    failed = true;
                    let refname = expr
                        .split(['.', '['])
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    entries.push((
                        ref_id,
                        400,
                        halted(&format!("Invalid reference specified. No value for {expr} found in {refname}. Provided referenceId ids must be unique and have been previously used in your request.")),
                        Json::obj(),
                    ));
                    continue;
                }
            };
            let (path, query) = match url.split_once('?') {
                Some((p, q)) => (p.to_string(), Some(q.to_string())),
                None => (url.clone(), None),
            };
            // A subrequest's own headers (`httpHeaders`), as Salesforce takes them.
            let mut sub_headers = HeaderMap::new();
            if let Some(h) = req.get("httpHeaders").and_then(Value::as_object) {
                for (k, v) in h {
                    if let (Ok(name), Some(Ok(value))) = (
                        axum::http::HeaderName::from_bytes(k.as_bytes()),
                        v.as_str().map(axum::http::HeaderValue::from_str),
                    ) {
                        sub_headers.insert(name, value);
                    }
                }
            }
            let reply = match path.strip_prefix("/services/data/") {
                Some(rest) => self.route(
                    &method,
                    rest,
                    query.as_deref(),
                    sub_body,
                    &sub_headers,
                    token,
                    trace,
                    true,
                ),
                None => Reply::error(SfError::new(
                    400,
                    "INVALID_INPUT",
                    format!("The URL '{url}' is not supported in a composite request."),
                )),
            };
            if reply.status >= 400 {
                failed = true;
            }
            trace.subcalls.push(crate::LoggedCall {
                method: method.to_string(),
                path: path.clone(),
                status: reply.status,
                auto_assign: sub_headers
                    .get("sforce-auto-assign")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
            });
            let body = reply.body_json();
            if reply.status < 400 {
                results.insert(ref_id.clone(), body.clone());
            }
            let mut headers = Json::obj();
            for (k, v) in &reply.headers {
                headers.insert(k, Json::from(v.as_str()));
            }
            entries.push((ref_id, reply.status, body, headers));
        }
        if failed && all_or_none {
            if let Some(snapshot) = snapshot {
                *self.store.lock().expect("store lock") = snapshot;
            }
            for entry in &mut entries {
                if entry.1 < 400 {
                    entry.1 = 400;
                    entry.2 = halted("The transaction was rolled back since another operation in the same transaction failed.");
                    entry.3 = Json::obj();
                }
            }
        }
        trace.composite_created = requests.iter().zip(&entries).any(|(req, entry)| {
            entry.1 == 201
                && req
                    .get("method")
                    .and_then(Value::as_str)
                    .is_some_and(|m| m.eq_ignore_ascii_case("POST"))
                && req
                    .get("url")
                    .and_then(Value::as_str)
                    .is_some_and(|u| u.contains("/sobjects/"))
        });
        let faults = self.switches.state();
        if faults.composite_empty {
            entries.clear();
        } else if faults.composite_missing {
            entries.pop();
        }
        let items = entries
            .into_iter()
            .map(|(ref_id, status, body, headers)| {
                Json::obj()
                    .with("body", body)
                    .with("httpHeaders", headers)
                    .with("httpStatusCode", status)
                    .with("referenceId", ref_id)
            })
            .collect();
        Reply::json(200, Json::obj().with("compositeResponse", Json::Arr(items)))
    }
}

/// Looks up `ref.path[0].Field` in earlier composite results.
fn lookup_ref<'a>(expr: &str, results: &'a HashMap<String, Json>) -> Option<&'a Json> {
    let mut parts = expr.split('.');
    let first = parts.next()?;
    let (name, first_idx) = split_indexes(first)?;
    let mut current = results.get(name)?;
    for i in first_idx {
        current = index(current, i)?;
    }
    for part in parts {
        let (key, idxs) = split_indexes(part)?;
        current = current.get(key)?;
        for i in idxs {
            current = index(current, i)?;
        }
    }
    (!matches!(current, Json::Null | Json::Obj(_) | Json::Arr(_))).then_some(current)
}

fn index(j: &Json, i: usize) -> Option<&Json> {
    match j {
        Json::Arr(items) => items.get(i),
        _ => None,
    }
}

/// `records[0][1]` → ("records", [0, 1]).
fn split_indexes(part: &str) -> Option<(&str, Vec<usize>)> {
    let (name, mut rest) = match part.find('[') {
        Some(p) => (&part[..p], &part[p..]),
        None => return Some((part, Vec::new())),
    };
    let mut idx = Vec::new();
    while let Some(stripped) = rest.strip_prefix('[') {
        let end = stripped.find(']')?;
        idx.push(stripped[..end].parse().ok()?);
        rest = &stripped[end + 1..];
    }
    rest.is_empty().then_some((name, idx))
}

fn scalar_text(j: &Json) -> String {
    match j {
        Json::Str(s) => s.clone(),
        other => other.to_string_compact(),
    }
}

/// Replaces every `@{...}` in `s`; `Err(expr)` names the first reference that has no value.
fn resolve_refs_str(s: &str, results: &HashMap<String, Json>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let expr = &after[..end];
        let value = lookup_ref(expr, results).ok_or_else(|| expr.to_string())?;
        out.push_str(&scalar_text(value));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve_refs_value(v: &Value, results: &HashMap<String, Json>) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => {
            let trimmed = s.trim();
            if trimmed.starts_with("@{")
                && trimmed.ends_with('}')
                && trimmed.matches("@{").count() == 1
            {
                let expr = &trimmed[2..trimmed.len() - 1];
                lookup_ref(expr, results)
                    .ok_or_else(|| expr.to_string())?
                    .to_value()
            } else {
                Value::String(resolve_refs_str(s, results)?)
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| resolve_refs_value(i, results))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve_refs_value(v, results)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

async fn lightning(
    State(inner): State<Arc<Inner>>,
    AxPath((sobject, id)): AxPath<(String, String)>,
) -> Response {
    let path = format!("/lightning/r/{sobject}/{id}/view");
    let store = inner.store.lock().expect("store lock").clone();
    let found = store
        .schema
        .object(&sobject)
        .and_then(|o| store.get(&o.name, &id).map(|row| (o, row)));
    let (status, html) = match found {
        Some((o, row)) => {
            let title = row
                .get("Name")
                .or_else(|| row.get("CaseNumber"))
                .or_else(|| row.get("Subject"))
                .and_then(Value::as_str)
                .unwrap_or(&id)
                .to_string();
            let mut rows = String::new();
            for f in &o.fields {
                let value = match row.get(&f.name) {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                };
                rows.push_str(&format!(
                    "<tr><th>{}</th><td>{}</td></tr>\n",
                    html_escape(&f.label),
                    html_escape(&value)
                ));
            }
            (
                200,
                format!(
                    "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{t} | {o} | Sandbox</title></head>\n<body><p>Sandbox org (not Salesforce)</p><h1>{o}: {t}</h1>\n<table>\n{rows}</table></body></html>\n",
                    t = html_escape(&title),
                    o = html_escape(&o.name),
                ),
            )
        }
        None => (
            404,
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Not found | Sandbox</title></head><body><h1>Record not found</h1></body></html>\n".to_string(),
        ),
    };
    log(&inner, &Method::GET, &path, Trace::default(), status);
    Reply {
        status,
        body: Body::Text(html, "text/html; charset=utf-8"),
        headers: Vec::new(),
    }
    .into_response()
}

fn state_json(inner: &Inner) -> Json {
    let s = inner.switches.state();
    Json::obj()
        .with("latency_ms", s.latency_ms)
        .with(
            "fail_status",
            s.fail_status.map(Json::from).unwrap_or(Json::Null),
        )
        .with("malformed", s.malformed)
        .with("api_limit", s.api_limit)
        .with("rotation", s.rotation)
        .with("page_size", s.page_size)
        .with("composite_missing", s.composite_missing)
        .with("composite_empty", s.composite_empty)
        .with("other_api_usage", s.other_api_usage)
        .with(
            "connections",
            inner.stats.connections.load(Ordering::SeqCst),
        )
        .with("api_calls", inner.stats.api_calls.load(Ordering::SeqCst))
        .with(
            "token_requests",
            inner.stats.token_requests.load(Ordering::SeqCst),
        )
}

async fn control_state(State(inner): State<Arc<Inner>>) -> Response {
    Reply::json(200, state_json(&inner)).into_response()
}

async fn control_switches(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&body) else {
        return Reply::json(400, Json::obj().with("error", "expected a JSON object"))
            .into_response();
    };
    let sw = &inner.switches;
    let bad = |k: &str| {
        Reply::json(400, Json::obj().with("error", format!("bad value for {k}"))).into_response()
    };
    for (k, v) in &map {
        match (k.as_str(), v) {
            ("token_latency_ms", Value::Number(n)) if n.as_u64().is_some() => {
                sw.set_token_latency(std::time::Duration::from_millis(n.as_u64().unwrap_or(0)))
            }
            ("reset_after_create", Value::Bool(b)) => sw.set_reset_after_create(*b),
            ("create_latency_ms", Value::Number(n)) if n.as_u64().is_some() => {
                sw.set_create_latency(std::time::Duration::from_millis(n.as_u64().unwrap_or(0)))
            }
            ("latency_ms", Value::Number(n)) if n.as_u64().is_some() => {
                sw.set_latency(std::time::Duration::from_millis(n.as_u64().unwrap_or(0)))
            }
            ("fail_status", Value::Null) => sw.fail_with(None),
            ("fail_status", Value::Number(n))
                if n.as_u64().is_some_and(|s| (400..=599).contains(&s)) =>
            {
                sw.fail_with(n.as_u64().map(|s| s as u16))
            }
            ("malformed", Value::Bool(b)) => sw.set_malformed(*b),
            ("api_limit", Value::Bool(b)) => sw.set_api_limit(*b),
            ("composite_missing", Value::Bool(b)) => sw.set_composite_missing(*b),
            ("composite_empty", Value::Bool(b)) => sw.set_composite_empty(*b),
            ("other_api_usage", Value::Number(n)) if n.as_u64().is_some() => {
                sw.set_other_api_usage(n.as_u64().unwrap_or(0))
            }
            ("rotation", Value::Bool(b)) => sw.set_rotation(*b),
            ("page_size", Value::Number(n)) if n.as_u64().is_some_and(|p| p > 0) => {
                sw.set_page_size(n.as_u64().unwrap_or(2000) as usize)
            }
            _ => return bad(k),
        }
    }
    Reply::json(200, state_json(&inner)).into_response()
}

async fn control_expire(State(inner): State<Arc<Inner>>) -> Response {
    inner.switches.expire_access_tokens();
    Reply::json(200, state_json(&inner)).into_response()
}

async fn control_revoke(State(inner): State<Arc<Inner>>) -> Response {
    inner.switches.revoke_refresh_tokens();
    Reply::json(200, state_json(&inner)).into_response()
}

async fn control_reset(State(inner): State<Arc<Inner>>) -> Response {
    inner.switches.reset();
    Reply::json(200, state_json(&inner)).into_response()
}

async fn control_requests(State(inner): State<Arc<Inner>>) -> Response {
    let log = inner.stats.log.lock().expect("log lock").clone();
    axum::Json(log).into_response()
}

async fn control_clear(State(inner): State<Arc<Inner>>) -> Response {
    inner.stats.log.lock().expect("log lock").clear();
    StatusCode::NO_CONTENT.into_response()
}
