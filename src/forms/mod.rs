//! Create Lead and New Case from the inbox: the screens' flows.
//!
//! Intercom's own app creates cases without validating them and fails
//! silently; here every form is built from Salesforce's own metadata (the
//! describe, and the UI API's picklist values per record type), checked
//! before anything is sent, and Salesforce's answer lands next to the field
//! it names, with everything the teammate typed kept. The creates are the
//! domain services' ([`crate::services`]): idempotent per form (a token in
//! `stored_data` keys the ledger), one Salesforce round trip from submit to
//! the refreshed panel (the lookup rides along in the create's composite).
//! Every submit is re-checked against the signed person's current records
//! (the profile service's answer), never against what the canvas carried.
//!
//! - [`lead`], [`case`]: the two flows (I/O)
//! - the form model and the describe parsing live in [`crate::fields`],
//!   rendering in `panels::forms`

pub mod case;
pub mod lead;

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use moka::future::Cache;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::actions::{ids, CaseAction, LeadAction};
use crate::canvas::components::Component;
use crate::canvas::{Canvas, CanvasRequest};
use crate::config::FormSettings;
use crate::fields::describe::{Describe, RecordTypePicklists};
use crate::fields::model::{apply_salesforce_errors, FormState};
use crate::intercom::IntercomClient;
use crate::profile::ProfileService;
use crate::salesforce::auth::Session;
use crate::salesforce::client::parse;
use crate::salesforce::{SalesforceClient, SalesforceError};
use crate::services::{CreateError, InMemoryLedger, Ledger, LedgerKey};

/// What a form submit comes to.
pub enum Reply {
    /// A screen of the form's own (the form, or why it is not offered).
    Screen(Canvas),
    /// A record was created: the refreshed panel goes under this banner.
    Created { banner: Vec<Component> },
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

/// A form token from `stored_data`, if it looks like one of ours.
fn stored_token(req: &CanvasRequest) -> String {
    req.stored_str(ids::TOKEN)
        .filter(|t| !t.is_empty() && t.len() <= 64 && t.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(str::to_string)
        .unwrap_or_else(new_token)
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
    /// (org, email) → the active user: the form looks the owner up when it
    /// opens, so the submit costs no second round trip for it.
    users: Cache<(String, String), Option<SfUser>>,
    ledger: Arc<dyn Ledger>,
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
            users: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(10 * 60))
                .build(),
            ledger: Arc::new(InMemoryLedger::default()),
        }
    }

    /// Keeps the idempotency ledger somewhere else (a durable store).
    pub fn with_ledger(mut self, ledger: Arc<dyn Ledger>) -> Forms {
        self.ledger = ledger;
        self
    }

    /// A `lead_*` submit.
    pub async fn lead(
        &self,
        profiles: &ProfileService,
        req: &CanvasRequest,
        a: LeadAction,
    ) -> Reply {
        match a {
            LeadAction::Create => lead::create(self, profiles, req).await,
            LeadAction::Open => Reply::Screen(lead::open(self, profiles, req).await),
        }
    }

    /// A `case_*` submit.
    pub async fn case(
        &self,
        profiles: &ProfileService,
        req: &CanvasRequest,
        a: CaseAction,
    ) -> Reply {
        match a {
            CaseAction::Create => case::create(self, profiles, req).await,
            CaseAction::RecordType => {
                Reply::Screen(case::change_record_type(self, profiles, req).await)
            }
            CaseAction::Open => Reply::Screen(case::open(self, profiles, req).await),
        }
    }

    /// The describe of `sobject` (cached per org).
    async fn describe(
        &self,
        client: &SalesforceClient,
        session: &Session,
        sobject: &str,
    ) -> Result<Arc<Describe>, SalesforceError> {
        let key = (session.org_id.clone(), sobject.to_string());
        self.describes
            .try_get_with(key, async {
                let v = client.describe(sobject).await?;
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
        client: &SalesforceClient,
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

    /// The active Salesforce user with this email (cached per org).
    async fn user_by_email(
        &self,
        client: &SalesforceClient,
        session: &Session,
        email: &str,
    ) -> Result<Option<SfUser>, SalesforceError> {
        let key = (session.org_id.clone(), email.trim().to_lowercase());
        self.users
            .try_get_with(key, async {
                let q = crate::salesforce::lookup::active_user_query(email);
                let rows: Vec<UserRow> = client.query(&q).await?;
                Ok(rows.into_iter().next().map(|u| SfUser {
                    name: u.name.unwrap_or_else(|| email.to_string()),
                    id: u.id,
                }))
            })
            .await
            .map_err(|e: Arc<SalesforceError>| (*e).clone())
    }

    /// The ledger key of this form for this person in this org.
    fn ledger_key(&self, req: &CanvasRequest, org: &str, form: &str, token: &str) -> LedgerKey {
        let email = req
            .person()
            .and_then(|p| p.email())
            .unwrap_or("")
            .to_lowercase();
        LedgerKey::new(
            req.workspace_id.as_deref().unwrap_or(""),
            format!("{form}\u{1f}{org}\u{1f}{email}\u{1f}{token}"),
        )
    }
}

/// A failed create, on the form: Salesforce's own errors next to their
/// fields, anything else on top.
fn show_create_error(
    state: &mut FormState,
    fields: &[crate::fields::model::FormField],
    e: &CreateError,
) {
    match e {
        CreateError::Salesforce {
            error: SalesforceError::Rejected { errors, .. },
            ..
        } => apply_salesforce_errors(state, fields, errors),
        CreateError::Salesforce { error, .. } => state.errors.push(crate::panels::fault_text(error, crate::panels::Telling::Create)),
        CreateError::InFlight => state.errors.push(
            "This form's create is still running (a double click, or a retried request). Submit again in a moment to see the record; it will not be created twice.".to_string(),
        ),
        CreateError::Invalid(why) | CreateError::Refused(why) => state.errors.push(why.clone()),
        CreateError::Ledger(e) => {
            state
                .errors
                .push(format!("Nothing was created: {e}. Try again in a moment."))
        }
    }
}
