//! The admin console at `/admin`: the Salesforce connection, the settings
//! (checked against the org's describes), the sync errors and the API
//! budget of one workspace, in the browser.
//!
//! - [`view`]: the pages, pure functions of typed view models (templates
//!   compiled in).
//! - [`form`]: the Settings form as typed, to and from `WorkspaceSettings`.
//! - [`checks`]: settings against the describes (pure; the settings file's
//!   loader can call it too).
//! - this module: what a page needs, gathered from the workspace's store,
//!   budget and Salesforce client, and the saves.

pub mod checks;
pub mod form;
pub mod routes;
pub mod view;

#[cfg(test)]
mod view_tests;

use std::sync::Arc;

use checks::{Attribute, OrgDescribes, Problem};
use form::SettingsForm;
use view::{
    ActionTokenView, ConnectionPage, Frame, IntercomView, OrgView, SettingsOptions, SettingsPage,
    UsageView,
};

use crate::budget::Budget;
use crate::fields::describe::Describe;
use crate::salesforce::client::SubRequest;
use crate::salesforce::SalesforceClient;
use crate::settings::{SettingsError, WorkspaceSettings};
use crate::store::{Store, StoreError, SyncKind};

/// Days of calls the Connection page shows.
pub const USAGE_DAYS: u64 = 7;

/// The objects whose describes the settings are checked against.
pub const OBJECTS: &[&str] = &["Contact", "Account", "Opportunity", "Lead", "Case"];

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Settings(#[from] SettingsError),
    #[error("{0}")]
    Budget(#[from] crate::budget::BudgetError),
}

/// One workspace, as the console sees it.
#[derive(Clone)]
pub struct Workspace {
    pub id: String,
    pub name: Option<String>,
    /// `us`, `eu`, `au`.
    pub region: String,
    pub store: Store,
    pub budget: Budget,
    pub client: Arc<SalesforceClient>,
    /// What the workspace has without settings of its own.
    pub defaults: WorkspaceSettings,
    /// The Intercom access token: configured (and not refused).
    pub intercom_token: Option<bool>,
    /// The workspace's Intercom REST client (conversation attributes).
    pub intercom: Arc<crate::intercom::IntercomClient>,
    /// Wakes the worker after a retry (none: no worker in this process).
    pub wake: Option<Arc<tokio::sync::Notify>>,
    /// The org is the environment's (`SALESFORCE_*`, single-workspace
    /// mode), not connected here: the console shows it but cannot change it.
    pub org_from_env: bool,
}

/// Where the Connection page's buttons go: Connect / Reconnect opens the
/// Salesforce connect flow (a GET), Disconnect posts.
#[derive(Debug, Clone)]
pub struct ConnectActions {
    pub connect: String,
    pub disconnect: String,
    /// The login hosts Connect offers.
    pub logins: Vec<view::LoginOption>,
}

impl Workspace {
    /// What the console manages of `tenant`, the tenant of workspace
    /// `workspace_id` (the signed-in admin's).
    pub fn of_tenant(tenant: &crate::workspaces::Tenant, workspace_id: &str) -> Workspace {
        Workspace {
            id: workspace_id.to_string(),
            name: tenant.installed.as_ref().and_then(|i| i.row.name.clone()),
            region: tenant.region().unwrap_or_default().to_string(),
            store: tenant.store.clone(),
            budget: tenant.budget.clone(),
            client: tenant.sidebar.client().clone(),
            defaults: tenant.defaults.clone(),
            // Whether Intercom still takes the token is only known when a
            // call is refused; configured is what can be said here.
            intercom_token: tenant.intercom.is_configured().then_some(true),
            intercom: tenant.intercom.clone(),
            wake: Some(tenant.wake.clone()),
            org_from_env: tenant.installed.is_none(),
        }
    }

    /// The workspace's settings (stored, else the defaults).
    pub async fn settings(&self) -> Result<WorkspaceSettings, ConsoleError> {
        Ok(WorkspaceSettings::load(&self.store, &self.defaults).await?)
    }

    /// The describes of [`OBJECTS`], in one round trip; an object
    /// Salesforce would not describe is left out (the checks say so).
    pub async fn describes(&self) -> OrgDescribes {
        let subs: Vec<SubRequest> = OBJECTS
            .iter()
            .map(|o| SubRequest {
                method: "GET",
                url: self.client.data_path(&format!("sobjects/{o}/describe")),
                reference_id: o.to_string(),
                body: None,
                http_headers: None,
            })
            .collect();
        let mut out = OrgDescribes::default();
        match self.client.composite(&subs).await {
            Ok(answers) => {
                for a in answers {
                    let object = a.reference_id.clone();
                    match a.into_result::<serde_json::Value>() {
                        Ok(v) => match Describe::parse(&v) {
                            Ok(d) => out = out.with(d),
                            Err(e) => tracing::warn!(%object, error = %e, "unreadable describe"),
                        },
                        Err(e) => tracing::warn!(%object, error = %e, "describe refused"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "describes for the console failed"),
        }
        out
    }

    pub async fn connection_page(
        &self,
        frame: Frame,
        actions: &ConnectActions,
        action_token: ActionTokenView,
    ) -> Result<ConnectionPage, ConsoleError> {
        let row = self.store.connection().await?.unwrap_or_default();
        // The store's account and health (every replica's calls, through
        // `record_call`), and this process's own view, which also has the
        // time of the last error: the later of the two is shown.
        let info = self.store.connection_info().await?.unwrap_or_default();
        let health = self.budget.health();
        let last_good_call = info.last_ok_at.max(health.last_good_call);
        let last_error = match (health.last_error, info.last_error) {
            (Some((t, e)), _) => Some(format!("{} — {e}", view::time(t))),
            (None, Some(e)) => Some(e),
            (None, None) => row.revoked.clone(),
        };
        let usage = self.budget.usage(USAGE_DAYS).await?;
        // The environment's org is not in the store's connection row: its
        // session (one token refresh at most) says which org it is, or why not.
        let env_session = match self.org_from_env {
            true => Some(self.client.session().await),
            false => None,
        };
        let (state, state_text) = if let Some(s) = &env_session {
            match s {
                Ok(_) => (
                    "connected",
                    "Connected, through the environment's SALESFORCE_* settings".to_string(),
                ),
                Err(e) => (
                    "revoked",
                    format!("Salesforce refused the environment's connection: {e}"),
                ),
            }
        } else if row.revoked.is_some() {
            (
                "revoked",
                "Salesforce refused the connection: reconnect to go on.".to_string(),
            )
        } else if row.refresh_token.is_some() || row.access_token.is_some() {
            ("connected", "Connected".to_string())
        } else {
            ("not_connected", "Not connected".to_string())
        };
        Ok(ConnectionPage {
            frame,
            org: OrgView {
                state,
                state_text,
                instance_url: match &env_session {
                    Some(Ok(s)) => {
                        Some(s.instance_url.to_string().trim_end_matches('/').to_string())
                    }
                    _ => row.instance_url.clone(),
                },
                org_id: match &env_session {
                    Some(Ok(s)) => Some(s.org_id.clone()),
                    _ => row.org_id.clone(),
                },
                user: match &env_session {
                    Some(Ok(s)) => s.user_id.clone(),
                    _ => info.username.clone().or(row.user_id.clone()),
                },
                from_env: self.org_from_env,
                connected_since: info.connected_at.map(view::time),
                last_good_call: last_good_call.map(view::time),
                last_error,
                connect_action: actions.connect.clone(),
                disconnect_action: actions.disconnect.clone(),
                logins: actions.logins.clone(),
            },
            intercom: IntercomView {
                workspace_id: self.id.clone(),
                workspace_name: self.name.clone(),
                region: self.region.to_uppercase(),
                token_status: match self.intercom_token {
                    Some(true) => "Set".to_string(),
                    Some(false) => "Refused by Intercom: reinstall the app".to_string(),
                    None => "Not set: notes and conversation reads are off".to_string(),
                },
            },
            usage: UsageView::of(&usage),
            action_token,
        })
    }

    /// Whether the workspace has a Workflow action token (stored, or the
    /// environment's `ACTION_TOKEN` in single-workspace mode).
    pub async fn has_action_token(&self, from_env: bool) -> Result<bool, ConsoleError> {
        Ok(from_env || self.store.action_token_hash().await?.is_some())
    }

    /// Makes a new Workflow action token and stores its hash (the old one
    /// stops at once); the token, to show once.
    pub async fn rotate_action_token(&self) -> Result<String, ConsoleError> {
        let token = crate::workspaces::session::random_token();
        self.store.set_action_token(&token).await?;
        Ok(token)
    }

    /// The Settings page: the stored settings, or `typed` (a refused save)
    /// with its problems.
    pub async fn settings_page(
        &self,
        frame: Frame,
        attributes: &[Attribute],
        typed: Option<(SettingsForm, Vec<Problem>)>,
    ) -> Result<SettingsPage, ConsoleError> {
        let org = self.describes().await;
        let (form, problems) = match typed {
            Some(t) => t,
            None => (
                SettingsForm::from_settings(&self.settings().await?),
                Vec::new(),
            ),
        };
        Ok(SettingsPage {
            frame,
            form,
            problems,
            options: SettingsOptions::of(&org, attributes),
            import_text: String::new(),
        })
    }

    /// Saves what the form says if it passes every check, else answers the
    /// problems (nothing saved).
    pub async fn save_form(
        &self,
        typed: &SettingsForm,
        attributes: Option<&[Attribute]>,
    ) -> Result<Result<WorkspaceSettings, Vec<Problem>>, ConsoleError> {
        let current = self.settings().await?;
        let settings = match typed.to_settings(&current) {
            Ok(s) => s,
            Err(p) => return Ok(Err(p)),
        };
        self.save_checked(settings, attributes).await
    }

    /// Imports a settings file (over the defaults, as `SETTINGS_FILE` is
    /// read) if it passes every check.
    pub async fn import(
        &self,
        text: &str,
        attributes: Option<&[Attribute]>,
    ) -> Result<Result<WorkspaceSettings, Vec<Problem>>, ConsoleError> {
        let settings = match WorkspaceSettings::from_toml(text, &self.defaults) {
            Ok(s) => s,
            Err(SettingsError::Invalid { key, reason }) => {
                return Ok(Err(vec![Problem::new(
                    "import",
                    format!("{key}: {reason}"),
                )]))
            }
            Err(e) => return Ok(Err(vec![Problem::new("import", e.to_string())])),
        };
        Ok(self.save_checked(settings, attributes).await?.map_err(|p| {
            p.into_iter()
                .map(|p| Problem::new("import", format!("{}: {}", p.key, p.message)))
                .collect()
        }))
    }

    async fn save_checked(
        &self,
        settings: WorkspaceSettings,
        attributes: Option<&[Attribute]>,
    ) -> Result<Result<WorkspaceSettings, Vec<Problem>>, ConsoleError> {
        let org = self.describes().await;
        let problems = checks::check(&settings, &org, attributes);
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        settings.save(&self.store).await?;
        self.budget
            .set_policy(crate::budget::Policy::from(&settings.budget));
        Ok(Ok(settings))
    }

    /// The workspace's conversation attributes (`GET
    /// /data_attributes?model=conversation`); `None` when Intercom cannot
    /// say (no token, an outage): mappings are then checked on the Case
    /// side only.
    pub async fn attributes(&self) -> Option<Vec<Attribute>> {
        if !self.intercom.is_configured() {
            return None;
        }
        let region = Some(self.region.as_str()).filter(|r| !r.is_empty());
        match self.intercom.data_attributes(region, "conversation").await {
            Ok(list) => Some(
                list.into_iter()
                    .map(|a| Attribute {
                        name: a.name,
                        data_type: a.data_type,
                    })
                    .collect(),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "conversation attributes unreadable");
                None
            }
        }
    }

    /// The Sync errors page, filtered by `kind` (`""`: all).
    pub async fn sync_errors_page(
        &self,
        frame: Frame,
        kind: &str,
    ) -> Result<view::SyncErrorsPage, ConsoleError> {
        let filter = (!kind.is_empty()).then(|| SyncKind::parse(kind));
        let kind = filter.map(|k| k.as_str()).unwrap_or("");
        let rows = self
            .store
            .sync_errors(filter)
            .await?
            .into_iter()
            .map(|e| view::SyncErrorView {
                kind_label: view::kind_label_of(e.kind.as_str()).to_string(),
                kind: e.kind.as_str().to_string(),
                conversation_url: crate::intercom::conversation_url(&self.id, &e.conversation_id),
                conversation_id: e.conversation_id,
                id: e.id,
                attempted: e.attempted,
                code: e.code,
                message: e.message,
                fields: e.fields,
                attempts: e.attempts,
                first_seen: view::time(e.first_seen),
                last_seen: view::time(e.last_seen),
                next_retry: e.next_retry.map(view::time),
            })
            .collect();
        Ok(view::SyncErrorsPage {
            frame,
            kind: kind.to_string(),
            kinds: view::KINDS,
            rows,
        })
    }

    /// How many sync errors the workspace has (the menu's count).
    pub async fn sync_error_count(&self) -> usize {
        self.store
            .sync_errors(None)
            .await
            .map(|v| v.len())
            .unwrap_or(0)
    }

    /// Retry one sync error now: its work is queued again and the worker
    /// woken. `false`: no such error in this workspace.
    pub async fn retry(&self, id: &str) -> Result<bool, ConsoleError> {
        let done = self.store.retry_sync_error(id).await?;
        self.wake();
        Ok(done)
    }

    /// Retry every sync error with the same cause as `id`.
    pub async fn retry_like(&self, id: &str) -> Result<u64, ConsoleError> {
        let n = self.store.retry_sync_errors_like(id).await?;
        self.wake();
        Ok(n)
    }

    pub async fn dismiss(&self, id: &str) -> Result<bool, ConsoleError> {
        Ok(self.store.dismiss_sync_error(id).await?)
    }

    fn wake(&self) {
        if let Some(w) = &self.wake {
            w.notify_one();
        }
    }

    /// The settings file of this workspace (every key written).
    pub async fn export(&self) -> Result<String, ConsoleError> {
        Ok(self.settings().await?.to_toml())
    }
}
