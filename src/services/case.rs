//! Case creation: linked to a Contact (and its Account), once per
//! idempotency key, looked up by Contact and Subject after an uncertain
//! outcome, its case number read in the same round trip; callable with or
//! without a screen (automatic cases).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Duration as ChronoDuration, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::create::{create_once, CreateError, Created, Draft, How};
use super::ledger::{Ledger, LedgerKey};
use crate::salesforce::client::{SalesforceClient, SubRequest};
use crate::salesforce::soql::{select, Cond, Dir, Literal};

/// How far back the look after an uncertain outcome searches.
const LOOK_BACK: ChronoDuration = ChronoDuration::hours(24);
const NUMBER_REF: &str = "case_number";

/// A Case to create.
#[derive(Debug, Clone, Default)]
pub struct NewCase {
    pub contact_id: String,
    pub account_id: Option<String>,
    pub record_type_id: Option<String>,
    /// The owner when not the case assignment rules (then skipped).
    pub owner_id: Option<String>,
    /// Subject, Description and the other fields.
    pub fields: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct CreatedCase {
    pub id: String,
    /// `None` if it could not be read back.
    pub number: Option<String>,
    pub how: How,
    /// The answers of the caller's reads.
    pub reads: Vec<crate::salesforce::client::SubResponse>,
}

impl CreatedCase {
    /// "Case 00001007" (the id when the number is unknown).
    pub fn label(&self) -> String {
        format!("Case {}", self.number.as_deref().unwrap_or(&self.id))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NumberRow {
    #[serde(default)]
    case_number: Option<String>,
}

pub struct CaseService {
    client: Arc<SalesforceClient>,
    ledger: Arc<dyn Ledger>,
}

impl CaseService {
    pub fn new(client: Arc<SalesforceClient>, ledger: Arc<dyn Ledger>) -> CaseService {
        CaseService { client, ledger }
    }

    /// Creates the case at most once per `key`; `reads` ride along in the
    /// same round trip (see [`create_once`]).
    pub async fn create(
        &self,
        key: &LedgerKey,
        case: NewCase,
        reads: &(dyn Fn(&str) -> Vec<SubRequest> + Sync),
    ) -> Result<CreatedCase, CreateError> {
        if case.contact_id.is_empty() {
            return Err(CreateError::Invalid(
                "A case needs a Salesforce Contact.".to_string(),
            ));
        }
        let subject = case
            .fields
            .get("Subject")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut fields = case.fields;
        let mut headers = BTreeMap::new();
        fields.insert("ContactId".into(), Value::String(case.contact_id.clone()));
        if let Some(a) = case.account_id {
            fields.insert("AccountId".into(), Value::String(a));
        }
        if let Some(rt) = case.record_type_id {
            fields.insert("RecordTypeId".into(), Value::String(rt));
        }
        if let Some(owner) = case.owner_id {
            fields.insert("OwnerId".into(), Value::String(owner));
            headers.insert("Sforce-Auto-Assign".into(), "FALSE".into());
        }
        let mut look = vec![
            Cond::eq("ContactId", case.contact_id.as_str()),
            Cond::Ge("CreatedDate", Literal::DateTime(Utc::now() - LOOK_BACK)),
        ];
        if let Some(s) = &subject {
            look.push(Cond::eq("Subject", s.as_str()));
        }
        let draft = Draft {
            sobject: "Case",
            fields,
            headers,
            look: select(&["Id"], "Case")
                .filter(Cond::And(look))
                .order_by("CreatedDate", Dir::Desc)
                .limit(1),
            refusal: None,
        };
        let client = &self.client;
        let with_number = |id: &str| {
            let mut r = vec![SubRequest {
                method: "GET",
                url: client.data_path(&format!("sobjects/Case/{id}?fields=CaseNumber")),
                reference_id: NUMBER_REF.to_string(),
                body: None,
                http_headers: None,
            }];
            r.extend(reads(id));
            r
        };
        let Created { id, how, reads } =
            create_once(client, self.ledger.as_ref(), key, draft, &with_number).await?;
        let (number, reads): (Vec<_>, Vec<_>) = reads
            .into_iter()
            .partition(|r| r.reference_id == NUMBER_REF);
        let number = number
            .into_iter()
            .next()
            .and_then(|r| r.into_result::<NumberRow>().ok())
            .and_then(|n| n.case_number);
        if number.is_none() {
            tracing::warn!(case = %id, "case number not read back");
        }
        Ok(CreatedCase {
            id,
            number,
            how,
            reads,
        })
    }
}
