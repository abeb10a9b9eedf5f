//! The installed workspaces and what their admins use (migration 5, issue 10):
//!
//! - **workspaces**: each Intercom workspace that installed the app, with
//!   its name, region, installer and Intercom token (sealed);
//! - **the Salesforce connection's account** (`sf_connections`, beside the
//!   tokens the token manager keeps): which login URL and user connected it,
//!   when, and its health (last success, last error);
//! - **admin sessions**, keyed by the SHA-256 of the cookie's value (the
//!   value itself is never stored), with the session's CSRF token (sealed);
//! - **OAuth states**, keyed by the SHA-256 of the `state` parameter, single
//!   use, with the PKCE verifier (sealed);
//! - the start-up pass that re-seals every stored token ([`Store::reseal_all`]);
//! - uninstall: every row of a workspace, in every table, goes at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{aad, from_ms, token_hash, Backend, Sealer, Store, StoreError};
use crate::config::Secret;

/// The sealed columns: (table, key column, column). A value's associated
/// data is `<table>.<column>:<key>`, so it opens in its own row only.
const SEALED: &[(&str, &str, &str)] = &[
    ("sf_connections", "workspace_id", "refresh_token"),
    ("sf_connections", "workspace_id", "access_token"),
    ("workspaces", "workspace_id", "intercom_token"),
    ("oauth_states", "state_hash", "pkce_verifier"),
    ("admin_sessions", "session_hash", "csrf_token"),
];
const INTERCOM_TOKEN: &str = "workspaces.intercom_token";
const PKCE_VERIFIER: &str = "oauth_states.pkce_verifier";
const CSRF_TOKEN: &str = "admin_sessions.csrf_token";

/// Every table that holds a workspace's rows, as uninstall deletes them
/// (the connection and the workspace row last).
const WORKSPACE_TABLES: &[&str] = &[
    "notifications",
    "conversation_tasks",
    "form_ledger",
    "settings",
    "sync_errors",
    "conversation_cases",
    "action_tokens",
    "api_usage",
    "admin_sessions",
    "oauth_states",
    "sf_connections",
    "workspaces",
];

/// Within this long an unchanged health is not written again.
const RECORD_EVERY: Duration = Duration::from_secs(10);
/// The longest stored last error (Salesforce's messages can be long).
const LAST_ERROR_MAX_CHARS: usize = 500;

/// An installed workspace.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct WorkspaceRow {
    pub workspace_id: String,
    pub name: Option<String>,
    /// Intercom's region of the workspace (`us`, `eu`, `au`).
    pub region: Option<String>,
    pub intercom_token: Option<Secret>,
    /// The Intercom admin who installed the app.
    pub installed_by: Option<String>,
    pub installed_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for WorkspaceRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkspaceRow")
            .field("workspace_id", &self.workspace_id)
            .field("name", &self.name)
            .field("region", &self.region)
            .field("has_intercom_token", &self.intercom_token.is_some())
            .field("installed_by", &self.installed_by)
            .field("installed_at", &self.installed_at)
            .finish()
    }
}

/// Which Salesforce account a workspace connected, and how it is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The login host the admin chose (production or sandbox, or My Domain).
    pub login_url: Option<String>,
    pub instance_url: Option<String>,
    pub org_id: Option<String>,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub connected_at: Option<DateTime<Utc>>,
    /// The last Salesforce call that worked ([`Store::record_call`]).
    pub last_ok_at: Option<DateTime<Utc>>,
    /// The last call's error, if the last call failed.
    pub last_error: Option<String>,
}

/// An OAuth flow in progress, between the redirect and the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthState {
    /// Which flow (the Intercom install, the Salesforce connect).
    pub kind: String,
    /// SHA-256 of the browser cookie the flow started in: the callback must
    /// come from the same browser.
    pub browser_hash: String,
    pub workspace_id: Option<String>,
    pub admin_id: Option<String>,
    pub pkce_verifier: Option<Secret>,
    pub login_url: Option<String>,
}

/// A signed-in admin of a workspace (the console).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    pub workspace_id: String,
    pub admin_id: String,
    pub admin_name: String,
    pub admin_email: String,
    pub csrf_token: Secret,
    pub expires_at: DateTime<Utc>,
}

/// The last health [`Store::record_call`] wrote, per workspace: (when in
/// ms, the error or `None` for a success).
type Marks = HashMap<String, (i64, Option<String>)>;

#[derive(Clone, Default)]
pub(crate) struct CallMarks(Arc<Mutex<Marks>>);

impl CallMarks {
    fn lock(&self) -> std::sync::MutexGuard<'_, Marks> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn forget(&self, ws: &str) {
        self.lock().remove(ws);
    }
}

/// The SQLite form of a statement written with PostgreSQL's `$n`
/// parameters (`?n`: the same numbers).
/// Deletes one workspace's rows of table `t` (one of [`WORKSPACE_TABLES`]).
fn delete_from(t: &str) -> String {
    format!("DELETE FROM {t} WHERE workspace_id = $1")
}

fn lite(sql: &str) -> String {
    sql.replace('$', "?")
}

fn ms(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(|t| t.timestamp_millis())
}

/// (workspace_id, name, region, intercom_token, installed_by, installed_at)
type RawWorkspace = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

const WORKSPACE_COLUMNS: &str =
    "workspace_id, name, region, intercom_token, installed_by, installed_at";

fn sqlite_workspace(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawWorkspace> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn pg_workspace(r: &tokio_postgres::Row) -> RawWorkspace {
    (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5))
}

/// (login_url, instance_url, org_id, user_id, username, connected_at,
/// last_ok_at, last_error)
type RawInfo = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

const INFO_COLUMNS: &str =
    "login_url, instance_url, org_id, user_id, username, connected_at, last_ok_at, last_error";

fn info_from_raw(r: RawInfo) -> ConnectionInfo {
    ConnectionInfo {
        login_url: r.0,
        instance_url: r.1,
        org_id: r.2,
        user_id: r.3,
        username: r.4,
        connected_at: r.5.map(from_ms),
        last_ok_at: r.6.map(from_ms),
        last_error: r.7,
    }
}

/// (kind, browser_hash, workspace_id, admin_id, pkce_verifier, login_url, expires_at)
type RawState = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

/// (workspace_id, admin_id, admin_name, admin_email, csrf_token, expires_at)
type RawSession = (String, String, String, String, String, i64);

impl Store {
    fn open_workspace(&self, r: RawWorkspace) -> Result<WorkspaceRow, StoreError> {
        let intercom_token =
            r.3.map(|t| self.sealer.open_stored(&t, &aad(INTERCOM_TOKEN, &r.0)))
                .transpose()?;
        Ok(WorkspaceRow {
            workspace_id: r.0,
            name: r.1,
            region: r.2,
            intercom_token,
            installed_by: r.4,
            installed_at: r.5.map(from_ms),
        })
    }

    // ---- workspaces (registry-wide) ---------------------------------------------

    /// Stores a workspace (upsert by id; every field replaced). A workspace
    /// saved again after an uninstall is installed again.
    pub async fn save_workspace(&self, row: &WorkspaceRow) -> Result<(), StoreError> {
        self.ready().await?;
        let token = row.intercom_token.as_ref().map(|t| {
            self.sealer
                .seal(t.expose(), &aad(INTERCOM_TOKEN, &row.workspace_id))
        });
        let (id, name, region, by) = (
            row.workspace_id.clone(),
            row.name.clone(),
            row.region.clone(),
            row.installed_by.clone(),
        );
        let (at, now) = (ms(row.installed_at), self.clock.now_ms());
        const UPSERT: &str = "INSERT INTO workspaces (workspace_id, created_at, name, region,
                 intercom_token, installed_by, installed_at, uninstalled_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)
             ON CONFLICT (workspace_id) DO UPDATE SET name = EXCLUDED.name,
                 region = EXCLUDED.region, intercom_token = EXCLUDED.intercom_token,
                 installed_by = EXCLUDED.installed_by,
                 installed_at = EXCLUDED.installed_at, uninstalled_at = NULL";
        match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    c.execute(&lite(UPSERT), params![id, now, name, region, token, by, at])?;
                    Ok(())
                })
                .await
            }
            Backend::Postgres(p) => {
                p.client()
                    .await?
                    .execute(UPSERT, &[&id, &now, &name, &region, &token, &by, &at])
                    .await?;
                Ok(())
            }
        }
    }

    /// One workspace by id.
    pub async fn workspace_row(&self, id: &str) -> Result<Option<WorkspaceRow>, StoreError> {
        self.ready().await?;
        let id = id.to_string();
        let sql = format!("SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE workspace_id = $1");
        let raw = match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    Ok(c.query_row(&lite(&sql), params![id], sqlite_workspace)
                        .optional()?)
                })
                .await?
            }
            Backend::Postgres(p) => p
                .client()
                .await?
                .query_opt(&sql, &[&id])
                .await?
                .as_ref()
                .map(pg_workspace),
        };
        raw.map(|r| self.open_workspace(r)).transpose()
    }

    /// Every workspace not uninstalled, by id (registry-wide).
    pub async fn installed_workspaces(&self) -> Result<Vec<WorkspaceRow>, StoreError> {
        self.ready().await?;
        let sql = format!(
            "SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE uninstalled_at IS NULL
             ORDER BY workspace_id"
        );
        let raws = match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    let mut stmt = c.prepare(&sql)?;
                    let rows = stmt.query_map([], sqlite_workspace)?;
                    Ok(rows.collect::<Result<Vec<_>, _>>()?)
                })
                .await?
            }
            Backend::Postgres(p) => p
                .client()
                .await?
                .query(&sql, &[])
                .await?
                .iter()
                .map(pg_workspace)
                .collect(),
        };
        raws.into_iter().map(|r| self.open_workspace(r)).collect()
    }

    /// Deletes every row of this workspace in every table (queue, maps,
    /// ledger, settings, sync errors, cases, action tokens, usage, sessions,
    /// states, connection, the workspace row), in one transaction
    /// (registry-wide: `id`, not [`Store::workspace`]). The caller stops
    /// the workspace's token manager first: a refresh started afterwards
    /// would leave an empty connection row behind.
    pub async fn delete_workspace(&self, id: &str) -> Result<(), StoreError> {
        self.ready().await?;
        let id = id.to_string();
        self.call_marks.forget(&id);
        match &self.backend {
            Backend::Sqlite(s) => {
                // A token refresh in flight would write the connection back.
                let _refresh = s.connection_lock.lock().await;
                s.run(move |c| {
                    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    for t in WORKSPACE_TABLES {
                        tx.execute(&lite(&delete_from(t)), params![id])?;
                    }
                    tx.commit()?;
                    Ok(())
                })
                .await
            }
            Backend::Postgres(p) => {
                let mut c = p.client().await?;
                let tx = c.transaction().await?;
                // A refresh in flight holds the connection row: wait for it.
                for t in WORKSPACE_TABLES {
                    tx.execute(&delete_from(t), &[&id]).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    }

    // ---- the workspace's Salesforce connection -------------------------------------

    /// Connects this workspace to the Salesforce account `info` names with
    /// `refresh_token`, replacing any earlier connection (a reconnect): the
    /// generation is bumped (replicas drop their sessions), the access token
    /// and a revocation cleared. Waits for a token refresh in flight.
    pub async fn connect(
        &self,
        info: &ConnectionInfo,
        refresh_token: &Secret,
    ) -> Result<(), StoreError> {
        self.ready().await?;
        let ws = self.workspace.to_string();
        self.call_marks.forget(&ws);
        let token = self
            .sealer
            .seal(refresh_token.expose(), &aad(super::REFRESH_TOKEN, &ws));
        let now = self.clock.now_ms();
        let i = info.clone();
        let connected = ms(i.connected_at).unwrap_or(now);
        let (ok_at, error) = (ms(i.last_ok_at), i.last_error);
        const UPSERT: &str = "INSERT INTO sf_connections (workspace_id, refresh_token,
                 access_token, instance_url, org_id, user_id, generation, revoked, updated_at,
                 login_url, username, connected_at, last_ok_at, last_error)
             VALUES ($1, $2, NULL, $3, $4, $5, 1, NULL, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (workspace_id) DO UPDATE SET refresh_token = excluded.refresh_token,
                 access_token = NULL, instance_url = excluded.instance_url,
                 org_id = excluded.org_id, user_id = excluded.user_id,
                 generation = sf_connections.generation + 1, revoked = NULL,
                 updated_at = excluded.updated_at, login_url = excluded.login_url,
                 username = excluded.username, connected_at = excluded.connected_at,
                 last_ok_at = excluded.last_ok_at, last_error = excluded.last_error";
        match &self.backend {
            Backend::Sqlite(s) => {
                let _refresh = s.connection_lock.lock().await;
                s.run(move |c| {
                    c.execute(
                        &lite(UPSERT),
                        params![
                            ws,
                            token,
                            i.instance_url,
                            i.org_id,
                            i.user_id,
                            now,
                            i.login_url,
                            i.username,
                            connected,
                            ok_at,
                            error
                        ],
                    )?;
                    Ok(())
                })
                .await
            }
            Backend::Postgres(p) => {
                p.client()
                    .await?
                    .execute(
                        UPSERT,
                        &[
                            &ws,
                            &token,
                            &i.instance_url,
                            &i.org_id,
                            &i.user_id,
                            &now,
                            &i.login_url,
                            &i.username,
                            &connected,
                            &ok_at,
                            &error,
                        ],
                    )
                    .await?;
                Ok(())
            }
        }
    }

    /// This workspace's connected account (`None`: not connected).
    pub async fn connection_info(&self) -> Result<Option<ConnectionInfo>, StoreError> {
        self.ready().await?;
        let ws = self.workspace.to_string();
        let sql = format!(
            "SELECT {INFO_COLUMNS} FROM sf_connections
             WHERE workspace_id = $1 AND refresh_token IS NOT NULL"
        );
        let raw: Option<RawInfo> = match &self.backend {
            Backend::Sqlite(s) => {
                let sql = lite(&sql);
                s.run(move |c| {
                    Ok(c.query_row(&sql, params![ws], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                        ))
                    })
                    .optional()?)
                })
                .await?
            }
            Backend::Postgres(p) => p.client().await?.query_opt(&sql, &[&ws]).await?.map(|r| {
                (
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                    r.get(7),
                )
            }),
        };
        Ok(raw.map(info_from_raw))
    }

    /// Forgets this workspace's connection: tokens and account cleared,
    /// the generation bumped (so replicas drop their sessions; the row stays
    /// for it). Answers the refresh token, for the caller to revoke.
    pub async fn disconnect(&self) -> Result<Option<Secret>, StoreError> {
        self.ready().await?;
        let ws = self.workspace.to_string();
        self.call_marks.forget(&ws);
        const CLEAR: &str = "refresh_token = NULL, seeded_from = NULL, access_token = NULL,
             instance_url = NULL, org_id = NULL, user_id = NULL, revoked = NULL,
             login_url = NULL, username = NULL, connected_at = NULL, last_ok_at = NULL,
             last_error = NULL, generation = generation + 1";
        let now = self.clock.now_ms();
        let old: Option<String> = match &self.backend {
            Backend::Sqlite(s) => {
                let _refresh = s.connection_lock.lock().await;
                let ws = ws.clone();
                s.run(move |c| {
                    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    let old: Option<String> = tx
                        .query_row(
                            "SELECT refresh_token FROM sf_connections WHERE workspace_id = ?1",
                            params![ws],
                            |r| r.get(0),
                        )
                        .optional()?
                        .flatten();
                    tx.execute(
                        &format!(
                            "UPDATE sf_connections SET {CLEAR}, updated_at = ?2
                             WHERE workspace_id = ?1"
                        ),
                        params![ws, now],
                    )?;
                    tx.commit()?;
                    Ok(old)
                })
                .await?
            }
            Backend::Postgres(p) => {
                // The sub-select locks the row (waiting for a refresh in
                // flight) and hands back the token as it was.
                p.client()
                    .await?
                    .query_opt(
                        &format!(
                            "UPDATE sf_connections c SET {CLEAR}, updated_at = $2
                             FROM (SELECT workspace_id, refresh_token FROM sf_connections
                                   WHERE workspace_id = $1 FOR UPDATE) old
                             WHERE c.workspace_id = old.workspace_id
                             RETURNING old.refresh_token"
                        ),
                        &[&ws, &now],
                    )
                    .await?
                    .and_then(|r| r.get(0))
            }
        };
        old.map(|t| {
            self.sealer
                .open_stored(&t, &aad(super::REFRESH_TOKEN, &ws))
                .map_err(StoreError::from)
        })
        .transpose()
    }

    /// Records how this workspace's last Salesforce call went: a success
    /// sets `last_ok_at` and clears `last_error`; a failure sets
    /// `last_error`. An unchanged outcome is written at most every 10 s
    /// per process, so calling it on every request costs nothing.
    pub async fn record_call(&self, ok: Result<(), &str>) -> Result<(), StoreError> {
        let ws = self.workspace.to_string();
        let error: Option<String> = ok
            .err()
            .map(|e| e.chars().take(LAST_ERROR_MAX_CHARS).collect());
        let now = self.clock.now_ms();
        let due = match self.call_marks.lock().get(&ws) {
            Some((at, last)) => *last != error || now - at >= RECORD_EVERY.as_millis() as i64,
            None => true,
        };
        if !due {
            return Ok(());
        }
        self.ready().await?;
        let mark = (now, error.clone());
        match &self.backend {
            Backend::Sqlite(s) => {
                let ws = ws.clone();
                s.run(move |c| {
                    c.execute(
                        "UPDATE sf_connections SET last_error = ?2,
                             last_ok_at = CASE WHEN ?2 IS NULL THEN ?3 ELSE last_ok_at END
                         WHERE workspace_id = ?1",
                        params![ws, error, now],
                    )?;
                    Ok(())
                })
                .await?
            }
            Backend::Postgres(p) => {
                p.client()
                    .await?
                    .execute(
                        "UPDATE sf_connections SET last_error = $2::TEXT,
                             last_ok_at = CASE WHEN $2::TEXT IS NULL THEN $3 ELSE last_ok_at END
                         WHERE workspace_id = $1",
                        &[&ws, &error, &now],
                    )
                    .await?;
            }
        }
        self.call_marks.lock().insert(ws, mark);
        Ok(())
    }

    // ---- OAuth states (registry-wide) ----------------------------------------------

    /// Stores a flow's state for `ttl`, under the SHA-256 of `state`.
    /// Expired states of every flow are purged on the way.
    pub async fn put_oauth_state(
        &self,
        state: &str,
        s: &OAuthState,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.ready().await?;
        let hash = token_hash(state);
        let verifier = s
            .pkce_verifier
            .as_ref()
            .map(|v| self.sealer.seal(v.expose(), &aad(PKCE_VERIFIER, &hash)));
        let now = self.clock.now_ms();
        let expires = now + ttl.as_millis() as i64;
        let st = s.clone();
        const PURGE: &str = "DELETE FROM oauth_states WHERE expires_at <= $1";
        const INSERT: &str = "INSERT INTO oauth_states (state_hash, kind, browser_hash,
                 workspace_id, admin_id, pkce_verifier, login_url, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        match &self.backend {
            Backend::Sqlite(sq) => {
                sq.run(move |c| {
                    let tx = c.transaction()?;
                    tx.execute(&lite(PURGE), params![now])?;
                    tx.execute(
                        &lite(INSERT),
                        params![
                            hash,
                            st.kind,
                            st.browser_hash,
                            st.workspace_id,
                            st.admin_id,
                            verifier,
                            st.login_url,
                            now,
                            expires
                        ],
                    )?;
                    tx.commit()?;
                    Ok(())
                })
                .await
            }
            Backend::Postgres(p) => {
                let c = p.client().await?;
                c.execute(PURGE, &[&now]).await?;
                c.execute(
                    INSERT,
                    &[
                        &hash,
                        &st.kind,
                        &st.browser_hash,
                        &st.workspace_id,
                        &st.admin_id,
                        &verifier,
                        &st.login_url,
                        &now,
                        &expires,
                    ],
                )
                .await?;
                Ok(())
            }
        }
    }

    /// Single use: deletes and returns it (atomically, so two replicas
    /// cannot both take it); expired → None.
    pub async fn take_oauth_state(&self, state: &str) -> Result<Option<OAuthState>, StoreError> {
        self.ready().await?;
        let hash = token_hash(state);
        const TAKE: &str = "DELETE FROM oauth_states WHERE state_hash = $1
             RETURNING kind, browser_hash, workspace_id, admin_id, pkce_verifier, login_url,
                 expires_at";
        let raw: Option<RawState> = match &self.backend {
            Backend::Sqlite(s) => {
                let hash = hash.clone();
                s.run(move |c| {
                    Ok(c.query_row(&lite(TAKE), params![hash], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                        ))
                    })
                    .optional()?)
                })
                .await?
            }
            Backend::Postgres(p) => p.client().await?.query_opt(TAKE, &[&hash]).await?.map(|r| {
                (
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                )
            }),
        };
        let Some(r) = raw.filter(|r| r.6 > self.clock.now_ms()) else {
            return Ok(None);
        };
        let pkce_verifier =
            r.4.map(|v| self.sealer.open_stored(&v, &aad(PKCE_VERIFIER, &hash)))
                .transpose()?;
        Ok(Some(OAuthState {
            kind: r.0,
            browser_hash: r.1,
            workspace_id: r.2,
            admin_id: r.3,
            pkce_verifier,
            login_url: r.5,
        }))
    }

    // ---- admin sessions (registry-wide) ----------------------------------------------

    /// Stores a session under the SHA-256 of its cookie's value (replacing
    /// one of the same value). Expired sessions are purged on the way.
    pub async fn create_session(
        &self,
        cookie_value: &str,
        s: &AdminSession,
    ) -> Result<(), StoreError> {
        self.ready().await?;
        let hash = token_hash(cookie_value);
        let csrf = self
            .sealer
            .seal(s.csrf_token.expose(), &aad(CSRF_TOKEN, &hash));
        let now = self.clock.now_ms();
        let expires = s.expires_at.timestamp_millis();
        let se = s.clone();
        const PURGE: &str = "DELETE FROM admin_sessions WHERE expires_at <= $1";
        const UPSERT: &str = "INSERT INTO admin_sessions (session_hash, workspace_id, admin_id,
                 admin_name, admin_email, csrf_token, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (session_hash) DO UPDATE SET workspace_id = excluded.workspace_id,
                 admin_id = excluded.admin_id, admin_name = excluded.admin_name,
                 admin_email = excluded.admin_email, csrf_token = excluded.csrf_token,
                 created_at = excluded.created_at, expires_at = excluded.expires_at";
        match &self.backend {
            Backend::Sqlite(sq) => {
                sq.run(move |c| {
                    let tx = c.transaction()?;
                    tx.execute(&lite(PURGE), params![now])?;
                    tx.execute(
                        &lite(UPSERT),
                        params![
                            hash,
                            se.workspace_id,
                            se.admin_id,
                            se.admin_name,
                            se.admin_email,
                            csrf,
                            now,
                            expires
                        ],
                    )?;
                    tx.commit()?;
                    Ok(())
                })
                .await
            }
            Backend::Postgres(p) => {
                let c = p.client().await?;
                c.execute(PURGE, &[&now]).await?;
                c.execute(
                    UPSERT,
                    &[
                        &hash,
                        &se.workspace_id,
                        &se.admin_id,
                        &se.admin_name,
                        &se.admin_email,
                        &csrf,
                        &now,
                        &expires,
                    ],
                )
                .await?;
                Ok(())
            }
        }
    }

    /// The session a cookie's value names; expired → None.
    pub async fn session(&self, cookie_value: &str) -> Result<Option<AdminSession>, StoreError> {
        self.ready().await?;
        let hash = token_hash(cookie_value);
        let now = self.clock.now_ms();
        const SELECT: &str = "SELECT workspace_id, admin_id, admin_name, admin_email, csrf_token,
                 expires_at
             FROM admin_sessions WHERE session_hash = $1 AND expires_at > $2";
        let raw: Option<RawSession> = match &self.backend {
            Backend::Sqlite(s) => {
                let hash = hash.clone();
                s.run(move |c| {
                    Ok(c.query_row(&lite(SELECT), params![hash, now], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                        ))
                    })
                    .optional()?)
                })
                .await?
            }
            Backend::Postgres(p) => p
                .client()
                .await?
                .query_opt(SELECT, &[&hash, &now])
                .await?
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5))),
        };
        raw.map(|r| {
            Ok(AdminSession {
                workspace_id: r.0,
                admin_id: r.1,
                admin_name: r.2,
                admin_email: r.3,
                csrf_token: self.sealer.open_stored(&r.4, &aad(CSRF_TOKEN, &hash))?,
                expires_at: from_ms(r.5),
            })
        })
        .transpose()
    }

    /// Ends a session (signing out).
    pub async fn delete_session(&self, cookie_value: &str) -> Result<(), StoreError> {
        self.ready().await?;
        let hash = token_hash(cookie_value);
        const DELETE: &str = "DELETE FROM admin_sessions WHERE session_hash = $1";
        match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    c.execute(&lite(DELETE), params![hash])?;
                    Ok(())
                })
                .await
            }
            Backend::Postgres(p) => {
                p.client().await?.execute(DELETE, &[&hash]).await?;
                Ok(())
            }
        }
    }

    // ---- the Workflow action's token (registry-wide) -------------------------------

    /// The workspace whose action token `presented` is (its SHA-256 looked
    /// up across workspaces). A token two workspaces share names neither.
    pub async fn workspace_for_action_token(
        &self,
        presented: &str,
    ) -> Result<Option<String>, StoreError> {
        self.ready().await?;
        let hash = token_hash(presented);
        const SELECT: &str = "SELECT workspace_id FROM action_tokens WHERE token_hash = $1
             ORDER BY workspace_id LIMIT 2";
        let found: Vec<String> = match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    let mut stmt = c.prepare(&lite(SELECT))?;
                    let rows = stmt.query_map(params![hash], |r| r.get(0))?;
                    Ok(rows.collect::<Result<Vec<_>, _>>()?)
                })
                .await?
            }
            Backend::Postgres(p) => p
                .client()
                .await?
                .query(SELECT, &[&hash])
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect(),
        };
        Ok(match <[String; 1]>::try_from(found) {
            Ok([ws]) => Some(ws),
            Err(_) => None,
        })
    }

    // ---- sealing at rest ----------------------------------------------------------

    /// Re-seals every stored token that is plaintext (an older release
    /// wrote it) or sealed with another key than the sealing one; fails if
    /// one does not open. Part of [`Store::ready`]: never calls it. A value
    /// is replaced only if it is still the one read, so a token a replica
    /// rotated meanwhile is kept.
    pub(super) async fn reseal_all(&self) -> Result<(), StoreError> {
        let sealer = self.sealer.clone();
        let mut resealed = 0;
        for (table, key, column) in SEALED {
            let select = format!("SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL");
            let update =
                format!("UPDATE {table} SET {column} = $1 WHERE {key} = $2 AND {column} = $3");
            let place = format!("{table}.{column}");
            resealed += match &self.backend {
                Backend::Sqlite(s) => {
                    let sealer = sealer.clone();
                    s.run(move |c| {
                        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                        let stored: Vec<(String, String)> = {
                            let mut stmt = tx.prepare(&select)?;
                            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                            rows.collect::<Result<_, _>>()?
                        };
                        let mut n = 0;
                        for (k, v, new) in resealing(&sealer, &place, stored)? {
                            n += tx.execute(&lite(&update), params![new, k, v])?;
                        }
                        tx.commit()?;
                        Ok(n)
                    })
                    .await?
                }
                Backend::Postgres(p) => {
                    let c = p.client().await?;
                    let stored: Vec<(String, String)> = c
                        .query(&select, &[])
                        .await?
                        .iter()
                        .map(|r| (r.get(0), r.get(1)))
                        .collect();
                    let mut n = 0;
                    for (k, v, new) in resealing(&sealer, &place, stored)? {
                        n += c.execute(&update, &[&new, &k, &v]).await? as usize;
                    }
                    n
                }
            };
        }
        if resealed > 0 {
            tracing::info!(
                resealed,
                key_id = sealer.sealing_key_id(),
                "stored tokens sealed with the current ENCRYPTION_KEY"
            );
        }
        Ok(())
    }
}

/// Of the stored (key, value) pairs of one column, those to write again:
/// (key, value as read, value sealed with the sealing key). Every value must
/// open, re-sealed or not.
fn resealing(
    sealer: &Sealer,
    place: &str,
    stored: Vec<(String, String)>,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let mut out = Vec::new();
    for (k, v) in stored {
        let plain = sealer.open_stored(&v, &aad(place, &k))?;
        if sealer.needs_reseal(&v) {
            let new = sealer.seal(plain.expose(), &aad(place, &k));
            out.push((k, v, new));
        }
    }
    Ok(out)
}
