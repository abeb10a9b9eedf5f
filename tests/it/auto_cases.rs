//! Automatic Salesforce Cases through the real webhook, worker, sandbox
//! org and sandbox Intercom: triggers, mappings, sync errors, one Case per
//! conversation, the Workflow action.

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use sf_inbox::config::Config;
use sf_inbox::settings::WorkspaceSettings;
use sf_inbox::store::{Store, SyncError, SyncKind};

use crate::common::{Notification, TestApp};

const CREATED: &str = "conversation.user.created";
const CLOSED: &str = "conversation.admin.closed";
const HANA_CONTACT: &str = "0035e000001HanaAAC";
const GLOBEX: &str = "0015e000001GlbxAAC";
const TOKEN: &str = "action-token-for-tests";

fn defaults() -> WorkspaceSettings {
    WorkspaceSettings::defaults(&Config::from_lookup(|_| None).unwrap())
}

async fn with_settings(app: &TestApp, toml: &str) {
    WorkspaceSettings::from_toml(toml, &defaults())
        .unwrap()
        .save(app.queue())
        .await
        .unwrap();
}

/// Automatic cases on. The sandbox's Case requires `Product__c`, so every
/// test maps "Product Area" to it (and 4711 has one).
fn on(keys: &str, mappings: &str) -> String {
    format!(
        "[auto_cases]\ncreate_on_start = true\nupdate_on_close = true\n{keys}\n\
         [[auto_cases.mappings]]\nintercom = \"Product Area\"\nsalesforce = \"Product__c\"\n{mappings}"
    )
}

async fn app_with(env: &[(&str, &str)], toml: &str) -> TestApp {
    let app = TestApp::builder()
        .workspace("ws-test")
        .env("ACTION_TOKEN", TOKEN)
        .envs(env)
        .spawn()
        .await;
    with_settings(&app, toml).await;
    app.intercom
        .set_attributes("4711", json!({"Product Area": "Billing"}));
    app
}

async fn drain(queue: &Store) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if queue.counts().await.unwrap().waiting() == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "queue did not drain");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The conversation's automatic-case sync error, if any.
async fn case_error(app: &TestApp, conversation: &str) -> Option<SyncError> {
    app.queue()
        .sync_error_for(SyncKind::AutoCase, conversation)
        .await
        .unwrap()
}

fn new_cases(app: &TestApp, before: usize) -> Vec<Map<String, Value>> {
    app.org.records("Case").into_iter().skip(before).collect()
}

#[tokio::test]
async fn a_contact_starting_a_conversation_gets_one_case_with_a_note() {
    let app = app_with(&[], &on("", "")).await;
    let before = app.org.records("Case").len();
    app.deliver(&Notification::new("n1", CREATED, "4711")).await;
    // Redelivered: still one Case.
    app.deliver(&Notification::new("n1", CREATED, "4711")).await;
    drain(app.queue()).await;
    let made = new_cases(&app, before);
    assert_eq!(
        made.len(),
        1,
        "{:?} {:?}",
        app.queue().sync_errors(None).await.unwrap(),
        app.queue().counts().await.unwrap()
    );
    let c = &made[0];
    assert_eq!(c["ContactId"], HANA_CONTACT);
    assert_eq!(c["AccountId"], GLOBEX);
    assert_eq!(c["Origin"], "Chat");
    assert!(
        c["Subject"]
            .as_str()
            .unwrap()
            .starts_with("Hi! Our CSV export of invoices"),
        "{c:?}"
    );
    assert!(c["Description"]
        .as_str()
        .unwrap()
        .contains("/inbox/conversation/4711"));
    let mapped = app.queue().case_for("4711").await.unwrap().unwrap();
    assert_eq!(mapped.case_id, c["Id"].as_str().unwrap());
    let number = c["CaseNumber"].as_str().unwrap();
    assert_eq!(mapped.case_number.as_deref(), Some(number));
    let notes = app.intercom.notes();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].conversation_id, "4711");
    assert!(notes[0].body.contains(number), "{:?}", notes[0]);
    assert!(notes[0].body.contains("/lightning/r/Case/"));
    // A second notification for the same conversation (a retried trigger).
    app.deliver(&Notification::new("n2", CREATED, "4711")).await;
    drain(app.queue()).await;
    assert_eq!(new_cases(&app, before).len(), 1);
    assert_eq!(app.intercom.notes().len(), 1, "the note is added once");
}

#[tokio::test]
async fn nothing_happens_unless_configured() {
    let app = app_with(&[], "").await;
    let before = app.org.records("Case").len();
    app.deliver(&Notification::new("n1", CREATED, "4711")).await;
    drain(app.queue()).await;
    assert_eq!(app.org.records("Case").len(), before);
    assert!(app.queue().sync_errors(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_lead_gets_no_case_and_a_sync_error_saying_why() {
    let app = app_with(&[], &on("", "")).await;
    let before = app.org.records("Case").len();
    app.deliver(&Notification::new("n1", CREATED, "4712")).await;
    drain(app.queue()).await;
    assert_eq!(app.org.records("Case").len(), before);
    let e = case_error(&app, "4712").await.expect("a sync error");
    assert_eq!(e.code, "NOT_A_CONTACT");
    assert!(e.message.contains("lena@initech.example"), "{e:?}");
    assert_eq!(e.attempted, "Create the conversation's Case");
    assert_eq!(e.attempts, 1, "not retried blindly");
    assert_eq!(app.queue().counts().await.unwrap().failed, 1);
}

#[tokio::test]
async fn close_updates_the_case_with_the_transcript_and_status_without_reassigning() {
    let app = app_with(&[], &on("close_status = \"Closed\"", "")).await;
    let before = app.org.records("Case").len();
    app.deliver(&Notification::new("n1", CREATED, "4711")).await;
    drain(app.queue()).await;
    let id = new_cases(&app, before)[0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    app.org.clear_requests();
    app.deliver(&Notification::new("n2", CLOSED, "4711")).await;
    drain(app.queue()).await;
    let c = app
        .org
        .records("Case")
        .into_iter()
        .find(|c| c["Id"] == id.as_str())
        .unwrap();
    assert_eq!(c["Status"], "Closed");
    let d = c["Description"].as_str().unwrap();
    assert!(
        d.starts_with("Transcript:") && d.contains("Chrome 131"),
        "{d}"
    );
    let patches: Vec<_> = app
        .org
        .requests()
        .into_iter()
        .flat_map(|r| r.calls())
        .filter(|c| c.method == "PATCH")
        .collect();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(patches[0].auto_assign.as_deref(), Some("FALSE"));
    // Reopened and closed again: updated again.
    app.deliver(&Notification::new("n3", CLOSED, "4711")).await;
    drain(app.queue()).await;
    let patches = app
        .org
        .requests()
        .into_iter()
        .flat_map(|r| r.calls())
        .filter(|c| c.method == "PATCH")
        .count();
    assert_eq!(patches, 2);
    assert_eq!(new_cases(&app, before).len(), 1);
}

#[tokio::test]
async fn close_without_a_status_leaves_the_status() {
    let app = app_with(&[], &on("", "")).await;
    let before = app.org.records("Case").len();
    app.deliver(&Notification::new("n1", CREATED, "4711")).await;
    drain(app.queue()).await;
    let status = new_cases(&app, before)[0]["Status"].clone();
    app.deliver(&Notification::new("n2", CLOSED, "4711")).await;
    drain(app.queue()).await;
    assert_eq!(new_cases(&app, before)[0]["Status"], status);
}

const MAPPINGS: &str = r#"
[[auto_cases.mappings]]
intercom = "Order Number"
salesforce = "Order_Number__c"
[[auto_cases.mappings]]
intercom = "Escalated"
salesforce = "IsEscalated"
[[auto_cases.mappings]]
intercom = "Due"
salesforce = "Due_Date__c"
[[auto_cases.mappings]]
intercom = "Case Type"
salesforce = "Type"
"#;

#[tokio::test]
async fn mapped_attributes_of_each_type_reach_the_case() {
    let app = app_with(&[], &on("", MAPPINGS)).await;
    app.intercom.set_attributes(
        "4711",
        json!({"Product Area": "Billing", "Order Number": 1234, "Escalated": true,
               "Due": 1764547200, "Case Type": "Invoice"}),
    );
    let before = app.org.records("Case").len();
    app.deliver(&Notification::new("n1", CREATED, "4711")).await;
    drain(app.queue()).await;
    let c = &new_cases(&app, before)[0];
    assert_eq!(c["Product__c"], "Billing");
    assert_eq!(c["Order_Number__c"].as_f64(), Some(1234.0));
    assert_eq!(c["IsEscalated"], true);
    assert_eq!(c["Due_Date__c"], "2025-12-01");
    assert_eq!(c["Type"], "Invoice");
}

#[tokio::test]
async fn a_bad_picklist_value_sends_nothing_and_names_attribute_and_field() {
    let app = app_with(&[], &on("", MAPPINGS)).await;
    app.intercom
        .set_attributes("4711", json!({"Case Type": "Billing question"}));
    let before = app.org.records("Case").len();
    app.deliver(&Notification::new("n1", CREATED, "4711")).await;
    drain(app.queue()).await;
    assert_eq!(app.org.records("Case").len(), before, "nothing half-valid");
    let e = case_error(&app, "4711").await.unwrap();
    assert_eq!(e.code, "BAD_VALUE");
    assert!(
        e.message.contains("Case Type") && e.message.contains("Type"),
        "{e:?}"
    );
    assert!(e.message.contains("Billing question"), "{e:?}");
    assert_eq!(e.fields, ["Type"]);
}

#[tokio::test]
async fn a_validation_rule_becomes_a_sync_error_and_retry_fixes_it() {
    let app = app_with(&[], &on("", MAPPINGS)).await;
    app.intercom
        .set_attributes("4711", json!({"Case Type": "Refund"}));
    let before = app.org.records("Case").len();
    app.deliver(&Notification::new("n1", CREATED, "4711")).await;
    drain(app.queue()).await;
    assert_eq!(app.org.records("Case").len(), before);
    let e = case_error(&app, "4711").await.unwrap();
    assert_eq!(e.code, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "{e:?}");
    assert_eq!(e.fields, ["Refund_Amount__c"]);
    // Fixed in Intercom (another type), then Retry: the Case is made and
    // the error is gone.
    app.intercom
        .set_attributes("4711", json!({"Case Type": "Invoice"}));
    assert!(app.queue().retry_sync_error(&e.id).await.unwrap());
    app.wake.as_ref().unwrap().notify_one();
    drain(app.queue()).await;
    assert_eq!(new_cases(&app, before).len(), 1);
    assert!(case_error(&app, "4711").await.is_none());
}

#[tokio::test]
async fn an_outage_is_retried_with_back_off_then_recovers() {
    let app = app_with(&[], &on("", "")).await;
    let before = app.org.records("Case").len();
    app.org.switches().fail_with(Some(503));
    app.deliver(&Notification::new("n1", CREATED, "4711")).await;
    // The first attempt fails and waits for its back-off.
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.queue().counts().await.unwrap().pending == 0
        || app.org.requests().iter().all(|r| r.status != 503)
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.org.records("Case").len(), before);
    app.org.switches().fail_with(None);
    app.advance_queue_clock(Duration::from_secs(60));
    drain(app.queue()).await;
    assert_eq!(new_cases(&app, before).len(), 1);
    assert!(app.queue().sync_errors(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn with_an_external_id_the_create_is_an_upsert_and_trigger_plus_action_make_one_case() {
    let app = app_with(
        &[(
            "SALESFORCE_CASE_EXTERNAL_ID_FIELD",
            "Intercom_Conversation_Id__c",
        )],
        &on("", ""),
    )
    .await;
    let before = app.org.records("Case").len();
    app.deliver(&Notification::new("n1", CREATED, "4711")).await;
    drain(app.queue()).await;
    let upserts: Vec<_> = app
        .org
        .requests()
        .into_iter()
        .flat_map(|r| r.calls())
        .filter(|c| {
            c.method == "PATCH" && c.path.contains("/Case/Intercom_Conversation_Id__c/4711")
        })
        .collect();
    assert_eq!(upserts.len(), 1, "{upserts:?}");
    let made = new_cases(&app, before);
    assert_eq!(made.len(), 1);
    assert_eq!(made[0]["Intercom_Conversation_Id__c"], "4711");
    // The Workflow action on the same conversation updates that Case.
    let v = action(&app, TOKEN, json!({"conversation_id": "4711"})).await;
    assert_eq!(v.1["status"], "updated", "{v:?}");
    assert_eq!(v.1["case_id"], made[0]["Id"]);
    assert_eq!(new_cases(&app, before).len(), 1);
}

async fn action(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let r = app
        .http
        .post(format!("{}/actions/salesforce-case", app.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_workflow_action_creates_then_updates_and_refuses_a_wrong_token() {
    let app = app_with(&[], &on("", MAPPINGS)).await;
    let before = app.org.records("Case").len();
    let (status, _) = action(&app, "wrong", json!({"conversation_id": "4711"})).await;
    assert_eq!(status, 401);
    let r = app
        .http
        .post(format!("{}/actions/salesforce-case", app.url))
        .json(&json!({"conversation_id": "4711"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(app.org.records("Case").len(), before);

    let (status, v) = action(
        &app,
        TOKEN,
        json!({"conversation_id": "4711", "attributes": {"Product Area": "Billing"}}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "created");
    let made = new_cases(&app, before);
    assert_eq!(made.len(), 1);
    assert_eq!(v["case_id"], made[0]["Id"]);
    assert_eq!(v["case_number"], made[0]["CaseNumber"]);
    assert!(v["case_url"].as_str().unwrap().ends_with(&format!(
        "/lightning/r/Case/{}/view",
        made[0]["Id"].as_str().unwrap()
    )));
    assert_eq!(made[0]["Product__c"], "Billing");
    // Retried by the Workflow, and a trigger for the same conversation: one Case.
    let (_, v) = action(
        &app,
        TOKEN,
        json!({"conversation_id": "4711", "attributes": {"Product Area": "Shipping"}}),
    )
    .await;
    assert_eq!(v["status"], "updated");
    app.deliver(&Notification::new("n1", CREATED, "4711")).await;
    drain(app.queue()).await;
    let made = new_cases(&app, before);
    assert_eq!(made.len(), 1);
    assert_eq!(made[0]["Product__c"], "Shipping");
    // A per-workspace token in the store (what the console rotates) works too.
    app.queue().set_action_token("rotated-token").await.unwrap();
    let (status, _) = action(&app, "rotated-token", json!({"conversation_id": "4711"})).await;
    assert_eq!(status, 200);
    // A Lead's conversation: refused with the reason, and a sync error.
    let (status, v) = action(&app, TOKEN, json!({"conversation_id": "4712"})).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["code"], "NOT_A_CONTACT");
    assert!(case_error(&app, "4712").await.is_some());
}

#[tokio::test]
async fn a_slow_salesforce_queues_the_action_and_the_queue_finishes_it() {
    let app = app_with(&[("SALESFORCE_TIMEOUT_MS", "500")], &on("", "")).await;
    let before = app.org.records("Case").len();
    app.org.switches().set_latency(Duration::from_millis(800));
    let (status, v) = action(&app, TOKEN, json!({"conversation_id": "4711"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "queued");
    app.org.switches().set_latency(Duration::ZERO);
    // Back-off on the queue's clock, not a sleep.
    for _ in 0..10 {
        app.advance_queue_clock(Duration::from_secs(300));
        if app.queue().counts().await.unwrap().waiting() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drain(app.queue()).await;
    assert_eq!(new_cases(&app, before).len(), 1);
}

#[tokio::test]
async fn the_sidebar_shows_the_conversations_case_and_its_error_with_retry() {
    use crate::common::{component_ids, person, submit_from, texts};
    let app = app_with(&[], &on("", "")).await;
    app.deliver(&Notification::new("n1", CREATED, "4711")).await;
    app.deliver(&Notification::new("n2", CREATED, "4712")).await;
    drain(app.queue()).await;
    let mapped = app.queue().case_for("4711").await.unwrap().unwrap();
    let number = mapped.case_number.clone().unwrap();

    let hana = person("user", Some("hana@globex.example"), None);
    let canvas = app.initialize(&hana).await;
    let t = texts(&canvas);
    assert!(t.contains("This conversation's case"), "{t}");
    assert!(t.contains(&number), "{t}");
    assert!(component_ids(&canvas).contains(&"auto_case_open".to_string()));

    let mut lena = person("user", Some("lena@initech.example"), None);
    lena["conversation"]["id"] = json!("4712");
    let canvas = app.initialize(&lena).await;
    let t = texts(&canvas);
    assert!(
        t.contains(
            "The automatic case wasn't created: lena@initech.example is not a Salesforce Contact"
        ),
        "{t}"
    );
    assert!(component_ids(&canvas).contains(&"auto_case_retry".to_string()));
    // Retry queues the work again (it fails the same way: still a Lead).
    let body = submit_from(&lena, &canvas, "auto_case_retry", json!({}));
    let after = app.submit(&body).await;
    let t = texts(&after);
    assert!(t.contains("Queued again at"), "{t}");
    drain(app.queue()).await;
    let e = case_error(&app, "4712").await.unwrap();
    assert_eq!(e.attempts, 2, "tried once more: {e:?}");
}

#[tokio::test]
async fn a_close_retried_after_an_uncertain_comment_adds_the_transcript_once() {
    let app = app_with(&[], &on("transcript = \"comment\"", "")).await;
    let before = app.org.records("Case").len();
    app.deliver(&Notification::new("n1", CREATED, "4711")).await;
    drain(app.queue()).await;
    let id = new_cases(&app, before)[0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let comments = |app: &TestApp| {
        app.org
            .records("CaseComment")
            .into_iter()
            .filter(|c| c["ParentId"] == id.as_str())
            .count()
    };
    // The comment is saved, then the connection drops unanswered: the
    // worker cannot know, and retries.
    app.org.switches().set_reset_after_create(true);
    app.deliver(&Notification::new("n2", CLOSED, "4711")).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while comments(&app) == 0 || app.queue().counts().await.unwrap().pending == 0 {
        assert!(
            Instant::now() < deadline,
            "the first try did not end uncertain"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.org.switches().set_reset_after_create(false);
    app.advance_queue_clock(Duration::from_secs(60));
    drain(app.queue()).await;
    assert_eq!(comments(&app), 1, "the retry found the comment it had made");
    // A later close (another job) adds its own.
    app.deliver(&Notification::new("n3", CLOSED, "4711")).await;
    drain(app.queue()).await;
    assert_eq!(comments(&app), 2);
}
