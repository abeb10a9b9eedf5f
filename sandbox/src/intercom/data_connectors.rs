//! Data connectors (Intercom API 2.16, `/data_connectors`): create and list, per workspace, in
//! memory. Shapes follow Intercom's OpenAPI description (`descriptions/2.16`,
//! `create_data_connector_request`, `data_connector_detail`, `data_connector_list`). Where the
//! description says nothing (the defaults of a minimal create), the choice is marked.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{error, gate, Inner};

const HTTP_METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];
const AUDIENCES: [&str; 3] = ["leads", "users", "visitors"];
const INPUT_TYPES: [&str; 4] = ["string", "integer", "decimal", "boolean"];

/// A connector as created, with header values as sent (answers redact them to `"****"`, as
/// Intercom does; tests read the real ones here).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataConnector {
    /// The workspace whose token created it.
    pub workspace_id: String,
    pub id: String,
    /// The detail view (`data_connector_detail`), header values unredacted.
    pub detail: Value,
    /// Unix seconds of the last update (the list's order and its cursors).
    pub updated_at: i64,
}

impl DataConnector {
    /// The value of header `name` as the creator sent it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.detail["headers"].as_array()?.iter().find(|h| {
            h["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })?["value"]
            .as_str()
    }

    /// The detail view as answered: header values redacted.
    fn redacted(&self) -> Value {
        let mut detail = self.detail.clone();
        for h in detail["headers"].as_array_mut().into_iter().flatten() {
            h["value"] = json!("****");
        }
        detail
    }

    /// The list's summary (`data_connector`).
    fn summary(&self) -> Value {
        let keys = [
            "type",
            "id",
            "name",
            "description",
            "state",
            "http_method",
            "direct_fin_usage",
            "created_by_admin_id",
            "updated_by_admin_id",
            "created_at",
            "updated_at",
            "execution_results_url",
        ];
        Value::Object(
            keys.iter()
                .map(|k| (k.to_string(), self.detail[*k].clone()))
                .collect(),
        )
    }
}

/// Why a create request is refused (Intercom answers 422 with the code and message).
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("Name is required")]
    NameMissing,
    #[error("{0}")]
    Invalid(&'static str),
}

impl Refusal {
    fn response(&self) -> Response {
        let code = match self {
            Refusal::NameMissing => "parameter_not_found",
            Refusal::Invalid(_) => "parameter_invalid",
        };
        error(StatusCode::UNPROCESSABLE_ENTITY, code, &self.to_string())
    }
}

/// `response_fields` from a `mock_response`: one per leaf, by dotted path.
fn response_fields(value: &Value, prefix: &str, out: &mut Vec<Value>) {
    if let Value::Object(map) = value {
        for (k, v) in map {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            response_fields(v, &path, out);
        }
        return;
    }
    let kind = match value {
        Value::String(_) => "string",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "decimal",
        _ => "unknown",
    };
    out.push(json!({"path": prefix, "type": kind, "example_value": value, "redacted": false}));
}

/// Checks a create request and builds the detail view.
fn build(req: &Map<String, Value>, id: &str, admin_id: &str) -> Result<Value, Refusal> {
    let text = |k: &str| req.get(k).and_then(Value::as_str);
    let flag = |k: &str| req.get(k).and_then(Value::as_bool).unwrap_or(false);
    let Some(name) = text("name").filter(|n| !n.trim().is_empty()) else {
        return Err(Refusal::NameMissing);
    };
    // Unverified default: the description does not say which method a connector created
    // without one has; `get` is the first of its enum.
    let http_method = text("http_method").unwrap_or("get");
    if !HTTP_METHODS.contains(&http_method) {
        return Err(Refusal::Invalid(
            "Invalid http_method. Must be one of: get, post, put, delete, patch",
        ));
    }
    // Unverified default: every audience when none is given.
    let audiences = match req.get("audiences") {
        None => json!(AUDIENCES),
        Some(Value::Array(items))
            if items
                .iter()
                .all(|a| a.as_str().is_some_and(|a| AUDIENCES.contains(&a))) =>
        {
            Value::Array(items.clone())
        }
        Some(_) => {
            return Err(Refusal::Invalid(
                "Invalid audiences. Must be a subset of: leads, users, visitors",
            ))
        }
    };
    let headers = match req.get("headers") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for h in items {
                let (Some(n), Some(v)) = (h["name"].as_str(), h["value"].as_str()) else {
                    return Err(Refusal::Invalid("Each header has a name and a value"));
                };
                out.push(json!({"name": n, "value": v}));
            }
            out
        }
        Some(_) => return Err(Refusal::Invalid("Invalid headers. Must be an array")),
    };
    let data_inputs = match req.get("data_inputs") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for input in items {
                let kind = input["type"].as_str().unwrap_or("string");
                let Some(input_name) = input["name"].as_str().filter(|n| !n.is_empty()) else {
                    return Err(Refusal::Invalid("Each data input has a name"));
                };
                if !INPUT_TYPES.contains(&kind) {
                    return Err(Refusal::Invalid("Invalid data input type. Must be one of: string, integer, decimal, boolean"));
                }
                out.push(json!({
                    "name": input_name,
                    "type": kind,
                    "description": input.get("description").cloned().unwrap_or(Value::Null),
                    "required": input["required"].as_bool().unwrap_or(false),
                    "default_value": input["default_value"].as_str().unwrap_or(""),
                }));
            }
            out
        }
        Some(_) => return Err(Refusal::Invalid("Invalid data_inputs. Must be an array")),
    };
    let mut fields = Vec::new();
    if let Some(mock) = req.get("mock_response") {
        response_fields(mock, "", &mut fields);
    }
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut detail = json!({
        "type": "data_connector",
        "id": id,
        "name": name,
        "description": text("description"),
        "state": "draft",
        "url": text("url"),
        "headers": headers,
        "http_method": http_method,
        "direct_fin_usage": flag("direct_fin_usage"),
        "audiences": audiences,
        "execution_type": "server_side",
        "configuration_response_type": if req.contains_key("mock_response") {
            "mock_response_type"
        } else {
            "test_response_type"
        },
        "data_transformation_type": "full_access",
        "client_function_name": null,
        "client_function_timeout_ms": null,
        "data_inputs": data_inputs,
        "response_fields": fields,
        "object_mappings": [],
        "token_ids": req.get("token_ids").cloned().unwrap_or(json!([])),
        "customer_authentication": flag("customer_authentication"),
        "bypass_authentication": flag("bypass_authentication"),
        "validate_missing_attributes": flag("validate_missing_attributes"),
        "created_by_admin_id": admin_id,
        "updated_by_admin_id": admin_id,
        "created_at": now,
        "updated_at": now,
        "execution_results_url": format!("/data_connectors/{id}/execution_results"),
    });
    if let Some(body) = text("body") {
        detail["body"] = json!(body);
    }
    Ok(detail)
}

/// `POST /data_connectors`: 201 with the detail view (a `draft`).
pub(super) async fn create(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let install = match gate(&inner, &headers, "POST /data_connectors".into()) {
        Ok(install) => install,
        Err(r) => return *r,
    };
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "parameter_invalid",
            "The request body is not a JSON object",
        );
    };
    let mut all = inner.data_connectors.lock().unwrap();
    // Ids are global in Intercom (numbers as strings), not per workspace.
    let id = (101 + all.len()).to_string();
    let detail = match build(&req, &id, &install.admin.id) {
        Ok(d) => d,
        Err(refusal) => return refusal.response(),
    };
    let connector = DataConnector {
        workspace_id: install.workspace_id,
        id,
        detail,
        updated_at: chrono::Utc::now().timestamp(),
    };
    let answer = connector.redacted();
    all.push(connector);
    (StatusCode::CREATED, Json(answer)).into_response()
}

/// The cursor after `c`: like Intercom's, base64 of `[updated_at, id]`.
fn cursor(c: &DataConnector) -> String {
    STANDARD.encode(format!("[{}.0,{}]", c.updated_at, c.id))
}

/// `GET /data_connectors?per_page&starting_after`: the workspace's connectors, most recently
/// updated first, `per_page` (1 to 50, default 20) at a time.
pub(super) async fn list(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let install = match gate(&inner, &headers, "GET /data_connectors".into()) {
        Ok(install) => install,
        Err(r) => return *r,
    };
    let per_page = q
        .get("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 50);
    let mut mine: Vec<DataConnector> = inner
        .data_connectors
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.workspace_id == install.workspace_id)
        .cloned()
        .collect();
    let numeric = |c: &DataConnector| c.id.parse::<u64>().unwrap_or(0);
    mine.sort_by_key(|c| std::cmp::Reverse((c.updated_at, numeric(c))));
    let start = match q.get("starting_after") {
        None => 0,
        Some(after) => match mine.iter().position(|c| &cursor(c) == after) {
            Some(i) => i + 1,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "client_error",
                    "Invalid starting_after param. Please try again using a starting_after value from a paginated response",
                )
            }
        },
    };
    let page: Vec<&DataConnector> = mine.iter().skip(start).take(per_page).collect();
    let next = match page.last() {
        Some(last) if start + page.len() < mine.len() => json!({"starting_after": cursor(last)}),
        _ => Value::Null,
    };
    let data: Vec<Value> = page.iter().map(|c| c.summary()).collect();
    Json(json!({
        "type": "list",
        "data": data,
        "pages": {"type": "pages", "per_page": per_page, "next": next},
    }))
    .into_response()
}
