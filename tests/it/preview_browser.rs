//! The local inbox preview in a real browser: headless Chromium, driven over
//! WebDriver (chromedriver), through the journeys a new user takes. Asserts on
//! what is on the page and saves a screenshot of every step to
//! `target/preview-screenshots/NN-step.png`.
//!
//! Skipped (with a message) when Chromium or chromedriver is not installed;
//! `.ci/run` installs both, so CI always runs it. Waits poll with a generous
//! cap and never assert on time.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::json;

use common::chromium::{screenshot_dir, session, WAIT_CAP};
use common::preview::spawn_preview;

type Result<T = ()> = std::result::Result<T, String>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sidebar_in_a_real_browser() {
    let shots = screenshot_dir();
    let app = spawn_preview(&[("PREVIEW", "on")]).await;
    let Some((driver, client)) = session("the_sidebar_in_a_real_browser", &shots).await else {
        return;
    };

    let outcome = Journey {
        client: &client,
        shots: &shots,
        step: 0,
    }
    .run(&app.url)
    .await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}\n(screenshots in {})", shots.display());
    }
}

struct Journey<'a> {
    client: &'a Client,
    shots: &'a Path,
    step: usize,
}

impl Journey<'_> {
    async fn run(&mut self, base: &str) -> Result {
        self.client
            .goto(&format!("{base}/"))
            .await
            .map_err(|e| format!("open the preview: {e}"))?;
        // The page opens its first conversation by itself and says so in
        // the address.
        self.wait_for("the page script to start", |j| async move {
            Ok(j.attr("body", "data-ready").await?.as_deref() == Some("true"))
        })
        .await?;
        let sidebar = self.sidebar().await?;
        expect(&sidebar, "Hana Okafor", "the sidebar on load")?;
        let hash = self.eval("return window.location.hash").await?;
        if hash != json!("#conversation=4711") {
            return Err(format!("the address names {hash}, not conversation 4711"));
        }
        let active = self
            .attr("[data-conversation='4711']", "aria-current")
            .await?;
        if active.as_deref() != Some("true") {
            return Err("Hana's conversation is not marked as selected on load".to_string());
        }
        let list = self.text("#conversation-list").await?;
        for who in [
            "Hana Okafor",
            "Lena Fischer",
            "Omar Haddad",
            "Priya Raman",
            "Noor Nobody",
            "Tony Stark",
            "Sam Solo",
            "Siobhan O'Brien",
            "Alex Twin",
            "nobody@nowhere.example",
        ] {
            expect(&list, who, "the conversation list")?;
        }
        // The thread is the sandbox Intercom's: the texts the task picker offers.
        let thread = self.text("#thread").await?;
        for want in [
            "Hi! Our CSV export of invoices has been failing since Monday.",
            "Looks like the archive bug from last week. Escalating.",
        ] {
            expect(&thread, want, "Hana's thread")?;
        }
        let controls = self.text("#sandbox-controls").await?;
        expect(&controls, "Make it fail (503)", "the sandbox controls")?;
        self.screenshot("inbox").await?;

        // Every first canvas fits Intercom's 400 px, for every sample person.
        let ids = self
            .eval(
                "return [...document.querySelectorAll('[data-conversation]')].map(b => b.dataset.conversation)",
            )
            .await?;
        let ids: Vec<String> = serde_json::from_value(ids).map_err(|e| e.to_string())?;
        let mut heights = Vec::new();
        for id in &ids {
            self.exchange(
                &format!("open conversation {id}"),
                &format!("[data-conversation='{id}']"),
            )
            .await?;
            let h = self.sidebar_height().await?;
            let who = self
                .text(&format!("[data-conversation='{id}'] .conv-name"))
                .await?;
            heights.push(format!("{id} {who}: {h:.0} px"));
            self.screenshot(&format!("first-canvas-{id}")).await?;
            if h > 400.0 {
                self.screenshot(&format!("too-tall-{id}")).await?;
                return Err(format!(
                    "the first canvas of {who} ({id}) is {h:.0} px tall, over 400 px:\n{}",
                    self.sidebar().await?
                ));
            }
        }
        eprintln!("first canvas heights:\n  {}", heights.join("\n  "));

        // Open a contact: Hana, a Contact with an account, deals and open cases.
        self.exchange("open Hana's conversation", "[data-conversation='4711']")
            .await?;
        let sidebar = self.sidebar().await?;
        for want in [
            "Hana Okafor",
            "Salesforce Contact",
            "Globex Corporation",
            "3 open cases",
            "Deals (3)",
            "Negotiation/Review",
            "New Case",
            "Refresh",
            "Refresh (fetched at ",
        ] {
            expect(&sidebar, want, "Hana's sidebar")?;
        }
        self.screenshot("contact").await?;

        // The Account tab, one click away.
        self.exchange(
            "open the Account tab",
            "#sidebar [data-component-id='tab'] [data-option-id='tab_account']",
        )
        .await?;
        let sidebar = self.sidebar().await?;
        for want in ["globex.example", "Maya Patel", "United States"] {
            expect(&sidebar, want, "the Account tab")?;
        }
        self.screenshot("account-tab").await?;

        // The Opportunities tab, then one click on another deal.
        self.exchange(
            "open the Opportunities tab",
            "#sidebar [data-component-id='tab'] [data-option-id='tab_deals']",
        )
        .await?;
        let sidebar = self.sidebar().await?;
        for want in [
            "Globex — Platform renewal 2027",
            "15 Dec 2026",
            "Globex — EU expansion",
        ] {
            expect(&sidebar, want, "the Opportunities tab")?;
        }
        self.screenshot("opportunities-tab").await?;
        let eu = self
            .eval(
                "return [...document.querySelectorAll(\"#sidebar [data-component-id^='deal_']\")].find(b => b.textContent.includes('EU expansion')).dataset.componentId",
            )
            .await?;
        let eu = eu
            .as_str()
            .ok_or("no EU expansion deal in the list")?
            .to_string();
        self.exchange(
            "show the EU expansion opportunity",
            &format!("#sidebar [data-component-id='{eu}']"),
        )
        .await?;
        let sidebar = self.sidebar().await?;
        for want in ["Prospecting", "$48,500.50", "Evaluator"] {
            expect(&sidebar, want, "the EU expansion opportunity")?;
        }
        let shown = self.text("#sidebar .ck-paragraph").await?;
        expect(&shown, "Globex — EU expansion", "the deal shown")?;
        self.screenshot("opportunity").await?;

        // The case list, from the Contact tab.
        self.exchange(
            "back to the Contact tab",
            "#sidebar [data-component-id='tab'] [data-option-id='tab_overview']",
        )
        .await?;
        expect(
            &self.sidebar().await?,
            "Globex — EU expansion",
            "the Contact tab's deal summary after choosing EU expansion",
        )?;
        self.exchange(
            "open the case list",
            "#sidebar [data-component-id='show_cases']",
        )
        .await?;
        let sidebar = self.sidebar().await?;
        for want in [
            "Open cases · Hana Okafor",
            "00001001 · Cannot export invoices to CSV",
            "SSO login loop for EU users",
            "Priority: High",
            "Back",
        ] {
            expect(&sidebar, want, "the case list")?;
        }
        let href = self
            .attr(
                "#sidebar [data-component-id='case_5005e000001Cs01AAC']",
                "href",
            )
            .await?
            .unwrap_or_default();
        if !href.contains("/lightning/r/Case/5005e000001Cs01AAC/view") {
            return Err(format!("a case links to Salesforce, got {href:?}"));
        }
        self.screenshot("cases").await?;

        // Back, then Refresh: the opportunity chosen before is still the one summarised.
        self.exchange("back", "#sidebar [data-component-id='back']")
            .await?;
        self.exchange("refresh", "#sidebar [data-component-id='refresh']")
            .await?;
        let sidebar = self.sidebar().await?;
        for want in [
            "Hana Okafor",
            "Deals (3)",
            "Globex — EU expansion",
            "Refresh (fetched at ",
        ] {
            expect(&sidebar, want, "the refreshed sidebar")?;
        }
        self.screenshot("refreshed").await?;

        // Salesforce fails (503 from the controls): the fault bar says so
        // without moving the page; Refresh shows the last data, marked,
        // right where Refresh was.
        let top = self.inbox_top().await?;
        self.click("[data-sandbox-action='fail']").await?;
        self.wait_for("the controls to report the failure", |j| async move {
            Ok(j.text("#sandbox-state").await?.contains("failing with 503"))
        })
        .await?;
        let moved = self.inbox_top().await?;
        if (moved - top).abs() > 0.5 {
            return Err(format!(
                "the fault bar moved the page from {top} px to {moved} px"
            ));
        }
        self.exchange(
            "refresh while Salesforce fails",
            "#sidebar [data-component-id='refresh']",
        )
        .await?;
        let sidebar = self.sidebar().await?;
        for want in [
            "Salesforce isn't answering: this is what it said at",
            "Try again",
        ] {
            expect(&sidebar, want, "the sidebar while Salesforce fails")?;
        }
        self.screenshot("salesforce-down").await?;

        // Clear the failure and retry.
        self.click("[data-sandbox-action='reset']").await?;
        self.wait_for("the controls to report a healthy org", |j| async move {
            Ok(j.text("#sandbox-state").await?.contains("healthy"))
        })
        .await?;
        if (self.inbox_top().await? - top).abs() > 0.5 {
            return Err("the fault bar moved the page after Reset".to_string());
        }
        self.exchange("try again", "#sidebar [data-component-id='retry']")
            .await?;
        let sidebar = self.sidebar().await?;
        expect(&sidebar, "Hana Okafor", "the sidebar after the retry")?;
        expect(
            &sidebar,
            "Refresh (fetched at ",
            "the sidebar after the retry",
        )?;
        reject(&sidebar, "isn't answering", "the sidebar after the retry")?;
        self.screenshot("retried").await?;

        // The raw exchange, for developers.
        self.click("#toggle-json").await?;
        let request = self.text("#json-request").await?;
        for want in [
            "X-Body-Signature",
            "\"component_id\": \"retry\"",
            "hana@globex.example",
        ] {
            expect(&request, want, "the request JSON")?;
        }
        let response = self.text("#json-response").await?;
        expect(&response, "\"status\": 200", "the response JSON")?;
        expect(&response, "\"stored_data\"", "the response JSON")?;
        self.screenshot("json").await?;

        // A person who is not in Salesforce.
        self.click("#toggle-json").await?;
        self.exchange(
            "open a stranger's conversation",
            "[data-conversation='4715']",
        )
        .await?;
        let sidebar = self.sidebar().await?;
        expect(&sidebar, "Not in Salesforce", "a stranger's sidebar")?;
        expect(&sidebar, "nobody@nowhere.example", "a stranger's sidebar")?;
        self.screenshot("not-in-salesforce").await?;

        // The address opens the conversation it names.
        let before = self.exchange_count().await?;
        self.client
            .goto(&format!("{base}/#conversation=4714"))
            .await
            .map_err(|e| format!("open #conversation=4714: {e}"))?;
        self.wait_for("Priya's sidebar from the address", |j| async move {
            Ok(
                j.attr("#sidebar", "data-state").await?.as_deref() == Some("ready")
                    && j.exchange_count().await? != before
                    && j.sidebar().await?.contains("Priya Raman"),
            )
        })
        .await?;
        let active = self
            .attr("[data-conversation='4714']", "aria-current")
            .await?;
        if active.as_deref() != Some("true") {
            return Err("#conversation=4714 did not select Priya's conversation".to_string());
        }
        self.screenshot("from-the-address").await?;
        Ok(())
    }

    // ---- helpers ----

    async fn find(&self, css: &str) -> Result<fantoccini::elements::Element> {
        self.client
            .find(Locator::Css(css))
            .await
            .map_err(|e| format!("find {css}: {e}"))
    }

    /// Visible text of the first element matching `css`.
    async fn text(&self, css: &str) -> Result<String> {
        self.find(css)
            .await?
            .text()
            .await
            .map_err(|e| format!("text of {css}: {e}"))
    }

    async fn attr(&self, css: &str, name: &str) -> Result<Option<String>> {
        self.find(css)
            .await?
            .attr(name)
            .await
            .map_err(|e| format!("{name} of {css}: {e}"))
    }

    async fn click(&self, css: &str) -> Result {
        self.find(css)
            .await?
            .click()
            .await
            .map_err(|e| format!("click {css}: {e}"))
    }

    async fn eval(&self, script: &str) -> Result<serde_json::Value> {
        self.client
            .execute(script, vec![])
            .await
            .map_err(|e| format!("run {script}: {e}"))
    }

    /// The drawn canvas's height in CSS pixels (what Intercom's 400 px is about).
    async fn sidebar_height(&self) -> Result<f64> {
        self.eval("return document.getElementById('sidebar').getBoundingClientRect().height")
            .await?
            .as_f64()
            .ok_or_else(|| "no sidebar height".to_string())
    }

    /// Where the inbox starts below the developer bars.
    async fn inbox_top(&self) -> Result<f64> {
        self.eval("return document.querySelector('.inbox').getBoundingClientRect().top")
            .await?
            .as_f64()
            .ok_or_else(|| "no inbox position".to_string())
    }

    async fn sidebar(&self) -> Result<String> {
        self.text("#sidebar").await
    }

    async fn exchange_count(&self) -> Result<u64> {
        Ok(self
            .attr("#sidebar", "data-exchange")
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Clicks `css` and waits until the sidebar has drawn the app's answer.
    async fn exchange(&self, what: &str, css: &str) -> Result {
        let before = self.exchange_count().await?;
        self.click(css).await.map_err(|e| format!("{what}: {e}"))?;
        self.wait_for(what, |j| async move {
            Ok(j.exchange_count().await? > before
                && j.attr("#sidebar", "data-state").await?.as_deref() == Some("ready"))
        })
        .await
    }

    /// Polls `ready` until it holds (capped by [`WAIT_CAP`], a hang guard only).
    async fn wait_for<'j, F, Fut>(&'j self, what: &str, ready: F) -> Result
    where
        F: Fn(&'j Self) -> Fut,
        Fut: std::future::Future<Output = Result<bool>>,
    {
        let started = Instant::now();
        loop {
            let last = ready(self).await;
            if let Ok(true) = last {
                return Ok(());
            }
            if started.elapsed() > WAIT_CAP {
                let sidebar = self.sidebar().await.unwrap_or_default();
                return Err(format!(
                    "gave up waiting for {what} (last check: {last:?}); the sidebar shows:\n{sidebar}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn screenshot(&mut self, name: &str) -> Result {
        self.step += 1;
        let png = self
            .client
            .screenshot()
            .await
            .map_err(|e| format!("screenshot {name}: {e}"))?;
        let path = self.shots.join(format!("{:02}-{name}.png", self.step));
        std::fs::write(&path, png).map_err(|e| format!("write {}: {e}", path.display()))
    }
}

fn expect(text: &str, want: &str, place: &str) -> Result {
    if text.contains(want) {
        Ok(())
    } else {
        Err(format!("{place} should show {want:?}; it shows:\n{text}"))
    }
}

fn reject(text: &str, unwanted: &str, place: &str) -> Result {
    if text.contains(unwanted) {
        Err(format!(
            "{place} should not show {unwanted:?}; it shows:\n{text}"
        ))
    } else {
        Ok(())
    }
}
