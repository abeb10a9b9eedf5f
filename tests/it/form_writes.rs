//! What a write costs and what it may do: Create Lead and New Case are each
//! one Salesforce round trip from submit to the refreshed panel (counted in
//! the sandbox's request log), every submit is re-checked against the
//! signed person's current records (forged submits, signed as Intercom
//! would), and a failure after which the record may exist makes the next
//! try look before it creates.

use crate::common;

use common::*;
use serde_json::{json, Value};

/// Salesforce REST round trips in the log (token calls are not REST calls).
fn round_trips(app: &TestApp) -> usize {
    app.org
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/services/data/"))
        .count()
}

/// Creates of `sobject`, sent alone or inside a composite.
fn creates(app: &TestApp, sobject: &str) -> usize {
    app.org
        .requests()
        .iter()
        .flat_map(|r| r.calls())
        .filter(|c| c.method == "POST" && c.path.contains(&format!("/sobjects/{sobject}/")))
        .count()
}

fn newcomer(email: &str) -> Value {
    let mut b = person("lead", Some(email), Some("Łódź Widgets"));
    b["contact"]["name"] = json!("Zoë Nowak");
    b
}

fn hana() -> Value {
    person("user", Some("hana@globex.example"), Some("Globex"))
}

#[tokio::test]
async fn create_lead_is_one_round_trip_from_submit_to_the_refreshed_panel() {
    let app = spawn().await;
    let body = newcomer("one-trip@lodz.example");
    let panel = app.initialize(&body).await;
    let form = app
        .submit(&submit_from(&body, &panel, "lead_open", json!({})))
        .await;
    let before = round_trips(&app);
    let done = app
        .submit(&submit_from(
            &body,
            &form,
            "lead_create",
            input_values(&form, &[]),
        ))
        .await;
    let t = texts(&done);
    assert!(t.contains("Lead Zoë Nowak** created in Salesforce"), "{t}");
    assert!(
        t.contains("Zoë Nowak") && !t.contains("Not in Salesforce"),
        "the panel under the banner shows the new Lead: {t}"
    );
    assert_eq!(
        round_trips(&app) - before,
        1,
        "submit to refreshed panel: {:?}",
        app.org.requests()[before..]
            .iter()
            .map(|r| &r.path)
            .collect::<Vec<_>>()
    );
    assert_eq!(creates(&app, "Lead"), 1);
    // The panel after it is a cache hit.
    let again = app.initialize(&body).await;
    assert!(texts(&again).contains("Zoë Nowak"));
    assert_eq!(round_trips(&app) - before, 1);
}

#[tokio::test]
async fn new_case_is_one_round_trip_from_submit_to_the_refreshed_panel() {
    let app = spawn().await;
    let body = hana();
    let panel = app.initialize(&body).await;
    assert!(texts(&panel).contains("3 open cases"));
    let form = app
        .submit(&submit_from(&body, &panel, "case_open", json!({})))
        .await;
    let before = round_trips(&app);
    let done = app
        .submit(&submit_from(
            &body,
            &form,
            "case_create",
            input_values(
                &form,
                &[("case_f_Subject", "One trip"), ("case_f_Product__c", "P")],
            ),
        ))
        .await;
    let case = app
        .org
        .records("Case")
        .into_iter()
        .find(|r| r["Subject"] == "One trip")
        .expect("the case exists");
    let t = texts(&done);
    assert!(
        t.contains(&format!("Case {}", case["CaseNumber"].as_str().unwrap())),
        "the banner names the case number: {t}"
    );
    assert!(t.contains("4 open cases"), "{t}");
    assert_eq!(case["AccountId"], "0015e000001GlbxAAC");
    assert_eq!(
        round_trips(&app) - before,
        1,
        "Contact, create, case number and refresh in one composite"
    );
}

#[tokio::test]
async fn a_forged_lead_create_for_an_existing_contact_creates_nothing() {
    let app = spawn().await;
    let body = hana();
    let panel = app.initialize(&body).await;
    assert!(!component_ids(&panel).contains(&"lead_create".to_string()));
    // Signed like Intercom, but the panel never offered it.
    let forged = submit_from(
        &body,
        &panel,
        "lead_create",
        json!({
            "lead_f_LastName": "Okafor",
            "lead_f_Email": "hana@globex.example",
            "lead_f_Company": "Globex"
        }),
    );
    let back = app.submit(&forged).await;
    let t = texts(&back);
    assert!(
        t.contains("already is a Salesforce Contact (Hana Okafor)"),
        "{t}"
    );
    assert_eq!(creates(&app, "Lead"), 0);
    assert!(app
        .org
        .records("Lead")
        .iter()
        .all(|r| r["Email"] != "hana@globex.example"));
    // Opening the form is refused the same way.
    let open = app
        .submit(&submit_from(&body, &panel, "lead_open", json!({})))
        .await;
    assert!(texts(&open).contains("already is a Salesforce Contact"));
}

#[tokio::test]
async fn a_forged_case_create_for_a_lead_is_refused() {
    let app = spawn().await;
    let body = person("lead", Some("lena@initech.example"), None);
    let panel = app.initialize(&body).await;
    let forged = submit_from(
        &body,
        &panel,
        "case_create",
        json!({"case_f_Subject": "Forged", "case_f_Product__c": "P"}),
    );
    let mut forged = forged;
    forged["current_canvas"]["stored_data"]["contact_id"] = json!("0035e000001HanaAAC");
    let back = app.submit(&forged).await;
    let t = texts(&back);
    assert!(
        t.contains("A case belongs to a Salesforce Contact, and this person is a Salesforce Lead"),
        "{t}"
    );
    assert_eq!(creates(&app, "Case"), 0);
}

#[tokio::test]
async fn after_a_5xx_the_retry_looks_before_it_creates() {
    let app = spawn().await;
    let body = newcomer("five-hundred@lodz.example");
    let panel = app.initialize(&body).await;
    let form = app
        .submit(&submit_from(&body, &panel, "lead_open", json!({})))
        .await;
    let submit = submit_from(&body, &form, "lead_create", input_values(&form, &[]));
    app.org.switches().fail_with(Some(503));
    let failed = app.submit(&submit).await;
    assert!(texts(&failed).contains("unavailable"), "{}", texts(&failed));
    app.org.switches().fail_with(None);
    app.org.clear_requests();
    let retry = app.submit(&submit).await;
    assert!(texts(&retry).contains("created in Salesforce"));
    let log = app.org.requests();
    assert!(
        log[0].path.ends_with("/query") && log[0].soql[0].contains("FROM Lead WHERE Email"),
        "the outcome was uncertain, so the retry looked first: {log:?}"
    );
    assert_eq!(creates(&app, "Lead"), 1);
    assert_eq!(
        app.org
            .records("Lead")
            .iter()
            .filter(|r| r["Email"] == "five-hundred@lodz.example")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_salesforce_refusal_is_definite_and_the_retry_creates_without_looking() {
    let app = spawn_with(&[(
        "SALESFORCE_CASE_FIELDS",
        "Type,Status,Reason,Origin,Priority,Refund_Amount__c",
    )])
    .await;
    let body = hana();
    let panel = app.initialize(&body).await;
    let form = app
        .submit(&submit_from(&body, &panel, "case_open", json!({})))
        .await;
    // The org's validation rule: a Refund case needs a refund amount.
    let refused = app
        .submit(&submit_from(
            &body,
            &form,
            "case_create",
            input_values(
                &form,
                &[
                    ("case_record_type", "0125e000000SbxBAAS"),
                    ("case_f_Subject", "Refund me"),
                    ("case_f_Product__c", "Toaster"),
                    ("case_f_Type", "Refund"),
                    // Billing's own Origin (the preset Chat is a Support one).
                    ("case_f_Origin", "Email"),
                ],
            ),
        ))
        .await;
    assert!(
        texts(&refused).contains("Enter the amount to refund"),
        "{}",
        texts(&refused)
    );
    assert_eq!(creates(&app, "Case"), 1);
    assert!(app
        .org
        .records("Case")
        .iter()
        .all(|r| r["Subject"] != "Refund me"));
    app.org.clear_requests();
    let done = app
        .submit(&submit_from(
            &body,
            &refused,
            "case_create",
            input_values(&refused, &[("case_f_Refund_Amount__c", "12.50")]),
        ))
        .await;
    assert!(
        texts(&done).contains("created in Salesforce"),
        "{}",
        texts(&done)
    );
    let log = app.org.requests();
    assert_eq!(log.len(), 1, "no look after a definite refusal: {log:?}");
    assert_eq!(creates(&app, "Case"), 1);
}
