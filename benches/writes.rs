//! `cargo bench --bench writes`: Salesforce round trips per write, from
//! the submit to the refreshed panel (target 1 each for Create Lead and
//! New Case; the panel before it is warm, as when the teammate opened the
//! form from it). Counted by the sandbox org, printed, never asserted.

use serde_json::{json, Value};
use sf_inbox::app;
use sf_inbox::canvas::{CanvasRequest, CanvasRequestBuilder};
use sf_inbox::config::Config;
use sf_inbox::store::Store;

mod common;

fn request(v: Value) -> CanvasRequest {
    CanvasRequestBuilder::on(&v).request()
}

fn person(role: &str, email: &str, name: &str) -> Value {
    CanvasRequestBuilder::new("bench")
        .region("us")
        .admin("814860", Some("Ruth Teammate"), Some("ruth@example.com"))
        .contact(role, Some(email))
        .contact_id("ic-1")
        .name(name)
        .conversation("4711")
        .build()
}

/// The submit of `component` on `canvas` (its stored data), with `inputs`.
fn submit(
    person: &Value,
    canvas: &sf_inbox::canvas::Canvas,
    component: &str,
    inputs: Value,
) -> CanvasRequest {
    CanvasRequestBuilder::on(person)
        .submit(component, serde_json::to_value(canvas).unwrap(), inputs)
        .request()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let org = common::start_org().await;
    let mut env = common::env_for(&org, "bench-secret");
    env.insert("CACHE_TTL_SECS", "3600".into());
    let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let built = app::build(&config, Store::memory()).unwrap();
    let sidebar = built.sidebar.clone();

    let mut lead_trips = Vec::new();
    let mut case_trips = Vec::new();
    for i in 0..5 {
        // Create Lead for a newcomer.
        let p = person("lead", &format!("bench-{i}@writes.example"), "Bench Person");
        sidebar.initialize(&request(p.clone())).await;
        let form = sidebar
            .submit(&submit(
                &p,
                &sidebar.initialize(&request(p.clone())).await,
                "lead_open",
                json!({}),
            ))
            .await;
        let inputs = json!({"lead_f_LastName": "Person", "lead_f_FirstName": "Bench",
                            "lead_f_Email": format!("bench-{i}@writes.example"), "lead_f_Company": "Writes"});
        let before = org.api_calls();
        sidebar
            .submit(&submit(&p, &form, "lead_create", inputs))
            .await;
        lead_trips.push(org.api_calls() - before);

        // New Case for Hana.
        let h = person("user", "hana@globex.example", "Hana Okafor");
        let panel = sidebar.initialize(&request(h.clone())).await;
        let form = sidebar
            .submit(&submit(&h, &panel, "case_open", json!({})))
            .await;
        let inputs = json!({"case_f_Subject": format!("Bench case {i}"), "case_f_Product__c": "P"});
        let before = org.api_calls();
        sidebar
            .submit(&submit(&h, &form, "case_create", inputs))
            .await;
        case_trips.push(org.api_calls() - before);
    }
    let created = |s: &str| org.records(s).len();
    println!("round trips per write, submit to refreshed panel (target 1):");
    println!(
        "  Create Lead: {lead_trips:?}  ({} Leads in the org)",
        created("Lead")
    );
    println!(
        "  New Case:    {case_trips:?}  ({} Cases in the org)",
        created("Case")
    );
}
