//! PostgreSQL for the store's tests: `TEST_DATABASE_URL` names a server
//! (`.ci/run` starts a throwaway cluster); every test gets a database of its
//! own. Without it the PostgreSQL cases say they are skipped.

use std::sync::atomic::{AtomicUsize, Ordering};

use sf_inbox::config::{Database, Secret};

/// A fresh, empty database on the test server, or `None` (skipped, said so).
pub async fn fresh_database(test: &str) -> Option<Database> {
    let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("skipped: {test} on PostgreSQL (set TEST_DATABASE_URL; .ci/run starts a server)");
        return None;
    };
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "sfi_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        chrono::Utc::now().timestamp_micros() % 1_000_000_000
    );
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .expect("TEST_DATABASE_URL reachable");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("CREATE DATABASE");
    let mut url = url::Url::parse(&base).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    Some(Database::Postgres(Secret::new(url.to_string())))
}

/// The backends a single-process case runs on: SQLite (a temporary file)
/// and, when a server is configured, PostgreSQL.
pub async fn backends(test: &str) -> Vec<(&'static str, Database)> {
    let dir = std::env::temp_dir().join(format!(
        "sf-inbox-{test}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let mut out = vec![("sqlite", Database::File(dir.join("sf-inbox.db")))];
    if let Some(pg) = fresh_database(test).await {
        out.push(("postgres", pg));
    }
    out
}
