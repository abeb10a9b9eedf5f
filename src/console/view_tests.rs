//! The pages rendered from view models, without a server.

use super::checks::{Attribute, OrgDescribes, Problem};
use super::form::{MappingRow, SettingsForm};
use super::view::*;
use crate::budget::{Gate, Held, Policy, Usage};
use crate::fields::describe::Describe;
use crate::store::{OrgUsage, UsageDay};

fn frame(active: &'static str) -> Frame {
    Frame {
        workspace_id: "ws-1".into(),
        workspace_name: Some("Globex <Support>".into()),
        admin_name: "Ruth".into(),
        csrf_token: "tok-123".into(),
        active,
        notice: None,
        sync_error_count: 2,
    }
}

fn org() -> OrgDescribes {
    ["Contact", "Account", "Opportunity", "Lead", "Case"]
        .into_iter()
        .fold(OrgDescribes::default(), |o, n| {
            let path = format!("{}/fixtures/describe/{n}.json", env!("CARGO_MANIFEST_DIR"));
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            o.with(Describe::parse(&v).unwrap())
        })
}

/// Every `<form method="post">` carries the CSRF token. (Attribute values
/// are escaped, `/` as `&#x2f;`: the tests read them decoded.)
fn every_post_form_has_the_token(html: &str) {
    let posts = html.matches(r#"method="post""#).count();
    let tokens = html
        .matches(r#"<input type="hidden" name="csrf_token" value="tok-123">"#)
        .count();
    assert!(posts > 0);
    assert_eq!(posts, tokens, "{html}");
}

#[test]
fn connection_shows_the_org_intercom_and_the_usage_bar() {
    let usage = Usage {
        today: UsageDay {
            day: "2026-03-02".into(),
            app_calls: 450,
            org: Some(OrgUsage {
                used: 12_000,
                limit: 15_000,
                seen_at_ms: 0,
            }),
        },
        days: vec![
            UsageDay {
                day: "2026-03-01".into(),
                app_calls: 900,
                org: None,
            },
            UsageDay {
                day: "2026-03-02".into(),
                app_calls: 450,
                org: None,
            },
        ],
        policy: Policy {
            daily_cap: 500,
            background_share: 80,
        },
        gate: Gate::Wait {
            until: chrono::Utc::now(),
            why: Held::Cap {
                used: 450,
                allowed: 400,
            },
        },
    };
    let page = ConnectionPage {
        frame: frame("connection"),
        org: OrgView {
            state: "connected",
            state_text: "Connected".into(),
            instance_url: Some("https://globex.my.salesforce.com".into()),
            org_id: Some("00D5e000000Globex".into()),
            user: Some("integration@globex.example".into()),
            last_error: Some("2026-03-02 09:00 UTC — REQUEST_LIMIT_EXCEEDED".into()),
            connect_action: "/connect/salesforce".into(),
            disconnect_action: "/salesforce/disconnect".into(),
            logins: Vec::new(),
            ..OrgView::default()
        },
        intercom: IntercomView {
            workspace_id: "ws-1".into(),
            workspace_name: Some("Globex".into()),
            region: "EU".into(),
            token_status: "Set".into(),
        },
        usage: UsageView::of(&usage),
        action_token: ActionTokenView {
            configured: true,
            from_env: false,
            action_url: "https://app.example/actions/salesforce-case".into(),
            new_token: None,
        },
    };
    let html = connection(&page).replace("&#x2f;", "/");
    assert!(html.contains("Rotate the token"));
    assert!(html.contains("https://app.example/actions/salesforce-case"));
    assert!(!html.contains("new-action-token"));
    assert!(!html.contains("ACTION_TOKEN"));
    assert!(html.contains("https://globex.my.salesforce.com"));
    assert!(html.contains("00D5e000000Globex"));
    assert!(html.contains(r#"action="/salesforce/disconnect""#));
    assert!(html.contains(r#"<a class="button" href="/connect/salesforce">Reconnect</a>"#));
    assert!(!html.contains("Connect Salesforce"));
    assert!(html.contains("<strong>12000</strong> of 15000 calls (80%"));
    assert!(html.contains(r#"aria-valuenow="12000""#));
    assert!(html.contains(r#"style="width: 80%""#));
    assert!(html.contains("<strong>450</strong> calls today"));
    assert!(html.contains("cap 500 a day; background work may use 400 (80%)"));
    assert!(html.contains("Background work is waiting until midnight UTC"));
    assert!(html.contains("REQUEST_LIMIT_EXCEEDED"));
    assert!(html.contains("EU"));
    // The busiest day is the full height.
    assert!(html.contains(r#"height: 100%" title="900 calls""#));
    assert!(html.contains(r#"height: 50%" title="450 calls""#));
    // Escaped, never raw.
    assert!(html.contains("Globex &lt;Support&gt;"));
    assert!(!html.contains("Globex <Support>"));
    assert!(html.contains(r#"aria-current="page">Connection"#));
    every_post_form_has_the_token(&html);
}

#[test]
fn not_connected_offers_connect_only() {
    let page = ConnectionPage {
        frame: frame("connection"),
        org: OrgView {
            state: "not_connected",
            state_text: "Not connected".into(),
            connect_action: "/connect/salesforce".into(),
            disconnect_action: "/x".into(),
            logins: Vec::new(),
            ..OrgView::default()
        },
        ..ConnectionPage::default()
    };
    let html = connection(&page).replace("&#x2f;", "/");
    assert!(html.contains("Connect Salesforce"));
    assert!(!html.contains(">Disconnect<"));
    assert!(html.contains("Create a token"));
    every_post_form_has_the_token(&html);
    assert!(html.contains("The org's usage is not known yet"));
}

fn settings_page(form: SettingsForm, problems: Vec<Problem>) -> SettingsPage {
    let attrs = vec![Attribute {
        name: "Product Area".into(),
        data_type: "string".into(),
    }];
    SettingsPage {
        frame: frame("settings"),
        form,
        problems,
        options: SettingsOptions::of(&org(), &attrs),
        import_text: String::new(),
    }
}

#[test]
fn settings_offers_pickers_from_the_describes_and_attributes() {
    let form = SettingsForm {
        panel_contact: "Title\nDepartment".into(),
        mappings: vec![MappingRow {
            intercom: "Product Area".into(),
            salesforce: "Product__c".into(),
        }],
        daily_cap: "0".into(),
        background_share: "80".into(),
        transcript: "comment".into(),
        ..SettingsForm::default()
    };
    let html = settings(&settings_page(form, vec![]));
    // Mapping pickers: the attribute and the createable Case fields.
    assert!(
        html.contains(r#"<option value="Product Area" selected>Product Area (string)</option>"#)
    );
    assert!(html.contains(r#"<option value="Product__c" selected>"#));
    assert!(
        !html.contains(r#"<option value="CaseNumber""#),
        "not createable"
    );
    assert!(!html.contains(r#"<option value="ContactId""#), "a lookup");
    // One empty row to add a mapping.
    assert_eq!(html.matches(r#"name="mapping.intercom""#).count(), 2);
    // Record types and origins from the Case describe.
    assert!(
        html.contains(r#"<option value="Support" >Support</option>"#)
            || html.contains(r#"value="Support""#)
    );
    assert!(html.contains(r#"<option value="Billing Portal">"#));
    // Panel fields in order, and the describe's fields to add.
    assert!(html.contains("Title\nDepartment</textarea>"));
    assert!(html.contains(r#"data-add="MailingCountry""#));
    assert!(html.contains(r#"value="comment" checked"#));
    assert!(html.contains("at most 8"));
    every_post_form_has_the_token(&html);
    assert!(!html.contains("Nothing was saved"));
}

#[test]
fn a_refused_save_keeps_what_was_typed_and_says_why_under_the_field() {
    let form = SettingsForm {
        panel_contact: "Title\nShoe_Size__c".into(),
        daily_cap: "lots".into(),
        background_share: "80".into(),
        mappings: vec![MappingRow {
            intercom: "Gone <b>".into(),
            salesforce: "Nope__c".into(),
        }],
        ..SettingsForm::default()
    };
    let problems = vec![
        Problem::new(
            "panels.contact",
            "Shoe_Size__c is not a field of Contact (or the integration user cannot read it)",
        ),
        Problem::new("budget.daily_cap", "a whole number"),
        Problem::new(
            "auto_cases.mappings[0].salesforce",
            "Nope__c is not a field of Case",
        ),
    ];
    let html = settings(&settings_page(form, problems));
    assert!(html.contains("Nothing was saved: 3 settings need a change."));
    assert!(html.contains(r##"<a href="#f-panels-contact">panels.contact</a>"##));
    assert!(
        html.contains("Title\nShoe_Size__c</textarea>"),
        "typed text kept"
    );
    assert!(html
        .contains(r#"value="lots" aria-invalid="true" aria-describedby="err-budget-daily_cap""#));
    assert!(html.contains(r#"id="err-panels-contact">Shoe_Size__c is not a field of Contact"#));
    assert!(html
        .contains(r#"id="err-auto_cases-mappings-0-salesforce">Nope__c is not a field of Case"#));
    // A typed value the pickers do not offer is kept, escaped.
    assert!(html.contains(r#"<option value="Gone &lt;b&gt;" selected>Gone &lt;b&gt;</option>"#));
    assert!(html.contains(r#"<option value="Nope__c" selected>Nope__c</option>"#));
}

#[test]
fn a_missing_describe_is_said_on_the_page() {
    let page = SettingsPage {
        frame: frame("settings"),
        options: SettingsOptions::of(&OrgDescribes::default(), &[]),
        ..SettingsPage::default()
    };
    let html = settings(&page);
    assert!(html.contains("Could not read the Contact, Account, Opportunity, Lead, Case describe"));
}

#[test]
fn sync_errors_list_with_filter_and_actions() {
    let page = SyncErrorsPage {
        frame: frame("sync_errors"),
        kind: "auto_case".into(),
        kinds: KINDS,
        rows: vec![SyncErrorView {
            id: "auto_case:4711".into(),
            kind: "auto_case".into(),
            kind_label: kind_label_of("auto_case").into(),
            conversation_id: "4711".into(),
            conversation_url: "https://app.intercom.com/a/inbox/ws-1/inbox/conversation/4711"
                .into(),
            attempted: "Create the conversation's Case".into(),
            code: "FIELD_CUSTOM_VALIDATION_EXCEPTION".into(),
            message: "A Refund case needs a refund amount".into(),
            fields: vec!["Refund_Amount__c".into()],
            attempts: 3,
            first_seen: "2026-03-01 10:00 UTC".into(),
            last_seen: "2026-03-02 10:00 UTC".into(),
            next_retry: None,
        }],
    };
    let html = sync_errors(&page).replace("&#x2f;", "/");
    assert!(html.contains(r#"<option value="auto_case" selected>Automatic cases</option>"#));
    assert!(html.contains(
        r##"href="https://app.intercom.com/a/inbox/ws-1/inbox/conversation/4711">#4711</a>"##
    ));
    assert!(html.contains("FIELD_CUSTOM_VALIDATION_EXCEPTION"));
    assert!(html.contains("Fields: Refund_Amount__c"));
    assert!(html.contains(r#"action="/admin/sync-errors/auto_case:4711/retry""#));
    assert!(html.contains(r#"action="/admin/sync-errors/auto_case:4711/retry-all""#));
    assert!(html.contains(r#"action="/admin/sync-errors/auto_case:4711/dismiss""#));
    assert!(html.contains("1 error"));
    every_post_form_has_the_token(&html);
    let empty = sync_errors(&SyncErrorsPage {
        rows: vec![],
        ..page
    });
    assert!(empty.contains("Nothing failed."));
}

#[test]
fn sign_in_links_to_intercom() {
    let html = signin(&SignInPage {
        signin_url: "/install?next=%2Fadmin".into(),
        error: Some("Only admins of this workspace can open its console.".into()),
        ..SignInPage::default()
    })
    .replace("&#x2f;", "/");
    assert!(html.contains(r#"href="/install?next=%2Fadmin""#));
    assert!(html.contains("Sign in with Intercom"));
    assert!(html.contains(r#"role="alert">Only admins"#));
    assert!(!html.contains("Sign out"), "no session, no sign-out");
}

#[test]
fn a_new_action_token_is_shown_in_a_read_only_box() {
    let page = ConnectionPage {
        frame: frame("connection"),
        action_token: ActionTokenView {
            configured: true,
            from_env: true,
            action_url: "https://app.example/actions/salesforce-case".into(),
            new_token: Some("0123abcd".into()),
        },
        ..ConnectionPage::default()
    };
    let html = connection(&page);
    assert!(html.contains(r#"id="new-action-token" class="mono" readonly value="0123abcd""#));
    assert!(html.contains("shown only once"));
    assert!(html.contains("rotating here does not stop it"));
}

#[test]
fn the_environments_org_offers_no_connect_or_disconnect() {
    let page = ConnectionPage {
        frame: frame("connection"),
        org: OrgView {
            state: "connected",
            state_text: "Connected, through the environment's SALESFORCE_* settings".into(),
            from_env: true,
            connect_action: "/connect/salesforce".into(),
            disconnect_action: "/connect/salesforce/disconnect".into(),
            logins: Vec::new(),
            ..OrgView::default()
        },
        ..ConnectionPage::default()
    };
    let html = connection(&page);
    assert!(
        html.contains("the SALESFORCE_* settings): change it there"),
        "{html}"
    );
    assert!(!html.contains(">Reconnect<") && !html.contains(">Disconnect<"));
    assert!(!html.contains("Connect Salesforce"));
}
