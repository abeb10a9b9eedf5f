//! The render cache (#14): a warm render answers with the canvas it
//! serialised before, and never with one drawn from data older than what
//! the cache holds now — after a Refresh, or after this server's own write
//! drops the person from the cache.

use crate::common;

use common::*;
use serde_json::json;

const HANA: &str = "0035e000001HanaAAC";

#[tokio::test]
async fn no_canvas_older_than_its_snapshot_is_served() {
    let app = spawn().await;
    let hana = person(
        "user",
        Some("hana@globex.example"),
        Some("Globex Corporation"),
    );
    let first = app.initialize(&hana).await;
    assert!(texts(&first).contains("VP Operations"), "{first}");
    let account_tab = app
        .submit(&submit_from(
            &hana,
            &first,
            "tab",
            json!({"tab": "tab_account"}),
        ))
        .await;
    let calls = app.org.api_calls();
    assert_eq!(
        app.initialize(&hana).await,
        first,
        "a warm render: the same canvas"
    );
    assert_eq!(app.org.api_calls(), calls, "and no Salesforce call");

    // Someone edits Hana in Salesforce; the cache does not know yet.
    let client = app.sidebar.client();
    client
        .update(
            "Contact",
            HANA,
            &json!({"Title": "Chief Operating Officer"}),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(app.initialize(&hana).await, first, "cached until refreshed");

    // Refresh: a new snapshot, and every screen drawn from it.
    let refreshed = app
        .submit(&submit_from(&hana, &first, "refresh", json!({})))
        .await;
    assert!(
        texts(&refreshed).contains("Chief Operating Officer"),
        "{refreshed}"
    );
    let warm = app.initialize(&hana).await;
    assert!(texts(&warm).contains("Chief Operating Officer"), "{warm}");
    assert!(!texts(&warm).contains("VP Operations"), "{warm}");
    let tab = app
        .submit(&submit_from(
            &hana,
            &first,
            "tab",
            json!({"tab": "tab_account"}),
        ))
        .await;
    assert!(texts(&tab).contains("Chief Operating Officer"), "{tab}");
    assert_ne!(
        tab, account_tab,
        "the tab drawn before the refresh is not reused"
    );

    // A write of this server drops the person (as a create does).
    client
        .update("Contact", HANA, &json!({"Title": "Chief Executive"}), &[])
        .await
        .unwrap();
    let org = client.session().await.unwrap().org_id.clone();
    app.sidebar
        .profiles()
        .forget_emails("ws-test", &org, &["hana@globex.example"]);
    let after = app.initialize(&hana).await;
    assert!(texts(&after).contains("Chief Executive"), "{after}");
    assert!(!texts(&after).contains("Operating"), "{after}");
}
