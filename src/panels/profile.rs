//! The live panels: Contact, Account, Opportunity, Lead, the open-case list
//! and "not in Salesforce".

use chrono::{DateTime, Utc};

use super::format;
use super::ids;
use super::record_url;
use crate::canvas::components::*;
use crate::salesforce::lookup::{
    pick_opportunity, AccountProfile, ContactProfile, LeadProfile, Profile,
};
use crate::salesforce::records::{Account, Lead, Opportunity};
use crate::salesforce::SalesforceError;

/// Which screen of a profile to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// The panels, showing this opportunity (else the first).
    Summary { opportunity: Option<String> },
    /// The open-case list; remembers the opportunity shown before, so
    /// Back returns to it.
    Cases { opportunity: Option<String> },
}

/// Everything a render needs besides the records.
pub struct RenderCtx<'a> {
    pub instance_url: &'a str,
    pub now: DateTime<Utc>,
    pub fetched_at: DateTime<Utc>,
    /// Set when Salesforce failed and this is the last known data.
    pub stale: Option<&'a SalesforceError>,
    /// Offer "New Salesforce task" (a conversation is open and the person
    /// has an email).
    pub can_log_task: bool,
}

pub fn profile_canvas(p: &Profile, view: &View, ctx: &RenderCtx) -> Canvas {
    let mut c = Vec::new();
    if let Some(err) = ctx.stale {
        c.push(error_text(format!(
            "Salesforce isn't answering ({}). Showing the data fetched {}.",
            short_reason(err),
            format::age(ctx.fetched_at, ctx.now)
        )));
        c.push(submit_button(
            ids::RETRY,
            "Try again",
            ButtonStyle::Secondary,
        ));
        c.push(divider());
    }
    let mut canvas_view = "summary";
    let mut selected: Option<String> = None;
    match (p, view) {
        (Profile::Contact(cp), View::Cases { opportunity }) => {
            canvas_view = "cases";
            cases(&mut c, cp, ctx);
            selected = opportunity
                .as_deref()
                .and_then(|w| cp.opportunities.iter().find(|o| o.id == w))
                .map(|o| o.id.clone());
        }
        (Profile::Contact(cp), View::Summary { opportunity }) => {
            contact(&mut c, cp, ctx);
            if let Some(acc) = &cp.account {
                c.push(divider());
                account(&mut c, acc, ctx);
            }
            selected = opportunities(&mut c, &cp.opportunities, opportunity.as_deref(), ctx);
        }
        (Profile::Lead(lp), _) => lead(&mut c, lp, ctx),
        (Profile::Account(ap), _) => {
            account_only(&mut c, ap, ctx);
            let (View::Summary { opportunity } | View::Cases { opportunity }) = view;
            let wanted = opportunity.as_deref();
            selected = opportunities(&mut c, &ap.opportunities, wanted, ctx);
        }
        (Profile::NotFound { email, companies }, _) => {
            not_found(&mut c, email.as_deref(), companies)
        }
    }
    footer(&mut c, ctx);
    let mut canvas = Canvas::new(c).with_data("view", canvas_view);
    if let Some(id) = selected {
        canvas = canvas.with_data("opportunity", id);
    }
    canvas
}

fn short_reason(e: &SalesforceError) -> &'static str {
    match e {
        SalesforceError::Timeout(_) => "timed out",
        SalesforceError::ApiLimit => "API limit reached",
        SalesforceError::Malformed(_) => "unreadable answer",
        _ => "unavailable",
    }
}

fn value(v: &Option<String>) -> String {
    v.as_deref()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or("—")
        .to_string()
}

fn contact(c: &mut Vec<Component>, cp: &ContactProfile, ctx: &RenderCtx) {
    let ct = &cp.contact;
    c.push(header(escape_markup(&ct.name)));
    let mut kind = "Salesforce Contact".to_string();
    if let Some(t) = ct.title.as_deref().filter(|t| !t.is_empty()) {
        kind = format!("{kind} · {}", escape_markup(t));
    }
    c.push(muted(kind));
    if let Some(lead) = &cp.converted_from {
        c.push(muted(format!(
            "Converted from Lead {}",
            escape_markup(&lead.name)
        )));
    }
    if cp.other_matches > 0 {
        c.push(muted(format!(
            "{} more Contact{} share this email; showing the most recently updated.",
            cp.other_matches,
            if cp.other_matches == 1 { "" } else { "s" }
        )));
    }
    c.push(data_table(vec![
        ("Email", value(&ct.email)),
        ("Owner", value(&ct.owner)),
    ]));
    if cp.open_case_count > 0 {
        c.push(submit_button(
            ids::SHOW_CASES,
            &format!(
                "{} open case{}",
                cp.open_case_count,
                if cp.open_case_count == 1 { "" } else { "s" }
            ),
            ButtonStyle::Link,
        ));
    } else {
        c.push(muted("No open cases"));
    }
    c.push(url_button(
        "open_contact",
        "Open Contact in Salesforce",
        record_url(ctx.instance_url, "Contact", &ct.id),
    ));
    c.push(submit_button(
        ids::CASE_OPEN,
        "New Case",
        ButtonStyle::Secondary,
    ));
}

fn account(c: &mut Vec<Component>, a: &Account, ctx: &RenderCtx) {
    c.push(header(escape_markup(&a.name)));
    c.push(muted("Salesforce Account"));
    c.push(data_table(vec![
        (
            "Domain",
            a.website
                .as_deref()
                .map(format::domain)
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| "—".to_string()),
        ),
        ("Owner", value(&a.owner)),
        ("Country", value(&a.billing_country)),
    ]));
    c.push(url_button(
        "open_account",
        "Open Account in Salesforce",
        record_url(ctx.instance_url, "Account", &a.id),
    ));
}

fn account_only(c: &mut Vec<Component>, ap: &AccountProfile, ctx: &RenderCtx) {
    c.push(muted(
        "No Contact or Lead matches this person; showing their company's Account.",
    ));
    account(c, &ap.account, ctx);
}

/// Draws the opportunity panel; returns the id shown.
fn opportunities(
    c: &mut Vec<Component>,
    opps: &[Opportunity],
    wanted: Option<&str>,
    ctx: &RenderCtx,
) -> Option<String> {
    c.push(divider());
    let Some(shown) = pick_opportunity(opps, wanted) else {
        c.push(header("Opportunities"));
        c.push(muted("No open opportunities"));
        return None;
    };
    if opps.len() > 1 {
        c.push(header(format!("Opportunities ({})", opps.len())));
        c.push(Component::Dropdown(Dropdown {
            id: ids::OPPORTUNITY.to_string(),
            label: None,
            options: opps
                .iter()
                .map(|o| SelectOption {
                    id: o.id.clone(),
                    text: if o.is_closed {
                        format!("{} (closed)", o.name)
                    } else {
                        o.name.clone()
                    },
                    disabled: false,
                })
                .collect(),
            value: Some(shown.id.clone()),
            save_state: None,
            disabled: false,
        }));
        c.push(submit_button(
            ids::SHOW_OPPORTUNITY,
            "Show opportunity",
            ButtonStyle::Secondary,
        ));
    } else {
        c.push(header("Opportunity"));
        c.push(paragraph(format!("**{}**", escape_markup(&shown.name))));
    }
    let mut rows = vec![
        ("Owner", value(&shown.owner)),
        ("Stage", value(&shown.stage)),
        (
            "Close date",
            shown
                .close_date
                .map(format::date)
                .unwrap_or_else(|| "—".to_string()),
        ),
        (
            "Amount",
            shown
                .amount
                .map(|a| format::money(a, &shown.currency))
                .unwrap_or_else(|| "—".to_string()),
        ),
    ];
    if let Some(role) = &shown.role {
        rows.push(("Their role", role.clone()));
    }
    c.push(data_table(rows));
    c.push(url_button(
        "open_opportunity",
        "Open Opportunity in Salesforce",
        record_url(ctx.instance_url, "Opportunity", &shown.id),
    ));
    Some(shown.id.clone())
}

fn lead(c: &mut Vec<Component>, lp: &LeadProfile, ctx: &RenderCtx) {
    let l: &Lead = &lp.lead;
    c.push(header(escape_markup(&l.name)));
    c.push(muted(if l.is_converted {
        "Salesforce Lead · converted"
    } else {
        "Salesforce Lead"
    }));
    if lp.other_matches > 0 {
        c.push(muted(format!(
            "{} more Lead{} share this email; showing the most recently updated.",
            lp.other_matches,
            if lp.other_matches == 1 { "" } else { "s" }
        )));
    }
    c.push(data_table(vec![
        ("Email", value(&l.email)),
        ("Company", value(&l.company)),
        ("Status", value(&l.status)),
        ("Owner", value(&l.owner)),
    ]));
    c.push(url_button(
        "open_lead",
        "Open Lead in Salesforce",
        record_url(ctx.instance_url, "Lead", &l.id),
    ));
    c.push(muted(
        "New Case needs a Salesforce Contact: convert this Lead in Salesforce first.",
    ));
    if l.is_converted {
        if let Some(id) = &l.converted_contact_id {
            c.push(url_button(
                "open_converted_contact",
                "Open converted Contact",
                record_url(ctx.instance_url, "Contact", id),
            ));
        }
    }
}

fn cases(c: &mut Vec<Component>, cp: &ContactProfile, ctx: &RenderCtx) {
    c.push(header(format!(
        "Open cases · {}",
        escape_markup(&cp.contact.name)
    )));
    if cp.open_cases.is_empty() {
        c.push(muted("No open cases"));
    } else {
        c.push(Component::List(List {
            items: cp
                .open_cases
                .iter()
                .map(|k| ListItem {
                    id: format!("case_{}", k.id),
                    title: match &k.subject {
                        Some(s) if !s.is_empty() => format!("{} · {}", k.number, s),
                        _ => k.number.clone(),
                    },
                    subtitle: Some(value(&k.status)),
                    tertiary_text: Some(format!("Priority: {}", value(&k.priority))),
                    action: Some(Action::Url {
                        url: record_url(ctx.instance_url, "Case", &k.id),
                    }),
                    disabled: false,
                })
                .collect(),
            disabled: false,
        }));
        if cp.open_case_count > cp.open_cases.len() as u64 {
            c.push(muted(format!(
                "Showing the {} newest of {} open cases.",
                cp.open_cases.len(),
                cp.open_case_count
            )));
        }
    }
    c.push(submit_button(ids::BACK, "Back", ButtonStyle::Secondary));
}

fn not_found(c: &mut Vec<Component>, email: Option<&str>, companies: &[String]) {
    c.push(header("Not in Salesforce"));
    match email {
        Some(e) => c.push(paragraph(format!(
            "No Salesforce Lead or Contact has the email **{}**.",
            escape_markup(e)
        ))),
        None => c.push(paragraph(
            "This person has no email address, so no Lead or Contact can be matched.",
        )),
    }
    if !companies.is_empty() {
        c.push(muted(format!(
            "No Account is named {}.",
            companies
                .iter()
                .map(|n| format!("“{}”", escape_markup(n)))
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    match email {
        Some(_) => c.push(submit_button(
            ids::LEAD_OPEN,
            "Create Lead",
            ButtonStyle::Primary,
        )),
        None => c.push(muted(
            "Create Lead needs an email address: add one to this person in Intercom.",
        )),
    }
    c.push(muted("New Case needs a Salesforce Contact."));
}

fn footer(c: &mut Vec<Component>, ctx: &RenderCtx) {
    c.push(divider());
    if ctx.can_log_task {
        c.push(submit_button(
            super::tasks::task_ids::NEW,
            "New Salesforce task",
            ButtonStyle::Secondary,
        ));
    }
    c.push(muted(format!(
        "Updated {}",
        format::age(ctx.fetched_at, ctx.now)
    )));
    c.push(submit_button(
        ids::REFRESH,
        "Refresh",
        ButtonStyle::Secondary,
    ));
}
