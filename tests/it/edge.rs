//! The HTTP edge over loopback: request ids, the one log line per request,
//! and what a body over the limit gets on each route.

use crate::common;

use common::*;
use serde_json::json;
use sf_inbox::canvas::signature::sign_hub;
use sf_inbox::edge::MAX_WEBHOOK_BYTES;

// One thread, so the thread-local subscriber sees the server's tasks.
#[tokio::test(flavor = "current_thread")]
async fn every_request_gets_an_id_and_one_log_line_without_bodies_or_queries() {
    let captured = common::logs::capture();

    let app = spawn().await;
    // Generated when absent, echoed in the answer.
    let r = app
        .http
        .get(format!("{}/healthz?code=oauth-code-123", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let generated = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    // Kept when the caller sends one.
    let hana = person("user", Some("hana@globex.example"), None);
    let (bytes, sig) = Signed::canvas(&hana);
    let r = app
        .http
        .post(format!("{}/canvas/initialize", app.url))
        .header("x-body-signature", sig)
        .header("x-request-id", "req-from-intercom-42")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-request-id"], "req-from-intercom-42");
    // Two requests never share a generated id.
    let other = app
        .http
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_ne!(other.headers()["x-request-id"], generated.as_str());

    let log = captured.text();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("answered")).collect();
    assert_eq!(lines.len(), 3, "one line per request:\n{log}");
    let health = lines
        .iter()
        .find(|l| l.contains(&generated))
        .expect("the generated id is logged");
    for part in ["method=GET", "route=/healthz", "status=200", "latency_ms="] {
        assert!(health.contains(part), "{part} in {health}");
    }
    let canvas = lines
        .iter()
        .find(|l| l.contains("req-from-intercom-42"))
        .expect("the caller's id is logged");
    assert!(canvas.contains("route=/canvas/initialize") && canvas.contains("method=POST"));
    assert!(!log.contains("oauth-code-123"), "no query strings:\n{log}");
    assert!(!log.contains("hana@globex.example"), "no bodies:\n{log}");
    assert!(!log.contains(SECRET), "no secrets:\n{log}");
}

#[tokio::test]
async fn a_signed_submit_over_the_limit_gets_a_canvas_not_a_413() {
    let app = spawn().await;
    let init = person("user", Some("hana@globex.example"), None);
    let first = app.initialize(&init).await;
    let calls = app.org.api_calls();
    // A New Case description of 600 KB.
    let huge = submit_from(
        &init,
        &first,
        "case_create",
        json!({"case_Subject": "Archive", "case_Description": "x".repeat(600 * 1024)}),
    );
    let c = app.submit(&huge).await;
    assert!(texts(&c).contains("This request is too large"), "{c}");
    assert!(find_component(&c, "refresh").is_some(), "a way back: {c}");
    assert_eq!(app.org.api_calls(), calls, "nothing reached Salesforce");
}

#[tokio::test]
async fn a_webhook_over_the_limit_is_413_when_signed_and_401_when_not() {
    let app = TestApp::builder().auto_tasks().spawn().await;
    let mut body = Notification::new("n1", "conversation.user.created", "4712").body();
    body["padding"] = json!("x".repeat(MAX_WEBHOOK_BYTES));
    let bytes = serde_json::to_vec(&body).unwrap();
    let r = app
        .post_hook(&bytes, Some(sign_hub(b"wrong", &bytes)))
        .await;
    assert_eq!(r.status(), 401);
    let r = app
        .post_hook(&bytes, Some(sign_hub(SECRET.as_bytes(), &bytes)))
        .await;
    assert_eq!(r.status(), 413);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("limit"), "{v}");
    assert_eq!(app.queue().counts().await.unwrap(), Default::default());
    // Under the limit, the same notification is taken.
    let v = app
        .deliver(&Notification::new(
            "n1",
            "conversation.user.created",
            "4712",
        ))
        .await;
    assert_eq!(v["status"], "queued");
}
