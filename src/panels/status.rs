//! Screens for when there is nothing to show: Salesforce faults, a person
//! without an email, a workspace this app does not serve. Each says what
//! happened in the teammate's words and offers a retry where one can help.

use super::ids;
use crate::canvas::components::*;
use crate::salesforce::SalesforceError;

/// What happened, in the teammate's words, and what to do; Try again
/// redraws the panel.
pub fn error_canvas(err: &SalesforceError) -> Canvas {
    error_canvas_retrying(err, ids::RETRY)
}

/// The same screen for a flow that has its own retry: `retry` is the
/// component id Try again submits (e.g. the form's open button, so a New
/// Case that met an outage comes back to the form, not the panel).
pub fn error_canvas_retrying(err: &SalesforceError, retry: &str) -> Canvas {
    let mut status_page = false;
    let (title, body): (&str, String) = match err {
        SalesforceError::NotConfigured(why) => (
            "Salesforce isn't connected",
            format!(
                "This app has no Salesforce org to read from yet ({}). An admin sets SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET and SALESFORCE_REFRESH_TOKEN where the app runs and restarts it.",
                escape_markup(why)
            ),
        ),
        SalesforceError::Reconnect(_) => (
            "Reconnect Salesforce",
            "Salesforce no longer accepts this app's sign-in: its access was revoked or has expired, so no live data can be shown. An admin reconnects it: sign in to Salesforce as the integration user through the app's connected app, set the token Salesforce gives in SALESFORCE_REFRESH_TOKEN and restart the app. Then click Check again.".to_string(),
        ),
        SalesforceError::ApiLimit => (
            "Salesforce API limit reached",
            "Your org has used its 24-hour allowance of API requests, so Salesforce refuses to answer for now. It answers again as the allowance frees up; an admin can check usage in Salesforce Setup under Company Information.".to_string(),
        ),
        SalesforceError::Timeout(d) => (
            "Salesforce is slow to answer",
            format!(
                "Salesforce did not answer within {:.1} s. It may be busy: try again in a moment.",
                d.as_secs_f64()
            ),
        ),
        SalesforceError::Unavailable(_) => {
            status_page = true;
            (
                "Salesforce is unavailable",
                "Salesforce is down or under maintenance right now. Try again in a moment; Salesforce's status page says when it is back.".to_string(),
            )
        }
        SalesforceError::Malformed(_) => (
            "Unexpected answer from Salesforce",
            "Salesforce answered, but with something this app could not read. Try again; if it keeps happening, tell your admin.".to_string(),
        ),
        SalesforceError::Forbidden(why) => (
            "Salesforce refused access",
            format!(
                "The Salesforce integration user is missing a permission: {}. An admin grants it in Salesforce Setup (the integration user's profile or permission sets).",
                escape_markup(why)
            ),
        ),
        SalesforceError::NotFound => (
            "Record not found",
            "Salesforce could not find that record; it may have been deleted or merged. Refresh to look the person up again.".to_string(),
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
        c.push(submit_button(retry, "Try again", ButtonStyle::Primary));
    } else if matches!(
        err,
        SalesforceError::Reconnect(_) | SalesforceError::NotConfigured(_)
    ) {
        // Only once an admin has acted: a plain re-read, never a retry loop.
        let again = if retry == ids::RETRY {
            ids::REFRESH
        } else {
            retry
        };
        c.push(submit_button(again, "Check again", ButtonStyle::Secondary));
    } else {
        c.push(submit_button(
            ids::REFRESH,
            "Refresh",
            ButtonStyle::Secondary,
        ));
    }
    if status_page {
        c.push(url_button(
            "salesforce_status",
            "Salesforce status page",
            "https://status.salesforce.com",
        ));
    }
    if retry != ids::RETRY {
        c.push(submit_button(ids::BACK, "Back", ButtonStyle::Secondary));
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
