//! Issue 15: no error message, log line or page shows a password, token or
//! secret. Each secret-bearing setting is given an invalid value; the
//! configuration error, the store's error, every log line and the pages
//! Intercom gets are searched for it.

use sf_inbox::config::{Config, Database};
use sf_inbox::store::Store;

use crate::common::*;

const PASSWORD: &str = "pw-Hunter2-secret";

#[tokio::test]
async fn an_invalid_database_url_is_named_without_its_password() {
    for url in [
        format!("mysql://app:{PASSWORD}@db.internal/sf"),
        format!("postgres://app:{PASSWORD}@db.internal:notaport/sf"),
        format!("postgres://app:{PASSWORD}@/sf"),
        format!("app:{PASSWORD}@db.internal/sf"),
        format!("postgres://db.internal/sf?password={PASSWORD}&user=app&port=x"),
    ] {
        let err = match Config::from_lookup(|k| (k == "DATABASE_URL").then(|| url.clone())) {
            Err(e) => e.to_string(),
            // Accepted as a URL: opening it must not print it either.
            Ok(c) => match Store::open(c.database.as_ref().unwrap(), "ws") {
                Err(e) => format!("{e} {e:?}"),
                Ok(s) => s
                    .ready()
                    .await
                    .err()
                    .map(|e| format!("{e} {e:?}"))
                    .unwrap_or_default(),
            },
        };
        assert!(!err.is_empty(), "{url} must be refused somewhere");
        assert!(
            err.contains("DATABASE_URL") || err.contains("database"),
            "{err}"
        );
        assert!(!err.contains(PASSWORD), "{err}");
    }
}

#[tokio::test]
async fn a_database_that_refuses_the_password_is_reported_without_it() {
    // A closed loopback port: the connection fails; the message names the
    // database without the password.
    let db = Database::parse(&format!("postgres://app:{PASSWORD}@127.0.0.1:9/sf")).unwrap();
    let err = Store::open(&db, "ws").unwrap().ready().await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
}

// One thread, so the capture (common::logs) sees every task the app spawns.
#[tokio::test(flavor = "current_thread")]
async fn invalid_secrets_never_reach_a_log_line_or_a_page() {
    let captured = crate::common::logs::capture();

    let bad_refresh = "5Aep861-invalid-refresh-token-value";
    let bad_client_secret = "invalid-client-secret-value";
    let bad_intercom_token = "invalid-intercom-access-token-value";
    let mut pages = String::new();
    for (name, value) in [
        ("SALESFORCE_REFRESH_TOKEN", bad_refresh),
        ("SALESFORCE_CLIENT_SECRET", bad_client_secret),
        ("INTERCOM_ACCESS_TOKEN", bad_intercom_token),
    ] {
        let app = spawn_with(&[(name, value)]).await;
        let mut who = person("user", Some("hana@globex.example"), None);
        // A company by id only: the Intercom token is used too.
        who["contact"]["companies"] =
            serde_json::json!({"type": "list", "data": [{"type": "company", "id": "c1"}]});
        let c = app.initialize(&who).await;
        pages.push_str(&c.to_string());
        // A wrong signing secret on our side: refused, and not echoed.
        let r = app
            .http
            .post(format!("{}/canvas/initialize", app.url))
            .header("x-body-signature", "00")
            .body("{}")
            .send()
            .await
            .unwrap();
        pages.push_str(&r.text().await.unwrap());
    }
    let log = captured.text();
    assert!(
        log.contains("refused"),
        "the capture saw the refusals:\n{log}"
    );
    for secret in [bad_refresh, bad_client_secret, bad_intercom_token, SECRET] {
        assert!(!log.contains(secret), "{secret:?} reached the logs:\n{log}");
        assert!(!pages.contains(secret), "{secret:?} reached a page");
    }
}
