//! Versioned schema migrations, one list per backend, applied in order at
//! start-up and recorded in `schema_migrations`. A migration is never
//! edited once released: a change is a new version.
//!
//! Every table is keyed by a workspace id. `workspaces` and `settings`
//! leave room for many workspaces and their settings (issue 10).
//! Version 4: `api_usage`, the API budget's calls per workspace per UTC day
//! and the org's last `Sforce-Limit-Info` (issue 12).
//! Version 5: many workspaces (issue 10) — each workspace's name, region,
//! sealed Intercom token and installer; the Salesforce connection's login
//! URL, user name and health; admin sessions and OAuth states (the
//! cookie's and the state's SHA-256 only, never the values).
//!
//! Version 2 is intentionally skipped: it was held for the workspaces work,
//! which landed as version 5, after 3 and 4. There is no version 2, and the
//! runner needs none: it applies every listed version a database lacks.

/// (version, SQL) for SQLite.
pub const SQLITE: &[(i64, &str)] = &[
    (
        1,
        "
CREATE TABLE workspaces (
    workspace_id TEXT PRIMARY KEY,
    created_at   INTEGER NOT NULL
);
CREATE TABLE settings (
    workspace_id TEXT NOT NULL,
    name         TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
CREATE TABLE store_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE sf_connections (
    workspace_id  TEXT PRIMARY KEY,
    refresh_token TEXT,
    seeded_from   TEXT,
    access_token  TEXT,
    instance_url  TEXT,
    org_id        TEXT,
    user_id       TEXT,
    generation    INTEGER NOT NULL DEFAULT 0,
    revoked       TEXT,
    updated_at    INTEGER NOT NULL
);
CREATE TABLE notifications (
    workspace_id       TEXT NOT NULL,
    id                 TEXT NOT NULL,
    topic              TEXT NOT NULL,
    conversation_id    TEXT NOT NULL,
    intercom_workspace TEXT,
    payload            TEXT NOT NULL,
    received_at        INTEGER NOT NULL,
    state              TEXT NOT NULL DEFAULT 'pending',
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    INTEGER NOT NULL,
    lease_until        INTEGER,
    last_error         TEXT,
    parked             TEXT,
    finished_at        INTEGER,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX notifications_due ON notifications (workspace_id, state, next_attempt_at);
CREATE TABLE conversation_tasks (
    workspace_id    TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    who_id          TEXT NOT NULL,
    task_id         TEXT NOT NULL,
    completed       INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, conversation_id, who_id)
);
CREATE TABLE form_ledger (
    workspace_id TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    state        TEXT NOT NULL,
    record_id    TEXT,
    started_at   INTEGER NOT NULL,
    lease_until  INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, idem_key)
);
",
    ),
    (
        3,
        "
CREATE TABLE sync_errors (
    workspace_id    TEXT NOT NULL,
    id              TEXT NOT NULL,
    kind            TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    attempted       TEXT NOT NULL,
    code            TEXT NOT NULL,
    message         TEXT NOT NULL,
    fields          TEXT NOT NULL,
    job_id          TEXT,
    attempts        INTEGER NOT NULL,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    next_retry      INTEGER,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX sync_errors_seen ON sync_errors (workspace_id, last_seen);
CREATE TABLE conversation_cases (
    workspace_id    TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    case_id         TEXT NOT NULL,
    case_number     TEXT,
    case_status     TEXT,
    case_owner      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, conversation_id)
);
CREATE TABLE action_tokens (
    workspace_id TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
",
    ),
    (
        4,
        "
CREATE TABLE api_usage (
    workspace_id TEXT NOT NULL,
    day          TEXT NOT NULL,
    app_calls    INTEGER NOT NULL DEFAULT 0,
    org_used     INTEGER,
    org_limit    INTEGER,
    org_seen_at  INTEGER,
    PRIMARY KEY (workspace_id, day)
);
",
    ),
    (
        5,
        "
ALTER TABLE workspaces ADD COLUMN region TEXT;
ALTER TABLE workspaces ADD COLUMN name TEXT;
ALTER TABLE workspaces ADD COLUMN intercom_token TEXT;
ALTER TABLE workspaces ADD COLUMN installed_by TEXT;
ALTER TABLE workspaces ADD COLUMN installed_at INTEGER;
ALTER TABLE workspaces ADD COLUMN uninstalled_at INTEGER;
ALTER TABLE sf_connections ADD COLUMN login_url TEXT;
ALTER TABLE sf_connections ADD COLUMN username TEXT;
ALTER TABLE sf_connections ADD COLUMN connected_at INTEGER;
ALTER TABLE sf_connections ADD COLUMN last_ok_at INTEGER;
ALTER TABLE sf_connections ADD COLUMN last_error TEXT;
CREATE TABLE admin_sessions (
    session_hash TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    admin_id     TEXT NOT NULL,
    admin_name   TEXT NOT NULL,
    admin_email  TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX admin_sessions_workspace ON admin_sessions (workspace_id);
CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);
CREATE TABLE oauth_states (
    state_hash    TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    browser_hash  TEXT NOT NULL,
    workspace_id  TEXT,
    admin_id      TEXT,
    pkce_verifier TEXT,
    login_url     TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX oauth_states_workspace ON oauth_states (workspace_id);
CREATE INDEX oauth_states_expiry ON oauth_states (expires_at);
CREATE INDEX action_tokens_hash ON action_tokens (token_hash);
",
    ),
];

/// (version, SQL) for PostgreSQL. Times are milliseconds since the epoch,
/// as on SQLite, so both backends share the same logic.
pub const POSTGRES: &[(i64, &str)] = &[
    (
        1,
        "
CREATE TABLE workspaces (
    workspace_id TEXT PRIMARY KEY,
    created_at   BIGINT NOT NULL
);
CREATE TABLE settings (
    workspace_id TEXT NOT NULL,
    name         TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
CREATE TABLE store_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE sf_connections (
    workspace_id  TEXT PRIMARY KEY,
    refresh_token TEXT,
    seeded_from   TEXT,
    access_token  TEXT,
    instance_url  TEXT,
    org_id        TEXT,
    user_id       TEXT,
    generation    BIGINT NOT NULL DEFAULT 0,
    revoked       TEXT,
    updated_at    BIGINT NOT NULL
);
CREATE TABLE notifications (
    workspace_id       TEXT NOT NULL,
    id                 TEXT NOT NULL,
    topic              TEXT NOT NULL,
    conversation_id    TEXT NOT NULL,
    intercom_workspace TEXT,
    payload            TEXT NOT NULL,
    received_at        BIGINT NOT NULL,
    state              TEXT NOT NULL DEFAULT 'pending',
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    BIGINT NOT NULL,
    lease_until        BIGINT,
    last_error         TEXT,
    parked             TEXT,
    finished_at        BIGINT,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX notifications_due ON notifications (workspace_id, state, next_attempt_at);
CREATE TABLE conversation_tasks (
    workspace_id    TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    who_id          TEXT NOT NULL,
    task_id         TEXT NOT NULL,
    completed       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, conversation_id, who_id)
);
CREATE TABLE form_ledger (
    workspace_id TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    state        TEXT NOT NULL,
    record_id    TEXT,
    started_at   BIGINT NOT NULL,
    lease_until  BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, idem_key)
);
",
    ),
    (
        3,
        "
CREATE TABLE sync_errors (
    workspace_id    TEXT NOT NULL,
    id              TEXT NOT NULL,
    kind            TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    attempted       TEXT NOT NULL,
    code            TEXT NOT NULL,
    message         TEXT NOT NULL,
    fields          TEXT NOT NULL,
    job_id          TEXT,
    attempts        INTEGER NOT NULL,
    first_seen      BIGINT NOT NULL,
    last_seen       BIGINT NOT NULL,
    next_retry      BIGINT,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX sync_errors_seen ON sync_errors (workspace_id, last_seen);
CREATE TABLE conversation_cases (
    workspace_id    TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    case_id         TEXT NOT NULL,
    case_number     TEXT,
    case_status     TEXT,
    case_owner      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, conversation_id)
);
CREATE TABLE action_tokens (
    workspace_id TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
",
    ),
    (
        4,
        "
CREATE TABLE api_usage (
    workspace_id TEXT NOT NULL,
    day          TEXT NOT NULL,
    app_calls    BIGINT NOT NULL DEFAULT 0,
    org_used     BIGINT,
    org_limit    BIGINT,
    org_seen_at  BIGINT,
    PRIMARY KEY (workspace_id, day)
);
",
    ),
    (
        5,
        "
ALTER TABLE workspaces ADD COLUMN region TEXT;
ALTER TABLE workspaces ADD COLUMN name TEXT;
ALTER TABLE workspaces ADD COLUMN intercom_token TEXT;
ALTER TABLE workspaces ADD COLUMN installed_by TEXT;
ALTER TABLE workspaces ADD COLUMN installed_at BIGINT;
ALTER TABLE workspaces ADD COLUMN uninstalled_at BIGINT;
ALTER TABLE sf_connections ADD COLUMN login_url TEXT;
ALTER TABLE sf_connections ADD COLUMN username TEXT;
ALTER TABLE sf_connections ADD COLUMN connected_at BIGINT;
ALTER TABLE sf_connections ADD COLUMN last_ok_at BIGINT;
ALTER TABLE sf_connections ADD COLUMN last_error TEXT;
CREATE TABLE admin_sessions (
    session_hash TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    admin_id     TEXT NOT NULL,
    admin_name   TEXT NOT NULL,
    admin_email  TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX admin_sessions_workspace ON admin_sessions (workspace_id);
CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);
CREATE TABLE oauth_states (
    state_hash    TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    browser_hash  TEXT NOT NULL,
    workspace_id  TEXT,
    admin_id      TEXT,
    pkce_verifier TEXT,
    login_url     TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX oauth_states_workspace ON oauth_states (workspace_id);
CREATE INDEX oauth_states_expiry ON oauth_states (expires_at);
CREATE INDEX action_tokens_hash ON action_tokens (token_hash);
",
    ),
];
