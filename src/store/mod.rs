//! The durable store: everything that must survive a restart or be shared
//! by replicas — the Salesforce connection (refresh and access token,
//! instance URL, org id), the webhook queue, the conversation → Task map,
//! the form idempotency ledger, the workspace settings, the sync errors and
//! the conversation → Case map ([`sync_errors`]), the installed workspaces, their
//! admin sessions and OAuth states ([`tenants`]) — behind one type, [`Store`], on one of two
//! backends chosen by `DATABASE_URL`:
//!
//! - SQLite ([`sqlite`], through `rusqlite`, bundled): the default, a file
//!   under `DATA_DIR` (mode 0600), or memory in sandbox mode. One process:
//!   calls run on tokio's blocking pool behind one connection.
//! - PostgreSQL ([`postgres`], through `tokio-postgres` and a
//!   `deadpool-postgres` pool): several replicas on one database. Jobs are
//!   claimed with `FOR UPDATE SKIP LOCKED` and a lease; the token refresh
//!   holds the connection row's lock; cache invalidations travel by
//!   `LISTEN/NOTIFY`.
//!
//! Every table is keyed by a workspace id; single-workspace mode uses one
//! fixed id ([`Store::workspace`]). Versioned migrations ([`migrations`])
//! run once, before the first use; the first start on a `DATA_DIR` that
//! today's release left imports its token file and queue ([`legacy`]).
//!
//! Every token the store writes (the Salesforce refresh and access tokens,
//! the Intercom token, PKCE verifiers, CSRF tokens) is sealed with
//! `ENCRYPTION_KEY` ([`seal`]); plaintext that an older release wrote is
//! read as it is and re-sealed at start-up ([`Store::ready`]).

pub mod legacy;
pub mod migrations;
mod postgres;
pub mod seal;
mod sqlite;
pub mod sync_errors;
mod tenants;
mod usage;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::config::{Config, Database, Secret};

pub use seal::{SealError, Sealer};
pub use sync_errors::{
    sync_error_id, token_hash, MappedCase, NewSyncError, SyncError, SyncKind, SYNC_ERROR_RETENTION,
};
pub use tenants::{AdminSession, ConnectionInfo, OAuthState, WorkspaceRow};
pub use usage::{OrgUsage, UsageDay};

/// The workspace id of single-workspace mode when `INTERCOM_WORKSPACE_ID`
/// is not set.
pub const DEFAULT_WORKSPACE: &str = "default";

/// How long a claimed job is its worker's; past it (the worker died) any
/// worker may take it again.
pub const JOB_LEASE: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(String),
    #[error("could not create {path}: {reason}")]
    Dir { path: String, reason: String },
    #[error("importing {path}: {reason}")]
    Import { path: String, reason: String },
    /// A stored secret does not open with `ENCRYPTION_KEY`'s keys (the
    /// message names the variable and the key id, never a key).
    #[error(transparent)]
    Sealed(#[from] SealError),
    #[error(
        "ENCRYPTION_KEY is required with a PostgreSQL DATABASE_URL: every replica seals tokens \
         with it (32 random bytes in base64, e.g. `openssl rand -base64 32`)"
    )]
    KeyRequired,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        // tokio-postgres errors name the server's message, never the URL.
        StoreError::Database(match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        })
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => StoreError::Database(format!("connection pool: {other}")),
        }
    }
}

/// One queued notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Intercom's notification id.
    pub id: String,
    pub topic: String,
    pub conversation_id: String,
    /// The Intercom workspace the notification names (`app_id`).
    pub workspace_id: Option<String>,
    pub attempts: u32,
}

/// A Task the app made for a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub who_id: String,
    pub task_id: String,
    pub completed: bool,
}

/// Counts by state, for tests, the bench and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub pending: u64,
    /// Claimed by a worker (lease running).
    pub running: u64,
    pub done: u64,
    pub failed: u64,
}

impl QueueCounts {
    /// Not finished yet: pending or being worked.
    pub fn waiting(&self) -> u64 {
        self.pending + self.running
    }
}

/// Why a job was given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Park {
    /// A retry at once would not help but time or a reconnect can (revoked
    /// connection, an outage longer than the attempts): retried
    /// automatically once the connection works again.
    Connection,
    /// Nothing but an operator can fix it (a refused field): kept failed
    /// until `sf-inbox retry-failed`.
    Permanent,
}

impl Park {
    fn as_str(self) -> &'static str {
        match self {
            Park::Connection => "connection",
            Park::Permanent => "permanent",
        }
    }
}

/// What a failed attempt comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    RetryIn(Duration),
    Parked(Park),
}

/// The Salesforce connection as stored (one row per workspace).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConnectionRow {
    pub refresh_token: Option<Secret>,
    /// SHA-256 of the configured `SALESFORCE_REFRESH_TOKEN` this chain
    /// started from: a new configured token (an admin reconnected) wins.
    pub seeded_from: Option<String>,
    pub access_token: Option<Secret>,
    pub instance_url: Option<String>,
    pub org_id: Option<String>,
    pub user_id: Option<String>,
    /// Bumped on every refresh, shared by the replicas.
    pub generation: i64,
    /// Salesforce refused the refresh token (`invalid_grant`).
    pub revoked: Option<String>,
}

impl std::fmt::Debug for ConnectionRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionRow")
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("has_access_token", &self.access_token.is_some())
            .field("org_id", &self.org_id)
            .field("generation", &self.generation)
            .field("revoked", &self.revoked)
            .finish()
    }
}

/// SHA-256 of a configured refresh token (stored instead of the token).
pub fn fingerprint(token: Option<&Secret>) -> Option<String> {
    token.map(|t| hex::encode(Sha256::digest(t.expose().as_bytes())))
}

/// The refresh token to start from: the stored one if it descends from the
/// configured one (and Salesforce has not refused it), else the configured
/// one. `true` when the row must be reseeded from the configured token.
pub fn starting_token(row: &ConnectionRow, configured: Option<&Secret>) -> (Option<Secret>, bool) {
    let descends = configured.is_none() || row.seeded_from == fingerprint(configured);
    match &row.refresh_token {
        Some(stored) if descends && row.revoked.is_none() => (Some(stored.clone()), false),
        _ => (configured.cloned(), configured.is_some()),
    }
}

/// A form's create, per idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// First try: create.
    Begun,
    /// Another try (here or on another replica) is creating right now.
    InFlight,
    /// An earlier try may have created the record (a timeout, a reset, a
    /// 5xx, a crash): look for it before creating. This caller now holds
    /// the key.
    Unknown { since: DateTime<Utc> },
    /// Created: this record.
    Done(String),
}

/// Drops a person's cached profile wherever it is cached.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Invalidation {
    pub workspace: String,
    pub org: String,
    pub emails: Vec<String>,
}

#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(Box<postgres::Postgres>),
}

/// The store, scoped to one workspace. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    workspace: Arc<str>,
    ready: Arc<tokio::sync::OnceCell<()>>,
    /// `DATA_DIR` of today's release, imported once on first use.
    import_from: Option<Arc<PathBuf>>,
    /// Local subscribers to invalidations (SQLite; PostgreSQL adds NOTIFY).
    invalidations: tokio::sync::broadcast::Sender<Invalidation>,
    /// The queue's "now" (due times, back-off, leases, the task map).
    clock: Clock,
    /// Seals and opens the tokens the store keeps.
    sealer: Sealer,
    /// The last connection health written per workspace ([`Store::record_call`]).
    call_marks: tenants::CallMarks,
}

/// The queue's "now" for due times and back-off: the wall clock, which a
/// test can move forward ([`Clock::advance`]) instead of sleeping. Shared
/// by a store's clones (and its other workspaces).
#[derive(Clone, Default)]
pub struct Clock {
    ahead_ms: Arc<std::sync::atomic::AtomicI64>,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        now_ms() + self.ahead_ms.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Moves this store's time forward by `d` (tests).
    pub fn advance(&self, d: Duration) {
        self.ahead_ms
            .fetch_add(d.as_millis() as i64, std::sync::atomic::Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field(
                "backend",
                &match self.backend {
                    Backend::Sqlite(_) => "sqlite",
                    Backend::Postgres(_) => "postgres",
                },
            )
            .field("workspace", &self.workspace)
            .finish()
    }
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_else(Utc::now)
}

/// What an existing ledger row means to a new try (`Unknown`: the caller
/// must take the key before looking).
pub(crate) fn ledger_outcome(
    state: &str,
    record: Option<String>,
    started: i64,
    lease_until: i64,
    now: i64,
) -> Begin {
    match state {
        DONE => Begin::Done(record.unwrap_or_default()),
        UNKNOWN => Begin::Unknown {
            since: from_ms(started),
        },
        _ if lease_until <= now => Begin::Unknown {
            since: from_ms(started),
        },
        _ => Begin::InFlight,
    }
}

impl Store {
    /// An in-memory SQLite store (tests, the sandbox).
    pub fn memory() -> Store {
        Store::open(&Database::Memory, DEFAULT_WORKSPACE).expect("in-memory SQLite opens")
    }

    /// Opens the database `db` names. PostgreSQL connects on first use;
    /// [`Store::ready`] connects and migrates at once.
    pub fn open(db: &Database, workspace: &str) -> Result<Store, StoreError> {
        let backend = match db {
            Database::Memory => Backend::Sqlite(sqlite::Sqlite::memory()?),
            Database::File(path) => Backend::Sqlite(sqlite::Sqlite::file(path)?),
            Database::Postgres(url) => Backend::Postgres(Box::new(postgres::Postgres::new(url)?)),
        };
        Ok(Store {
            backend,
            workspace: Arc::from(workspace),
            ready: Arc::new(tokio::sync::OnceCell::new()),
            import_from: None,
            invalidations: tokio::sync::broadcast::channel(256).0,
            clock: Clock::default(),
            sealer: process_sealer(),
            call_marks: tenants::CallMarks::default(),
        })
    }

    /// Seals with `sealer` (the keys of `ENCRYPTION_KEY`). Without it a
    /// store seals with a key generated once per process: stores of one
    /// process (tests, the sandbox, replicas in a test) read each other's
    /// tokens, and nothing it sealed opens after a restart.
    pub fn with_sealer(mut self, sealer: Sealer) -> Store {
        self.sealer = sealer;
        self
    }

    /// The clock the queue's due times are read with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The store `config` names: `DATABASE_URL`, else `DATA_DIR/sf-inbox.db`
    /// (the caller passes memory for the sandbox), with the upgrade import
    /// from `DATA_DIR`.
    pub fn from_config(config: &Config) -> Result<Store, StoreError> {
        let db = config
            .database
            .clone()
            .unwrap_or_else(|| Store::default_path(&config.data_dir));
        let mut store = Store::open(&db, &workspace_of(config))?;
        if db != Database::Memory {
            store.import_from = Some(Arc::new(config.data_dir.clone()));
        }
        store.sealer = match (&config.encryption_key, &db) {
            (Some(keys), _) => Sealer::from_env_value(keys.expose())?,
            // Nothing outlives the process: any key will do.
            (None, Database::Memory) => process_sealer(),
            // Every replica must seal with one key, and none may invent it.
            (None, Database::Postgres(_)) => return Err(StoreError::KeyRequired),
            // One process on one file: a key file beside the database, so a
            // copy of the database alone holds no readable token.
            (None, Database::File(path)) => key_file_sealer(path)?,
        };
        Ok(store)
    }

    /// The default database file under `DATA_DIR`.
    pub fn default_path(data_dir: &Path) -> Database {
        Database::File(data_dir.join("sf-inbox.db"))
    }

    /// Imports what today's release left in `data_dir` on first use.
    pub fn with_import_from(mut self, data_dir: &Path) -> Store {
        self.import_from = Some(Arc::new(data_dir.to_path_buf()));
        self
    }

    /// The same database, another workspace.
    pub fn for_workspace(&self, workspace: &str) -> Store {
        Store {
            workspace: Arc::from(workspace),
            ..self.clone()
        }
    }

    pub fn workspace(&self) -> &str {
        &self.workspace
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Connects, applies the migrations, imports today's `DATA_DIR` and
    /// re-seals every stored token that is plaintext (an older release
    /// wrote it) or sealed with a key other than the sealing one (once per
    /// process; every other call waits for it). A sealed token no key of
    /// `ENCRYPTION_KEY` opens fails it with [`StoreError::Sealed`].
    pub async fn ready(&self) -> Result<(), StoreError> {
        self.ready
            .get_or_try_init(|| async {
                match &self.backend {
                    Backend::Sqlite(s) => s.migrate().await?,
                    Backend::Postgres(p) => p.migrate().await?,
                }
                if let Some(dir) = &self.import_from {
                    legacy::import(self, dir).await?;
                }
                self.reseal_all().await?;
                if let Backend::Postgres(p) = &self.backend {
                    p.listen(self.invalidations.clone()).await?;
                }
                Ok::<(), StoreError>(())
            })
            .await
            .map(|_| ())
    }

    // ---- the Salesforce connection ------------------------------------------

    /// The stored connection, if any.
    pub async fn connection(&self) -> Result<Option<ConnectionRow>, StoreError> {
        self.ready().await?;
        let ws = self.workspace.to_string();
        let raw = match &self.backend {
            Backend::Sqlite(s) => s.connection(ws).await?,
            Backend::Postgres(p) => p.connection(&ws).await?,
        };
        raw.map(|r| open_connection(&self.sealer, &self.workspace, r))
            .transpose()
    }

    /// Runs `f` on the connection row while holding its lock, exclusive
    /// across processes on PostgreSQL (the row's `FOR UPDATE` lock, held
    /// until `f` is done); writes the row `f` returns, committed before
    /// this returns. Exactly one token refresh per org runs at a time.
    /// `f` sees the tokens opened; the row it returns is sealed.
    pub async fn with_connection_lock<R, F, Fut>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(ConnectionRow) -> Fut + Send,
        Fut: std::future::Future<Output = (Option<ConnectionRow>, R)> + Send,
        R: Send,
    {
        self.ready().await?;
        let (sealer, ws) = (self.sealer.clone(), self.workspace.to_string());
        // A stored token that does not open writes nothing and fails the call.
        let sealed = move |raw: ConnectionRow| async move {
            match open_connection(&sealer, &ws, raw) {
                Ok(row) => {
                    let (save, out) = f(row).await;
                    (save.map(|r| seal_connection(&sealer, &ws, r)), Ok(out))
                }
                Err(e) => (None, Err(e)),
            }
        };
        match &self.backend {
            Backend::Sqlite(s) => s.with_connection_lock(&self.workspace, sealed).await?,
            Backend::Postgres(p) => p.with_connection_lock(&self.workspace, sealed).await?,
        }
    }

    /// Writes the connection row (the upgrade import, tests).
    pub async fn save_connection(&self, row: &ConnectionRow) -> Result<(), StoreError> {
        let row = row.clone();
        self.with_connection_lock(|_| async move { (Some(row), ()) })
            .await
    }

    // ---- the webhook queue ----------------------------------------------------

    /// Stores a notification; `false` when that id was already stored.
    pub async fn enqueue(
        &self,
        id: &str,
        topic: &str,
        conversation_id: &str,
        workspace_id: Option<&str>,
        payload: &[u8],
    ) -> Result<bool, StoreError> {
        self.ready().await?;
        let n = NewJob {
            ws: self.workspace.to_string(),
            id: id.to_string(),
            topic: topic.to_string(),
            conversation_id: conversation_id.to_string(),
            intercom_workspace: workspace_id.map(str::to_string),
            payload: String::from_utf8_lossy(payload).into_owned(),
            received_at: self.clock.now_ms(),
        };
        match &self.backend {
            Backend::Sqlite(s) => s.enqueue(n).await,
            Backend::Postgres(p) => p.enqueue(&n).await,
        }
    }

    /// Claims the oldest due job (or one whose worker's lease lapsed) for
    /// `lease`; no other worker gets it meanwhile.
    pub async fn claim(&self, lease: Duration) -> Result<Option<Job>, StoreError> {
        self.ready().await?;
        let ws = self.workspace.to_string();
        let now = self.clock.now_ms();
        let until = now + lease.as_millis() as i64;
        match &self.backend {
            Backend::Sqlite(s) => s.claim(ws, now, until).await,
            Backend::Postgres(p) => p.claim(&ws, now, until).await,
        }
    }

    /// How long until the next job is due (`None`: none is waiting).
    pub async fn next_wait(&self) -> Result<Option<Duration>, StoreError> {
        self.ready().await?;
        let ws = self.workspace.to_string();
        let at = match &self.backend {
            Backend::Sqlite(s) => s.next_due_at(ws).await?,
            Backend::Postgres(p) => p.next_due_at(&ws).await?,
        };
        Ok(at.map(|t| Duration::from_millis((t - self.clock.now_ms()).max(0) as u64)))
    }

    pub async fn mark_done(&self, id: &str) -> Result<(), StoreError> {
        self.ready().await?;
        let (ws, id) = (self.workspace.to_string(), id.to_string());
        match &self.backend {
            Backend::Sqlite(s) => s.mark_done(ws, id, self.clock.now_ms()).await,
            Backend::Postgres(p) => p.mark_done(&ws, &id, self.clock.now_ms()).await,
        }
    }

    /// Records a failed attempt: retried after a delay, or parked.
    pub async fn mark_failed(
        &self,
        id: &str,
        error: &str,
        outcome: Failure,
    ) -> Result<(), StoreError> {
        self.ready().await?;
        let (ws, id, error) = (
            self.workspace.to_string(),
            id.to_string(),
            error.to_string(),
        );
        let now = self.clock.now_ms();
        let (next, park) = match outcome {
            Failure::RetryIn(d) => (Some(now + d.as_millis() as i64), None),
            Failure::Parked(p) => (None, Some(p.as_str())),
        };
        match &self.backend {
            Backend::Sqlite(s) => s.mark_failed(ws, id, error, next, park, now).await,
            Backend::Postgres(p) => p.mark_failed(&ws, &id, &error, next, park, now).await,
        }
    }

    /// Puts parked jobs back in the queue, due now, with their attempts
    /// reset; `only` limits it to one kind. Returns how many.
    pub async fn retry_failed(&self, only: Option<Park>) -> Result<u64, StoreError> {
        self.ready().await?;
        let ws = self.workspace.to_string();
        let only = only.map(Park::as_str);
        match &self.backend {
            Backend::Sqlite(s) => s.retry_failed(ws, only, self.clock.now_ms()).await,
            Backend::Postgres(p) => p.retry_failed(&ws, only, self.clock.now_ms()).await,
        }
    }

    /// Deletes finished jobs (and their payloads) older than `age`.
    pub async fn purge_finished(&self, age: Duration) -> Result<u64, StoreError> {
        self.ready().await?;
        let ws = self.workspace.to_string();
        let before = self.clock.now_ms() - age.as_millis() as i64;
        match &self.backend {
            Backend::Sqlite(s) => s.purge_finished(ws, before).await,
            Backend::Postgres(p) => p.purge_finished(&ws, before).await,
        }
    }

    pub async fn counts(&self) -> Result<QueueCounts, StoreError> {
        self.ready().await?;
        let ws = self.workspace.to_string();
        let rows = match &self.backend {
            Backend::Sqlite(s) => s.counts(ws).await?,
            Backend::Postgres(p) => p.counts(&ws).await?,
        };
        let mut out = QueueCounts::default();
        for (state, n) in rows {
            match state.as_str() {
                "pending" => out.pending = n,
                "running" => out.running = n,
                "done" => out.done = n,
                _ => out.failed += n,
            }
        }
        Ok(out)
    }

    /// The last error of a notification (for tests and operators).
    pub async fn last_error(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.ready().await?;
        let (ws, id) = (self.workspace.to_string(), id.to_string());
        match &self.backend {
            Backend::Sqlite(s) => s.last_error(ws, id).await,
            Backend::Postgres(p) => p.last_error(&ws, &id).await,
        }
    }

    // ---- the conversation → Task map ---------------------------------------

    /// The Tasks made for a conversation, one per (conversation, Lead/Contact).
    pub async fn tasks_for(&self, conversation_id: &str) -> Result<Vec<Mapped>, StoreError> {
        self.ready().await?;
        let (ws, conv) = (self.workspace.to_string(), conversation_id.to_string());
        match &self.backend {
            Backend::Sqlite(s) => s.tasks_for(ws, conv).await,
            Backend::Postgres(p) => p.tasks_for(&ws, &conv).await,
        }
    }

    /// Remembers the Task of (conversation, record).
    pub async fn map_task(
        &self,
        conversation_id: &str,
        who_id: &str,
        task_id: &str,
        completed: bool,
    ) -> Result<(), StoreError> {
        self.ready().await?;
        let m = (
            self.workspace.to_string(),
            conversation_id.to_string(),
            who_id.to_string(),
            task_id.to_string(),
            completed,
            self.clock.now_ms(),
        );
        match &self.backend {
            Backend::Sqlite(s) => s.map_task(m).await,
            Backend::Postgres(p) => p.map_task(&m).await,
        }
    }

    pub async fn mark_completed(
        &self,
        conversation_id: &str,
        task_id: &str,
    ) -> Result<(), StoreError> {
        self.ready().await?;
        let (ws, conv, task) = (
            self.workspace.to_string(),
            conversation_id.to_string(),
            task_id.to_string(),
        );
        match &self.backend {
            Backend::Sqlite(s) => s.mark_completed(ws, conv, task).await,
            Backend::Postgres(p) => p.mark_completed(&ws, &conv, &task).await,
        }
    }

    // ---- workspace settings ----------------------------------------------------

    /// One of the workspace's stored settings (`settings` table) by name.
    pub async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.ready().await?;
        let (ws, name) = (self.workspace.to_string(), name.to_string());
        match &self.backend {
            Backend::Sqlite(s) => s.setting(ws, name).await,
            Backend::Postgres(p) => p.setting(&ws, &name).await,
        }
    }

    /// Stores one of the workspace's settings, replacing its value.
    pub async fn save_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.ready().await?;
        let (ws, name, value) = (
            self.workspace.to_string(),
            name.to_string(),
            value.to_string(),
        );
        match &self.backend {
            Backend::Sqlite(s) => s.save_setting(ws, name, value).await,
            Backend::Postgres(p) => p.save_setting(&ws, &name, &value).await,
        }
    }

    // ---- the form idempotency ledger ---------------------------------------

    /// The ledger of form creates, keyed by (workspace id, idempotency key).
    pub fn ledger(&self, lease: Duration) -> Ledger {
        Ledger {
            store: self.clone(),
            lease,
            wait: LEDGER_WAIT,
        }
    }

    // ---- cache invalidation --------------------------------------------------

    /// Tells every replica (this one included) to drop these people's
    /// cached profiles.
    pub async fn invalidate(&self, inv: Invalidation) -> Result<(), StoreError> {
        match &self.backend {
            // One process: local subscribers are everyone.
            Backend::Sqlite(_) => {
                let _ = self.invalidations.send(inv);
                Ok(())
            }
            // NOTIFY reaches this replica's listener too.
            Backend::Postgres(p) => {
                self.ready().await?;
                p.notify(&inv).await
            }
        }
    }

    /// Invalidations from every replica.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Invalidation> {
        self.invalidations.subscribe()
    }

    // ---- the upgrade marker ----------------------------------------------------

    pub(crate) async fn meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        let name = name.to_string();
        match &self.backend {
            Backend::Sqlite(s) => s.meta(name).await,
            Backend::Postgres(p) => p.meta(&name).await,
        }
    }

    /// Imports today's release's data and records `marker`, in one
    /// transaction (so exactly once, on PostgreSQL across replicas too).
    pub(crate) async fn import_legacy(
        &self,
        marker: &str,
        mut data: legacy::LegacyData,
    ) -> Result<bool, StoreError> {
        let (ws, marker) = (self.workspace.to_string(), marker.to_string());
        if let Some(t) = &mut data.token {
            t.refresh_token = Secret::new(
                self.sealer
                    .seal(t.refresh_token.expose(), &aad(REFRESH_TOKEN, &ws)),
            );
        }
        match &self.backend {
            Backend::Sqlite(s) => s.import_legacy(ws, marker, data, now_ms()).await,
            Backend::Postgres(p) => p.import_legacy(&ws, &marker, &data, now_ms()).await,
        }
    }
}

/// The key a store seals with when it was given none
/// The sealer of a SQLite file without `ENCRYPTION_KEY`: the key in
/// `<database>.key` (mode 0600), made on first start.
fn key_file_sealer(db: &Path) -> Result<Sealer, StoreError> {
    let mut name = db.as_os_str().to_owned();
    name.push(".key");
    let path = PathBuf::from(name);
    let failed = |e: std::io::Error| StoreError::Dir {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => return Ok(Sealer::from_env_value(text.trim())?),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(failed(e)),
        Err(_) => {}
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let value = seal::new_key_value();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    use std::io::Write;
    options
        .open(&path)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(failed)?;
    tracing::warn!(
        key_file = %path.display(),
        "ENCRYPTION_KEY is unset: tokens are sealed with a key generated into this file; \
         set ENCRYPTION_KEY (kept apart from the database) in production"
    );
    Ok(Sealer::from_env_value(&value)?)
}

/// ([`Store::with_sealer`]): one per process.
fn process_sealer() -> Sealer {
    static SEALER: std::sync::OnceLock<Sealer> = std::sync::OnceLock::new();
    SEALER.get_or_init(Sealer::generate).clone()
}

/// The sealed columns' places, the first part of their associated data.
const REFRESH_TOKEN: &str = "sf_connections.refresh_token";
const ACCESS_TOKEN: &str = "sf_connections.access_token";

/// The associated data of a sealed value: its column and its row's key, so
/// a value copied to another column, row or workspace does not open.
pub(crate) fn aad(column: &str, key: &str) -> String {
    format!("{column}:{key}")
}

/// The connection row with its tokens opened (plaintext of an older
/// release taken as it is).
fn open_connection(
    sealer: &Sealer,
    ws: &str,
    mut row: ConnectionRow,
) -> Result<ConnectionRow, StoreError> {
    if let Some(t) = &row.refresh_token {
        row.refresh_token = Some(sealer.open_stored(t.expose(), &aad(REFRESH_TOKEN, ws))?);
    }
    if let Some(t) = &row.access_token {
        row.access_token = Some(sealer.open_stored(t.expose(), &aad(ACCESS_TOKEN, ws))?);
    }
    Ok(row)
}

/// The connection row as stored: its tokens sealed.
fn seal_connection(sealer: &Sealer, ws: &str, mut row: ConnectionRow) -> ConnectionRow {
    if let Some(t) = &row.refresh_token {
        row.refresh_token = Some(Secret::new(
            sealer.seal(t.expose(), &aad(REFRESH_TOKEN, ws)),
        ));
    }
    if let Some(t) = &row.access_token {
        row.access_token = Some(Secret::new(sealer.seal(t.expose(), &aad(ACCESS_TOKEN, ws))));
    }
    row
}

/// The workspace id of single-workspace mode.
pub fn workspace_of(config: &Config) -> String {
    config
        .workspace_id
        .clone()
        .unwrap_or_else(|| DEFAULT_WORKSPACE.to_string())
}

/// A notification to store.
#[derive(Debug, Clone)]
pub(crate) struct NewJob {
    pub ws: String,
    pub id: String,
    pub topic: String,
    pub conversation_id: String,
    pub intercom_workspace: Option<String>,
    pub payload: String,
    pub received_at: i64,
}

/// (workspace, conversation, who, task, completed, created_at)
pub(crate) type TaskRow = (String, String, String, String, bool, i64);

/// The form idempotency ledger: `begin`, `done`, `unknown`, `forget`,
/// keyed by (workspace id, idempotency key), durable and shared by the
/// replicas. A try holds its key for a lease; one that lapsed (the process
/// died mid-create) reads as `Unknown`, so the next try looks first.
#[derive(Clone)]
pub struct Ledger {
    store: Store,
    lease: Duration,
    /// How long the domain port's `begin` waits for another try of the
    /// same key to settle (as `InMemoryLedger` does) before answering
    /// `InFlight`.
    wait: Duration,
}

/// The port's wait for a running try: the in-memory ledger's bound.
const LEDGER_WAIT: Duration = Duration::from_secs(30);
/// How often a waiting `begin` reads the row again.
const LEDGER_POLL: Duration = Duration::from_millis(50);

/// Ledger row states.
pub(crate) const IN_FLIGHT: &str = "in_flight";
pub(crate) const UNKNOWN: &str = "unknown";
pub(crate) const DONE: &str = "done";

impl Ledger {
    /// The same ledger, with the port's `begin` waiting up to `wait` for a
    /// running try (zero: answer `InFlight` at once).
    pub fn with_wait(mut self, wait: Duration) -> Ledger {
        self.wait = wait;
        self
    }

    /// Like [`Ledger::begin`], but a key another try holds is read again
    /// (every [`LEDGER_POLL`], up to the ledger's wait) until that try
    /// settles: then what it became (done, unknown, forgotten, or its
    /// lease lapsed) is answered, so a double submit shows the one record.
    pub async fn begin_waiting(&self, key: &str) -> Result<Begin, StoreError> {
        let deadline = tokio::time::Instant::now() + self.wait;
        loop {
            match self.begin(key).await? {
                Begin::InFlight if tokio::time::Instant::now() < deadline => {
                    let next = (tokio::time::Instant::now() + LEDGER_POLL).min(deadline);
                    tokio::time::sleep_until(next).await;
                }
                other => return Ok(other),
            }
        }
    }

    /// Claims `key` for this try, or says what an earlier try came to;
    /// never waits (`InFlight` when another try holds it).
    pub async fn begin(&self, key: &str) -> Result<Begin, StoreError> {
        self.store.ready().await?;
        let (ws, key) = (self.store.workspace.to_string(), key.to_string());
        let now = now_ms();
        let until = now + self.lease.as_millis() as i64;
        match &self.store.backend {
            Backend::Sqlite(s) => s.ledger_begin(ws, key, now, until).await,
            Backend::Postgres(p) => p.ledger_begin(&ws, &key, now, until).await,
        }
    }

    pub async fn done(&self, key: &str, record_id: &str) -> Result<(), StoreError> {
        self.set(key, DONE, Some(record_id)).await
    }

    /// The create may or may not have happened.
    pub async fn unknown(&self, key: &str) -> Result<(), StoreError> {
        self.set(key, UNKNOWN, None).await
    }

    /// Nothing was created: the next try starts over.
    pub async fn forget(&self, key: &str) -> Result<(), StoreError> {
        self.store.ready().await?;
        let (ws, key) = (self.store.workspace.to_string(), key.to_string());
        match &self.store.backend {
            Backend::Sqlite(s) => s.ledger_forget(ws, key).await,
            Backend::Postgres(p) => p.ledger_forget(&ws, &key).await,
        }
    }

    async fn set(&self, key: &str, state: &str, record: Option<&str>) -> Result<(), StoreError> {
        self.store.ready().await?;
        let (ws, key, state, record) = (
            self.store.workspace.to_string(),
            key.to_string(),
            state.to_string(),
            record.map(str::to_string),
        );
        match &self.store.backend {
            Backend::Sqlite(s) => s.ledger_set(ws, key, state, record, now_ms()).await,
            Backend::Postgres(p) => {
                p.ledger_set(&ws, &key, &state, record.as_deref(), now_ms())
                    .await
            }
        }
    }
}

impl Ledger {
    /// The same ledger for another workspace (empty: this one).
    pub fn in_workspace(&self, workspace: &str) -> Ledger {
        let ws = if workspace.is_empty() {
            self.store.workspace().to_string()
        } else {
            workspace.to_string()
        };
        Ledger {
            store: self.store.for_workspace(&ws),
            lease: self.lease,
            wait: self.wait,
        }
    }
}

/// Masks a URL's password for messages and logs (lives with the secrets in
/// `config`, which uses it for `DATABASE_URL` errors).
pub use crate::config::redact_url;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_passwords() {
        assert_eq!(
            redact_url("postgres://user:secret@host/db"),
            "postgres://user:***@host/db"
        );
        assert_eq!(
            redact_url("postgres://host/db?user=u&password=secret"),
            "postgres://host/db?user=u&password=***"
        );
        assert!(!redact_url("postgres://user:secret@host:notaport/db").contains("secret"));
        assert!(!redact_url("user:secret@host").contains("secret"));
        assert_eq!(redact_url("sqlite:///var/x.db"), "sqlite:///var/x.db");
    }

    #[test]
    fn stored_token_wins_until_the_configured_one_changes() {
        let configured = Secret::new("configured-1");
        let empty = ConnectionRow::default();
        assert_eq!(
            starting_token(&empty, Some(&configured)),
            (Some(configured.clone()), true)
        );
        let rotated = ConnectionRow {
            refresh_token: Some(Secret::new("rotated-2")),
            seeded_from: fingerprint(Some(&configured)),
            ..ConnectionRow::default()
        };
        assert_eq!(
            starting_token(&rotated, Some(&configured)),
            (Some(Secret::new("rotated-2")), false)
        );
        let fresh = Secret::new("configured-3");
        assert_eq!(
            starting_token(&rotated, Some(&fresh)),
            (Some(fresh.clone()), true)
        );
        let refused = ConnectionRow {
            revoked: Some("expired".into()),
            ..rotated
        };
        assert_eq!(
            starting_token(&refused, Some(&configured)),
            (Some(configured), true)
        );
    }
}
