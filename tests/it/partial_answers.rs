//! A partial or malformed composite answer is an error screen: never
//! cached, never "not in Salesforce", and the org's facts (its currency)
//! are learned only from a complete answer.

use std::path::{Path, PathBuf};

use serde_json::json;
use sf_inbox::store::Store;
use sf_sandbox::FakeOrg;

use crate::common::*;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The sandbox fixtures in an org whose default currency is EUR.
fn euro_fixtures() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sf-inbox-eur-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&fixtures(), &dir);
    let org = dir.join("org/Organization.json");
    let text = std::fs::read_to_string(&org).unwrap();
    std::fs::write(&org, text.replace("\"USD\"", "\"EUR\"")).unwrap();
    dir
}

fn says_not_found(canvas: &serde_json::Value) -> bool {
    texts(canvas).contains("Not in Salesforce")
}

#[tokio::test]
async fn a_missing_sub_answer_is_an_error_screen_and_is_not_cached() {
    let app = spawn().await;
    let hana = person("user", Some("hana@globex.example"), None);
    let stranger = person("user", Some("nobody@nowhere.example"), None);
    // Learn the org's facts first, so the plan has no probe at its end.
    assert!(texts(&app.initialize(&stranger).await).contains("Not in Salesforce"));

    for (name, set) in [("missing", (true, false)), ("empty", (false, true))] {
        app.org.switches().set_composite_missing(set.0);
        app.org.switches().set_composite_empty(set.1);
        let c = app
            .submit(&submit_from(&hana, &hana, "refresh", json!({})))
            .await;
        assert!(!says_not_found(&c), "{name}: {}", texts(&c));
        assert!(
            texts(&c).contains("could not read"),
            "{name}: {}",
            texts(&c)
        );
        assert!(
            component_ids(&c).contains(&"retry".to_string()),
            "{name}: {}",
            texts(&c)
        );
    }
    app.org.switches().set_composite_missing(false);
    app.org.switches().set_composite_empty(false);

    // Nothing wrong was cached: the next render asks again and finds Hana.
    let before = app.org.api_calls();
    let c = app.initialize(&hana).await;
    assert!(texts(&c).contains("Hana Okafor"), "{}", texts(&c));
    assert_eq!(app.org.api_calls(), before + 1, "the fault was not cached");
}

#[tokio::test]
async fn a_partial_answer_over_good_data_shows_the_good_data_marked_not_not_found() {
    let app = spawn().await;
    let hana = person("user", Some("hana@globex.example"), None);
    assert!(texts(&app.initialize(&hana).await).contains("Hana Okafor"));
    app.org.switches().set_composite_missing(true);
    let c = app
        .submit(&submit_from(&hana, &hana, "refresh", json!({})))
        .await;
    assert!(!says_not_found(&c), "{}", texts(&c));
    assert!(texts(&c).contains("Hana Okafor"), "{}", texts(&c));
    app.org.switches().set_composite_missing(false);
}

#[tokio::test]
async fn the_currency_is_learned_only_from_a_complete_answer() {
    let dir = euro_fixtures();
    let org = FakeOrg::start("127.0.0.1:0".parse().unwrap(), &dir)
        .await
        .unwrap();
    let app = spawn_on(org, &[], Store::memory()).await;
    let hana = person("user", Some("hana@globex.example"), None);

    // The first look at the org loses its last sub-answer (the currency probe).
    app.org.switches().set_composite_missing(true);
    let c = app.initialize(&hana).await;
    assert!(!says_not_found(&c), "{}", texts(&c));
    assert!(!texts(&c).contains('$'), "{}", texts(&c));
    app.org.switches().set_composite_missing(false);

    let c = app
        .submit(&submit_from(&hana, &c, "retry", json!({})))
        .await;
    let t = texts(&c);
    assert!(t.contains("Hana Okafor"), "{t}");
    assert!(
        t.contains('€') && !t.contains('$'),
        "a EUR org shows euros: {t}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
