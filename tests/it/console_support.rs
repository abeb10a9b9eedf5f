//! What the console tests share: an admin signed in through the sandbox
//! Intercom (and connected to sandbox org A), the session's form token as
//! the pages carry it, and a full Settings form.

use reqwest::StatusCode;

use crate::common::browser::Browser;
use crate::common::TestApp;

/// The text of a console page, with minijinja's escaped slashes put back
/// (so hrefs and actions can be looked for as written).
pub async fn html(resp: reqwest::Response) -> String {
    resp.text().await.unwrap().replace("&#x2f;", "/")
}

/// The form token a console page carries.
pub fn csrf(html: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker).expect("the page has a form token") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

/// An admin of `workspace` signed in (an install through the sandbox
/// Intercom) and connected to sandbox org A; the browser and the session's
/// form token.
pub async fn signed_in(app: &TestApp, workspace: &str, admin: &str) -> (Browser, String) {
    let mut b = Browser::new();
    let installed = b.install(&app.url, workspace, admin).await;
    assert!(
        Browser::location(&installed).ends_with("/connect/salesforce"),
        "a new workspace goes on to connect Salesforce"
    );
    let connected = b.connect(&app.url, "?login=org-a").await;
    assert_eq!(connected.status(), StatusCode::OK);
    let page = b.get(&format!("{}/admin", app.url)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let token = csrf(&html(page).await);
    (b, token)
}

/// A whole Settings form as the page posts it (every value the defaults'),
/// with `extra` pairs appended and `panels.contact` set to `contact`.
pub fn settings_form<'a>(
    token: &'a str,
    contact: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("csrf_token", token),
        ("auto_cases.transcript", "description"),
        ("lead.placeholder", "[not provided]"),
        ("case.owner", "assignment_rules"),
        ("panels.contact", contact),
        ("budget.daily_cap", "0"),
        ("budget.background_share", "80"),
    ];
    form.extend_from_slice(extra);
    form
}
