//! The console's routes, for the signed-in admin's own workspace only:
//!
//! - `GET /admin`: the Connection page (without a session: the sign-in
//!   page, whose link is `/install`, the Intercom OAuth sign-in; the other
//!   routes send a request without a session straight to `/install`).
//! - `GET /admin/settings`, `POST /admin/settings`: the Settings form,
//!   checked against the org's describes (refused: the problems under
//!   their fields, what was typed kept, nothing saved); a save is put to
//!   work at once through [`crate::workspaces::Tenant::apply_settings`].
//! - `GET /admin/settings/export` (the TOML file), `POST
//!   /admin/settings/import` (the same checks).
//! - `GET /admin/sync-errors?kind=`, `POST /admin/sync-errors/{id}/retry`,
//!   `.../{id}/retry-all` (every error with the same cause), `.../{id}/dismiss`.
//! - `POST /admin/action-token`: a new Workflow action token, shown once.
//!
//! Every POST carries the session's form token (`csrf_token`): without it,
//! 403 and nothing done. A `workspace` in a query or form, or a sync error
//! id, that is not the admin's workspace's is refused with 403, never acted
//! on: the session names the workspace, nothing in a request does.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::form::SettingsForm;
use super::view::{self, ActionTokenView, Frame, Link, MessagePage, Notice, SignInPage};
use super::{ConnectActions, ConsoleError, Workspace};
use crate::workspaces::session::{Admin, NoAdmin};
use crate::workspaces::{Registry, Tenant};

/// The console's routes, with their own state (merged into the app's
/// router wherever the install routes are, since signing in is the
/// Intercom install flow).
pub fn router<S: Clone + Send + Sync + 'static>(registry: Arc<Registry>) -> Router<S> {
    Router::new()
        .route("/admin", get(connection))
        .route("/admin/settings", get(settings).post(save_settings))
        .route("/admin/settings/export", get(export))
        .route("/admin/settings/import", post(import))
        .route("/admin/sync-errors", get(sync_errors))
        .route("/admin/sync-errors/{id}/retry", post(retry))
        .route("/admin/sync-errors/{id}/retry-all", post(retry_all))
        .route("/admin/sync-errors/{id}/dismiss", post(dismiss))
        .route("/admin/action-token", post(rotate_action_token))
        .route("/admin/data-connector", post(create_data_connector))
        .with_state(registry)
}

/// The admin's workspace, as the console manages it.
struct Console {
    admin: Admin,
    tenant: Arc<Tenant>,
    ws: Workspace,
    /// The app's public URL (the action's address).
    base: String,
    /// The login hosts Connect offers.
    logins: Vec<crate::config::LoginChoice>,
}

impl Console {
    /// The signed-in admin's tenant; a refusal page when it is gone (the
    /// workspace was uninstalled since the sign-in) or unreadable.
    async fn of(registry: &Registry, admin: Admin) -> Result<Console, Response> {
        match registry.for_admin(admin.workspace_id()).await {
            Ok(Some(tenant)) => {
                let ws = Workspace::of_tenant(&tenant, admin.workspace_id());
                Ok(Console {
                    admin,
                    tenant,
                    ws,
                    base: registry.public_base(),
                    logins: registry.connect_logins().to_vec(),
                })
            }
            Ok(None) => Err(message(
                StatusCode::NOT_FOUND,
                "This workspace has not installed the app",
                &format!(
                    "Workspace {} has no Salesforce settings here (it was uninstalled). Install the app again to manage it.",
                    admin.workspace_id()
                ),
                Some(Link::new("Install", "/install")),
            )),
            Err(e) => {
                tracing::error!(workspace = %admin.workspace_id(), error = %e, "console: workspace not loaded");
                Err(unavailable())
            }
        }
    }

    async fn frame(&self, active: &'static str, notice: Option<Notice>) -> Frame {
        Frame {
            workspace_id: self.ws.id.clone(),
            workspace_name: self.ws.name.clone(),
            admin_name: self.admin.session.admin_name.clone(),
            csrf_token: self.admin.session.csrf_token.expose().to_string(),
            active,
            notice,
            sync_error_count: self.ws.sync_error_count().await,
        }
    }

    async fn action_token(
        &self,
        new_token: Option<String>,
    ) -> Result<ActionTokenView, ConsoleError> {
        let from_env = self.tenant.case_action.token.is_some();
        Ok(ActionTokenView {
            configured: self.ws.has_action_token(from_env).await?,
            from_env,
            action_url: format!("{}/actions/salesforce-case", self.base),
            new_token,
        })
    }
}

/// A signed-in admin's console request for their own workspace: the
/// session checked, a `workspace` the query names checked against it, the
/// tenant loaded; the rejection is the page saying why.
impl<S> FromRequestParts<S> for Console
where
    S: Send + Sync,
    Arc<Registry>: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Console, Response> {
        let admin = Admin::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Query(asked) = Query::<Asked>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if let Some(r) = admin.refuse_other(asked.workspace.as_deref()) {
            return Err(r);
        }
        Console::of(&Arc::<Registry>::from_ref(state), admin).await
    }
}

/// A console form post: the form read, its CSRF token and `workspace`
/// checked against the session, then the tenant loaded. Nothing is acted
/// on before those checks pass.
pub struct Posted {
    c: Console,
    pairs: Vec<(String, String)>,
}

impl<S> FromRequest<S> for Posted
where
    S: Send + Sync,
    Arc<Registry>: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Posted, Response> {
        let (mut parts, body) = req.into_parts();
        let admin = Admin::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Form(pairs) =
            Form::<Vec<(String, String)>>::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(IntoResponse::into_response)?;
        if let Some(r) = checked_post(&admin, &pairs) {
            return Err(r);
        }
        let c = Console::of(&Arc::<Registry>::from_ref(state), admin).await?;
        Ok(Posted { c, pairs })
    }
}

/// A console request's query: the `workspace` a link may name (checked
/// against the session's), and what a redirect after a POST says.
#[derive(Deserialize)]
struct Asked {
    #[serde(default)]
    workspace: Option<String>,
    #[serde(default)]
    notice: Option<String>,
    #[serde(default)]
    n: Option<u64>,
    #[serde(default)]
    kind: Option<String>,
}

fn message(status: StatusCode, title: &str, text: &str, link: Option<Link>) -> Response {
    let page = MessagePage {
        title: title.to_string(),
        paragraphs: vec![text.to_string()],
        links: link.into_iter().collect(),
        error: status.is_client_error() || status.is_server_error(),
    };
    (status, no_store(Html(view::message_page(&page)))).into_response()
}

fn unavailable() -> Response {
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again in a moment",
        "The app could not read this workspace's data just now. Nothing was changed.",
        Some(Link::new("Back to the console", "/admin")),
    )
}

fn failed(e: ConsoleError) -> Response {
    tracing::error!(error = %e, "console request failed");
    unavailable()
}

fn bad_csrf() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "Reload the page and try again (the form's security token did not match your session). Nothing was changed.",
        Some(Link::new("Back to the console", "/admin")),
    )
}

/// Console pages carry the form token and workspace data: never cached.
fn no_store(body: impl IntoResponse) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn page(status: StatusCode, html: String) -> Response {
    (status, no_store(Html(html))).into_response()
}

/// The notices a redirect may ask for, by key: the text is ours, never
/// the query's.
fn notice_of(asked: &Asked) -> Option<Notice> {
    let n = asked.n.unwrap_or(0);
    Some(match asked.notice.as_deref()? {
        "saved" => Notice::ok("Settings saved. The sidebar uses them from now on."),
        "imported" => Notice::ok("Settings imported. The sidebar uses them from now on."),
        "disconnected" => Notice::ok("Salesforce is disconnected: its token was revoked and forgotten."),
        "retried" => Notice::ok("Queued again: it runs in a moment."),
        "retried_all" => Notice::ok(format!(
            "{n} {} with the same cause queued again.",
            if n == 1 { "error" } else { "errors" }
        )),
        "not_queued" => Notice::error(
            "This error could not be queued again: it has no queued work, or its work is running right now. Dismiss it once the cause is fixed."),
        "dismissed" => Notice::ok("Dismissed."),
        _ => return None,
    })
}

/// The kind filter, only as one of the kinds offered.
fn kind_of(kind: Option<&str>) -> &'static str {
    let kind = kind.unwrap_or_default();
    view::KINDS
        .iter()
        .find(|k| k.value == kind)
        .map(|k| k.value)
        .unwrap_or("")
}

fn sync_errors_url(kind: &str, notice: &str, n: Option<u64>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if !kind.is_empty() {
        q.append_pair("kind", kind);
    }
    q.append_pair("notice", notice);
    if let Some(n) = n {
        q.append_pair("n", &n.to_string());
    }
    format!("/admin/sync-errors?{}", q.finish())
}

/// The value of a posted form's field `name` (its first).
fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The CSRF and workspace checks every POST passes before anything else.
fn checked_post(admin: &Admin, pairs: &[(String, String)]) -> Option<Response> {
    if !admin.check_csrf(field(pairs, "csrf_token").unwrap_or_default()) {
        tracing::warn!(admin = %admin.session.admin_id, "console form without its token refused");
        return Some(bad_csrf());
    }
    admin.refuse_other(field(pairs, "workspace"))
}

// ---- Connection -------------------------------------------------------------

/// `GET /admin`: the Connection page, or the sign-in page.
async fn connection(
    State(registry): State<Arc<Registry>>,
    admin: Result<Admin, NoAdmin>,
    Query(asked): Query<Asked>,
) -> Response {
    let admin = match admin {
        Ok(a) => a,
        Err(NoAdmin::SignIn) => {
            return page(
                StatusCode::OK,
                view::signin(&SignInPage {
                    frame: Frame::default(),
                    signin_url: "/install".to_string(),
                    error: None,
                }),
            )
        }
        Err(e) => return e.into_response(),
    };
    if let Some(r) = admin.refuse_other(asked.workspace.as_deref()) {
        return r;
    }
    let c = match Console::of(&registry, admin).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    connection_page(&c, notice_of(&asked), None, StatusCode::OK).await
}

async fn connection_page(
    c: &Console,
    notice: Option<Notice>,
    new_token: Option<String>,
    status: StatusCode,
) -> Response {
    let frame = c.frame("connection", notice).await;
    let actions = ConnectActions {
        connect: "/connect/salesforce".to_string(),
        disconnect: "/connect/salesforce/disconnect".to_string(),
        logins: c
            .logins
            .iter()
            .map(|l| view::LoginOption {
                key: l.key.clone(),
                label: l.label.clone(),
            })
            .collect(),
    };
    let token = match c.action_token(new_token).await {
        Ok(t) => t,
        Err(e) => return failed(e),
    };
    match c.ws.connection_page(frame, &actions, token).await {
        Ok(p) => page(status, view::connection(&p)),
        Err(e) => failed(e),
    }
}

/// `POST /admin/action-token`: a new token, shown on the answer only.
async fn rotate_action_token(Posted { c, .. }: Posted) -> Response {
    let token = match c.ws.rotate_action_token().await {
        Ok(t) => t,
        Err(e) => return failed(e),
    };
    tracing::info!(workspace = %c.ws.id, "Workflow action token rotated");
    connection_page(
        &c,
        Some(Notice::ok(
            "A new Workflow action token is made; the old one no longer works.",
        )),
        Some(token),
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/data-connector`: creates the "Create case in Salesforce"
/// data connector in the workspace through Intercom's API (2.16), with a
/// fresh action token in its header (the app keeps only tokens' hashes, so
/// the connector gets a new one, shown once here too). A connector of that
/// name already there is left alone: the admin is told where it is.
async fn create_data_connector(Posted { c, .. }: Posted) -> Response {
    use crate::intercom::data_connectors::{case_connector, CONNECTOR_NAME};
    let intercom = &c.tenant.intercom;
    let refused = |e: crate::intercom::IntercomError| {
        Notice::error(format!(
            "Intercom did not create the data connector ({e}). Create it by hand in Settings → \
             Integrations → Data connectors, with the address and a token below."
        ))
    };
    match intercom.data_connector_named(CONNECTOR_NAME).await {
        Ok(Some(id)) => {
            let text = format!(
                "The workspace already has a data connector named \"{CONNECTOR_NAME}\" (id {id}) in \
                 Settings → Integrations → Data connectors; nothing was changed. Rotate the token \
                 below and paste it into its Authorization header, or delete it there and create it \
                 here again."
            );
            return connection_page(&c, Some(Notice::error(text)), None, StatusCode::OK).await;
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(workspace = %c.ws.id, error = %e, "data connectors not listed");
            return connection_page(&c, Some(refused(e)), None, StatusCode::OK).await;
        }
    }
    let token = match c.ws.rotate_action_token().await {
        Ok(t) => t,
        Err(e) => return failed(e),
    };
    let request = case_connector(
        &format!("{}/actions/salesforce-case", c.base),
        &crate::config::Secret::new(token.clone()),
    );
    let notice = match intercom.create_data_connector(&request).await {
        Ok(id) => {
            tracing::info!(workspace = %c.ws.id, connector = %id, "data connector created");
            Notice::ok(format!(
                "\"{CONNECTOR_NAME}\" is created in Intercom as a draft (id {id}): review it and set it \
                 live in Settings → Integrations → Data connectors, then use it in Workflows, Fin \
                 and the Help Desk. Its token is the new one below; the old one no longer works."
            ))
        }
        Err(e) => {
            tracing::warn!(workspace = %c.ws.id, error = %e, "data connector not created");
            refused(e)
        }
    };
    connection_page(&c, Some(notice), Some(token), StatusCode::OK).await
}

// ---- Settings -----------------------------------------------------------------

/// `GET /admin/settings`.
async fn settings(c: Console, Query(asked): Query<Asked>) -> Response {
    let frame = c.frame("settings", notice_of(&asked)).await;
    let attributes = c.ws.attributes().await.unwrap_or_default();
    match c.ws.settings_page(frame, &attributes, None).await {
        Ok(p) => page(StatusCode::OK, view::settings(&p)),
        Err(e) => failed(e),
    }
}

/// `POST /admin/settings`: saved and put to work, or the form again with
/// the problems (422).
async fn save_settings(Posted { c, pairs }: Posted) -> Response {
    let typed = SettingsForm::parse(&pairs);
    let attributes = c.ws.attributes().await;
    match c.ws.save_form(&typed, attributes.as_deref()).await {
        Ok(Ok(saved)) => {
            c.tenant.apply_settings(&saved);
            tracing::info!(workspace = %c.ws.id, admin = %c.admin.session.admin_id, "console: settings saved");
            Redirect::to("/admin/settings?notice=saved").into_response()
        }
        Ok(Err(problems)) => {
            let frame = c.frame("settings", None).await;
            let attributes = attributes.unwrap_or_default();
            match c
                .ws
                .settings_page(frame, &attributes, Some((typed, problems)))
                .await
            {
                Ok(p) => page(StatusCode::UNPROCESSABLE_ENTITY, view::settings(&p)),
                Err(e) => failed(e),
            }
        }
        Err(e) => failed(e),
    }
}

/// `GET /admin/settings/export`: the workspace's settings file.
async fn export(c: Console) -> Response {
    let text = match c.ws.export().await {
        Ok(t) => t,
        Err(e) => return failed(e),
    };
    // Workspace ids are alphanumeric; anything else is dropped rather
    // than quoted into a header.
    let name: String =
        c.ws.id
            .chars()
            .filter(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_'))
            .collect();
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"sf-inbox-settings-{name}.toml\""
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    no_store((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/toml; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        text,
    ))
}

/// `POST /admin/settings/import` (`toml`: the file's text, pasted or read
/// into the box by the page).
async fn import(Posted { c, pairs }: Posted) -> Response {
    let text = field(&pairs, "toml").unwrap_or_default().to_string();
    let attributes = c.ws.attributes().await;
    match c.ws.import(&text, attributes.as_deref()).await {
        Ok(Ok(saved)) => {
            c.tenant.apply_settings(&saved);
            tracing::info!(workspace = %c.ws.id, admin = %c.admin.session.admin_id, "console: settings imported");
            Redirect::to("/admin/settings?notice=imported").into_response()
        }
        Ok(Err(problems)) => {
            let frame = c.frame("settings", None).await;
            let attributes = attributes.unwrap_or_default();
            match c.ws.settings_page(frame, &attributes, None).await {
                Ok(mut p) => {
                    p.problems = problems;
                    p.import_text = text;
                    page(StatusCode::UNPROCESSABLE_ENTITY, view::settings(&p))
                }
                Err(e) => failed(e),
            }
        }
        Err(e) => failed(e),
    }
}

// ---- Sync errors ----------------------------------------------------------------

/// `GET /admin/sync-errors?kind=`.
async fn sync_errors(c: Console, Query(asked): Query<Asked>) -> Response {
    let frame = c.frame("sync_errors", notice_of(&asked)).await;
    match c
        .ws
        .sync_errors_page(frame, kind_of(asked.kind.as_deref()))
        .await
    {
        Ok(p) => page(StatusCode::OK, view::sync_errors(&p)),
        Err(e) => failed(e),
    }
}

#[derive(Clone, Copy)]
enum SyncAction {
    Retry,
    RetryAll,
    Dismiss,
}

async fn retry(Path(id): Path<String>, posted: Posted) -> Response {
    sync_action(posted, &id, SyncAction::Retry).await
}

async fn retry_all(Path(id): Path<String>, posted: Posted) -> Response {
    sync_action(posted, &id, SyncAction::RetryAll).await
}

async fn dismiss(Path(id): Path<String>, posted: Posted) -> Response {
    sync_action(posted, &id, SyncAction::Dismiss).await
}

/// Retry, Retry all with the same cause, Dismiss: only on a sync error of
/// the admin's workspace (the store is scoped to it, so another
/// workspace's id is not found there and is refused).
async fn sync_action(Posted { c, pairs }: Posted, id: &str, action: SyncAction) -> Response {
    let pairs = &pairs;
    match c.ws.store.sync_error(id).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            tracing::warn!(workspace = %c.ws.id, %id, "console: a sync error not of this workspace refused");
            return message(
                StatusCode::FORBIDDEN,
                "Not one of this workspace's sync errors",
                "It may have been dismissed or fixed since the page was shown, or it belongs to another workspace. Nothing was changed.",
                Some(Link::new("Back to the sync errors", "/admin/sync-errors")),
            );
        }
        Err(e) => return failed(e.into()),
    }
    let kind = kind_of(field(pairs, "kind"));
    let to = match action {
        SyncAction::Retry => match c.ws.retry(id).await {
            Ok(true) => sync_errors_url(kind, "retried", None),
            Ok(false) => sync_errors_url(kind, "not_queued", None),
            Err(e) => return failed(e),
        },
        SyncAction::RetryAll => match c.ws.retry_like(id).await {
            Ok(n) => sync_errors_url(kind, "retried_all", Some(n)),
            Err(e) => return failed(e),
        },
        SyncAction::Dismiss => match c.ws.dismiss(id).await {
            Ok(_) => sync_errors_url(kind, "dismissed", None),
            Err(e) => return failed(e),
        },
    };
    Redirect::to(&to).into_response()
}
