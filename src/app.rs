//! Wiring: from a [`Config`] to a router with its Salesforce client, cache
//! and sidebar. `main` and the tests both build the app through here.

use std::sync::{Arc, Once};

use axum::Router;

use crate::config::{Config, SalesforceMode};
use crate::edge::SigningSecret;
use crate::intercom::IntercomClient;
use crate::routes::{self, AppState};
use crate::salesforce::auth::{Credentials, TokenManager};
use crate::salesforce::cache::QueryCache;
use crate::salesforce::SalesforceClient;
use crate::sidebar::Sidebar;
use crate::store::{StoreError, TokenStore};
use crate::tasks::store::TaskStore;
use crate::tasks::webhook::Webhooks;
use crate::tasks::worker::{Fault, Worker};
use crate::tasks::Tasks;

pub struct App {
    pub router: Router,
    pub sidebar: Arc<Sidebar>,
    pub intercom: Arc<IntercomClient>,
    pub tasks: Arc<Tasks>,
    /// With `AUTO_TASKS` on: the durable queue, the worker's wake-up and
    /// the worker itself (already running).
    pub task_queue: Option<(TaskStore, Arc<tokio::sync::Notify>)>,
    pub worker: Option<tokio::task::JoinHandle<()>>,
}

/// Why the app could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    TokenStore(#[from] StoreError),
    #[error("task database (DATABASE_URL): {0}")]
    TaskStore(#[from] crate::tasks::store::StoreError),
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
pub fn build(config: &Config, store: TokenStore) -> Result<App, BuildError> {
    build_with_fault(config, store, None)
}

/// [`build`], with a fault point in the task worker (crash tests).
pub fn build_with_fault(
    config: &Config,
    store: TokenStore,
    fault: Option<Fault>,
) -> Result<App, BuildError> {
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
        store,
    )?;
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
    let cache = QueryCache::new(config.cache_ttl, config.cache_max_bytes);
    let forms = crate::forms::Forms::new(config.forms.clone(), intercom.clone());
    let tasks = Arc::new(Tasks::new(
        client.clone(),
        intercom.clone(),
        config.workspace_id.clone(),
    ));
    let sidebar = Arc::new(
        Sidebar::new(client, cache, config.workspace_id.clone())
            .with_forms(forms)
            .with_tasks(tasks.clone())
            .with_intercom(intercom.clone()),
    );
    let (task_queue, worker) = if config.auto_tasks {
        let db = config
            .database
            .clone()
            .unwrap_or_else(|| TaskStore::default_path(&config.data_dir));
        let task_store = TaskStore::open(&db)?;
        let wake = Arc::new(tokio::sync::Notify::new());
        let mut w = Worker::new(tasks.clone(), task_store.clone(), wake.clone());
        if let Some(f) = fault {
            w = w.with_fault(f);
        }
        (Some((task_store, wake)), Some(w.spawn()))
    } else {
        (None, None)
    };
    let router = routes::router(AppState {
        intercom_secret: SigningSecret(config.intercom_client_secret.clone()),
        sidebar: sidebar.clone(),
        webhooks: Arc::new(
            Webhooks::new(task_queue.clone()).with_workspace(config.workspace_id.clone()),
        ),
    });
    Ok(App {
        router,
        sidebar,
        intercom,
        tasks,
        task_queue,
        worker,
    })
}
