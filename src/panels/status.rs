//! Screens for when there is nothing to show: Salesforce faults, a person
//! without an email, a workspace this app does not serve. Each says what
//! happened in the teammate's words and offers a retry where one can help.

use super::fault::{fault_text, fault_title, Telling};
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
    let status_page = matches!(err, SalesforceError::Unavailable(_));
    let mut c = vec![
        header(fault_title(err)),
        paragraph(fault_text(err, Telling::Screen)),
    ];
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
