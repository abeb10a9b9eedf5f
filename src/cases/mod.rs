//! Automatic Salesforce Cases: one per conversation, made by a trigger
//! (`conversation.user.created` by a Contact), brought up to date on every
//! close (`conversation.admin.closed`: the transcript, the mapped
//! attributes, the configured close status), or by the Workflow action
//! ([`action`]).
//!
//! - Exactly one Case per conversation: the store's case map first; then,
//!   with `SALESFORCE_CASE_EXTERNAL_ID_FIELD`, an upsert on that field
//!   (`PATCH /sobjects/Case/{field}/{conversation id}`), else the one
//!   idempotent-create mechanism (`services::CaseService::create`, keyed by
//!   the conversation: after an uncertain failure it looks for the Case by
//!   Contact and Subject before creating).
//! - Every update sends `Sforce-Auto-Assign: FALSE`.
//! - Mapped attribute values are converted to their field's type before
//!   anything is sent; one that cannot be refuses the write (a
//!   [`CaseError::BadValue`]): nothing half-valid goes out.
//! - [`CaseError::is_transient`] failures are retried by the worker with
//!   back-off; the others become sync errors (`store::sync_errors`).

pub mod action;
pub mod values;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::fields::describe::{Describe, RecordTypePicklists};
use crate::intercom::{conversation_url, IntercomClient, IntercomError};
use crate::salesforce::soql::{select, Cond, Dir};
use crate::salesforce::SalesforceError;
use crate::services::case::{CaseService, NewCase};
use crate::services::{CreateError, LedgerKey};
use crate::settings::{Transcript, WorkspaceSettings};
use crate::store::{NewSyncError, Store, StoreError, SyncKind};
use crate::tasks::rules;

/// The prefix of the queue topics of case work (`case:conversation.user.created`,
/// `case:conversation.admin.closed`, `case:action`).
pub const CASE_TOPIC_PREFIX: &str = "case:";
/// A Workflow action's work that went to the queue.
pub const TOPIC_ACTION: &str = "case:action";

/// How long a Case describe is reused.
const DESCRIBE_TTL: Duration = Duration::from_secs(300);

/// Why a Case was not written.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error(
        "the conversation's person has no email address, so no Salesforce Contact can be found"
    )]
    NoEmail,
    #[error("{email} is not a Salesforce Contact (a case needs a Contact; a Lead or someone unknown gets none)")]
    NotAContact { email: String },
    #[error("attribute “{}” → {}: {}", .0.attribute, .0.field, .0.why)]
    BadValue(values::BadValue),
    #[error(transparent)]
    Salesforce(#[from] SalesforceError),
    #[error(transparent)]
    Intercom(#[from] IntercomError),
    #[error("case store: {0}")]
    Store(#[from] StoreError),
    #[error("another try of this case is still running")]
    InFlight,
    #[error("{0}")]
    Invalid(String),
}

impl From<CreateError> for CaseError {
    fn from(e: CreateError) -> Self {
        match e {
            CreateError::InFlight => CaseError::InFlight,
            CreateError::Invalid(m) | CreateError::Refused(m) => CaseError::Invalid(m),
            CreateError::Salesforce { error, .. } => CaseError::Salesforce(error),
            other => CaseError::Invalid(other.to_string()),
        }
    }
}

impl CaseError {
    /// A retry soon may succeed: an outage, a timeout, a lock, the API
    /// limit, Intercom unavailable, our own store.
    pub fn is_transient(&self) -> bool {
        match self {
            CaseError::Salesforce(e) => e.is_retryable(),
            CaseError::Intercom(e) => matches!(
                e,
                IntercomError::Unavailable(_)
                    | IntercomError::RateLimited
                    | IntercomError::Malformed(_)
            ),
            CaseError::Store(_) | CaseError::InFlight => true,
            _ => false,
        }
    }

    /// Waits for a working connection rather than for an operator.
    pub fn needs_connection(&self) -> bool {
        matches!(
            self,
            CaseError::Salesforce(
                SalesforceError::Reconnect(_) | SalesforceError::NotConfigured(_)
            )
        ) || self.is_transient()
    }

    /// (code, message, fields) for a sync error: Salesforce's own when it
    /// refused, the app's otherwise.
    pub fn parts(&self) -> (String, String, Vec<String>) {
        match self {
            CaseError::Salesforce(SalesforceError::Rejected { errors, .. })
                if !errors.is_empty() =>
            {
                (
                    errors[0].error_code.clone(),
                    errors
                        .iter()
                        .map(|e| e.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; "),
                    errors.iter().flat_map(|e| e.fields.clone()).collect(),
                )
            }
            CaseError::Salesforce(e) => (
                match e {
                    SalesforceError::Forbidden(_) => "INSUFFICIENT_ACCESS",
                    SalesforceError::ApiLimit => "REQUEST_LIMIT_EXCEEDED",
                    SalesforceError::Reconnect(_) | SalesforceError::NotConfigured(_) => {
                        "NOT_CONNECTED"
                    }
                    SalesforceError::NotFound => "NOT_FOUND",
                    _ => "UNAVAILABLE",
                }
                .to_string(),
                e.to_string(),
                Vec::new(),
            ),
            CaseError::NoEmail => ("NO_EMAIL".into(), self.to_string(), Vec::new()),
            CaseError::NotAContact { .. } => ("NOT_A_CONTACT".into(), self.to_string(), Vec::new()),
            CaseError::BadValue(b) => ("BAD_VALUE".into(), self.to_string(), vec![b.field.clone()]),
            CaseError::Intercom(_) => ("INTERCOM_UNAVAILABLE".into(), self.to_string(), Vec::new()),
            _ => ("FAILED".into(), self.to_string(), Vec::new()),
        }
    }
}

/// What a case write asks for.
#[derive(Debug, Clone, Default)]
pub struct CaseRequest {
    pub conversation_id: String,
    /// The Intercom workspace (links); `None`: the configured one.
    pub workspace_id: Option<String>,
    /// A close: the transcript so far and the close status.
    pub closing: bool,
    /// Attribute values beyond the conversation's (the action's).
    pub attributes: Map<String, Value>,
    /// Create when the conversation has no Case yet (a close of a
    /// conversation without one only updates when `create_on_start` made it).
    pub create: bool,
    /// Write to a Case the conversation already has (a close, the action);
    /// a repeated start trigger leaves it as it is.
    pub update_existing: bool,
    /// The queue job this write is (its retries add a close's transcript
    /// comment once); `None`: the Workflow action's own try.
    pub job_id: Option<String>,
}

/// How a case write came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStatus {
    Created,
    Updated,
    /// Nothing to do (e.g. a close of a conversation without a Case).
    Skipped,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Created => "created",
            CaseStatus::Updated => "updated",
            CaseStatus::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CaseWritten {
    pub case_id: String,
    pub case_number: Option<String>,
    pub case_url: String,
    pub status: CaseStatus,
}

/// The automatic-case flow of one app (single-workspace mode: one store).
pub struct Cases {
    service: CaseService,
    intercom: Arc<IntercomClient>,
    /// `INTERCOM_WORKSPACE_ID`, for links when a job names none.
    workspace_id: Option<String>,
    /// `SALESFORCE_CASE_EXTERNAL_ID_FIELD`.
    external_id_field: Option<String>,
    describe: tokio::sync::Mutex<Option<(Instant, Arc<Describe>)>>,
}

impl Cases {
    pub fn new(
        service: CaseService,
        intercom: Arc<IntercomClient>,
        workspace_id: Option<String>,
        external_id_field: Option<String>,
    ) -> Cases {
        Cases {
            service,
            intercom,
            workspace_id,
            external_id_field,
            describe: tokio::sync::Mutex::new(None),
        }
    }

    fn workspace<'a>(&'a self, given: Option<&'a str>) -> &'a str {
        given
            .filter(|w| !w.is_empty())
            .or(self.workspace_id.as_deref())
            .unwrap_or("_")
    }

    /// The Case describe, read at most every five minutes.
    pub async fn case_describe(&self) -> Result<Arc<Describe>, CaseError> {
        let mut d = self.describe.lock().await;
        if let Some((at, desc)) = d.as_ref() {
            if at.elapsed() < DESCRIBE_TTL {
                return Ok(desc.clone());
            }
        }
        let v = self.service.client().describe("Case").await?;
        let desc = Arc::new(Describe::parse(&v).map_err(|e| {
            CaseError::Salesforce(SalesforceError::Malformed(format!("Case describe: {e}")))
        })?);
        *d = Some((Instant::now(), desc.clone()));
        Ok(desc)
    }

    /// Checks the settings' mappings against the Case describe and the
    /// conversation attribute definitions (settings loaded or saved).
    pub async fn check_settings(&self, settings: &WorkspaceSettings) -> Result<(), CheckError> {
        if settings.auto_cases.mappings.is_empty() {
            return Ok(());
        }
        let describe = self
            .case_describe()
            .await
            .map_err(CheckError::Unreachable)?;
        let defs = self
            .intercom
            .data_attributes(None, "conversation")
            .await
            .ok();
        values::check_mappings(&settings.auto_cases.mappings, &describe, defs.as_deref())
            .map_err(CheckError::Refused)
    }

    /// Creates or updates the conversation's one Case.
    pub async fn write(
        &self,
        store: &Store,
        settings: &WorkspaceSettings,
        req: &CaseRequest,
    ) -> Result<CaseWritten, CaseError> {
        let conv_id = req.conversation_id.as_str();
        let ws = self.workspace(req.workspace_id.as_deref()).to_string();
        let link = conversation_url(&ws, conv_id);
        let mapped = store.case_for(conv_id).await?;
        if let (Some(m), false) = (&mapped, req.update_existing) {
            return Ok(CaseWritten {
                case_id: m.case_id.clone(),
                case_number: m.case_number.clone(),
                case_url: self.case_url(&m.case_id).await,
                status: CaseStatus::Updated,
            });
        }
        if mapped.is_none() && !req.create {
            return Ok(CaseWritten {
                case_id: String::new(),
                case_number: None,
                case_url: String::new(),
                status: CaseStatus::Skipped,
            });
        }
        let conversation = self.intercom.conversation(None, conv_id).await?;
        let describe = self.case_describe().await?;
        let auto = &settings.auto_cases;

        // Attribute values: the conversation's, then the action's.
        let mut attrs = conversation.custom_attributes.clone();
        attrs.extend(req.attributes.clone());
        let record_type = auto
            .record_type
            .as_deref()
            .and_then(|rt| describe.record_type(rt))
            .cloned();
        if let (Some(wanted), None) = (auto.record_type.as_deref(), &record_type) {
            return Err(CaseError::Invalid(format!(
                "the record type {wanted} (auto_cases.record_type) is not available to the integration user"
            )));
        }
        let picklists = match &record_type {
            Some(rt) => Some(self.picklists(&rt.id).await?),
            None => None,
        };
        let mut fields =
            values::mapped_fields(&auto.mappings, &attrs, &describe, picklists.as_ref())
                .map_err(CaseError::BadValue)?;

        let msgs = rules::messages(&conversation);
        let transcript_field = describe
            .field("Description")
            .map(|f| f.length)
            .unwrap_or(32_000);
        let transcript = || {
            values::with_link(
                &format!(
                    "Transcript:\n{}",
                    rules::transcript(&msgs, transcript_field)
                ),
                &link,
                transcript_field.max(200),
            )
        };
        if req.closing {
            if auto.transcript == Transcript::Description {
                fields.insert("Description".into(), Value::String(transcript()));
            }
            if let Some(status) = &auto.close_status {
                fields.insert("Status".into(), Value::String(status.clone()));
            }
        }

        let (case_id, status) = match mapped {
            Some(m) => {
                if !fields.is_empty() {
                    self.service.update(&m.case_id, &fields).await?;
                }
                (m.case_id, CaseStatus::Updated)
            }
            None => {
                // A Case needs the person's Contact.
                let email = self
                    .email_of(&conversation)
                    .await?
                    .ok_or(CaseError::NoEmail)?;
                let (contact_id, account_id) =
                    self.contact(&email).await?.ok_or(CaseError::NotAContact {
                        email: email.clone(),
                    })?;
                let subject_len = describe.field("Subject").map(|f| f.length).unwrap_or(255);
                let first = msgs.first().map(|m| m.text.as_str());
                fields.insert(
                    "Subject".into(),
                    Value::String(values::subject(
                        conversation.title.as_deref(),
                        first,
                        subject_len,
                    )),
                );
                if let Some(o) = auto
                    .origin
                    .as_deref()
                    .filter(|_| describe.field("Origin").is_some())
                {
                    fields.insert("Origin".into(), Value::String(o.to_string()));
                }
                if !req.closing && auto.transcript == Transcript::Description {
                    fields.insert("Description".into(), Value::String(transcript()));
                }
                let case = NewCase {
                    contact_id,
                    account_id,
                    record_type_id: record_type.map(|r| r.id),
                    owner_id: None,
                    fields,
                };
                self.create(conv_id, &ws, case).await?
            }
        };
        if req.closing && auto.transcript == Transcript::Comment {
            let body = values::with_link(&rules::transcript(&msgs, 3_900), &link, 4_000);
            match &req.job_id {
                Some(job) => {
                    let key = LedgerKey::new(ws.as_str(), format!("case-comment:{job}"));
                    self.service.comment_once(&key, &case_id, &body).await?;
                }
                None => {
                    self.service.comment(&case_id, &body).await?;
                }
            }
        }
        let summary = self.service.summary(&case_id).await.ok().flatten();
        let (number, case_status, owner) = match summary {
            Some(s) => (s.case_number, s.status, s.owner.and_then(|o| o.name)),
            None => (None, None, None),
        };
        let m = store
            .map_case(
                conv_id,
                &case_id,
                number.as_deref(),
                case_status.as_deref(),
                owner.as_deref(),
            )
            .await?;
        let case_url = self.case_url(&case_id).await;
        if status == CaseStatus::Created {
            self.note(
                &conversation,
                m.case_number.as_deref().unwrap_or(&case_id),
                &case_url,
            )
            .await;
        }
        Ok(CaseWritten {
            case_id,
            case_number: m.case_number,
            case_url,
            status,
        })
    }

    /// The create: an upsert on the external id when configured, else the
    /// ledger-keyed create (one Case per conversation across retries).
    async fn create(
        &self,
        conv_id: &str,
        ws: &str,
        case: NewCase,
    ) -> Result<(String, CaseStatus), CaseError> {
        match &self.external_id_field {
            Some(field) => {
                let u = self.service.upsert(field, conv_id, &case, &[]).await?;
                Ok((
                    u.id,
                    if u.created {
                        CaseStatus::Created
                    } else {
                        CaseStatus::Updated
                    },
                ))
            }
            None => {
                let key = LedgerKey::new(ws, format!("auto-case:{conv_id}"));
                let c = self.service.create(&key, case, &|_| Vec::new()).await?;
                Ok((
                    c.id,
                    match c.how {
                        crate::services::How::Created => CaseStatus::Created,
                        _ => CaseStatus::Updated,
                    },
                ))
            }
        }
    }

    async fn picklists(&self, record_type_id: &str) -> Result<RecordTypePicklists, CaseError> {
        let client = self.service.client();
        let path = client.data_path(&format!(
            "ui-api/object-info/Case/picklist-values/{record_type_id}"
        ));
        let reply = client.call(http::Method::GET, &path, None, &[]).await?;
        let v: Value = crate::salesforce::client::parse(&reply.body)?;
        Ok(RecordTypePicklists::parse(&v))
    }

    async fn email_of(
        &self,
        c: &crate::intercom::Conversation,
    ) -> Result<Option<String>, CaseError> {
        let mut email = None;
        if let Some(first) = c.contacts.first() {
            match self.intercom.contact(None, &first.id).await {
                Ok(p) => email = p.email,
                Err(IntercomError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if email.is_none() {
            email = c
                .source
                .as_ref()
                .and_then(|s| s.author.as_ref())
                .filter(|a| matches!(a.kind.as_deref(), Some("user" | "lead" | "contact")))
                .and_then(|a| a.email.clone());
        }
        Ok(email
            .map(|e| e.trim().to_lowercase())
            .filter(|e| e.contains('@')))
    }

    /// The oldest Contact with `email`, and its Account.
    async fn contact(&self, email: &str) -> Result<Option<(String, Option<String>)>, CaseError> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Row {
            id: String,
            #[serde(default)]
            account_id: Option<String>,
        }
        let q = select(&["Id", "AccountId"], "Contact")
            .filter(Cond::eq("Email", email))
            .order_by("CreatedDate", Dir::Asc)
            .limit(1);
        let rows: Vec<Row> = self.service.client().query(&q).await?;
        Ok(rows.into_iter().next().map(|r| (r.id, r.account_id)))
    }

    async fn case_url(&self, case_id: &str) -> String {
        match self.service.client().session().await {
            Ok(s) => s
                .instance_url
                .join(&format!("lightning/r/Case/{case_id}/view"))
                .map(|u| u.to_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The note with the case number and its link, from the assignee (a
    /// conversation nobody is assigned gets none: Intercom needs an admin).
    async fn note(&self, c: &crate::intercom::Conversation, number: &str, url: &str) {
        let Some(admin) = c.admin_assignee_id.as_deref().filter(|a| *a != "0") else {
            tracing::info!(conversation = %c.id, "no assignee: the case note is skipped");
            return;
        };
        let html = format!(
            "<p>Salesforce Case <a href=\"{}\">{}</a> was created for this conversation.</p>",
            crate::intercom::html_escape(url),
            crate::intercom::html_escape(number)
        );
        if let Err(e) = self.intercom.add_note(None, &c.id, admin, &html).await {
            tracing::warn!(conversation = %c.id, error = %e, "could not add the case note");
        }
    }

    /// The sync error a permanent failure becomes.
    pub fn sync_error(
        conversation_id: &str,
        attempted: &str,
        e: &CaseError,
        job_id: Option<&str>,
    ) -> NewSyncError {
        let (code, message, fields) = e.parts();
        NewSyncError {
            kind: SyncKind::AutoCase,
            conversation_id: conversation_id.to_string(),
            attempted: attempted.to_string(),
            code,
            message,
            fields,
            job_id: job_id.map(str::to_string),
            next_retry: None,
        }
    }
}

/// Why settings could not be checked or were refused.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0}")]
    Refused(crate::settings::SettingsError),
    #[error("the Case describe could not be read: {0}")]
    Unreachable(CaseError),
}

/// What a queued case job asks (its topic and payload).
pub fn request_for(
    topic: &str,
    conversation_id: &str,
    workspace: Option<&str>,
    payload: &str,
) -> CaseRequest {
    let v: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    let closing = topic.ends_with("conversation.admin.closed");
    let attributes = v
        .get("attributes")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    CaseRequest {
        conversation_id: conversation_id.to_string(),
        workspace_id: workspace.map(str::to_string),
        closing,
        attributes,
        create: !closing || topic == TOPIC_ACTION,
        update_existing: closing || topic == TOPIC_ACTION,
        job_id: None,
    }
}
