//! "New Salesforce task" from the sidebar: the teammate picks the whole
//! conversation or one recent message or note (read through the Intercom
//! REST API), and it is logged as a completed Task on every Lead and Contact
//! with the original participant's email — a Lead is created first when
//! there is none.
//!
//! Nothing from `stored_data` is trusted: the conversation id comes from
//! Intercom's signed request, and the chosen part is looked up again in the
//! conversation Intercom returns. A retry repeats the whole step; Tasks
//! already made are found by Subject and WhoId and updated, not duplicated.

use super::rules::{self, TaskKind};
use super::{TaskError, TaskFields, Tasks};
use crate::canvas::{Canvas, CanvasRequest};
use crate::intercom::IntercomError;
use crate::panels::record_url;
use crate::panels::tasks::{
    task_error_canvas, task_ids, task_picker_canvas, task_result_canvas, FailedRow, LoggedRow,
    PickOption, TaskReport,
};
use crate::salesforce::SalesforceError;

/// Recent messages offered besides the whole conversation (Canvas Kit
/// allows ten options in a single-select).
pub const RECENT_PARTS: usize = 6;

impl Tasks {
    /// Every `task_*` submit from the sidebar.
    pub async fn submit(&self, req: &CanvasRequest) -> Canvas {
        let Some(conversation) = req.conversation.as_ref().and_then(|c| c.id.clone()) else {
            return task_error_canvas("Open a conversation to log it to Salesforce.", None);
        };
        let stored = req.stored_str(task_ids::CHOICE);
        match req.component_id.as_deref().unwrap_or("") {
            task_ids::CREATE => {
                let choice = req
                    .input_str(task_ids::CHOICE)
                    .or(stored)
                    .unwrap_or(task_ids::WHOLE)
                    .to_string();
                self.log(req, &conversation, &choice).await
            }
            task_ids::RETRY => {
                let choice = stored.unwrap_or(task_ids::WHOLE).to_string();
                self.log(req, &conversation, &choice).await
            }
            _ => self.picker(req, &conversation).await,
        }
    }

    async fn picker(&self, req: &CanvasRequest, conversation: &str) -> Canvas {
        let region = req.workspace_region.as_deref();
        let conv = match self.intercom.conversation(region, conversation).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the conversation for a task");
                return task_error_canvas(&reason(&e.into()), Some((task_ids::NEW, None)));
            }
        };
        let msgs = rules::messages(&conv);
        let mut options = vec![PickOption {
            id: task_ids::WHOLE.to_string(),
            text: format!(
                "Whole conversation ({} message{})",
                msgs.len(),
                if msgs.len() == 1 { "" } else { "s" }
            ),
        }];
        options.extend(msgs.iter().rev().take(RECENT_PARTS).map(|m| PickOption {
            id: format!("part:{}", m.id),
            text: rules::truncate(
                &format!(
                    "{} · {}: {}",
                    if m.note { "Note" } else { "Message" },
                    m.author,
                    m.text
                ),
                80,
            ),
        }));
        task_picker_canvas(&options)
    }

    async fn log(&self, req: &CanvasRequest, conversation: &str, choice: &str) -> Canvas {
        let retry = Some((task_ids::RETRY, Some(choice)));
        match self.log_inner(req, conversation, choice).await {
            Ok(report) => task_result_canvas(&report, choice),
            Err(e @ (TaskError::NoEmail | TaskError::UnknownPart)) => {
                task_error_canvas(&reason(&e), None)
            }
            Err(e) => {
                tracing::warn!(error = %e, conversation, "manual task failed");
                task_error_canvas(&reason(&e), retry)
            }
        }
    }

    async fn log_inner(
        &self,
        req: &CanvasRequest,
        conversation: &str,
        choice: &str,
    ) -> Result<TaskReport, TaskError> {
        let region = req.workspace_region.as_deref();
        let ctx = self.context(region, conversation).await?;
        let msgs = rules::messages(&ctx.conversation);
        let (kind, body, what) = if choice == task_ids::WHOLE {
            (
                TaskKind::Conversation,
                format!("Transcript:\n{}", rules::transcript(&msgs, 4_000)),
                "the conversation",
            )
        } else {
            let id = choice.strip_prefix("part:").ok_or(TaskError::UnknownPart)?;
            let m = msgs
                .iter()
                .find(|m| m.id == id)
                .ok_or(TaskError::UnknownPart)?;
            (
                TaskKind::Part {
                    id: m.id.clone(),
                    note: m.note,
                },
                format!(
                    "{} from {}:\n{}",
                    if m.note { "Note" } else { "Message" },
                    m.author,
                    rules::truncate(&m.text, rules::SNIPPET_CHARS)
                ),
                if m.note { "a note" } else { "a message" },
            )
        };
        // Only the original participant is recorded; the sidebar's person
        // stands in only when Intercom names no participant at all.
        let person = req.person();
        let orphan = ctx.conversation.contacts.is_empty();
        let email = ctx
            .email
            .clone()
            .or_else(|| {
                orphan
                    .then(|| person.and_then(|p| p.email()).map(str::to_string))
                    .flatten()
            })
            .ok_or(TaskError::NoEmail)?;
        let name = ctx.name.clone().or_else(|| {
            orphan
                .then(|| person.and_then(|p| p.name.clone()))
                .flatten()
        });
        let company = person.and_then(|p| p.company_names().into_iter().next());

        let subject = rules::subject(conversation, &kind);
        let mut lookup = self
            .lookup(&email, ctx.assignee_email.as_deref(), &subject)
            .await?;
        let mut lead_created = None;
        if lookup.targets.is_empty() {
            let lead = self
                .create_lead(&email, name.as_deref(), company.as_deref())
                .await?;
            lead_created = Some(lead.name.clone());
            lookup.targets.push(lead);
        }
        let workspace = self.workspace(req.workspace_id.as_deref());
        let fields = TaskFields {
            subject,
            description: rules::description(&body, workspace, conversation),
            completed: true,
        };
        let session = self.sf.session().await?;
        let instance = session.instance_url.as_str().trim_end_matches('/');
        let mut report = TaskReport {
            what: what.to_string(),
            logged: Vec::new(),
            failed: Vec::new(),
            lead_created,
        };
        for t in &lookup.targets {
            let existing = lookup.existing_for(&t.id);
            match self
                .write_task(t, lookup.owner_id.as_deref(), existing, &fields)
                .await
            {
                Ok((id, outcome)) => report.logged.push(LoggedRow {
                    name: t.name.clone(),
                    sobject: t.sobject.to_string(),
                    task_url: record_url(instance, "Task", &id),
                    updated: outcome == super::Outcome::Updated,
                    related_to_opportunity: t.what_id.is_some() && existing.is_none(),
                }),
                Err(e) => {
                    tracing::warn!(error = %e, who = %t.id, "task not created");
                    report.failed.push(FailedRow {
                        name: t.name.clone(),
                        sobject: t.sobject.to_string(),
                        reason: reason(&e.into()),
                    })
                }
            }
        }
        Ok(report)
    }
}

/// What the teammate reads when something went wrong.
pub fn reason(e: &TaskError) -> String {
    match e {
        TaskError::Salesforce(s) => match s {
            SalesforceError::Rejected { errors, .. } if !errors.is_empty() => format!(
                "Salesforce refused it: {}",
                errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            SalesforceError::ApiLimit => {
                "Salesforce's daily API request limit is reached. Try again later.".to_string()
            }
            SalesforceError::Unavailable(_) => {
                "Salesforce is unavailable right now. Trying again won't log it twice.".to_string()
            }
            SalesforceError::Timeout(_) => {
                "Salesforce didn't answer in time. Trying again won't log it twice.".to_string()
            }
            SalesforceError::NotConfigured(_) => {
                "Salesforce isn't connected yet: an admin needs to set up the connection."
                    .to_string()
            }
            SalesforceError::Reconnect(_) => {
                "The Salesforce connection was revoked or expired: an admin needs to reconnect it."
                    .to_string()
            }
            SalesforceError::Forbidden(_) => {
                "The Salesforce integration user isn't allowed to create tasks or leads."
                    .to_string()
            }
            other => other.to_string(),
        },
        TaskError::Intercom(IntercomError::NotConfigured) => {
            "The app has no Intercom access token, so it can't read the conversation.".to_string()
        }
        TaskError::Intercom(e) => format!("Couldn't read the conversation from Intercom: {e}"),
        TaskError::NoEmail => "The person who started this conversation has no email address, \
             so no Salesforce Lead can be created for them."
            .to_string(),
        TaskError::UnknownPart => {
            "That message isn't in this conversation any more. Pick it again.".to_string()
        }
        other => other.to_string(),
    }
}
