//! Create Lead and New Case over loopback: the app, the sandbox org and the
//! sandbox Intercom API, asserting on canvases, on what the org holds and
//! on the notes Intercom received.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::{json, Map, Value};

const ZOE: &str = "Zoë O'Brien-Łukasiewicz";

fn newcomer(email: Option<&str>, conversation: bool) -> Value {
    let mut b = person("lead", email, Some("Łódź Widgets"));
    b["contact"]["name"] = json!(ZOE);
    b["contact"]["phone"] = json!("+48 42 123 45 67");
    b["contact"]["owner_id"] = json!(814861);
    if !conversation {
        b.as_object_mut().unwrap().remove("conversation");
    }
    b
}

/// These tests exercise every kind of field the sandbox's Case describe
/// has (numbers, currency, percent, dates), so they show them all; the
/// default, compact field list has its own test.
const ALL_CASE_FIELDS: &[(&str, &str)] = &[(
    "SALESFORCE_CASE_FIELDS",
    "SuppliedEmail,Type,Status,Reason,Origin,Priority,Order_Number__c,Refund_Amount__c,Discount__c,Due_Date__c,Region__c",
)];

fn value_of<'a>(canvas: &'a Value, id: &str) -> &'a Value {
    &find_component(canvas, id).unwrap_or_else(|| panic!("no {id} in {canvas}"))["value"]
}

/// The error text right under a component, if any.
fn error_under(canvas: &Value, id: &str) -> Option<String> {
    let list = canvas["canvas"]["content"]["components"]
        .as_array()
        .unwrap();
    let i = list.iter().position(|c| c["id"] == id)?;
    let next = list.get(i + 1)?;
    (next["type"] == "text" && next["style"] == "error")
        .then(|| next["text"].as_str().unwrap().to_string())
}

/// Creates of `sobject`, sent alone or as a composite's subrequest.
fn create_calls(app: &TestApp, sobject: &str) -> Vec<sf_sandbox::LoggedCall> {
    app.org
        .requests()
        .iter()
        .flat_map(|r| r.calls())
        .filter(|c| c.method == "POST" && c.path.contains(&format!("/sobjects/{sobject}/")))
        .collect()
}

fn posts(app: &TestApp, sobject: &str) -> usize {
    create_calls(app, sobject).len()
}

fn leads_with(app: &TestApp, email: &str) -> Vec<Map<String, Value>> {
    app.org
        .records("Lead")
        .into_iter()
        .filter(|r| {
            r["Email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .collect()
}

async fn open_lead_form(app: &TestApp, body: &Value) -> Value {
    let panel = app.initialize(body).await;
    assert!(
        component_ids(&panel).contains(&"lead_open".to_string()),
        "{panel}"
    );
    app.submit(&submit_from(body, &panel, "lead_open", json!({})))
        .await
}

#[tokio::test]
async fn create_lead_prefills_from_intercom_and_shows_the_new_lead_at_once() {
    let app = spawn_with(ALL_CASE_FIELDS).await;
    let body = newcomer(Some("zoe@lodz.example"), true);
    let panel = app.initialize(&body).await;
    assert!(texts(&panel).contains("Not in Salesforce"));
    let form = open_lead_form(&app, &body).await;
    assert_eq!(value_of(&form, "lead_f_FirstName"), "Zoë");
    assert_eq!(value_of(&form, "lead_f_LastName"), "O'Brien-Łukasiewicz");
    assert_eq!(value_of(&form, "lead_f_Email"), "zoe@lodz.example");
    assert_eq!(value_of(&form, "lead_f_Phone"), "+48 42 123 45 67");
    assert_eq!(value_of(&form, "lead_f_Company"), "Łódź Widgets");
    assert!(
        texts(&form).contains("Owner: Salesforce's default"),
        "{}",
        texts(&form)
    );

    let done = app
        .submit(&submit_from(
            &body,
            &form,
            "lead_create",
            input_values(&form, &[("lead_f_Phone", "+48 42 000")]),
        ))
        .await;
    let t = texts(&done);
    assert!(t.contains(&format!("Lead {ZOE}")), "{t}");
    assert!(
        t.contains("Salesforce Lead"),
        "the Lead panel, not the cached not-found: {t}"
    );
    let rows = leads_with(&app, "zoe@lodz.example");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["FirstName"], "Zoë");
    assert_eq!(rows[0]["LastName"], "O'Brien-Łukasiewicz");
    assert_eq!(rows[0]["Company"], "Łódź Widgets");
    assert_eq!(rows[0]["Phone"], "+48 42 000", "the teammate's edit wins");
    assert_eq!(rows[0]["OwnerId"], "0055e000001IntgAAC");
}

#[tokio::test]
async fn create_lead_works_in_the_profile_context_too() {
    let app = spawn_with(ALL_CASE_FIELDS).await;
    let body = newcomer(Some("profile@lodz.example"), false);
    let form = open_lead_form(&app, &body).await;
    let done = app
        .submit(&submit_from(
            &body,
            &form,
            "lead_create",
            input_values(&form, &[]),
        ))
        .await;
    assert!(texts(&done).contains("Salesforce Lead"), "{}", texts(&done));
    assert_eq!(leads_with(&app, "profile@lodz.example").len(), 1);
}

#[tokio::test]
async fn without_an_email_the_action_says_why() {
    let app = spawn_with(ALL_CASE_FIELDS).await;
    let body = newcomer(None, true);
    let panel = app.initialize(&body).await;
    assert!(!component_ids(&panel).contains(&"lead_open".to_string()));
    assert!(
        texts(&panel).contains("Create Lead needs an email address"),
        "{}",
        texts(&panel)
    );
    // A stale canvas still cannot get a form.
    let again = app
        .submit(&submit_from(
            &body,
            &panel,
            "lead_create",
            json!({"lead_f_LastName": "X", "lead_f_Email": "x@y.example"}),
        ))
        .await;
    assert!(texts(&again).contains("A Lead needs an email address"));
    assert_eq!(posts(&app, "Lead"), 0);
}

#[tokio::test]
async fn empty_required_fields_go_out_as_the_placeholder() {
    for (overrides, expected) in [
        (vec![], "[not provided]"),
        (
            vec![("SALESFORCE_LEAD_PLACEHOLDER", "(unknown)")],
            "(unknown)",
        ),
    ] {
        let app = spawn_with(&overrides).await;
        let body = newcomer(Some("blank@lodz.example"), true);
        let form = open_lead_form(&app, &body).await;
        assert!(
            texts(&form).replace('\\', "").contains(expected),
            "{}",
            texts(&form)
        );
        // The first Create Lead says which fields would go out as the
        // placeholder and sends nothing; the second sends them.
        let typed = [
            ("lead_f_LastName", " "),
            ("lead_f_Company", ""),
            ("lead_f_FirstName", ""),
        ];
        let asked = app
            .submit(&submit_from(
                &body,
                &form,
                "lead_create",
                input_values(&form, &typed),
            ))
            .await;
        assert_eq!(
            posts(&app, "Lead"),
            0,
            "nothing sent before the teammate agrees"
        );
        let t = texts(&asked).replace('\\', "");
        assert!(
            t.contains(&format!(
                "Last Name and Company are empty: Salesforce requires them, so they will be sent as “{expected}”"
            )),
            "{t}"
        );
        assert!(t.contains(&format!("Create Lead with “{expected}”")), "{t}");
        let done = app
            .submit(&submit_from(
                &body,
                &asked,
                "lead_create",
                input_values(&asked, &[]),
            ))
            .await;
        assert!(
            texts(&done).contains("created in Salesforce"),
            "{}",
            texts(&done)
        );
        let rows = leads_with(&app, "blank@lodz.example");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["LastName"], expected);
        assert_eq!(rows[0]["Company"], expected);
        assert!(
            rows[0].get("FirstName").is_none_or(Value::is_null),
            "optional fields stay empty"
        );
    }
}

#[tokio::test]
async fn bad_lead_values_come_back_next_to_their_fields_and_nothing_is_sent() {
    let app = spawn_with(ALL_CASE_FIELDS).await;
    let body = newcomer(Some("typo@lodz.example"), true);
    let form = open_lead_form(&app, &body).await;
    let long = "Ł".repeat(81);
    let back = app
        .submit(&submit_from(
            &body,
            &form,
            "lead_create",
            input_values(
                &form,
                &[("lead_f_Email", "typo@"), ("lead_f_LastName", &long)],
            ),
        ))
        .await;
    assert_eq!(posts(&app, "Lead"), 0);
    assert!(error_under(&back, "lead_f_Email")
        .unwrap()
        .contains("valid email"));
    assert_eq!(
        error_under(&back, "lead_f_LastName").unwrap(),
        "At most 80 characters; this has 81."
    );
    assert_eq!(
        value_of(&back, "lead_f_LastName"),
        long.as_str(),
        "typed values are kept"
    );
    assert_eq!(value_of(&back, "lead_f_Email"), "typo@");
    assert_eq!(value_of(&back, "lead_f_Phone"), "+48 42 123 45 67");
    assert_eq!(
        back["canvas"]["stored_data"]["form_token"],
        form["canvas"]["stored_data"]["form_token"]
    );
}

#[tokio::test]
async fn a_double_submit_creates_one_lead() {
    let app = spawn_with(ALL_CASE_FIELDS).await;
    let body = newcomer(Some("twice@lodz.example"), true);
    let form = open_lead_form(&app, &body).await;
    let submit = submit_from(&body, &form, "lead_create", input_values(&form, &[]));
    let (a, b) = tokio::join!(app.submit(&submit), app.submit(&submit));
    for c in [&a, &b] {
        assert!(texts(c).contains("created in Salesforce"), "{}", texts(c));
    }
    // A retried request later: still the same Lead.
    let c = app.submit(&submit).await;
    assert!(texts(&c).contains("created in Salesforce"));
    assert_eq!(leads_with(&app, "twice@lodz.example").len(), 1);
    assert_eq!(posts(&app, "Lead"), 1);
}

#[tokio::test]
async fn a_lead_duplicate_rule_is_shown_and_the_form_kept() {
    let app = spawn_with(ALL_CASE_FIELDS).await;
    let body = newcomer(Some("race@lodz.example"), true);
    let first = open_lead_form(&app, &body).await;
    let second = open_lead_form(&app, &body).await;
    let ok = app
        .submit(&submit_from(
            &body,
            &second,
            "lead_create",
            input_values(&second, &[]),
        ))
        .await;
    assert!(texts(&ok).contains("created in Salesforce"));
    // The other form (another teammate, another token) now hits the rule.
    let dup = app
        .submit(&submit_from(
            &body,
            &first,
            "lead_create",
            input_values(&first, &[("lead_f_Company", "Typed Co")]),
        ))
        .await;
    let t = texts(&dup);
    assert!(
        t.contains("duplicate rules") && t.contains("Use one of these records?"),
        "{t}"
    );
    assert_eq!(value_of(&dup, "lead_f_Company"), "Typed Co");
    assert_eq!(leads_with(&app, "race@lodz.example").len(), 1);
}

#[tokio::test]
async fn maintained_ownership_follows_the_intercom_owner() {
    let app = spawn_with(&[ALL_CASE_FIELDS[0], ("SALESFORCE_MAINTAIN_OWNERSHIP", "on")]).await;
    let body = newcomer(Some("owned@lodz.example"), true);
    let form = open_lead_form(&app, &body).await;
    assert!(
        texts(&form)
            .contains("Owner: Maya Patel, their Intercom owner (maya.patel@acme-sales.example)"),
        "{}",
        texts(&form)
    );
    app.submit(&submit_from(
        &body,
        &form,
        "lead_create",
        input_values(&form, &[]),
    ))
    .await;
    let rows = leads_with(&app, "owned@lodz.example");
    assert_eq!(rows[0]["OwnerId"], "0055e000001MayaAAC");
    let create = create_calls(&app, "Lead").into_iter().next().unwrap();
    assert_eq!(create.auto_assign.as_deref(), Some("FALSE"));

    // An Intercom owner without an active Salesforce user: the default, said so.
    let mut nora = newcomer(Some("nora-owned@lodz.example"), true);
    nora["contact"]["owner_id"] = json!("814869");
    let form = open_lead_form(&app, &nora).await;
    assert!(
        texts(&form).contains("nora@example.com) has no active Salesforce user"),
        "{}",
        texts(&form)
    );
    app.submit(&submit_from(
        &nora,
        &form,
        "lead_create",
        input_values(&form, &[]),
    ))
    .await;
    assert_eq!(
        leads_with(&app, "nora-owned@lodz.example")[0]["OwnerId"],
        "0055e000001IntgAAC"
    );
}

// ---- New Case -------------------------------------------------------------

fn hana() -> Value {
    person(
        "user",
        Some("hana@globex.example"),
        Some("Globex Corporation"),
    )
}

async fn open_case_form(app: &TestApp, body: &Value) -> Value {
    let panel = app.initialize(body).await;
    assert!(
        component_ids(&panel).contains(&"case_open".to_string()),
        "{panel}"
    );
    app.submit(&submit_from(body, &panel, "case_open", json!({})))
        .await
}

fn cases_with_subject(app: &TestApp, subject: &str) -> Vec<Map<String, Value>> {
    app.org
        .records("Case")
        .into_iter()
        .filter(|r| r["Subject"] == subject)
        .collect()
}

#[tokio::test]
async fn new_case_is_only_offered_for_a_contact_in_a_conversation() {
    let app = spawn_with(ALL_CASE_FIELDS).await;
    let lena = person("lead", Some("lena@initech.example"), None);
    let panel = app.initialize(&lena).await;
    assert!(!component_ids(&panel).contains(&"case_open".to_string()));
    assert!(texts(&panel).contains("New Case needs a Salesforce Contact"));
    let refused = app
        .submit(&submit_from(&lena, &panel, "case_open", json!({})))
        .await;
    assert!(
        texts(&refused).contains("this person is a Salesforce Lead"),
        "{}",
        texts(&refused)
    );

    let unknown = person("user", Some("nobody@nowhere.example"), None);
    let panel = app.initialize(&unknown).await;
    assert!(texts(&panel).contains("New Case needs a Salesforce Contact"));
    let refused = app
        .submit(&submit_from(&unknown, &panel, "case_create", json!({})))
        .await;
    assert!(texts(&refused).contains("A case belongs to a Salesforce Contact"));

    let mut profile = hana();
    profile.as_object_mut().unwrap().remove("conversation");
    let panel = app.initialize(&profile).await;
    let refused = app
        .submit(&submit_from(&profile, &panel, "case_open", json!({})))
        .await;
    assert!(texts(&refused).contains("Create cases from a conversation"));
    assert_eq!(posts(&app, "Case"), 0);
}

#[tokio::test]
async fn the_case_form_is_built_from_the_describe() {
    let app = spawn_with(ALL_CASE_FIELDS).await;
    let form = open_case_form(&app, &hana()).await;
    let rt = find_component(&form, "case_record_type").unwrap();
    assert_eq!(rt["type"], "single-select");
    assert_eq!(
        rt["value"], "0125e000000SbxSAAS",
        "Support is the default mapping"
    );
    assert_eq!(value_of(&form, "case_f_Priority"), "Medium");
    assert_eq!(value_of(&form, "case_f_Status"), "New");
    assert_eq!(
        find_component(&form, "case_f_Product__c").unwrap()["label"],
        "Product *"
    );
    assert_eq!(
        find_component(&form, "case_f_Subject").unwrap()["label"],
        "Subject"
    );
    assert_eq!(
        find_component(&form, "case_f_Region__c").unwrap()["placeholder"],
        "Filled in by Salesforce when empty"
    );
    let description = value_of(&form, "case_f_Description").as_str().unwrap();
    assert!(
        description.contains("https://app.intercom.com/a/inbox/ws-test/inbox/conversation/4711"),
        "{description}"
    );
    assert!(!value_of(&form, "case_f_Subject")
        .as_str()
        .unwrap()
        .is_empty());
    assert!(texts(&form).contains("Owner: Salesforce's case assignment rules."));
    // Reason has 7 values + none: a dropdown; its options are the describe's.
    let reason = find_component(&form, "case_f_Reason").unwrap();
    assert_eq!(reason["type"], "dropdown");
    assert_eq!(reason["options"].as_array().unwrap().len(), 8);
}

#[tokio::test]
async fn by_default_the_case_form_shows_required_and_standard_fields_only() {
    let app = spawn().await;
    let form = open_case_form(&app, &hana()).await;
    let ids: Vec<String> = component_ids(&form)
        .into_iter()
        .filter(|id| id.starts_with("case_f_"))
        .collect();
    assert_eq!(
        ids,
        [
            "case_f_Product__c",
            "case_f_Subject",
            "case_f_Description",
            "case_f_Type",
            "case_f_Status",
            "case_f_Reason",
            "case_f_Origin",
            "case_f_Priority",
        ],
        "the required field first, then subject and description and the standard fields"
    );
    assert_eq!(
        value_of(&form, "case_f_Origin"),
        "Chat",
        "Origin preset from SALESFORCE_CASE_ORIGIN (default Chat)"
    );
    // Optional custom fields are not offered, and a field Salesforce fills
    // by formula is left to it.
    assert!(find_component(&form, "case_f_Refund_Amount__c").is_none());
    assert!(find_component(&form, "case_f_Region__c").is_none());

    // Creating from the compact form works: Salesforce fills the rest.
    let created = app
        .submit(&submit_from(
            &hana(),
            &form,
            "case_create",
            input_values(&form, &[("case_f_Product__c", "Invoicing")]),
        ))
        .await;
    assert!(
        texts(&created).contains("created in Salesforce"),
        "{}",
        texts(&created)
    );
    let case = cases_with_subject(&app, value_of(&form, "case_f_Subject").as_str().unwrap())
        .pop()
        .expect("the case exists");
    assert_eq!(
        case["Region__c"], "EMEA",
        "the formula default was left to Salesforce"
    );
}

#[tokio::test]
async fn a_case_is_created_linked_noted_and_counted_at_once() {
    let app = spawn_with(ALL_CASE_FIELDS).await;
    let body = hana();
    let before = app.initialize(&body).await;
    assert!(texts(&before).contains("3 open cases"));
    let form = open_case_form(&app, &body).await;
    let done = app
        .submit(&submit_from(
            &body,
            &form,
            "case_create",
            input_values(
                &form,
                &[
                    ("case_f_Subject", "Printer on fire"),
                    ("case_f_Product__c", "LaserJet 9000"),
                ],
            ),
        ))
        .await;
    let rows = cases_with_subject(&app, "Printer on fire");
    assert_eq!(rows.len(), 1);
    let case = &rows[0];
    let number = case["CaseNumber"].as_str().unwrap();
    let t = texts(&done);
    assert!(t.contains(&format!("Case {number}")), "{t}");
    assert!(
        t.contains("4 open cases"),
        "the panel counts the new case at once: {t}"
    );
    let link = find_component(&done, "open_created").unwrap()["action"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        link.ends_with(&format!(
            "/lightning/r/Case/{}/view",
            case["Id"].as_str().unwrap()
        )),
        "{link}"
    );
    assert_eq!(case["ContactId"], "0035e000001HanaAAC");
    assert_eq!(case["AccountId"], "0015e000001GlbxAAC");
    assert_eq!(case["RecordTypeId"], "0125e000000SbxSAAS");
    assert_eq!(case["Product__c"], "LaserJet 9000");
    assert_eq!(case["Priority"], "Medium");
    assert_eq!(
        case["Region__c"], "EMEA",
        "the formula default is Salesforce's to fill"
    );
    assert!(case.get("Sforce-Auto-Assign").is_none());
    let create = create_calls(&app, "Case").into_iter().next().unwrap();
    assert_eq!(create.auto_assign, None, "assignment rules run");

    let notes = app.intercom.notes();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].conversation_id, "4711");
    assert_eq!(notes[0].admin_id, "814860");
    assert!(
        notes[0].body.contains(number) && notes[0].body.contains(&link),
        "{}",
        notes[0].body
    );

    // The case list shows it too.
    let list = app
        .submit(&submit_from(&body, &done, "show_cases", json!({})))
        .await;
    assert!(
        texts(&list).contains(&format!("{number} · Printer on fire")),
        "{}",
        texts(&list)
    );
}

#[tokio::test]
async fn bad_case_values_are_caught_before_sending() {
    let app = spawn_with(ALL_CASE_FIELDS).await;
    let body = hana();
    let form = open_case_form(&app, &body).await;
    let back = app
        .submit(&submit_from(
            &body,
            &form,
            "case_create",
            input_values(
                &form,
                &[
                    ("case_f_Product__c", ""),
                    ("case_f_Order_Number__c", "12.5"),
                    ("case_f_Due_Date__c", "31/05/2026"),
                    ("case_f_SuppliedEmail", "zoë@"),
                    ("case_f_Discount__c", "1234%"),
                    ("case_f_Subject", &"s".repeat(256)),
                ],
            ),
        ))
        .await;
    assert_eq!(posts(&app, "Case"), 0);
    assert_eq!(
        error_under(&back, "case_f_Product__c").unwrap(),
        "Required in Salesforce."
    );
    assert_eq!(
        error_under(&back, "case_f_Order_Number__c").unwrap(),
        "Whole numbers only."
    );
    assert_eq!(
        error_under(&back, "case_f_Due_Date__c").unwrap(),
        "Use a date like 2026-05-31."
    );
    assert!(error_under(&back, "case_f_SuppliedEmail")
        .unwrap()
        .contains("valid email"));
    assert_eq!(
        error_under(&back, "case_f_Discount__c").unwrap(),
        "At most 3 digits before the decimal point."
    );
    assert!(error_under(&back, "case_f_Subject")
        .unwrap()
        .contains("255"));
    assert_eq!(value_of(&back, "case_f_Due_Date__c"), "31/05/2026");
    assert_eq!(value_of(&back, "case_f_SuppliedEmail"), "zoë@");
    assert!(texts(&back).contains("Nothing was sent to Salesforce yet"));
}

#[tokio::test]
async fn a_validation_rule_failure_lands_on_its_field_and_the_retry_creates_once() {
    let app = spawn_with(ALL_CASE_FIELDS).await;
    let body = hana();
    let form = open_case_form(&app, &body).await;
    // Billing's own Origin values (the preset Chat is a Support one).
    let typed = [
        ("case_record_type", "0125e000000SbxBAAS"),
        ("case_f_Subject", "Refund please"),
        ("case_f_Product__c", "Toaster"),
        ("case_f_Type", "Refund"),
        ("case_f_Origin", "Email"),
    ];
    let back = app
        .submit(&submit_from(
            &body,
            &form,
            "case_create",
            input_values(&form, &typed),
        ))
        .await;
    assert_eq!(
        error_under(&back, "case_f_Refund_Amount__c")
            .unwrap_or_else(|| panic!("no error under Refund Amount:\n{}", texts(&back))),
        "Salesforce: Enter the amount to refund for a refund case."
    );
    assert_eq!(value_of(&back, "case_f_Type"), "Refund");
    assert!(texts(&back).contains("Salesforce did not save this"));
    assert_eq!(value_of(&back, "case_f_Subject"), "Refund please");
    assert!(cases_with_subject(&app, "Refund please").is_empty());
    let done = app
        .submit(&submit_from(
            &body,
            &back,
            "case_create",
            input_values(&back, &[("case_f_Refund_Amount__c", "49.90")]),
        ))
        .await;
    assert!(
        texts(&done).contains("created in Salesforce"),
        "{}",
        texts(&done)
    );
    let rows = cases_with_subject(&app, "Refund please");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Refund_Amount__c"], 49.9);
}

#[tokio::test]
async fn a_record_type_brings_its_own_picklist_values() {
    let app = spawn_with(ALL_CASE_FIELDS).await;
    let body = hana();
    let form = open_case_form(&app, &body).await;
    let origin = find_component(&form, "case_f_Origin").unwrap();
    let ids: Vec<&str> = origin["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["_none", "Phone", "Email", "Web", "Chat"]);

    let billing = app
        .submit(&submit_from(
            &body,
            &form,
            "case_record_type",
            input_values(
                &form,
                &[
                    ("case_record_type", "0125e000000SbxBAAS"),
                    ("case_f_Product__c", "Invoices"),
                ],
            ),
        ))
        .await;
    assert_eq!(value_of(&billing, "case_record_type"), "0125e000000SbxBAAS");
    assert_eq!(
        value_of(&billing, "case_f_Product__c"),
        "Invoices",
        "typed values survive"
    );
    let origin = find_component(&billing, "case_f_Origin").unwrap();
    let ids: Vec<&str> = origin["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["_none", "Email", "Billing Portal"]);
    assert_eq!(
        origin["value"], "Billing Portal",
        "the record type's default"
    );
    assert_eq!(value_of(&billing, "case_f_Type"), "Invoice");
    assert_eq!(
        billing["canvas"]["stored_data"]["form_token"],
        form["canvas"]["stored_data"]["form_token"]
    );

    // A value of another record type (a forged input) is refused before sending.
    let forged = app
        .submit(&submit_from(
            &body,
            &billing,
            "case_create",
            input_values(
                &billing,
                &[
                    ("case_f_Origin", "Phone"),
                    ("case_f_Subject", "Billing question"),
                ],
            ),
        ))
        .await;
    assert!(error_under(&forged, "case_f_Origin")
        .unwrap()
        .starts_with("Pick one of"));
    assert_eq!(posts(&app, "Case"), 0);

    app.submit(&submit_from(
        &body,
        &billing,
        "case_create",
        input_values(&billing, &[("case_f_Subject", "Billing question")]),
    ))
    .await;
    let rows = cases_with_subject(&app, "Billing question");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["RecordTypeId"], "0125e000000SbxBAAS");
    assert_eq!(rows[0]["Origin"], "Billing Portal");
}

#[tokio::test]
async fn the_configured_record_type_is_preselected_by_name_or_id() {
    for (setting, notice) in [
        ("Billing", false),
        ("0125e000000SbxBAAS", false),
        ("Nope", true),
    ] {
        let app = spawn_with(&[ALL_CASE_FIELDS[0], ("SALESFORCE_CASE_RECORD_TYPE", setting)]).await;
        let form = open_case_form(&app, &hana()).await;
        let expected = if notice {
            "0125e000000SbxSAAS"
        } else {
            "0125e000000SbxBAAS"
        };
        assert_eq!(value_of(&form, "case_record_type"), expected, "{setting}");
        assert_eq!(texts(&form).contains("cannot use"), notice, "{setting}");
    }
}

#[tokio::test]
async fn the_teammate_can_own_the_case() {
    let app = spawn_with(&[ALL_CASE_FIELDS[0], ("SALESFORCE_CASE_OWNER", "teammate")]).await;
    let body = hana();
    let form = open_case_form(&app, &body).await;
    assert!(
        texts(&form).contains("Owner: you (Ruth Teammate in Salesforce)"),
        "{}",
        texts(&form)
    );
    app.submit(&submit_from(
        &body,
        &form,
        "case_create",
        input_values(
            &form,
            &[("case_f_Subject", "Mine"), ("case_f_Product__c", "P")],
        ),
    ))
    .await;
    let rows = cases_with_subject(&app, "Mine");
    assert_eq!(rows[0]["OwnerId"], "0055e000001RuthAAC");
    let create = create_calls(&app, "Case").into_iter().next().unwrap();
    assert_eq!(create.auto_assign.as_deref(), Some("FALSE"));

    let mut nora = hana();
    nora["admin"] = json!({"type": "admin", "id": "814869", "name": "Nora Newhire", "email": "nora@example.com"});
    let form = open_case_form(&app, &nora).await;
    assert!(
        texts(&form).contains("matches no active Salesforce user"),
        "{}",
        texts(&form)
    );
}

#[tokio::test]
async fn a_double_submit_creates_one_case_and_one_note() {
    let app = spawn_with(ALL_CASE_FIELDS).await;
    let body = hana();
    let form = open_case_form(&app, &body).await;
    let submit = submit_from(
        &body,
        &form,
        "case_create",
        input_values(
            &form,
            &[("case_f_Subject", "Once"), ("case_f_Product__c", "P")],
        ),
    );
    let (a, b) = tokio::join!(app.submit(&submit), app.submit(&submit));
    for c in [&a, &b] {
        assert!(texts(c).contains("created in Salesforce"), "{}", texts(c));
    }
    assert_eq!(cases_with_subject(&app, "Once").len(), 1);
    assert_eq!(posts(&app, "Case"), 1);
    assert_eq!(app.intercom.notes().len(), 1);
}

#[tokio::test]
async fn after_a_timeout_the_retry_finds_the_case_instead_of_creating_another() {
    let app = spawn_with(ALL_CASE_FIELDS).await;
    let body = hana();
    let form = open_case_form(&app, &body).await;
    let submit = submit_from(
        &body,
        &form,
        "case_create",
        input_values(
            &form,
            &[
                ("case_f_Subject", "Slow trigger"),
                ("case_f_Product__c", "P"),
            ],
        ),
    );
    // The org saves the case but answers after the app's 2 s deadline.
    app.org
        .switches()
        .set_create_latency(Duration::from_millis(3000));
    let timed_out = app.submit(&submit).await;
    let t = texts(&timed_out);
    assert!(t.contains("may or may not exist"), "{t}");
    assert_eq!(value_of(&timed_out, "case_f_Subject"), "Slow trigger");
    app.org.switches().set_create_latency(Duration::ZERO);
    assert_eq!(
        cases_with_subject(&app, "Slow trigger").len(),
        1,
        "the first try did create it"
    );

    let posted = posts(&app, "Case");
    let retry = app
        .submit(&submit_from(
            &body,
            &timed_out,
            "case_create",
            input_values(&timed_out, &[]),
        ))
        .await;
    assert!(
        texts(&retry).contains("created in Salesforce"),
        "{}",
        texts(&retry)
    );
    assert_eq!(
        cases_with_subject(&app, "Slow trigger").len(),
        1,
        "not created twice"
    );
    assert_eq!(
        posts(&app, "Case"),
        posted,
        "the retry looked the case up instead of posting"
    );
    assert_eq!(app.intercom.notes().len(), 1);
}

#[tokio::test]
async fn salesforce_faults_keep_the_form() {
    let app = spawn_with(ALL_CASE_FIELDS).await;
    let body = hana();
    let form = open_case_form(&app, &body).await;
    app.org.switches().set_api_limit(true);
    let back = app
        .submit(&submit_from(
            &body,
            &form,
            "case_create",
            input_values(
                &form,
                &[("case_f_Subject", "Limits"), ("case_f_Product__c", "P")],
            ),
        ))
        .await;
    assert!(
        texts(&back).contains("24-hour allowance"),
        "{}",
        texts(&back)
    );
    assert_eq!(value_of(&back, "case_f_Subject"), "Limits");
    app.org.switches().set_api_limit(false);
    assert!(cases_with_subject(&app, "Limits").is_empty());
}

#[tokio::test]
async fn the_contact_id_in_stored_data_is_not_trusted() {
    let app = spawn_with(ALL_CASE_FIELDS).await;
    let body = hana();
    let mut form = open_case_form(&app, &body).await;
    form["canvas"]["stored_data"]["contact_id"] = json!("0035e000001PryaAAC");
    let back = app
        .submit(&submit_from(
            &body,
            &form,
            "case_create",
            input_values(
                &form,
                &[("case_f_Subject", "Forged"), ("case_f_Product__c", "P")],
            ),
        ))
        .await;
    assert!(
        texts(&back).contains("Contact is Hana Okafor"),
        "{}",
        texts(&back)
    );
    assert_eq!(
        back["canvas"]["stored_data"]["contact_id"],
        "0035e000001HanaAAC"
    );
    assert!(cases_with_subject(&app, "Forged").is_empty());
    // Submitting the re-drawn form goes to Hana.
    app.submit(&submit_from(
        &body,
        &back,
        "case_create",
        input_values(&back, &[]),
    ))
    .await;
    assert_eq!(
        cases_with_subject(&app, "Forged")[0]["ContactId"],
        "0035e000001HanaAAC"
    );
}

#[tokio::test]
async fn the_case_form_reuses_the_panels_lookup_even_when_companies_come_as_ids() {
    let app = spawn().await;
    // As Intercom sends it: the company by id only.
    let mut body = hana();
    body["contact"]["id"] = json!("ic-hana");
    body["contact"]["companies"] = json!({"type": "list", "data": [
        {"type": "company", "id": "cmp-globex", "url": "/companies/cmp-globex"}]});
    let panel = app.initialize(&body).await;
    let composites = |app: &TestApp| {
        app.org
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/composite"))
            .count()
    };
    assert_eq!(composites(&app), 1);
    let form = app
        .submit(&submit_from(&body, &panel, "case_open", json!({})))
        .await;
    assert!(
        find_component(&form, "case_f_Subject").is_some(),
        "{}",
        texts(&form)
    );
    assert_eq!(
        composites(&app),
        1,
        "the form found the person in the panel's cache entry"
    );
}

#[tokio::test]
async fn a_field_named_by_a_salesforce_error_joins_the_form_with_the_error_under_it() {
    // The default form has no Refund Amount; the validation rule names it.
    let app = spawn().await;
    let body = hana();
    let form = open_case_form(&app, &body).await;
    assert!(find_component(&form, "case_f_Refund_Amount__c").is_none());
    // Billing + Refund (the Origin from Billing's own values).
    let typed = [
        ("case_record_type", "0125e000000SbxBAAS"),
        ("case_f_Subject", "Refund for the double charge"),
        ("case_f_Product__c", "Toaster"),
        ("case_f_Type", "Refund"),
        ("case_f_Origin", "Email"),
    ];
    let back = app
        .submit(&submit_from(
            &body,
            &form,
            "case_create",
            input_values(&form, &typed),
        ))
        .await;
    assert_eq!(
        error_under(&back, "case_f_Refund_Amount__c")
            .unwrap_or_else(|| panic!("no Refund Amount with its error:\n{}", texts(&back))),
        "Salesforce: Enter the amount to refund for a refund case."
    );
    for (id, v) in typed {
        assert_eq!(value_of(&back, id), v, "{id} kept");
    }
    assert!(texts(&back).contains("Salesforce did not save this"));
    assert!(cases_with_subject(&app, "Refund for the double charge").is_empty());

    // The added field stays on the form and its value is sent.
    let done = app
        .submit(&submit_from(
            &body,
            &back,
            "case_create",
            input_values(&back, &[("case_f_Refund_Amount__c", "12.50")]),
        ))
        .await;
    assert!(
        texts(&done).contains("created in Salesforce"),
        "{}",
        texts(&done)
    );
    let rows = cases_with_subject(&app, "Refund for the double charge");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Refund_Amount__c"], 12.5);
    assert_eq!(rows[0]["Type"], "Refund");
}
