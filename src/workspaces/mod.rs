//! Workspaces: every Intercom workspace the app serves is a [`Tenant`]
//! (its Salesforce connection, Intercom client, settings, queue worker),
//! and the [`Registry`] finds "this workspace" for a request: a Canvas Kit
//! request by its `workspace_id`, a webhook by its `app_id`, the Workflow
//! action by its bearer token.
//!
//! - Installed workspaces (Intercom OAuth, `routes`) are loaded from the
//!   store on first use and kept; a kept one is checked against the store
//!   again after [`RECHECK`], so an uninstall or a reconnect on another
//!   replica reaches this one within that time.
//! - Single-workspace mode (the `SALESFORCE_*` and `INTERCOM_*` variables,
//!   or the sandbox) is one pre-registered tenant, served exactly as before
//!   the registry: for `INTERCOM_WORKSPACE_ID`, or for every workspace not
//!   installed when that is unset.
//!
//! Nothing crosses tenants: each has its own store scope (queue, maps,
//! ledger, settings, sync errors, usage), Salesforce client and token
//! manager, Intercom token and worker. They share one profile cache, whose
//! keys name the workspace and the org.

pub mod routes;
pub mod session;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::answer::Answer;
use crate::budget::Budget;
use crate::canvas::CanvasRequest;
use crate::cases::action::CaseAction;
use crate::cases::Cases;
use crate::intercom::IntercomClient;
use crate::settings::WorkspaceSettings;
use crate::sidebar::Sidebar;
use crate::store::{ConnectionInfo, Store, StoreError, WorkspaceRow};
use crate::tasks::webhook::Webhooks;
use crate::tasks::Tasks;

/// How long a kept installed tenant is served before the store is asked
/// again whether it is still installed and connected the same way.
pub const RECHECK: Duration = Duration::from_secs(30);

/// One workspace's app: everything a request or a job of that workspace
/// uses. Dropping it stops its worker.
pub struct Tenant {
    /// The store's key for this workspace (its Intercom workspace id, or
    /// the single-workspace mode's key).
    pub key: String,
    /// The Intercom workspace it serves; `None`: any (single-workspace
    /// mode without `INTERCOM_WORKSPACE_ID`).
    pub workspace_id: Option<String>,
    pub sidebar: Arc<Sidebar>,
    pub tasks: Arc<Tasks>,
    pub cases: Arc<Cases>,
    pub case_action: Arc<CaseAction>,
    pub webhooks: Arc<Webhooks>,
    pub intercom: Arc<IntercomClient>,
    pub budget: Budget,
    pub store: Store,
    /// Rings this tenant's worker (webhooks, the action, Retry).
    pub wake: Arc<Notify>,
    /// The settings it has without stored ones (the environment's).
    pub defaults: WorkspaceSettings,
    /// Installed with Intercom OAuth (not the environment's workspace).
    pub installed: Option<Installed>,
    /// Its background tasks (the worker), stopped on drop.
    pub running: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// What the store says of an installed workspace.
#[derive(Debug, Clone)]
pub struct Installed {
    pub row: WorkspaceRow,
    /// `None`: no Salesforce org connected (never, or disconnected).
    pub connection: Option<ConnectionInfo>,
}

impl Tenant {
    /// Takes the worker's handle out (single-workspace mode: the app owns
    /// it, as before the registry).
    pub fn take_running(&self) -> Vec<tokio::task::JoinHandle<()>> {
        std::mem::take(&mut *self.running.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Puts the workspace's settings to work where they are read per
    /// request: the API budget's cap and the panels' chosen fields. At
    /// start-up, on load, and when the console saves.
    pub fn apply_settings(&self, settings: &WorkspaceSettings) {
        self.budget
            .set_policy(crate::budget::Policy::from(&settings.budget));
        let p = &settings.panels;
        self.sidebar.profiles().set_panel_fields(
            None,
            crate::salesforce::lookup::PanelFieldNames::from_lists(
                &p.contact,
                &p.account,
                &p.lead,
                &p.opportunity,
                &p.case,
            ),
        );
    }

    /// Installed, and no Salesforce org is connected.
    pub fn needs_connection(&self) -> bool {
        self.installed
            .as_ref()
            .is_some_and(|i| i.connection.is_none())
    }

    /// The workspace's Intercom region (`us`, `eu`, `au`), when installed.
    pub fn region(&self) -> Option<&str> {
        self.installed
            .as_ref()
            .and_then(|i| i.row.region.as_deref())
    }
}

impl Drop for Tenant {
    fn drop(&mut self) {
        for h in self.take_running() {
            h.abort();
        }
    }
}

/// Builds an installed workspace's tenant from what the store holds (the
/// wiring implements it: the registry does not know how a tenant is made).
#[async_trait::async_trait]
pub trait TenantFactory: Send + Sync {
    async fn installed(&self, installed: Installed) -> Result<Tenant, RegistryError>;
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("settings: {0}")]
    Settings(#[from] crate::settings::SettingsError),
}

/// Who serves a request.
pub enum Serving {
    Tenant(Arc<Tenant>),
    /// No tenant: the workspace has not installed the app (and no
    /// environment workspace serves it).
    NotInstalled,
}

struct Kept {
    tenant: Arc<Tenant>,
    checked: Instant,
}

/// From a workspace to its [`Tenant`].
pub struct Registry {
    /// The store, unscoped (workspace rows are looked up across it).
    store: Store,
    /// Single-workspace mode's tenant.
    env: Option<Arc<Tenant>>,
    /// Installed workspaces loaded so far, by workspace id.
    kept: RwLock<HashMap<String, Kept>>,
    /// One load at a time per process, so two requests of a new workspace
    /// do not build (and start the worker of) two tenants.
    loading: tokio::sync::Mutex<()>,
    factory: Option<Arc<dyn TenantFactory>>,
    /// The app's base URL (`PUBLIC_URL`) for the install and connect links.
    public_base: RwLock<String>,
    /// The login hosts an admin connects through (`Config::connect_logins`).
    connect_logins: Vec<crate::config::LoginChoice>,
}

impl Registry {
    /// `factory`: how installed workspaces' tenants are built (`None`: no
    /// install routes, single-workspace mode only).
    pub fn new(
        store: Store,
        env: Option<Arc<Tenant>>,
        factory: Option<Arc<dyn TenantFactory>>,
    ) -> Registry {
        Registry {
            store,
            env,
            kept: RwLock::new(HashMap::new()),
            loading: tokio::sync::Mutex::new(()),
            factory,
            public_base: RwLock::new(String::new()),
            connect_logins: Vec::new(),
        }
    }

    /// The login hosts the console's Connect offers.
    pub fn with_connect_logins(mut self, logins: Vec<crate::config::LoginChoice>) -> Registry {
        self.connect_logins = logins;
        self
    }

    pub fn connect_logins(&self) -> &[crate::config::LoginChoice] {
        &self.connect_logins
    }

    /// Where the app is reached (known once the server is bound).
    pub fn set_public_base(&self, base: &str) {
        *self.public_base.write().unwrap_or_else(|p| p.into_inner()) =
            base.trim_end_matches('/').to_string();
    }

    pub fn public_base(&self) -> String {
        self.public_base
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether workspaces can install the app here.
    pub fn installs(&self) -> bool {
        self.factory.is_some()
    }

    /// The environment's tenant (single-workspace mode).
    pub fn env(&self) -> Option<&Arc<Tenant>> {
        self.env.as_ref()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The tenant serving `workspace_id`: the installed workspace's, else
    /// the environment's when it serves that workspace (or any).
    pub async fn serving(&self, workspace_id: &str) -> Result<Serving, RegistryError> {
        // The environment's own workspace never asks the store (an install
        // there only signs its admin in, so no row can shadow it).
        if self.env_serves_only(workspace_id) {
            if let Some(env) = &self.env {
                return Ok(Serving::Tenant(env.clone()));
            }
        }
        if !workspace_id.is_empty() {
            if let Some(t) = self.installed(workspace_id).await? {
                return Ok(Serving::Tenant(t));
            }
        }
        match &self.env {
            Some(env) if env.workspace_id.is_none() || !self.installs() => {
                // Without install routes the environment's tenant answers
                // everything, refusing other workspaces itself (as before).
                Ok(Serving::Tenant(env.clone()))
            }
            _ => Ok(Serving::NotInstalled),
        }
    }

    /// The tenant a signed-in admin of `workspace_id` manages: the
    /// installed one, or the environment's when it is that workspace's.
    pub async fn for_admin(
        &self,
        workspace_id: &str,
    ) -> Result<Option<Arc<Tenant>>, RegistryError> {
        if self.env_serves_only(workspace_id) {
            return Ok(self.env.clone());
        }
        self.installed(workspace_id).await
    }

    /// The environment's tenant is this workspace's (`INTERCOM_WORKSPACE_ID`):
    /// an install there signs the admin in but keeps the environment's
    /// connection.
    pub fn env_serves_only(&self, workspace_id: &str) -> bool {
        self.env
            .as_ref()
            .is_some_and(|e| e.workspace_id.as_deref() == Some(workspace_id))
    }

    /// The installed workspace's tenant, loaded (and its worker started)
    /// on first use; `None` when the workspace has not installed the app.
    pub async fn installed(
        &self,
        workspace_id: &str,
    ) -> Result<Option<Arc<Tenant>>, RegistryError> {
        let Some(factory) = &self.factory else {
            return Ok(None);
        };
        if let Some(t) = self.fresh(workspace_id) {
            return Ok(Some(t));
        }
        let _one = self.loading.lock().await;
        if let Some(t) = self.fresh(workspace_id) {
            return Ok(Some(t));
        }
        let scoped = self.store.for_workspace(workspace_id);
        let row = self.store.workspace_row(workspace_id).await?;
        let Some(row) = row else {
            self.drop_kept(workspace_id);
            return Ok(None);
        };
        let connection = scoped.connection_info().await?;
        // Still the same installation and connection: keep the tenant (its
        // caches and token), only note the check.
        {
            let mut kept = self.kept.write().unwrap_or_else(|p| p.into_inner());
            if let Some(k) = kept.get_mut(workspace_id) {
                let same = k.tenant.installed.as_ref().is_some_and(|i| {
                    i.row.installed_at == row.installed_at
                        && same_connection(i.connection.as_ref(), connection.as_ref())
                });
                if same {
                    k.checked = Instant::now();
                    return Ok(Some(k.tenant.clone()));
                }
            }
        }
        let tenant = Arc::new(factory.installed(Installed { row, connection }).await?);
        let old = self.kept.write().unwrap_or_else(|p| p.into_inner()).insert(
            workspace_id.to_string(),
            Kept {
                tenant: tenant.clone(),
                checked: Instant::now(),
            },
        );
        drop(old);
        Ok(Some(tenant))
    }

    fn fresh(&self, workspace_id: &str) -> Option<Arc<Tenant>> {
        let kept = self.kept.read().unwrap_or_else(|p| p.into_inner());
        kept.get(workspace_id)
            .filter(|k| k.checked.elapsed() < RECHECK)
            .map(|k| k.tenant.clone())
    }

    fn drop_kept(&self, workspace_id: &str) {
        let old = self
            .kept
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(workspace_id);
        drop(old);
    }

    /// Rebuilds the workspace's tenant from the store after a connect,
    /// reconnect, disconnect or uninstall here: the old one (its token
    /// manager and worker) stops, and a still installed workspace's new
    /// one starts its worker at once (parked work runs after a connect
    /// without waiting for a request).
    pub async fn reload(&self, workspace_id: &str) {
        self.drop_kept(workspace_id);
        if let Err(e) = self.installed(workspace_id).await {
            tracing::warn!(workspace = %workspace_id, error = %e, "workspace not reloaded");
        }
    }

    /// Loads every installed workspace, so that their queued work runs
    /// after a restart without waiting for a request.
    pub async fn load_all(&self) -> Result<usize, RegistryError> {
        if self.factory.is_none() {
            return Ok(0);
        }
        let rows = self.store.installed_workspaces().await?;
        let mut n = 0;
        for row in rows {
            match self.installed(&row.workspace_id).await {
                Ok(Some(_)) => n += 1,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(workspace = %row.workspace_id, error = %e, "workspace not loaded")
                }
            }
        }
        Ok(n)
    }

    /// The tenant whose Workflow-action token `presented` is: the
    /// environment's (its `ACTION_TOKEN` or stored token), else the
    /// installed workspace whose stored token it is.
    pub async fn for_action_token(&self, presented: &str) -> Option<Arc<Tenant>> {
        if let Some(env) = &self.env {
            if env.case_action.authorised(presented).await {
                return Some(env.clone());
            }
        }
        // Without install routes no other workspace has a token.
        self.factory.as_ref()?;
        let ws = match self.store.workspace_for_action_token(presented).await {
            Ok(Some(ws)) => ws,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "action token lookup failed");
                return None;
            }
        };
        match self.installed(&ws).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(workspace = %ws, error = %e, "workspace not loaded");
                None
            }
        }
    }

    /// The answer to an initialize request, from the workspace's tenant.
    pub async fn initialize(&self, req: &CanvasRequest) -> Answer {
        match self.canvas_tenant(req).await {
            Ok(t) => t.sidebar.initialize_answer(req).await,
            Err(screen) => screen,
        }
    }

    /// The answer to a submit, from the workspace's tenant.
    pub async fn submit(&self, req: &CanvasRequest) -> Answer {
        match self.canvas_tenant(req).await {
            Ok(t) => t.sidebar.submit_answer(req).await,
            Err(screen) => screen,
        }
    }

    /// The tenant of a Canvas Kit request, or the screen saying why there
    /// is none (never an HTTP error: the sidebar always gets a canvas).
    async fn canvas_tenant(&self, req: &CanvasRequest) -> Result<Arc<Tenant>, Answer> {
        let workspace = req.workspace_id.as_deref().unwrap_or_default();
        match self.serving(workspace).await {
            Ok(Serving::Tenant(t)) if t.needs_connection() => {
                Err(crate::panels::install::not_connected_canvas(&format!(
                    "{}/connect/salesforce?workspace={}",
                    self.public_base(),
                    urlencoding(workspace)
                ))
                .into())
            }
            Ok(Serving::Tenant(t)) => Ok(t),
            Ok(Serving::NotInstalled) => Err(crate::panels::install::not_installed_canvas(
                &format!("{}/install", self.public_base()),
            )
            .into()),
            Err(e) => {
                tracing::error!(%workspace, error = %e, "workspace lookup failed");
                Err(crate::panels::internal_error_canvas().into())
            }
        }
    }
}

/// Percent-encodes a query value.
fn urlencoding(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// Same org, same user, same connect time: the tenant built for one is
/// right for the other.
fn same_connection(a: Option<&ConnectionInfo>, b: Option<&ConnectionInfo>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.org_id == b.org_id
                && a.user_id == b.user_id
                && a.connected_at == b.connected_at
                && a.login_url == b.login_url
        }
        _ => false,
    }
}
