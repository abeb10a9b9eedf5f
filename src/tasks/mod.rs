//! Salesforce Tasks from Intercom conversations: the teammate's "New
//! Salesforce task" ([`manual`]) and the automatic Task of every conversation
//! a known person starts ([`webhook`] → [`crate::store`] → [`worker`]).
//!
//! Both go through [`Tasks`]: who the conversation's original participant is
//! and who it is assigned to (Intercom REST), which Leads and Contacts have
//! that email, the assignee's Salesforce user and any Task already made for
//! the same thing (one Salesforce `/composite`), then one write per record.
//! Writes are made idempotent on Salesforce's side — a Task is looked up by
//! its deterministic Subject and WhoId before one is created — so a retry, a
//! redelivered webhook or a crash between Salesforce's answer and the local
//! commit never makes a second Task.

pub mod manual;
pub mod rules;
pub mod webhook;
pub mod worker;

use std::sync::Arc;

use chrono::Utc;
use serde_json::{json, Value};

use crate::intercom::{Conversation, IntercomClient, IntercomError};
use crate::salesforce::client::{QueryResult, SubRequest};
use crate::salesforce::soql::{select, Cond, Dir};
use crate::salesforce::{SalesforceClient, SalesforceError};
pub use rules::{Target, TaskKind};

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Salesforce(#[from] SalesforceError),
    #[error(transparent)]
    Intercom(#[from] IntercomError),
    #[error("the person has no email address, so no Salesforce Lead can be created")]
    NoEmail,
    #[error("that message is no longer part of the conversation")]
    UnknownPart,
    #[error("task store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// A fault point fired (tests simulate a crash with it).
    #[error("worker stopped at fault point {0:?}")]
    Crashed(worker::FaultPoint),
}

impl TaskError {
    /// Whether the same work may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self {
            TaskError::Salesforce(e) => e.is_retryable(),
            TaskError::Intercom(e) => matches!(
                e,
                IntercomError::Unavailable(_)
                    | IntercomError::RateLimited
                    | IntercomError::Malformed(_)
            ),
            TaskError::Store(_) => true,
            _ => false,
        }
    }
}

/// The conversation and its people, as Intercom has them.
#[derive(Debug, Clone)]
pub struct ConversationContext {
    pub conversation: Conversation,
    /// The original participant's email and name.
    pub email: Option<String>,
    pub name: Option<String>,
    /// The email of the teammate the conversation is assigned to.
    pub assignee_email: Option<String>,
}

/// A Task Salesforce already has for a Subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingTask {
    pub id: String,
    pub who_id: String,
    pub closed: bool,
}

/// The answer of one lookup round trip.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    /// Contacts, then unconverted Leads, oldest first.
    pub targets: Vec<Target>,
    /// The assignee's active Salesforce user; `None`: the integration user.
    pub owner_id: Option<String>,
    pub existing: Vec<ExistingTask>,
}

impl Lookup {
    pub fn existing_for(&self, who_id: &str) -> Option<&ExistingTask> {
        self.existing
            .iter()
            .find(|t| rules::same_id(&t.who_id, who_id))
    }
}

/// How one record got its Task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    /// A Task for the same thing existed and was brought up to date.
    Updated,
}

/// The fields of a Task write.
#[derive(Debug, Clone)]
pub struct TaskFields {
    pub subject: String,
    pub description: String,
    pub completed: bool,
}

pub struct Tasks {
    sf: Arc<SalesforceClient>,
    intercom: Arc<IntercomClient>,
    /// `INTERCOM_WORKSPACE_ID`: requests from other workspaces are refused,
    /// and links use it when a notification does not name its workspace.
    workspace_id: Option<String>,
}

impl Tasks {
    pub fn new(
        sf: Arc<SalesforceClient>,
        intercom: Arc<IntercomClient>,
        workspace_id: Option<String>,
    ) -> Tasks {
        Tasks {
            sf,
            intercom,
            workspace_id,
        }
    }

    /// The conversation, its original participant and its assignee.
    pub async fn context(
        &self,
        region: Option<&str>,
        conversation_id: &str,
    ) -> Result<ConversationContext, TaskError> {
        let conversation = self.intercom.conversation(region, conversation_id).await?;
        let (mut email, mut name) = (None, None);
        // Only the original participant is recorded: the first contact.
        if let Some(first) = conversation.contacts.first() {
            match self.intercom.contact(region, &first.id).await {
                Ok(c) => {
                    email = c.email;
                    name = c.name;
                }
                Err(IntercomError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if email.is_none() {
            if let Some(a) = conversation.source.as_ref().and_then(|s| s.author.as_ref()) {
                if matches!(a.kind.as_deref(), Some("user" | "lead" | "contact")) {
                    email = a.email.clone();
                    name = name.or(a.name.clone());
                }
            }
        }
        let email = email
            .map(|e| e.trim().to_string())
            .filter(|e| e.contains('@'));
        let assignee_email = match conversation.admin_assignee_id.as_deref() {
            Some(id) if id != "0" => match self.intercom.admin(region, id).await {
                Ok(a) => a.email,
                Err(IntercomError::NotFound(_)) => None,
                Err(e) => return Err(e.into()),
            },
            _ => None,
        };
        Ok(ConversationContext {
            conversation,
            email,
            name,
            assignee_email,
        })
    }

    /// Leads and Contacts with `email`, the assignee's user and the Tasks
    /// already named `subject`: one `/composite` round trip.
    pub async fn lookup(
        &self,
        email: &str,
        assignee_email: Option<&str>,
        subject: &str,
    ) -> Result<Lookup, SalesforceError> {
        let email = email.trim().to_lowercase();
        let contacts = select(&["Id", "Name"], "Contact")
            .child(select(
                &["OpportunityId", "Opportunity.IsClosed"],
                "OpportunityContactRoles",
            ))
            .filter(Cond::eq("Email", email.as_str()))
            .order_by("CreatedDate", Dir::Asc)
            .limit(20);
        let leads = select(&["Id", "Name"], "Lead")
            .filter(Cond::And(vec![
                Cond::eq("Email", email.as_str()),
                // A converted Lead takes no new activity: its Contact does.
                Cond::eq("IsConverted", false),
            ]))
            .order_by("CreatedDate", Dir::Asc)
            .limit(20);
        let existing = select(&["Id", "WhoId", "IsClosed"], "Task")
            .filter(Cond::eq("Subject", subject))
            .limit(50);
        let mut reqs = vec![
            self.sub("contacts", &contacts),
            self.sub("leads", &leads),
            self.sub("existing", &existing),
        ];
        if let Some(owner) = assignee_email.map(str::trim).filter(|e| !e.is_empty()) {
            let users = crate::salesforce::lookup::active_user_query(owner);
            reqs.push(self.sub("owner", &users));
        }
        let mut out = Lookup::default();
        let mut leads_found = Vec::new();
        for r in self.sf.composite(&reqs).await? {
            let reference = r.reference_id.clone();
            let page: QueryResult<Value> = r.into_result()?;
            let str_of = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
            match reference.as_str() {
                "contacts" => {
                    for c in &page.records {
                        out.targets.push(Target {
                            sobject: "Contact",
                            id: str_of(c, "Id"),
                            name: str_of(c, "Name"),
                            what_id: rules::contact_what_id(&c["OpportunityContactRoles"]),
                        })
                    }
                }
                "leads" => {
                    for l in &page.records {
                        leads_found.push(Target {
                            sobject: "Lead",
                            id: str_of(l, "Id"),
                            name: str_of(l, "Name"),
                            // A Task on a Lead cannot be related to anything.
                            what_id: None,
                        })
                    }
                }
                "existing" => {
                    out.existing = page
                        .records
                        .iter()
                        .map(|t| ExistingTask {
                            id: str_of(t, "Id"),
                            who_id: str_of(t, "WhoId"),
                            closed: t["IsClosed"].as_bool().unwrap_or(false),
                        })
                        .collect()
                }
                "owner" => {
                    out.owner_id = page.records.first().map(|u| str_of(u, "Id"));
                }
                _ => {}
            }
        }
        out.targets.extend(leads_found);
        out.targets.retain(|t| !t.id.is_empty());
        Ok(out)
    }

    fn sub(&self, id: &str, q: &crate::salesforce::soql::Select) -> SubRequest {
        self.sf.query_sub(id, q)
    }

    /// Creates the Task for `target`, or brings `existing` up to date.
    pub async fn write_task(
        &self,
        target: &Target,
        owner_id: Option<&str>,
        existing: Option<&ExistingTask>,
        fields: &TaskFields,
    ) -> Result<(String, Outcome), SalesforceError> {
        if let Some(t) = existing {
            let body = rules::task_update_body(&fields.description, fields.completed);
            self.sf.update("Task", &t.id, &body, &[]).await?;
            return Ok((t.id.clone(), Outcome::Updated));
        }
        let body = rules::task_create_body(
            target,
            owner_id,
            &fields.subject,
            &fields.description,
            fields.completed,
            Utc::now().date_naive(),
        );
        let id = self.sf.create("Task", &body, &[]).await?;
        Ok((id, Outcome::Created))
    }

    /// Completes a Task with the final description.
    pub async fn complete_task(
        &self,
        task_id: &str,
        description: &str,
    ) -> Result<(), SalesforceError> {
        self.sf
            .update(
                "Task",
                task_id,
                &json!({"Status": "Completed", "Description": description}),
                &[],
            )
            .await
    }

    /// The workspace a link points into.
    fn workspace<'a>(&'a self, given: Option<&'a str>) -> &'a str {
        given
            .filter(|w| !w.is_empty())
            .or(self.workspace_id.as_deref())
            .unwrap_or("_")
    }
}
