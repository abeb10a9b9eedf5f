//! Salesforce-style REST errors: an HTTP status plus the `[{"message","errorCode","fields"?}]` body.

use super::json::Json;

/// One REST error as Salesforce reports it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct SfError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub fields: Option<Vec<String>>,
    /// Extra keys of the error entry (e.g. `duplicateResult`).
    pub extra: Vec<(String, Json)>,
}

impl SfError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> SfError {
        SfError {
            status,
            code: code.to_string(),
            message: message.into(),
            fields: None,
            extra: Vec::new(),
        }
    }

    pub fn with_extra(mut self, key: &str, value: Json) -> SfError {
        self.extra.push((key.to_string(), value));
        self
    }

    pub fn with_fields(mut self, fields: Vec<String>) -> SfError {
        self.fields = Some(fields);
        self
    }

    pub fn not_found() -> SfError {
        SfError::new(404, "NOT_FOUND", "The requested resource does not exist")
    }

    pub fn invalid_session() -> SfError {
        SfError::new(401, "INVALID_SESSION_ID", "Session expired or invalid")
    }

    /// The array body, `message` before `errorCode` as Salesforce sends it.
    pub fn body(&self) -> Json {
        let mut item = Json::obj()
            .with("message", self.message.as_str())
            .with("errorCode", self.code.as_str());
        if let Some(fields) = &self.fields {
            item.insert(
                "fields",
                Json::Arr(fields.iter().map(|f| Json::from(f.as_str())).collect()),
            );
        }
        for (k, v) in &self.extra {
            item.insert(k, v.clone());
        }
        Json::Arr(vec![item])
    }
}
