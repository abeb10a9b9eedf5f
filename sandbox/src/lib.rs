//! A fake Salesforce org speaking the real REST wire protocol on a loopback port.
//!
//! It is the app's built-in sandbox when no Salesforce account is configured, and the target of
//! integration tests. Everything a client can observe (token rotation rules, error bodies, query
//! shapes, paging, composite, limit headers) follows real Salesforce, so that client code that
//! works here works against a real org; switches inject the failures a real org produces.
//!
//! # Connecting through OAuth
//! Besides the pre-issued refresh token ([`SANDBOX_REFRESH_TOKEN`]), an org answers Salesforce's
//! web-server flow with PKCE: `GET /services/oauth2/authorize` shows an Allow/Deny page, Allow
//! redirects (302) with a one-time `code` that `POST /services/oauth2/token`
//! (`grant_type=authorization_code`, `code_verifier`) exchanges within 10 minutes for a rotating
//! refresh token. Every org accepts the one connected app [`SANDBOX_CLIENT_ID`] /
//! [`SANDBOX_CLIENT_SECRET`] (an ISV's connected app is installed in many orgs), any `redirect_uri`
//! (the sandbox cannot know the app's public URL; the token request must repeat it exactly).
//!
//! # Two orgs
//! [`FakeOrg::start`] runs org A ([`SANDBOX_ORG_ID`], seeded from `fixtures/org/`);
//! [`FakeOrg::start_with`] and [`OrgOptions::second`] run org B ([`SANDBOX_ORG_B_ID`], seeded from
//! `fixtures/sandbox-org-b/`, pre-issued refresh token [`SANDBOX_ORG_B_REFRESH_TOKEN`], API user
//! [`SANDBOX_ORG_B_USER_ID`]), so two workspaces can connect two orgs at once. The orgs share the
//! describe and picklists but not their people: `tony@stark.example` is a Contact only in org B,
//! `priya@hooli.example` only in org A, and `hana@globex.example` is in both with a different
//! account (Globex Corporation in A, Globex Europe GmbH in B).
//!
//! The fake Intercom ([`intercom`]) does the same for Intercom's install (OAuth, `/me`).

mod auth;
pub mod error;
pub mod intercom;
pub mod json;
mod pages;
pub mod rules;
pub mod schema;
mod server;
pub mod soql;
pub mod store;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

pub use error::SfError;

pub const SANDBOX_CLIENT_ID: &str = "sandbox-client-id";
pub const SANDBOX_CLIENT_SECRET: &str = "sandbox-client-secret";
pub const SANDBOX_REFRESH_TOKEN: &str = "sandbox-refresh-token";
/// 18-character id of the sandbox org.
pub const SANDBOX_ORG_ID: &str = "00D5e000000SbxAEAS";
/// Org A's name (its `Organization` row), shown on its authorize page.
pub const SANDBOX_ORG_NAME: &str = "Acme Sales (Sandbox)";
/// 18-character id of the second sandbox org ([`OrgOptions::second`]).
pub const SANDBOX_ORG_B_ID: &str = "00D5e000000SbxBEAS";
/// Org B's name (its `Organization` row).
pub const SANDBOX_ORG_B_NAME: &str = "Initech Support (Sandbox B)";
/// Org B's pre-issued refresh token (org A's is [`SANDBOX_REFRESH_TOKEN`]; neither works in the
/// other org).
pub const SANDBOX_ORG_B_REFRESH_TOKEN: &str = "sandbox-org-b-refresh-token";
/// Org B's API user: the user its tokens act as (org A's is [`store::INTEGRATION_USER_ID`]).
pub const SANDBOX_ORG_B_USER_ID: &str = "0055e000002IntBAAS";
/// Org B's seed directory under the fixtures directory.
pub const SANDBOX_ORG_B_SEED: &str = "sandbox-org-b";

/// Who an org is: its id, name, seed data and the user its tokens act as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgOptions {
    /// 18-character org id (`00D...`): in identity URLs, and the prefix of access tokens.
    pub org_id: String,
    /// Shown on the authorize page ("Allow sf-inbox to access <name>?").
    pub name: String,
    /// Directory of the org's rows (`<Object>.json`), relative to the fixtures directory; the
    /// describe (`describe/`) and picklists (`picklists/`) are shared by every org.
    pub seed: PathBuf,
    /// The user every token of this org acts as (the token answer's identity URL names it) and
    /// the owner of the records the API creates; a row of the seed's `User.json`.
    pub user_id: String,
    /// Refresh token usable from the start (and again after [`Switches::reset`]), for a
    /// pre-connected org.
    pub refresh_token: String,
}

impl OrgOptions {
    /// Org A, what [`FakeOrg::start`] runs.
    pub fn first() -> OrgOptions {
        OrgOptions {
            org_id: SANDBOX_ORG_ID.to_string(),
            name: SANDBOX_ORG_NAME.to_string(),
            seed: PathBuf::from("org"),
            user_id: store::INTEGRATION_USER_ID.to_string(),
            refresh_token: SANDBOX_REFRESH_TOKEN.to_string(),
        }
    }

    /// Org B: another org id, name, API user and refresh token, seeded from
    /// `fixtures/sandbox-org-b/`.
    pub fn second() -> OrgOptions {
        OrgOptions {
            org_id: SANDBOX_ORG_B_ID.to_string(),
            name: SANDBOX_ORG_B_NAME.to_string(),
            seed: PathBuf::from(SANDBOX_ORG_B_SEED),
            user_id: SANDBOX_ORG_B_USER_ID.to_string(),
            refresh_token: SANDBOX_ORG_B_REFRESH_TOKEN.to_string(),
        }
    }
}

/// Default query batch size, as in Salesforce.
pub const DEFAULT_PAGE_SIZE: usize = 2000;

/// One request the fake org answered (control endpoints excluded).
#[derive(Clone, Debug, Serialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    /// Every SOQL string this request ran (composite subrequests included), decoded.
    pub soql: Vec<String>,
    pub status: u16,
    /// For a composite request, the number of subrequests; otherwise 0.
    pub subrequests: usize,
    /// The `Sforce-Auto-Assign` header, when sent.
    pub auto_assign: Option<String>,
    /// A composite's subrequests, in order (empty otherwise).
    pub subcalls: Vec<LoggedCall>,
}

/// One REST call: a request, or a subrequest of a composite.
#[derive(Clone, Debug, Serialize)]
pub struct LoggedCall {
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The `Sforce-Auto-Assign` header (a subrequest's `httpHeaders`).
    pub auto_assign: Option<String>,
}

impl LoggedRequest {
    /// This request as a call, then its composite subrequests: every REST
    /// call it stood for, e.g. to count the creates however they came.
    pub fn calls(&self) -> Vec<LoggedCall> {
        let mut out = vec![LoggedCall {
            method: self.method.clone(),
            path: self.path.clone(),
            status: self.status,
            auto_assign: self.auto_assign.clone(),
        }];
        out.extend(self.subcalls.iter().cloned());
        out
    }
}

/// Current switch values.
#[derive(Clone, Debug, Serialize)]
pub struct SwitchState {
    pub latency_ms: u64,
    /// Delay after a record create is saved, before it is answered (a slow
    /// trigger): the record exists while the client may have timed out.
    pub create_latency_ms: u64,
    /// Delay after a token is issued (and, with rotation, the old refresh
    /// token retired) before it is answered: a late token answer.
    pub token_latency_ms: u64,
    /// After a record create is saved, the connection is dropped without
    /// an answer (a reset connection: the record exists, the client can't
    /// know).
    pub reset_after_create: bool,
    pub fail_status: Option<u16>,
    pub malformed: bool,
    pub api_limit: bool,
    pub rotation: bool,
    pub page_size: usize,
    /// `/composite` answers 200 without its last sub-answer (a partial answer).
    pub composite_missing: bool,
    /// `/composite` answers 200 with an empty `compositeResponse`.
    pub composite_empty: bool,
    /// API calls other apps made in the org's window: added to the
    /// `Sforce-Limit-Info` used figure (a busy org without making the calls).
    pub other_api_usage: u64,
}

impl Default for SwitchState {
    fn default() -> Self {
        SwitchState {
            latency_ms: 0,
            create_latency_ms: 0,
            token_latency_ms: 0,
            reset_after_create: false,
            fail_status: None,
            malformed: false,
            api_limit: false,
            rotation: true,
            page_size: DEFAULT_PAGE_SIZE,
            composite_missing: false,
            composite_empty: false,
            other_api_usage: 0,
        }
    }
}

/// Token actions a switch handle can trigger (shared with the server).
#[derive(Debug)]
struct Shared {
    state: Mutex<SwitchState>,
    tokens: Mutex<auth::Tokens>,
}

/// Fault-injection switches; a cheap, cloneable handle onto the running org.
#[derive(Clone)]
pub struct Switches {
    shared: Arc<Shared>,
}

impl Switches {
    fn update(&self, f: impl FnOnce(&mut SwitchState)) {
        f(&mut self.shared.state.lock().expect("switch lock"));
    }

    /// Current values.
    pub fn state(&self) -> SwitchState {
        self.shared.state.lock().expect("switch lock").clone()
    }

    /// Delay before answering every `/services/**` request (token endpoint too).
    pub fn set_latency(&self, d: Duration) {
        self.update(|s| s.latency_ms = d.as_millis() as u64);
    }

    /// Delay after a create is saved, before it is answered.
    pub fn set_create_latency(&self, d: Duration) {
        self.update(|s| s.create_latency_ms = d.as_millis() as u64);
    }

    /// Delay between issuing a token and answering it.
    pub fn set_token_latency(&self, d: Duration) {
        self.update(|s| s.token_latency_ms = d.as_millis() as u64);
    }

    /// Drop the connection after each create is saved.
    pub fn set_reset_after_create(&self, on: bool) {
        self.update(|s| s.reset_after_create = on);
    }

    /// `Some(500|502|503|...)`: every `/services/data` call fails with that status; `None` clears.
    pub fn fail_with(&self, status: Option<u16>) {
        self.update(|s| s.fail_status = status);
    }

    /// `/services/data` calls answer 200 with a truncated JSON body.
    pub fn set_malformed(&self, on: bool) {
        self.update(|s| s.malformed = on);
    }

    /// `/services/data` calls answer 403 REQUEST_LIMIT_EXCEEDED.
    /// Calls other apps made: the org's `Sforce-Limit-Info` says this many more.
    pub fn set_other_api_usage(&self, calls: u64) {
        self.update(|s| s.other_api_usage = calls);
    }

    pub fn set_api_limit(&self, on: bool) {
        self.update(|s| s.api_limit = on);
    }

    /// `/composite` leaves out its last sub-answer (still HTTP 200).
    pub fn set_composite_missing(&self, on: bool) {
        self.update(|s| s.composite_missing = on);
    }

    /// `/composite` answers an empty `compositeResponse` (still HTTP 200).
    pub fn set_composite_empty(&self, on: bool) {
        self.update(|s| s.composite_empty = on);
    }

    /// Every access token issued so far becomes invalid.
    pub fn expire_access_tokens(&self) {
        self.shared
            .tokens
            .lock()
            .expect("token lock")
            .expire_access();
    }

    /// Every refresh token becomes invalid (and the access tokens issued from them).
    pub fn revoke_refresh_tokens(&self) {
        self.shared.tokens.lock().expect("token lock").revoke_all();
    }

    /// Refresh-token rotation (on by default).
    pub fn set_rotation(&self, on: bool) {
        self.update(|s| s.rotation = on);
    }

    /// Query batch size (default 2000); smaller values force `done:false` + `nextRecordsUrl`.
    pub fn set_page_size(&self, n: usize) {
        self.update(|s| s.page_size = n.max(1));
    }

    /// All switches back to defaults, and the org's pre-issued refresh token
    /// ([`OrgOptions::refresh_token`]) usable again (a new token
    /// family; tokens already issued keep their state). Data is not reseeded.
    pub fn reset(&self) {
        self.update(|s| *s = SwitchState::default());
        self.shared.tokens.lock().expect("token lock").reconnect();
    }

    fn latency(&self) -> Duration {
        Duration::from_millis(self.state().latency_ms)
    }
}

/// Counters and log shared by the handlers.
#[derive(Default)]
struct Stats {
    api_calls: AtomicUsize,
    token_requests: AtomicUsize,
    /// TCP connections accepted (every port user: API, token, controls).
    connections: AtomicUsize,
    log: Mutex<Vec<LoggedRequest>>,
}

impl Stats {
    fn push(&self, entry: LoggedRequest) {
        self.log.lock().expect("log lock").push(entry);
    }
}

/// A running fake org; dropping it (or [`FakeOrg::shutdown`]) stops the server.
pub struct FakeOrg {
    url: String,
    inner: Arc<server::Inner>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl FakeOrg {
    /// Binds `addr` (e.g. `127.0.0.1:0`), seeds from `fixtures_dir` (`org/*.json`,
    /// `describe/*.json`) and serves in a tokio task: org A ([`OrgOptions::first`]).
    pub async fn start(addr: SocketAddr, fixtures_dir: &Path) -> std::io::Result<FakeOrg> {
        FakeOrg::start_with(addr, fixtures_dir, OrgOptions::first()).await
    }

    /// Like [`FakeOrg::start`], for the org `options` describes (e.g. [`OrgOptions::second`]).
    pub async fn start_with(
        addr: SocketAddr,
        fixtures_dir: &Path,
        options: OrgOptions,
    ) -> std::io::Result<FakeOrg> {
        let store = store::Store::load_seeded(fixtures_dir, &options.seed, &options.user_id)?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let url = format!("http://{local}");
        let inner = Arc::new(server::Inner::new(url.clone(), store, options));
        let app = server::router(inner.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let counted = inner.clone();
        let listener = axum::serve::ListenerExt::tap_io(listener, move |_| {
            counted.stats.connections.fetch_add(1, Ordering::SeqCst);
        });
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "sandbox org server stopped");
            }
        });
        Ok(FakeOrg {
            url,
            inner,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`: both the login URL and the `instance_url` handed out.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn switches(&self) -> Switches {
        self.inner.switches.clone()
    }

    /// Who this org is (id, name, seed, API user, pre-issued refresh token).
    pub fn options(&self) -> &OrgOptions {
        &self.inner.org
    }

    /// Request log, oldest first (control endpoints under `/__sandbox` are not logged).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.inner.stats.log.lock().expect("log lock").clone()
    }

    pub fn clear_requests(&self) {
        self.inner.stats.log.lock().expect("log lock").clear();
    }

    /// Requests under `/services/data/**` (a composite counts as one; the token endpoint not).
    pub fn api_calls(&self) -> usize {
        self.inner.stats.api_calls.load(Ordering::SeqCst)
    }

    /// TCP connections the org accepted so far.
    pub fn connections(&self) -> usize {
        self.inner.stats.connections.load(Ordering::SeqCst)
    }

    /// POSTs to `/services/oauth2/token`.
    pub fn token_requests(&self) -> usize {
        self.inner.stats.token_requests.load(Ordering::SeqCst)
    }

    /// Current rows of `sobject` (for asserting creates).
    pub fn records(&self, sobject: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
        self.inner
            .store
            .lock()
            .expect("store lock")
            .rows(sobject)
            .to_vec()
    }

    /// Stops the server and waits (briefly) for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for FakeOrg {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
