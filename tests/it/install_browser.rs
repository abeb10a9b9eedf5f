//! Install and connect in a real browser: headless Chromium goes to
//! `/install`, clicks Install on the sandbox Intercom's page, Allow on the
//! second sandbox org's page, and lands on the app's "connected" page; the
//! new workspace's sidebar then shows that org's people. Screenshots of
//! each step go to `target/preview-screenshots/install-NN-step.png`.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::Value;
use sf_inbox::canvas::CanvasRequestBuilder;

use common::chromium::{screenshot_dir, session, WAIT_CAP};
use common::TestApp;

type Result<T = ()> = std::result::Result<T, String>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_and_connect_in_a_real_browser() {
    let shots = screenshot_dir();
    let app = TestApp::builder().install().spawn().await;
    let Some((driver, client)) = session("install_and_connect_in_a_real_browser", &shots).await
    else {
        return;
    };
    let outcome = journey(&client, &shots, &app.url).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}\n(screenshots in {})", shots.display());
    }
    // The workspace installed in the browser sees org B's Tony Stark.
    let body = CanvasRequestBuilder::new("ws-chrome")
        .region("us")
        .admin("814860", Some("Ruth Teammate"), Some("ruth@example.com"))
        .contact("user", Some("tony@stark.example"))
        .conversation("4711")
        .build();
    let canvas: Value = app.initialize(&body).await;
    assert!(
        canvas["canvas"]["content"]
            .to_string()
            .contains("Tony Stark"),
        "{canvas}"
    );
}

async fn journey(client: &Client, shots: &Path, base: &str) -> Result {
    let shot = |name: &'static str| async move {
        let png = client
            .screenshot()
            .await
            .map_err(|e| format!("screenshot {name}: {e}"))?;
        std::fs::write(shots.join(format!("install-{name}.png")), png).map_err(|e| e.to_string())
    };
    client
        .goto(&format!("{base}/install"))
        .await
        .map_err(|e| format!("open /install: {e}"))?;
    wait_text(client, "Install sf-inbox in your Intercom workspace").await?;
    let ws = client
        .find(Locator::Css("input[name='workspace_id']"))
        .await
        .map_err(|e| format!("the workspace field: {e}"))?;
    ws.clear().await.map_err(|e| e.to_string())?;
    ws.send_keys("ws-chrome").await.map_err(|e| e.to_string())?;
    shot("01-intercom-install").await?;
    client
        .find(Locator::Css("button[type='submit']"))
        .await
        .map_err(|e| format!("the Install button: {e}"))?
        .click()
        .await
        .map_err(|e| format!("click Install: {e}"))?;
    // Installed, signed in, sent on to Salesforce: the second org asks.
    wait_text(client, sf_sandbox::SANDBOX_ORG_B_NAME).await?;
    shot("02-salesforce-allow").await?;
    client
        .find(Locator::Css("button[value='allow']"))
        .await
        .map_err(|e| format!("the Allow button: {e}"))?
        .click()
        .await
        .map_err(|e| format!("click Allow: {e}"))?;
    wait_text(client, "Salesforce is connected").await?;
    let page = body_text(client).await?;
    if !page.contains(sf_sandbox::SANDBOX_ORG_B_ID) || !page.contains("ws-chrome") {
        return Err(format!(
            "the connected page does not name the org and workspace:\n{page}"
        ));
    }
    shot("03-connected").await?;
    Ok(())
}

async fn body_text(client: &Client) -> Result<String> {
    client
        .find(Locator::Css("body"))
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())
}

/// Waits until the page's text contains `want` (capped: a hang guard only).
async fn wait_text(client: &Client, want: &str) -> Result {
    let started = Instant::now();
    loop {
        let text = body_text(client).await.unwrap_or_default();
        if text.contains(want) {
            return Ok(());
        }
        if started.elapsed() > WAIT_CAP {
            let url = client
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            return Err(format!(
                "gave up waiting for {want:?} at {url}; the page shows:\n{text}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
