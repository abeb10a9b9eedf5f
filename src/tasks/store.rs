//! The durable side of automatic tasks: the webhook queue and the
//! conversation → Task map, in one embedded SQLite database.
//!
//! SQLite (through `rusqlite`, bundled) because the app is a single process
//! that must not lose a notification it has acknowledged: a row is written
//! and synced (WAL, `synchronous=FULL`) before Intercom gets its 200, and a
//! notification id is the primary key, so a redelivery is a no-op. Calls are
//! short and run on tokio's blocking pool.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use rusqlite::{params, Connection, OptionalExtension};

use crate::config::Database;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(String),
    #[error("could not create {path}: {reason}")]
    Dir { path: String, reason: String },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e.to_string())
    }
}

/// One queued notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Intercom's notification id.
    pub id: String,
    pub topic: String,
    pub conversation_id: String,
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
    pub done: u64,
    pub failed: u64,
}

#[derive(Clone)]
pub struct TaskStore {
    conn: Arc<Mutex<Connection>>,
    clock: Clock,
}

/// The store's "now" for due times and back-off: the wall clock, which a
/// test can move forward ([`Clock::advance`]) instead of sleeping.
#[derive(Clone, Default)]
pub struct Clock {
    ahead_ms: Arc<std::sync::atomic::AtomicI64>,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        Utc::now().timestamp_millis() + self.ahead_ms.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Moves this store's time forward by `d` (tests).
    pub fn advance(&self, d: Duration) {
        self.ahead_ms
            .fetch_add(d.as_millis() as i64, std::sync::atomic::Ordering::SeqCst);
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS notifications (
    id              TEXT PRIMARY KEY,
    topic           TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    workspace_id    TEXT,
    payload         TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS conversation_tasks (
    conversation_id TEXT NOT NULL,
    who_id          TEXT NOT NULL,
    task_id         TEXT NOT NULL,
    completed       INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, who_id)
);
";

impl TaskStore {
    /// Opens (creating if needed) the database `db` names; `data_dir` is
    /// where the default file goes.
    pub fn open(db: &Database) -> Result<TaskStore, StoreError> {
        let conn = match db {
            Database::Memory => Connection::open_in_memory()?,
            Database::File(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| StoreError::Dir {
                        path: dir.display().to_string(),
                        reason: e.to_string(),
                    })?;
                }
                let c = Connection::open(path)?;
                c.pragma_update(None, "journal_mode", "WAL")?;
                c
            }
        };
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(TaskStore {
            conn: Arc::new(Mutex::new(conn)),
            clock: Clock::default(),
        })
    }

    /// The clock due times are read with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The default database file under `DATA_DIR`.
    pub fn default_path(data_dir: &Path) -> Database {
        Database::File(data_dir.join("sf-inbox.db"))
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut c)
        })
        .await
        .map_err(|e| StoreError::Sqlite(format!("store task failed: {e}")))?
    }

    /// Stores a notification; `false` when that id was already stored.
    pub async fn enqueue(
        &self,
        id: &str,
        topic: &str,
        conversation_id: &str,
        workspace_id: Option<&str>,
        payload: &[u8],
    ) -> Result<bool, StoreError> {
        let (id, topic, conv) = (
            id.to_string(),
            topic.to_string(),
            conversation_id.to_string(),
        );
        let ws = workspace_id.map(str::to_string);
        let payload = String::from_utf8_lossy(payload).into_owned();
        let now = self.clock.now_ms();
        self.with(move |c| {
            let n = c.execute(
                "INSERT OR IGNORE INTO notifications
                 (id, topic, conversation_id, workspace_id, payload, received_at, next_attempt_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![id, topic, conv, ws, payload, now],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// The oldest pending notification that is due, if any.
    pub async fn next_due(&self) -> Result<Option<Job>, StoreError> {
        let now = self.clock.now_ms();
        self.with(move |c| {
            Ok(c.query_row(
                "SELECT id, topic, conversation_id, workspace_id, attempts FROM notifications
                 WHERE state = 'pending' AND next_attempt_at <= ?1
                 ORDER BY received_at, rowid LIMIT 1",
                params![now],
                |r| {
                    Ok(Job {
                        id: r.get(0)?,
                        topic: r.get(1)?,
                        conversation_id: r.get(2)?,
                        workspace_id: r.get(3)?,
                        attempts: r.get(4)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    /// How long until the next pending notification is due (`None`: none).
    pub async fn next_wait(&self) -> Result<Option<Duration>, StoreError> {
        let now = self.clock.now_ms();
        self.with(move |c| {
            let at: Option<i64> = c.query_row(
                "SELECT MIN(next_attempt_at) FROM notifications WHERE state = 'pending'",
                [],
                |r| r.get(0),
            )?;
            Ok(at.map(|t| Duration::from_millis((t - now).max(0) as u64)))
        })
        .await
    }

    pub async fn mark_done(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_string();
        self.with(move |c| {
            c.execute(
                "UPDATE notifications SET state = 'done', last_error = NULL WHERE id = ?1",
                params![id],
            )?;
            Ok(())
        })
        .await
    }

    /// Records a failed attempt: retried after `delay`, or given up on.
    pub async fn mark_failed(
        &self,
        id: &str,
        error: &str,
        delay: Option<Duration>,
    ) -> Result<(), StoreError> {
        let (id, error) = (id.to_string(), error.to_string());
        let now = self.clock.now_ms();
        self.with(move |c| {
            match delay {
                Some(d) => c.execute(
                    "UPDATE notifications SET attempts = attempts + 1, last_error = ?2,
                     next_attempt_at = ?3 WHERE id = ?1",
                    params![id, error, now + d.as_millis() as i64],
                )?,
                None => c.execute(
                    "UPDATE notifications SET attempts = attempts + 1, last_error = ?2,
                     state = 'failed' WHERE id = ?1",
                    params![id, error],
                )?,
            };
            Ok(())
        })
        .await
    }

    pub async fn counts(&self) -> Result<QueueCounts, StoreError> {
        self.with(|c| {
            let mut out = QueueCounts::default();
            let mut stmt = c.prepare("SELECT state, COUNT(*) FROM notifications GROUP BY state")?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?;
            for row in rows {
                let (state, n) = row?;
                match state.as_str() {
                    "pending" => out.pending = n,
                    "done" => out.done = n,
                    _ => out.failed += n,
                }
            }
            Ok(out)
        })
        .await
    }

    /// The last error of a notification (for tests and operators).
    pub async fn last_error(&self, id: &str) -> Result<Option<String>, StoreError> {
        let id = id.to_string();
        self.with(move |c| {
            Ok(c.query_row(
                "SELECT last_error FROM notifications WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
        })
        .await
    }

    /// The Tasks made for a conversation.
    pub async fn tasks_for(&self, conversation_id: &str) -> Result<Vec<Mapped>, StoreError> {
        let conv = conversation_id.to_string();
        self.with(move |c| {
            let mut stmt = c.prepare(
                "SELECT who_id, task_id, completed FROM conversation_tasks
                 WHERE conversation_id = ?1 ORDER BY created_at, rowid",
            )?;
            let rows = stmt.query_map(params![conv], |r| {
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

    /// Remembers the Task of (conversation, record).
    pub async fn map_task(
        &self,
        conversation_id: &str,
        who_id: &str,
        task_id: &str,
        completed: bool,
    ) -> Result<(), StoreError> {
        let (conv, who, task) = (
            conversation_id.to_string(),
            who_id.to_string(),
            task_id.to_string(),
        );
        let now = self.clock.now_ms();
        self.with(move |c| {
            c.execute(
                "INSERT INTO conversation_tasks (conversation_id, who_id, task_id, completed, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (conversation_id, who_id) DO UPDATE SET task_id = excluded.task_id,
                   completed = MAX(completed, excluded.completed)",
                params![conv, who, task, completed as i64, now],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn mark_completed(
        &self,
        conversation_id: &str,
        task_id: &str,
    ) -> Result<(), StoreError> {
        let (conv, task) = (conversation_id.to_string(), task_id.to_string());
        self.with(move |c| {
            c.execute(
                "UPDATE conversation_tasks SET completed = 1
                 WHERE conversation_id = ?1 AND task_id = ?2",
                params![conv, task],
            )?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_notification_is_stored_once_and_retried_later() {
        let s = TaskStore::open(&Database::Memory).unwrap();
        assert!(s
            .enqueue("n1", "conversation.user.created", "4711", None, b"{}")
            .await
            .unwrap());
        assert!(!s
            .enqueue("n1", "conversation.user.created", "4711", None, b"{}")
            .await
            .unwrap());
        let job = s.next_due().await.unwrap().unwrap();
        assert_eq!(job.id, "n1");
        s.mark_failed("n1", "boom", Some(Duration::from_secs(60)))
            .await
            .unwrap();
        assert_eq!(s.next_due().await.unwrap(), None);
        assert!(s.next_wait().await.unwrap().unwrap() > Duration::from_secs(50));
        s.mark_failed("n1", "gave up", None).await.unwrap();
        assert_eq!(s.counts().await.unwrap().failed, 1);
    }

    #[tokio::test]
    async fn the_map_survives_a_reopen() {
        let dir = std::env::temp_dir().join(format!("sf-inbox-store-{}", std::process::id()));
        let db = Database::File(dir.join("t.db"));
        {
            let s = TaskStore::open(&db).unwrap();
            s.map_task("4711", "003A", "00TA", false).await.unwrap();
            s.mark_completed("4711", "00TA").await.unwrap();
        }
        let s = TaskStore::open(&db).unwrap();
        assert_eq!(
            s.tasks_for("4711").await.unwrap(),
            vec![Mapped {
                who_id: "003A".into(),
                task_id: "00TA".into(),
                completed: true
            }]
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
