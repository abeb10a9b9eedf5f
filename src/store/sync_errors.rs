//! Sync errors, the conversation → Case map and the action tokens.
//!
//! A **sync error** is a background write to Salesforce that failed for a
//! reason a retry now cannot cure (a validation rule, a bad value, a
//! missing Contact, a permission) or that waits for the connection: one row
//! per (kind, conversation), with Salesforce's error code, message and
//! fields, how often it was tried, when it was first and last seen and the
//! next automatic retry. The console lists, retries and dismisses them; a
//! conversation's sidebar shows its own. Retrying one queues its job again
//! (the job is kept, parked, until then); rows older than 30 days are
//! purged. A success of the same work deletes the row.
//!
//! The **case map** holds the one Case of a conversation. The **action
//! tokens** are the SHA-256 of each workspace's Workflow-action token.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

use super::{from_ms, Backend, Store, StoreError};

/// How long a sync error is kept ([`Store::purge_sync_errors`]).
pub const SYNC_ERROR_RETENTION: std::time::Duration =
    std::time::Duration::from_secs(30 * 24 * 3600);

/// What background write failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncKind {
    /// An automatic Case (trigger or Workflow action).
    AutoCase,
    /// An automatic Task.
    AutoTask,
    /// Any other background write.
    Other,
}

impl SyncKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncKind::AutoCase => "auto_case",
            SyncKind::AutoTask => "auto_task",
            SyncKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> SyncKind {
        match s {
            "auto_case" => SyncKind::AutoCase,
            "auto_task" => SyncKind::AutoTask,
            _ => SyncKind::Other,
        }
    }
}

/// A sync error to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSyncError {
    pub kind: SyncKind,
    pub conversation_id: String,
    /// What was attempted ("Create the conversation's Case").
    pub attempted: String,
    /// Salesforce's error code (`FIELD_CUSTOM_VALIDATION_EXCEPTION`), or
    /// the app's (`NOT_A_CONTACT`, `BAD_VALUE`).
    pub code: String,
    pub message: String,
    /// The fields Salesforce named.
    pub fields: Vec<String>,
    /// The queued job that retries it.
    pub job_id: Option<String>,
    /// When it is retried automatically (none: only by hand).
    pub next_retry: Option<DateTime<Utc>>,
}

/// A recorded sync error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncError {
    /// `{kind}:{conversation id}`.
    pub id: String,
    pub kind: SyncKind,
    pub conversation_id: String,
    pub attempted: String,
    pub code: String,
    pub message: String,
    pub fields: Vec<String>,
    pub job_id: Option<String>,
    /// How many times the work failed so.
    pub attempts: u32,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub next_retry: Option<DateTime<Utc>>,
}

/// The Case of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedCase {
    pub case_id: String,
    pub case_number: Option<String>,
    /// Status and owner's name as of the app's last write.
    pub status: Option<String>,
    pub owner: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The id of the sync error of `kind` for a conversation.
pub fn sync_error_id(kind: SyncKind, conversation_id: &str) -> String {
    format!("{}:{conversation_id}", kind.as_str())
}

/// The stored form of an action token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

const COLUMNS: &str = "id, kind, conversation_id, attempted, code, message, fields, job_id, \
                       attempts, first_seen, last_seen, next_retry";

type Raw = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    i64,
    Option<i64>,
);

fn from_raw(r: Raw) -> SyncError {
    SyncError {
        id: r.0,
        kind: SyncKind::parse(&r.1),
        conversation_id: r.2,
        attempted: r.3,
        code: r.4,
        message: r.5,
        fields: serde_json::from_str(&r.6).unwrap_or_default(),
        job_id: r.7,
        attempts: r.8.max(0) as u32,
        first_seen: from_ms(r.9),
        last_seen: from_ms(r.10),
        next_retry: r.11.map(from_ms),
    }
}

fn sqlite_raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
    ))
}

fn pg_raw(r: &tokio_postgres::Row) -> Raw {
    (
        r.get(0),
        r.get(1),
        r.get(2),
        r.get(3),
        r.get(4),
        r.get(5),
        r.get(6),
        r.get(7),
        r.get::<_, i32>(8) as i64,
        r.get(9),
        r.get(10),
        r.get(11),
    )
}

impl Store {
    // ---- sync errors ---------------------------------------------------------

    /// Records (or counts again) the sync error of this kind and
    /// conversation; answers its id.
    pub async fn record_sync_error(&self, e: &NewSyncError) -> Result<String, StoreError> {
        self.ready().await?;
        let ws = self.workspace.to_string();
        let id = sync_error_id(e.kind, &e.conversation_id);
        let now = self.clock.now_ms();
        let fields = serde_json::to_string(&e.fields).expect("strings serialise");
        let next = e.next_retry.map(|t| t.timestamp_millis());
        let e = e.clone();
        match &self.backend {
            Backend::Sqlite(s) => {
                let id = id.clone();
                s.run(move |c| {
                    c.execute(
                        "INSERT INTO sync_errors (workspace_id, id, kind, conversation_id,
                             attempted, code, message, fields, job_id, attempts, first_seen,
                             last_seen, next_retry)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?10, ?11)
                         ON CONFLICT (workspace_id, id) DO UPDATE SET
                             attempted = excluded.attempted, code = excluded.code,
                             message = excluded.message, fields = excluded.fields,
                             job_id = COALESCE(excluded.job_id, sync_errors.job_id),
                             attempts = sync_errors.attempts + 1,
                             last_seen = excluded.last_seen, next_retry = excluded.next_retry",
                        params![
                            ws,
                            id,
                            e.kind.as_str(),
                            e.conversation_id,
                            e.attempted,
                            e.code,
                            e.message,
                            fields,
                            e.job_id,
                            now,
                            next
                        ],
                    )?;
                    Ok(())
                })
                .await?
            }
            Backend::Postgres(p) => {
                p.client()
                    .await?
                    .execute(
                        "INSERT INTO sync_errors (workspace_id, id, kind, conversation_id,
                             attempted, code, message, fields, job_id, attempts, first_seen,
                             last_seen, next_retry)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10, $11)
                         ON CONFLICT (workspace_id, id) DO UPDATE SET
                             attempted = EXCLUDED.attempted, code = EXCLUDED.code,
                             message = EXCLUDED.message, fields = EXCLUDED.fields,
                             job_id = COALESCE(EXCLUDED.job_id, sync_errors.job_id),
                             attempts = sync_errors.attempts + 1,
                             last_seen = EXCLUDED.last_seen, next_retry = EXCLUDED.next_retry",
                        &[
                            &ws,
                            &id,
                            &e.kind.as_str(),
                            &e.conversation_id,
                            &e.attempted,
                            &e.code,
                            &e.message,
                            &fields,
                            &e.job_id,
                            &now,
                            &next,
                        ],
                    )
                    .await?;
            }
        }
        Ok(id)
    }

    /// The workspace's sync errors, the most recently seen first; `kind`
    /// keeps one kind.
    pub async fn sync_errors(&self, kind: Option<SyncKind>) -> Result<Vec<SyncError>, StoreError> {
        self.ready().await?;
        let ws = self.workspace.to_string();
        let kind = kind.map(|k| k.as_str().to_string());
        let raws = match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    let mut stmt = c.prepare(&format!(
                        "SELECT {COLUMNS} FROM sync_errors
                         WHERE workspace_id = ?1 AND (?2 IS NULL OR kind = ?2)
                         ORDER BY last_seen DESC, id"
                    ))?;
                    let rows = stmt.query_map(params![ws, kind], sqlite_raw)?;
                    Ok(rows.collect::<Result<Vec<_>, _>>()?)
                })
                .await?
            }
            Backend::Postgres(p) => p
                .client()
                .await?
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM sync_errors
                         WHERE workspace_id = $1 AND ($2::TEXT IS NULL OR kind = $2::TEXT)
                         ORDER BY last_seen DESC, id"
                    ),
                    &[&ws, &kind],
                )
                .await?
                .iter()
                .map(pg_raw)
                .collect(),
        };
        Ok(raws.into_iter().map(from_raw).collect())
    }

    /// One sync error by id.
    pub async fn sync_error(&self, id: &str) -> Result<Option<SyncError>, StoreError> {
        self.ready().await?;
        let (ws, id) = (self.workspace.to_string(), id.to_string());
        let raw = match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    Ok(c.query_row(
                        &format!(
                            "SELECT {COLUMNS} FROM sync_errors WHERE workspace_id = ?1 AND id = ?2"
                        ),
                        params![ws, id],
                        sqlite_raw,
                    )
                    .optional()?)
                })
                .await?
            }
            Backend::Postgres(p) => p
                .client()
                .await?
                .query_opt(
                    &format!(
                        "SELECT {COLUMNS} FROM sync_errors WHERE workspace_id = $1 AND id = $2"
                    ),
                    &[&ws, &id],
                )
                .await?
                .as_ref()
                .map(pg_raw),
        };
        Ok(raw.map(from_raw))
    }

    /// The sync error of `kind` for a conversation (the sidebar's).
    pub async fn sync_error_for(
        &self,
        kind: SyncKind,
        conversation_id: &str,
    ) -> Result<Option<SyncError>, StoreError> {
        self.sync_error(&sync_error_id(kind, conversation_id)).await
    }

    /// Queues the sync error's work again, due now (its job's attempts
    /// reset); the error stays until the work succeeds. `false`: no such
    /// error, or it has no job to queue.
    pub async fn retry_sync_error(&self, id: &str) -> Result<bool, StoreError> {
        let Some(e) = self.sync_error(id).await? else {
            return Ok(false);
        };
        let Some(job) = e.job_id else {
            return Ok(false);
        };
        let now = self.clock.now_ms();
        let (ws, id) = (self.workspace.to_string(), id.to_string());
        let n = match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    let tx = c.transaction()?;
                    let n = tx.execute(
                        "UPDATE notifications SET state = 'pending', attempts = 0,
                             next_attempt_at = ?3, lease_until = NULL, finished_at = NULL,
                             parked = NULL
                         WHERE workspace_id = ?1 AND id = ?2 AND state <> 'running'",
                        params![ws, job, now],
                    )?;
                    tx.execute(
                        "UPDATE sync_errors SET next_retry = ?3 WHERE workspace_id = ?1 AND id = ?2",
                        params![ws, id, now],
                    )?;
                    tx.commit()?;
                    Ok(n)
                })
                .await?
            }
            Backend::Postgres(p) => {
                let mut c = p.client().await?;
                let tx = c.transaction().await?;
                let n = tx
                    .execute(
                        "UPDATE notifications SET state = 'pending', attempts = 0,
                             next_attempt_at = $3, lease_until = NULL, finished_at = NULL,
                             parked = NULL
                         WHERE workspace_id = $1 AND id = $2 AND state <> 'running'",
                        &[&ws, &job, &now],
                    )
                    .await?;
                tx.execute(
                    "UPDATE sync_errors SET next_retry = $3 WHERE workspace_id = $1 AND id = $2",
                    &[&ws, &id, &now],
                )
                .await?;
                tx.commit().await?;
                n as usize
            }
        };
        Ok(n > 0)
    }

    /// Retries every sync error of the same kind and code as `id` (the
    /// same cause, fixed once); answers how many were queued.
    pub async fn retry_sync_errors_like(&self, id: &str) -> Result<u64, StoreError> {
        let Some(first) = self.sync_error(id).await? else {
            return Ok(0);
        };
        let mut n = 0;
        for e in self.sync_errors(Some(first.kind)).await? {
            if e.code == first.code && self.retry_sync_error(&e.id).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Forgets a sync error (its parked job stays parked). `false`: none.
    pub async fn dismiss_sync_error(&self, id: &str) -> Result<bool, StoreError> {
        self.ready().await?;
        let (ws, id) = (self.workspace.to_string(), id.to_string());
        let n = match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    Ok(c.execute(
                        "DELETE FROM sync_errors WHERE workspace_id = ?1 AND id = ?2",
                        params![ws, id],
                    )? as u64)
                })
                .await?
            }
            Backend::Postgres(p) => {
                p.client()
                    .await?
                    .execute(
                        "DELETE FROM sync_errors WHERE workspace_id = $1 AND id = $2",
                        &[&ws, &id],
                    )
                    .await?
            }
        };
        Ok(n > 0)
    }

    /// The work succeeded: its sync error (if any) is gone.
    pub async fn resolve_sync_error(
        &self,
        kind: SyncKind,
        conversation_id: &str,
    ) -> Result<(), StoreError> {
        self.dismiss_sync_error(&sync_error_id(kind, conversation_id))
            .await
            .map(|_| ())
    }

    /// Deletes sync errors last seen more than `age` ago (30 days by
    /// [`SYNC_ERROR_RETENTION`]).
    pub async fn purge_sync_errors(&self, age: std::time::Duration) -> Result<u64, StoreError> {
        self.ready().await?;
        let ws = self.workspace.to_string();
        let before = self.clock.now_ms() - age.as_millis() as i64;
        match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    Ok(c.execute(
                        "DELETE FROM sync_errors WHERE workspace_id = ?1 AND last_seen < ?2",
                        params![ws, before],
                    )? as u64)
                })
                .await
            }
            Backend::Postgres(p) => Ok(p
                .client()
                .await?
                .execute(
                    "DELETE FROM sync_errors WHERE workspace_id = $1 AND last_seen < $2",
                    &[&ws, &before],
                )
                .await?),
        }
    }

    // ---- the conversation → Case map ------------------------------------------

    /// The conversation's Case, if the app made or found one.
    pub async fn case_for(&self, conversation_id: &str) -> Result<Option<MappedCase>, StoreError> {
        self.ready().await?;
        let (ws, conv) = (self.workspace.to_string(), conversation_id.to_string());
        type Row = (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            i64,
            i64,
        );
        let row: Option<Row> = match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    Ok(c.query_row(
                        "SELECT case_id, case_number, case_status, case_owner, created_at, updated_at
                         FROM conversation_cases WHERE workspace_id = ?1 AND conversation_id = ?2",
                        params![ws, conv],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
                    )
                    .optional()?)
                })
                .await?
            }
            Backend::Postgres(p) => p
                .client()
                .await?
                .query_opt(
                    "SELECT case_id, case_number, case_status, case_owner, created_at, updated_at
                     FROM conversation_cases WHERE workspace_id = $1 AND conversation_id = $2",
                    &[&ws, &conv],
                )
                .await?
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5))),
        };
        Ok(
            row.map(|(case_id, case_number, status, owner, c, u)| MappedCase {
                case_id,
                case_number,
                status,
                owner,
                created_at: from_ms(c),
                updated_at: from_ms(u),
            }),
        )
    }

    /// Remembers the conversation's Case (with its number, status and
    /// owner as just read). The first Case stays: a second one for the same
    /// conversation is refused and the first answered.
    pub async fn map_case(
        &self,
        conversation_id: &str,
        case_id: &str,
        case_number: Option<&str>,
        status: Option<&str>,
        owner: Option<&str>,
    ) -> Result<MappedCase, StoreError> {
        self.ready().await?;
        let (ws, conv, id, num) = (
            self.workspace.to_string(),
            conversation_id.to_string(),
            case_id.to_string(),
            case_number.map(str::to_string),
        );
        let (status, owner) = (status.map(str::to_string), owner.map(str::to_string));
        let now = self.clock.now_ms();
        match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    c.execute(
                        "INSERT INTO conversation_cases (workspace_id, conversation_id, case_id,
                             case_number, case_status, case_owner, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
                         ON CONFLICT (workspace_id, conversation_id) DO UPDATE SET
                             case_number = COALESCE(conversation_cases.case_number, excluded.case_number),
                             case_status = COALESCE(excluded.case_status, conversation_cases.case_status),
                             case_owner = COALESCE(excluded.case_owner, conversation_cases.case_owner),
                             updated_at = excluded.updated_at",
                        params![ws, conv, id, num, status, owner, now],
                    )?;
                    Ok(())
                })
                .await?
            }
            Backend::Postgres(p) => {
                p.client()
                    .await?
                    .execute(
                        "INSERT INTO conversation_cases (workspace_id, conversation_id, case_id,
                             case_number, case_status, case_owner, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
                         ON CONFLICT (workspace_id, conversation_id) DO UPDATE SET
                             case_number = COALESCE(conversation_cases.case_number, EXCLUDED.case_number),
                             case_status = COALESCE(EXCLUDED.case_status, conversation_cases.case_status),
                             case_owner = COALESCE(EXCLUDED.case_owner, conversation_cases.case_owner),
                             updated_at = EXCLUDED.updated_at",
                        &[&ws, &conv, &id, &num, &status, &owner, &now],
                    )
                    .await?;
            }
        }
        self.case_for(conversation_id)
            .await?
            .ok_or_else(|| StoreError::Database("the case map lost a row".into()))
    }

    /// A queued job's payload (a Workflow action's attributes).
    pub async fn job_payload(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.ready().await?;
        let (ws, id) = (self.workspace.to_string(), id.to_string());
        match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    Ok(c.query_row(
                        "SELECT payload FROM notifications WHERE workspace_id = ?1 AND id = ?2",
                        params![ws, id],
                        |r| r.get(0),
                    )
                    .optional()?)
                })
                .await
            }
            Backend::Postgres(p) => Ok(p
                .client()
                .await?
                .query_opt(
                    "SELECT payload FROM notifications WHERE workspace_id = $1 AND id = $2",
                    &[&ws, &id],
                )
                .await?
                .map(|r| r.get(0))),
        }
    }

    // ---- the Workflow action's token ---------------------------------------------

    /// Stores (replaces) the workspace's action token, as its hash.
    pub async fn set_action_token(&self, token: &str) -> Result<(), StoreError> {
        self.ready().await?;
        let (ws, hash, now) = (
            self.workspace.to_string(),
            token_hash(token),
            self.clock.now_ms(),
        );
        match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    c.execute(
                        "INSERT INTO action_tokens (workspace_id, token_hash, created_at)
                         VALUES (?1, ?2, ?3)
                         ON CONFLICT (workspace_id) DO UPDATE SET
                             token_hash = excluded.token_hash, created_at = excluded.created_at",
                        params![ws, hash, now],
                    )?;
                    Ok(())
                })
                .await
            }
            Backend::Postgres(p) => {
                p.client()
                    .await?
                    .execute(
                        "INSERT INTO action_tokens (workspace_id, token_hash, created_at)
                         VALUES ($1, $2, $3)
                         ON CONFLICT (workspace_id) DO UPDATE SET
                             token_hash = EXCLUDED.token_hash, created_at = EXCLUDED.created_at",
                        &[&ws, &hash, &now],
                    )
                    .await?;
                Ok(())
            }
        }
    }

    /// The hash of the workspace's action token, if it has one.
    pub async fn action_token_hash(&self) -> Result<Option<String>, StoreError> {
        self.ready().await?;
        let ws = self.workspace.to_string();
        match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    Ok(c.query_row(
                        "SELECT token_hash FROM action_tokens WHERE workspace_id = ?1",
                        params![ws],
                        |r| r.get(0),
                    )
                    .optional()?)
                })
                .await
            }
            Backend::Postgres(p) => Ok(p
                .client()
                .await?
                .query_opt(
                    "SELECT token_hash FROM action_tokens WHERE workspace_id = $1",
                    &[&ws],
                )
                .await?
                .map(|r| r.get(0))),
        }
    }
}
