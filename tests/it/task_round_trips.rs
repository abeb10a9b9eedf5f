//! "New Salesforce task" costs at most two Salesforce round trips from the
//! teammate's click to the result screen: one `/composite` to find the
//! people, their owner and the Tasks a retry would find, one `/composite`
//! of every write (the new Lead and its Task together). Counted in the
//! sandbox's request log.

use serde_json::{json, Value};

use crate::common::*;

fn sidebar_body(conversation: &str, email: &str) -> Value {
    let mut b = person("user", Some(email), None);
    b["conversation"]["id"] = json!(conversation);
    b
}

/// Opens the picker, then clears the log and logs the whole conversation:
/// the Salesforce data requests the click cost, and the result canvas.
async fn round_trips_of_logging(app: &TestApp, body: &Value) -> (Vec<String>, Value) {
    let start = app.initialize(body).await;
    let picker = app
        .submit(&submit_from(body, &start, "task_new", json!({})))
        .await;
    app.org.clear_requests();
    let result = app
        .submit(&submit_from(
            body,
            &picker,
            "task_create",
            json!({"task_choice": "conversation"}),
        ))
        .await;
    let calls = app
        .org
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/services/data/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    (calls, result)
}

fn app_tasks(app: &TestApp) -> usize {
    app.org
        .records("Task")
        .iter()
        .filter(|t| {
            t["Subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("Intercom "))
        })
        .count()
}

#[tokio::test]
async fn a_person_not_in_salesforce_costs_two_round_trips_lead_and_task_included() {
    let app = spawn().await;
    let (calls, result) =
        round_trips_of_logging(&app, &sidebar_body("4715", "nobody@nowhere.example")).await;
    assert!(
        texts(&result).contains("a Lead was created"),
        "{}",
        texts(&result)
    );
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert!(
        calls.iter().all(|c| c.ends_with("/composite")),
        "{calls:#?}"
    );
    assert_eq!(app_tasks(&app), 1);
    let lead = app
        .org
        .records("Lead")
        .into_iter()
        .find(|l| l["Email"] == "nobody@nowhere.example")
        .expect("the Lead was created");
    let task = app
        .org
        .records("Task")
        .into_iter()
        .find(|t| {
            t["Subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("Intercom "))
        })
        .unwrap();
    assert_eq!(task["WhoId"], lead["Id"], "the Task is on the new Lead");
}

#[tokio::test]
async fn two_leads_cost_two_round_trips_and_a_retry_updates_in_two() {
    let app = spawn().await;
    let body = sidebar_body("4717", "twins@dup.example");
    let (calls, result) = round_trips_of_logging(&app, &body).await;
    assert!(
        texts(&result).contains("on 2 records"),
        "{}",
        texts(&result)
    );
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!(app_tasks(&app), 2);

    // Logging it again finds both Tasks and updates them: still two.
    let (calls, again) = round_trips_of_logging(&app, &body).await;
    assert!(
        texts(&again).contains("Already logged: task updated"),
        "{}",
        texts(&again)
    );
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!(app_tasks(&app), 2, "no duplicate");
}
