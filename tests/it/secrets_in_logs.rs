//! Secrets never reach the logs: every log line the app writes through a
//! token refresh, a rotation, an expiry, a revocation and faults is
//! captured and searched for secrets and tokens.

use crate::common;

use common::*;
use serde_json::json;
use sf_sandbox::{SANDBOX_CLIENT_SECRET, SANDBOX_ORG_ID, SANDBOX_REFRESH_TOKEN};

// One thread, so the thread-local subscriber sees every task the app spawns.
#[tokio::test(flavor = "current_thread")]
async fn no_secret_or_token_is_ever_logged() {
    let captured = common::logs::capture();

    let app = spawn().await;
    app.org.switches().set_rotation(true);
    let hana = person("user", Some("hana@globex.example"), None);
    let first = app.initialize(&hana).await;
    app.org.switches().expire_access_tokens();
    app.submit(&submit_from(&hana, &first, "refresh", json!({})))
        .await;
    app.org.switches().fail_with(Some(503));
    app.submit(&submit_from(&hana, &first, "refresh", json!({})))
        .await;
    app.org.switches().fail_with(None);
    app.org.switches().revoke_refresh_tokens();
    app.org.switches().expire_access_tokens();
    app.initialize(&person("user", Some("lena@initech.example"), None))
        .await;
    // A bad signature is logged (if at all) without the expected digest.
    let r = app
        .http
        .post(format!("{}/canvas/initialize", app.url))
        .header("x-body-signature", "00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let log = captured.text();
    assert!(
        log.contains("Salesforce session refreshed") && log.contains("reconnected"),
        "the capture works and saw the refresh and the revocation:\n{log}"
    );
    let access_token_prefix = format!("{}!", &SANDBOX_ORG_ID[..15]);
    for secret in [
        SANDBOX_CLIENT_SECRET,
        SANDBOX_REFRESH_TOKEN,
        SECRET,
        "5Aep861", // every rotated sandbox refresh token starts so
        access_token_prefix.as_str(),
        sf_sandbox::intercom::SANDBOX_INTERCOM_TOKEN,
    ] {
        assert!(!log.contains(secret), "{secret:?} reached the logs:\n{log}");
    }
}
