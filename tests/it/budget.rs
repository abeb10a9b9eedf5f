//! The API budget against the sandbox org: every Salesforce answer counts
//! one call of this app and carries the org's `Sforce-Limit-Info`; past the
//! background share of the cap (or of the org's limit) the task worker
//! waits, while the sidebar goes on answering.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sf_inbox::app;
use sf_inbox::budget::{Gate, Held, Policy};
use sf_inbox::store::Store;
use sf_inbox::tasks::worker::{Worker, TOPIC_CREATED};
use sf_sandbox::intercom::{FakeIntercom, SANDBOX_INTERCOM_TOKEN};

use crate::common::{config_for, fixtures, person, start_org, texts, Signed};

struct Running {
    app: app::App,
    url: String,
    org: sf_sandbox::FakeOrg,
    _intercom: FakeIntercom,
}

async fn start() -> Running {
    let org = start_org().await;
    let intercom = FakeIntercom::start("127.0.0.1:0".parse().unwrap(), &fixtures())
        .await
        .unwrap();
    let ic_url = intercom.url();
    let config = config_for(
        &org,
        &[
            ("INTERCOM_ACCESS_TOKEN", SANDBOX_INTERCOM_TOKEN),
            ("INTERCOM_API_URL", &ic_url),
        ],
    );
    let app = app::build(&config, Store::memory()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = sf_inbox::edge::traced(app.router.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Running {
        app,
        url,
        org,
        _intercom: intercom,
    }
}

async fn render(url: &str, email: &str) -> Value {
    let (body, sig) = Signed::canvas(&person("user", Some(email), None));
    let resp = reqwest::Client::new()
        .post(format!("{url}/canvas/initialize"))
        .header("content-type", "application/json")
        .header("x-body-signature", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn every_salesforce_answer_counts_and_carries_the_org_usage() {
    let r = start().await;
    render(&r.url, "hana@globex.example").await;
    render(&r.url, "priya@hooli.example").await;
    let today = r.app.budget.today().await.unwrap();
    let made = r.org.api_calls() as u64;
    assert!(made >= 2, "two cold renders called the org");
    assert_eq!(today.app_calls, made, "every answer counted once");
    let org = today.org.expect("Sforce-Limit-Info was read");
    assert_eq!((org.used, org.limit), (made, 15000));
    // A warm render calls nothing and counts nothing.
    render(&r.url, "hana@globex.example").await;
    assert_eq!(r.app.budget.today().await.unwrap().app_calls, made);
    // Durable: the store has it, for any process on the same database.
    let day = sf_inbox::budget::day_of(chrono::Utc::now());
    assert_eq!(
        r.app.store.api_usage_on(&day).await.unwrap().app_calls,
        made
    );
}

#[tokio::test]
async fn past_the_share_background_work_waits_and_the_sidebar_does_not() {
    let r = start().await;
    let budget = r.app.budget.clone();
    budget.set_policy(Policy {
        daily_cap: 4,
        background_share: 50,
    });
    let store = r.app.store.clone();
    let worker = Worker::new(
        r.app.tasks.clone(),
        store.clone(),
        Arc::new(tokio::sync::Notify::new()),
    )
    .with_budget(budget.clone());
    // Two calls: the background share of a cap of 4.
    render(&r.url, "hana@globex.example").await;
    render(&r.url, "priya@hooli.example").await;
    // Queued once the gate is closed (the app's own worker is held too).
    assert!(store
        .enqueue("n-1", TOPIC_CREATED, "4711", Some("ws-test"), b"{}")
        .await
        .unwrap());
    assert!(matches!(
        budget.background().await.unwrap(),
        Gate::Wait {
            why: Held::Cap { allowed: 2, .. },
            ..
        }
    ));
    assert!(!worker.run_once().await.unwrap(), "the job waits");
    assert_eq!(store.counts().await.unwrap().pending, 1);
    // The sidebar is never refused: a cold render past the whole cap.
    render(&r.url, "tony@stark.example").await;
    render(&r.url, "solo@freelance.example").await;
    let canvas = render(&r.url, "lena@initech.example").await;
    assert!(texts(&canvas).contains("Lena"), "{}", texts(&canvas));
    assert!(budget.today().await.unwrap().app_calls >= 5);
    // The next UTC day the job runs.
    store.clock().advance(Duration::from_secs(24 * 3600));
    assert_eq!(budget.background().await.unwrap(), Gate::Go);
    // Whichever worker takes it (this one or the app's), it is done.
    let _ = worker.run_once().await.unwrap();
    let mut counts = store.counts().await.unwrap();
    for _ in 0..200 {
        if counts.done == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        counts = store.counts().await.unwrap();
    }
    assert_eq!((counts.waiting(), counts.done), (0, 1), "{counts:?}");
}

#[tokio::test]
async fn a_busy_org_holds_background_work_until_its_usage_drops() {
    let r = start().await;
    let budget = r.app.budget.clone();
    // No cap of our own: the org's usage alone holds background work.
    assert_eq!(budget.policy().daily_cap, 0);
    r.org.switches().set_other_api_usage(12_500);
    render(&r.url, "hana@globex.example").await;
    let gate = budget.background().await.unwrap();
    assert!(
        matches!(
            gate,
            Gate::Wait {
                why: Held::Org { limit: 15000, .. },
                ..
            }
        ),
        "{gate:?}"
    );
    // Other apps' calls roll out of Salesforce's window.
    r.org.switches().set_other_api_usage(100);
    render(&r.url, "priya@hooli.example").await;
    assert_eq!(budget.background().await.unwrap(), Gate::Go);
}
