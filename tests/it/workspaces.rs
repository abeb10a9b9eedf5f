//! Workspaces: install with Intercom OAuth, connect an org with the
//! web-server flow (PKCE), and every request served for its own workspace,
//! over loopback against the sandbox Intercom and two sandbox orgs.
//!
//! The environment's workspace (`ws-test`, org A) keeps being served as in
//! single-workspace mode; `ws-b` installs the app and connects org B.

use crate::common;

use common::browser::Browser;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sf_inbox::canvas::CanvasRequestBuilder;

/// A Canvas Kit initialize body from `workspace` for a person with `email`.
fn person_in(workspace: &str, email: &str) -> Value {
    CanvasRequestBuilder::new(workspace)
        .region("us")
        .admin("814860", Some("Ruth Teammate"), Some("ruth@example.com"))
        .contact("user", Some(email))
        .contact_id("ic-1")
        .name("Someone")
        .conversation("4711")
        .state("open")
        .assignee("814860")
        .build()
}

fn view(canvas: &Value) -> String {
    canvas["canvas"]["stored_data"]["view"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn text(canvas: &Value) -> String {
    canvas["canvas"]["content"].to_string()
}

/// Whether org B was asked to revoke a token.
fn revoked(app: &TestApp) -> bool {
    app.org_b
        .as_ref()
        .unwrap()
        .requests()
        .iter()
        .any(|r| r.path.contains("/services/oauth2/revoke"))
}

async fn installed_app() -> TestApp {
    TestApp::builder().install().auto_tasks().spawn().await
}

/// Installs `ws-b` and connects it to org B; returns the browser (signed in).
async fn install_and_connect(app: &TestApp, workspace: &str) -> Browser {
    let mut b = Browser::new();
    let done = b.install(&app.url, workspace, "admin-b").await;
    assert_eq!(
        Browser::location(&done),
        format!("{}/connect/salesforce", app.url),
        "an install without an org continues to the Salesforce connection"
    );
    let connected = b.connect(&app.url, "").await;
    let status = connected.status();
    let page = connected.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Salesforce is connected"), "{page}");
    assert!(page.contains(sf_sandbox::SANDBOX_ORG_B_ID), "{page}");
    b
}

#[tokio::test]
async fn a_workspace_installs_connects_its_org_and_sees_its_own_data() {
    let app = installed_app().await;
    // Before: not installed (and the environment's workspace is unaffected).
    let before = app
        .initialize(&person_in("ws-b", "tony@stark.example"))
        .await;
    assert_eq!(view(&before), "not_installed", "{before}");
    assert!(text(&before).contains(&format!("{}/install", app.url)));

    let mut b = Browser::new();
    let done = b.install(&app.url, "ws-b", "admin-b").await;
    assert!(
        b.cookie(&app.url, "sf_inbox_session").is_some(),
        "signed in"
    );
    // Installed, not connected yet: the sidebar says so and links to Connect.
    let pending = app
        .initialize(&person_in("ws-b", "tony@stark.example"))
        .await;
    assert_eq!(view(&pending), "not_connected", "{pending}");
    assert!(text(&pending).contains("/connect/salesforce?workspace=ws-b"));
    assert_eq!(
        Browser::location(&done),
        format!("{}/connect/salesforce", app.url)
    );
    let page = b.connect(&app.url, "").await.text().await.unwrap();
    assert!(page.contains("Salesforce is connected"), "{page}");

    // ws-b sees org B's Tony Stark; the environment's workspace (org A)
    // has no such contact, and sees its own Hana with org A's account.
    let b_tony = app
        .initialize(&person_in("ws-b", "tony@stark.example"))
        .await;
    assert_eq!(view(&b_tony), "summary", "{b_tony}");
    assert!(text(&b_tony).contains("Tony Stark"), "{b_tony}");
    let a_tony = app
        .initialize(&person_in("ws-test", "tony@stark.example"))
        .await;
    assert!(!text(&a_tony).contains("Tony Stark"), "{a_tony}");
    let a_hana = app
        .initialize(&person_in("ws-test", "hana@globex.example"))
        .await;
    assert!(text(&a_hana).contains("Globex Corporation"), "{a_hana}");
    let b_hana = app
        .initialize(&person_in("ws-b", "hana@globex.example"))
        .await;
    assert!(text(&b_hana).contains("Globex Europe GmbH"), "{b_hana}");
    assert!(!text(&b_hana).contains("Globex Corporation"), "{b_hana}");
    // The orgs were asked only for their own workspace's people.
    let b_soql: Vec<String> = app
        .org_b
        .as_ref()
        .unwrap()
        .requests()
        .into_iter()
        .flat_map(|r| r.soql)
        .collect();
    assert!(
        b_soql.iter().all(|q| !q.contains("Hana@Globex")),
        "{b_soql:?}"
    );
    assert!(b_soql.iter().any(|q| q.contains("tony@stark.example")));
}

#[tokio::test]
async fn a_reused_or_foreign_state_is_refused() {
    let app = installed_app().await;
    let mut b = Browser::new();
    let callback = b.install_consent(&app.url, "ws-b", "admin-b").await;
    // Another browser (no binding cookie) cannot finish this install.
    let mut other = Browser::new();
    let refused = other.get(&callback).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("started in another browser"));
    // Taken by that attempt: the state is spent, even for its own browser.
    let again = b.get(&callback).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.text().await.unwrap().contains("already used"));
    // Nothing was installed.
    let canvas = app
        .initialize(&person_in("ws-b", "tony@stark.example"))
        .await;
    assert_eq!(view(&canvas), "not_installed");

    // A fresh install works; replaying its callback is refused.
    let callback = b.install_consent(&app.url, "ws-b", "admin-b").await;
    assert!(b.get(&callback).await.status().is_redirection());
    let replay = b.get(&callback).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    // A tampered state, and none at all.
    let tampered = callback.replace("state=", "state=x");
    assert_eq!(b.get(&tampered).await.status(), StatusCode::BAD_REQUEST);
    let code_only = format!("{}/oauth/intercom/callback?code=abc", app.url);
    let missing = b.get(&code_only).await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert!(missing.text().await.unwrap().contains("without its state"));

    // The Salesforce side: a replayed callback is refused too.
    let sf_callback = b.connect_consent(&app.url, "").await;
    assert_eq!(b.get(&sf_callback).await.status(), StatusCode::OK);
    assert_eq!(b.get(&sf_callback).await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_admin_of_one_workspace_cannot_act_on_another() {
    let app = installed_app().await;
    let mut b = install_and_connect(&app, "ws-b").await;
    // Signed in for ws-b, asking to connect ws-c.
    let r = b
        .get(&format!("{}/connect/salesforce?workspace=ws-c", app.url))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("another workspace"));
    // Disconnect needs the session's form token.
    let no_csrf = b
        .post_form(
            &format!("{}/connect/salesforce/disconnect", app.url),
            &[("csrf_token", "guess")],
        )
        .await;
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    let still = app
        .initialize(&person_in("ws-b", "tony@stark.example"))
        .await;
    assert_eq!(view(&still), "summary", "a refused form changes nothing");
    // Without a session: sent to sign in, nothing done.
    let mut stranger = Browser::new();
    let r = stranger
        .get(&format!("{}/connect/salesforce", app.url))
        .await;
    assert_eq!(Browser::location(&r), format!("{}/install", app.url));
}

#[tokio::test]
async fn disconnect_revokes_the_token_and_the_sidebar_asks_to_connect_again() {
    let app = installed_app().await;
    let mut b = install_and_connect(&app, "ws-b").await;
    let session = b.cookie(&app.url, "sf_inbox_session").unwrap();
    let csrf = app
        .registry
        .store()
        .session(&session)
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
    assert!(r.status().is_redirection(), "{}", r.status());
    assert!(
        revoked(&app),
        "Disconnect revokes the refresh token at Salesforce"
    );
    let canvas = app
        .initialize(&person_in("ws-b", "tony@stark.example"))
        .await;
    assert_eq!(view(&canvas), "not_connected", "{canvas}");
    // Reconnect: back to the org.
    let page = b.connect(&app.url, "").await.text().await.unwrap();
    assert!(page.contains("Salesforce is connected"));
    let canvas = app
        .initialize(&person_in("ws-b", "tony@stark.example"))
        .await;
    assert_eq!(view(&canvas), "summary", "{canvas}");
}

#[tokio::test]
async fn webhooks_and_tasks_stay_in_their_workspace() {
    let app = installed_app().await;
    let _b = install_and_connect(&app, "ws-b").await;
    let env_store = app.queue().clone();
    let b_store = app.registry.store().for_workspace("ws-b");
    let b_before = b_store.counts().await.unwrap();
    let a_before = env_store.counts().await.unwrap();
    let answer = app
        .deliver(&Notification::new("nb-1", "conversation.admin.closed", "9001").app_id("ws-b"))
        .await;
    assert_eq!(answer["status"], "queued", "{answer}");
    let ignored = app
        .deliver(&Notification::new("nx-1", "conversation.admin.closed", "9002").app_id("ws-x"))
        .await;
    assert_eq!(ignored["status"], "ignored", "{ignored}");
    // Every job ever stored, whatever state its worker has got it to.
    let all = |c: sf_inbox::store::QueueCounts| c.waiting() + c.done + c.failed;
    let a_after = env_store.counts().await.unwrap();
    let b_after = b_store.counts().await.unwrap();
    assert_eq!(
        all(a_after),
        all(a_before),
        "nothing in the environment workspace's queue"
    );
    assert_eq!(all(b_after), all(b_before) + 1, "one job in ws-b's queue");
}

#[tokio::test]
async fn the_database_file_holds_no_plaintext_token_after_an_install() {
    let dir = std::env::temp_dir().join(format!("sf-inbox-ws-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("app.db");
    let url = format!("sqlite://{}", db.display());
    let store =
        sf_inbox::store::Store::open(&sf_inbox::config::Database::parse(&url).unwrap(), "ws-test")
            .unwrap();
    let app = TestApp::builder().install().tokens(store).spawn().await;
    let _b = install_and_connect(&app, "ws-b").await;
    // A sidebar render for ws-b refreshes its access token into the store.
    let c = app
        .initialize(&person_in("ws-b", "tony@stark.example"))
        .await;
    assert_eq!(view(&c), "summary");
    let intercom_token = app
        .intercom
        .installs()
        .into_iter()
        .find(|i| i.workspace_id == "ws-b")
        .unwrap()
        .token;
    let mut bytes = std::fs::read(&db).unwrap();
    if let Ok(wal) = std::fs::read(dir.join("app.db-wal")) {
        bytes.extend(wal);
    }
    let hay = String::from_utf8_lossy(&bytes);
    assert!(
        !hay.contains(&intercom_token),
        "the Intercom token is sealed"
    );
    assert!(hay.contains("v1:"), "sealed values are there");
    let b_conn = app
        .registry
        .store()
        .for_workspace("ws-b")
        .connection()
        .await
        .unwrap()
        .unwrap();
    let refresh = b_conn.refresh_token.unwrap();
    assert!(
        !hay.contains(refresh.expose()),
        "the refresh token is sealed"
    );
    if let Some(access) = b_conn.access_token {
        assert!(!hay.contains(access.expose()), "the access token is sealed");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_uninstall_is_verified_then_deletes_the_workspace() {
    let app = installed_app().await;
    let _b = install_and_connect(&app, "ws-b").await;
    let uninstall = |app_id: &str| {
        let url = format!("{}/intercom/uninstall", app.url);
        let body = json!({ "app_id": app_id });
        let http = app.http.clone();
        async move { http.post(url).json(&body).send().await.unwrap() }
    };
    // The token still works: a forged or early notice changes nothing.
    let r: Value = uninstall("ws-b").await.json().await.unwrap();
    assert_eq!(r["status"], "still installed");
    assert_eq!(
        view(
            &app.initialize(&person_in("ws-b", "tony@stark.example"))
                .await
        ),
        "summary"
    );
    // Intercom removed the app: its token stops working.
    app.intercom.uninstall("ws-b");
    let r: Value = uninstall("ws-b").await.json().await.unwrap();
    assert_eq!(r["status"], "uninstalled");
    assert!(app
        .registry
        .store()
        .workspace_row("ws-b")
        .await
        .unwrap()
        .is_none());
    assert!(app
        .registry
        .store()
        .for_workspace("ws-b")
        .connection_info()
        .await
        .unwrap()
        .is_none());
    let canvas = app
        .initialize(&person_in("ws-b", "tony@stark.example"))
        .await;
    assert_eq!(view(&canvas), "not_installed", "{canvas}");
    assert!(revoked(&app), "the Salesforce token was revoked");
}

#[tokio::test]
async fn single_workspace_mode_has_no_install_routes() {
    let app = TestApp::builder().workspace("ws-test").spawn().await;
    let r = app
        .http
        .get(format!("{}/install", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Another workspace still gets today's refusal screen.
    let other = app
        .initialize(&person_in("ws-other", "hana@globex.example"))
        .await;
    assert_eq!(view(&other), "refused", "{other}");
}

#[tokio::test]
async fn a_workspace_installed_on_one_replica_is_served_by_another() {
    let Some(db) = crate::pg::fresh_database("install across replicas").await else {
        return;
    };
    let open = || sf_inbox::store::Store::open(&db, "ws-test").unwrap();
    let replica = || {
        TestApp::builder()
            .install()
            .workspace("ws-test")
            .tokens(open())
            .spawn()
    };
    let (a, b) = (replica().await, replica().await);
    // B has never heard of ws-b.
    let before = b.initialize(&person_in("ws-b", "tony@stark.example")).await;
    assert_eq!(view(&before), "not_installed");
    let _browser = install_and_connect(&a, "ws-b").await;
    // B reads the installation, the sealed tokens and the connection from
    // the shared database (its kept "not installed" answer is not cached).
    let served = b.initialize(&person_in("ws-b", "tony@stark.example")).await;
    assert_eq!(view(&served), "summary", "{served}");
    assert!(text(&served).contains("Tony Stark"));
}

#[tokio::test]
async fn an_installed_workspace_calls_intercom_on_its_own_regions_host() {
    let org = start_org().await;
    let config = config_for(&org, &[("INTERCOM_CLIENT_ID", "cid")]);
    let store = sf_inbox::store::Store::memory();
    let app = sf_inbox::app::build(&config, store.clone()).unwrap();
    store
        .save_workspace(&sf_inbox::store::WorkspaceRow {
            workspace_id: "ws-eu".into(),
            name: None,
            region: Some("eu".into()),
            intercom_token: Some(sf_inbox::config::Secret::new("t")),
            installed_by: None,
            installed_at: Some(chrono::Utc::now()),
        })
        .await
        .unwrap();
    let tenant = app.registry.installed("ws-eu").await.unwrap().unwrap();
    assert_eq!(
        tenant.intercom.base_url(None).as_str(),
        "https://api.eu.intercom.io/",
        "whatever region a call names"
    );
}
