//! Webhooks honour the workspace allow-list: with `INTERCOM_WORKSPACE_ID`
//! set, a correctly signed notification from another `app_id` is
//! acknowledged and creates nothing.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sf_inbox::app;
use sf_inbox::canvas::signature::sign_hub;
use sf_inbox::store::Store;
use sf_sandbox::intercom::{FakeIntercom, SANDBOX_INTERCOM_TOKEN};

use crate::common::*;

fn notification(app_id: &str, id: &str, conversation: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "type": "notification_event", "app_id": app_id, "id": id,
        "topic": "conversation.user.created", "delivery_attempts": 1, "created_at": 1767000000,
        "data": {"type": "notification_event_data",
                 "item": {"type": "conversation", "id": conversation, "state": "open"}}
    }))
    .unwrap()
}

#[tokio::test]
async fn a_signed_notification_from_another_workspace_creates_nothing() {
    let org = start_org().await;
    let intercom = FakeIntercom::start("127.0.0.1:0".parse().unwrap(), &fixtures())
        .await
        .unwrap();
    let intercom_url = intercom.url();
    let config = config_for(
        &org,
        &[
            ("INTERCOM_ACCESS_TOKEN", SANDBOX_INTERCOM_TOKEN),
            ("INTERCOM_API_URL", &intercom_url),
            ("INTERCOM_WORKSPACE_ID", "ws-test"),
            ("AUTO_TASKS", "on"),
            ("DATABASE_URL", "sqlite::memory:"),
        ],
    );
    let built = app::build(&config, Store::memory()).unwrap();
    let queue = built.task_queue.clone().unwrap().0;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, built.router).await.unwrap();
    });
    let http = reqwest::Client::new();
    let post = |body: Vec<u8>| {
        let sig = sign_hub(SECRET.as_bytes(), &body);
        http.post(format!("{url}/webhooks/intercom"))
            .header("content-type", "application/json")
            .header("x-hub-signature", sig)
            .body(body)
            .send()
    };

    let foreign = post(notification("ws-other", "n-foreign", "4712"))
        .await
        .unwrap();
    assert_eq!(
        foreign.status(),
        200,
        "acknowledged, so it is not redelivered"
    );
    let v: Value = foreign.json().await.unwrap();
    assert_eq!(v["status"], "ignored", "{v}");

    // The same conversation from the allowed workspace is taken.
    let ours = post(notification("ws-test", "n-ours", "4712"))
        .await
        .unwrap();
    let v: Value = ours.json().await.unwrap();
    assert_eq!(v["status"], "queued", "{v}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while queue.counts().await.unwrap().waiting() > 0 {
        assert!(Instant::now() < deadline, "queue did not drain");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let counts = queue.counts().await.unwrap();
    assert_eq!(
        counts.done + counts.failed,
        1,
        "only our notification was stored"
    );
    let tasks: Vec<_> = org
        .records("Task")
        .into_iter()
        .filter(|t| {
            t["Subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("Intercom "))
        })
        .collect();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    server.abort();
}
