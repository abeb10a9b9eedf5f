//! The "New Salesforce task" screens: pick what to log, then which records
//! got the Task (with links) and, for any that did not, why — with a retry
//! that cannot make duplicates.

use crate::canvas::components::*;

/// Component ids of the task screens (all `task_`, so the sidebar hands them
/// over to the tasks module; defined in [`crate::actions`]).
pub use crate::actions::task_ids;

/// One thing the teammate can log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickOption {
    pub id: String,
    pub text: String,
}

pub fn task_picker_canvas(options: &[PickOption]) -> Canvas {
    let mut c = vec![
        header("New Salesforce task"),
        muted(
            "Log the conversation, or one message or note of it, as a completed task on the \
             person's Salesforce Leads and Contacts (a Lead is created if there is none).",
        ),
    ];
    c.push(Component::SingleSelect(SingleSelect {
        id: task_ids::CHOICE.to_string(),
        label: Some("What to log".to_string()),
        options: options
            .iter()
            .map(|o| SelectOption {
                id: o.id.clone(),
                text: o.text.clone(),
                disabled: false,
            })
            .collect(),
        value: options.first().map(|o| o.id.clone()),
        action: None,
        save_state: None,
        disabled: false,
    }));
    c.push(submit_button(
        task_ids::CREATE,
        "Log to Salesforce",
        ButtonStyle::Primary,
    ));
    c.push(submit_button(
        super::ids::BACK,
        "Cancel",
        ButtonStyle::Secondary,
    ));
    Canvas::new(c).with_data("view", "task_pick")
}

/// A record that has the Task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRow {
    pub name: String,
    pub sobject: String,
    pub task_url: String,
    /// The same thing was logged before: that Task was brought up to date.
    pub updated: bool,
    pub related_to_opportunity: bool,
}

/// A record that did not get it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRow {
    pub name: String,
    pub sobject: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskReport {
    /// "the conversation", "a note", "a message".
    pub what: String,
    pub logged: Vec<LoggedRow>,
    pub failed: Vec<FailedRow>,
    /// The Lead made for the person, when they were not in Salesforce.
    pub lead_created: Option<String>,
}

pub fn task_result_canvas(r: &TaskReport, choice: &str) -> Canvas {
    let mut c = Vec::new();
    if r.failed.is_empty() {
        c.push(header("Logged to Salesforce"));
    } else if r.logged.is_empty() {
        c.push(header("Not logged to Salesforce"));
    } else {
        c.push(header("Partly logged to Salesforce"));
    }
    if let Some(lead) = &r.lead_created {
        c.push(muted(format!(
            "{} was not in Salesforce: a Lead was created.",
            escape_markup(lead)
        )));
    }
    if !r.logged.is_empty() {
        c.push(muted(format!(
            "A completed task with {} is on {} record{}:",
            r.what,
            r.logged.len(),
            if r.logged.len() == 1 { "" } else { "s" }
        )));
        c.push(Component::List(List {
            items: r
                .logged
                .iter()
                .enumerate()
                .map(|(i, l)| ListItem {
                    id: format!("task_logged_{i}"),
                    title: format!("{} · {}", l.name, l.sobject),
                    subtitle: Some(
                        if l.updated {
                            "Already logged: task updated"
                        } else {
                            "Task created"
                        }
                        .to_string(),
                    ),
                    tertiary_text: l
                        .related_to_opportunity
                        .then(|| "Related to their open opportunity".to_string()),
                    action: Some(Action::Url {
                        url: l.task_url.clone(),
                    }),
                    disabled: false,
                })
                .collect(),
            disabled: false,
        }));
    }
    for f in &r.failed {
        c.push(error_text(format!(
            "Not logged on {} · {}: {}",
            escape_markup(&f.name),
            f.sobject,
            escape_markup(&f.reason)
        )));
    }
    if !r.failed.is_empty() {
        c.push(submit_button(
            task_ids::RETRY,
            "Try again",
            ButtonStyle::Primary,
        ));
    }
    // Back re-reads Salesforce: a Lead may have been created.
    c.push(submit_button(
        super::ids::REFRESH,
        "Back",
        ButtonStyle::Secondary,
    ));
    Canvas::new(c)
        .with_data("view", "task_result")
        .with_data(task_ids::CHOICE, choice)
}

/// Nothing could be logged (or listed): why, and a retry when it may help.
pub fn task_error_canvas(reason: &str, retry: Option<(&str, Option<&str>)>) -> Canvas {
    let mut c = vec![
        header("New Salesforce task"),
        error_text(escape_markup(reason)),
    ];
    let mut canvas_choice = None;
    if let Some((id, choice)) = retry {
        c.push(submit_button(id, "Try again", ButtonStyle::Primary));
        canvas_choice = choice;
    }
    c.push(submit_button(
        super::ids::BACK,
        "Back",
        ButtonStyle::Secondary,
    ));
    let mut canvas = Canvas::new(c).with_data("view", "task_error");
    if let Some(choice) = canvas_choice {
        canvas = canvas.with_data(task_ids::CHOICE, choice);
    }
    canvas
}
