//! The live panels over real HTTP: signed Canvas Kit requests to the app,
//! the app talking to the fake org, assertions on the canvases and on the
//! org's request log.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn healthz_answers() {
    let app = spawn().await;
    let r = app
        .http
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn signatures_are_checked_before_anything_else() {
    let app = spawn().await;
    let body = serde_json::to_vec(&person("user", Some("hana@globex.example"), None)).unwrap();
    let post = |sig: Option<String>, body: Vec<u8>| {
        let mut r = app
            .http
            .post(format!("{}/canvas/initialize", app.url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = sig {
            r = r.header("x-body-signature", s);
        }
        r.send()
    };
    assert_eq!(post(None, body.clone()).await.unwrap().status(), 401);
    let wrong = sf_inbox::canvas::signature::sign_body(b"not-the-secret", &body);
    assert_eq!(post(Some(wrong), body.clone()).await.unwrap().status(), 401);
    assert_eq!(
        post(Some("zz-not-hex".into()), body.clone())
            .await
            .unwrap()
            .status(),
        401
    );
    // Signed, but not JSON.
    let junk = b"{not json".to_vec();
    let sig = sf_inbox::canvas::signature::sign_body(SECRET.as_bytes(), &junk);
    assert_eq!(post(Some(sig), junk).await.unwrap().status(), 400);
    // Too big and mis-signed: still 401, whatever the size.
    let huge = vec![b' '; 600 * 1024];
    let wrong = sf_inbox::canvas::signature::sign_body(b"not-the-secret", &huge);
    assert_eq!(post(Some(wrong), huge.clone()).await.unwrap().status(), 401);
    // Too big and signed: a canvas saying so, never a 413 (#14).
    let sig = sf_inbox::canvas::signature::sign_body(SECRET.as_bytes(), &huge);
    let r = post(Some(sig), huge).await.unwrap();
    assert_eq!(r.status(), 200);
    let canvas: serde_json::Value = r.json().await.unwrap();
    assert!(
        texts(&canvas).contains("This request is too large"),
        "{canvas}"
    );
    assert!(find_component(&canvas, "refresh").is_some(), "{canvas}");
    // None of those reached Salesforce.
    assert_eq!(app.org.api_calls(), 0);
    assert_eq!(app.org.token_requests(), 0);
    // And the right signature works.
    let sig = sf_inbox::canvas::signature::sign_body(SECRET.as_bytes(), &body);
    assert_eq!(post(Some(sig), body).await.unwrap().status(), 200);
}

#[tokio::test]
async fn contact_panel_costs_one_round_trip_cold_and_none_warm() {
    let app = spawn().await;
    let init = person(
        "user",
        Some("hana@globex.example"),
        Some("Globex Corporation"),
    );
    let canvas = app.initialize(&init).await;
    let first_texts = texts(&canvas);
    let t = first_texts.clone();
    // The first canvas: the Contact, the open-case count, the deal summary
    // and the main actions; the Account and the deals one click away.
    for expected in [
        "Hana Okafor",
        "Dev Singh",
        "3 open cases",
        "Globex Corporation",
        "**Globex — Platform renewal 2027** · Negotiation/Review · $120,000.00",
        "New Case",
        "Open Contact in Salesforce",
        "Deals (3)",
        "Refresh",
    ] {
        assert!(t.contains(expected), "missing {expected:?} in\n{t}");
    }
    assert_eq!(
        app.org.api_calls(),
        1,
        "cold render is one composite round trip"
    );
    let log = app.org.requests();
    let data: Vec<_> = log
        .iter()
        .filter(|r| r.path.starts_with("/services/data"))
        .collect();
    assert_eq!(data.len(), 1);
    assert!(data[0].path.ends_with("/composite"), "{:?}", data[0]);

    let tabs = find_component(&canvas, "tab").expect("a tab row");
    assert_eq!(tabs["type"], "single-select");
    assert_eq!(tabs["action"]["type"], "submit");
    assert_eq!(tabs["value"], "tab_overview");

    let account = app
        .submit(&submit_from(
            &init,
            &canvas,
            "tab",
            json!({"tab": "tab_account"}),
        ))
        .await;
    let t = texts(&account);
    for expected in ["globex.example", "Maya Patel", "United States"] {
        assert!(t.contains(expected), "missing {expected:?} in\n{t}");
    }
    assert_eq!(
        find_component(&account, "tab").unwrap()["value"],
        "tab_account"
    );

    let deals = app
        .submit(&submit_from(
            &init,
            &canvas,
            "tab",
            json!({"tab": "tab_deals"}),
        ))
        .await;
    let t = texts(&deals);
    for expected in [
        "Globex — Platform renewal 2027",
        "15 Dec 2026",
        "$120,000.00",
    ] {
        assert!(t.contains(expected), "missing {expected:?} in\n{t}");
    }
    let others: Vec<String> = deals_list(&deals)
        .iter()
        .map(|o| o["title"].as_str().unwrap().to_string())
        .collect();
    assert!(
        others.iter().any(|o| o == "Globex — Support add-on"),
        "then the account's open ones: {others:?}"
    );
    assert_eq!(
        others.len(),
        2,
        "the contact-role deal is shown, two others listed, the closed-won account opportunity not: {others:?}"
    );
    assert_eq!(
        deals["canvas"]["stored_data"]["opportunity"],
        canvas["canvas"]["stored_data"]["opportunity"],
        "contact-role opportunities first"
    );

    // Warm: no Salesforce call at all.
    let again = app.initialize(&init).await;
    assert_eq!(texts(&again), first_texts);
    assert_eq!(app.org.api_calls(), 1);
}

#[tokio::test]
async fn switching_opportunity_and_opening_cases_cost_no_call() {
    let app = spawn().await;
    let init = person("user", Some("hana@globex.example"), None);
    let first = app.initialize(&init).await;
    let calls = app.org.api_calls();
    let deals = app
        .submit(&submit_from(
            &init,
            &first,
            "tab",
            json!({"tab": "tab_deals"}),
        ))
        .await;
    let listed = deals_list(&deals);
    let second_id = listed[0]["id"]
        .as_str()
        .unwrap()
        .strip_prefix("deal_")
        .expect("deal items are deal_{id}")
        .to_string();
    let second_name = listed[0]["title"].as_str().unwrap().to_string();
    assert_eq!(listed[0]["action"]["type"], "submit");

    // One click on a listed deal shows its details at once.
    let switched = app
        .submit(&submit_from(
            &init,
            &deals,
            &format!("deal_{second_id}"),
            json!({}),
        ))
        .await;
    assert_eq!(switched["canvas"]["stored_data"]["opportunity"], second_id);
    assert_eq!(switched["canvas"]["stored_data"]["view"], "deals");
    let shown = switched["canvas"]["content"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "text" && c["style"] == "paragraph")
        .unwrap()["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(shown.contains(&second_name), "{shown} is not {second_name}");
    assert!(
        deals_list(&switched)
            .iter()
            .all(|o| o["title"].as_str() != Some(second_name.as_str())),
        "the deal shown is not listed again"
    );

    let cases = app
        .submit(&submit_from(&init, &switched, "show_cases", json!({})))
        .await;
    let items = cases["canvas"]["content"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "list")
        .expect("a case list")["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(items.len(), 3);
    assert!(items[0]["action"]["url"]
        .as_str()
        .unwrap()
        .contains("/lightning/r/Case/500"));
    let t = texts(&cases);
    for s in ["New", "Working", "Escalated", "Priority: High"] {
        assert!(t.contains(s), "missing {s} in {t}");
    }

    // Back keeps the chosen opportunity (summarised on the first tab).
    let back = app
        .submit(&submit_from(&init, &cases, "back", json!({})))
        .await;
    assert_eq!(back["canvas"]["stored_data"]["opportunity"], second_id);
    assert!(
        texts(&back).contains(&second_name),
        "back from the case list returns to the opportunity chosen before"
    );
    // Refresh redraws the tab the teammate is on.
    let refreshed = app
        .submit(&submit_from(&init, &switched, "refresh", json!({})))
        .await;
    assert_eq!(refreshed["canvas"]["stored_data"]["view"], "deals");
    assert_eq!(refreshed["canvas"]["stored_data"]["opportunity"], second_id);
    assert_eq!(
        app.org.api_calls(),
        calls + 1,
        "navigation is served from the cache; only Refresh calls Salesforce"
    );
    let calls = calls + 1;

    // A forged opportunity id (not this person's) falls back to the first.
    let forged = app
        .submit(&submit_from(
            &init,
            &deals,
            "deal_006000000000EVIL",
            json!({}),
        ))
        .await;
    assert_eq!(
        forged["canvas"]["stored_data"]["opportunity"],
        first["canvas"]["stored_data"]["opportunity"]
    );
    // A canvas drawn before the tabs (the dropdown and its Show button)
    // still switches deals.
    let old_style = app
        .submit(&submit_from(
            &init,
            &first,
            "show_opportunity",
            json!({"opportunity": second_id}),
        ))
        .await;
    assert_eq!(old_style["canvas"]["stored_data"]["opportunity"], second_id);

    // Refresh bypasses the cache.
    app.submit(&submit_from(&init, &first, "refresh", json!({})))
        .await;
    assert_eq!(app.org.api_calls(), calls + 1);
}

#[tokio::test]
async fn leads_converted_leads_accounts_and_strangers() {
    let app = spawn().await;
    let lead = app
        .initialize(&person("lead", Some("lena@initech.example"), None))
        .await;
    let t = texts(&lead);
    for s in [
        "Lena Fischer",
        "Salesforce Lead",
        "Initech",
        "Working - Contacted",
        "Maya Patel",
        "Open Lead in Salesforce",
    ] {
        assert!(t.contains(s), "lead: missing {s} in {t}");
    }

    let converted = app
        .initialize(&person("lead", Some("omar@umbrella.example"), None))
        .await;
    let t = texts(&converted);
    for s in [
        "Omar Haddad",
        "Salesforce Contact",
        "converted Lead",
        "Umbrella Health",
    ] {
        assert!(t.contains(s), "converted: missing {s} in {t}");
    }
    let account_tab = app
        .submit(&submit_from(
            &person("lead", Some("omar@umbrella.example"), None),
            &converted,
            "tab",
            json!({"tab": "tab_account"}),
        ))
        .await;
    assert!(
        texts(&account_tab).contains("Germany"),
        "{}",
        texts(&account_tab)
    );

    let account = app
        .initialize(&person(
            "user",
            Some("tony@stark.example"),
            Some("Stark Industries"),
        ))
        .await;
    let t = texts(&account);
    for s in [
        "Stark Industries",
        "stark.example",
        "Salesforce Account",
        "Deals (2)",
    ] {
        assert!(t.contains(s), "account: missing {s} in {t}");
    }

    let nobody = app
        .initialize(&person("user", Some("nobody@nowhere.example"), None))
        .await;
    let t = texts(&nobody);
    assert!(
        t.contains("Not in Salesforce") && t.contains("nobody@nowhere.example"),
        "{t}"
    );

    let calls = app.org.api_calls();
    let no_email = app.initialize(&person("lead", None, None)).await;
    assert!(texts(&no_email).contains("No email address"));
    assert_eq!(
        app.org.api_calls(),
        calls,
        "nothing to look up, nothing asked"
    );

    let twins = app
        .initialize(&person("lead", Some("twins@dup.example"), None))
        .await;
    assert!(
        texts(&twins).contains("1 more Lead has this email"),
        "{}",
        texts(&twins)
    );
}

#[tokio::test]
async fn emails_are_matched_case_insensitively_and_escaped() {
    let app = spawn().await;
    let upper = app
        .initialize(&person("user", Some("HANA@GLOBEX.EXAMPLE"), None))
        .await;
    assert!(texts(&upper).contains("Hana Okafor"));

    let quoted = app
        .initialize(&person("user", Some("o'brien@x.com"), None))
        .await;
    assert!(
        texts(&quoted).contains("Siobhan O'Brien"),
        "{}",
        texts(&quoted)
    );

    for attack in [
        "x' OR Name != '",
        "x\\' OR Name != '",
        "x@y.z' OR Email != '",
    ] {
        let before = app.org.api_calls();
        let c = app
            .initialize(&person(
                "user",
                Some(&format!("{attack}@evil.example")),
                None,
            ))
            .await;
        assert!(
            texts(&c).contains("Not in Salesforce"),
            "{attack}: {}",
            texts(&c)
        );
        assert_eq!(
            app.org.api_calls(),
            before + 1,
            "the query ran and matched nothing"
        );
    }
    // The org saw the literal escaped, never an OR.
    let soql: Vec<String> = app
        .org
        .requests()
        .into_iter()
        .flat_map(|r| r.soql)
        .collect();
    let contact_queries: Vec<_> = soql
        .iter()
        .filter(|q| q.contains("FROM Contact WHERE Email"))
        .collect();
    assert!(
        contact_queries
            .iter()
            .any(|q| q.contains(r"Email = 'x\' or name != \'@evil.example'")),
        "{contact_queries:#?}"
    );
    assert!(
        !soql
            .iter()
            .any(|q| q.to_lowercase().contains("' or name")
                && !q.to_lowercase().contains(r"\' or name")),
        "unescaped injection reached the org"
    );
}

#[tokio::test]
async fn expired_access_token_is_refreshed_once_for_many_callers() {
    let app = spawn().await;
    app.initialize(&person("user", Some("hana@globex.example"), None))
        .await;
    assert_eq!(app.org.token_requests(), 1);
    app.org.switches().expire_access_tokens();

    let mut tasks = Vec::new();
    for email in [
        "lena@initech.example",
        "omar@umbrella.example",
        "priya@hooli.example",
        "solo@freelance.example",
    ] {
        let body = person("user", Some(email), None);
        let url = app.url.clone();
        tasks.push(tokio::spawn(async move {
            let bytes = serde_json::to_vec(&body).unwrap();
            let sig = sf_inbox::canvas::signature::sign_body(SECRET.as_bytes(), &bytes);
            reqwest::Client::new()
                .post(format!("{url}/canvas/initialize"))
                .header("x-body-signature", sig)
                .body(bytes)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        let c = t.await.unwrap();
        assert!(!texts(&c).contains("Reconnect"), "{}", texts(&c));
        assert!(!texts(&c).contains("isn't answering"), "{}", texts(&c));
    }
    assert_eq!(
        app.org.token_requests(),
        2,
        "one shared refresh after expiry"
    );
}

#[tokio::test]
async fn revoked_refresh_token_shows_reconnect_without_a_retry_loop() {
    let app = spawn().await;
    app.org.switches().revoke_refresh_tokens();
    let c = app
        .initialize(&person("user", Some("hana@globex.example"), None))
        .await;
    assert!(texts(&c).contains("Reconnect Salesforce"), "{}", texts(&c));
    assert!(
        component_ids(&c).iter().all(|id| id != "retry"),
        "no retry for a revoked token"
    );
    let again = app
        .initialize(&person("user", Some("lena@initech.example"), None))
        .await;
    assert!(texts(&again).contains("Reconnect Salesforce"));
    assert_eq!(
        app.org.token_requests(),
        1,
        "a revoked token is not tried again and again"
    );
}

#[tokio::test]
async fn faults_become_canvases_with_retry() {
    let app = spawn().await;
    let init = person("user", Some("hana@globex.example"), None);

    app.org.switches().set_api_limit(true);
    let c = app.initialize(&init).await;
    assert!(texts(&c).contains("API limit reached"), "{}", texts(&c));
    app.org.switches().set_api_limit(false);

    app.org.switches().fail_with(Some(503));
    let c = app.initialize(&init).await;
    assert!(
        texts(&c).contains("Salesforce is unavailable"),
        "{}",
        texts(&c)
    );
    assert!(component_ids(&c).contains(&"retry".to_string()));
    app.org.switches().fail_with(None);

    app.org.switches().set_malformed(true);
    let c = app.initialize(&init).await;
    assert!(texts(&c).contains("could not read"), "{}", texts(&c));
    app.org.switches().set_malformed(false);

    // Retry after the fault clears shows the panel.
    let ok = app
        .submit(&submit_from(&init, &c, "retry", json!({})))
        .await;
    assert!(texts(&ok).contains("Hana Okafor"));
}

#[tokio::test]
async fn slow_org_gives_a_canvas_within_the_deadline_or_the_last_known_data() {
    let app = spawn_with(&[("SALESFORCE_TIMEOUT_MS", "300")]).await;
    let init = person("user", Some("hana@globex.example"), None);
    let first = app.initialize(&init).await;
    assert!(texts(&first).contains("Hana Okafor"));

    app.org.switches().set_latency(Duration::from_secs(3));
    // Refresh while slow: the last known data, marked, with a retry.
    let started = Instant::now();
    let stale = app
        .submit(&submit_from(&init, &first, "refresh", json!({})))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered at the deadline, not after the org"
    );
    let t = texts(&stale);
    assert!(
        t.contains("Salesforce is slow to answer: this is what it said at"),
        "{t}"
    );
    assert!(t.contains("Hana Okafor"), "{t}");
    assert!(component_ids(&stale).contains(&"retry".to_string()));

    // Someone never seen before: the timeout canvas.
    let c = app
        .initialize(&person("user", Some("lena@initech.example"), None))
        .await;
    assert!(texts(&c).contains("slow to answer"), "{}", texts(&c));
}

#[tokio::test]
async fn concurrent_cold_renders_of_one_person_share_one_query() {
    let app = spawn().await;
    // Authenticate first so the burst measures queries, not the token.
    app.initialize(&person("user", Some("priya@hooli.example"), None))
        .await;
    let before = app.org.api_calls();
    app.org.switches().set_latency(Duration::from_millis(100));
    let init = person("user", Some("hana@globex.example"), None);
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let sidebar = app.sidebar.clone();
        let req: sf_inbox::canvas::CanvasRequest = serde_json::from_value(init.clone()).unwrap();
        tasks.push(tokio::spawn(async move { sidebar.initialize(&req).await }));
    }
    for t in tasks {
        let c = serde_json::to_value(t.await.unwrap().into_response()).unwrap();
        assert!(texts(&c).contains("Hana Okafor"));
    }
    assert_eq!(app.org.api_calls() - before, 1);
}

#[tokio::test]
async fn workspaces_never_share_cache_entries() {
    let app = spawn().await;
    let mut a = person("user", Some("hana@globex.example"), None);
    app.initialize(&a).await;
    let calls = app.org.api_calls();
    a["workspace_id"] = json!("another-workspace");
    app.initialize(&a).await;
    assert_eq!(
        app.org.api_calls(),
        calls + 1,
        "another workspace fetches its own"
    );
}

#[tokio::test]
async fn a_configured_workspace_refuses_others() {
    let app = spawn_with(&[("INTERCOM_WORKSPACE_ID", "ws-test")]).await;
    let mut a = person("user", Some("hana@globex.example"), None);
    assert!(texts(&app.initialize(&a).await).contains("Hana Okafor"));
    let panel = app.initialize(&a).await;
    a["workspace_id"] = json!("intruder");
    let c = app.initialize(&a).await;
    assert!(texts(&c).contains("Not available in this workspace"));
    // Every flow's submit too: panels, forms, tasks.
    let calls = app.org.api_calls();
    for component in [
        "refresh",
        "case_open",
        "case_create",
        "lead_create",
        "task_new",
        "task_create",
    ] {
        let c = app
            .submit(&submit_from(&a, &panel, component, json!({})))
            .await;
        assert!(
            texts(&c).contains("Not available in this workspace"),
            "{component}: {}",
            texts(&c)
        );
    }
    assert_eq!(app.org.api_calls(), calls, "nothing reached Salesforce");
    assert!(app.intercom.notes().is_empty());
}

#[tokio::test]
async fn missing_connected_app_settings_say_not_connected() {
    let app = spawn_with(&[
        ("SALESFORCE_CLIENT_ID", ""),
        ("SALESFORCE_CLIENT_SECRET", ""),
    ])
    .await;
    let c = app
        .initialize(&person("user", Some("hana@globex.example"), None))
        .await;
    assert!(
        texts(&c).contains("Salesforce isn't connected"),
        "{}",
        texts(&c)
    );
    assert_eq!(app.org.token_requests(), 0);
}

#[tokio::test]
async fn rotated_refresh_token_is_stored_and_wins_on_restart() {
    let dir = std::env::temp_dir().join(format!("sf-inbox-rotation-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let org = start_org().await;
    org.switches().set_rotation(true);
    let db = sf_inbox::config::Database::File(dir.join("sf-inbox.db"));
    let open = || sf_inbox::store::Store::open(&db, "default").unwrap();
    let app = spawn_on(org, &[], open()).await;
    app.initialize(&person("user", Some("hana@globex.example"), None))
        .await;
    let stored = open().connection().await.unwrap().unwrap();
    assert_ne!(
        stored.refresh_token.as_ref().map(|t| t.expose()),
        Some(sf_sandbox::SANDBOX_REFRESH_TOKEN),
        "the rotated token replaced the configured one"
    );

    // "Restart": a new app on the same org and data dir. Reusing the
    // configured (already rotated) token would revoke the connection.
    app.server.abort();
    let again = spawn_on(app.org, &[], open()).await;
    let c = again
        .initialize(&person("user", Some("lena@initech.example"), None))
        .await;
    assert!(texts(&c).contains("Lena Fischer"), "{}", texts(&c));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Intercom's Canvas Kit requests name a person's companies by id only.
fn with_company_refs(contact_id: &str, email: &str, company_id: &str) -> serde_json::Value {
    let mut body = person("user", Some(email), None);
    body["contact"]["id"] = json!(contact_id);
    body["contact"]["companies"] = json!({"type": "list", "data": [
        {"type": "company", "id": company_id, "url": format!("/companies/{company_id}")}],
        "url": format!("/contacts/{contact_id}/companies"), "total_count": 1, "has_more": false});
    body
}

#[tokio::test]
async fn company_ids_are_resolved_through_intercom_once() {
    let app = spawn().await;
    let body = with_company_refs("ic-tony", "tony@stark.example", "cmp-stark");
    let c = app.initialize(&body).await;
    let t = texts(&c);
    assert!(
        t.contains("Stark Industries") && t.contains("Deals (2)"),
        "{t}"
    );
    let lookups = |app: &TestApp| {
        app.intercom
            .requests()
            .iter()
            .filter(|r| r.as_str() == "GET /contacts/ic-tony/companies")
            .count()
    };
    assert_eq!(lookups(&app), 1);
    let calls = app.org.api_calls();
    assert_eq!(texts(&app.initialize(&body).await), t);
    assert_eq!(lookups(&app), 1, "the names are cached");
    assert_eq!(
        app.org.api_calls(),
        calls,
        "and the warm render costs nothing"
    );
}

#[tokio::test]
async fn an_intercom_fault_only_loses_the_company_match() {
    let app = spawn().await;
    app.intercom.fail_with(Some(503));
    let c = app
        .initialize(&with_company_refs(
            "ic-tony",
            "tony@stark.example",
            "cmp-stark",
        ))
        .await;
    assert!(texts(&c).contains("Not in Salesforce"), "{}", texts(&c));
    // A Contact still matches by email.
    let c = app
        .initialize(&with_company_refs(
            "ic-hana",
            "hana@globex.example",
            "cmp-globex",
        ))
        .await;
    assert!(texts(&c).contains("Hana Okafor"));
}

#[tokio::test]
async fn a_panicking_canvas_handler_still_answers_with_a_canvas() {
    use axum::routing::post;
    use tower_http::catch_panic::CatchPanicLayer;
    sf_inbox::app::install_crypto();
    // The same layer and answer `routes::router` puts on the canvas routes,
    // around a handler with a bug.
    let router = axum::Router::new()
        .route(
            "/canvas/initialize",
            post(|| async {
                if true {
                    panic!("a bug");
                }
                ""
            }),
        )
        .layer(CatchPanicLayer::custom(sf_inbox::routes::panic_canvas));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/canvas/initialize"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let canvas: serde_json::Value = resp.json().await.unwrap();
    assert!(texts(&canvas).contains("Something went wrong"), "{canvas}");
    assert!(component_ids(&canvas).contains(&"retry".to_string()));
}

/// The other deals listed on the Opportunities tab.
fn deals_list(canvas: &Value) -> Vec<Value> {
    canvas["canvas"]["content"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "list")
        .map(|l| l["items"].as_array().unwrap().clone())
        .unwrap_or_default()
}
