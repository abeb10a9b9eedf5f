//! Screens for when there is nothing to show: Salesforce faults, a person
//! without an email, a workspace this app does not serve. Each says what
//! happened in the teammate's words and offers a retry where one can help.

use super::ids;
use crate::canvas::components::*;
use crate::salesforce::SalesforceError;

pub fn error_canvas(err: &SalesforceError) -> Canvas {
    let (title, body): (&str, String) = match err {
        SalesforceError::NotConfigured(why) => (
            "Salesforce isn't connected",
            format!(
                "An admin needs to connect a Salesforce org to this app ({}). See the README's configuration table.",
                escape_markup(why)
            ),
        ),
        SalesforceError::Reconnect(_) => (
            "Reconnect Salesforce",
            "Salesforce revoked or expired this app's access. An admin needs to reconnect the org (a new refresh token) before live data can be shown.".to_string(),
        ),
        SalesforceError::ApiLimit => (
            "Salesforce API limit reached",
            "Your org has used its 24-hour allowance of API requests. Data comes back as the allowance frees up; an admin can check usage in Salesforce Setup under Company Information.".to_string(),
        ),
        SalesforceError::Timeout(d) => (
            "Salesforce is slow to answer",
            format!(
                "Salesforce did not answer within {:.1} s. It may be busy; try again in a moment.",
                d.as_secs_f64()
            ),
        ),
        SalesforceError::Unavailable(_) => (
            "Salesforce isn't answering",
            "Salesforce is unavailable right now. Nothing was lost; try again in a moment.".to_string(),
        ),
        SalesforceError::Malformed(_) => (
            "Unexpected answer from Salesforce",
            "Salesforce sent an answer this app could not read. Try again; if it keeps happening, tell your admin.".to_string(),
        ),
        SalesforceError::Forbidden(why) => (
            "Salesforce refused access",
            format!(
                "The Salesforce integration user is missing a permission: {}. An admin needs to grant it.",
                escape_markup(why)
            ),
        ),
        SalesforceError::NotFound => (
            "Record not found",
            "Salesforce could not find that record; it may have been deleted or merged.".to_string(),
        ),
        SalesforceError::Rejected { errors, .. } => (
            "Salesforce rejected the request",
            errors
                .first()
                .map(|e| format!("{} ({})", escape_markup(&e.message), e.error_code))
                .unwrap_or_else(|| "Salesforce gave no reason.".to_string()),
        ),
    };
    let mut c = vec![header(title), paragraph(body)];
    if err.is_retryable() {
        c.push(submit_button(ids::RETRY, "Try again", ButtonStyle::Primary));
    }
    Canvas::new(c).with_data("view", "error")
}

/// A bug in this app (a handler panicked): say so plainly, offer a retry.
pub fn internal_error_canvas() -> Canvas {
    Canvas::new(vec![
        header("Something went wrong in the Salesforce app"),
        paragraph(
            "The app hit an unexpected error; nothing was sent to Salesforce. Try again; if it keeps happening, tell your admin.",
        ),
        submit_button(ids::RETRY, "Try again", ButtonStyle::Primary),
    ])
    .with_data("view", "error")
}

pub fn no_email_canvas() -> Canvas {
    Canvas::new(vec![
        header("No email address"),
        paragraph(
            "This person has no email address in Intercom, so they can't be matched to a Salesforce Lead or Contact. Add an email to their profile, then refresh.",
        ),
        submit_button(ids::REFRESH, "Refresh", ButtonStyle::Secondary),
    ])
    .with_data("view", "no_email")
}

pub fn workspace_refused_canvas() -> Canvas {
    Canvas::new(vec![
        header("Not available in this workspace"),
        paragraph("This Salesforce app is connected to a different Intercom workspace."),
    ])
    .with_data("view", "refused")
}
