//! The store's multi-workspace tables on both backends: workspaces, the
//! connection's account, OAuth states, admin sessions, uninstall, the
//! action token's workspace; and tokens at rest (sealed in the file,
//! plaintext of an older release re-sealed at start, the wrong key refused).

use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use sf_inbox::config::{Database, Secret};
use sf_inbox::store::{
    AdminSession, ConnectionInfo, ConnectionRow, NewSyncError, OAuthState, Sealer, Store,
    StoreError, SyncKind, WorkspaceRow,
};

use crate::pg;

fn open(db: &Database, ws: &str) -> Store {
    Store::open(db, ws).expect("store opens")
}

fn key(byte: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

fn sealer(value: &str) -> Sealer {
    Sealer::from_env_value(value).expect("valid ENCRYPTION_KEY")
}

/// A time the store keeps exactly (milliseconds).
fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

fn workspace(id: &str, token: &str) -> WorkspaceRow {
    WorkspaceRow {
        workspace_id: id.into(),
        name: Some(format!("{id} Inc")),
        region: Some("eu".into()),
        intercom_token: Some(Secret::new(token)),
        installed_by: Some("admin-7".into()),
        installed_at: Some(at(1_700_000_000_123)),
    }
}

fn account(org: &str) -> ConnectionInfo {
    ConnectionInfo {
        login_url: Some("https://login.salesforce.com".into()),
        instance_url: Some(format!("https://{org}.my.salesforce.com")),
        org_id: Some(org.into()),
        user_id: Some("005A".into()),
        username: Some("ada@example.com".into()),
        connected_at: Some(at(1_700_000_000_000)),
        last_ok_at: None,
        last_error: None,
    }
}

fn state(ws: Option<&str>) -> OAuthState {
    OAuthState {
        kind: "salesforce".into(),
        browser_hash: "b-hash".into(),
        workspace_id: ws.map(str::to_string),
        admin_id: Some("admin-7".into()),
        pkce_verifier: Some(Secret::new("verifier-abc")),
        login_url: Some("https://test.salesforce.com".into()),
    }
}

fn session(ws: &str, expires_at: DateTime<Utc>) -> AdminSession {
    AdminSession {
        workspace_id: ws.into(),
        admin_id: "admin-7".into(),
        admin_name: "Ada".into(),
        admin_email: "ada@example.com".into(),
        csrf_token: Secret::new("csrf-123"),
        expires_at,
    }
}

/// Runs `sql` on the database itself, bypassing the store; answers the
/// rows, every column read as text (cast in the SQL where needed).
async fn raw(db: &Database, sql: &str) -> Vec<Vec<Option<String>>> {
    match db {
        Database::File(path) => {
            let c = rusqlite::Connection::open(path).unwrap();
            let mut stmt = c.prepare(sql).unwrap();
            let n = stmt.column_count();
            stmt.query_map([], |r| (0..n).map(|i| r.get(i)).collect())
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        }
        Database::Postgres(url) => {
            let (client, conn) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            client
                .query(sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
                .collect()
        }
        Database::Memory => unreachable!("the raw tests use a file or a server"),
    }
}

async fn raw_one(db: &Database, sql: &str) -> Option<String> {
    raw(db, sql)
        .await
        .into_iter()
        .next()
        .and_then(|r| r[0].clone())
}

#[tokio::test]
async fn workspaces_are_saved_read_and_listed() {
    for (name, db) in pg::backends("workspaces").await {
        let s = open(&db, "ws-a");
        assert_eq!(s.workspace_row("ws-a").await.unwrap(), None, "{name}");
        s.save_workspace(&workspace("ws-a", "tok-a")).await.unwrap();
        s.save_workspace(&workspace("ws-b", "tok-b")).await.unwrap();
        let a = s.workspace_row("ws-a").await.unwrap().unwrap();
        assert_eq!(a, workspace("ws-a", "tok-a"), "{name}");
        assert!(
            !format!("{a:?}").contains("tok-a"),
            "Debug redacts the token"
        );
        // Upsert: a reinstall replaces every field.
        let renamed = WorkspaceRow {
            name: Some("Renamed".into()),
            intercom_token: Some(Secret::new("tok-a2")),
            ..workspace("ws-a", "")
        };
        s.save_workspace(&renamed).await.unwrap();
        assert_eq!(s.workspace_row("ws-a").await.unwrap().unwrap(), renamed);
        let all = s.installed_workspaces().await.unwrap();
        let ids: Vec<_> = all.iter().map(|w| w.workspace_id.as_str()).collect();
        assert_eq!(ids, ["ws-a", "ws-b"], "{name}");
        assert_eq!(
            all[1].intercom_token.as_ref().map(Secret::expose),
            Some("tok-b")
        );
        // An uninstalled one is not listed.
        raw(
            &db,
            "UPDATE workspaces SET uninstalled_at = 1 WHERE workspace_id = 'ws-b'",
        )
        .await;
        let ids: Vec<_> = s
            .installed_workspaces()
            .await
            .unwrap()
            .into_iter()
            .map(|w| w.workspace_id)
            .collect();
        assert_eq!(ids, ["ws-a"], "{name}");
    }
}

#[tokio::test]
async fn a_connection_is_made_replaced_and_forgotten() {
    for (name, db) in pg::backends("connect").await {
        let s = open(&db, "ws-a");
        assert_eq!(s.connection_info().await.unwrap(), None, "{name}");
        assert_eq!(s.disconnect().await.unwrap(), None, "{name}");
        s.connect(&account("00DA"), &Secret::new("refresh-1"))
            .await
            .unwrap();
        assert_eq!(
            s.connection_info().await.unwrap(),
            Some(account("00DA")),
            "{name}"
        );
        let row = s.connection().await.unwrap().unwrap();
        assert_eq!(row.refresh_token, Some(Secret::new("refresh-1")));
        let first = row.generation;
        // The token manager refreshes: an access token, a rotated refresh token.
        s.with_connection_lock(|row| async move {
            let next = ConnectionRow {
                access_token: Some(Secret::new("access-1")),
                revoked: Some("stale mark".into()),
                ..row
            };
            (Some(next), ())
        })
        .await
        .unwrap();
        // A reconnect replaces the account, clears the access token and the
        // revocation, and bumps the generation.
        let mut other = account("00DB");
        other.connected_at = None;
        s.connect(&other, &Secret::new("refresh-2")).await.unwrap();
        let row = s.connection().await.unwrap().unwrap();
        assert_eq!(row.refresh_token, Some(Secret::new("refresh-2")), "{name}");
        assert_eq!((row.access_token, row.revoked), (None, None), "{name}");
        assert!(row.generation > first, "{name}");
        let info = s.connection_info().await.unwrap().unwrap();
        assert_eq!(info.org_id.as_deref(), Some("00DB"));
        assert!(info.connected_at.is_some(), "connected now when not given");
        // Another workspace is not connected.
        assert_eq!(
            s.for_workspace("ws-b").connection_info().await.unwrap(),
            None
        );
        // Disconnect hands back the token to revoke and forgets it all.
        let before = row.generation;
        assert_eq!(
            s.disconnect().await.unwrap(),
            Some(Secret::new("refresh-2")),
            "{name}"
        );
        assert_eq!(s.connection_info().await.unwrap(), None, "{name}");
        let row = s.connection().await.unwrap().unwrap_or_default();
        assert_eq!(row.refresh_token, None);
        assert!(
            row.generation > before,
            "{name}: replicas see the generation move"
        );
        assert_eq!(s.disconnect().await.unwrap(), None);
    }
}

#[tokio::test]
async fn calls_record_the_connections_health_at_most_every_ten_seconds() {
    for (name, db) in pg::backends("health").await {
        let s = open(&db, "ws-a");
        s.connect(&account("00DA"), &Secret::new("r"))
            .await
            .unwrap();
        s.record_call(Ok(())).await.unwrap();
        let first = s.connection_info().await.unwrap().unwrap().last_ok_at;
        assert!(first.is_some(), "{name}");
        // Unchanged within 10 s: not written again.
        s.clock().advance(Duration::from_secs(2));
        s.record_call(Ok(())).await.unwrap();
        assert_eq!(
            s.connection_info().await.unwrap().unwrap().last_ok_at,
            first,
            "{name}"
        );
        // A failure is written at once, and keeps the last success.
        s.record_call(Err("INVALID_SESSION_ID")).await.unwrap();
        let info = s.connection_info().await.unwrap().unwrap();
        assert_eq!(info.last_error.as_deref(), Some("INVALID_SESSION_ID"));
        assert_eq!(info.last_ok_at, first);
        // Success again clears the error.
        s.record_call(Ok(())).await.unwrap();
        let info = s.connection_info().await.unwrap().unwrap();
        assert_eq!(info.last_error, None, "{name}");
        assert!(info.last_ok_at > first, "{name}");
        // After 10 s an unchanged outcome is written again.
        let last = info.last_ok_at;
        s.clock().advance(Duration::from_secs(11));
        s.record_call(Ok(())).await.unwrap();
        assert!(s.connection_info().await.unwrap().unwrap().last_ok_at > last);
    }
}

#[tokio::test]
async fn an_oauth_state_is_taken_once_and_not_after_it_expired() {
    for (name, db) in pg::backends("oauth-states").await {
        let (a, b) = (open(&db, "ws-a"), open(&db, "ws-a"));
        a.put_oauth_state("state-1", &state(Some("ws-a")), Duration::from_secs(600))
            .await
            .unwrap();
        // Stored by hash only.
        assert_eq!(
            raw_one(
                &db,
                "SELECT CAST(COUNT(*) AS TEXT) FROM oauth_states WHERE state_hash = 'state-1'"
            )
            .await
            .as_deref(),
            Some("0"),
            "{name}"
        );
        assert_eq!(b.take_oauth_state("other").await.unwrap(), None);
        assert_eq!(
            b.take_oauth_state("state-1").await.unwrap(),
            Some(state(Some("ws-a"))),
            "{name}"
        );
        assert_eq!(
            a.take_oauth_state("state-1").await.unwrap(),
            None,
            "{name}: single use"
        );

        // Expired: gone.
        a.put_oauth_state("state-2", &state(None), Duration::from_secs(60))
            .await
            .unwrap();
        a.clock().advance(Duration::from_secs(61));
        assert_eq!(a.take_oauth_state("state-2").await.unwrap(), None, "{name}");

        // Two replicas take the same state at once: exactly one gets it.
        for i in 0..10 {
            let st = format!("race-{i}");
            a.put_oauth_state(&st, &state(None), Duration::from_secs(600))
                .await
                .unwrap();
            let (x, y) = tokio::join!(a.take_oauth_state(&st), b.take_oauth_state(&st));
            let won = [x.unwrap(), y.unwrap()]
                .into_iter()
                .filter(Option::is_some)
                .count();
            assert_eq!(won, 1, "{name}: race {i}");
        }
    }
}

#[tokio::test]
async fn a_session_is_found_by_its_cookie_until_it_expires_or_ends() {
    for (name, db) in pg::backends("sessions").await {
        let s = open(&db, "ws-a");
        let soon = at(s.clock().now_ms() + 60_000);
        s.create_session("cookie-1", &session("ws-a", soon))
            .await
            .unwrap();
        assert_eq!(
            s.session("cookie-1").await.unwrap(),
            Some(session("ws-a", soon)),
            "{name}"
        );
        assert_eq!(s.session("cookie-2").await.unwrap(), None);
        // The cookie's value is not stored, nor the CSRF token in the clear.
        let stored = raw(&db, "SELECT session_hash, csrf_token FROM admin_sessions").await;
        assert_eq!(stored.len(), 1);
        for v in stored[0].iter().flatten() {
            assert!(
                !v.contains("cookie-1") && !v.contains("csrf-123"),
                "{name}: {v}"
            );
        }
        // Expired: not found.
        s.clock().advance(Duration::from_secs(61));
        assert_eq!(s.session("cookie-1").await.unwrap(), None, "{name}");
        // Signing out ends it.
        let later = at(s.clock().now_ms() + 60_000);
        s.create_session("cookie-3", &session("ws-a", later))
            .await
            .unwrap();
        assert!(s.session("cookie-3").await.unwrap().is_some());
        s.delete_session("cookie-3").await.unwrap();
        assert_eq!(s.session("cookie-3").await.unwrap(), None, "{name}");
    }
}

/// Gives workspace `ws` a row in every table the store has.
async fn fill(s: &Store, ws: &str) {
    let s = s.for_workspace(ws);
    s.enqueue("n1", "t", "c1", Some(ws), b"{}").await.unwrap();
    s.map_task("c1", "00QA", "00TA", false).await.unwrap();
    s.ledger(Duration::from_secs(60)).begin("k1").await.unwrap();
    s.save_setting("panels", "x").await.unwrap();
    s.record_sync_error(&NewSyncError {
        kind: SyncKind::AutoCase,
        conversation_id: "c1".into(),
        attempted: "Create the conversation's Case".into(),
        code: "INVALID_FIELD".into(),
        message: "no".into(),
        fields: vec![],
        job_id: Some("n1".into()),
        next_retry: None,
    })
    .await
    .unwrap();
    s.map_case("c1", "500A", None, None, None).await.unwrap();
    s.set_action_token(&format!("action-{ws}")).await.unwrap();
    s.add_api_usage("2026-12-01", 3, None).await.unwrap();
    s.create_session(
        &format!("cookie-{ws}"),
        &session(ws, at(s.clock().now_ms() + 60_000)),
    )
    .await
    .unwrap();
    s.put_oauth_state(
        &format!("state-{ws}"),
        &state(Some(ws)),
        Duration::from_secs(600),
    )
    .await
    .unwrap();
    s.connect(&account("00D"), &Secret::new("r")).await.unwrap();
    s.save_workspace(&workspace(ws, "t")).await.unwrap();
}

/// (table, rows of `ws`) for every table with a `workspace_id` column.
async fn rows_of(name: &str, db: &Database, ws: &str) -> Vec<(String, String)> {
    let tables_sql = if name == "sqlite" {
        "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p
         WHERE m.type = 'table' AND p.name = 'workspace_id' ORDER BY m.name"
    } else {
        "SELECT CAST(table_name AS TEXT) FROM information_schema.columns
         WHERE table_schema = 'public' AND column_name = 'workspace_id' ORDER BY 1"
    };
    let mut out = Vec::new();
    for t in raw(db, tables_sql).await {
        let t = t[0].clone().unwrap();
        let n = raw_one(
            db,
            &format!("SELECT CAST(COUNT(*) AS TEXT) FROM {t} WHERE workspace_id = '{ws}'"),
        )
        .await
        .unwrap();
        out.push((t, n));
    }
    out
}

#[tokio::test]
async fn uninstalling_deletes_every_row_of_that_workspace_and_none_of_another() {
    for (name, db) in pg::backends("uninstall").await {
        let s = open(&db, "ws-a");
        fill(&s, "ws-a").await;
        fill(&s, "ws-b").await;
        let before = rows_of(name, &db, "ws-a").await;
        assert!(before.len() >= 12, "{name}: {before:?}");
        for (t, n) in &before {
            assert_ne!(n, "0", "{name}: the test fills {t} too");
        }
        let b_before = rows_of(name, &db, "ws-b").await;
        s.delete_workspace("ws-a").await.unwrap();
        for (t, n) in rows_of(name, &db, "ws-a").await {
            assert_eq!(n, "0", "{name}: {t} still holds ws-a's rows");
        }
        assert_eq!(rows_of(name, &db, "ws-b").await, b_before, "{name}");
        assert_eq!(s.workspace_row("ws-a").await.unwrap(), None);
        assert!(s.workspace_row("ws-b").await.unwrap().is_some());
        assert_eq!(s.session("cookie-ws-a").await.unwrap(), None);
        assert!(s.session("cookie-ws-b").await.unwrap().is_some());
    }
}

#[tokio::test]
async fn the_action_token_names_its_workspace() {
    for (name, db) in pg::backends("action-token").await {
        let s = open(&db, "ws-a");
        assert_eq!(s.workspace_for_action_token("tok-a").await.unwrap(), None);
        s.set_action_token("tok-a").await.unwrap();
        s.for_workspace("ws-b")
            .set_action_token("tok-b")
            .await
            .unwrap();
        // Registry-wide: any workspace's store finds either.
        let other = s.for_workspace("ws-c");
        assert_eq!(
            other
                .workspace_for_action_token("tok-a")
                .await
                .unwrap()
                .as_deref(),
            Some("ws-a"),
            "{name}"
        );
        assert_eq!(
            other
                .workspace_for_action_token("tok-b")
                .await
                .unwrap()
                .as_deref(),
            Some("ws-b"),
            "{name}"
        );
        assert_eq!(
            other.workspace_for_action_token("tok-x").await.unwrap(),
            None
        );
        // A token two workspaces share names neither.
        other.set_action_token("tok-a").await.unwrap();
        assert_eq!(
            other.workspace_for_action_token("tok-a").await.unwrap(),
            None,
            "{name}"
        );
    }
}

fn temp_db(test: &str) -> (std::path::PathBuf, Database) {
    let dir = std::env::temp_dir().join(format!(
        "sf-inbox-{test}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let db = Database::File(dir.join("sf-inbox.db"));
    (dir, db)
}

#[tokio::test]
async fn the_database_file_holds_no_plaintext_token() {
    let (dir, db) = temp_db("no-plaintext");
    let s = open(&db, "ws-a");
    let (refresh, access, intercom) = (
        "5Aep861-REFRESH-PLAINTEXT",
        "00D-ACCESS-PLAINTEXT",
        "dG9rOmludGVyY29tLXBsYWludGV4dA",
    );
    s.save_connection(&ConnectionRow {
        refresh_token: Some(Secret::new(refresh)),
        access_token: Some(Secret::new(access)),
        org_id: Some("00D".into()),
        ..ConnectionRow::default()
    })
    .await
    .unwrap();
    s.save_workspace(&workspace("ws-a", intercom))
        .await
        .unwrap();
    // The store reads them back in the clear.
    let row = s.connection().await.unwrap().unwrap();
    assert_eq!(
        row.refresh_token.as_ref().map(Secret::expose),
        Some(refresh)
    );
    assert_eq!(row.access_token.as_ref().map(Secret::expose), Some(access));
    let mut bytes = Vec::new();
    for f in ["sf-inbox.db", "sf-inbox.db-wal"] {
        if let Ok(b) = std::fs::read(dir.join(f)) {
            bytes.extend(b);
        }
    }
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    for t in [refresh, access, intercom] {
        assert!(!contains(t), "{t} is in the database file");
    }
    assert!(contains("v1:"), "the sealed values are in the file");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn plaintext_tokens_of_an_older_release_are_sealed_at_start() {
    let a = format!("ka:{}", key(1));
    for (name, db) in pg::backends("reseal").await {
        // The schema, then rows as today's release wrote them: plaintext.
        open(&db, "ws-a")
            .with_sealer(sealer(&a))
            .ready()
            .await
            .unwrap();
        raw(
            &db,
            "INSERT INTO sf_connections (workspace_id, refresh_token, access_token, generation,
                 updated_at) VALUES ('ws-a', 'plain-refresh', 'plain-access', 3, 0)",
        )
        .await;
        raw(
            &db,
            "INSERT INTO workspaces (workspace_id, created_at, intercom_token)
             VALUES ('ws-a', 0, 'plain-intercom')",
        )
        .await;
        // The start-up pass seals them in place...
        let s = open(&db, "ws-a").with_sealer(sealer(&a));
        s.ready().await.unwrap();
        for sql in [
            "SELECT refresh_token FROM sf_connections",
            "SELECT access_token FROM sf_connections",
            "SELECT intercom_token FROM workspaces",
        ] {
            let v = raw_one(&db, sql).await.unwrap();
            assert!(v.starts_with("v1:ka:"), "{name}: {sql} gave {v}");
        }
        // ...and the store reads what they were.
        let row = s.connection().await.unwrap().unwrap();
        assert_eq!(
            row.refresh_token,
            Some(Secret::new("plain-refresh")),
            "{name}"
        );
        assert_eq!(row.access_token, Some(Secret::new("plain-access")));
        assert_eq!(row.generation, 3);
        assert_eq!(
            s.workspace_row("ws-a")
                .await
                .unwrap()
                .unwrap()
                .intercom_token,
            Some(Secret::new("plain-intercom"))
        );
    }
}

#[tokio::test]
async fn another_key_does_not_open_the_store_and_a_rotation_reseals() {
    let (a, b) = (format!("ka:{}", key(1)), format!("kb:{}", key(2)));
    for (name, db) in pg::backends("wrong-key").await {
        let s = open(&db, "ws-a").with_sealer(sealer(&a));
        s.connect(&account("00D"), &Secret::new("refresh-a"))
            .await
            .unwrap();

        // Key B only: start-up stops, naming the variable and the key id.
        let err = open(&db, "ws-a")
            .with_sealer(sealer(&b))
            .ready()
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Sealed(_)), "{name}: {err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("ENCRYPTION_KEY") && msg.contains("ka"),
            "{name}: {msg}"
        );
        assert!(!msg.contains(&key(1)) && !msg.contains(&key(2)));

        // Rotation: B first, A kept; the start re-seals with B.
        let rotated = open(&db, "ws-a").with_sealer(sealer(&format!("{b},{a}")));
        rotated.ready().await.unwrap();
        let v = raw_one(&db, "SELECT refresh_token FROM sf_connections")
            .await
            .unwrap();
        assert!(v.starts_with("v1:kb:"), "{name}: {v}");
        // Now B alone opens it.
        let only_b = open(&db, "ws-a").with_sealer(sealer(&b));
        assert_eq!(
            only_b.connection().await.unwrap().unwrap().refresh_token,
            Some(Secret::new("refresh-a")),
            "{name}"
        );

        // A sealed token copied to another workspace's row does not open there.
        raw(
            &db,
            "INSERT INTO sf_connections (workspace_id, refresh_token, generation, updated_at)
             SELECT 'ws-b', refresh_token, 0, 0 FROM sf_connections WHERE workspace_id = 'ws-a'",
        )
        .await;
        let err = only_b.for_workspace("ws-b").connection().await.unwrap_err();
        assert!(matches!(err, StoreError::Sealed(_)), "{name}: {err:?}");
    }
}

#[tokio::test]
async fn the_token_file_of_the_release_before_the_store_is_imported_sealed() {
    let (dir, db) = temp_db("legacy-sealed");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(sf_inbox::store::legacy::TOKEN_FILE),
        r#"{"refresh_token":"5Aep-LEGACY-REFRESH","seeded_from":null}"#,
    )
    .unwrap();
    let s = open(&db, "ws-a")
        .with_sealer(sealer(&format!("ka:{}", key(1))))
        .with_import_from(&dir);
    assert_eq!(
        s.connection().await.unwrap().unwrap().refresh_token,
        Some(Secret::new("5Aep-LEGACY-REFRESH"))
    );
    let stored = raw_one(&db, "SELECT refresh_token FROM sf_connections")
        .await
        .unwrap();
    assert!(stored.starts_with("v1:ka:"), "{stored}");
    std::fs::remove_dir_all(&dir).ok();
}
