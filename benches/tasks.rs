//! `cargo bench --bench tasks`: the figures automatic tasks are held to,
//! printed, never asserted in tests (timings depend on the machine).
//!
//! - webhook answer time over loopback (p50/p99), signature checked and the
//!   notification synced to the SQLite file before the 200, with the worker
//!   busy in the background; Intercom's priority threshold is 500 ms
//! - notifications per second the worker takes off the queue, each one an
//!   automatic Task (Intercom conversation + contact + admin, one Salesforce
//!   composite, one create, the map committed), against the sandbox org

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sf_inbox::app;
use sf_inbox::canvas::signature::sign_hub;
use sf_inbox::config::Config;
use sf_inbox::store::TokenStore;
use sf_sandbox::intercom::{FakeIntercom, SANDBOX_INTERCOM_TOKEN};
use sf_sandbox::FakeOrg;

const SECRET: &str = "bench-secret";
const SEQUENTIAL: usize = 400;
const BURST: usize = 400;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn notification(id: usize, conversation: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "type": "notification_event", "app_id": "bench", "id": format!("notif_{id}"),
        "topic": "conversation.user.created", "created_at": 1767000000,
        "data": {"type": "notification_event_data",
                 "item": {"type": "conversation", "id": conversation.to_string()}}
    }))
    .unwrap()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let org = FakeOrg::start("127.0.0.1:0".parse().unwrap(), &fixtures)
        .await
        .unwrap();
    let intercom = FakeIntercom::start("127.0.0.1:0".parse().unwrap(), &fixtures)
        .await
        .unwrap();
    // One conversation per notification, each started by Lena (a Lead).
    for i in 0..SEQUENTIAL + BURST {
        intercom.put_conversation(json!({
            "type": "conversation", "id": (900_000 + i).to_string(), "state": "open",
            "admin_assignee_id": "814861", "created_at": 1767000000,
            "source": {"type": "conversation", "id": format!("s{i}"), "body": "<p>Volume pricing?</p>",
                       "author": {"type": "user", "id": "ic-lena", "name": "Lena Fischer", "email": "lena@initech.example"}},
            "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "ic-lena"}]},
            "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [], "total_count": 0}
        }));
    }
    let dir = std::env::temp_dir().join(format!("sf-inbox-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = format!("sqlite://{}", dir.join("tasks.db").display());
    let env: HashMap<&str, String> = HashMap::from([
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
        ("AUTO_TASKS", "on".into()),
        ("DATABASE_URL", db),
    ]);
    let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let built = app::build(&config, TokenStore::memory()).unwrap();
    let queue = built.task_queue.clone().unwrap().0;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/webhooks/intercom",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, built.router).await.unwrap() });
    let http = reqwest::Client::new();
    let post = |body: Vec<u8>| {
        let sig = sign_hub(SECRET.as_bytes(), &body);
        http.post(&url)
            .header("content-type", "application/json")
            .header("x-hub-signature", sig)
            .body(body)
            .send()
    };

    // Answer time, one at a time, the worker working behind.
    let mut times = Vec::with_capacity(SEQUENTIAL);
    for i in 0..SEQUENTIAL {
        let body = notification(i, 900_000 + i);
        let t = Instant::now();
        let resp = post(body).await.unwrap();
        assert_eq!(resp.status(), 200);
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "webhook answer (signature checked, stored and synced): p50 {:?}, p99 {:?}, max {:?} over {SEQUENTIAL}",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().unwrap()
    );
    wait_drained(&queue).await;

    // Throughput: a burst is queued, then the worker drains it.
    let tasks_before = org.records("Task").len();
    let started = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(16));
    let mut handles = Vec::new();
    for i in SEQUENTIAL..SEQUENTIAL + BURST {
        let permit = sem.clone().acquire_owned().await.unwrap();
        let fut = post(notification(i, 900_000 + i));
        handles.push(tokio::spawn(async move {
            let r = fut.await.unwrap();
            drop(permit);
            r.status()
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 200);
    }
    let queued = started.elapsed();
    wait_drained(&queue).await;
    let total = started.elapsed();
    let made = org.records("Task").len() - tasks_before;
    println!(
        "burst of {BURST} webhooks (16 concurrent) answered in {queued:?} ({:.0}/s)",
        BURST as f64 / queued.as_secs_f64()
    );
    println!(
        "worker: {made} automatic tasks from {BURST} queued notifications in {total:?}: {:.0} notifications/s",
        BURST as f64 / total.as_secs_f64()
    );
    let counts = queue.counts().await.unwrap();
    println!(
        "queue: {} done, {} failed, {} pending",
        counts.done, counts.failed, counts.pending
    );
    let _ = std::fs::remove_dir_all(&dir);
}

async fn wait_drained(queue: &sf_inbox::tasks::store::TaskStore) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while queue.counts().await.unwrap().pending > 0 {
        assert!(Instant::now() < deadline, "queue did not drain");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
