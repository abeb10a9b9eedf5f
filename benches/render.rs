//! `cargo bench`: the figures the live panels are held to, printed, never
//! asserted in tests (timings depend on the machine).
//!
//! - warm render time in-process (p50/p99), target p99 < 1 ms
//! - initialize requests per second over loopback, signatures checked
//! - Salesforce round trips per cold render, target 1; per warm render, 0
//! - Salesforce queries for 100 concurrent cold renders of one person, target 1

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sf_inbox::app;
use sf_inbox::canvas::signature::sign_body;
use sf_inbox::canvas::CanvasRequest;
use sf_inbox::config::Config;
use sf_inbox::store::TokenStore;
use sf_sandbox::FakeOrg;

const SECRET: &str = "bench-secret";

fn body(email: &str, workspace: &str) -> Value {
    json!({"workspace_id": workspace, "admin": {"id": "1", "email": "ruth@example.com"},
           "contact": {"role": "user", "email": email,
                       "companies": {"data": [{"name": "Globex Corporation"}]}},
           "conversation": {"id": "4711"}})
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let org = FakeOrg::start("127.0.0.1:0".parse().unwrap(), &fixtures)
        .await
        .unwrap();
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
        ("CACHE_TTL_SECS", "3600".into()),
    ]);
    let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let built = app::build(&config, TokenStore::memory()).unwrap();
    let sidebar = built.sidebar.clone();

    // Round trips per cold and warm render, over the people in the fixtures.
    let people = [
        "hana@globex.example",
        "lena@initech.example",
        "omar@umbrella.example",
        "priya@hooli.example",
        "solo@freelance.example",
        "nobody@nowhere.example",
    ];
    let req = |email: &str, ws: &str| -> CanvasRequest {
        serde_json::from_value(body(email, ws)).unwrap()
    };
    sidebar
        .initialize(&req("warmup@token.example", "auth"))
        .await; // token + currency, once
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for p in people {
        let before = org.api_calls();
        sidebar.initialize(&req(p, "w1")).await;
        cold.push(org.api_calls() - before);
        let before = org.api_calls();
        sidebar.initialize(&req(p, "w1")).await;
        warm.push(org.api_calls() - before);
    }
    println!("Salesforce round trips per cold render: {cold:?} (target 1 each)");
    println!("Salesforce round trips per warm render: {warm:?} (target 0 each)");

    // Warm render latency in-process.
    let hana = req("hana@globex.example", "w1");
    for _ in 0..1_000 {
        sidebar.initialize(&hana).await;
    }
    let mut samples = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        let t = Instant::now();
        let c = sidebar.initialize(&hana).await;
        std::hint::black_box(serde_json::to_vec(&c.into_response()).unwrap());
        samples.push(t.elapsed());
    }
    samples.sort();
    println!(
        "warm render in-process (render + serialise), 20000 runs: p50 {:?}, p99 {:?}, max {:?} (target p99 < 1 ms)",
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        samples.last().unwrap()
    );

    // 100 concurrent cold renders of one person.
    org.switches().set_latency(Duration::from_millis(50));
    let before = org.api_calls();
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let sidebar = sidebar.clone();
        let r = req("hana@globex.example", "burst");
        tasks.push(tokio::spawn(async move { sidebar.initialize(&r).await }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    println!(
        "100 concurrent cold renders of one person: {} Salesforce request(s) (target 1)",
        org.api_calls() - before
    );
    org.switches().set_latency(Duration::ZERO);

    // Requests per second over loopback, signature checked on each.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = built.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let payload = serde_json::to_vec(&body("hana@globex.example", "w1")).unwrap();
    let sig = sign_body(SECRET.as_bytes(), &payload);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let duration = Duration::from_secs(5);
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..32 {
        let (client, payload, sig, done) =
            (client.clone(), payload.clone(), sig.clone(), done.clone());
        let url = format!("http://{addr}/canvas/initialize");
        workers.push(tokio::spawn(async move {
            while start.elapsed() < duration {
                let r = client
                    .post(&url)
                    .header("x-body-signature", &sig)
                    .body(payload.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let n = done.load(Ordering::Relaxed);
    println!(
        "initialize over loopback (32 connections, signed, warm cache): {:.0} requests/s ({} in {:?})",
        n as f64 / start.elapsed().as_secs_f64(),
        n,
        start.elapsed()
    );
    org.shutdown().await;
}
