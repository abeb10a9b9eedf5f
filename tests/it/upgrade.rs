//! The upgrade from the release before the store (issue 15): a `DATA_DIR`
//! written exactly as that release wrote it — the rotated refresh token in
//! `salesforce-token.json` with the SHA-256 of the configured token it came
//! from, and its queue and Task map in `sf-inbox.db` — with rotation on in
//! the sandbox, so the configured token is already retired (using it would
//! revoke the connection). The new release imports it once and goes on.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rusqlite::params;
use serde_json::{json, Value};
use sf_inbox::app;
use sf_inbox::store::Store;
use sf_sandbox::intercom::{FakeIntercom, SANDBOX_INTERCOM_TOKEN};
use sf_sandbox::{SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN};
use sha2::{Digest, Sha256};

use crate::common::*;

/// The previous release's queue schema, verbatim.
const OLD_SCHEMA: &str = "
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

fn payload(id: &str, topic: &str, conv: &str) -> String {
    json!({
        "type": "notification_event", "app_id": "ws-test", "id": id, "topic": topic,
        "data": {"item": {"type": "conversation", "id": conv}}
    })
    .to_string()
}

/// Writes the previous release's `DATA_DIR`: its token file and its queue.
fn write_old_layout(dir: &std::path::Path, rotated: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let token = json!({
        "refresh_token": rotated,
        "seeded_from": hex::encode(Sha256::digest(SANDBOX_REFRESH_TOKEN.as_bytes())),
        "updated_at": chrono::Utc::now().to_rfc3339(),
    });
    std::fs::write(
        dir.join("salesforce-token.json"),
        serde_json::to_vec_pretty(&token).unwrap(),
    )
    .unwrap();
    let c = rusqlite::Connection::open(dir.join("sf-inbox.db")).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.execute_batch(OLD_SCHEMA).unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let insert = "INSERT OR IGNORE INTO notifications
         (id, topic, conversation_id, workspace_id, payload, received_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)";
    for (id, conv) in [("old-pending", "4713"), ("old-failed", "4712")] {
        c.execute(
            insert,
            params![
                id,
                "conversation.user.created",
                conv,
                "ws-test",
                payload(id, "conversation.user.created", conv),
                now
            ],
        )
        .unwrap();
    }
    // Parked by the old worker after the attempts ran out.
    c.execute(
        "UPDATE notifications SET attempts = attempts + 1, last_error = ?2,
         state = 'failed' WHERE id = ?1",
        params!["old-failed", "Salesforce is unavailable"],
    )
    .unwrap();
    c.execute(
        "INSERT INTO conversation_tasks (conversation_id, who_id, task_id, completed, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params!["4711", "0035e000001HanaAAC", "00T5e000009OldTAS", 0, now],
    )
    .unwrap();
}

#[tokio::test]
async fn an_upgrade_keeps_the_connection_and_works_off_the_old_queue() {
    let org = start_org().await;
    org.switches().set_rotation(true);
    let intercom = FakeIntercom::start("127.0.0.1:0".parse().unwrap(), &fixtures())
        .await
        .unwrap();
    app::install_crypto();
    // The previous release refreshed once: the configured token is retired.
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", org.url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", SANDBOX_CLIENT_ID),
            ("client_secret", SANDBOX_CLIENT_SECRET),
            ("refresh_token", SANDBOX_REFRESH_TOKEN),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rotated = answer["refresh_token"].as_str().expect("rotation is on");
    let dir = std::env::temp_dir().join(format!(
        "sf-inbox-upgrade-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    write_old_layout(&dir, rotated);

    let intercom_url = intercom.url();
    let data_dir = dir.display().to_string();
    let config = config_for(
        &org,
        &[
            ("INTERCOM_ACCESS_TOKEN", SANDBOX_INTERCOM_TOKEN),
            ("INTERCOM_API_URL", &intercom_url),
            ("INTERCOM_WORKSPACE_ID", "ws-test"),
            ("AUTO_TASKS", "on"),
            ("DATA_DIR", &data_dir),
        ],
    );
    let start = |config: sf_inbox::config::Config| async move {
        let store = Store::from_config(&config).unwrap();
        let built = app::start(&config, store.clone()).await.expect("starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let router = built.router;
        let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (format!("http://{addr}"), store, server, built.worker)
    };
    let (url, store, server, worker) = start(config.clone()).await;

    // The pending and the parked notification are both worked off.
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.counts().await.unwrap().done < 2 {
        assert!(Instant::now() < deadline, "{:?}", store.counts().await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let whos: Vec<String> = org
        .records("Task")
        .iter()
        .filter(|t| {
            t["Subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("Intercom "))
        })
        .map(|t| t["WhoId"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(whos.contains(&"0035e000001OmarAAC".to_string()), "{whos:?}");
    assert!(whos.contains(&"00Q5e000001LenaEAC".to_string()), "{whos:?}");
    // The map came along.
    assert_eq!(store.tasks_for("4711").await.unwrap().len(), 1);

    // The org is connected: no refresh went out with the retired token
    // (that would have revoked every token of the connection).
    let hana = person("user", Some("hana@globex.example"), None);
    let bytes = serde_json::to_vec(&hana).unwrap();
    let canvas: Value = reqwest::Client::new()
        .post(format!("{url}/canvas/initialize"))
        .header("content-type", "application/json")
        .header(
            "x-body-signature",
            sf_inbox::canvas::signature::sign_body(SECRET.as_bytes(), &bytes),
        )
        .body(bytes)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(texts(&canvas).contains("Hana"), "{}", texts(&canvas));
    let stored = store.connection().await.unwrap().unwrap();
    assert_ne!(
        stored.refresh_token.as_ref().map(|t| t.expose()),
        Some(rotated),
        "the import's token was used and rotated again"
    );
    server.abort();
    if let Some(w) = worker {
        w.abort();
    }

    // The old database is kept aside; a second start imports nothing again.
    assert!(dir.join("sf-inbox.db.pre-store").is_file());
    let (_url, again, server, worker) = start(config).await;
    let counts = again.counts().await.unwrap();
    assert_eq!(
        (counts.done, counts.waiting()),
        (2, 0),
        "imported exactly once"
    );
    server.abort();
    if let Some(w) = worker {
        w.abort();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
