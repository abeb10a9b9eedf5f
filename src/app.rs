//! Wiring: from a [`Config`] to a router with its Salesforce client, cache
//! and sidebar. `main` and the tests both build the app through here.

use std::sync::{Arc, Once};

use axum::Router;

use crate::budget::{Budget, Policy};
use crate::config::{Config, SalesforceMode};
use crate::edge::SigningSecret;
use crate::intercom::IntercomClient;
use crate::routes::{self, AppState};
use crate::salesforce::auth::{Credentials, TokenManager};
use crate::salesforce::cache::QueryCache;
use crate::salesforce::SalesforceClient;
use crate::sidebar::Sidebar;
use crate::store::{Store, StoreError};
use crate::tasks::webhook::Webhooks;
use crate::tasks::worker::{Fault, Worker};
use crate::tasks::Tasks;
use crate::workspaces::{Installed, Registry, RegistryError, Tenant, TenantFactory};

pub struct App {
    pub router: Router,
    pub sidebar: Arc<Sidebar>,
    pub intercom: Arc<IntercomClient>,
    pub tasks: Arc<Tasks>,
    /// The durable queue and the worker's wake-up (the worker runs whatever
    /// the settings: they say per workspace what it does).
    pub task_queue: Option<(Store, Arc<tokio::sync::Notify>)>,
    /// The automatic-case flow.
    pub cases: Arc<crate::cases::Cases>,
    /// The store: the Salesforce connection, the queue, the maps, the ledger.
    pub store: Store,
    pub worker: Option<tokio::task::JoinHandle<()>>,
    /// The API budget: this workspace's Salesforce calls per day and the cap.
    pub budget: Budget,
    /// Every workspace's tenant (the fields above are the environment's).
    pub registry: Arc<Registry>,
}

/// Why the app could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("store (DATABASE_URL): {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Settings(#[from] crate::settings::SettingsError),
    #[error("workspaces: {0}")]
    Workspaces(RegistryError),
}

/// What tests and the bench may change about a build.
#[derive(Default, Clone)]
pub struct Extras {
    /// A fault point in the task worker (crash tests).
    pub fault: Option<Fault>,
    /// How long the worker's claim on a job lasts (a dead worker's test).
    pub job_lease: Option<std::time::Duration>,
    /// How long a form's in-flight create holds its idempotency key.
    pub ledger_lease: Option<std::time::Duration>,
}

impl App {
    pub fn client(&self) -> &Arc<SalesforceClient> {
        self.sidebar.client()
    }
}

/// reqwest is built without a bundled crypto provider; install ring once.
pub fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Builds the app for `config`, whose Salesforce settings must name an org
/// (`main` swaps the sandbox in before calling this).
///
/// `store` holds the Salesforce connection and everything durable
/// ([`Store::from_config`] for `DATABASE_URL`, [`Store::memory`] for the
/// sandbox and tests); it connects and migrates on first use, or at once
/// through [`start`].
pub fn build(config: &Config, store: Store) -> Result<App, BuildError> {
    build_with(config, store, Extras::default())
}

/// [`build`], then the store connected, migrated and today's `DATA_DIR`
/// imported before anything is served: a database fault stops start-up.
/// `SETTINGS_FILE`, when set, becomes the workspace's stored settings (a
/// bad file stops start-up, naming the key).
pub async fn start(config: &Config, store: Store) -> Result<App, BuildError> {
    store.ready().await?;
    let settings = crate::settings::load_at_start(config, &store).await?;
    let app = build(config, store)?;
    if let Some(env) = app.registry.env() {
        env.apply_settings(&settings);
    }
    // Mappings are checked against the org's Case describe: a bad one
    // stops start-up; an org that cannot be reached is only warned about
    // (every case write checks its values again).
    if config.serves_env_workspace() {
        match app.cases.check_settings(&settings).await {
            Ok(()) => {}
            Err(crate::cases::CheckError::Refused(e)) => return Err(e.into()),
            Err(e) => tracing::warn!(error = %e, "attribute mappings not checked"),
        }
    }
    // Installed workspaces' queued work runs without waiting for a request.
    match app.registry.load_all().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(workspaces = n, "installed workspaces loaded"),
        Err(e) => return Err(BuildError::Workspaces(e)),
    }
    Ok(app)
}

/// [`build`], with a fault point in the task worker (crash tests).
pub fn build_with_fault(
    config: &Config,
    store: Store,
    fault: Option<Fault>,
) -> Result<App, BuildError> {
    build_with(
        config,
        store,
        Extras {
            fault,
            ..Extras::default()
        },
    )
}

/// [`build`] with test and bench extras.
pub fn build_with(config: &Config, store: Store, extras: Extras) -> Result<App, BuildError> {
    install_crypto();
    let SalesforceMode::Org(org) = &config.salesforce else {
        panic!("app::build needs an org; start the sandbox first");
    };
    let http = reqwest::Client::builder()
        .timeout(config.salesforce_timeout)
        .connect_timeout(config.salesforce_timeout)
        .pool_idle_timeout(std::time::Duration::from_secs(60))
        // At most as many idle connections per host as may be in flight;
        // HTTP/2 (negotiated by ALPN when the org offers it) multiplexes.
        .pool_max_idle_per_host(config.salesforce_max_connections)
        .user_agent(concat!("sf-inbox/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a reqwest client with a crypto provider builds");
    let shared = Shared {
        config: Arc::new(config.clone()),
        http,
        store: store.clone(),
        cache: QueryCache::new(config.cache_ttl, config.cache_max_bytes),
        extras,
    };
    // The environment's workspace: served in single-workspace mode; built
    // in any case (the app's fields name it for tests and benches).
    let serves_env = config.serves_env_workspace();
    let env = Arc::new(build_tenant(
        &shared,
        TenantSpec {
            key: store.workspace().to_string(),
            workspace_id: config.workspace_id.clone(),
            credentials: Credentials {
                login_url: org.login_url.clone(),
                client_id: org.client_id.clone(),
                client_secret: org.client_secret.clone(),
                refresh_token: org.refresh_token.clone(),
            },
            intercom_token: config.intercom_access_token.clone(),
            intercom_base: config.intercom_api_url.clone(),
            action_token: config.action_token.clone(),
            installed: None,
            run_worker: serves_env,
        },
    ));
    // The app owns the environment's worker, as before the registry.
    let worker = env.take_running().into_iter().next();
    // Writes on any replica drop the person from this one's cache (one
    // cache for every tenant: its keys name the workspace and org).
    let mut invalidations = store.subscribe();
    let weak = Arc::downgrade(&env.sidebar);
    tokio::spawn(async move {
        loop {
            match invalidations.recv().await {
                Ok(inv) => match weak.upgrade() {
                    Some(sidebar) => {
                        sidebar
                            .profiles()
                            .forget_local(&inv.workspace, &inv.org, &inv.emails)
                    }
                    None => return,
                },
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    let factory: Option<Arc<dyn TenantFactory>> = config
        .install
        .as_ref()
        .map(|_| Arc::new(InstalledTenants(shared.clone())) as Arc<dyn TenantFactory>);
    let registry = Arc::new(
        Registry::new(store.clone(), serves_env.then(|| env.clone()), factory)
            .with_connect_logins(config.connect_logins.clone()),
    );
    registry.set_public_base(&config.public_base(config.bind_addr));
    let install = config.install.as_ref().map(|settings| {
        Arc::new(crate::workspaces::routes::Install::new(
            registry.clone(),
            shared.http.clone(),
            config,
            settings.clone(),
        ))
    });
    let router = routes::router(AppState {
        intercom_secret: SigningSecret(config.intercom_client_secret.clone()),
        registry: registry.clone(),
        install,
    });
    Ok(App {
        router,
        sidebar: env.sidebar.clone(),
        intercom: env.intercom.clone(),
        tasks: env.tasks.clone(),
        task_queue: Some((env.store.clone(), env.wake.clone())),
        cases: env.cases.clone(),
        store,
        worker,
        budget: env.budget.clone(),
        registry,
    })
}

/// What every tenant of the process shares.
#[derive(Clone)]
struct Shared {
    config: Arc<Config>,
    http: reqwest::Client,
    /// Unscoped: each tenant takes its workspace's scope of it.
    store: Store,
    /// One profile cache for all, bounded by `CACHE_MAX_BYTES`.
    cache: QueryCache<crate::salesforce::lookup::Profile>,
    extras: Extras,
}

/// Who a tenant is and how it reaches its org and Intercom.
struct TenantSpec {
    key: String,
    workspace_id: Option<String>,
    credentials: Credentials,
    intercom_token: Option<crate::config::Secret>,
    /// The Intercom REST host: `INTERCOM_API_URL`, else (an installed
    /// workspace) its region's; `None`: by each call's region.
    intercom_base: Option<url::Url>,
    action_token: Option<crate::config::Secret>,
    installed: Option<Installed>,
    run_worker: bool,
}

/// One workspace's parts: its Salesforce client and token manager, its
/// Intercom client, its forms, tasks, cases and sidebar over its scope of
/// the store, and (when `run_worker`) its queue worker.
fn build_tenant(shared: &Shared, spec: TenantSpec) -> Tenant {
    let config = &shared.config;
    let store = shared.store.for_workspace(&spec.key);
    let auth = TokenManager::new(shared.http.clone(), spec.credentials, store.clone());
    let connected = auth.connected();
    let intercom = Arc::new(IntercomClient::new(
        shared.http.clone(),
        spec.intercom_token,
        spec.intercom_base,
    ));
    let client = SalesforceClient::new(
        shared.http.clone(),
        auth,
        config.api_version.clone(),
        config.salesforce_timeout,
    )
    .with_max_connections(config.salesforce_max_connections);
    let budget = Budget::new(store.clone(), Policy::default());
    client.observe(Arc::new(budget.clone()));
    let ledger_lease = shared
        .extras
        .ledger_lease
        .unwrap_or(config.salesforce_timeout * 2 + std::time::Duration::from_secs(10));
    let forms = crate::forms::Forms::new(config.forms.clone(), intercom.clone())
        .with_ledger(Arc::new(DurableLedger(store.ledger(ledger_lease))));
    let tasks = Arc::new(Tasks::new(
        client.clone(),
        intercom.clone(),
        spec.workspace_id.clone(),
    ));
    // The worker's wake-up: webhooks, the Workflow action and the
    // sidebar's Retry of an automatic case all ring it.
    let wake = Arc::new(tokio::sync::Notify::new());
    let sidebar = Arc::new(
        Sidebar::new(client, shared.cache.clone(), spec.workspace_id.clone())
            .with_forms(forms)
            .with_tasks(tasks.clone())
            .with_intercom(intercom.clone())
            .with_store(store.clone())
            .with_auto_cases(store.clone(), wake.clone()),
    );
    let case_service = crate::services::case::CaseService::new(
        sidebar.client().clone(),
        Arc::new(DurableLedger(store.ledger(ledger_lease))),
    );
    let cases = Arc::new(crate::cases::Cases::new(
        case_service,
        intercom.clone(),
        spec.workspace_id.clone(),
        config.case_external_id_field.clone(),
    ));
    let defaults = crate::settings::WorkspaceSettings::defaults(config);
    let mut running = Vec::new();
    if spec.run_worker {
        let mut w = Worker::new(tasks.clone(), store.clone(), wake.clone())
            .with_connected(connected)
            .with_retention(config.queue_retention)
            .with_cases(cases.clone(), defaults.clone())
            .with_budget(budget.clone());
        if let Some(f) = shared.extras.fault.clone() {
            w = w.with_fault(f);
        }
        if let Some(l) = shared.extras.job_lease {
            w = w.with_lease(l);
        }
        running.push(w.spawn());
    }
    let case_action = Arc::new(crate::cases::action::CaseAction {
        cases: cases.clone(),
        store: store.clone(),
        wake: wake.clone(),
        defaults: defaults.clone(),
        token: spec.action_token,
        wait: config.salesforce_timeout,
    });
    let webhooks = Arc::new(
        Webhooks::new(Some((store.clone(), wake.clone())))
            .with_workspace(spec.workspace_id.clone()),
    );
    Tenant {
        key: spec.key,
        workspace_id: spec.workspace_id,
        sidebar,
        tasks,
        cases,
        case_action,
        webhooks,
        intercom,
        budget,
        store,
        wake,
        defaults,
        installed: spec.installed,
        running: std::sync::Mutex::new(running),
    }
}

/// Installed workspaces' tenants: the connected app's credentials from the
/// environment, the refresh token and login host from the workspace's
/// stored connection, its own Intercom token and stored settings.
struct InstalledTenants(Shared);

#[async_trait::async_trait]
impl TenantFactory for InstalledTenants {
    async fn installed(&self, installed: Installed) -> Result<Tenant, RegistryError> {
        let shared = &self.0;
        let (client_id, client_secret, default_login) = match &shared.config.salesforce {
            SalesforceMode::Org(o) => (
                o.client_id.clone(),
                o.client_secret.clone(),
                o.login_url.clone(),
            ),
            SalesforceMode::Sandbox => (None, None, crate::config::default_login_url()),
        };
        let login_url = installed
            .connection
            .as_ref()
            .and_then(|c| c.login_url.as_deref())
            .and_then(|u| url::Url::parse(u).ok())
            .unwrap_or(default_login);
        let ws = installed.row.workspace_id.clone();
        let tenant = build_tenant(
            shared,
            TenantSpec {
                key: ws.clone(),
                workspace_id: Some(ws),
                credentials: Credentials {
                    login_url,
                    client_id,
                    client_secret,
                    // The stored connection's (none configured).
                    refresh_token: None,
                },
                intercom_token: installed.row.intercom_token.clone(),
                // Its token works on its region's host only.
                intercom_base: Some(shared.config.intercom_api_url.clone().unwrap_or_else(|| {
                    IntercomClient::region_url(installed.row.region.as_deref())
                })),
                action_token: None,
                installed: Some(installed),
                run_worker: true,
            },
        );
        let settings =
            crate::settings::WorkspaceSettings::load(&tenant.store, &tenant.defaults).await?;
        tenant.apply_settings(&settings);
        Ok(tenant)
    }
}

/// The domain's ledger port (`services::Ledger`) on the durable store's
/// ledger: the key's workspace id picks the rows. Here, in the wiring, so
/// that the store never names the domain (services → salesforce → store).
struct DurableLedger(crate::store::Ledger);

#[async_trait::async_trait]
impl crate::services::Ledger for DurableLedger {
    async fn begin(
        &self,
        key: &crate::services::LedgerKey,
    ) -> Result<crate::services::Begin, crate::services::LedgerError> {
        use crate::services::Begin as B;
        let l = self.0.in_workspace(&key.workspace_id);
        Ok(
            match l
                .begin_waiting(&key.idempotency_key)
                .await
                .map_err(port_error)?
            {
                crate::store::Begin::Begun => B::Begun,
                crate::store::Begin::InFlight => B::InFlight,
                crate::store::Begin::Unknown { .. } => B::Unknown,
                crate::store::Begin::Done(id) => B::Done(id),
            },
        )
    }
    async fn done(
        &self,
        key: &crate::services::LedgerKey,
        record_id: &str,
    ) -> Result<(), crate::services::LedgerError> {
        let l = self.0.in_workspace(&key.workspace_id);
        crate::store::Ledger::done(&l, &key.idempotency_key, record_id)
            .await
            .map_err(port_error)
    }
    async fn unknown(
        &self,
        key: &crate::services::LedgerKey,
    ) -> Result<(), crate::services::LedgerError> {
        let l = self.0.in_workspace(&key.workspace_id);
        crate::store::Ledger::unknown(&l, &key.idempotency_key)
            .await
            .map_err(port_error)
    }
    async fn forget(
        &self,
        key: &crate::services::LedgerKey,
    ) -> Result<(), crate::services::LedgerError> {
        let l = self.0.in_workspace(&key.workspace_id);
        crate::store::Ledger::forget(&l, &key.idempotency_key)
            .await
            .map_err(port_error)
    }
}

fn port_error(e: StoreError) -> crate::services::LedgerError {
    crate::services::LedgerError(e.to_string())
}
