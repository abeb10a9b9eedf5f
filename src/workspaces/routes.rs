//! The install and connect routes (there whenever `INTERCOM_CLIENT_ID` is
//! set):
//!
//! - `GET /install` → Intercom's authorize page; `GET
//!   /oauth/intercom/callback` exchanges the code, asks `GET /me` who
//!   installed it in which workspace, stores the workspace with its
//!   (sealed) token, signs the admin in and continues to Salesforce.
//!   Signing in to the console is the same flow.
//! - `GET /connect/salesforce` (a signed-in admin) → the org's authorize
//!   page (web-server flow with PKCE); `GET /oauth/salesforce/callback`
//!   exchanges the code and stores the connection (a reconnect replaces
//!   it). `POST /connect/salesforce/disconnect` revokes and forgets it.
//! - `POST /intercom/uninstall` (the Developer Hub's uninstall URL): once
//!   the workspace's token no longer works, its Salesforce token is revoked
//!   and all its data deleted.
//! - `POST /signout`.
//!
//! Every `state` is single use, expires after ten minutes and is bound to
//! the browser that started the flow (a cookie whose hash it carries); the
//! redirect URIs are fixed (`PUBLIC_URL` + a path), never taken from a
//! request. An admin's session names one workspace: a request about
//! another is refused.

use std::sync::Arc;

use axum::extract::{FromRef, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;
use url::Url;

use super::session::{self, Admin, OAUTH_COOKIE, STATE_TTL};
use super::Registry;
use crate::config::{Config, InstallSettings, LoginChoice, SalesforceMode, Secret};
use crate::console::view::{message_page, Link, MessagePage};
use crate::intercom::oauth::{self, Me};
use crate::intercom::{IntercomClient, IntercomError};
use crate::salesforce::connect::{self, ConnectError, WebServerFlow};
use crate::store::{ConnectionInfo, OAuthState, WorkspaceRow};

const KIND_INTERCOM: &str = "intercom";
const KIND_SALESFORCE: &str = "salesforce";

/// What the install and connect routes need.
pub struct Install {
    registry: Arc<Registry>,
    http: reqwest::Client,
    intercom: InstallSettings,
    /// `INTERCOM_CLIENT_SECRET` (one secret for OAuth and signatures).
    intercom_secret: Secret,
    /// `INTERCOM_API_URL`: `/me` there instead of the region's host.
    intercom_api_url: Option<Url>,
    /// The connected app (`SALESFORCE_CLIENT_ID`, `SALESFORCE_CLIENT_SECRET`).
    salesforce: Option<(String, Secret)>,
    /// The first is the default (`SALESFORCE_LOGIN_URL`).
    logins: Vec<LoginChoice>,
}

/// The routes' state.
#[derive(Clone)]
pub struct InstallState(pub Arc<Install>);

impl FromRef<InstallState> for Arc<Registry> {
    fn from_ref(i: &InstallState) -> Arc<Registry> {
        i.0.registry.clone()
    }
}

impl Install {
    pub fn new(
        registry: Arc<Registry>,
        http: reqwest::Client,
        config: &Config,
        intercom: InstallSettings,
    ) -> Install {
        let salesforce = match &config.salesforce {
            SalesforceMode::Org(o) => o.client_id.clone().zip(o.client_secret.clone()),
            SalesforceMode::Sandbox => None,
        };
        let logins = config.connect_logins.clone();
        Install {
            registry,
            http,
            intercom,
            intercom_secret: config.intercom_client_secret.clone(),
            intercom_api_url: config.intercom_api_url.clone(),
            salesforce,
            logins,
        }
    }

    fn redirect_uri(&self, path: &str) -> String {
        format!("{}{path}", self.registry.public_base())
    }

    fn secure(&self) -> bool {
        self.registry.public_base().starts_with("https://")
    }

    /// The browser's nonce (kept when it has one, so two tabs can each run
    /// a flow) and the cookie to set.
    fn browser(&self, headers: &HeaderMap) -> (String, axum::http::HeaderValue) {
        let nonce = session::cookie(headers, OAUTH_COOKIE).unwrap_or_else(session::random_token);
        let cookie = session::set_cookie(OAUTH_COOKIE, &nonce, STATE_TTL, self.secure());
        (nonce, cookie)
    }

    /// The state of a callback: taken (single use), unexpired, started in
    /// this browser, of this kind.
    async fn take_state(
        &self,
        headers: &HeaderMap,
        state: Option<&str>,
        kind: &str,
    ) -> Result<OAuthState, Response> {
        let Some(state) = state.filter(|s| !s.is_empty()) else {
            return Err(refused(
                StatusCode::BAD_REQUEST,
                "This link is incomplete",
                "The answer came back without its state, so it cannot be trusted. Start again.",
            ));
        };
        let taken = match self.registry.store().take_oauth_state(state).await {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "OAuth state unreadable");
                return Err(unavailable());
            }
        };
        let Some(taken) = taken.filter(|t| t.kind == kind) else {
            return Err(refused(
                StatusCode::BAD_REQUEST,
                "This link has expired or was already used",
                "Each sign-in and connection link works once, for ten minutes. Start again.",
            ));
        };
        let browser = session::cookie(headers, OAUTH_COOKIE)
            .map(|n| session::digest(&n))
            .unwrap_or_default();
        if !bool::from(browser.as_bytes().ct_eq(taken.browser_hash.as_bytes())) {
            tracing::warn!("OAuth callback from a browser that did not start the flow");
            return Err(refused(
                StatusCode::BAD_REQUEST,
                "This link was started in another browser",
                "For your safety, finish a sign-in or connection in the browser where you started it.",
            ));
        }
        Ok(taken)
    }

    /// `GET /me` on `INTERCOM_API_URL`, else on the regions' hosts in turn
    /// (a token works only on its workspace's region).
    async fn me(&self, token: &Secret) -> Result<Me, IntercomError> {
        if let Some(url) = &self.intercom_api_url {
            return IntercomClient::new(self.http.clone(), Some(token.clone()), Some(url.clone()))
                .me()
                .await;
        }
        let mut last = IntercomError::Unauthorized;
        for region in ["us", "eu", "au"] {
            let host = IntercomClient::region_url(Some(region));
            match IntercomClient::new(self.http.clone(), Some(token.clone()), Some(host))
                .me()
                .await
            {
                Ok(me) => return Ok(me),
                Err(IntercomError::Unauthorized) => last = IntercomError::Unauthorized,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    fn flow(&self) -> Option<WebServerFlow> {
        let (client_id, client_secret) = self.salesforce.clone()?;
        Some(WebServerFlow {
            client_id,
            client_secret,
            redirect_uri: Url::parse(&self.redirect_uri("/oauth/salesforce/callback")).ok()?,
        })
    }
}

/// The install and connect routes, with their own state (merged into any
/// router).
pub fn router<S: Clone + Send + Sync + 'static>(install: Arc<Install>) -> Router<S> {
    Router::new()
        .route("/install", get(start_install))
        .route("/oauth/intercom/callback", get(intercom_callback))
        .route("/connect/salesforce", get(connect_salesforce))
        .route("/oauth/salesforce/callback", get(salesforce_callback))
        .route("/connect/salesforce/disconnect", post(disconnect))
        .route("/intercom/uninstall", post(uninstall))
        .route("/signout", post(signout))
        .with_state(InstallState(install))
}

fn page(status: StatusCode, p: MessagePage) -> Response {
    (status, Html(message_page(&p))).into_response()
}

fn refused(status: StatusCode, title: &str, text: &str) -> Response {
    page(
        status,
        MessagePage {
            title: title.to_string(),
            paragraphs: vec![text.to_string()],
            links: vec![Link::new("Start again", "/install")],
            error: true,
        },
    )
}

/// An install Intercom did not complete (the code exchange or `/me`).
fn intercom_failed(title: &str, e: &IntercomError) -> Response {
    tracing::warn!(error = %e, "{title}");
    refused(
        StatusCode::BAD_GATEWAY,
        title,
        &format!("{e}. Start again."),
    )
}

fn unavailable() -> Response {
    refused(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again in a moment",
        "The app could not read its store just now. Nothing was changed.",
    )
}

fn redirect_with(to: &str, cookie: axum::http::HeaderValue) -> Response {
    session::with_cookie(Redirect::to(to).into_response(), cookie)
}

/// `GET /install`: to Intercom's authorize page.
async fn start_install(
    State(InstallState(install)): State<InstallState>,
    headers: HeaderMap,
) -> Response {
    let (nonce, cookie) = install.browser(&headers);
    let state = session::random_token();
    let stored = OAuthState {
        kind: KIND_INTERCOM.to_string(),
        browser_hash: session::digest(&nonce),
        workspace_id: None,
        admin_id: None,
        pkce_verifier: None,
        login_url: None,
    };
    if let Err(e) = install
        .registry
        .store()
        .put_oauth_state(&state, &stored, STATE_TTL)
        .await
    {
        tracing::error!(error = %e, "OAuth state not stored");
        return unavailable();
    }
    let url = oauth::authorize_url(
        &install.intercom.oauth_url,
        &install.intercom.client_id,
        &state,
        &install.redirect_uri("/oauth/intercom/callback"),
    );
    redirect_with(url.as_str(), cookie)
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /oauth/intercom/callback`.
async fn intercom_callback(
    State(InstallState(install)): State<InstallState>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    if let Err(r) = install
        .take_state(&headers, q.state.as_deref(), KIND_INTERCOM)
        .await
    {
        return r;
    }
    let Some(code) = q.code.filter(|c| q.error.is_none() && !c.is_empty()) else {
        return page(
            StatusCode::OK,
            MessagePage {
                title: "Installation cancelled".into(),
                paragraphs: vec!["Intercom did not install the app. Nothing was changed.".into()],
                links: vec![Link::new("Install again", "/install")],
                error: false,
            },
        );
    };
    let token = match oauth::exchange_code(
        &install.http,
        &install.intercom.token_url,
        &code,
        &install.intercom.client_id,
        &install.intercom_secret,
    )
    .await
    {
        Ok(t) => t,
        Err(e) => return intercom_failed("Intercom did not confirm the installation", &e),
    };
    let me = match install.me(&token).await {
        Ok(me) => me,
        Err(e) => return intercom_failed("Intercom did not say who you are", &e),
    };
    let store = install.registry.store();
    // The environment's workspace (single-workspace mode): sign the admin
    // in to its console, keep its configured connection and token.
    if install.registry.env_serves_only(&me.workspace_id) {
        return match session::sign_in(&install.registry, &me.workspace_id, &me).await {
            Ok(cookie) => redirect_with("/admin", cookie),
            Err(e) => {
                tracing::error!(error = %e, "admin session not stored");
                unavailable()
            }
        };
    }
    let row = WorkspaceRow {
        workspace_id: me.workspace_id.clone(),
        name: me.workspace_name.clone(),
        region: Some(me.region.clone()),
        intercom_token: Some(token),
        installed_by: Some(me.admin_id.clone()),
        installed_at: Some(Utc::now()),
    };
    if let Err(e) = store.save_workspace(&row).await {
        tracing::error!(error = %e, "workspace not stored");
        return unavailable();
    }
    let cookie = match session::sign_in(&install.registry, &me.workspace_id, &me).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "admin session not stored");
            return unavailable();
        }
    };
    install.registry.reload(&me.workspace_id).await;
    tracing::info!(workspace = %me.workspace_id, admin = %me.admin_id, "workspace installed");
    let connected = store
        .for_workspace(&me.workspace_id)
        .connection_info()
        .await
        .ok()
        .flatten()
        .is_some();
    let next = if connected {
        "/admin"
    } else {
        "/connect/salesforce"
    };
    redirect_with(next, cookie)
}

#[derive(Deserialize)]
struct ConnectQuery {
    workspace: Option<String>,
    /// A [`LoginChoice`] key.
    login: Option<String>,
    /// A My Domain host, e.g. `acme.my.salesforce.com`.
    my_domain: Option<String>,
}

/// `GET /connect/salesforce`: to the org's authorize page.
async fn connect_salesforce(
    State(InstallState(install)): State<InstallState>,
    admin: Admin,
    headers: HeaderMap,
    Query(q): Query<ConnectQuery>,
) -> Response {
    if let Some(r) = admin.refuse_other(q.workspace.as_deref()) {
        return r;
    }
    let Some(flow) = install.flow() else {
        return refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "Salesforce can't be connected yet",
            "The app's operator has not set SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET.",
        );
    };
    let login = match (q.my_domain.as_deref(), q.login.as_deref()) {
        (Some(host), _) if !host.trim().is_empty() => {
            let host = host.trim();
            let raw = if host.contains("://") {
                host.to_string()
            } else {
                format!("https://{host}")
            };
            match connect::login_host(&raw) {
                Ok(u) => u,
                Err(e) => {
                    return refused(
                        StatusCode::BAD_REQUEST,
                        "That isn't a Salesforce address",
                        &format!("{e}: enter your My Domain, such as acme.my.salesforce.com."),
                    )
                }
            }
        }
        (_, Some(key)) => match install.logins.iter().find(|l| l.key == key) {
            Some(l) => l.url.clone(),
            None => default_login(&install.logins),
        },
        _ => default_login(&install.logins),
    };
    let authorize = flow.authorize(&login);
    let (nonce, cookie) = install.browser(&headers);
    let stored = OAuthState {
        kind: KIND_SALESFORCE.to_string(),
        browser_hash: session::digest(&nonce),
        workspace_id: Some(admin.workspace_id().to_string()),
        admin_id: Some(admin.session.admin_id.clone()),
        pkce_verifier: Some(authorize.verifier),
        login_url: Some(login.to_string()),
    };
    if let Err(e) = install
        .registry
        .store()
        .put_oauth_state(&authorize.state, &stored, STATE_TTL)
        .await
    {
        tracing::error!(error = %e, "OAuth state not stored");
        return unavailable();
    }
    redirect_with(authorize.url.as_str(), cookie)
}

fn default_login(logins: &[LoginChoice]) -> Url {
    logins
        .first()
        .map(|l| l.url.clone())
        .unwrap_or_else(crate::config::default_login_url)
}

/// `GET /oauth/salesforce/callback`.
async fn salesforce_callback(
    State(InstallState(install)): State<InstallState>,
    admin: Admin,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let state = match install
        .take_state(&headers, q.state.as_deref(), KIND_SALESFORCE)
        .await
    {
        Ok(s) => s,
        Err(r) => return r,
    };
    let workspace = state.workspace_id.clone().unwrap_or_default();
    if workspace != admin.workspace_id()
        || state.admin_id.as_deref() != Some(&admin.session.admin_id)
    {
        return admin.refuse_other(Some(&workspace)).unwrap_or_else(|| {
            refused(
                StatusCode::FORBIDDEN,
                "This connection was started by another admin",
                "Start the connection again while signed in.",
            )
        });
    }
    let Some(code) = q.code.filter(|c| q.error.is_none() && !c.is_empty()) else {
        let why = q
            .error_description
            .or(q.error)
            .unwrap_or_else(|| "no code came back".into());
        return page(
            StatusCode::OK,
            MessagePage {
                title: "Salesforce wasn't connected".into(),
                paragraphs: vec![format!("Salesforce said: {why}. Nothing was changed.")],
                links: vec![Link::new("Try again", "/connect/salesforce")],
                error: false,
            },
        );
    };
    let (Some(flow), Some(verifier), Some(login)) = (
        install.flow(),
        state.pkce_verifier.clone(),
        state.login_url.as_deref().and_then(|u| Url::parse(u).ok()),
    ) else {
        return unavailable();
    };
    let connected = match flow.exchange(&install.http, &login, &code, &verifier).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "Salesforce refused the authorization code");
            let status = match e {
                ConnectError::Unavailable(_) => StatusCode::BAD_GATEWAY,
                _ => StatusCode::BAD_REQUEST,
            };
            return page(
                status,
                MessagePage {
                    title: "Salesforce wasn't connected".into(),
                    paragraphs: vec![format!("{e}. Nothing was changed.")],
                    links: vec![Link::new("Try again", "/connect/salesforce")],
                    error: true,
                },
            );
        }
    };
    let username = match &connected.identity_url {
        Some(id) => connect::username(&install.http, id, &connected.access_token).await,
        None => None,
    };
    let store = install.registry.store().for_workspace(&workspace);
    let previous = store.connection_info().await.ok().flatten();
    let info = ConnectionInfo {
        login_url: Some(login.to_string()),
        instance_url: Some(connected.instance_url.clone()),
        org_id: connected.org_id.clone(),
        user_id: connected.user_id.clone(),
        username: username.clone(),
        connected_at: Some(Utc::now()),
        last_ok_at: Some(Utc::now()),
        last_error: None,
    };
    // A reconnect replaces the connection; the one it replaces is revoked
    // when it was another org's (the same org's token stays valid anyway).
    let old_token = match &previous {
        Some(p) if p.org_id != info.org_id => store.disconnect().await.ok().flatten(),
        _ => None,
    };
    if let Err(e) = store.connect(&info, &connected.refresh_token).await {
        tracing::error!(error = %e, "Salesforce connection not stored");
        return unavailable();
    }
    if let (Some(token), Some(p)) = (old_token, previous.as_ref()) {
        revoke_quietly(&install.http, p.login_url.as_deref(), &token).await;
    }
    install.registry.reload(&workspace).await;
    tracing::info!(%workspace, org = ?info.org_id, "Salesforce connected");
    page(
        StatusCode::OK,
        MessagePage {
            title: "Salesforce is connected".into(),
            paragraphs: vec![
                format!(
                    "Workspace {workspace} now shows org {}{} in the Inbox sidebar.",
                    info.org_id.as_deref().unwrap_or("(unknown id)"),
                    username.map(|u| format!(" as {u}")).unwrap_or_default()
                ),
                "Open a conversation in Intercom to see it.".into(),
            ],
            links: vec![Link::new("Open the console", "/admin")],
            error: false,
        },
    )
}

async fn revoke_quietly(http: &reqwest::Client, login: Option<&str>, token: &Secret) {
    let login = login
        .and_then(|u| Url::parse(u).ok())
        .unwrap_or_else(crate::config::default_login_url);
    if let Err(e) = connect::revoke(http, &login, token).await {
        tracing::warn!(error = %e, "Salesforce token not revoked (it was forgotten here)");
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    workspace: Option<String>,
}

fn bad_csrf() -> Response {
    refused(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "Reload the page and try again (the form's security token did not match your session).",
    )
}

/// `POST /connect/salesforce/disconnect`.
async fn disconnect(
    State(InstallState(install)): State<InstallState>,
    admin: Admin,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !admin.check_csrf(&f.csrf_token) {
        return bad_csrf();
    }
    if let Some(r) = admin.refuse_other(f.workspace.as_deref()) {
        return r;
    }
    let store = install.registry.store().for_workspace(admin.workspace_id());
    let login = store
        .connection_info()
        .await
        .ok()
        .flatten()
        .and_then(|c| c.login_url);
    match store.disconnect().await {
        Ok(Some(token)) => revoke_quietly(&install.http, login.as_deref(), &token).await,
        Ok(None) => {}
        Err(e) => {
            tracing::error!(error = %e, "Salesforce connection not forgotten");
            return unavailable();
        }
    }
    install.registry.reload(admin.workspace_id()).await;
    tracing::info!(workspace = %admin.workspace_id(), "Salesforce disconnected");
    Redirect::to("/admin?notice=disconnected").into_response()
}

/// `POST /signout`.
async fn signout(
    State(InstallState(install)): State<InstallState>,
    admin: Admin,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !admin.check_csrf(&f.csrf_token) {
        return bad_csrf();
    }
    if let Err(e) = install.registry.store().delete_session(&admin.cookie).await {
        tracing::warn!(error = %e, "session not deleted");
    }
    let gone = session::set_cookie(
        session::SESSION_COOKIE,
        "",
        std::time::Duration::ZERO,
        install.secure(),
    );
    session::with_cookie(
        page(
            StatusCode::OK,
            MessagePage {
                title: "Signed out".into(),
                paragraphs: vec!["You're signed out of the Salesforce console.".into()],
                links: vec![Link::new("Sign in", "/install")],
                error: false,
            },
        ),
        gone,
    )
}

#[derive(Deserialize)]
struct UninstallBody {
    app_id: String,
}

/// `POST /intercom/uninstall`: a hint, verified with the workspace's own
/// token (whether Intercom signs it is not documented): only when Intercom
/// refuses that token is the workspace's data deleted.
async fn uninstall(
    State(InstallState(install)): State<InstallState>,
    Json(body): Json<UninstallBody>,
) -> Response {
    let store = install.registry.store();
    let row = match store.workspace_row(&body.app_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return Json(json!({"status": "unknown"})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "workspace unreadable");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    if let Some(token) = &row.intercom_token {
        let base = install
            .intercom_api_url
            .clone()
            .unwrap_or_else(|| IntercomClient::region_url(row.region.as_deref()));
        match IntercomClient::new(install.http.clone(), Some(token.clone()), Some(base))
            .me()
            .await
        {
            Err(IntercomError::Unauthorized) => {}
            Ok(_) => {
                tracing::warn!(workspace = %body.app_id, "uninstall notice, but the workspace's token still works: ignored");
                return Json(json!({"status": "still installed"})).into_response();
            }
            Err(e) => {
                tracing::warn!(workspace = %body.app_id, error = %e, "uninstall not verified; retry later");
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
        }
    }
    let scoped = store.for_workspace(&body.app_id);
    let login = scoped
        .connection_info()
        .await
        .ok()
        .flatten()
        .and_then(|c| c.login_url);
    if let Ok(Some(token)) = scoped.disconnect().await {
        revoke_quietly(&install.http, login.as_deref(), &token).await;
    }
    if let Err(e) = store.delete_workspace(&body.app_id).await {
        tracing::error!(error = %e, "workspace data not deleted");
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    install.registry.reload(&body.app_id).await;
    tracing::info!(workspace = %body.app_id, "workspace uninstalled: its data is deleted");
    Json(json!({"status": "uninstalled"})).into_response()
}
