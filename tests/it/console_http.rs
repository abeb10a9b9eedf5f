//! The admin console over HTTP, signed in through the sandbox Intercom and
//! connected to sandbox org A: sign-in, the form token, one workspace per
//! session, settings checked against the describes, export and import,
//! sync errors, the action token, the connection's health.

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;
use sf_inbox::canvas::CanvasRequestBuilder;
use sf_inbox::store::{NewSyncError, SyncKind};

use crate::common::browser::Browser;
use crate::common::{texts, TestApp};
use crate::console_support::{csrf, html, settings_form, signed_in};

async fn app() -> TestApp {
    TestApp::builder().install().spawn().await
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()[LOCATION].to_str().unwrap().to_string()
}

/// An initialize from `workspace` for Hana (a Contact of org A).
fn hana_in(workspace: &str) -> Value {
    CanvasRequestBuilder::new(workspace)
        .region("us")
        .admin("814860", Some("Ruth Teammate"), Some("ruth@example.com"))
        .contact("user", Some("hana@globex.example"))
        .contact_id("ic-1")
        .name("Hana Okafor")
        .conversation("4711")
        .state("open")
        .build()
}

async fn record_error(app: &TestApp, workspace: &str, conversation: &str) -> String {
    record_error_of(app, workspace, conversation, SyncKind::AutoCase).await
}

/// A sync error without queued work (what an error recorded before the
/// queue kept jobs looks like).
async fn record_error_of(
    app: &TestApp,
    workspace: &str,
    conversation: &str,
    kind: SyncKind,
) -> String {
    app.registry
        .store()
        .for_workspace(workspace)
        .record_sync_error(&NewSyncError {
            kind,
            conversation_id: conversation.into(),
            attempted: "Create the conversation's Case".into(),
            code: "FIELD_CUSTOM_VALIDATION_EXCEPTION".into(),
            message: "Refund Amount is required".into(),
            fields: vec!["Refund_Amount__c".into()],
            job_id: None,
            next_retry: None,
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn without_a_session_the_console_is_the_sign_in_page() {
    let app = app().await;
    let mut b = Browser::new();
    let page = b.get(&format!("{}/admin", app.url)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let text = html(page).await;
    assert!(text.contains("Sign in with Intercom"), "{text}");
    assert!(text.contains(r#"href="/install""#), "{text}");
    assert!(!text.contains("csrf_token"), "no form without a session");
    for path in [
        "/admin/settings",
        "/admin/sync-errors",
        "/admin/settings/export",
    ] {
        let r = b.get(&format!("{}{path}", app.url)).await;
        assert!(r.status().is_redirection(), "{path}: {}", r.status());
        assert_eq!(location(&r), "/install", "{path}");
    }
    let r = b
        .post_form(
            &format!("{}/admin/settings", app.url),
            &settings_form("", "Title", &[]),
        )
        .await;
    assert_eq!(location(&r), "/install");

    // Signing in is the install flow; its cookie is HttpOnly and Lax (and
    // not Secure over plain HTTP).
    let installed = b.install(&app.url, "ws-a", "admin-a").await;
    let cookie = installed
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("sf_inbox_session="))
        .expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "{cookie}");
    let page = html(b.get(&format!("{}/admin", app.url)).await).await;
    assert!(page.contains("<h1>Connection</h1>"), "{page}");
    assert!(
        page.contains("Connect Salesforce"),
        "not connected yet: {page}"
    );
    assert!(page.contains("Workspace ws-a"), "{page}");

    // Signing out ends the session: the sign-in page again.
    let token = csrf(&page);
    let out = b
        .post_form(&format!("{}/signout", app.url), &[("csrf_token", &token)])
        .await;
    assert_eq!(out.status(), StatusCode::OK);
    let again = html(b.get(&format!("{}/admin", app.url)).await).await;
    assert!(again.contains("Sign in with Intercom"), "{again}");
}

#[tokio::test]
async fn a_form_without_its_token_is_refused_and_nothing_changes() {
    let app = app().await;
    let (mut b, token) = signed_in(&app, "ws-a", "admin-a").await;
    let error = record_error(&app, "ws-a", "4711").await;
    for presented in ["", "0000", &format!("{token}x")] {
        let r = b
            .post_form(
                &format!("{}/admin/settings", app.url),
                &settings_form(presented, "Title", &[("budget.daily_cap", "5")]),
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "token {presented:?}");
        assert!(html(r).await.contains("This form has expired"));
        // Every other form, each with what it would change.
        let others: [(String, Vec<(&str, &str)>); 4] = [
            (format!("/admin/sync-errors/{error}/dismiss"), vec![]),
            ("/admin/action-token".to_string(), vec![]),
            ("/admin/data-connector".to_string(), vec![]),
            (
                "/admin/settings/import".to_string(),
                vec![("toml", "[budget]\ndaily_cap = 7\n")],
            ),
        ];
        for (path, extra) in others {
            let mut form = vec![("csrf_token", presented)];
            form.extend(extra);
            let r = b.post_form(&format!("{}{path}", app.url), &form).await;
            assert_eq!(
                r.status(),
                StatusCode::FORBIDDEN,
                "{path} with {presented:?}"
            );
        }
    }
    let file = b
        .get(&format!("{}/admin/settings/export", app.url))
        .await
        .text()
        .await
        .unwrap();
    assert!(file.contains("daily_cap = 0"), "nothing saved: {file}");
    let store = app.registry.store().for_workspace("ws-a");
    assert!(
        store.sync_error(&error).await.unwrap().is_some(),
        "not dismissed"
    );
    assert!(
        store.action_token_hash().await.unwrap().is_none(),
        "no token made"
    );
    assert!(
        app.intercom.data_connectors().is_empty(),
        "no data connector made"
    );
}

#[tokio::test]
async fn an_admin_of_one_workspace_is_refused_for_another() {
    let app = app().await;
    let (mut a, a_token) = signed_in(&app, "ws-a", "admin-a").await;
    let (mut b, b_token) = signed_in(&app, "ws-b", "admin-b").await;
    let b_error = record_error(&app, "ws-b", "5001").await;

    for path in [
        "/admin?workspace=ws-b",
        "/admin/settings?workspace=ws-b",
        "/admin/sync-errors?workspace=ws-b",
        "/admin/settings/export?workspace=ws-b",
    ] {
        let r = a.get(&format!("{}{path}", app.url)).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(html(r).await.contains("This is another workspace"));
    }
    // A form naming workspace B, with A's own token: refused, not saved.
    let r = a
        .post_form(
            &format!("{}/admin/settings", app.url),
            &settings_form(
                &a_token,
                "Title",
                &[("workspace", "ws-b"), ("budget.daily_cap", "9")],
            ),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // B's sync error is not found in A's workspace: refused, never acted on.
    for action in ["retry", "retry-all", "dismiss"] {
        let r = a
            .post_form(
                &format!("{}/admin/sync-errors/{b_error}/{action}", app.url),
                &[("csrf_token", &a_token)],
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{action}");
    }
    // A's token is not B's session's.
    let r = b
        .post_form(
            &format!("{}/admin/sync-errors/{b_error}/dismiss", app.url),
            &[("csrf_token", &a_token)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let b_store = app.registry.store().for_workspace("ws-b");
    assert!(b_store.sync_error(&b_error).await.unwrap().is_some());
    assert_eq!(
        b_store
            .setting(sf_inbox::settings::STORE_KEY)
            .await
            .unwrap(),
        None,
        "B's settings untouched"
    );
    // A sees only its own errors; B dismisses its own.
    let list = html(a.get(&format!("{}/admin/sync-errors", app.url)).await).await;
    assert!(
        list.contains("0 errors") && !list.contains("5001"),
        "{list}"
    );
    let r = b
        .post_form(
            &format!("{}/admin/sync-errors/{b_error}/dismiss", app.url),
            &[("csrf_token", &b_token)],
        )
        .await;
    assert_eq!(location(&r), "/admin/sync-errors?notice=dismissed");
    assert!(b_store.sync_error(&b_error).await.unwrap().is_none());
}

#[tokio::test]
async fn a_setting_naming_a_field_the_describe_lacks_is_refused_with_the_reason() {
    let app = app().await;
    let (mut b, token) = signed_in(&app, "ws-a", "admin-a").await;
    let r = b
        .post_form(
            &format!("{}/admin/settings", app.url),
            &settings_form(
                &token,
                "Title\nNo_Such_Field__c",
                &[("budget.daily_cap", "5")],
            ),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(r).await;
    assert!(page.contains("Nothing was saved"), "{page}");
    assert!(
        page.contains("No_Such_Field__c is not a field of Contact"),
        "the reason, under the field: {page}"
    );
    assert!(
        page.contains("Title\nNo_Such_Field__c</textarea>"),
        "what was typed is kept: {page}"
    );
    assert!(page.contains(r#"value="5""#), "{page}");
    let file = b
        .get(&format!("{}/admin/settings/export", app.url))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        file.contains("daily_cap = 0") && !file.contains("No_Such_Field__c"),
        "{file}"
    );

    // The same through an import.
    let r = b
        .post_form(
            &format!("{}/admin/settings/import", app.url),
            &[
                ("csrf_token", &token),
                ("toml", "[panels]\naccount = [\"Industry\", \"Nope__c\"]\n"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(r).await;
    assert!(page.contains("Nope__c is not a field of Account"), "{page}");
    assert!(
        page.contains("Nope__c&quot;]"),
        "the pasted file is kept: {page}"
    );
}

#[tokio::test]
async fn saved_panel_fields_reach_the_sidebar_at_once_and_export_imports_back() {
    let app = app().await;
    let (mut b, token) = signed_in(&app, "ws-a", "admin-a").await;
    let before = texts(&app.initialize(&hana_in("ws-a")).await);
    assert!(before.contains("Owner"), "the built-in set: {before}");
    let r = b
        .post_form(
            &format!("{}/admin/settings", app.url),
            &settings_form(&token, "Title\nDepartment", &[("budget.daily_cap", "900")]),
        )
        .await;
    assert_eq!(location(&r), "/admin/settings?notice=saved");
    let page = html(
        b.get(&format!("{}/admin/settings?notice=saved", app.url))
            .await,
    )
    .await;
    assert!(page.contains("Settings saved"), "{page}");
    let after = texts(&app.initialize(&hana_in("ws-a")).await);
    assert!(
        after.contains("Department") && after.contains("VP Operations"),
        "{after}"
    );
    assert!(
        !after.contains("Owner"),
        "the chosen set replaces the built-in one: {after}"
    );

    let export = b.get(&format!("{}/admin/settings/export", app.url)).await;
    assert_eq!(export.status(), StatusCode::OK);
    assert!(export.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/toml"));
    assert!(export.headers()[CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("sf-inbox-settings-ws-a.toml"));
    let file = export.text().await.unwrap();
    assert!(file.contains("daily_cap = 900"), "{file}");
    // Another cap, then the exported file imported back: the cap is 900
    // again.
    let r = b
        .post_form(
            &format!("{}/admin/settings", app.url),
            &settings_form(&token, "Title\nDepartment", &[("budget.daily_cap", "100")]),
        )
        .await;
    assert_eq!(location(&r), "/admin/settings?notice=saved");
    let r = b
        .post_form(
            &format!("{}/admin/settings/import", app.url),
            &[("csrf_token", &token), ("toml", &file)],
        )
        .await;
    assert_eq!(location(&r), "/admin/settings?notice=imported");
    let again = b
        .get(&format!("{}/admin/settings/export", app.url))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(again, file);
}

#[tokio::test]
async fn the_connection_page_shows_the_org_and_how_its_calls_went() {
    let app = app().await;
    let (mut b, token) = signed_in(&app, "ws-a", "admin-a").await;
    let page = html(b.get(&format!("{}/admin", app.url)).await).await;
    assert!(page.contains(sf_sandbox::SANDBOX_ORG_ID), "{page}");
    assert!(
        page.contains(">Disconnect<") && page.contains(">Reconnect<"),
        "{page}"
    );
    assert!(
        !page.contains("<dt>Connected since</dt><dd>—</dd>"),
        "connected since is known: {page}"
    );
    // A failing call is recorded in the store's connection health (what
    // every replica's console reads), and shown.
    app.org.switches().fail_with(Some(503));
    app.initialize(&hana_in("ws-a")).await;
    let store = app.registry.store().for_workspace("ws-a");
    let deadline = Instant::now() + Duration::from_secs(10);
    let error = loop {
        if let Some(e) = store
            .connection_info()
            .await
            .unwrap()
            .and_then(|c| c.last_error)
        {
            break e;
        }
        assert!(Instant::now() < deadline, "the failure was not recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(error.contains("SERVER_UNAVAILABLE"), "{error}");
    let page = html(b.get(&format!("{}/admin", app.url)).await).await;
    assert!(
        page.contains("SERVER_UNAVAILABLE"),
        "the last error: {page}"
    );
    // A good call again clears the stored error.
    app.org.switches().fail_with(None);
    app.initialize(&hana_in("ws-a")).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while store
        .connection_info()
        .await
        .unwrap()
        .unwrap()
        .last_error
        .is_some()
    {
        assert!(Instant::now() < deadline, "the success was not recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Disconnect, from the page's form: back on the page, which says so.
    let r = b
        .post_form(
            &format!("{}/connect/salesforce/disconnect", app.url),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(location(&r), "/admin?notice=disconnected");
    let page = html(
        b.get(&format!("{}/admin?notice=disconnected", app.url))
            .await,
    )
    .await;
    assert!(page.contains("Salesforce is disconnected"), "{page}");
    assert!(
        page.contains("Connect Salesforce") && !page.contains(">Disconnect<"),
        "{page}"
    );
}

#[tokio::test]
async fn the_action_token_is_shown_once_and_works_and_a_rotation_stops_the_old_one() {
    let app = app().await;
    let (mut b, token) = signed_in(&app, "ws-a", "admin-a").await;
    let page = html(b.get(&format!("{}/admin", app.url)).await).await;
    assert!(page.contains("Create a token"), "{page}");
    let made = |page: &str| {
        let marker = r#"id="new-action-token" class="mono" readonly value=""#;
        let start = page.find(marker).expect("the new token is shown") + marker.len();
        page[start..start + 64].to_string()
    };
    let r = b
        .post_form(
            &format!("{}/admin/action-token", app.url),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let first = made(&html(r).await);
    let page = html(b.get(&format!("{}/admin", app.url)).await).await;
    assert!(!page.contains(&first), "shown once only");
    assert!(page.contains("Rotate the token"), "{page}");
    let call = |t: String| {
        let http = app.http.clone();
        let url = format!("{}/actions/salesforce-case", app.url);
        async move {
            http.post(url)
                .bearer_auth(t)
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_ne!(
        call(first.clone()).await,
        StatusCode::UNAUTHORIZED,
        "the token opens the action"
    );
    let r = b
        .post_form(
            &format!("{}/admin/action-token", app.url),
            &[("csrf_token", &token)],
        )
        .await;
    let second = made(&html(r).await);
    assert_ne!(first, second);
    assert_eq!(
        call(first).await,
        StatusCode::UNAUTHORIZED,
        "the old one stopped"
    );
    assert_ne!(call(second).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sync_errors_are_filtered_by_kind_and_a_retry_without_work_says_so() {
    let app = app().await;
    let (mut b, token) = signed_in(&app, "ws-a", "admin-a").await;
    let case = record_error_of(&app, "ws-a", "4711", SyncKind::AutoCase).await;
    let task = record_error_of(&app, "ws-a", "4712", SyncKind::AutoTask).await;
    let all = html(b.get(&format!("{}/admin/sync-errors", app.url)).await).await;
    assert!(
        all.contains("2 errors") && all.contains("#4711") && all.contains("#4712"),
        "{all}"
    );
    let tasks = html(
        b.get(&format!("{}/admin/sync-errors?kind=auto_task", app.url))
            .await,
    )
    .await;
    assert!(
        tasks.contains("1 error<") && tasks.contains("#4712") && !tasks.contains("#4711"),
        "{tasks}"
    );
    // An unknown kind is no filter, not an error.
    let r = b
        .get(&format!("{}/admin/sync-errors?kind=bogus", app.url))
        .await;
    assert!(html(r).await.contains("2 errors"));

    // Nothing queued to run again: said, and the error stays.
    let r = b
        .post_form(
            &format!("{}/admin/sync-errors/{case}/retry", app.url),
            &[("csrf_token", &token), ("kind", "auto_case")],
        )
        .await;
    assert_eq!(
        location(&r),
        "/admin/sync-errors?kind=auto_case&notice=not_queued"
    );
    let page = html(b.get(&format!("{}{}", app.url, location(&r))).await).await;
    assert!(
        page.contains("could not be queued again") && page.contains("#4711"),
        "{page}"
    );
    let r = b
        .post_form(
            &format!("{}/admin/sync-errors/{case}/retry-all", app.url),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(location(&r), "/admin/sync-errors?notice=retried_all&n=0");
    // Dismiss keeps the filter; only that error goes.
    let r = b
        .post_form(
            &format!("{}/admin/sync-errors/{task}/dismiss", app.url),
            &[("csrf_token", &token), ("kind", "auto_task")],
        )
        .await;
    assert_eq!(
        location(&r),
        "/admin/sync-errors?kind=auto_task&notice=dismissed"
    );
    let all = html(b.get(&format!("{}/admin/sync-errors", app.url)).await).await;
    assert!(all.contains("1 error<") && all.contains("#4711"), "{all}");
}

#[tokio::test]
async fn the_environments_workspace_signs_in_to_its_own_console() {
    let app = TestApp::builder()
        .install()
        .workspace("ws-test")
        .env("ACTION_TOKEN", "env-action-token")
        .spawn()
        .await;
    let mut b = Browser::new();
    let installed = b.install(&app.url, "ws-test", "admin-env").await;
    assert_eq!(
        Browser::location(&installed),
        format!("{}/admin", app.url),
        "already connected (the environment's org): straight to the console"
    );
    let page = html(b.get(&format!("{}/admin", app.url)).await).await;
    assert!(
        page.contains(r#"<p class="state connected">Connected, through the environment"#)
            && page.contains(sf_sandbox::SANDBOX_ORG_ID)
            && !page.contains("Connect Salesforce")
            && !page.contains(">Disconnect<"),
        "{page}"
    );
    assert!(
        page.contains("Rotate the token"),
        "ACTION_TOKEN counts as a token: {page}"
    );
    assert!(page.contains("rotating here does not stop it"), "{page}");
    // Saved settings reach the environment's sidebar too.
    let token = csrf(&page);
    let r = b
        .post_form(
            &format!("{}/admin/settings", app.url),
            &settings_form(&token, "Title\nDepartment", &[]),
        )
        .await;
    assert_eq!(location(&r), "/admin/settings?notice=saved");
    let after = texts(&app.initialize(&hana_in("ws-test")).await);
    assert!(
        after.contains("Department") && !after.contains("Owner"),
        "{after}"
    );
}

#[tokio::test]
async fn saved_opportunity_and_case_fields_reach_the_deal_view_and_the_case_list() {
    use crate::common::submit_from;
    let app = app().await;
    let (mut b, token) = signed_in(&app, "ws-a", "admin-a").await;
    let r = b
        .post_form(
            &format!("{}/admin/settings", app.url),
            &settings_form(
                &token,
                "",
                &[
                    ("panels.opportunity", "Probability\nType"),
                    ("panels.case", "Origin"),
                ],
            ),
        )
        .await;
    assert_eq!(location(&r), "/admin/settings?notice=saved");
    let init = hana_in("ws-a");
    let summary = app.initialize(&init).await;
    let deals = app
        .submit(&submit_from(
            &init,
            &summary,
            "tab",
            serde_json::json!({"tab": "tab_deals"}),
        ))
        .await;
    let t = texts(&deals);
    assert!(t.contains("Probability") && t.contains("90"), "{t}");
    assert!(
        !t.contains("Close date"),
        "the chosen rows replace the built-in ones: {t}"
    );
    let cases = app
        .submit(&submit_from(
            &init,
            &summary,
            "show_cases",
            serde_json::json!({}),
        ))
        .await;
    let line = cases.to_string();
    assert!(line.contains("Origin: Email"), "{line}");
    assert!(!line.contains("Priority: "), "{line}");
}

#[tokio::test]
async fn the_connection_page_offers_the_login_hosts_and_a_my_domain() {
    let app = app().await;
    let (mut b, _token) = signed_in(&app, "ws-a", "admin-a").await;
    let page = html(b.get(&format!("{}/admin", app.url)).await).await;
    assert!(
        page.contains(r#"<option value="org-b">Sandbox org B</option>"#)
            && page.contains(r#"<option value="org-a">Sandbox org A</option>"#),
        "{page}"
    );
    assert!(page.contains(r#"name="my_domain""#), "{page}");
    // The form's Reconnect through org B goes to org B's authorize page.
    let r = b
        .get(&format!(
            "{}/connect/salesforce?login=org-b&my_domain=",
            app.url
        ))
        .await;
    let to = Browser::location(&r);
    assert!(to.starts_with(&app.org_b.as_ref().unwrap().url()), "{to}");
}
