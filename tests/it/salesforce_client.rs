//! The Salesforce client against the sandbox org: paging, composite,
//! writes, describes, and what it counts.

use crate::common;

use common::*;
use serde_json::{json, Value};
use sf_inbox::salesforce::soql::{select, Cond, Dir};
use sf_inbox::salesforce::SalesforceError;

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Row {
    id: String,
    name: Option<String>,
}

#[tokio::test]
async fn query_follows_next_records_url() {
    let app = spawn().await;
    app.org.switches().set_page_size(2);
    let client = app.sidebar.client();
    let q = select(&["Id", "Name"], "Contact").order_by("Name", Dir::Asc);
    let rows: Vec<Row> = client.query(&q).await.unwrap();
    let expected = app.org.records("Contact").len();
    assert!(expected > 4, "fixtures have enough contacts to page");
    assert_eq!(rows.len(), expected);
    assert_eq!(
        app.org.api_calls(),
        expected.div_ceil(2),
        "one call per page of 2"
    );
    let mut ids: Vec<_> = rows.iter().map(|r| r.id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), expected, "no page read twice");
    assert!(rows
        .iter()
        .any(|r| r.name.as_deref() == Some("Hana Okafor")));
}

#[tokio::test]
async fn creates_updates_and_describes() {
    let app = spawn().await;
    let client = app.sidebar.client();
    let id = client
        .create(
            "Lead",
            &json!({"LastName": "Łukasiewicz", "FirstName": "Zoë", "Company": "O'Brien & Sons", "Email": "zoe2@example.pl"}),
            &[],
        )
        .await
        .unwrap();
    assert!(id.starts_with("00Q"), "{id}");
    client
        .update("Lead", &id, &json!({"Status": "Working - Contacted"}), &[])
        .await
        .unwrap();
    let stored = app
        .org
        .records("Lead")
        .into_iter()
        .find(|r| r["Id"] == id.as_str())
        .unwrap();
    assert_eq!(stored["Status"], "Working - Contacted");
    assert_eq!(stored["FirstName"], "Zoë");

    // A missing required field comes back as Salesforce says it, field named.
    match client
        .create("Lead", &json!({"FirstName": "No", "Company": "X"}), &[])
        .await
    {
        Err(SalesforceError::Rejected {
            status: 400,
            errors,
        }) => {
            assert_eq!(errors[0].error_code, "REQUIRED_FIELD_MISSING");
            assert_eq!(errors[0].fields, vec!["LastName".to_string()]);
        }
        other => panic!("{other:?}"),
    }

    let describe: Value = client.describe("Case").await.unwrap();
    assert_eq!(describe["name"], "Case");
    assert!(describe["fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "Subject"));
}

#[tokio::test]
async fn a_rejected_query_is_an_error_not_a_panic() {
    let app = spawn().await;
    let client = app.sidebar.client();
    let q = select(&["Id", "NoSuchField"], "Contact").filter(Cond::eq("Email", "x"));
    match client.query::<Value>(&q).await {
        Err(SalesforceError::Rejected { errors, .. }) => {
            assert_eq!(errors[0].error_code, "INVALID_FIELD")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_limit_header_is_read() {
    let app = spawn().await;
    let client = app.sidebar.client();
    let _: Vec<Row> = client
        .query(&select(&["Id", "Name"], "Account").limit(1))
        .await
        .unwrap();
    let (used, max) = client.api_usage().expect("Sforce-Limit-Info was read");
    assert_eq!(max, 15000);
    assert!(used >= 1);
}
