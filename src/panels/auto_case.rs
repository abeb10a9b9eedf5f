//! The conversation's automatic Case under the person's panel: its number,
//! status, owner and a link, and the sync error that kept it from being
//! written, with Retry. Pure.

use chrono::{DateTime, Utc};

use crate::actions::ids;
use crate::canvas::components::{
    data_table, divider, error_text, escape_markup, header, muted, submit_button, url_button,
    ButtonStyle, Component,
};

/// The conversation's Case as the store has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseLine {
    pub id: String,
    pub number: Option<String>,
    pub status: Option<String>,
    pub owner: Option<String>,
}

/// The sync error of the conversation's automatic case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseProblem {
    /// What was attempted ("Create the conversation's Case").
    pub attempted: String,
    pub message: String,
    pub last_seen: DateTime<Utc>,
    /// Set when it was queued again (Retry).
    pub next_retry: Option<DateTime<Utc>>,
}

/// The section's components; empty when the conversation has neither.
pub fn section(
    case: Option<&CaseLine>,
    problem: Option<&CaseProblem>,
    instance_url: &str,
) -> Vec<Component> {
    if case.is_none() && problem.is_none() {
        return Vec::new();
    }
    let mut c = vec![divider(), header("This conversation's case")];
    if let Some(k) = case {
        let number = k.number.clone().unwrap_or_else(|| k.id.clone());
        c.push(data_table(vec![
            ("Case", number),
            ("Status", k.status.clone().unwrap_or_else(|| "—".into())),
            ("Owner", k.owner.clone().unwrap_or_else(|| "—".into())),
        ]));
        c.push(url_button(
            ids::AUTO_CASE_OPEN,
            "Open Case in Salesforce",
            format!(
                "{}/lightning/r/Case/{}/view",
                instance_url.trim_end_matches('/'),
                k.id
            ),
        ));
    }
    if let Some(p) = problem {
        let what = if p.attempted.starts_with("Update") {
            "updated"
        } else {
            "created"
        };
        c.push(error_text(format!(
            "The automatic case wasn't {what}: {}",
            escape_markup(&p.message)
        )));
        match p.next_retry {
            Some(at) if at >= p.last_seen => c.push(muted(format!(
                "Queued again at {} UTC. Refresh to see how it went.",
                at.format("%H:%M")
            ))),
            _ => c.push(submit_button(
                ids::AUTO_CASE_RETRY,
                "Retry",
                ButtonStyle::Secondary,
            )),
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_without_a_case_or_an_error() {
        assert!(section(None, None, "https://x").is_empty());
    }

    #[test]
    fn the_error_offers_retry_until_it_is_queued_again() {
        let t = DateTime::from_timestamp(1_764_547_200, 0).unwrap();
        let p = CaseProblem {
            attempted: "Create the conversation's Case".into(),
            message: "lena@initech.example is not a Salesforce Contact".into(),
            last_seen: t,
            next_retry: None,
        };
        let s = serde_json::to_string(&section(None, Some(&p), "https://x")).unwrap();
        assert!(
            s.contains("The automatic case wasn't created: lena@initech.example"),
            "{s}"
        );
        assert!(s.contains(ids::AUTO_CASE_RETRY));
        let queued = CaseProblem {
            next_retry: Some(t),
            ..p
        };
        let s = serde_json::to_string(&section(None, Some(&queued), "https://x")).unwrap();
        assert!(
            !s.contains(ids::AUTO_CASE_RETRY) && s.contains("Queued again at 00:00 UTC"),
            "{s}"
        );
    }
}
