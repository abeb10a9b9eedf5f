//! Data connectors (Intercom API 2.16, `/data_connectors`): the app creates
//! its own "Create case in Salesforce" connector in a workspace that
//! installed it, so Workflows, Fin and the Help Desk can call
//! `POST /actions/salesforce-case` without an admin typing the request in.
//! There is no API for the connector's auth token: the workspace's action
//! token goes in an `Authorization` header of the connector itself.

use reqwest::Method;
use serde_json::{json, Value};

use super::{IntercomClient, IntercomError};
use crate::config::Secret;

/// The API version that has `/data_connectors`.
pub const DATA_CONNECTORS_VERSION: &str = "2.16";

/// The connector's name in the workspace (also how an existing one is found).
pub const CONNECTOR_NAME: &str = "Create case in Salesforce";

/// The create request of the app's connector: a POST to `action_url` with
/// the conversation id (and any collected answers as `attributes`), the
/// bearer token in a header, and the answer's fields a Workflow can save.
pub fn case_connector(action_url: &str, token: &Secret) -> Value {
    json!({
        "name": CONNECTOR_NAME,
        "description": "Creates the conversation's Salesforce Case, or updates it when it exists, \
                        and answers its number, link and status.",
        "http_method": "post",
        "url": action_url,
        "headers": [
            {"name": "Authorization", "value": format!("Bearer {}", token.expose())},
            {"name": "Content-Type", "value": "application/json"},
        ],
        "body": "{\"conversation_id\": \"{{conversation_id}}\"}",
        "data_inputs": [
            {"name": "conversation_id", "type": "string", "required": true,
             "description": "The conversation whose Case is created or updated"},
        ],
        "mock_response": {
            "case_id": "500000000000001AAA",
            "case_number": "00001001",
            "case_url": "https://example.my.salesforce.com/lightning/r/Case/500000000000001AAA/view",
            "status": "created",
        },
        "direct_fin_usage": true,
        "audiences": ["leads", "users", "visitors"],
    })
}

impl IntercomClient {
    /// The id of the workspace's connector named `name`, if it has one.
    pub async fn data_connector_named(&self, name: &str) -> Result<Option<String>, IntercomError> {
        let list: Value = self
            .call_at(
                DATA_CONNECTORS_VERSION,
                None,
                Method::GET,
                "/data_connectors?per_page=50",
                None,
            )
            .await?;
        Ok(list["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"].as_str() == Some(name))
            .and_then(|c| c["id"].as_str().map(str::to_string)))
    }

    /// Creates the connector `request` describes; its id.
    pub async fn create_data_connector(&self, request: &Value) -> Result<String, IntercomError> {
        let made: Value = self
            .call_at(
                DATA_CONNECTORS_VERSION,
                None,
                Method::POST,
                "/data_connectors",
                Some(request),
            )
            .await?;
        made["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| IntercomError::Malformed("the new data connector has no id".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connector_posts_the_conversation_with_the_token() {
        let c = case_connector(
            "https://app.example/actions/salesforce-case",
            &Secret::new("tok"),
        );
        assert_eq!(c["http_method"], "post");
        assert_eq!(c["url"], "https://app.example/actions/salesforce-case");
        assert_eq!(c["headers"][0]["value"], "Bearer tok");
        assert!(c["body"].as_str().unwrap().contains("{{conversation_id}}"));
        assert_eq!(c["data_inputs"][0]["name"], "conversation_id");
        for field in ["case_id", "case_number", "case_url", "status"] {
            assert!(c["mock_response"].get(field).is_some(), "{field}");
        }
    }
}
