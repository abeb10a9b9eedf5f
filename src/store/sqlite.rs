//! The SQLite backend: one process, one connection behind a mutex, calls on
//! tokio's blocking pool. WAL with `synchronous=FULL`: a notification is on
//! disk before Intercom gets its 200. The file is created mode 0600.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{
    legacy, migrations, Begin, ConnectionRow, Job, Mapped, NewJob, StoreError, TaskRow, DONE,
    IN_FLIGHT,
};
use crate::config::Secret;

#[derive(Clone)]
pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
    /// Serialises token refreshes (one process: a local lock suffices);
    /// connecting, disconnecting and uninstalling take it too.
    pub(super) connection_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Sqlite {
    pub fn memory() -> Result<Sqlite, StoreError> {
        Sqlite::with(Connection::open_in_memory()?)
    }

    pub fn file(path: &Path) -> Result<Sqlite, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Dir {
                path: dir.display().to_string(),
                reason: e.to_string(),
            })?;
        }
        // Today's release left its own tables in this file: keep it aside
        // for the import and start a new one.
        legacy::set_aside_if_legacy(path)?;
        create_private(path).map_err(|e| StoreError::Dir {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let c = Connection::open(path)?;
        c.pragma_update(None, "journal_mode", "WAL")?;
        Sqlite::with(c)
    }

    fn with(conn: Connection) -> Result<Sqlite, StoreError> {
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok(Sqlite {
            conn: Arc::new(Mutex::new(conn)),
            connection_lock: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    pub(super) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut c)
        })
        .await
        .map_err(|e| StoreError::Database(format!("store task failed: {e}")))?
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.run(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
            )?;
            // Every listed version not applied yet: versions may land out
            // of order (4 before 2), and a database that has 3 and 4 must
            // still get 2 when it arrives.
            let have: std::collections::HashSet<i64> = {
                let mut stmt = tx.prepare("SELECT version FROM schema_migrations")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            };
            for (v, sql) in migrations::SQLITE.iter().filter(|(v, _)| !have.contains(v)) {
                tx.execute_batch(sql)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                    params![v, super::now_ms()],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn connection(&self, ws: String) -> Result<Option<ConnectionRow>, StoreError> {
        self.run(move |c| read_connection(c, &ws)).await
    }

    pub async fn with_connection_lock<R, F, Fut>(&self, ws: &str, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(ConnectionRow) -> Fut + Send,
        Fut: std::future::Future<Output = (Option<ConnectionRow>, R)> + Send,
        R: Send,
    {
        let _guard = self.connection_lock.lock().await;
        let w = ws.to_string();
        let row = self
            .run(move |c| read_connection(c, &w))
            .await?
            .unwrap_or_default();
        let (save, out) = f(row).await;
        if let Some(row) = save {
            let w = ws.to_string();
            self.run(move |c| write_connection(c, &w, &row)).await?;
        }
        Ok(out)
    }

    pub async fn enqueue(&self, n: NewJob) -> Result<bool, StoreError> {
        self.run(move |c| {
            let inserted = c.execute(
                "INSERT OR IGNORE INTO notifications
                 (workspace_id, id, topic, conversation_id, intercom_workspace, payload,
                  received_at, next_attempt_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                params![
                    n.ws,
                    n.id,
                    n.topic,
                    n.conversation_id,
                    n.intercom_workspace,
                    n.payload,
                    n.received_at
                ],
            )?;
            Ok(inserted == 1)
        })
        .await
    }

    pub async fn claim(&self, ws: String, now: i64, until: i64) -> Result<Option<Job>, StoreError> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let job = tx
                .query_row(
                    "SELECT id, topic, conversation_id, intercom_workspace, attempts
                     FROM notifications
                     WHERE workspace_id = ?1 AND (
                        (state = 'pending' AND next_attempt_at <= ?2)
                        OR (state = 'running' AND lease_until <= ?2))
                     ORDER BY received_at, id LIMIT 1",
                    params![ws, now],
                    job_row,
                )
                .optional()?;
            if let Some(j) = &job {
                tx.execute(
                    "UPDATE notifications SET state = 'running', lease_until = ?3
                     WHERE workspace_id = ?1 AND id = ?2",
                    params![ws, j.id, until],
                )?;
            }
            tx.commit()?;
            Ok(job)
        })
        .await
    }

    pub async fn next_due_at(&self, ws: String) -> Result<Option<i64>, StoreError> {
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT MIN(CASE state WHEN 'pending' THEN next_attempt_at ELSE lease_until END)
                 FROM notifications WHERE workspace_id = ?1 AND state IN ('pending', 'running')",
                params![ws],
                |r| r.get(0),
            )?)
        })
        .await
    }

    pub async fn mark_done(&self, ws: String, id: String, now: i64) -> Result<(), StoreError> {
        self.run(move |c| {
            c.execute(
                "UPDATE notifications SET state = 'done', last_error = NULL, parked = NULL,
                 lease_until = NULL, finished_at = ?3 WHERE workspace_id = ?1 AND id = ?2",
                params![ws, id, now],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn mark_failed(
        &self,
        ws: String,
        id: String,
        error: String,
        next: Option<i64>,
        park: Option<&'static str>,
        now: i64,
    ) -> Result<(), StoreError> {
        self.run(move |c| {
            match next {
                Some(at) => c.execute(
                    "UPDATE notifications SET state = 'pending', attempts = attempts + 1,
                     last_error = ?3, next_attempt_at = ?4, lease_until = NULL
                     WHERE workspace_id = ?1 AND id = ?2",
                    params![ws, id, error, at],
                )?,
                None => c.execute(
                    "UPDATE notifications SET state = 'failed', attempts = attempts + 1,
                     last_error = ?3, parked = ?4, lease_until = NULL, finished_at = ?5
                     WHERE workspace_id = ?1 AND id = ?2",
                    params![ws, id, error, park, now],
                )?,
            };
            Ok(())
        })
        .await
    }

    pub async fn retry_failed(
        &self,
        ws: String,
        only: Option<&'static str>,
        now: i64,
    ) -> Result<u64, StoreError> {
        self.run(move |c| {
            Ok(c.execute(
                "UPDATE notifications SET state = 'pending', attempts = 0, next_attempt_at = ?2,
                 finished_at = NULL
                 WHERE workspace_id = ?1 AND state = 'failed' AND (?3 IS NULL OR parked = ?3)",
                params![ws, now, only],
            )? as u64)
        })
        .await
    }

    pub async fn purge_finished(&self, ws: String, before: i64) -> Result<u64, StoreError> {
        self.run(move |c| {
            Ok(c.execute(
                "DELETE FROM notifications
                 WHERE workspace_id = ?1 AND state = 'done' AND finished_at <= ?2",
                params![ws, before],
            )? as u64)
        })
        .await
    }

    pub async fn counts(&self, ws: String) -> Result<Vec<(String, u64)>, StoreError> {
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT state, COUNT(*) FROM notifications WHERE workspace_id = ?1 GROUP BY state",
            )?;
            let rows = stmt.query_map(params![ws], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn last_error(&self, ws: String, id: String) -> Result<Option<String>, StoreError> {
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT last_error FROM notifications WHERE workspace_id = ?1 AND id = ?2",
                params![ws, id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
        })
        .await
    }

    pub async fn tasks_for(&self, ws: String, conv: String) -> Result<Vec<Mapped>, StoreError> {
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT who_id, task_id, completed FROM conversation_tasks
                 WHERE workspace_id = ?1 AND conversation_id = ?2 ORDER BY created_at, rowid",
            )?;
            let rows = stmt.query_map(params![ws, conv], |r| {
                Ok(Mapped {
                    who_id: r.get(0)?,
                    task_id: r.get(1)?,
                    completed: r.get::<_, i64>(2)? != 0,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn map_task(&self, m: TaskRow) -> Result<(), StoreError> {
        self.run(move |c| insert_task(c, &m)).await
    }

    pub async fn mark_completed(
        &self,
        ws: String,
        conv: String,
        task: String,
    ) -> Result<(), StoreError> {
        self.run(move |c| {
            c.execute(
                "UPDATE conversation_tasks SET completed = 1
                 WHERE workspace_id = ?1 AND conversation_id = ?2 AND task_id = ?3",
                params![ws, conv, task],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn ledger_begin(
        &self,
        ws: String,
        key: String,
        now: i64,
        until: i64,
    ) -> Result<Begin, StoreError> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO form_ledger
                 (workspace_id, idem_key, state, started_at, lease_until, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?4)",
                params![ws, key, IN_FLIGHT, now, until],
            )?;
            let out = if inserted == 1 {
                Begin::Begun
            } else {
                let (state, record, started, lease): (String, Option<String>, i64, i64) = tx
                    .query_row(
                        "SELECT state, record_id, started_at, lease_until FROM form_ledger
                         WHERE workspace_id = ?1 AND idem_key = ?2",
                        params![ws, key],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )?;
                let outcome = super::ledger_outcome(&state, record, started, lease, now);
                if matches!(outcome, Begin::Unknown { .. }) {
                    // This try holds the key now.
                    tx.execute(
                        "UPDATE form_ledger SET state = ?3, lease_until = ?4, updated_at = ?5
                         WHERE workspace_id = ?1 AND idem_key = ?2",
                        params![ws, key, IN_FLIGHT, until, now],
                    )?;
                }
                outcome
            };
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    pub async fn ledger_set(
        &self,
        ws: String,
        key: String,
        state: String,
        record: Option<String>,
        now: i64,
    ) -> Result<(), StoreError> {
        self.run(move |c| {
            c.execute(
                "UPDATE form_ledger SET state = ?3, record_id = COALESCE(?4, record_id),
                 updated_at = ?5 WHERE workspace_id = ?1 AND idem_key = ?2",
                params![ws, key, state, record, now],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn ledger_forget(&self, ws: String, key: String) -> Result<(), StoreError> {
        self.run(move |c| {
            c.execute(
                "DELETE FROM form_ledger WHERE workspace_id = ?1 AND idem_key = ?2 AND state <> ?3",
                params![ws, key, DONE],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn setting(&self, ws: String, name: String) -> Result<Option<String>, StoreError> {
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT value FROM settings WHERE workspace_id = ?1 AND name = ?2",
                params![ws, name],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    pub async fn save_setting(
        &self,
        ws: String,
        name: String,
        value: String,
    ) -> Result<(), StoreError> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO settings (workspace_id, name, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (workspace_id, name) DO UPDATE SET value = excluded.value",
                params![ws, name, value],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn meta(&self, name: String) -> Result<Option<String>, StoreError> {
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT value FROM store_meta WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    pub async fn import_legacy(
        &self,
        ws: String,
        marker: String,
        data: legacy::LegacyData,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO store_meta (name, value) VALUES (?1, ?2)",
                params![marker, now.to_string()],
            )?;
            if inserted == 0 {
                return Ok(false);
            }
            if let Some(t) = &data.token {
                let mut row = read_connection(&tx, &ws)?.unwrap_or_default();
                if row.refresh_token.is_none() {
                    row.refresh_token = Some(t.refresh_token.clone());
                    row.seeded_from = t.seeded_from.clone();
                    write_connection(&tx, &ws, &row)?;
                }
            }
            for n in &data.notifications {
                tx.execute(
                    "INSERT OR IGNORE INTO notifications
                     (workspace_id, id, topic, conversation_id, intercom_workspace, payload,
                      received_at, state, attempts, next_attempt_at, last_error, parked, finished_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                    params![
                        ws,
                        n.id,
                        n.topic,
                        n.conversation_id,
                        n.workspace_id,
                        n.payload,
                        n.received_at,
                        n.state,
                        n.attempts,
                        n.next_attempt_at,
                        n.last_error,
                        n.parked(),
                        n.finished_at(now),
                    ],
                )?;
            }
            for t in &data.tasks {
                insert_task(
                    &tx,
                    &(
                        ws.clone(),
                        t.conversation_id.clone(),
                        t.who_id.clone(),
                        t.task_id.clone(),
                        t.completed,
                        t.created_at,
                    ),
                )?;
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }
}

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: r.get(0)?,
        topic: r.get(1)?,
        conversation_id: r.get(2)?,
        workspace_id: r.get(3)?,
        attempts: r.get(4)?,
    })
}

fn insert_task(c: &Connection, m: &TaskRow) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO conversation_tasks
         (workspace_id, conversation_id, who_id, task_id, completed, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (workspace_id, conversation_id, who_id) DO UPDATE SET
           task_id = excluded.task_id, completed = MAX(completed, excluded.completed)",
        params![m.0, m.1, m.2, m.3, m.4 as i64, m.5],
    )?;
    Ok(())
}

fn read_connection(c: &Connection, ws: &str) -> Result<Option<ConnectionRow>, StoreError> {
    Ok(c.query_row(
        "SELECT refresh_token, seeded_from, access_token, instance_url, org_id, user_id,
                generation, revoked
         FROM sf_connections WHERE workspace_id = ?1",
        params![ws],
        |r| {
            Ok(ConnectionRow {
                refresh_token: r.get::<_, Option<String>>(0)?.map(Secret::new),
                seeded_from: r.get(1)?,
                access_token: r.get::<_, Option<String>>(2)?.map(Secret::new),
                instance_url: r.get(3)?,
                org_id: r.get(4)?,
                user_id: r.get(5)?,
                generation: r.get(6)?,
                revoked: r.get(7)?,
            })
        },
    )
    .optional()?)
}

fn write_connection(c: &Connection, ws: &str, row: &ConnectionRow) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO sf_connections (workspace_id, refresh_token, seeded_from, access_token,
             instance_url, org_id, user_id, generation, revoked, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (workspace_id) DO UPDATE SET refresh_token = excluded.refresh_token,
             seeded_from = excluded.seeded_from, access_token = excluded.access_token,
             instance_url = excluded.instance_url, org_id = excluded.org_id,
             user_id = excluded.user_id, generation = excluded.generation,
             revoked = excluded.revoked, updated_at = excluded.updated_at",
        params![
            ws,
            row.refresh_token.as_ref().map(Secret::expose),
            row.seeded_from,
            row.access_token.as_ref().map(Secret::expose),
            row.instance_url,
            row.org_id,
            row.user_id,
            row.generation,
            row.revoked,
            super::now_ms()
        ],
    )?;
    Ok(())
}

/// Creates `path` mode 0600 if it does not exist (SQLite gives its WAL and
/// shared-memory files the database file's mode).
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map(|_| ())
}
