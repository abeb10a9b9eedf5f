//! The one table from a Salesforce fault to the teammate's words.
//!
//! Each screen that can meet a fault says it for what the teammate was
//! doing, and those differences matter: a create must say whether a record
//! may exist and that submitting again is safe, a task that retrying logs
//! nothing twice, a stale panel only what went wrong (its time follows).
//! They are the [`Telling`] variants of one function, so a new error (or a
//! new wording) is written once, here, for every place.

use crate::canvas::components::escape_markup;
use crate::salesforce::SalesforceError;

/// Where the fault is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Telling {
    /// The full error screen: its header ([`fault_title`]) and this body,
    /// Canvas Kit markup (Salesforce's own words escaped).
    Screen,
    /// The line above a panel shown from its last known data, followed by
    /// ": this is what it said at 14:05 UTC."
    Stale,
    /// Under a Create Lead or New Case form: whether the record may exist,
    /// and what submitting again does. Plain text.
    Create,
    /// On the task screens: what happened to the Task. Plain text.
    Task,
}

/// The error screen's header.
pub fn fault_title(err: &SalesforceError) -> &'static str {
    match err {
        SalesforceError::NotConfigured(_) => "Salesforce isn't connected",
        SalesforceError::Reconnect(_) => "Reconnect Salesforce",
        SalesforceError::ApiLimit => "Salesforce API limit reached",
        SalesforceError::Timeout(_) => "Salesforce is slow to answer",
        SalesforceError::Unavailable(_) => "Salesforce is unavailable",
        SalesforceError::Malformed(_) => "Unexpected answer from Salesforce",
        SalesforceError::Forbidden(_) => "Salesforce refused access",
        SalesforceError::NotFound => "Record not found",
        SalesforceError::Rejected { .. } => "Salesforce rejected the request",
    }
}

/// What the teammate reads about `err` where it is told.
pub fn fault_text(err: &SalesforceError, telling: Telling) -> String {
    use SalesforceError as E;
    use Telling::*;
    match (err, telling) {
        // Not connected, or no longer.
        (E::NotConfigured(why), Screen) => format!(
            "This app has no Salesforce org to read from yet ({}). An admin sets SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET and SALESFORCE_REFRESH_TOKEN where the app runs and restarts it.",
            escape_markup(why)
        ),
        (E::NotConfigured(_), Task) => {
            "Salesforce isn't connected yet: an admin needs to set up the connection.".into()
        }
        (E::Reconnect(_), Screen) => "Salesforce no longer accepts this app's sign-in: its access was revoked or has expired, so no live data can be shown. An admin reconnects it: sign in to Salesforce as the integration user through the app's connected app, set the token Salesforce gives in SALESFORCE_REFRESH_TOKEN and restart the app. Then click Check again.".into(),
        (E::Reconnect(_), Task) => {
            "The Salesforce connection was revoked or expired: an admin needs to reconnect it.".into()
        }
        (E::NotConfigured(_) | E::Reconnect(_), Create) => {
            "Salesforce isn't connected; an admin needs to reconnect the org.".into()
        }

        // Out of API calls.
        (E::ApiLimit, Screen) => "Your org has used its 24-hour allowance of API requests, so Salesforce refuses to answer for now. It answers again as the allowance frees up; an admin can check usage in Salesforce Setup under Company Information.".into(),
        (E::ApiLimit, Stale) => "Salesforce's API limit is reached".into(),
        (E::ApiLimit, Create) => "Your org has used its 24-hour allowance of Salesforce API requests. Nothing was created; try again once it frees up.".into(),
        (E::ApiLimit, Task) => {
            "Salesforce's daily API request limit is reached. Try again later.".into()
        }

        // Slow: a create may or may not have happened.
        (E::Timeout(d), Screen) => format!(
            "Salesforce did not answer within {:.1} s. It may be busy: try again in a moment.",
            d.as_secs_f64()
        ),
        (E::Timeout(_), Stale) => "Salesforce is slow to answer".into(),
        (E::Timeout(d), Create) => format!(
            "Salesforce did not answer within {:.1} s, so the record may or may not exist. Submitting again checks first; it will not create a second one.",
            d.as_secs_f64()
        ),
        (E::Timeout(_), Task) => {
            "Salesforce didn't answer in time. Trying again won't log it twice.".into()
        }

        // Down.
        (E::Unavailable(_), Screen) => "Salesforce is down or under maintenance right now. Try again in a moment; Salesforce's status page says when it is back.".into(),
        (E::Unavailable(_), Create) => {
            "Salesforce is unavailable right now. Nothing was created; try again in a moment.".into()
        }
        (E::Unavailable(_), Task) => {
            "Salesforce is unavailable right now. Trying again won't log it twice.".into()
        }

        // An answer this app could not read.
        (E::Malformed(_), Screen) => "Salesforce answered, but with something this app could not read. Try again; if it keeps happening, tell your admin.".into(),
        (E::Malformed(_), Stale) => "Salesforce sent an answer this app could not read".into(),
        (E::Malformed(_), Create) => "Salesforce sent an answer this app could not read. Refresh to check whether the record was created.".into(),

        // A missing permission.
        (E::Forbidden(why), Screen) => format!(
            "The Salesforce integration user is missing a permission: {}. An admin grants it in Salesforce Setup (the integration user's profile or permission sets).",
            escape_markup(why)
        ),
        (E::Forbidden(why), Create) => format!(
            "Salesforce refused the integration user ({why}). An admin needs to grant it create access."
        ),
        (E::Forbidden(_), Task) => {
            "The Salesforce integration user isn't allowed to create tasks or leads.".into()
        }

        // A record that is gone.
        (E::NotFound, Screen) => "Salesforce could not find that record; it may have been deleted or merged. Refresh to look the person up again.".into(),
        (E::NotFound, Create) => "Salesforce could not find a record this form refers to; Refresh and try again.".into(),

        // Salesforce said no, in its own words.
        (E::Rejected { errors, .. }, Screen) => errors
            .first()
            .map(|e| format!("{} ({})", escape_markup(&e.message), e.error_code))
            .unwrap_or_else(|| "Salesforce gave no reason.".to_string()),
        (E::Rejected { errors, .. }, Create) if !errors.is_empty() => errors
            .iter()
            .map(|e| format!("Salesforce: {}", e.message))
            .collect::<Vec<_>>()
            .join(" "),
        (E::Rejected { .. }, Create) => {
            "Salesforce refused the record without saying why. Nothing was created.".into()
        }
        (E::Rejected { errors, .. }, Task) if !errors.is_empty() => format!(
            "Salesforce refused it: {}",
            errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),

        // A stale panel names only the three faults it can meet with data
        // to show; anything else there reads as an outage.
        (_, Stale) => "Salesforce isn't answering".into(),
        // The task screens say the rest in the error's own words.
        (other, Task) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn every_error() -> Vec<SalesforceError> {
        vec![
            SalesforceError::NotConfigured("no SALESFORCE_CLIENT_ID".into()),
            SalesforceError::Reconnect("invalid_grant".into()),
            SalesforceError::ApiLimit,
            SalesforceError::Timeout(Duration::from_millis(4000)),
            SalesforceError::Unavailable("503".into()),
            SalesforceError::Malformed("not JSON".into()),
            SalesforceError::Forbidden("Case: create".into()),
            SalesforceError::NotFound,
            SalesforceError::Rejected {
                status: 400,
                errors: vec![],
            },
        ]
    }

    #[test]
    fn every_fault_has_words_everywhere() {
        for e in every_error() {
            assert!(!fault_title(&e).is_empty());
            for t in [
                Telling::Screen,
                Telling::Stale,
                Telling::Create,
                Telling::Task,
            ] {
                assert!(!fault_text(&e, t).trim().is_empty(), "{e:?} told {t:?}");
            }
        }
    }

    #[test]
    fn a_create_says_whether_the_record_may_exist() {
        let slow = SalesforceError::Timeout(Duration::from_millis(4000));
        assert!(fault_text(&slow, Telling::Create).contains("may or may not exist"));
        assert!(
            fault_text(&SalesforceError::ApiLimit, Telling::Create).contains("Nothing was created")
        );
        assert!(fault_text(&slow, Telling::Task).contains("won't log it twice"));
    }

    #[test]
    fn the_screen_escapes_salesforce_words_and_plain_text_does_not() {
        // Canvas Kit markup: `**` would start bold text.
        let e = SalesforceError::Forbidden("**Case** create".into());
        assert!(fault_text(&e, Telling::Screen).contains(r"\*\*Case\*\* create"));
        assert!(fault_text(&e, Telling::Create).contains("(**Case** create)"));
    }
}
