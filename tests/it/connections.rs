//! A bounded connection pool per org: 100 concurrent cold renders of 100
//! people open at most `SALESFORCE_MAX_CONNECTIONS` connections to the
//! org (counted by the sandbox as it accepts them), and every render still
//! gets its panel.

use std::sync::Arc;

use crate::common::*;

#[tokio::test]
async fn a_hundred_concurrent_cold_renders_open_at_most_the_bound() {
    let app = spawn_with(&[("SALESFORCE_MAX_CONNECTIONS", "4")]).await;
    // Slow enough that the renders overlap.
    app.org
        .switches()
        .set_latency(std::time::Duration::from_millis(20));
    let app = Arc::new(app);
    let mut renders = tokio::task::JoinSet::new();
    for i in 0..100 {
        let app = app.clone();
        renders.spawn(async move {
            let body = person("user", Some(&format!("newcomer-{i}@nowhere.example")), None);
            app.initialize(&body).await
        });
    }
    let canvases = renders.join_all().await;
    for c in &canvases {
        assert!(texts(c).contains("Not in Salesforce"), "{}", texts(c));
    }
    assert!(
        app.org.api_calls() >= 100,
        "each person is a cold render: {}",
        app.org.api_calls()
    );
    let opened = app.org.connections();
    assert!(
        opened <= 4 + 1,
        "{opened} connections for 100 concurrent renders (bound 4, plus the token call's)"
    );
}
