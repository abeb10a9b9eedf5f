//! `cargo bench --bench workspaces`: what serving many workspaces costs.
//!
//! - warm render through the registry, the environment's workspace and an
//!   installed one (p50/p99, in-process): the registry's lookup on top of
//!   the sidebar's warm render
//! - an installed workspace's first render (tenant built from the store,
//!   its token refreshed, the lookup): time and Salesforce calls
//! - 50 installed workspaces' first renders at once: time and calls

use std::time::{Duration, Instant};

use chrono::Utc;
use sf_inbox::app;
use sf_inbox::canvas::{CanvasRequest, CanvasRequestBuilder};
use sf_inbox::config::{Config, Secret};
use sf_inbox::store::{ConnectionInfo, Store, WorkspaceRow};

mod common;

fn req(workspace: &str, email: &str) -> CanvasRequest {
    CanvasRequestBuilder::new(workspace)
        .region("us")
        .admin("1", Some("Ruth"), Some("ruth@example.com"))
        .contact("user", Some(email))
        .conversation("4711")
        .request()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Stores workspace `id` as installed and connected to the sandbox org.
async fn install(store: &Store, id: &str, org_url: &str) {
    store
        .save_workspace(&WorkspaceRow {
            workspace_id: id.to_string(),
            name: Some(format!("Bench {id}")),
            region: Some("us".into()),
            intercom_token: Some(Secret::new(sf_sandbox::intercom::SANDBOX_INTERCOM_TOKEN)),
            installed_by: Some("admin".into()),
            installed_at: Some(Utc::now()),
        })
        .await
        .unwrap();
    store
        .for_workspace(id)
        .connect(
            &ConnectionInfo {
                login_url: Some(org_url.to_string()),
                instance_url: Some(org_url.to_string()),
                org_id: Some(sf_sandbox::SANDBOX_ORG_ID.into()),
                user_id: None,
                username: None,
                connected_at: Some(Utc::now()),
                last_ok_at: None,
                last_error: None,
            },
            &Secret::new(sf_sandbox::SANDBOX_REFRESH_TOKEN),
        )
        .await
        .unwrap();
}

async fn warm(label: &str, registry: &sf_inbox::workspaces::Registry, r: &CanvasRequest) {
    for _ in 0..1_000 {
        registry.initialize(r).await;
    }
    let mut samples = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        let t = Instant::now();
        std::hint::black_box(registry.initialize(r).await.into_bytes());
        samples.push(t.elapsed());
    }
    samples.sort();
    println!(
        "warm render through the registry, {label}, 20000 runs: p50 {:?}, p99 {:?}",
        percentile(&samples, 0.50),
        percentile(&samples, 0.99)
    );
}

#[tokio::main]
async fn main() {
    let org = common::start_org().await;
    // Every bench workspace connects with the same refresh token (a real
    // connect mints one each): without rotation one token serves them all.
    org.switches().set_rotation(false);
    let mut env = common::env_for(&org, "bench-secret");
    env.insert("CACHE_TTL_SECS", "3600".into());
    env.insert("INTERCOM_CLIENT_ID", "bench-client".into());
    env.insert("INTERCOM_WORKSPACE_ID", "ws-env".into());
    let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let store = Store::memory();
    let built = app::start(&config, store.clone()).await.unwrap();
    let registry = built.registry.clone();
    let hana = "hana@globex.example";

    // The same render without the registry, for comparison.
    let sidebar = built.sidebar.clone();
    let env_req = req("ws-env", hana);
    for _ in 0..1_000 {
        sidebar.initialize_answer(&env_req).await;
    }
    let mut samples = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        let t = Instant::now();
        std::hint::black_box(sidebar.initialize_answer(&env_req).await.into_bytes());
        samples.push(t.elapsed());
    }
    samples.sort();
    println!(
        "warm render by the sidebar alone (no registry), 20000 runs: p50 {:?}, p99 {:?}",
        percentile(&samples, 0.50),
        percentile(&samples, 0.99)
    );
    warm("the environment's workspace", &registry, &env_req).await;

    install(&store, "ws-1", &org.url()).await;
    let before = org.api_calls() + org.token_requests();
    let t = Instant::now();
    let first = registry.initialize(&req("ws-1", hana)).await.into_bytes();
    assert!(
        String::from_utf8_lossy(&first).contains("Hana Okafor"),
        "the installed workspace's panel"
    );
    println!(
        "an installed workspace's first render (tenant from the store, token, lookup): {:?}, {} Salesforce calls (token + lookup)",
        t.elapsed(),
        org.api_calls() + org.token_requests() - before
    );
    warm("an installed workspace", &registry, &req("ws-1", hana)).await;

    for i in 0..50 {
        install(&store, &format!("ws-many-{i}"), &org.url()).await;
    }
    let before = org.api_calls() + org.token_requests();
    let t = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let registry = registry.clone();
        tasks.push(tokio::spawn(async move {
            let answer = registry
                .initialize(&req(&format!("ws-many-{i}"), hana))
                .await
                .into_bytes();
            assert!(String::from_utf8_lossy(&answer).contains("Hana Okafor"));
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    println!(
        "50 installed workspaces' first renders at once: {:?}, {} Salesforce calls (one token and one lookup each: their caches are their own)",
        t.elapsed(),
        org.api_calls() + org.token_requests() - before
    );
    org.shutdown().await;
}
