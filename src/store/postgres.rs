//! The PostgreSQL backend, for several replicas on one database:
//! `tokio-postgres` (async, so nothing blocks the runtime) with a
//! `deadpool-postgres` pool, plus one dedicated connection per process
//! that `LISTEN`s for cache invalidations.
//!
//! - a job is claimed by exactly one worker: `FOR UPDATE SKIP LOCKED`, and a
//!   lease that lets another worker take it once its worker died;
//! - the Salesforce connection row is locked (`FOR UPDATE`) for the whole
//!   token refresh: one refresh per org at a time across replicas, and the
//!   rotated token is committed before anyone uses the new access token;
//! - migrations and the upgrade import run under an advisory lock, so two
//!   replicas starting at once apply them once.
//!
//! Connections are plain TCP or a Unix socket (`host=/run/postgresql`); the
//! URL's password is never printed (see `config::redact_url`).

use std::str::FromStr;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures::StreamExt;
use tokio_postgres::{AsyncMessage, NoTls, Row};

use super::{
    legacy, migrations, Begin, ConnectionRow, Invalidation, Job, Mapped, NewJob, StoreError,
    TaskRow, DONE, IN_FLIGHT,
};
use crate::config::Secret;

/// The advisory lock key of migrations and the upgrade import.
const MIGRATION_LOCK: i64 = 0x5f_1b_0c_57_0e;
/// The `NOTIFY` channel of cache invalidations.
pub const CHANNEL: &str = "sf_inbox_invalidate";

#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
    config: tokio_postgres::Config,
    /// The listener stops once every clone of this backend is gone.
    alive: std::sync::Arc<()>,
}

impl Postgres {
    pub fn new(url: &Secret) -> Result<Postgres, StoreError> {
        let config = tokio_postgres::Config::from_str(url.expose()).map_err(|e| {
            StoreError::Database(format!(
                "DATABASE_URL {}: {e}",
                super::redact_url(url.expose())
            ))
        })?;
        let mgr = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(16)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Database(format!("connection pool: {e}")))?;
        Ok(Postgres {
            pool,
            config,
            alive: std::sync::Arc::new(()),
        })
    }

    pub(super) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        Ok(self.pool.get().await?)
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
        // Every listed version not applied yet (see the SQLite side).
        let have: std::collections::HashSet<i64> = tx
            .query("SELECT version FROM schema_migrations", &[])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for (v, sql) in migrations::POSTGRES
            .iter()
            .filter(|(v, _)| !have.contains(v))
        {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                &[v, &super::now_ms()],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Starts this process's listener: every invalidation any replica
    /// sends reaches `out`. Reconnects when the connection drops.
    pub async fn listen(
        &self,
        out: tokio::sync::broadcast::Sender<Invalidation>,
    ) -> Result<(), StoreError> {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let config = self.config.clone();
        let alive = std::sync::Arc::downgrade(&self.alive);
        tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            loop {
                match listen_once(&config, &out, &mut ready, &alive).await {
                    Ok(()) => tracing::warn!("invalidation listener disconnected; reconnecting"),
                    Err(e) => {
                        if let Some(r) = ready.take() {
                            let _ = r.send(Err(e));
                            return;
                        }
                        tracing::warn!(error = %e, "invalidation listener failed; reconnecting");
                    }
                }
                if alive.upgrade().is_none() {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
        ready_rx
            .await
            .unwrap_or_else(|_| Err(StoreError::Database("listener stopped".into())))
    }

    pub async fn notify(&self, inv: &Invalidation) -> Result<(), StoreError> {
        let payload = serde_json::to_string(inv).expect("plain struct serialises");
        self.client()
            .await?
            .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
            .await?;
        Ok(())
    }

    pub async fn connection(&self, ws: &str) -> Result<Option<ConnectionRow>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!("{SELECT_CONNECTION} WHERE workspace_id = $1"),
                &[&ws],
            )
            .await?;
        Ok(row.as_ref().map(connection_row))
    }

    pub async fn with_connection_lock<R, F, Fut>(&self, ws: &str, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(ConnectionRow) -> Fut + Send,
        Fut: std::future::Future<Output = (Option<ConnectionRow>, R)> + Send,
        R: Send,
    {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "INSERT INTO sf_connections (workspace_id, updated_at) VALUES ($1, $2)
             ON CONFLICT (workspace_id) DO NOTHING",
            &[&ws, &super::now_ms()],
        )
        .await?;
        let row = tx
            .query_one(
                &format!("{SELECT_CONNECTION} WHERE workspace_id = $1 FOR UPDATE"),
                &[&ws],
            )
            .await?;
        let (save, out) = f(connection_row(&row)).await;
        if let Some(r) = save {
            write_connection(&*tx, ws, &r).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn enqueue(&self, n: &NewJob) -> Result<bool, StoreError> {
        let inserted = self
            .client()
            .await?
            .execute(
                "INSERT INTO notifications
                 (workspace_id, id, topic, conversation_id, intercom_workspace, payload,
                  received_at, next_attempt_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
                 ON CONFLICT (workspace_id, id) DO NOTHING",
                &[
                    &n.ws,
                    &n.id,
                    &n.topic,
                    &n.conversation_id,
                    &n.intercom_workspace,
                    &n.payload,
                    &n.received_at,
                ],
            )
            .await?;
        Ok(inserted == 1)
    }

    pub async fn claim(&self, ws: &str, now: i64, until: i64) -> Result<Option<Job>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "UPDATE notifications n SET state = 'running', lease_until = $3
                 FROM (SELECT workspace_id, id FROM notifications
                       WHERE workspace_id = $1 AND (
                          (state = 'pending' AND next_attempt_at <= $2)
                          OR (state = 'running' AND lease_until <= $2))
                       ORDER BY received_at, id LIMIT 1
                       FOR UPDATE SKIP LOCKED) c
                 WHERE n.workspace_id = c.workspace_id AND n.id = c.id
                 RETURNING n.id, n.topic, n.conversation_id, n.intercom_workspace, n.attempts",
                &[&ws, &now, &until],
            )
            .await?;
        Ok(row.map(|r| Job {
            id: r.get(0),
            topic: r.get(1),
            conversation_id: r.get(2),
            workspace_id: r.get(3),
            attempts: r.get::<_, i32>(4).max(0) as u32,
        }))
    }

    pub async fn next_due_at(&self, ws: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .client()
            .await?
            .query_one(
                "SELECT MIN(CASE state WHEN 'pending' THEN next_attempt_at ELSE lease_until END)
                 FROM notifications WHERE workspace_id = $1 AND state IN ('pending', 'running')",
                &[&ws],
            )
            .await?
            .get(0))
    }

    pub async fn mark_done(&self, ws: &str, id: &str, now: i64) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "UPDATE notifications SET state = 'done', last_error = NULL, parked = NULL,
                 lease_until = NULL, finished_at = $3 WHERE workspace_id = $1 AND id = $2",
                &[&ws, &id, &now],
            )
            .await?;
        Ok(())
    }

    pub async fn mark_failed(
        &self,
        ws: &str,
        id: &str,
        error: &str,
        next: Option<i64>,
        park: Option<&'static str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        match next {
            Some(at) => {
                c.execute(
                    "UPDATE notifications SET state = 'pending', attempts = attempts + 1,
                     last_error = $3, next_attempt_at = $4, lease_until = NULL
                     WHERE workspace_id = $1 AND id = $2",
                    &[&ws, &id, &error, &at],
                )
                .await?
            }
            None => {
                c.execute(
                    "UPDATE notifications SET state = 'failed', attempts = attempts + 1,
                     last_error = $3, parked = $4, lease_until = NULL, finished_at = $5
                     WHERE workspace_id = $1 AND id = $2",
                    &[&ws, &id, &error, &park, &now],
                )
                .await?
            }
        };
        Ok(())
    }

    pub async fn retry_failed(
        &self,
        ws: &str,
        only: Option<&'static str>,
        now: i64,
    ) -> Result<u64, StoreError> {
        Ok(self
            .client()
            .await?
            .execute(
                "UPDATE notifications SET state = 'pending', attempts = 0, next_attempt_at = $2,
                 finished_at = NULL
                 WHERE workspace_id = $1 AND state = 'failed'
                   AND ($3::TEXT IS NULL OR parked = $3::TEXT)",
                &[&ws, &now, &only],
            )
            .await?)
    }

    pub async fn purge_finished(&self, ws: &str, before: i64) -> Result<u64, StoreError> {
        Ok(self
            .client()
            .await?
            .execute(
                "DELETE FROM notifications
                 WHERE workspace_id = $1 AND state = 'done' AND finished_at <= $2",
                &[&ws, &before],
            )
            .await?)
    }

    pub async fn counts(&self, ws: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT state, COUNT(*) FROM notifications WHERE workspace_id = $1 GROUP BY state",
                &[&ws],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
            .collect())
    }

    pub async fn last_error(&self, ws: &str, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .client()
            .await?
            .query_opt(
                "SELECT last_error FROM notifications WHERE workspace_id = $1 AND id = $2",
                &[&ws, &id],
            )
            .await?
            .and_then(|r| r.get(0)))
    }

    pub async fn tasks_for(&self, ws: &str, conv: &str) -> Result<Vec<Mapped>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT who_id, task_id, completed FROM conversation_tasks
                 WHERE workspace_id = $1 AND conversation_id = $2 ORDER BY created_at, who_id",
                &[&ws, &conv],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Mapped {
                who_id: r.get(0),
                task_id: r.get(1),
                completed: r.get(2),
            })
            .collect())
    }

    pub async fn map_task(&self, m: &TaskRow) -> Result<(), StoreError> {
        let c = self.client().await?;
        insert_task(&**c, m).await
    }

    pub async fn mark_completed(&self, ws: &str, conv: &str, task: &str) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "UPDATE conversation_tasks SET completed = TRUE
                 WHERE workspace_id = $1 AND conversation_id = $2 AND task_id = $3",
                &[&ws, &conv, &task],
            )
            .await?;
        Ok(())
    }

    pub async fn ledger_begin(
        &self,
        ws: &str,
        key: &str,
        now: i64,
        until: i64,
    ) -> Result<Begin, StoreError> {
        let c = self.client().await?;
        // A row can vanish between the steps (a `forget`): go round again.
        for _ in 0..3 {
            let inserted = c
                .execute(
                    "INSERT INTO form_ledger
                     (workspace_id, idem_key, state, started_at, lease_until, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $4)
                     ON CONFLICT (workspace_id, idem_key) DO NOTHING",
                    &[&ws, &key, &IN_FLIGHT, &now, &until],
                )
                .await?;
            if inserted == 1 {
                return Ok(Begin::Begun);
            }
            // An unknown outcome, or a try whose lease lapsed (its process
            // died): this try takes the key and must look first.
            if let Some(r) = c
                .query_opt(
                    "UPDATE form_ledger SET state = $3, lease_until = $5, updated_at = $4
                     WHERE workspace_id = $1 AND idem_key = $2
                       AND (state = 'unknown' OR (state = 'in_flight' AND lease_until <= $4))
                     RETURNING started_at",
                    &[&ws, &key, &IN_FLIGHT, &now, &until],
                )
                .await?
            {
                return Ok(Begin::Unknown {
                    since: super::from_ms(r.get(0)),
                });
            }
            if let Some(r) = c
                .query_opt(
                    "SELECT state, record_id FROM form_ledger
                     WHERE workspace_id = $1 AND idem_key = $2",
                    &[&ws, &key],
                )
                .await?
            {
                let state: String = r.get(0);
                return Ok(if state == DONE {
                    Begin::Done(r.get::<_, Option<String>>(1).unwrap_or_default())
                } else {
                    Begin::InFlight
                });
            }
        }
        Ok(Begin::InFlight)
    }

    pub async fn ledger_set(
        &self,
        ws: &str,
        key: &str,
        state: &str,
        record: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "UPDATE form_ledger SET state = $3, record_id = COALESCE($4, record_id),
                 updated_at = $5 WHERE workspace_id = $1 AND idem_key = $2",
                &[&ws, &key, &state, &record, &now],
            )
            .await?;
        Ok(())
    }

    pub async fn ledger_forget(&self, ws: &str, key: &str) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "DELETE FROM form_ledger WHERE workspace_id = $1 AND idem_key = $2 AND state <> $3",
                &[&ws, &key, &DONE],
            )
            .await?;
        Ok(())
    }

    pub async fn setting(&self, ws: &str, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .client()
            .await?
            .query_opt(
                "SELECT value FROM settings WHERE workspace_id = $1 AND name = $2",
                &[&ws, &name],
            )
            .await?
            .map(|r| r.get(0)))
    }

    pub async fn save_setting(&self, ws: &str, name: &str, value: &str) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO settings (workspace_id, name, value) VALUES ($1, $2, $3)
                 ON CONFLICT (workspace_id, name) DO UPDATE SET value = EXCLUDED.value",
                &[&ws, &name, &value],
            )
            .await?;
        Ok(())
    }

    pub async fn meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .client()
            .await?
            .query_opt("SELECT value FROM store_meta WHERE name = $1", &[&name])
            .await?
            .map(|r| r.get(0)))
    }

    pub async fn import_legacy(
        &self,
        ws: &str,
        marker: &str,
        data: &legacy::LegacyData,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let inserted = tx
            .execute(
                "INSERT INTO store_meta (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&marker, &now.to_string()],
            )
            .await?;
        if inserted == 0 {
            return Ok(false);
        }
        if let Some(t) = &data.token {
            let existing = tx
                .query_opt(
                    &format!("{SELECT_CONNECTION} WHERE workspace_id = $1 FOR UPDATE"),
                    &[&ws],
                )
                .await?;
            let mut row = existing.as_ref().map(connection_row).unwrap_or_default();
            if row.refresh_token.is_none() {
                row.refresh_token = Some(t.refresh_token.clone());
                row.seeded_from = t.seeded_from.clone();
                write_connection(&*tx, ws, &row).await?;
            }
        }
        for n in &data.notifications {
            tx.execute(
                "INSERT INTO notifications
                 (workspace_id, id, topic, conversation_id, intercom_workspace, payload,
                  received_at, state, attempts, next_attempt_at, last_error, parked, finished_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (workspace_id, id) DO NOTHING",
                &[
                    &ws,
                    &n.id,
                    &n.topic,
                    &n.conversation_id,
                    &n.workspace_id,
                    &n.payload,
                    &n.received_at,
                    &n.state,
                    &(n.attempts as i32),
                    &n.next_attempt_at,
                    &n.last_error,
                    &n.parked(),
                    &n.finished_at(now),
                ],
            )
            .await?;
        }
        for t in &data.tasks {
            insert_task(
                &*tx,
                &(
                    ws.to_string(),
                    t.conversation_id.clone(),
                    t.who_id.clone(),
                    t.task_id.clone(),
                    t.completed,
                    t.created_at,
                ),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    out: &tokio::sync::broadcast::Sender<Invalidation>,
    ready: &mut Option<tokio::sync::oneshot::Sender<Result<(), StoreError>>>,
    alive: &std::sync::Weak<()>,
) -> Result<(), StoreError> {
    let (client, mut conn) = config.connect(NoTls).await?;
    let (msg_tx, mut msg_rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(m) = messages.next().await {
            match m {
                Ok(AsyncMessage::Notification(n)) => {
                    if msg_tx.send(n.payload().to_string()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    if let Some(r) = ready.take() {
        let _ = r.send(Ok(()));
    }
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            m = msg_rx.recv() => {
                let Some(payload) = m else { break };
                match serde_json::from_str::<Invalidation>(&payload) {
                    Ok(inv) => {
                        let _ = out.send(inv);
                    }
                    Err(e) => tracing::warn!(error = %e, "unreadable invalidation"),
                }
            }
            _ = tick.tick() => {
                if alive.upgrade().is_none() {
                    break;
                }
            }
        }
    }
    driver.abort();
    drop(client);
    Ok(())
}

const SELECT_CONNECTION: &str = "SELECT refresh_token, seeded_from, access_token, instance_url,
    org_id, user_id, generation, revoked FROM sf_connections";

fn connection_row(r: &Row) -> ConnectionRow {
    ConnectionRow {
        refresh_token: r.get::<_, Option<String>>(0).map(Secret::new),
        seeded_from: r.get(1),
        access_token: r.get::<_, Option<String>>(2).map(Secret::new),
        instance_url: r.get(3),
        org_id: r.get(4),
        user_id: r.get(5),
        generation: r.get(6),
        revoked: r.get(7),
    }
}

async fn write_connection(
    c: &impl tokio_postgres::GenericClient,
    ws: &str,
    row: &ConnectionRow,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO sf_connections (workspace_id, refresh_token, seeded_from, access_token,
             instance_url, org_id, user_id, generation, revoked, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (workspace_id) DO UPDATE SET refresh_token = excluded.refresh_token,
             seeded_from = excluded.seeded_from, access_token = excluded.access_token,
             instance_url = excluded.instance_url, org_id = excluded.org_id,
             user_id = excluded.user_id, generation = excluded.generation,
             revoked = excluded.revoked, updated_at = excluded.updated_at",
        &[
            &ws,
            &row.refresh_token.as_ref().map(Secret::expose),
            &row.seeded_from,
            &row.access_token.as_ref().map(Secret::expose),
            &row.instance_url,
            &row.org_id,
            &row.user_id,
            &row.generation,
            &row.revoked,
            &super::now_ms(),
        ],
    )
    .await?;
    Ok(())
}

async fn insert_task(
    c: &impl tokio_postgres::GenericClient,
    m: &TaskRow,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO conversation_tasks
         (workspace_id, conversation_id, who_id, task_id, completed, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (workspace_id, conversation_id, who_id) DO UPDATE SET
           task_id = excluded.task_id,
           completed = conversation_tasks.completed OR excluded.completed",
        &[&m.0, &m.1, &m.2, &m.3, &m.4, &m.5],
    )
    .await?;
    Ok(())
}
