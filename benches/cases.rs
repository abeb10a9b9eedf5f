//! `cargo bench --bench cases`: the figures automatic cases are held to,
//! printed, never asserted in tests.
//!
//! - automatic cases per second from the queue: signed
//!   `conversation.user.created` webhooks for conversations of a Contact,
//!   each fanned out to a case job and turned into one Case (Intercom
//!   conversation + contact, the Contact query, one create through the
//!   idempotency ledger, the case number, the map, the note), SQLite file
//! - `POST /actions/salesforce-case` answer time over loopback (p50/p99),
//!   a create per call, then an update per call

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;
use sf_inbox::app;
use sf_inbox::canvas::signature::sign_hub;
use sf_inbox::config::{Config, Database};
use sf_inbox::settings::WorkspaceSettings;
use sf_inbox::store::Store;
use sf_sandbox::intercom::{FakeIntercom, SANDBOX_INTERCOM_TOKEN};
use sf_sandbox::FakeOrg;

const SECRET: &str = "bench-secret";
const TOKEN: &str = "bench-action-token";
const N: usize = 100;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let dir = std::env::temp_dir().join(format!("sf-inbox-bench-cases-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let org = FakeOrg::start("127.0.0.1:0".parse().unwrap(), &fixtures)
        .await
        .unwrap();
    let intercom = FakeIntercom::start("127.0.0.1:0".parse().unwrap(), &fixtures)
        .await
        .unwrap();
    let env = HashMap::from([
        ("SALESFORCE_LOGIN_URL", org.url()),
        ("SALESFORCE_CLIENT_ID", sf_sandbox::SANDBOX_CLIENT_ID.into()),
        (
            "SALESFORCE_CLIENT_SECRET",
            sf_sandbox::SANDBOX_CLIENT_SECRET.into(),
        ),
        (
            "SALESFORCE_REFRESH_TOKEN",
            sf_sandbox::SANDBOX_REFRESH_TOKEN.into(),
        ),
        ("INTERCOM_CLIENT_SECRET", SECRET.into()),
        ("INTERCOM_ACCESS_TOKEN", SANDBOX_INTERCOM_TOKEN.into()),
        ("INTERCOM_API_URL", intercom.url()),
        ("ACTION_TOKEN", TOKEN.into()),
    ]);
    let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let store = Store::open(&Database::File(dir.join("cases.db")), "default").unwrap();
    let built = app::start(&config, store.clone()).await.unwrap();
    let settings = WorkspaceSettings::from_toml(
        "[auto_cases]\ncreate_on_start = true\n\
         [[auto_cases.mappings]]\nintercom = \"Product Area\"\nsalesforce = \"Product__c\"\n",
        &WorkspaceSettings::defaults(&config),
    )
    .unwrap();
    settings.save(&store).await.unwrap();
    // Conversations of Hana (a Contact), each with its attribute.
    let template = {
        let text = std::fs::read_to_string(fixtures.join("intercom/conversations.json")).unwrap();
        let all: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        all.into_iter().find(|c| c["id"] == "4711").unwrap()
    };
    for i in 0..2 * N {
        let mut c = template.clone();
        c["id"] = json!(format!("{}", 800_000 + i));
        c["custom_attributes"] = json!({"Product Area": "Billing"});
        intercom.put_conversation(c);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, built.router).await.unwrap() });
    let http = reqwest::Client::new();

    // Cases per second from the queue.
    let cases_before = org.records("Case").len();
    let started = Instant::now();
    for i in 0..N {
        let body = serde_json::to_vec(&json!({
            "type": "notification_event", "app_id": "bench", "id": format!("notif_{i}"),
            "topic": "conversation.user.created", "created_at": 1767000000,
            "data": {"type": "notification_event_data",
                     "item": {"type": "conversation", "id": format!("{}", 800_000 + i)}}
        }))
        .unwrap();
        let r = http
            .post(format!("{base}/webhooks/intercom"))
            .header("content-type", "application/json")
            .header("x-hub-signature", sign_hub(SECRET.as_bytes(), &body))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while store.counts().await.unwrap().waiting() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    let made = org.records("Case").len() - cases_before;
    println!(
        "automatic cases from the queue (SQLite): {made} cases in {:.2} s = {:.1} cases/s",
        elapsed.as_secs_f64(),
        made as f64 / elapsed.as_secs_f64()
    );

    // The Workflow action: creates, then updates.
    // The same N conversations: each call of the first round creates a
    // Case, each of the second updates it.
    for what in ["create", "update"] {
        let mut times = Vec::with_capacity(N);
        for i in 0..N {
            let conv = format!("{}", 800_000 + N + i);
            let t = Instant::now();
            let r = http
                .post(format!("{base}/actions/salesforce-case"))
                .bearer_auth(TOKEN)
                .json(&json!({"conversation_id": conv, "attributes": {"Product Area": "Shipping"}}))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let v: serde_json::Value = r.json().await.unwrap();
            times.push(t.elapsed());
            assert_eq!(status, 200, "{v}");
        }
        times.sort();
        println!(
            "POST /actions/salesforce-case ({what}): p50 {:.1} ms, p99 {:.1} ms over {N} calls",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
