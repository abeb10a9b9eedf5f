//! The console creates the Workflow action's data connector in the
//! workspace through Intercom's Data Connectors API (2.16), with a fresh
//! action token in its header, once.

use reqwest::StatusCode;

use crate::common::TestApp;
use crate::console_support::{html, signed_in};

#[tokio::test]
async fn the_console_creates_the_case_data_connector_once() {
    let app = TestApp::builder().install().spawn().await;
    let (mut b, token) = signed_in(&app, "ws-a", "admin-a").await;
    let page = html(b.get(&format!("{}/admin", app.url)).await).await;
    assert!(
        page.contains("Create the data connector in Intercom"),
        "{page}"
    );
    let url = format!("{}/admin/data-connector", app.url);
    // Without the form token: refused, nothing created.
    let r = b.post_form(&url, &[("csrf_token", "guess")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(app.intercom.data_connectors().is_empty());

    let r = b.post_form(&url, &[("csrf_token", &token)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = html(r).await;
    assert!(page.contains("is created in Intercom as a draft"), "{page}");
    let made = app.intercom.data_connectors();
    assert_eq!(made.len(), 1);
    assert_eq!(
        made[0].workspace_id, "ws-a",
        "created with ws-a's own token"
    );
    assert_eq!(
        made[0].detail["url"],
        format!("{}/actions/salesforce-case", app.url)
    );
    // Its header's token opens the action (and is the one the page shows).
    let bearer = made[0].header("Authorization").unwrap().to_string();
    let presented = bearer.strip_prefix("Bearer ").unwrap();
    assert!(page.contains(presented), "the new token is shown once");
    let status = app
        .http
        .post(format!("{}/actions/salesforce-case", app.url))
        .header("Authorization", &bearer)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .status();
    assert_ne!(
        status,
        StatusCode::UNAUTHORIZED,
        "the connector's token works"
    );

    // Again: the existing one is named, nothing is created or rotated.
    let page = html(b.post_form(&url, &[("csrf_token", &token)]).await).await;
    assert!(page.contains("already has a data connector"), "{page}");
    assert_eq!(app.intercom.data_connectors().len(), 1);
    let status = app
        .http
        .post(format!("{}/actions/salesforce-case", app.url))
        .header("Authorization", &bearer)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .status();
    assert_ne!(status, StatusCode::UNAUTHORIZED, "its token still works");
}
