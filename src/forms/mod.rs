//! Create Lead and New Case from the inbox.
//!
//! Intercom's own app creates cases without validating them and fails
//! silently; here every form is built from Salesforce's own metadata (the
//! describe, and the UI API's picklist values per record type), checked
//! before anything is sent, and Salesforce's answer lands next to the field
//! it names, with everything the teammate typed kept. Creates are
//! idempotent per form (a token in `stored_data`, a ledger here), and a
//! timeout — outcome unknown — makes the next try look before it creates.
//!
//! - [`describe`]: describes and picklist answers → field specs
//! - [`model`]: the form model and the checks (pure)
//! - [`lead`], [`case`]: the two flows (I/O)
//! - rendering lives in `panels::forms`

pub mod case;
pub mod lead;

pub use crate::fields::{describe, model};

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use moka::future::Cache;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::canvas::{Canvas, CanvasRequest};
use crate::config::FormSettings;
use crate::intercom::{IntercomClient, IntercomError};
use crate::salesforce::auth::Session;
use crate::salesforce::client::parse;
use crate::salesforce::SalesforceError;
use crate::sidebar::Sidebar;
use describe::{Describe, RecordTypePicklists};

/// Component ids and `stored_data` keys of the forms (`lead_` / `case_`).
pub mod ids {
    pub const LEAD_OPEN: &str = "lead_open";
    pub const LEAD_CREATE: &str = "lead_create";
    pub const LEAD_FIELD_PREFIX: &str = "lead_f_";
    pub const CASE_OPEN: &str = "case_open";
    pub const CASE_CREATE: &str = "case_create";
    pub const CASE_RECORD_TYPE: &str = "case_record_type";
    pub const CASE_FIELD_PREFIX: &str = "case_f_";
    /// The link to the record just created.
    pub const OPEN_CREATED: &str = "open_created";
    /// `stored_data`: the form's idempotency token.
    pub const TOKEN: &str = "form_token";
    /// `stored_data`: the Contact the case form was drawn for.
    pub const CONTACT: &str = "contact_id";
}

/// Whether a submitted component belongs to the forms.
pub fn handles(component_id: &str) -> bool {
    component_id.starts_with("lead_") || component_id.starts_with("case_")
}

#[derive(Debug, thiserror::Error)]
pub enum FormsError {
    #[error(transparent)]
    Salesforce(#[from] SalesforceError),
    #[error(transparent)]
    Intercom(#[from] IntercomError),
}

/// What one form's create has come to, kept per idempotency token.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Created {
        id: String,
        /// "Lead Zoë O'Brien", "Case 00001007".
        label: String,
    },
    /// The create timed out: it may or may not have happened.
    Unknown { since: DateTime<Utc> },
}

type Slot = Arc<tokio::sync::Mutex<Option<Attempt>>>;

/// Idempotency: one slot per (workspace, org, person, form token). A
/// second submit of the same form waits for the first and sees its outcome.
pub struct Ledger {
    slots: Cache<String, Slot>,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            slots: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(24 * 3600))
                .build(),
        }
    }
}

impl Ledger {
    pub async fn slot(&self, key: String) -> Slot {
        self.slots
            .get_with(key, async { Arc::new(tokio::sync::Mutex::new(None)) })
            .await
    }
}

/// A fresh form token (not a secret: it only tells two submits of one form
/// apart from two forms).
pub fn new_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_i64(Utc::now().timestamp_nanos_opt().unwrap_or_default());
    let a = h.finish();
    h.write_u64(a);
    format!("{a:016x}{:016x}", h.finish())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UserRow {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

/// An active Salesforce user, matched by email.
#[derive(Debug, Clone, PartialEq)]
pub struct SfUser {
    pub id: String,
    pub name: String,
}

pub struct Forms {
    settings: FormSettings,
    intercom: Arc<IntercomClient>,
    /// (org, sobject) → describe. Describes change rarely.
    describes: Cache<(String, String), Arc<Describe>>,
    /// (org, sobject, record type) → picklist values.
    picklists: Cache<(String, String, String), Arc<RecordTypePicklists>>,
    ledger: Ledger,
}

impl Forms {
    pub fn new(settings: FormSettings, intercom: Arc<IntercomClient>) -> Forms {
        let meta_ttl = Duration::from_secs(15 * 60);
        Forms {
            settings,
            intercom,
            describes: Cache::builder()
                .max_capacity(1_000)
                .time_to_live(meta_ttl)
                .build(),
            picklists: Cache::builder()
                .max_capacity(1_000)
                .time_to_live(meta_ttl)
                .build(),
            ledger: Ledger::default(),
        }
    }

    pub fn settings(&self) -> &FormSettings {
        &self.settings
    }

    /// A submit whose component id is `lead_*` or `case_*`.
    pub async fn submit(&self, sidebar: &Sidebar, req: &CanvasRequest) -> Canvas {
        let id = req.component_id.as_deref().unwrap_or("");
        if id.starts_with("lead_") {
            match id {
                ids::LEAD_CREATE => lead::create(self, sidebar, req).await,
                _ => lead::open(self, sidebar, req).await,
            }
        } else {
            match id {
                ids::CASE_CREATE => case::create(self, sidebar, req).await,
                ids::CASE_RECORD_TYPE => case::change_record_type(self, sidebar, req).await,
                _ => case::open(self, sidebar, req).await,
            }
        }
    }

    /// The describe of `sobject` (cached per org).
    async fn describe(
        &self,
        sidebar: &Sidebar,
        session: &Session,
        sobject: &str,
    ) -> Result<Arc<Describe>, SalesforceError> {
        let key = (session.org_id.clone(), sobject.to_string());
        self.describes
            .try_get_with(key, async {
                let v = sidebar.client().describe(sobject).await?;
                Describe::parse(&v)
                    .map(Arc::new)
                    .map_err(SalesforceError::Malformed)
            })
            .await
            .map_err(|e: Arc<SalesforceError>| (*e).clone())
    }

    /// UI API picklist values of a record type (cached per org).
    async fn record_type_picklists(
        &self,
        sidebar: &Sidebar,
        session: &Session,
        sobject: &str,
        record_type: &str,
    ) -> Result<Arc<RecordTypePicklists>, SalesforceError> {
        let key = (
            session.org_id.clone(),
            sobject.to_string(),
            record_type.to_string(),
        );
        self.picklists
            .try_get_with(key, async {
                let client = sidebar.client();
                let path = client.data_path(&format!(
                    "ui-api/object-info/{sobject}/picklist-values/{record_type}"
                ));
                let reply = client.call(Method::GET, &path, None, &[]).await?;
                let v: Value = parse(&reply.body)?;
                Ok(Arc::new(RecordTypePicklists::parse(&v)))
            })
            .await
            .map_err(|e: Arc<SalesforceError>| (*e).clone())
    }

    /// The active Salesforce user with this email.
    async fn user_by_email(
        &self,
        sidebar: &Sidebar,
        email: &str,
    ) -> Result<Option<SfUser>, SalesforceError> {
        let q = crate::salesforce::lookup::active_user_query(email);
        let rows: Vec<UserRow> = sidebar.client().query(&q).await?;
        Ok(rows.into_iter().next().map(|u| SfUser {
            name: u.name.unwrap_or_else(|| email.to_string()),
            id: u.id,
        }))
    }

    /// The ledger slot of this form for this person.
    async fn slot(&self, req: &CanvasRequest, org: &str, form: &str, token: &str) -> Slot {
        let email = req
            .person()
            .and_then(|p| p.email())
            .unwrap_or("")
            .to_lowercase();
        let key = format!(
            "{}\u{1f}{org}\u{1f}{form}\u{1f}{email}\u{1f}{token}",
            req.workspace_id.as_deref().unwrap_or("")
        );
        self.ledger.slot(key).await
    }
}

/// What the teammate reads for a Salesforce fault during a create.
pub fn fault_message(e: &SalesforceError) -> String {
    match e {
        SalesforceError::Timeout(d) => format!(
            "Salesforce did not answer within {:.1} s, so the record may or may not exist. Submitting again checks first; it will not create a second one.",
            d.as_secs_f64()
        ),
        SalesforceError::ApiLimit => "Your org has used its 24-hour allowance of Salesforce API requests. Nothing was created; try again once it frees up.".to_string(),
        SalesforceError::Unavailable(_) => "Salesforce is unavailable right now. Nothing was created; try again in a moment.".to_string(),
        SalesforceError::Forbidden(why) => format!(
            "Salesforce refused the integration user ({why}). An admin needs to grant it create access."
        ),
        SalesforceError::Reconnect(_) | SalesforceError::NotConfigured(_) => {
            "Salesforce isn't connected; an admin needs to reconnect the org.".to_string()
        }
        SalesforceError::NotFound => "Salesforce could not find a record this form refers to; Refresh and try again.".to_string(),
        SalesforceError::Malformed(_) => "Salesforce sent an answer this app could not read. Refresh to check whether the record was created.".to_string(),
        SalesforceError::Rejected { errors, .. } => errors
            .iter()
            .map(|e| format!("Salesforce: {}", e.message))
            .collect::<Vec<_>>()
            .join(" "),
    }
}
