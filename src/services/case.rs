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

/// How far back a retried close looks for the transcript comment it may
/// have added.
pub const COMMENT_LOOK_BACK: ChronoDuration = ChronoDuration::minutes(15);
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

/// How an upsert by external id came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upserted {
    pub id: String,
    /// `true`: no Case had the value, one was created.
    pub created: bool,
}

/// The Case as the sidebar and the action show it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CaseSummary {
    pub id: String,
    #[serde(default)]
    pub case_number: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub owner: Option<OwnerName>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OwnerName {
    #[serde(rename = "Name", default)]
    pub name: Option<String>,
}

/// The header that keeps Salesforce's assignment rules from running on an
/// update (and taking the Case from its owner).
pub const NO_AUTO_ASSIGN: (&str, &str) = ("Sforce-Auto-Assign", "FALSE");

impl CaseService {
    /// Updates a Case; always with `Sforce-Auto-Assign: FALSE`.
    pub async fn update(
        &self,
        case_id: &str,
        fields: &Map<String, Value>,
    ) -> Result<(), crate::salesforce::SalesforceError> {
        self.client
            .update(
                "Case",
                case_id,
                &Value::Object(fields.clone()),
                &[NO_AUTO_ASSIGN],
            )
            .await
    }

    /// Creates or updates the Case whose external-id `field` is `value`
    /// (`PATCH /sobjects/Case/{field}/{value}`): at most one Case per value
    /// however often it is sent. `headers`: e.g. [`NO_AUTO_ASSIGN`] when
    /// the Case is known to exist or has a chosen owner.
    pub async fn upsert(
        &self,
        field: &str,
        value: &str,
        case: &NewCase,
        headers: &[(&str, &str)],
    ) -> Result<Upserted, crate::salesforce::SalesforceError> {
        use crate::salesforce::SalesforceError;
        let mut fields = case.fields.clone();
        if !case.contact_id.is_empty() {
            fields.insert("ContactId".into(), Value::String(case.contact_id.clone()));
        }
        if let Some(a) = &case.account_id {
            fields.insert("AccountId".into(), Value::String(a.clone()));
        }
        if let Some(rt) = &case.record_type_id {
            fields.insert("RecordTypeId".into(), Value::String(rt.clone()));
        }
        if let Some(o) = &case.owner_id {
            fields.insert("OwnerId".into(), Value::String(o.clone()));
        }
        // The field is an API name (letters, digits, `_`); the value is one
        // path segment.
        const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'_')
            .remove(b'-')
            .remove(b'.');
        let seg = |s: &str| percent_encoding::utf8_percent_encode(s, SEGMENT).to_string();
        let path = self
            .client
            .data_path(&format!("sobjects/Case/{}/{}", seg(field), seg(value)));
        let reply = self
            .client
            .call(
                http::Method::PATCH,
                &path,
                Some(&Value::Object(fields)),
                headers,
            )
            .await?;
        if reply.status.as_u16() == 300 {
            return Err(SalesforceError::Rejected {
                status: 300,
                errors: vec![crate::salesforce::error::ApiError {
                    message: format!("several Cases have {field} = {value}"),
                    error_code: "MULTIPLE_CHOICES".into(),
                    fields: vec![field.to_string()],
                }],
            });
        }
        #[derive(Deserialize)]
        struct Answer {
            id: String,
            #[serde(default)]
            created: Option<bool>,
        }
        let a: Answer = crate::salesforce::client::parse(&reply.body)?;
        Ok(Upserted {
            created: a.created.unwrap_or(reply.status.as_u16() == 201),
            id: a.id,
        })
    }

    /// The Case's number, status and owner (one query).
    pub async fn summary(
        &self,
        case_id: &str,
    ) -> Result<Option<CaseSummary>, crate::salesforce::SalesforceError> {
        let q = select(&["Id", "CaseNumber", "Status", "Owner.Name"], "Case")
            .filter(Cond::eq("Id", case_id))
            .limit(1);
        Ok(self
            .client
            .query::<CaseSummary>(&q)
            .await?
            .into_iter()
            .next())
    }

    /// Adds a CaseComment (the transcript of one close).
    pub async fn comment(
        &self,
        case_id: &str,
        body: &str,
    ) -> Result<String, crate::salesforce::SalesforceError> {
        self.client
            .create(
                "CaseComment",
                &serde_json::json!({"ParentId": case_id, "CommentBody": body}),
                &[],
            )
            .await
    }

    /// Adds `body` as a CaseComment at most once per `key` (a close's
    /// transcript: a retry after a crash or an uncertain failure looks for
    /// the comment it may have made instead of adding a second one). The
    /// look is the case's newest comment of the last [`COMMENT_LOOK_BACK`]
    /// (a comment's body cannot be filtered on in SOQL): a retry comes
    /// within minutes, an earlier close's comment is older.
    pub async fn comment_once(
        &self,
        key: &LedgerKey,
        case_id: &str,
        body: &str,
    ) -> Result<String, CreateError> {
        let mut fields = Map::new();
        fields.insert("ParentId".into(), Value::String(case_id.to_string()));
        fields.insert("CommentBody".into(), Value::String(body.to_string()));
        let draft = Draft {
            sobject: "CaseComment",
            fields,
            headers: BTreeMap::new(),
            look: select(&["Id"], "CaseComment")
                .filter(Cond::And(vec![
                    Cond::eq("ParentId", case_id),
                    Cond::Ge(
                        "CreatedDate",
                        Literal::DateTime(Utc::now() - COMMENT_LOOK_BACK),
                    ),
                ]))
                .order_by("CreatedDate", Dir::Desc)
                .limit(1),
            refusal: None,
        };
        let created = create_once(&self.client, self.ledger.as_ref(), key, draft, &|_| {
            Vec::new()
        })
        .await?;
        Ok(created.id)
    }

    /// The Salesforce client (describes, sessions).
    pub fn client(&self) -> &Arc<SalesforceClient> {
        &self.client
    }
}
