//! What can go wrong talking to Salesforce, sorted by what the teammate can do
//! about it. The sidebar turns each variant into its own canvas.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One entry of Salesforce's error body: `[{"message", "errorCode", "fields"}]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub message: String,
    #[serde(rename = "errorCode")]
    pub error_code: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SalesforceError {
    /// The connected app or its refresh token is not set up.
    #[error("Salesforce is not connected: {0}")]
    NotConfigured(String),
    /// The refresh token was revoked or expired (`invalid_grant`): only an
    /// admin reconnecting the org helps, so nobody retries this.
    #[error("the Salesforce connection was revoked or expired ({0})")]
    Reconnect(String),
    /// `REQUEST_LIMIT_EXCEEDED`: the org's 24-hour allowance is spent.
    #[error("the org's Salesforce API request limit is reached")]
    ApiLimit,
    #[error("Salesforce did not answer within {0:?}")]
    Timeout(Duration),
    /// 5xx, `SERVER_UNAVAILABLE`, lock contention, a refused connection.
    #[error("Salesforce is unavailable: {0}")]
    Unavailable(String),
    /// The answer was not what the protocol promises.
    #[error("Salesforce sent an answer that could not be read: {0}")]
    Malformed(String),
    /// The integration user or org lacks a permission (`INSUFFICIENT_ACCESS`,
    /// `API_DISABLED_FOR_ORG`).
    #[error("Salesforce refused access: {0}")]
    Forbidden(String),
    #[error("Salesforce could not find the record")]
    NotFound,
    /// Salesforce rejected what was sent (validation, a bad query): the
    /// errors name the fields when Salesforce does.
    #[error("Salesforce rejected the request (HTTP {status}): {}", summary(.errors))]
    Rejected { status: u16, errors: Vec<ApiError> },
}

fn summary(errors: &[ApiError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.error_code, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl SalesforceError {
    /// Whether trying again later may help (and a retry button makes sense).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SalesforceError::Timeout(_)
                | SalesforceError::Unavailable(_)
                | SalesforceError::Malformed(_)
                | SalesforceError::ApiLimit
        )
    }

    /// Whether stale data is a fair answer to this error: the same faults
    /// a retry may cure (on Salesforce's side), never a revoked or missing
    /// connection, where old data would hide that an admin must act.
    pub fn allows_stale(&self) -> bool {
        self.is_retryable()
    }

    /// Classifies a non-2xx REST answer by its status and error body.
    pub fn from_response(status: u16, body: &[u8]) -> SalesforceError {
        let errors: Vec<ApiError> = serde_json::from_slice(body).unwrap_or_default();
        let code = errors.first().map(|e| e.error_code.as_str()).unwrap_or("");
        match (status, code) {
            (_, "REQUEST_LIMIT_EXCEEDED") => SalesforceError::ApiLimit,
            (_, "UNABLE_TO_LOCK_ROW" | "SERVER_UNAVAILABLE") => {
                SalesforceError::Unavailable(summary(&errors))
            }
            (403, _) | (_, "INSUFFICIENT_ACCESS" | "API_DISABLED_FOR_ORG") => {
                SalesforceError::Forbidden(if errors.is_empty() {
                    format!("HTTP {status}")
                } else {
                    summary(&errors)
                })
            }
            (404, _) => SalesforceError::NotFound,
            (s, _) if s >= 500 => SalesforceError::Unavailable(if errors.is_empty() {
                format!("HTTP {status}")
            } else {
                summary(&errors)
            }),
            (s, _) if errors.is_empty() => SalesforceError::Malformed(format!(
                "HTTP {s} with a body that is not a Salesforce error list"
            )),
            (s, _) => SalesforceError::Rejected { status: s, errors },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_real_error_bodies() {
        let limit = br#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#;
        assert!(matches!(
            SalesforceError::from_response(403, limit),
            SalesforceError::ApiLimit
        ));
        let unavailable =
            br#"[{"message":"Server temporarily unavailable","errorCode":"SERVER_UNAVAILABLE"}]"#;
        assert!(SalesforceError::from_response(503, unavailable).is_retryable());
        assert!(matches!(
            SalesforceError::from_response(502, b"<html>bad gateway</html>"),
            SalesforceError::Unavailable(_)
        ));
        let required = br#"[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}]"#;
        match SalesforceError::from_response(400, required) {
            SalesforceError::Rejected { status, errors } => {
                assert_eq!(status, 400);
                assert_eq!(errors[0].fields, vec!["LastName".to_string()]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            SalesforceError::from_response(400, b"not json"),
            SalesforceError::Malformed(_)
        ));
        assert!(matches!(
            SalesforceError::from_response(
                403,
                br#"[{"message":"no","errorCode":"INSUFFICIENT_ACCESS"}]"#
            ),
            SalesforceError::Forbidden(_)
        ));
    }
}

#[cfg(test)]
mod real_bodies {
    use super::*;

    fn body(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/data/salesforce/errors/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn classifies_error_bodies_recorded_from_real_orgs() {
        match SalesforceError::from_response(400, &body("invalid_field_400.restforce.json")) {
            SalesforceError::Rejected { errors, .. } => {
                assert_eq!(errors[0].error_code, "INVALID_FIELD")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            SalesforceError::from_response(404, &body("not_found_resource_404.restforce.json")),
            SalesforceError::NotFound
        ));
        // A 401 that survives the one refresh is reported, not retried forever.
        let e = SalesforceError::from_response(401, &body("invalid_session_id_401.restforce.json"));
        assert!(
            matches!(e, SalesforceError::Rejected { status: 401, .. }),
            "{e:?}"
        );
    }
}
