//! The rules a Salesforce Task from Intercom follows, as pure functions:
//! its subject (deterministic, so a retry or a replay finds the Task it
//! already made instead of making a second), its description (a snippet or
//! the transcript, and the link back to Intercom), what it is related to,
//! and who the person is in Salesforce.

use serde_json::Value;

use crate::intercom::{conversation_url, html_to_text, Conversation, Part};

/// Subject and description limits of Task (Subject 255, Description 32000).
pub const SUBJECT_MAX: usize = 255;
pub const DESCRIPTION_MAX: usize = 32_000;
/// How much of a message a snippet keeps.
pub const SNIPPET_CHARS: usize = 500;

/// What one Task records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskKind {
    /// The automatic Task of a conversation (open until it is closed).
    Auto,
    /// The whole conversation, logged by a teammate.
    Conversation,
    /// One message or note of it, logged by a teammate.
    Part { id: String, note: bool },
}

/// `Intercom conversation #4711` and friends. The conversation id (and the
/// part id) are in it, so Subject + WhoId identify the Task: Description is
/// a long text area, which SOQL cannot filter on.
pub fn subject(conversation_id: &str, kind: &TaskKind) -> String {
    let s = match kind {
        TaskKind::Auto => format!("Intercom conversation #{conversation_id}"),
        TaskKind::Conversation => format!("Intercom conversation #{conversation_id} (logged)"),
        TaskKind::Part { id, note: true } => {
            format!("Intercom note in conversation #{conversation_id} (part {id})")
        }
        TaskKind::Part { id, note: false } => {
            format!("Intercom message in conversation #{conversation_id} (part {id})")
        }
    };
    truncate(&s, SUBJECT_MAX)
}

pub use crate::text::truncate;

/// One message of a conversation, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `source` for the opening message, else the part id.
    pub id: String,
    pub note: bool,
    pub author: String,
    pub text: String,
    pub created_at: Option<i64>,
}

/// The opening message and every comment and note with text, oldest first.
pub fn messages(c: &Conversation) -> Vec<Message> {
    let mut out = Vec::new();
    if let Some(src) = &c.source {
        let text = html_to_text(src.body.as_deref().unwrap_or(""));
        if !text.is_empty() {
            out.push(Message {
                id: "source".to_string(),
                note: false,
                author: author_name(src.author.as_ref()),
                text,
                created_at: c.created_at,
            });
        }
    }
    for p in &c.conversation_parts {
        if let Some(m) = part_message(p) {
            out.push(m);
        }
    }
    out
}

fn part_message(p: &Part) -> Option<Message> {
    let kind = p.part_type.as_deref().unwrap_or("");
    if !matches!(kind, "comment" | "note" | "close" | "open" | "assignment") {
        return None;
    }
    let text = html_to_text(p.body.as_deref().unwrap_or(""));
    if text.is_empty() {
        return None;
    }
    Some(Message {
        id: p.id.clone(),
        note: kind == "note",
        author: author_name(p.author.as_ref()),
        text,
        created_at: p.created_at,
    })
}

fn author_name(a: Option<&crate::intercom::Author>) -> String {
    a.and_then(|a| a.name.clone().or(a.email.clone()))
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "Someone".to_string())
}

fn stamp(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.format("%Y-%m-%d %H:%M UTC ").to_string())
        .unwrap_or_default()
}

/// `[2026-11-12 15:00 UTC] Hana Okafor: …` lines (notes marked), up to
/// `max_chars`; the newest lines are the ones dropped when it is too long.
pub fn transcript(msgs: &[Message], max_chars: usize) -> String {
    let mut out = String::new();
    for m in msgs {
        let line = format!(
            "[{}{}] {}: {}\n",
            stamp(m.created_at),
            if m.note { "note" } else { "message" },
            m.author,
            m.text
        );
        if out.chars().count() + line.chars().count() > max_chars {
            out.push_str("…\n");
            break;
        }
        out.push_str(&line);
    }
    out
}

/// The Task description: the text, then where it came from.
pub fn description(body: &str, workspace_id: &str, conversation_id: &str) -> String {
    let link = conversation_url(workspace_id, conversation_id);
    let room = DESCRIPTION_MAX.saturating_sub(link.len() + 40);
    format!(
        "{}\n\nConversation in Intercom: {link}",
        truncate(body.trim_end(), room)
    )
}

/// A Lead or Contact the Task is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub sobject: &'static str,
    pub id: String,
    pub name: String,
    /// The one open opportunity to relate the Task to (Contacts only).
    pub what_id: Option<String>,
}

/// The opportunity a Contact's Task is related to: the one open
/// opportunity the Contact has a role on; none when there are several (or
/// none). Account opportunities without a role do not count.
pub fn contact_what_id(roles: &Value) -> Option<String> {
    let records = roles.get("records").and_then(Value::as_array)?;
    let mut open: Vec<&str> = records
        .iter()
        .filter(|r| r["Opportunity"]["IsClosed"].as_bool() == Some(false))
        .filter_map(|r| r["OpportunityId"].as_str())
        .collect();
    open.sort_unstable();
    open.dedup();
    match open.as_slice() {
        [one] => Some(one.to_string()),
        _ => None,
    }
}

/// Salesforce ids compare on their first 15 characters (case-sensitive).
pub fn same_id(a: &str, b: &str) -> bool {
    a.get(..15).is_some() && a.get(..15) == b.get(..15)
}

/// First and last name for a new Lead from an Intercom name or the email.
pub fn lead_names(name: Option<&str>, email: &str) -> (Option<String>, String) {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    match name {
        Some(n) => {
            let (first, last) = crate::services::lead::split_name(n);
            ((!first.is_empty()).then_some(first), last)
        }
        None => (None, email.split('@').next().unwrap_or(email).to_string()),
    }
}

/// Company for a new Lead (required by Salesforce): the person's company,
/// else the email's domain.
pub fn lead_company(company: Option<&str>, email: &str) -> String {
    company
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| {
            email
                .rsplit_once('@')
                .map(|(_, d)| d.to_string())
                .unwrap_or_else(|| "Unknown".to_string())
        })
}

/// The fields of a new Task for `target` (created on `today`).
pub fn task_create_body(
    target: &Target,
    owner_id: Option<&str>,
    subject: &str,
    description: &str,
    completed: bool,
    today: chrono::NaiveDate,
) -> Value {
    let mut body = serde_json::json!({
        "Subject": subject,
        "Description": description,
        "Status": if completed { "Completed" } else { "In Progress" },
        "Priority": "Normal",
        "ActivityDate": today.format("%Y-%m-%d").to_string(),
        "WhoId": target.id,
    });
    // Salesforce refuses a WhatId on a Lead's Task.
    if target.sobject == "Contact" {
        if let Some(what) = &target.what_id {
            body["WhatId"] = serde_json::json!(what);
        }
    }
    // No owner: the integration user (Salesforce's default).
    if let Some(owner) = owner_id {
        body["OwnerId"] = serde_json::json!(owner);
    }
    body
}

/// The fields that bring an existing Task up to date.
pub fn task_update_body(description: &str, completed: bool) -> Value {
    let mut body = serde_json::json!({"Description": description});
    if completed {
        body["Status"] = serde_json::json!("Completed");
    }
    body
}

/// The fields of the Lead a manual task creates when nobody has the email,
/// and the name the teammate is shown for it.
pub fn new_lead(email: &str, name: Option<&str>, company: Option<&str>) -> (Value, String) {
    let (first, last) = lead_names(name, email);
    let mut body = serde_json::json!({
        "LastName": truncate(&last, 80),
        "Email": email,
        "Company": truncate(&lead_company(company, email), 255),
    });
    if let Some(f) = first {
        body["FirstName"] = serde_json::json!(truncate(&f, 40));
    }
    let display = match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None => email.to_string(),
    };
    (body, display)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subjects_are_deterministic_and_say_what_they_are() {
        assert_eq!(
            subject("4711", &TaskKind::Auto),
            "Intercom conversation #4711"
        );
        assert_eq!(
            subject("4711", &TaskKind::Conversation),
            "Intercom conversation #4711 (logged)"
        );
        assert_eq!(
            subject(
                "4711",
                &TaskKind::Part {
                    id: "471103".into(),
                    note: true
                }
            ),
            "Intercom note in conversation #4711 (part 471103)"
        );
    }

    #[test]
    fn one_open_role_opportunity_relates_several_do_not() {
        let one = json!({"records": [
            {"OpportunityId": "006A", "Opportunity": {"IsClosed": false}},
            {"OpportunityId": "006B", "Opportunity": {"IsClosed": true}}]});
        assert_eq!(contact_what_id(&one).as_deref(), Some("006A"));
        let two = json!({"records": [
            {"OpportunityId": "006A", "Opportunity": {"IsClosed": false}},
            {"OpportunityId": "006C", "Opportunity": {"IsClosed": false}}]});
        assert_eq!(contact_what_id(&two), None);
        assert_eq!(contact_what_id(&Value::Null), None);
    }

    #[test]
    fn truncation_and_names() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(
            lead_names(Some("Noor Nobody"), "n@x"),
            (Some("Noor".into()), "Nobody".into())
        );
        assert_eq!(lead_names(None, "noor@x.example"), (None, "noor".into()));
        assert_eq!(lead_company(None, "noor@x.example"), "x.example");
        assert!(same_id("0035e000001HanaAAC", "0035e000001HanaAAC"));
        assert!(same_id("0035e000001HanaAAC", "0035e000001Hana"));
        assert!(!same_id("0035e000001HanaAAC", "0035e000001HanB"));
    }
}
