//! The one idempotent-create mechanism, for Leads, Cases and whatever a
//! worker creates next:
//!
//! 1. [`Ledger::begin`] on the key: a finished earlier try answers with its
//!    record, a running one with [`CreateError::InFlight`]; after an
//!    uncertain outcome the draft's `look` query runs first, and a record it
//!    finds is taken as the one the earlier try made.
//! 2. The create is **one** `/composite` round trip: the `POST` and, behind
//!    it, the reads the caller wants to ride along (the refreshed panel, a
//!    case number), which may name the new record as `@{created.id}`.
//! 3. Success → [`Ledger::done`]; a failure after which the record may
//!    exist (timeout, connection reset, an unreadable or truncated answer,
//!    5xx) → [`Ledger::unknown`]; a definite refusal (a 4xx with
//!    Salesforce's error body, an API limit, a permission) →
//!    [`Ledger::forget`].

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::ledger::{Begin, Ledger, LedgerError, LedgerKey};
use crate::salesforce::client::{SalesforceClient, SubRequest, SubResponse};
use crate::salesforce::soql::Select;
use crate::salesforce::SalesforceError;

/// The create's reference id in its composite (`@{created.id}`).
pub const CREATED_REF: &str = "created";

/// A record to create once.
pub struct Draft {
    pub sobject: &'static str,
    pub fields: Map<String, Value>,
    /// Request headers of the create (e.g. `Sforce-Auto-Assign`).
    pub headers: BTreeMap<String, String>,
    /// Finds the record an uncertain earlier try may have made; its first
    /// row's `Id` is taken.
    pub look: Select,
    /// Why this record must not be created, as the caller's re-check of
    /// the current records found (e.g. the person already is a Contact).
    /// Applied only when a create would be sent, so a replay of a create
    /// that went through still answers with its record.
    pub refusal: Option<String>,
}

/// How the record came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// This try created it.
    Created,
    /// An earlier try's outcome was uncertain, and the record was found.
    Found,
    /// An earlier try of the same key had created it.
    Replayed,
}

#[derive(Debug, Clone)]
pub struct Created {
    pub id: String,
    pub how: How,
    /// The answers of the reads that rode along (absent if they failed).
    pub reads: Vec<SubResponse>,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("another try of this create is still running")]
    InFlight,
    /// The draft cannot be sent as it is (checked before anything is).
    #[error("{0}")]
    Invalid(String),
    /// The caller's re-check refused it ([`Draft::refusal`]).
    #[error("{0}")]
    Refused(String),
    /// Salesforce failed; when `uncertain` the record may exist, and the
    /// next try of the key looks before creating.
    #[error("{error}")]
    Salesforce {
        error: SalesforceError,
        uncertain: bool,
    },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Whether a create that failed this way may still have happened.
pub fn uncertain(e: &SalesforceError) -> bool {
    match e {
        SalesforceError::Timeout(_)
        | SalesforceError::Unavailable(_)
        | SalesforceError::Malformed(_) => true,
        SalesforceError::NotConfigured(_)
        | SalesforceError::Reconnect(_)
        | SalesforceError::ApiLimit
        | SalesforceError::Forbidden(_)
        | SalesforceError::NotFound
        | SalesforceError::Rejected { .. } => false,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IdRow {
    id: String,
}

#[derive(Deserialize)]
struct CreateAnswer {
    id: String,
    success: bool,
}

/// Creates `draft` at most once per `key`. `reads(id)` are the reads to
/// send with it, `id` being `@{created.id}` in the create's composite or
/// the record's id when it already existed.
pub async fn create_once(
    client: &SalesforceClient,
    ledger: &dyn Ledger,
    key: &LedgerKey,
    draft: Draft,
    reads: &(dyn Fn(&str) -> Vec<SubRequest> + Sync),
) -> Result<Created, CreateError> {
    match ledger.begin(key).await? {
        Begin::Done(id) => return Ok(existing(client, id, How::Replayed, reads).await),
        Begin::InFlight => return Err(CreateError::InFlight),
        Begin::Unknown => match client.query::<IdRow>(&draft.look).await {
            Ok(rows) => {
                if let Some(row) = rows.into_iter().next() {
                    settle(ledger.done(key, &row.id).await, "done");
                    return Ok(existing(client, row.id, How::Found, reads).await);
                }
            }
            Err(error) => {
                // Still unknown: the next try looks again.
                settle(ledger.unknown(key).await, "unknown");
                return Err(CreateError::Salesforce {
                    error,
                    uncertain: true,
                });
            }
        },
        Begin::Begun => {}
    }
    if let Some(why) = draft.refusal {
        // Nothing was created (and, after an uncertain try, nothing found).
        settle(ledger.forget(key).await, "forget");
        return Err(CreateError::Refused(why));
    }

    let create = SubRequest {
        method: "POST",
        url: client.data_path(&format!("sobjects/{}/", draft.sobject)),
        reference_id: CREATED_REF.to_string(),
        body: Some(Value::Object(draft.fields)),
        http_headers: (!draft.headers.is_empty()).then_some(draft.headers),
    };
    let mut requests = vec![create];
    requests.extend(reads(&format!("@{{{CREATED_REF}.id}}")));
    let outcome = match client.composite(&requests).await {
        Ok(responses) => read_create(responses),
        Err(e) => Err(e),
    };
    match outcome {
        Ok((id, reads)) => {
            settle(ledger.done(key, &id).await, "done");
            Ok(Created {
                id,
                how: How::Created,
                reads,
            })
        }
        Err(error) => {
            let uncertain = uncertain(&error);
            if uncertain {
                settle(ledger.unknown(key).await, "unknown");
            } else {
                settle(ledger.forget(key).await, "forget");
            }
            Err(CreateError::Salesforce { error, uncertain })
        }
    }
}

/// The create's id and the other answers, or why the create failed.
fn read_create(responses: Vec<SubResponse>) -> Result<(String, Vec<SubResponse>), SalesforceError> {
    let (created, reads): (Vec<SubResponse>, Vec<SubResponse>) = responses
        .into_iter()
        .partition(|r| r.reference_id == CREATED_REF);
    let Some(created) = created.into_iter().next() else {
        return Err(SalesforceError::Malformed(
            "the composite answer has no result for the create".to_string(),
        ));
    };
    let answer: CreateAnswer = created.into_result()?;
    if !answer.success {
        return Err(SalesforceError::Malformed(
            "create answered success=false".to_string(),
        ));
    }
    Ok((answer.id, reads))
}

/// A record that already exists, with its reads in one round trip.
async fn existing(
    client: &SalesforceClient,
    id: String,
    how: How,
    reads: &(dyn Fn(&str) -> Vec<SubRequest> + Sync),
) -> Created {
    let requests = reads(&id);
    let reads = if requests.is_empty() {
        Vec::new()
    } else {
        client.composite(&requests).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "reads after an earlier create failed");
            Vec::new()
        })
    };
    Created { id, how, reads }
}

fn settle(r: Result<(), LedgerError>, op: &str) {
    if let Err(e) = r {
        tracing::warn!(error = %e, op, "idempotency ledger not updated");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_after_which_the_record_may_exist_are_uncertain() {
        use std::time::Duration;
        assert!(uncertain(&SalesforceError::Timeout(Duration::from_secs(4))));
        assert!(uncertain(&SalesforceError::from_response(503, b"")));
        assert!(uncertain(&SalesforceError::Unavailable(
            "connection reset".into()
        )));
        assert!(uncertain(&SalesforceError::Malformed("truncated".into())));
        let rule = br#"[{"message":"Refund amount needed","errorCode":"FIELD_CUSTOM_VALIDATION_EXCEPTION","fields":["Refund_Amount__c"]}]"#;
        assert!(!uncertain(&SalesforceError::from_response(400, rule)));
        assert!(!uncertain(&SalesforceError::ApiLimit));
    }

    #[test]
    fn a_composite_without_the_create_is_an_unreadable_answer() {
        let e = read_create(Vec::new()).unwrap_err();
        assert!(matches!(e, SalesforceError::Malformed(_)));
        let refused = SubResponse {
            body: serde_json::json!([{"message": "dup", "errorCode": "DUPLICATES_DETECTED"}]),
            status: 400,
            reference_id: CREATED_REF.into(),
        };
        assert!(matches!(
            read_create(vec![refused]).unwrap_err(),
            SalesforceError::Rejected { status: 400, .. }
        ));
        let ok = SubResponse {
            body: serde_json::json!({"id": "00Q1", "success": true, "errors": []}),
            status: 201,
            reference_id: CREATED_REF.into(),
        };
        let (id, rest) = read_create(vec![ok]).unwrap();
        assert_eq!((id.as_str(), rest.len()), ("00Q1", 0));
    }
}
