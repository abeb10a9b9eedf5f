//! Several replicas on one database, one sandbox org with refresh-token
//! rotation on: webhooks spread over two apps make one Task per target; an
//! expiry during a burst of renders costs one refresh; the same form
//! submitted to both, after a crash or after a reset connection makes one
//! record; a late token answer keeps the org connected; a fault between two
//! targets' Tasks is finished by the retry and closed by the close; a job
//! parked while disconnected is done after the reconnect. The
//! single-process cases also run on SQLite.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use sf_inbox::app::{self, Extras};
use sf_inbox::canvas::signature::sign_body;
use sf_inbox::canvas::signature::sign_hub;
use sf_inbox::config::Database;
use sf_inbox::store::Store;
use sf_inbox::tasks::worker::{Fault, FaultPoint};
use sf_sandbox::intercom::{FakeIntercom, SANDBOX_INTERCOM_TOKEN};
use sf_sandbox::FakeOrg;

use crate::common::*;
use crate::pg;

const CREATED: &str = "conversation.user.created";
const CLOSED: &str = "conversation.admin.closed";
const TWIN1: &str = "00Q5e000001Twn1EAC";
const TWIN2: &str = "00Q5e000001Twn2EAC";

struct Replica {
    url: String,
    store: Store,
    server: tokio::task::JoinHandle<()>,
    worker: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.server.abort();
        if let Some(w) = &self.worker {
            w.abort();
        }
    }
}

impl Replica {
    /// Simulates `kill -9`: the server and worker stop mid-flight.
    fn kill(self) {
        drop(self);
    }

    async fn post(&self, path: &str, body: &Value) -> Value {
        let bytes = serde_json::to_vec(body).unwrap();
        let resp = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .header("x-body-signature", sign_body(SECRET.as_bytes(), &bytes))
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    async fn deliver(&self, id: &str, topic: &str, conversation: &str) {
        let body = serde_json::to_vec(&json!({
            "type": "notification_event", "app_id": "ws-test", "id": id, "topic": topic,
            "delivery_attempts": 1, "created_at": 1767000000,
            "data": {"type": "notification_event_data",
                     "item": {"type": "conversation", "id": conversation, "state": "open"}}
        }))
        .unwrap();
        let resp = reqwest::Client::new()
            .post(format!("{}/webhooks/intercom", self.url))
            .header("content-type", "application/json")
            .header("x-hub-signature", sign_hub(SECRET.as_bytes(), &body))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
}

async fn fakes() -> (FakeOrg, FakeIntercom) {
    let org = start_org().await;
    org.switches().set_rotation(true);
    let intercom = FakeIntercom::start("127.0.0.1:0".parse().unwrap(), &fixtures())
        .await
        .unwrap();
    (org, intercom)
}

async fn replica(
    org: &FakeOrg,
    intercom: &FakeIntercom,
    db: &Database,
    extras: Extras,
    overrides: &[(&str, &str)],
) -> Replica {
    let url = intercom.url();
    let mut all: Vec<(&str, &str)> = vec![
        ("INTERCOM_ACCESS_TOKEN", SANDBOX_INTERCOM_TOKEN),
        ("INTERCOM_API_URL", &url),
        ("INTERCOM_WORKSPACE_ID", "ws-test"),
        ("AUTO_TASKS", "on"),
    ];
    all.extend_from_slice(overrides);
    let config = config_for(org, &all);
    let store = Store::open(db, "ws-test").unwrap();
    store.ready().await.unwrap();
    let built = app::build_with(&config, store.clone(), extras).expect("app builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let router = built.router;
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Replica {
        url: format!("http://{addr}"),
        store,
        server,
        worker: built.worker,
    }
}

fn new_tasks(org: &FakeOrg) -> Vec<Map<String, Value>> {
    org.records("Task")
        .into_iter()
        .filter(|t| {
            t["Subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("Intercom "))
        })
        .collect()
}

fn leads_with(org: &FakeOrg, email: &str) -> usize {
    org.records("Lead")
        .iter()
        .filter(|r| {
            r["Email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .count()
}

/// Waits (polling, no fixed sleep) until `f` holds.
async fn until<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn drained(store: &Store) -> bool {
    store.counts().await.unwrap().waiting() == 0
}

#[tokio::test]
async fn two_hundred_webhooks_over_two_replicas_make_one_task_per_target() {
    let Some(db) = pg::fresh_database("200 webhooks").await else {
        return;
    };
    let (org, intercom) = fakes().await;
    let a = replica(&org, &intercom, &db, Extras::default(), &[]).await;
    let b = replica(&org, &intercom, &db, Extras::default(), &[]).await;
    // 100 notifications, each delivered to both replicas (Intercom retries
    // land anywhere): 200 webhooks over five conversations with six targets.
    let convs = ["4711", "4712", "4713", "4714", "4717"];
    let mut sends = Vec::new();
    for i in 0..100 {
        let conv = convs[i % convs.len()];
        let id = format!("n{i}");
        sends.push((id.clone(), conv));
    }
    futures::future::join_all(
        sends
            .iter()
            .flat_map(|(id, conv)| [a.deliver(id, CREATED, conv), b.deliver(id, CREATED, conv)]),
    )
    .await;
    until("both queues drained", || drained(&a.store)).await;
    let tasks = new_tasks(&org);
    let mut pairs: Vec<(String, String)> = tasks
        .iter()
        .map(|t| (t["Subject"].to_string(), t["WhoId"].to_string()))
        .collect();
    pairs.sort();
    let n = pairs.len();
    pairs.dedup();
    assert_eq!(n, pairs.len(), "a duplicate Task: {tasks:?}");
    assert_eq!(
        n, 6,
        "one per Lead/Contact of the five conversations: {tasks:?}"
    );
    assert_eq!(a.store.counts().await.unwrap().done, 100);
}

#[tokio::test]
async fn expired_tokens_during_a_burst_of_fifty_renders_over_two_replicas_cost_one_refresh() {
    let Some(db) = pg::fresh_database("burst").await else {
        return;
    };
    let (org, intercom) = fakes().await;
    let a = replica(&org, &intercom, &db, Extras::default(), &[]).await;
    let b = replica(&org, &intercom, &db, Extras::default(), &[]).await;
    let hana = person("user", Some("hana@globex.example"), None);
    // Both replicas connected: the second took the first's access token.
    a.post("/canvas/initialize", &hana).await;
    b.post("/canvas/initialize", &hana).await;
    assert_eq!(
        org.token_requests(),
        1,
        "the second replica used the stored token"
    );

    org.switches().expire_access_tokens();
    let before = org.token_requests();
    let people: Vec<Value> = (0..50)
        .map(|i| person("user", Some(&format!("p{i}@burst.example")), None))
        .collect();
    let answers = futures::future::join_all(people.iter().enumerate().map(|(i, p)| {
        let r = if i % 2 == 0 { &a } else { &b };
        r.post("/canvas/initialize", p)
    }))
    .await;
    for c in &answers {
        assert!(texts(c).contains("Not in Salesforce"), "{}", texts(c));
    }
    assert_eq!(
        org.token_requests() - before,
        1,
        "exactly one refresh across replicas"
    );
    // The rotated token is the one in the store, and it works.
    org.switches().expire_access_tokens();
    let c = b.post("/canvas/initialize", &hana).await;
    assert!(texts(&c).contains("Hana"), "{}", texts(&c));
}

fn newcomer(email: &str) -> Value {
    let mut b = person("lead", Some(email), Some("Łódź Widgets"));
    b["contact"]["name"] = json!("Zoë Nowak");
    b
}

async fn lead_form(r: &Replica, body: &Value) -> Value {
    let panel = r.post("/canvas/initialize", body).await;
    r.post(
        "/canvas/submit",
        &submit_from(body, &panel, "lead_open", json!({})),
    )
    .await
}

#[tokio::test]
async fn the_same_form_submitted_to_both_replicas_at_once_creates_one_lead() {
    let Some(db) = pg::fresh_database("same form").await else {
        return;
    };
    let (org, intercom) = fakes().await;
    let a = replica(&org, &intercom, &db, Extras::default(), &[]).await;
    let b = replica(&org, &intercom, &db, Extras::default(), &[]).await;
    let body = newcomer("both@lodz.example");
    // B has the person cached as not in Salesforce.
    let cached = b.post("/canvas/initialize", &body).await;
    assert!(texts(&cached).contains("Not in Salesforce"));
    let form = lead_form(&a, &body).await;
    let submit = submit_from(&body, &form, "lead_create", input_values(&form, &[]));
    let (x, y) = tokio::join!(
        a.post("/canvas/submit", &submit),
        b.post("/canvas/submit", &submit)
    );
    let created = [&x, &y]
        .iter()
        .filter(|c| texts(c).contains("created in Salesforce"))
        .count();
    assert!(created >= 1, "{} / {}", texts(&x), texts(&y));
    for c in [&x, &y] {
        let t = texts(c);
        assert!(
            t.contains("created in Salesforce") || t.contains("being created right now"),
            "{t}"
        );
    }
    // Submitted again to either: the same Lead.
    for r in [&a, &b] {
        let c = r.post("/canvas/submit", &submit).await;
        assert!(texts(&c).contains("created in Salesforce"), "{}", texts(&c));
    }
    assert_eq!(leads_with(&org, "both@lodz.example"), 1);
    // B's cache dropped the person when A wrote (NOTIFY).
    until("the new Lead shows on the other replica", || async {
        texts(&b.post("/canvas/initialize", &body).await).contains("Salesforce Lead")
    })
    .await;
}

/// A replica dies with a create in flight; the retry lands on the other.
#[tokio::test]
async fn a_submit_after_a_crash_mid_create_creates_one_lead() {
    for (name, db) in pg::backends("crash mid-create").await {
        let (org, intercom) = fakes().await;
        // The victim's hold on the key lapses at once (its process is gone).
        let victim_extras = Extras {
            ledger_lease: Some(Duration::ZERO),
            ..Extras::default()
        };
        let victim = replica(&org, &intercom, &db, victim_extras, &[]).await;
        let body = newcomer(&format!("crash-{name}@lodz.example"));
        let form = lead_form(&victim, &body).await;
        let submit = submit_from(&body, &form, "lead_create", input_values(&form, &[]));
        org.switches()
            .set_create_latency(Duration::from_millis(1500));
        let url = victim.url.clone();
        let bytes = serde_json::to_vec(&submit).unwrap();
        let sig = sign_body(SECRET.as_bytes(), &bytes);
        let in_flight = tokio::spawn(async move {
            let _ = reqwest::Client::new()
                .post(format!("{url}/canvas/submit"))
                .header("content-type", "application/json")
                .header("x-body-signature", sig)
                .body(bytes)
                .send()
                .await;
        });
        until("Salesforce saved the Lead", || async {
            leads_with(&org, &format!("crash-{name}@lodz.example")) == 1
        })
        .await;
        victim.kill();
        in_flight.abort();
        org.switches().set_create_latency(Duration::ZERO);

        let other = replica(&org, &intercom, &db, Extras::default(), &[]).await;
        let c = other.post("/canvas/submit", &submit).await;
        assert!(
            texts(&c).contains("created in Salesforce"),
            "{name}: {}",
            texts(&c)
        );
        assert_eq!(
            leads_with(&org, &format!("crash-{name}@lodz.example")),
            1,
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_submit_after_a_reset_connection_creates_one_lead() {
    for (name, db) in pg::backends("reset").await {
        let (org, intercom) = fakes().await;
        let a = replica(&org, &intercom, &db, Extras::default(), &[]).await;
        let email = format!("reset-{name}@lodz.example");
        let body = newcomer(&email);
        let form = lead_form(&a, &body).await;
        let submit = submit_from(&body, &form, "lead_create", input_values(&form, &[]));
        org.switches().set_reset_after_create(true);
        let first = a.post("/canvas/submit", &submit).await;
        assert!(
            !texts(&first).contains("created in Salesforce"),
            "{}",
            texts(&first)
        );
        assert_eq!(leads_with(&org, &email), 1, "Salesforce has it");
        org.switches().set_reset_after_create(false);
        // The retry (here after a restart, on a fresh replica) looks first.
        let b = replica(&org, &intercom, &db, Extras::default(), &[]).await;
        let again = b.post("/canvas/submit", &submit).await;
        assert!(
            texts(&again).contains("created in Salesforce"),
            "{name}: {}",
            texts(&again)
        );
        assert_eq!(leads_with(&org, &email), 1, "{name}: one Lead");
    }
}

#[tokio::test]
async fn a_late_token_answer_keeps_the_org_connected() {
    for (name, db) in pg::backends("late token").await {
        let (org, intercom) = fakes().await;
        // The render's deadline (and the client's timeout) is 2 s; the
        // token answer comes after 2.5 s, once Salesforce rotated it.
        let a = replica(&org, &intercom, &db, Extras::default(), &[]).await;
        org.switches()
            .set_token_latency(Duration::from_millis(2500));
        let hana = person("user", Some("hana@globex.example"), None);
        let first = a.post("/canvas/initialize", &hana).await;
        assert!(!texts(&first).contains("Reconnect"), "{}", texts(&first));
        until("the late answer is stored", || async {
            a.store
                .connection()
                .await
                .unwrap()
                .is_some_and(|c| c.generation == 1)
        })
        .await;
        org.switches().set_token_latency(Duration::ZERO);
        let c = a.post("/canvas/initialize", &hana).await;
        assert!(texts(&c).contains("Hana"), "{name}: {}", texts(&c));
        // The stored (rotated) token refreshes fine later: still connected.
        org.switches().expire_access_tokens();
        let b = replica(&org, &intercom, &db, Extras::default(), &[]).await;
        let c = b.post("/canvas/initialize", &hana).await;
        assert!(texts(&c).contains("Hana"), "{name}: {}", texts(&c));
    }
}

#[tokio::test]
async fn a_fault_between_two_leads_tasks_is_finished_and_both_are_completed_on_close() {
    for (name, db) in pg::backends("two leads").await {
        let (org, intercom) = fakes().await;
        let fired = Arc::new(AtomicBool::new(false));
        let flag = fired.clone();
        let fault: Fault = Arc::new(move |p| {
            p == FaultPoint::BetweenTargets && !flag.swap(true, Ordering::SeqCst)
        });
        let first = replica(
            &org,
            &intercom,
            &db,
            Extras {
                fault: Some(fault),
                job_lease: Some(Duration::ZERO),
                ..Extras::default()
            },
            &[],
        )
        .await;
        first.deliver("t1", CREATED, "4717").await;
        until("the fault fired", || async {
            first.worker.as_ref().unwrap().is_finished()
        })
        .await;
        assert_eq!(
            new_tasks(&org).len(),
            1,
            "{name}: the first Lead's Task only"
        );
        first.kill();

        let second = replica(&org, &intercom, &db, Extras::default(), &[]).await;
        until("the retry finished", || drained(&second.store)).await;
        second.deliver("t2", CLOSED, "4717").await;
        until("the close is done", || drained(&second.store)).await;
        let tasks = new_tasks(&org);
        let mut whos: Vec<_> = tasks
            .iter()
            .map(|t| t["WhoId"].as_str().unwrap().to_string())
            .collect();
        whos.sort();
        assert_eq!(whos, vec![TWIN1.to_string(), TWIN2.to_string()], "{name}");
        assert!(
            tasks.iter().all(|t| t["Status"] == "Completed"),
            "{name}: both completed: {tasks:?}"
        );
    }
}

#[tokio::test]
async fn a_job_parked_while_disconnected_is_done_after_the_reconnect() {
    for (name, db) in pg::backends("parked").await {
        let (org, intercom) = fakes().await;
        let a = replica(&org, &intercom, &db, Extras::default(), &[]).await;
        org.switches().revoke_refresh_tokens();
        a.deliver("p1", CREATED, "4713").await;
        until("parked", || async {
            a.store.counts().await.unwrap().failed == 1
        })
        .await;
        let reason = a.store.last_error("p1").await.unwrap().unwrap_or_default();
        assert!(!reason.is_empty(), "{name}: parked with its reason");
        // Intercom's redelivery is a duplicate; the job is not lost.
        a.deliver("p1", CREATED, "4713").await;
        assert!(new_tasks(&org).is_empty());
        a.kill();

        // An admin reconnects (the sandbox takes SALESFORCE_REFRESH_TOKEN
        // again) and the app restarts: the parked job is done.
        org.switches().reset();
        org.switches().set_rotation(true);
        let b = replica(&org, &intercom, &db, Extras::default(), &[]).await;
        until("the parked job is done", || async {
            b.store.counts().await.unwrap().done == 1
        })
        .await;
        assert_eq!(new_tasks(&org).len(), 1, "{name}");
    }
}
