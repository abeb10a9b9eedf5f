//! `cargo bench --bench tasks`: the figures automatic tasks are held to,
//! printed, never asserted in tests (timings depend on the machine).
//!
//! - webhook answer time over loopback (p50/p99), signature checked and the
//!   notification synced to the SQLite file before the 200, with the worker
//!   busy in the background; Intercom's priority threshold is 500 ms
//! - notifications per second the worker takes off the queue, each one an
//!   automatic Task (Intercom conversation + contact + admin, one Salesforce
//!   composite, one create, the map committed), against the sandbox org
//! - both on SQLite (a file) and, when `TEST_DATABASE_URL` names a server,
//!   on PostgreSQL (a fresh database)
//! - warm renders per second over loopback, one replica against two on one
//!   PostgreSQL (requests spread round-robin)

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sf_inbox::app;
use sf_inbox::canvas::signature::sign_hub;
use sf_inbox::config::{Config, Database, Secret};
use sf_inbox::store::Store;
use sf_sandbox::intercom::{FakeIntercom, SANDBOX_INTERCOM_TOKEN};
use sf_sandbox::FakeOrg;

mod common;

const SECRET: &str = "bench-secret";
const SEQUENTIAL: usize = 200;
const BURST: usize = 200;

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
    let dir = std::env::temp_dir().join(format!("sf-inbox-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    run("SQLite", Database::File(dir.join("tasks.db"))).await;
    let _ = std::fs::remove_dir_all(&dir);
    match fresh_pg().await {
        Some(db) => {
            run("PostgreSQL", db.clone()).await;
            warm_renders(db).await;
        }
        None => println!("PostgreSQL figures skipped: set TEST_DATABASE_URL"),
    }
}

async fn fresh_pg() -> Option<Database> {
    let base = std::env::var("TEST_DATABASE_URL").ok()?;
    let (client, conn) = match tokio_postgres::connect(&base, tokio_postgres::NoTls).await {
        Ok(c) => c,
        Err(e) => {
            println!("PostgreSQL at TEST_DATABASE_URL unreachable: {e}");
            return None;
        }
    };
    tokio::spawn(conn);
    let name = format!("sfi_bench_{}", std::process::id());
    // One statement each: PostgreSQL runs a multi-statement query in one
    // transaction, where CREATE DATABASE is refused.
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        if let Err(e) = client.batch_execute(&sql).await {
            println!("PostgreSQL at TEST_DATABASE_URL: {sql} failed: {e}");
            return None;
        }
    }
    let mut url = url::Url::parse(&base).ok()?;
    url.set_path(&format!("/{name}"));
    Some(Database::Postgres(Secret::new(url.to_string())))
}

fn env_for(org: &FakeOrg, intercom: &FakeIntercom) -> HashMap<&'static str, String> {
    let mut env = common::env_for(org, SECRET);
    env.extend([
        ("INTERCOM_ACCESS_TOKEN", SANDBOX_INTERCOM_TOKEN.into()),
        ("INTERCOM_API_URL", intercom.url()),
        ("AUTO_TASKS", "on".into()),
    ]);
    env
}

/// Warm initialize requests per second, spread over `n` replicas.
async fn warm_renders(db: Database) {
    let fixtures = common::fixtures();
    let org = common::start_org().await;
    let intercom = FakeIntercom::start("127.0.0.1:0".parse().unwrap(), &fixtures)
        .await
        .unwrap();
    let env = env_for(&org, &intercom);
    let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let mut urls = Vec::new();
    for _ in 0..2 {
        let built = app::start(&config, Store::open(&db, "default").unwrap())
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        urls.push(format!(
            "http://{}/canvas/initialize",
            listener.local_addr().unwrap()
        ));
        tokio::spawn(async move { axum::serve(listener, built.router).await.unwrap() });
    }
    let body = sf_inbox::canvas::CanvasRequestBuilder::new("bench")
        .admin("1", None, Some("ruth@example.com"))
        .contact("user", Some("hana@globex.example"))
        .conversation("4711")
        .to_vec();
    let sig = sf_inbox::canvas::signature::sign_body(SECRET.as_bytes(), &body);
    let http = reqwest::Client::new();
    for n in [1usize, 2] {
        let targets = &urls[..n];
        // Warm every replica's cache first.
        for u in targets {
            http.post(u)
                .header("x-body-signature", &sig)
                .body(body.clone())
                .send()
                .await
                .unwrap();
        }
        let total = 2000;
        let started = Instant::now();
        let sem = Arc::new(tokio::sync::Semaphore::new(32));
        let mut handles = Vec::new();
        for i in 0..total {
            let permit = sem.clone().acquire_owned().await.unwrap();
            let req = http
                .post(&targets[i % n])
                .header("x-body-signature", &sig)
                .body(body.clone())
                .send();
            handles.push(tokio::spawn(async move {
                let r = req.await.unwrap();
                drop(permit);
                r.status()
            }));
        }
        for h in handles {
            assert_eq!(h.await.unwrap(), 200);
        }
        println!(
            "warm renders over loopback, {n} replica(s) on one PostgreSQL: {:.0}/s ({total} requests, 32 concurrent)",
            total as f64 / started.elapsed().as_secs_f64()
        );
    }
}

async fn run(backend: &str, db: Database) {
    println!("-- {backend}");
    let fixtures = common::fixtures();
    let org = common::start_org().await;
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
    let env = env_for(&org, &intercom);
    let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let built = app::start(&config, Store::open(&db, "default").unwrap())
        .await
        .unwrap();
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
        "webhook answer (signature checked, stored and committed): p50 {:?}, p99 {:?}, max {:?} over {SEQUENTIAL}",
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
}

async fn wait_drained(queue: &Store) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while queue.counts().await.unwrap().waiting() > 0 {
        assert!(Instant::now() < deadline, "queue did not drain");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
