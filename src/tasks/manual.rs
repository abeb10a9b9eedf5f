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

use std::collections::HashMap;

use chrono::Utc;
use serde_json::Value;

use super::rules::{self, Target, TaskKind};
use super::{Lookup, Outcome, TaskError, TaskFields, Tasks};
use crate::canvas::{Canvas, CanvasRequest};
use crate::intercom::IntercomError;
use crate::panels::record_url;
use crate::panels::tasks::{
    task_error_canvas, task_ids, task_picker_canvas, task_result_canvas, FailedRow, LoggedRow,
    PickOption, TaskReport,
};
use crate::salesforce::client::{SubRequest, SubResponse};
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
        let lookup = self
            .lookup(&email, ctx.assignee_email.as_deref(), &subject)
            .await?;
        let workspace = self.workspace(req.workspace_id.as_deref());
        let fields = TaskFields {
            subject,
            description: rules::description(&body, workspace, conversation),
            completed: true,
        };
        // Nobody has the email: the Lead is created in the same round trip
        // as its Task.
        let new_lead = lookup
            .targets
            .is_empty()
            .then(|| rules::new_lead(&email, name.as_deref(), company.as_deref()));
        let written = self.write_all(&lookup, new_lead.as_ref(), &fields).await?;
        let session = self.sf.session().await?;
        let instance = session.instance_url.as_str().trim_end_matches('/');
        let mut report = TaskReport {
            what: what.to_string(),
            logged: Vec::new(),
            failed: Vec::new(),
            lead_created: new_lead.map(|(_, display)| display),
        };
        for (t, outcome) in written {
            match outcome {
                Ok((id, outcome)) => report.logged.push(LoggedRow {
                    name: t.name.clone(),
                    sobject: t.sobject.to_string(),
                    task_url: record_url(instance, "Task", &id),
                    updated: outcome == super::Outcome::Updated,
                    related_to_opportunity: t.what_id.is_some()
                        && outcome == super::Outcome::Created,
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

    /// Every write of a manual task in one `/composite` round trip (two
    /// only past 25 records): the new Lead first when there is one (its
    /// Task names it as `@{lead.id}`), then per record a Task create, or an
    /// update of the Task a retry finds. Subrequests succeed or fail one by
    /// one; a Lead that could not be created fails the whole step.
    async fn write_all(
        &self,
        lookup: &Lookup,
        new_lead: Option<&(Value, String)>,
        fields: &TaskFields,
    ) -> Result<Vec<(Target, TaskWrite)>, TaskError> {
        let today = Utc::now().date_naive();
        let mut targets = lookup.targets.clone();
        let mut first = Vec::new();
        if let Some((body, display)) = new_lead {
            first.push(SubRequest {
                method: "POST",
                url: self.sf.data_path("sobjects/Lead/"),
                reference_id: LEAD_REF.to_string(),
                body: Some(body.clone()),
                http_headers: None,
            });
            targets.push(Target {
                sobject: "Lead",
                id: format!("@{{{LEAD_REF}.id}}"),
                name: display.clone(),
                what_id: None,
            });
        }
        let writes: Vec<(Target, SubRequest, Option<String>)> = targets
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let existing = lookup.existing_for(&t.id).map(|e| e.id.clone());
                let sub = match &existing {
                    Some(id) => SubRequest {
                        method: "PATCH",
                        url: self.sf.data_path(&format!("sobjects/Task/{id}")),
                        reference_id: format!("task{i}"),
                        body: Some(rules::task_update_body(
                            &fields.description,
                            fields.completed,
                        )),
                        http_headers: None,
                    },
                    None => SubRequest {
                        method: "POST",
                        url: self.sf.data_path("sobjects/Task/"),
                        reference_id: format!("task{i}"),
                        body: Some(rules::task_create_body(
                            &t,
                            lookup.owner_id.as_deref(),
                            &fields.subject,
                            &fields.description,
                            fields.completed,
                            today,
                        )),
                        http_headers: None,
                    },
                };
                (t, sub, existing)
            })
            .collect();
        let mut answers: HashMap<String, SubResponse> = HashMap::new();
        let mut requests: Vec<SubRequest> = first;
        requests.extend(writes.iter().map(|(_, sub, _)| sub.clone()));
        for chunk in requests.chunks(MAX_SUBREQUESTS) {
            for r in self.sf.composite(chunk).await? {
                answers.insert(r.reference_id.clone(), r);
            }
        }
        let mut lead_id = None;
        if new_lead.is_some() {
            let answer = answers.remove(LEAD_REF).ok_or_else(|| {
                SalesforceError::Malformed("no answer for the Lead create".to_string())
            })?;
            let created: Value = answer.into_result()?;
            lead_id = Some(
                created["id"]
                    .as_str()
                    .ok_or_else(|| SalesforceError::Malformed("a create without an id".into()))?
                    .to_string(),
            );
        }
        Ok(writes
            .into_iter()
            .map(|(mut t, sub, existing)| {
                if t.id.starts_with('@') {
                    t.id = lead_id.clone().unwrap_or_default();
                }
                let outcome = match answers.remove(&sub.reference_id) {
                    None => Err(SalesforceError::Malformed(
                        "Salesforce's answer left this write out".to_string(),
                    )),
                    Some(a) if !(200..300).contains(&a.status) => {
                        Err(a.into_result::<Value>().expect_err("a failed sub-answer"))
                    }
                    Some(a) => match existing {
                        Some(id) => Ok((id, Outcome::Updated)),
                        None => a.body["id"]
                            .as_str()
                            .map(|id| (id.to_string(), Outcome::Created))
                            .ok_or_else(|| {
                                SalesforceError::Malformed("a create without an id".into())
                            }),
                    },
                };
                (t, outcome)
            })
            .collect())
    }
}

/// What one record's write came to.
type TaskWrite = Result<(String, Outcome), SalesforceError>;

/// The composite reference of the new Lead.
const LEAD_REF: &str = "lead";
/// Subrequests in one `/composite`.
const MAX_SUBREQUESTS: usize = 25;

/// What the teammate reads when something went wrong.
pub fn reason(e: &TaskError) -> String {
    match e {
        TaskError::Salesforce(s) => crate::panels::fault_text(s, crate::panels::Telling::Task),
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
