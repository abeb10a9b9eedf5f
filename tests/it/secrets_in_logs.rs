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

// The install, connect, disconnect and uninstall of a workspace: its
// Intercom token, its Salesforce tokens, the PKCE verifier's state, the
// session cookie and its form token never reach the logs.
#[tokio::test(flavor = "current_thread")]
async fn no_token_of_an_installed_workspace_is_ever_logged() {
    use common::browser::Browser;
    let captured = common::logs::capture();
    let app = TestApp::builder()
        .install()
        .workspace("ws-test")
        .spawn()
        .await;
    let mut b = Browser::new();
    let done = b.install(&app.url, "ws-b", "admin-b").await;
    assert!(done.status().is_redirection());
    let page = b.connect(&app.url, "").await.text().await.unwrap();
    assert!(page.contains("Salesforce is connected"), "{page}");
    let render = |email: &str| {
        serde_json::to_value(
            sf_inbox::canvas::CanvasRequestBuilder::new("ws-b")
                .contact("user", Some(email))
                .conversation("4711")
                .build(),
        )
        .unwrap()
    };
    let store = app.registry.store().for_workspace("ws-b");
    // The refresh token the connect stored, and (the sandbox rotates) the
    // one the first render's refresh stored with its access token.
    let connected = store.connection().await.unwrap().unwrap();
    app.initialize(&render("tony@stark.example")).await;
    let row = store.connection().await.unwrap().unwrap();
    let refresh = row.refresh_token.clone().unwrap();
    let access = row.access_token.clone();
    let cookie = b.cookie(&app.url, "sf_inbox_session").unwrap();
    let csrf = app
        .registry
        .store()
        .session(&cookie)
        .await
        .unwrap()
        .unwrap()
        .csrf_token;
    let r = b
        .post_form(
            &format!("{}/connect/salesforce/disconnect", app.url),
            &[("csrf_token", csrf.expose())],
        )
        .await;
    assert!(r.status().is_redirection());
    // Its Intercom token, before Intercom forgets it.
    let intercom_token = app
        .intercom
        .installs()
        .into_iter()
        .find(|i| i.workspace_id == "ws-b")
        .unwrap()
        .token;
    app.intercom.uninstall("ws-b");
    let r = app
        .http
        .post(format!("{}/intercom/uninstall", app.url))
        .json(&json!({"app_id": "ws-b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let log = captured.text();
    assert!(
        log.contains("workspace installed") && log.contains("Salesforce connected"),
        "the capture saw the install and the connect:\n{log}"
    );
    let mut secrets = vec![
        refresh.expose().to_string(),
        cookie.clone(),
        csrf.expose().to_string(),
        intercom_token,
    ];
    secrets.extend(access.map(|a| a.expose().to_string()));
    secrets.extend(connected.refresh_token.map(|t| t.expose().to_string()));
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "{secret:?} reached the logs:\n{log}"
        );
    }
}
