//! No answer ever exceeds Canvas Kit's 64 KB: a 120,000-character
//! description typed into New Case comes back cut, with the teammate told.

use serde_json::{json, Value};
use sf_inbox::answer::{CUT_NOTICE, MAX_ANSWER_BYTES};

use crate::common::*;

#[tokio::test]
async fn a_long_description_echoed_into_the_form_is_cut_with_a_message() {
    let app = spawn().await;
    let hana = person(
        "user",
        Some("hana@globex.example"),
        Some("Globex Corporation"),
    );
    let panel = app.initialize(&hana).await;
    let form = app
        .submit(&submit_from(&hana, &panel, "case_open", json!({})))
        .await;
    let long = "A".repeat(120_000);
    let submit = submit_from(
        &hana,
        &form,
        "case_create",
        input_values(
            &form,
            &[
                ("case_f_Subject", "A very long report"),
                ("case_f_Description", long.as_str()),
            ],
        ),
    );
    let resp = app.post_signed("/canvas/submit", &submit).await;
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.unwrap();
    assert!(
        bytes.len() <= MAX_ANSWER_BYTES,
        "{} bytes answered",
        bytes.len()
    );
    let canvas: Value = serde_json::from_slice(&bytes).unwrap();
    let shown = texts(&canvas);
    assert!(shown.contains(CUT_NOTICE), "{shown}");
    let echoed = find_component(&canvas, "case_f_Description").expect("the form is still there")
        ["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        echoed.starts_with("AAAA") && echoed.ends_with('…'),
        "the typed text is kept, cut"
    );
    assert!(
        app.org
            .records("Case")
            .iter()
            .all(|c| c["Subject"] != "A very long report"),
        "a description over Salesforce's 32,000 characters is not sent"
    );
}
