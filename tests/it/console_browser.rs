//! The admin console in a real browser: headless Chromium signs in through
//! the sandbox Intercom (and connects sandbox org A), picks a panel's
//! fields with the page's buttons and sees the sidebar change, adds
//! attribute mappings with the pickers, then retries a sync error and
//! watches it clear. Screenshots of each step go to
//! `target/preview-screenshots/console-NN-step.png`.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use sf_inbox::canvas::CanvasRequestBuilder;

use common::chromium::{screenshot_dir, session, WAIT_CAP};
use common::{texts, Notification, TestApp};

type Result<T = ()> = std::result::Result<T, String>;

const WS: &str = "ws-console";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let shots = screenshot_dir();
    let app = TestApp::builder().install().spawn().await;
    let Some((driver, client)) = session("the_console_in_a_real_browser", &shots).await else {
        return;
    };
    let outcome = Journey {
        client: &client,
        shots: &shots,
        app: &app,
    }
    .run()
    .await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}\n(screenshots in {})", shots.display());
    }
}

/// Hana's conversation, seen from the workspace's sidebar.
fn hana() -> Value {
    CanvasRequestBuilder::new(WS)
        .region("us")
        .admin("814860", Some("Ruth Teammate"), Some("ruth@example.com"))
        .contact("user", Some("hana@globex.example"))
        .contact_id("ic-1")
        .name("Hana Okafor")
        .conversation("4711")
        .state("open")
        .build()
}

struct Journey<'a> {
    client: &'a Client,
    shots: &'a Path,
    app: &'a TestApp,
}

impl Journey<'_> {
    async fn run(&self) -> Result {
        let base = self.app.url.as_str();
        self.goto(&format!("{base}/admin")).await?;
        self.wait_text("Sign in with Intercom").await?;
        self.shot("01-sign-in").await?;
        self.click("a.button.primary", "Sign in with Intercom")
            .await?;
        self.wait_text("Install sf-inbox in your Intercom workspace")
            .await?;
        let ws = self.find("input[name='workspace_id']").await?;
        ws.clear().await.map_err(|e| e.to_string())?;
        ws.send_keys(WS).await.map_err(|e| e.to_string())?;
        self.click("button[type='submit']", "Install").await?;
        // Signed in and sent on to Salesforce (the default org asks);
        // the admin picks org A instead.
        self.wait_text(sf_sandbox::SANDBOX_ORG_B_NAME).await?;
        self.goto(&format!("{base}/connect/salesforce?login=org-a"))
            .await?;
        self.wait_text(sf_sandbox::SANDBOX_ORG_NAME).await?;
        self.click("button[value='allow']", "Allow").await?;
        self.wait_text("Salesforce is connected").await?;
        self.click("a.button.primary", "Open the console").await?;
        self.wait_text("Connected since").await?;
        let page = self.body().await?;
        if !page.contains(sf_sandbox::SANDBOX_ORG_ID) || !page.contains(WS) {
            return Err(format!(
                "the Connection page does not name the org and workspace:\n{page}"
            ));
        }
        self.shot("02-connection").await?;

        // A panel's fields, picked with the page's buttons, in order.
        let before = texts(&self.app.initialize(&hana()).await);
        if !before.contains("Owner") {
            return Err(format!(
                "the built-in Contact panel was expected first:\n{before}"
            ));
        }
        self.click("nav a[href='/admin/settings']", "Settings")
            .await?;
        self.wait_text("Fields each panel shows").await?;
        let contact = self.find("#f-panels-contact").await?;
        contact.clear().await.map_err(|e| e.to_string())?;
        for field in ["Title", "Department"] {
            self.click(
                &format!(".chips[data-target='f-panels-contact'] button[data-add='{field}']"),
                field,
            )
            .await?;
        }
        // Automatic cases, with a first mapping from the pickers (the
        // sandbox's Case requires Product__c).
        self.click("#f-auto_cases-create_on_start", "Create a Case on start")
            .await?;
        self.select("#f-auto_cases-mappings-0-intercom", "Product Area")
            .await?;
        self.select("#f-auto_cases-mappings-0-salesforce", "Product__c")
            .await?;
        self.shot("03-settings-filled").await?;
        self.save().await?;
        let after = texts(&self.app.initialize(&hana()).await);
        if !after.contains("Department") || after.contains("Owner") {
            return Err(format!(
                "the sidebar did not change to Title, Department:\n{after}"
            ));
        }

        // Another mapping, in the row a save adds.
        self.select("#f-auto_cases-mappings-1-intercom", "Case Type")
            .await?;
        self.select("#f-auto_cases-mappings-1-salesforce", "Type")
            .await?;
        self.save().await?;
        self.shot("04-settings-saved").await?;

        // A refund case without an amount fails Salesforce's validation
        // rule: a sync error.
        self.app.intercom.set_attributes(
            "4711",
            json!({"Product Area": "Billing", "Case Type": "Refund"}),
        );
        let cases_before = self.app.org.records("Case").len();
        self.app
            .deliver(&Notification::new("n1", "conversation.user.created", "4711").app_id(WS))
            .await;
        let store = self.app.registry.store().for_workspace(WS);
        let started = Instant::now();
        let error = loop {
            if let Some(e) = store
                .sync_errors(None)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .next()
            {
                break e;
            }
            if started.elapsed() > WAIT_CAP {
                return Err("no sync error was recorded".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        self.click("nav a[href='/admin/sync-errors']", "Sync errors")
            .await?;
        self.wait_text("FIELD_CUSTOM_VALIDATION_EXCEPTION").await?;
        self.shot("05-sync-error").await?;

        // Fixed in Intercom, then Retry: the Case is made, the error clears.
        self.app.intercom.set_attributes(
            "4711",
            json!({"Product Area": "Billing", "Case Type": "Invoice"}),
        );
        self.click(
            &format!(
                "form[action='/admin/sync-errors/{}/retry'] button",
                error.id
            ),
            "Retry",
        )
        .await?;
        self.wait_text("Queued again").await?;
        let started = Instant::now();
        loop {
            self.goto(&format!("{base}/admin/sync-errors")).await?;
            let page = self.body().await?;
            if page.contains("0 errors") && page.contains("Nothing failed") {
                break;
            }
            if started.elapsed() > WAIT_CAP {
                return Err(format!("the sync error did not clear:\n{page}"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.shot("06-cleared").await?;
        let made = self.app.org.records("Case");
        match made.get(cases_before..) {
            Some([case]) if case["Type"] == "Invoice" && case["Product__c"] == "Billing" => Ok(()),
            other => Err(format!(
                "one Case with the mapped values was expected: {other:?}"
            )),
        }
    }

    async fn save(&self) -> Result {
        self.click(
            "form[action='/admin/settings'] button[type='submit']",
            "Save settings",
        )
        .await?;
        self.wait_text("Settings saved").await?;
        // Fresh, without the notice, so the next save's is its own.
        self.goto(&format!("{}/admin/settings", self.app.url))
            .await?;
        self.wait_text("Fields each panel shows").await
    }

    async fn shot(&self, name: &str) -> Result {
        let png = self
            .client
            .screenshot()
            .await
            .map_err(|e| format!("screenshot {name}: {e}"))?;
        std::fs::write(self.shots.join(format!("console-{name}.png")), png)
            .map_err(|e| e.to_string())
    }

    async fn goto(&self, url: &str) -> Result {
        self.client
            .goto(url)
            .await
            .map_err(|e| format!("open {url}: {e}"))
    }

    async fn find(&self, css: &str) -> Result<fantoccini::elements::Element> {
        self.client
            .find(Locator::Css(css))
            .await
            .map_err(|e| format!("find {css}: {e}"))
    }

    async fn click(&self, css: &str, what: &str) -> Result {
        self.find(css)
            .await?
            .click()
            .await
            .map_err(|e| format!("click {what}: {e}"))
    }

    async fn select(&self, css: &str, value: &str) -> Result {
        self.find(css)
            .await?
            .select_by_value(value)
            .await
            .map_err(|e| format!("pick {value} in {css}: {e}"))
    }

    async fn body(&self) -> Result<String> {
        self.find("body")
            .await?
            .text()
            .await
            .map_err(|e| e.to_string())
    }

    /// Waits until the page's text contains `want` (capped: a hang guard
    /// only).
    async fn wait_text(&self, want: &str) -> Result {
        let started = Instant::now();
        loop {
            let text = self.body().await.unwrap_or_default();
            if text.contains(want) {
                return Ok(());
            }
            if started.elapsed() > WAIT_CAP {
                let url = self
                    .client
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
}
