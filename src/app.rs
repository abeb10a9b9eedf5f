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
}

/// Why the app could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("store (DATABASE_URL): {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Settings(#[from] crate::settings::SettingsError),
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
    apply_settings(&app.sidebar, &app.budget, None, &settings);
    // Mappings are checked against the org's Case describe: a bad one
    // stops start-up; an org that cannot be reached is only warned about
    // (every case write checks its values again).
    match app.cases.check_settings(&settings).await {
        Ok(()) => {}
        Err(crate::cases::CheckError::Refused(e)) => return Err(e.into()),
        Err(e) => tracing::warn!(error = %e, "attribute mappings not checked"),
    }
    Ok(app)
}

/// Puts a workspace's settings to work where they are read per request:
/// the API budget's cap and the panels' chosen fields (`workspace` `None`:
/// every workspace without its own). Called at start-up and by the
/// console when it saves.
pub fn apply_settings(
    sidebar: &Sidebar,
    budget: &Budget,
    workspace: Option<&str>,
    settings: &crate::settings::WorkspaceSettings,
) {
    budget.set_policy(Policy::from(&settings.budget));
    let p = &settings.panels;
    sidebar.profiles().set_panel_fields(
        workspace,
        crate::salesforce::lookup::PanelFieldNames::from_lists(&p.contact, &p.account, &p.lead),
    );
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
    let auth = TokenManager::new(
        http.clone(),
        Credentials {
            login_url: org.login_url.clone(),
            client_id: org.client_id.clone(),
            client_secret: org.client_secret.clone(),
            refresh_token: org.refresh_token.clone(),
        },
        store.clone(),
    );
    let connected = auth.connected();
    let intercom = Arc::new(IntercomClient::new(
        http.clone(),
        config.intercom_access_token.clone(),
        config.intercom_api_url.clone(),
    ));
    let client = SalesforceClient::new(
        http,
        auth,
        config.api_version.clone(),
        config.salesforce_timeout,
    )
    .with_max_connections(config.salesforce_max_connections);
    let budget = Budget::new(store.clone(), Policy::default());
    client.observe(Arc::new(budget.clone()));
    let cache = QueryCache::new(config.cache_ttl, config.cache_max_bytes);
    let ledger_lease = extras
        .ledger_lease
        .unwrap_or(config.salesforce_timeout * 2 + std::time::Duration::from_secs(10));
    let forms = crate::forms::Forms::new(config.forms.clone(), intercom.clone())
        .with_ledger(Arc::new(DurableLedger(store.ledger(ledger_lease))));
    let tasks = Arc::new(Tasks::new(
        client.clone(),
        intercom.clone(),
        config.workspace_id.clone(),
    ));
    // The worker's wake-up: webhooks, the Workflow action and the
    // sidebar's Retry of an automatic case all ring it.
    let wake = Arc::new(tokio::sync::Notify::new());
    let sidebar = Arc::new(
        Sidebar::new(client, cache, config.workspace_id.clone())
            .with_forms(forms)
            .with_tasks(tasks.clone())
            .with_intercom(intercom.clone())
            .with_store(store.clone())
            .with_auto_cases(store.clone(), wake.clone()),
    );
    // Writes on any replica drop the person from this one's cache.
    let mut invalidations = store.subscribe();
    let weak = Arc::downgrade(&sidebar);
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
    let case_service = crate::services::case::CaseService::new(
        sidebar.client().clone(),
        Arc::new(DurableLedger(store.ledger(ledger_lease))),
    );
    let cases = Arc::new(crate::cases::Cases::new(
        case_service,
        intercom.clone(),
        config.workspace_id.clone(),
        config.case_external_id_field.clone(),
    ));
    let defaults = crate::settings::WorkspaceSettings::defaults(config);
    let mut w = Worker::new(tasks.clone(), store.clone(), wake.clone())
        .with_connected(connected)
        .with_retention(config.queue_retention)
        .with_cases(cases.clone(), defaults.clone())
        .with_budget(budget.clone());
    if let Some(f) = extras.fault {
        w = w.with_fault(f);
    }
    if let Some(l) = extras.job_lease {
        w = w.with_lease(l);
    }
    let (task_queue, worker) = (Some((store.clone(), wake.clone())), Some(w.spawn()));
    let case_action = Arc::new(crate::cases::action::CaseAction {
        cases: cases.clone(),
        store: store.clone(),
        wake,
        defaults,
        token: config.action_token.clone(),
        wait: config.salesforce_timeout,
    });
    let router = routes::router(AppState {
        intercom_secret: SigningSecret(config.intercom_client_secret.clone()),
        sidebar: sidebar.clone(),
        webhooks: Arc::new(
            Webhooks::new(task_queue.clone()).with_workspace(config.workspace_id.clone()),
        ),
        case_action,
    });
    Ok(App {
        router,
        sidebar,
        intercom,
        tasks,
        task_queue,
        cases,
        store,
        worker,
        budget,
    })
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
