//! Salesforce tasks from conversations, over loopback: the "New Salesforce
//! task" flow through `/canvas/submit`, and automatic tasks through signed
//! `/webhooks/intercom` notifications, the durable queue and the worker.
//! Assertions are on the sandbox org's records and request log.

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Map, Value};
use sf_inbox::canvas::signature::sign_hub;
use sf_inbox::store::Store;
use sf_inbox::tasks::worker::{Fault, FaultPoint};
use sf_sandbox::FakeOrg;

const INTEGRATION_USER: &str = "0055e000001IntgAAC";
const RUTH: &str = "0055e000001RuthAAC";
const MAYA: &str = "0055e000001MayaAAC";
const DEV: &str = "0055e000001DevSAAS";
const HANA: &str = "0035e000001HanaAAC";
const OMAR: &str = "0035e000001OmarAAC";
const OMAR_LEAD: &str = "00Q5e000001OmrLEAS";
const OMAR_OPP: &str = "0065e000001UmRoAAK";
const LENA: &str = "00Q5e000001LenaEAC";
const TWIN1: &str = "00Q5e000001Twn1EAC";
const TWIN2: &str = "00Q5e000001Twn2EAC";

type Row = Map<String, Value>;

/// Tasks the app made (the fixtures' own three are older and other subjects).
fn new_tasks(app_org: &FakeOrg) -> Vec<Row> {
    app_org
        .records("Task")
        .into_iter()
        .filter(|t| {
            t["Subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("Intercom "))
        })
        .collect()
}

fn who(t: &Row) -> &str {
    t["WhoId"].as_str().unwrap_or_default()
}

fn field<'a>(t: &'a Row, k: &str) -> Option<&'a str> {
    t.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The sidebar request of a conversation (the person as Intercom shows it).
fn sidebar_body(conversation: &str, email: Option<&str>) -> Value {
    let mut b = person("user", email, None);
    b["conversation"]["id"] = json!(conversation);
    b
}

/// Opens the picker, picks `choice` (the first option when `None`) and logs it.
async fn log_task(app: &TestApp, body: &Value, choice: Option<&str>) -> (Value, Value) {
    let start = app.initialize(body).await;
    assert!(
        find_component(&start, "task_new").is_some(),
        "the footer offers the task"
    );
    let picker = app
        .submit(&submit_from(body, &start, "task_new", json!({})))
        .await;
    let select = find_component(&picker, "task_choice").expect("a picker");
    let pick = choice
        .map(str::to_string)
        .unwrap_or_else(|| select["options"][0]["id"].as_str().unwrap().to_string());
    let result = app
        .submit(&submit_from(
            body,
            &picker,
            "task_create",
            json!({"task_choice": pick}),
        ))
        .await;
    (picker, result)
}

#[tokio::test]
async fn whole_conversation_on_a_contact_with_two_role_opportunities_has_no_what_id() {
    let app = spawn().await;
    let (picker, result) = log_task(
        &app,
        &sidebar_body("4711", Some("hana@globex.example")),
        None,
    )
    .await;
    let options = texts(&picker);
    assert!(
        options.contains("Whole conversation (4 messages)"),
        "{options}"
    );
    assert!(
        options.contains("Note · Ruth Teammate: Looks like the archive bug"),
        "{options}"
    );

    let tasks = new_tasks(&app.org);
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let t = &tasks[0];
    assert_eq!(who(t), HANA);
    assert_eq!(field(t, "Status"), Some("Completed"));
    assert_eq!(
        field(t, "Subject"),
        Some("Intercom conversation #4711 (logged)")
    );
    assert_eq!(
        field(t, "WhatId"),
        None,
        "Hana has two open role opportunities"
    );
    assert_eq!(
        field(t, "OwnerId"),
        Some(RUTH),
        "assigned to Ruth → her user"
    );
    let d = field(t, "Description").unwrap();
    assert!(d.contains("CSV export of invoices"), "{d}");
    assert!(
        d.contains("https://app.intercom.com/a/inbox/ws-test/inbox/conversation/4711"),
        "{d}"
    );
    let shown = texts(&result);
    assert!(shown.contains("Logged to Salesforce"), "{shown}");
    assert!(shown.contains("Hana Okafor · Contact"), "{shown}");
    let task_id = t["Id"].as_str().unwrap();
    assert!(
        serde_json::to_string(&result)
            .unwrap()
            .contains(&format!("/lightning/r/Task/{task_id}/view")),
        "links to the task"
    );
}

#[tokio::test]
async fn one_role_opportunity_relates_the_task_and_converted_leads_are_skipped() {
    let app = spawn().await;
    let (_, result) = log_task(
        &app,
        &sidebar_body("4713", Some("omar@umbrella.example")),
        Some("part:source"),
    )
    .await;
    let tasks = new_tasks(&app.org);
    assert_eq!(
        tasks.len(),
        1,
        "only the Contact, not the converted Lead: {tasks:?}"
    );
    let t = &tasks[0];
    assert_eq!(who(t), OMAR);
    assert_ne!(who(t), OMAR_LEAD);
    assert_eq!(field(t, "WhatId"), Some(OMAR_OPP));
    assert_eq!(field(t, "OwnerId"), Some(DEV));
    assert_eq!(
        field(t, "Subject"),
        Some("Intercom message in conversation #4713 (part source)")
    );
    assert!(field(t, "Description")
        .unwrap()
        .contains("clinic rollout to November"));
    assert!(texts(&result).contains("Related to their open opportunity"));
}

#[tokio::test]
async fn account_opportunities_without_a_role_do_not_relate_a_contact_task() {
    let app = spawn().await;
    // Tomás is a Globex Contact with no opportunity role (Globex has open ones).
    app.intercom.put_conversation(json!({
        "type": "conversation", "id": "4801", "state": "open", "admin_assignee_id": "814861",
        "created_at": 1767000000,
        "source": {"type": "conversation", "id": "9001", "body": "<p>Quick question on seats</p>",
                   "author": {"type": "user", "id": "ic-tomas", "name": "Tomás Ortega", "email": "tomas@globex.example"}},
        "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "ic-tomas"}]},
        "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [], "total_count": 0}
    }));
    log_task(
        &app,
        &sidebar_body("4801", Some("tomas@globex.example")),
        None,
    )
    .await;
    let tasks = new_tasks(&app.org);
    assert_eq!(tasks.len(), 1);
    assert_eq!(who(&tasks[0]), "0035e000001TomsAAC");
    assert_eq!(field(&tasks[0], "WhatId"), None);
    assert_eq!(field(&tasks[0], "OwnerId"), Some(MAYA));
}

#[tokio::test]
async fn several_leads_get_one_task_each_without_what_id_owned_by_the_integration_user() {
    let app = spawn().await;
    let (_, result) = log_task(&app, &sidebar_body("4717", Some("twins@dup.example")), None).await;
    let tasks = new_tasks(&app.org);
    let mut whos: Vec<_> = tasks.iter().map(|t| who(t).to_string()).collect();
    whos.sort();
    assert_eq!(whos, vec![TWIN1.to_string(), TWIN2.to_string()]);
    for t in &tasks {
        assert_eq!(field(t, "WhatId"), None, "a Lead's task has no WhatId");
        assert_eq!(
            field(t, "OwnerId"),
            Some(INTEGRATION_USER),
            "Nora has no Salesforce user"
        );
    }
    let shown = texts(&result);
    assert!(
        shown.contains("Alex Twin · Lead") && shown.contains("Alexis Twin · Lead"),
        "{shown}"
    );
    assert!(shown.contains("on 2 records"), "{shown}");
}

#[tokio::test]
async fn a_lead_task_has_no_what_id_and_the_assignee_owns_it() {
    let app = spawn().await;
    log_task(
        &app,
        &sidebar_body("4712", Some("lena@initech.example")),
        None,
    )
    .await;
    let tasks = new_tasks(&app.org);
    assert_eq!(tasks.len(), 1);
    assert_eq!(who(&tasks[0]), LENA);
    assert_eq!(field(&tasks[0], "WhatId"), None);
    assert_eq!(field(&tasks[0], "OwnerId"), Some(MAYA));
}

#[tokio::test]
async fn the_sandbox_refuses_a_what_id_on_a_lead_task_as_salesforce_does() {
    let app = spawn().await;
    let err = app
        .sidebar
        .client()
        .create(
            "Task",
            &json!({"Subject": "x", "Status": "Completed", "Priority": "Normal",
                    "WhoId": LENA, "WhatId": OMAR_OPP}),
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("FIELD_INTEGRITY_EXCEPTION"),
        "{err}"
    );
}

#[tokio::test]
async fn a_person_not_in_salesforce_becomes_a_lead_and_a_retry_duplicates_nothing() {
    let app = spawn().await;
    let body = sidebar_body("4715", Some("nobody@nowhere.example"));
    let (_, result) = log_task(&app, &body, None).await;
    let leads: Vec<_> = app
        .org
        .records("Lead")
        .into_iter()
        .filter(|l| l["Email"] == "nobody@nowhere.example")
        .collect();
    assert_eq!(leads.len(), 1);
    assert_eq!(field(&leads[0], "LastName"), Some("Nobody"));
    assert_eq!(field(&leads[0], "Company"), Some("nowhere.example"));
    assert!(texts(&result).contains("a Lead was created"));
    let tasks = new_tasks(&app.org);
    assert_eq!(tasks.len(), 1);
    assert_eq!(who(&tasks[0]), leads[0]["Id"].as_str().unwrap());

    // Logging the same thing again updates that Task.
    let again = app
        .submit(&submit_from(
            &body,
            &result,
            "task_create",
            json!({"task_choice": "conversation"}),
        ))
        .await;
    assert!(
        texts(&again).contains("Already logged: task updated"),
        "{}",
        texts(&again)
    );
    assert_eq!(new_tasks(&app.org).len(), 1);
    assert_eq!(
        app.org
            .records("Lead")
            .iter()
            .filter(|l| l["Email"] == "nobody@nowhere.example")
            .count(),
        1
    );
}

#[tokio::test]
async fn no_email_means_no_lead_and_says_why() {
    let app = spawn().await;
    let body = sidebar_body("4716", Some("someone@else.example"));
    let start = app.initialize(&body).await;
    let result = app
        .submit(&submit_from(
            &body,
            &start,
            "task_create",
            json!({"task_choice": "conversation"}),
        ))
        .await;
    assert!(
        texts(&result).contains("has no email address"),
        "{}",
        texts(&result)
    );
    assert!(new_tasks(&app.org).is_empty());
}

#[tokio::test]
async fn the_footer_offers_the_task_only_with_a_conversation_and_an_email() {
    let app = spawn().await;
    let mut body = sidebar_body("4711", Some("hana@globex.example"));
    body.as_object_mut().unwrap().remove("conversation");
    let c = app.initialize(&body).await;
    assert!(find_component(&c, "task_new").is_none());
}

#[tokio::test]
async fn a_failure_says_why_and_the_retry_creates_no_duplicate() {
    let app = spawn().await;
    let body = sidebar_body("4717", Some("twins@dup.example"));
    let start = app.initialize(&body).await;
    app.org.switches().fail_with(Some(503));
    let failed = app
        .submit(&submit_from(
            &body,
            &start,
            "task_create",
            json!({"task_choice": "part:source"}),
        ))
        .await;
    let shown = texts(&failed);
    assert!(shown.contains("Salesforce is unavailable"), "{shown}");
    assert!(find_component(&failed, "task_retry").is_some());
    assert_eq!(
        failed["canvas"]["stored_data"]["task_choice"],
        "part:source"
    );
    app.org.switches().fail_with(None);

    let ok = app
        .submit(&submit_from(&body, &failed, "task_retry", json!({})))
        .await;
    assert!(
        texts(&ok).contains("Logged to Salesforce"),
        "{}",
        texts(&ok)
    );
    let again = app
        .submit(&submit_from(&body, &failed, "task_retry", json!({})))
        .await;
    assert!(texts(&again).contains("Already logged"));
    assert_eq!(
        new_tasks(&app.org).len(),
        2,
        "one per Lead, however often retried"
    );
}

#[tokio::test]
async fn a_tampered_choice_is_checked_against_the_conversation() {
    let app = spawn().await;
    let body = sidebar_body("4711", Some("hana@globex.example"));
    let start = app.initialize(&body).await;
    let result = app
        .submit(&submit_from(
            &body,
            &start,
            "task_create",
            json!({"task_choice": "part:471201"}),
        ))
        .await;
    assert!(
        texts(&result).contains("isn't in this conversation"),
        "{}",
        texts(&result)
    );
    assert!(new_tasks(&app.org).is_empty());
}

// ---- automatic tasks --------------------------------------------------------

/// Waits until nothing is pending.
async fn drain(queue: &Store) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if queue.counts().await.unwrap().waiting() == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "queue did not drain");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const CREATED: &str = "conversation.user.created";
const CLOSED: &str = "conversation.admin.closed";

#[tokio::test]
async fn unsigned_and_mis_signed_notifications_are_refused() {
    let app = TestApp::builder().auto_tasks().spawn().await;
    let org = &app.org;
    let body = Notification::new("n1", CREATED, "4712").bytes();
    let bad = [
        None,
        Some(String::new()),
        Some(sign_hub(b"wrong secret", &body)),
        Some(sign_hub(SECRET.as_bytes(), b"another body")),
        Some(sign_hub(SECRET.as_bytes(), &body).replace("sha1=", "sha256=")),
        Some(sign_hub(SECRET.as_bytes(), &body).replace("sha1=", "")),
        Some("sha1=zz".to_string()),
    ];
    for sig in bad {
        let resp = app.post_hook(&body, sig.clone()).await;
        assert_eq!(resp.status(), 401, "{sig:?}");
    }
    let queue = app.queue.as_ref().unwrap();
    assert_eq!(
        queue.counts().await.unwrap(),
        Default::default(),
        "nothing stored"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(new_tasks(org).is_empty());
}

#[tokio::test]
async fn a_started_conversation_opens_a_task_and_closing_completes_it() {
    let app = TestApp::builder().auto_tasks().spawn().await;
    let org = &app.org;
    let queue = app.queue.as_ref().unwrap();
    assert_eq!(
        app.deliver(&Notification::new("n1", CREATED, "4712")).await["status"],
        "queued"
    );
    drain(queue).await;
    let tasks = new_tasks(org);
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let t = &tasks[0];
    assert_eq!(who(t), LENA);
    assert_eq!(field(t, "Subject"), Some("Intercom conversation #4712"));
    assert_eq!(field(t, "Status"), Some("In Progress"));
    assert_eq!(field(t, "OwnerId"), Some(MAYA));
    assert_eq!(field(t, "WhatId"), None);
    assert!(field(t, "Description").unwrap().contains("volume pricing"));
    let mapped = queue.tasks_for("4712").await.unwrap();
    assert_eq!(mapped.len(), 1);
    assert_eq!(mapped[0].task_id, t["Id"].as_str().unwrap());

    app.deliver(&Notification::new("n2", CLOSED, "4712")).await;
    drain(queue).await;
    let tasks = new_tasks(org);
    assert_eq!(tasks.len(), 1);
    let t = &tasks[0];
    assert_eq!(field(t, "Status"), Some("Completed"));
    let d = field(t, "Description").unwrap();
    assert!(
        d.contains("Transcript:") && d.contains("I'll send a quote today"),
        "{d}"
    );
    assert!(d.contains("https://app.intercom.com/a/inbox/ws-test/inbox/conversation/4712"));
    assert!(queue.tasks_for("4712").await.unwrap()[0].completed);
}

#[tokio::test]
async fn several_matching_leads_each_get_a_task_and_a_later_close_does_not_rewrite_them() {
    let app = TestApp::builder().auto_tasks().spawn().await;
    let org = &app.org;
    let queue = app.queue.as_ref().unwrap();
    app.deliver(&Notification::new("n1", CREATED, "4717")).await;
    app.deliver(&Notification::new("n2", CLOSED, "4717")).await;
    drain(queue).await;
    let tasks = new_tasks(org);
    assert_eq!(tasks.len(), 2);
    assert!(tasks
        .iter()
        .all(|t| field(t, "Status") == Some("Completed")));
    assert!(tasks
        .iter()
        .all(|t| field(t, "OwnerId") == Some(INTEGRATION_USER)));
    // Reopened and closed again: the tasks completed by the first close stay as they are.
    org.clear_requests();
    app.deliver(&Notification::new("n3", CLOSED, "4717")).await;
    drain(queue).await;
    // (The close looks the person's records up again, to finish any target
    // a fault left without its Task: a composite of queries only.)
    assert!(
        org.requests().iter().all(|r| r.method != "PATCH"
            && (r.method != "POST"
                || (r.path.ends_with("/composite") && r.soql.len() == r.subrequests))),
        "{:?}",
        org.requests()
    );
}

#[tokio::test]
async fn a_redelivered_notification_creates_no_second_task() {
    let app = TestApp::builder().auto_tasks().spawn().await;
    let org = &app.org;
    let queue = app.queue.as_ref().unwrap();
    assert_eq!(
        app.deliver(&Notification::new("n1", CREATED, "4711")).await["status"],
        "queued"
    );
    assert_eq!(
        app.deliver(&Notification::new("n1", CREATED, "4711")).await["status"],
        "duplicate"
    );
    drain(queue).await;
    assert_eq!(
        app.deliver(&Notification::new("n1", CREATED, "4711")).await["status"],
        "duplicate"
    );
    // A second notification of the same event with a new id.
    app.deliver(&Notification::new("n1-bis", CREATED, "4711"))
        .await;
    drain(queue).await;
    let tasks = new_tasks(org);
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(who(&tasks[0]), HANA);
    assert_eq!(field(&tasks[0], "WhatId"), None);
    assert_eq!(field(&tasks[0], "OwnerId"), Some(RUTH));
}

#[tokio::test]
async fn people_not_in_salesforce_get_no_automatic_task_or_lead() {
    let app = TestApp::builder().auto_tasks().spawn().await;
    let org = &app.org;
    let leads_before = org.records("Lead").len();
    app.deliver(&Notification::new("n1", CREATED, "4715")).await;
    app.deliver(&Notification::new("n2", CREATED, "4716")).await;
    drain(app.queue.as_ref().unwrap()).await;
    assert!(new_tasks(org).is_empty());
    assert_eq!(org.records("Lead").len(), leads_before);
    assert_eq!(app.queue.as_ref().unwrap().counts().await.unwrap().done, 2);
}

#[tokio::test]
async fn with_auto_tasks_off_notifications_make_no_tasks() {
    // The queue takes them (a workspace's settings may turn automatic
    // cases on), and the worker makes no Task.
    let app = TestApp::builder().workspace("ws-test").spawn().await;
    let org = &app.org;
    let v = app.deliver(&Notification::new("n1", CREATED, "4712")).await;
    assert_eq!(v["status"], "queued");
    drain(app.queue.as_ref().unwrap()).await;
    assert!(new_tasks(org).is_empty());
    assert_eq!(app.queue.as_ref().unwrap().counts().await.unwrap().done, 1);
}

#[tokio::test]
async fn salesforce_faults_are_retried_with_back_off() {
    let app = TestApp::builder().auto_tasks().spawn().await;
    let org = &app.org;
    let queue = app.queue.as_ref().unwrap();
    org.switches().fail_with(Some(503));
    app.deliver(&Notification::new("n1", CREATED, "4713")).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while queue.last_error("n1").await.unwrap().is_none() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        queue.counts().await.unwrap().waiting(),
        1,
        "kept for a retry"
    );
    org.switches().fail_with(None);
    // The first retry is due 2 s later: not before, by the queue's clock.
    let wait = queue.next_wait().await.unwrap().expect("a pending job");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(2),
        "not due yet: {wait:?}"
    );
    // Two seconds later (on the clock, not a sleep) it is due and retried.
    app.advance_queue_clock(Duration::from_secs(2));
    drain(queue).await;
    let tasks = new_tasks(org);
    assert_eq!(tasks.len(), 1);
    assert_eq!(who(&tasks[0]), OMAR);
    assert_eq!(field(&tasks[0], "WhatId"), Some(OMAR_OPP));
}

#[tokio::test]
async fn a_crash_between_create_and_commit_is_replayed_without_a_second_task() {
    let dir = std::env::temp_dir().join(format!(
        "sf-inbox-crash-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let db = format!("sqlite://{}", dir.join("tasks.db").display());
    let life = || {
        TestApp::builder()
            .auto_tasks()
            .env("DATABASE_URL", &db)
            .tokens(
                Store::open(&sf_inbox::config::Database::parse(&db).unwrap(), "default").unwrap(),
            )
    };

    // First life: the worker dies right after Salesforce created the first Task.
    let crashed = Arc::new(AtomicBool::new(false));
    let flag = crashed.clone();
    let fault: Fault =
        Arc::new(move |p| p == FaultPoint::AfterCreate && !flag.swap(true, Ordering::SeqCst));
    // Its claim on the job lapses at once (a dead worker's lease would
    // otherwise hold the job for two minutes).
    let first = life().fault(fault).job_lease(Duration::ZERO).spawn().await;
    let org = &first.org;
    first
        .deliver(&Notification::new("n1", CREATED, "4717"))
        .await;
    let worker = first.worker.as_ref().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !worker.is_finished() {
        assert!(Instant::now() < deadline, "the fault point fired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(crashed.load(Ordering::SeqCst));
    assert_eq!(new_tasks(org).len(), 1, "Salesforce has the first Task");
    let q = first.queue.clone().unwrap();
    assert!(
        q.tasks_for("4717").await.unwrap().is_empty(),
        "not committed locally"
    );
    assert_eq!(q.counts().await.unwrap().waiting(), 1);
    drop(q);
    let (org, intercom) = first.stop();

    // Second life on the same org and database: the notification is replayed.
    let second = life().org(org).intercom(intercom).spawn().await;
    let org = &second.org;
    let queue = second.queue.as_ref().unwrap();
    drain(queue).await;
    let tasks = new_tasks(org);
    assert_eq!(tasks.len(), 2, "one per Lead, not three: {tasks:?}");
    let mut whos: Vec<_> = tasks.iter().map(|t| who(t).to_string()).collect();
    whos.sort();
    assert_eq!(whos, vec![TWIN1.to_string(), TWIN2.to_string()]);
    assert_eq!(queue.tasks_for("4717").await.unwrap().len(), 2);

    // Intercom redelivers it too: still two.
    second
        .deliver(&Notification::new("n1", CREATED, "4717"))
        .await;
    drain(queue).await;
    assert_eq!(new_tasks(org).len(), 2);
    second.stop();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_webhook_answers_before_salesforce_work_is_done() {
    let app = TestApp::builder().auto_tasks().spawn().await;
    let org = &app.org;
    org.switches().set_latency(Duration::from_millis(1500));
    let v = app.deliver(&Notification::new("n1", CREATED, "4712")).await;
    assert_eq!(v["status"], "queued");
    // Answered, and Salesforce has not been written to yet.
    assert!(new_tasks(org).is_empty());
    org.switches().set_latency(Duration::ZERO);
}
