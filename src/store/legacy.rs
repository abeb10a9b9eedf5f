//! The upgrade from the release before the store: it kept the rotated
//! refresh token in `DATA_DIR/salesforce-token.json` (with the SHA-256 of
//! the configured token it descends from) and the webhook queue and the
//! conversation → Task map in `DATA_DIR/sf-inbox.db`, in tables without a
//! workspace id. On the first start with the store both are imported,
//! exactly once (a marker in `store_meta`, written in the same transaction),
//! and announced in one log line; from then on only the store is read.
//!
//! When the store is that same SQLite file, the old file is first moved
//! aside to `sf-inbox.db.pre-store` (its WAL checkpointed) and kept as a
//! backup; the new store starts in a fresh file.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::Deserialize;

use super::{Store, StoreError};
use crate::config::Secret;

/// The marker of the import in `store_meta`.
pub const MARKER: &str = "legacy_import_v1";
pub const TOKEN_FILE: &str = "salesforce-token.json";
pub const QUEUE_FILE: &str = "sf-inbox.db";
pub const SET_ASIDE_SUFFIX: &str = ".pre-store";

/// The token file as today's release writes it.
#[derive(Deserialize)]
struct TokenFile {
    refresh_token: String,
    seeded_from: Option<String>,
}

pub struct LegacyToken {
    pub refresh_token: Secret,
    pub seeded_from: Option<String>,
}

pub struct LegacyNotification {
    pub id: String,
    pub topic: String,
    pub conversation_id: String,
    pub workspace_id: Option<String>,
    pub payload: String,
    pub received_at: i64,
    pub state: String,
    pub attempts: u32,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
}

impl LegacyNotification {
    /// Today's release parked a job for good; the store retries one that a
    /// reconnect may fix, which is what most of those were.
    pub fn parked(&self) -> Option<&'static str> {
        (self.state == "failed").then_some("connection")
    }

    pub fn finished_at(&self, now: i64) -> Option<i64> {
        (self.state != "pending").then_some(now)
    }
}

pub struct LegacyTask {
    pub conversation_id: String,
    pub who_id: String,
    pub task_id: String,
    pub completed: bool,
    pub created_at: i64,
}

#[derive(Default)]
pub struct LegacyData {
    pub token: Option<LegacyToken>,
    pub notifications: Vec<LegacyNotification>,
    pub tasks: Vec<LegacyTask>,
}

impl LegacyData {
    fn is_empty(&self) -> bool {
        self.token.is_none() && self.notifications.is_empty() && self.tasks.is_empty()
    }
}

/// Whether `path` is a database of today's release: its tables, and no
/// `schema_migrations`.
fn is_legacy_db(path: &Path) -> Result<bool, StoreError> {
    if !path.is_file() {
        return Ok(false);
    }
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let has = |t: &str| -> Result<bool, StoreError> {
        Ok(c.query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [t],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
    };
    Ok(has("notifications")? && !has("schema_migrations")?)
}

fn set_aside_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(SET_ASIDE_SUFFIX);
    path.with_file_name(name)
}

/// Moves today's database out of the store's way (checkpointing its WAL
/// first, so nothing is left behind in `-wal`).
pub fn set_aside_if_legacy(path: &Path) -> Result<(), StoreError> {
    if !is_legacy_db(path)? {
        return Ok(());
    }
    let io = |e: std::io::Error| StoreError::Import {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    {
        let c = Connection::open(path)?;
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        c.pragma_update(None, "journal_mode", "DELETE")?;
    }
    let aside = set_aside_path(path);
    std::fs::rename(path, &aside).map_err(io)?;
    for ext in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_os_string();
        side.push(ext);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    tracing::info!(from = %path.display(), to = %aside.display(), "kept the previous release's database aside for the import");
    Ok(())
}

/// Reads what today's release left in `data_dir`.
pub fn read(data_dir: &Path) -> Result<LegacyData, StoreError> {
    let mut data = LegacyData::default();
    let token_path = data_dir.join(TOKEN_FILE);
    match std::fs::read(&token_path) {
        Ok(bytes) => {
            let t: TokenFile = serde_json::from_slice(&bytes).map_err(|e| StoreError::Import {
                path: token_path.display().to_string(),
                reason: format!(
                    "unreadable token file ({:?} at line {})",
                    e.classify(),
                    e.line()
                ),
            })?;
            data.token = Some(LegacyToken {
                refresh_token: Secret::new(t.refresh_token),
                seeded_from: t.seeded_from,
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(StoreError::Import {
                path: token_path.display().to_string(),
                reason: e.to_string(),
            })
        }
    }
    let queue = data_dir.join(QUEUE_FILE);
    let aside = set_aside_path(&queue);
    let db = if aside.is_file() {
        Some(aside)
    } else if is_legacy_db(&queue)? {
        Some(queue)
    } else {
        None
    };
    if let Some(db) = db {
        let c = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let mut stmt = c.prepare(
            "SELECT id, topic, conversation_id, workspace_id, payload, received_at, state,
                    attempts, next_attempt_at, last_error FROM notifications",
        )?;
        data.notifications = stmt
            .query_map([], |r| {
                Ok(LegacyNotification {
                    id: r.get(0)?,
                    topic: r.get(1)?,
                    conversation_id: r.get(2)?,
                    workspace_id: r.get(3)?,
                    payload: r.get(4)?,
                    received_at: r.get(5)?,
                    state: r.get(6)?,
                    attempts: r.get(7)?,
                    next_attempt_at: r.get(8)?,
                    last_error: r.get(9)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let has_tasks = c
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'conversation_tasks'",
                [],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if has_tasks {
            let mut stmt = c.prepare(
                "SELECT conversation_id, who_id, task_id, completed, created_at
                 FROM conversation_tasks",
            )?;
            data.tasks = stmt
                .query_map([], |r| {
                    Ok(LegacyTask {
                        conversation_id: r.get(0)?,
                        who_id: r.get(1)?,
                        task_id: r.get(2)?,
                        completed: r.get::<_, i64>(3)? != 0,
                        created_at: r.get(4)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
        }
    }
    Ok(data)
}

/// Imports `data_dir` into `store` unless that was done before.
pub async fn import(store: &Store, data_dir: &Path) -> Result<(), StoreError> {
    if store.meta(MARKER).await?.is_some() {
        return Ok(());
    }
    let dir = data_dir.to_path_buf();
    let data = tokio::task::spawn_blocking(move || read(&dir))
        .await
        .map_err(|e| StoreError::Database(format!("import task failed: {e}")))??;
    if data.is_empty() {
        // Nothing to import (a new deployment): mark it, quietly.
        store.import_legacy(MARKER, data).await?;
        return Ok(());
    }
    let (token, pending, failed, tasks) = (
        data.token.is_some(),
        data.notifications
            .iter()
            .filter(|n| n.state == "pending")
            .count(),
        data.notifications
            .iter()
            .filter(|n| n.state == "failed")
            .count(),
        data.tasks.len(),
    );
    if store.import_legacy(MARKER, data).await? {
        tracing::info!(
            data_dir = %data_dir.display(),
            refresh_token = token,
            pending,
            failed,
            task_links = tasks,
            "imported the previous release's DATA_DIR into the store (once; from now on only the store is used)"
        );
    }
    Ok(())
}
