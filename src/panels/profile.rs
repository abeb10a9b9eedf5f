//! The live panels: Contact, Account, Opportunity, Lead, the open-case list
//! and "not in Salesforce".

use chrono::{DateTime, Utc};

use super::fault::{fault_text, Telling};
use super::format;
use super::ids;
use super::record_url;
use crate::canvas::components::*;
use crate::salesforce::lookup::{
    pick_opportunity, AccountProfile, ContactProfile, LeadProfile, Profile,
};
use crate::salesforce::records::{Account, Lead, Opportunity, Shown};
use crate::salesforce::SalesforceError;

/// Which screen of a profile to draw. The first canvas is the person's own
/// tab (Contact, Lead or Account); the others are one click away in the tab
/// row, as in Intercom's own Salesforce app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// The first tab: who the person is, the open-case count, the deal
    /// summary and the main actions; `opportunity` is the deal summarised.
    Summary { opportunity: Option<String> },
    /// The Account tab.
    Account { opportunity: Option<String> },
    /// The Opportunities tab, showing this opportunity (else the first).
    Deals { opportunity: Option<String> },
    /// The open-case list; remembers the opportunity shown before, so
    /// Back returns to it.
    Cases { opportunity: Option<String> },
}

impl View {
    /// The tab a teammate picked in the tab row (`ids::TAB`'s value).
    pub fn for_tab(tab: Option<&str>, opportunity: Option<String>) -> View {
        match tab {
            Some(ids::TAB_ACCOUNT) => View::Account { opportunity },
            Some(ids::TAB_DEALS) => View::Deals { opportunity },
            _ => View::Summary { opportunity },
        }
    }

    /// The screen the canvas named in `stored_data.view` showed, so Refresh
    /// and Try again redraw the tab the teammate is on.
    pub fn from_stored(view: Option<&str>, opportunity: Option<String>) -> View {
        match view {
            Some("account") => View::Account { opportunity },
            Some("deals") => View::Deals { opportunity },
            _ => View::Summary { opportunity },
        }
    }

    pub fn opportunity(&self) -> Option<&str> {
        match self {
            View::Summary { opportunity }
            | View::Account { opportunity }
            | View::Deals { opportunity }
            | View::Cases { opportunity } => opportunity.as_deref(),
        }
    }
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

/// What [`profile_canvas`] draws from besides the snapshot it is given
/// (its profile and `ctx.fetched_at`): the screen, the instance URL, the
/// task flag and the day of `ctx.now` (the only part of the time it
/// shows: "fetched at 14:05 UTC" today, "30 Nov, 14:05 UTC" after
/// midnight). Two renders of one snapshot under the same key are the same
/// canvas, byte for byte, so the sidebar keeps the serialised canvas under
/// it. `None` for a stale render (its fault text is not kept). A field
/// added to [`RenderCtx`] belongs here too.
pub fn render_key(view: &View, ctx: &RenderCtx) -> Option<String> {
    if ctx.stale.is_some() {
        return None;
    }
    Some(format!(
        "{view:?}|{}|task={}|{}",
        ctx.instance_url,
        ctx.can_log_task,
        ctx.now.date_naive()
    ))
}

pub fn profile_canvas(p: &Profile, view: &View, ctx: &RenderCtx) -> Canvas {
    let mut c = Vec::new();
    let wanted = view.opportunity();
    let mut selected: Option<String> = None;
    let canvas_view = match (p, view) {
        (Profile::Contact(cp), View::Cases { .. }) => {
            cases(&mut c, cp, ctx);
            selected = pick_opportunity(&cp.opportunities, wanted).map(|o| o.id.clone());
            "cases"
        }
        (Profile::Contact(cp), _) => {
            let tabs = contact_tabs(cp);
            let tab = tab_of(view, &tabs);
            contact_heading(&mut c, cp);
            push_tabs(&mut c, &tabs, tab);
            match tab {
                ids::TAB_ACCOUNT => {
                    if let Some(acc) = &cp.account {
                        account_details(&mut c, acc, ctx);
                    }
                }
                ids::TAB_DEALS => {
                    selected = deals(&mut c, &cp.opportunities, wanted, ctx);
                }
                _ => {
                    selected = contact_overview(&mut c, cp, wanted, ctx);
                }
            }
            view_name(tab)
        }
        (Profile::Lead(lp), _) => {
            lead(&mut c, lp, ctx);
            "summary"
        }
        (Profile::Account(ap), _) => {
            let tabs = account_tabs(ap);
            let tab = tab_of(view, &tabs);
            c.push(header(escape_markup(&ap.account.name)));
            c.push(muted(
                "Salesforce Account · no Contact or Lead has this person's email",
            ));
            push_tabs(&mut c, &tabs, tab);
            if tab == ids::TAB_DEALS {
                selected = deals(&mut c, &ap.opportunities, wanted, ctx);
            } else {
                account_table(&mut c, &ap.account);
                selected = deal_summary_row(&mut c, &ap.opportunities, wanted);
                c.push(url_button(
                    "open_account",
                    "Open Account in Salesforce",
                    record_url(ctx.instance_url, "Account", &ap.account.id),
                ));
            }
            view_name(tab)
        }
        (Profile::NotFound { email, companies }, _) => {
            not_found(&mut c, email.as_deref(), companies);
            "summary"
        }
    };
    footer(&mut c, ctx);
    let mut canvas = Canvas::new(c).with_data("view", canvas_view);
    if let Some(id) = selected {
        canvas = canvas.with_data("opportunity", id);
    }
    canvas
}

/// `stored_data.view` of each tab.
fn view_name(tab: &str) -> &'static str {
    match tab {
        ids::TAB_ACCOUNT => "account",
        ids::TAB_DEALS => "deals",
        _ => "summary",
    }
}

/// The tab a view asks for, if this profile has it (else the first).
fn tab_of(view: &View, tabs: &[(&'static str, String)]) -> &'static str {
    let asked = match view {
        View::Account { .. } => ids::TAB_ACCOUNT,
        View::Deals { .. } => ids::TAB_DEALS,
        View::Summary { .. } | View::Cases { .. } => ids::TAB_OVERVIEW,
    };
    tabs.iter()
        .map(|(id, _)| *id)
        .find(|id| *id == asked)
        .unwrap_or(ids::TAB_OVERVIEW)
}

/// Short enough that the tab row stays one line in Intercom's sidebar.
fn deals_label(opps: &[Opportunity]) -> String {
    format!("Deals ({})", opps.len())
}

fn contact_tabs(cp: &ContactProfile) -> Vec<(&'static str, String)> {
    let mut tabs = vec![(ids::TAB_OVERVIEW, "Contact".to_string())];
    if cp.account.is_some() {
        tabs.push((ids::TAB_ACCOUNT, "Account".to_string()));
    }
    if !cp.opportunities.is_empty() {
        tabs.push((ids::TAB_DEALS, deals_label(&cp.opportunities)));
    }
    tabs
}

fn account_tabs(ap: &AccountProfile) -> Vec<(&'static str, String)> {
    let mut tabs = vec![(ids::TAB_OVERVIEW, "Account".to_string())];
    if !ap.opportunities.is_empty() {
        tabs.push((ids::TAB_DEALS, deals_label(&ap.opportunities)));
    }
    tabs
}

/// The tab row: a single-select that submits on a click (Canvas Kit has no
/// tabs; this is how Intercom's own apps draw them). Not drawn for one tab.
fn push_tabs(c: &mut Vec<Component>, tabs: &[(&'static str, String)], current: &str) {
    if tabs.len() < 2 {
        return;
    }
    c.push(Component::SingleSelect(SingleSelect {
        id: ids::TAB.to_string(),
        label: None,
        options: tabs
            .iter()
            .map(|(id, text)| SelectOption {
                id: id.to_string(),
                text: text.clone(),
                disabled: false,
            })
            .collect(),
        value: Some(current.to_string()),
        action: Some(Action::Submit),
        save_state: None,
        disabled: false,
    }));
}

fn value(v: &Option<String>) -> String {
    v.as_deref()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or("—")
        .to_string()
}

/// "1 more Lead has this email", "2 more Contacts have this email".
fn more_matches(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 more {what} has this email; showing the most recently updated.")
    } else {
        format!("{n} more {what}s have this email; showing the most recently updated.")
    }
}

fn contact_heading(c: &mut Vec<Component>, cp: &ContactProfile) {
    let ct = &cp.contact;
    c.push(header(escape_markup(&ct.name)));
    let mut kind = match &cp.converted_from {
        Some(lead) if lead.name == ct.name => "Salesforce Contact · converted Lead".to_string(),
        Some(lead) => format!(
            "Salesforce Contact · converted Lead {}",
            escape_markup(&lead.name)
        ),
        None => "Salesforce Contact".to_string(),
    };
    if let Some(t) = ct.title.as_deref().filter(|t| !t.is_empty()) {
        kind = format!("{kind} · {}", escape_markup(t));
    }
    c.push(muted(kind));
    if cp.other_matches > 0 {
        c.push(muted(more_matches(cp.other_matches, "Contact")));
    }
}

/// The Contact tab (the first canvas): the details, the open-case count,
/// the deal summary and the main actions. Returns the deal summarised.
fn contact_overview(
    c: &mut Vec<Component>,
    cp: &ContactProfile,
    wanted: Option<&str>,
    ctx: &RenderCtx,
) -> Option<String> {
    let ct = &cp.contact;
    // No Email row: Intercom's own details show it right above, and the
    // match is on it; the 400 px first canvas keeps what Intercom lacks.
    if ct.shown.is_empty() {
        let mut rows = vec![("Owner", value(&ct.owner))];
        if let Some(acc) = &cp.account {
            rows.push(("Account", acc.name.clone()));
        }
        c.push(data_table(rows));
    } else {
        chosen_table(c, &ct.shown);
    }
    let selected = pick_opportunity(&cp.opportunities, wanted);
    c.push(muted(deal_line(selected)));
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
    c.push(submit_button(
        ids::CASE_OPEN,
        "New Case",
        ButtonStyle::Secondary,
    ));
    c.push(url_button(
        "open_contact",
        "Open Contact in Salesforce",
        record_url(ctx.instance_url, "Contact", &ct.id),
    ));
    selected.map(|o| o.id.clone())
}

/// One line about the deal summarised (the Deals tab has the rest).
fn deal_line(shown: Option<&Opportunity>) -> String {
    let Some(o) = shown else {
        return "No open opportunities".to_string();
    };
    let mut parts = vec![format!("**{}**", escape_markup(&o.name))];
    if let Some(stage) = o.stage.as_deref().filter(|s| !s.is_empty()) {
        parts.push(escape_markup(stage));
    }
    if let Some(a) = o.amount {
        parts.push(format::money(a, &o.currency));
    }
    parts.join(" · ")
}

/// The deal summary (the Account-only first tab).
fn deal_summary_row(
    c: &mut Vec<Component>,
    opps: &[Opportunity],
    wanted: Option<&str>,
) -> Option<String> {
    let selected = pick_opportunity(opps, wanted);
    c.push(muted(deal_line(selected)));
    selected.map(|o| o.id.clone())
}

/// The fields the workspace chose for a panel, in its order, labelled
/// from their API names (`Shoe_Size__c` → "Shoe Size").
fn chosen_table(c: &mut Vec<Component>, shown: &[Shown]) {
    let labels: Vec<String> = shown.iter().map(|f| field_label(&f.name)).collect();
    c.push(data_table(
        shown
            .iter()
            .zip(&labels)
            .map(|(f, l)| (l.as_str(), value(&f.value)))
            .collect(),
    ));
}

/// The chosen fields as one line: `Type: Problem · Origin: Chat`.
fn chosen_line(shown: &[Shown]) -> String {
    shown
        .iter()
        .map(|f| format!("{}: {}", field_label(&f.name), value(&f.value)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// A readable label for a field's API name: the custom suffix dropped,
/// underscores and camel case split (`LeadSource` → "Lead Source").
pub fn field_label(api: &str) -> String {
    let base = api
        .strip_suffix("__c")
        .or_else(|| api.strip_suffix("__C"))
        .unwrap_or(api);
    let mut out = String::with_capacity(base.len() + 4);
    let mut prev: Option<char> = None;
    for ch in base.chars() {
        match ch {
            '_' => {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
            }
            c if c.is_ascii_uppercase()
                && prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit()) =>
            {
                out.push(' ');
                out.push(c);
            }
            c => out.push(c),
        }
        prev = Some(ch);
    }
    out.trim().to_string()
}

fn account_table(c: &mut Vec<Component>, a: &Account) {
    if !a.shown.is_empty() {
        chosen_table(c, &a.shown);
        return;
    }
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
}

/// The Account tab.
fn account_details(c: &mut Vec<Component>, a: &Account, ctx: &RenderCtx) {
    c.push(paragraph(format!("**{}**", escape_markup(&a.name))));
    account_table(c, a);
    c.push(url_button(
        "open_account",
        "Open Account in Salesforce",
        record_url(ctx.instance_url, "Account", &a.id),
    ));
}

/// The Opportunities tab: the chosen deal's details first, then every other
/// deal as a list item that shows its details in one click. Returns the id
/// shown.
fn deals(
    c: &mut Vec<Component>,
    opps: &[Opportunity],
    wanted: Option<&str>,
    ctx: &RenderCtx,
) -> Option<String> {
    let Some(shown) = pick_opportunity(opps, wanted) else {
        c.push(muted("No open opportunities"));
        return None;
    };
    let title = if shown.is_closed {
        format!("**{}** (closed)", escape_markup(&shown.name))
    } else {
        format!("**{}**", escape_markup(&shown.name))
    };
    c.push(paragraph(title));
    if !shown.shown.is_empty() {
        // The workspace's chosen Opportunity fields, in its order.
        chosen_table(c, &shown.shown);
    } else {
        deal_table(c, shown);
    }
    c.push(url_button(
        "open_opportunity",
        "Open Opportunity in Salesforce",
        record_url(ctx.instance_url, "Opportunity", &shown.id),
    ));
    others_list(c, opps, shown);
    Some(shown.id.clone())
}

/// The built-in rows of the deal view.
fn deal_table(c: &mut Vec<Component>, shown: &Opportunity) {
    let mut rows = vec![
        ("Stage", value(&shown.stage)),
        (
            "Amount",
            shown
                .amount
                .map(|a| format::money(a, &shown.currency))
                .unwrap_or_else(|| "—".to_string()),
        ),
        (
            "Close date",
            shown
                .close_date
                .map(format::date)
                .unwrap_or_else(|| "—".to_string()),
        ),
        ("Owner", value(&shown.owner)),
    ];
    if let Some(role) = &shown.role {
        rows.push(("Their role", role.clone()));
    }
    c.push(data_table(rows));
}

/// The person's other opportunities, each a submit that shows it.
fn others_list(c: &mut Vec<Component>, opps: &[Opportunity], shown: &Opportunity) {
    let others: Vec<&Opportunity> = opps.iter().filter(|o| o.id != shown.id).collect();
    if !others.is_empty() {
        c.push(muted(if others.len() == 1 {
            "Their other opportunity:".to_string()
        } else {
            format!("Their {} other opportunities:", others.len())
        }));
        c.push(Component::List(List {
            items: others
                .iter()
                .map(|o| ListItem {
                    id: format!("{}{}", ids::DEAL_PREFIX, o.id),
                    title: if o.is_closed {
                        format!("{} (closed)", o.name)
                    } else {
                        o.name.clone()
                    },
                    subtitle: Some(
                        [
                            o.stage.clone(),
                            o.amount.map(|a| format::money(a, &o.currency)),
                        ]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" · "),
                    )
                    .filter(|s| !s.is_empty()),
                    tertiary_text: o.close_date.map(|d| format!("Closes {}", format::date(d))),
                    action: Some(Action::Submit),
                    disabled: false,
                })
                .collect(),
            disabled: false,
        }));
    }
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
        c.push(muted(more_matches(lp.other_matches, "Lead")));
    }
    if l.shown.is_empty() {
        c.push(data_table(vec![
            ("Email", value(&l.email)),
            ("Company", value(&l.company)),
            ("Status", value(&l.status)),
            ("Owner", value(&l.owner)),
        ]));
    } else {
        chosen_table(c, &l.shown);
    }
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
                    // The workspace's chosen Case fields, labelled, in its
                    // order; else the status and priority.
                    subtitle: Some(if k.shown.is_empty() {
                        value(&k.status)
                    } else {
                        chosen_line(&k.shown)
                    }),
                    tertiary_text: k
                        .shown
                        .is_empty()
                        .then(|| format!("Priority: {}", value(&k.priority))),
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

/// The bottom of every profile canvas: the task button, then the feedback
/// (stale data, a create's result) right above the Refresh the teammate just
/// clicked, which says when the data was fetched.
fn footer(c: &mut Vec<Component>, ctx: &RenderCtx) {
    if ctx.can_log_task {
        c.push(submit_button(
            super::tasks::task_ids::NEW,
            "New Salesforce task",
            ButtonStyle::Link,
        ));
    }
    if let Some(err) = ctx.stale {
        c.push(error_text(format!(
            "{}: this is what it said at {}.",
            fault_text(err, Telling::Stale),
            format::clock(ctx.fetched_at, ctx.now)
        )));
        c.push(submit_button(ids::RETRY, "Try again", ButtonStyle::Primary));
    } else {
        c.push(submit_button(
            ids::REFRESH,
            &format!(
                "Refresh (fetched at {})",
                format::clock(ctx.fetched_at, ctx.now)
            ),
            ButtonStyle::Link,
        ));
    }
}

/// Puts `feedback` (e.g. "✓ Case created") where the teammate looks: right
/// above the Refresh (or Try again) at the bottom of a profile canvas; at the
/// top of any other canvas.
pub fn insert_feedback(mut canvas: Canvas, feedback: Vec<Component>) -> Canvas {
    let components = &mut canvas.content.components;
    let at = components
        .iter()
        .rposition(
            |c| matches!(c, Component::Button(b) if b.id == ids::REFRESH || b.id == ids::RETRY),
        )
        .unwrap_or(0);
    components.splice(at..at, feedback);
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn chosen_fields_are_labelled_from_their_api_names() {
        assert_eq!(field_label("Title"), "Title");
        assert_eq!(field_label("LeadSource"), "Lead Source");
        assert_eq!(field_label("Shoe_Size__c"), "Shoe Size");
        assert_eq!(field_label("NumberOfEmployees"), "Number Of Employees");
        assert_eq!(field_label("SLA_Tier2__c"), "SLA Tier2");
    }

    fn ctx(now: DateTime<Utc>, fetched_at: DateTime<Utc>) -> RenderCtx<'static> {
        RenderCtx {
            instance_url: "https://example.my.salesforce.com",
            now,
            fetched_at,
            stale: None,
            can_log_task: true,
        }
    }

    /// The render cache keeps a canvas under `render_key`: the same key
    /// must mean the same canvas, and a canvas that would differ must get
    /// another key (here: the day turns, and "fetched at" gains its date).
    #[test]
    fn the_render_key_changes_whenever_the_canvas_does() {
        let profile = Profile::NotFound {
            email: Some("someone@example.com".into()),
            companies: vec![],
        };
        let view = View::Summary { opportunity: None };
        let fetched = Utc.with_ymd_and_hms(2026, 11, 30, 23, 58, 0).unwrap();
        let same_day = [
            Utc.with_ymd_and_hms(2026, 11, 30, 23, 58, 30).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 30, 23, 59, 59).unwrap(),
        ];
        let next_day = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 1).unwrap();
        let [a, b] = same_day.map(|now| {
            let c = ctx(now, fetched);
            (render_key(&view, &c), profile_canvas(&profile, &view, &c))
        });
        assert_eq!(a, b, "one day, one key, one canvas");
        let c = ctx(next_day, fetched);
        let (key, canvas) = (render_key(&view, &c), profile_canvas(&profile, &view, &c));
        assert_ne!(canvas, a.1, "after midnight the fetch time shows its date");
        assert_ne!(key, a.0);
        // The other inputs: the screen, the task flag, the instance.
        let tab = View::Account { opportunity: None };
        assert_ne!(render_key(&tab, &ctx(same_day[0], fetched)), a.0);
        let no_task = RenderCtx {
            can_log_task: false,
            ..ctx(same_day[0], fetched)
        };
        assert_ne!(render_key(&view, &no_task), a.0);
        let other = RenderCtx {
            instance_url: "https://other.my.salesforce.com",
            ..ctx(same_day[0], fetched)
        };
        assert_ne!(render_key(&view, &other), a.0);
        // A stale render (a fault's text in it) is not kept at all.
        let err = SalesforceError::ApiLimit;
        let stale = RenderCtx {
            stale: Some(&err),
            ..ctx(same_day[0], fetched)
        };
        assert_eq!(render_key(&view, &stale), None);
    }
}
