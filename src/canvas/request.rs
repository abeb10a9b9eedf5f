//! The bodies Intercom POSTs to `initialize` and `submit`.
//!
//! Intercom documents a Messenger superset and sends more than it documents,
//! so every field is optional and unknown fields are ignored: a lead with no
//! email or a profile panel with no conversation must still parse.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::components::Canvas;
use crate::intercom::opt_id_string;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CanvasRequest {
    #[serde(default)]
    pub workspace_id: Option<String>,
    #[serde(default)]
    pub workspace_region: Option<String>,
    #[serde(default)]
    pub admin: Option<Admin>,
    /// Newer requests call the person `contact`, older ones `customer`.
    #[serde(default)]
    pub contact: Option<Person>,
    #[serde(default)]
    pub customer: Option<Person>,
    #[serde(default)]
    pub conversation: Option<Conversation>,
    #[serde(default)]
    pub context: Option<Value>,
    #[serde(default)]
    pub current_canvas: Option<CurrentCanvas>,
    #[serde(default)]
    pub component_id: Option<String>,
    #[serde(default)]
    pub input_values: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Admin {
    #[serde(default, deserialize_with = "opt_id_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Person {
    #[serde(default, deserialize_with = "opt_id_string")]
    pub id: Option<String>,
    /// `user` or `lead` (newer payloads use `role`, older ones `type`).
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub companies: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Conversation {
    #[serde(default, deserialize_with = "opt_id_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub admin_assignee_id: Option<String>,
}

/// The docs show the canvas itself here; the OpenAPI schema wraps it once
/// more (`{"current_canvas": {...}}`). Accept both.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CurrentCanvas {
    Wrapped { current_canvas: Canvas },
    Plain(Canvas),
}

impl CurrentCanvas {
    pub fn canvas(&self) -> &Canvas {
        match self {
            CurrentCanvas::Wrapped { current_canvas } => current_canvas,
            CurrentCanvas::Plain(c) => c,
        }
    }
}

/// Whether Intercom thinks the person is a lead or a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonRole {
    User,
    Lead,
}

impl CanvasRequest {
    pub fn person(&self) -> Option<&Person> {
        self.contact.as_ref().or(self.customer.as_ref())
    }

    /// The value stored on the canvas being submitted from, if any.
    pub fn stored(&self, key: &str) -> Option<&Value> {
        self.current_canvas
            .as_ref()
            .and_then(|c| c.canvas().stored_data.get(key))
    }

    pub fn stored_str(&self, key: &str) -> Option<&str> {
        self.stored(key).and_then(Value::as_str)
    }

    pub fn input_str(&self, key: &str) -> Option<&str> {
        self.input_values.get(key).and_then(Value::as_str)
    }
}

impl Person {
    pub fn role(&self) -> PersonRole {
        let role = self.role.as_deref().or(self.kind.as_deref()).unwrap_or("");
        if role.eq_ignore_ascii_case("lead") {
            PersonRole::Lead
        } else {
            PersonRole::User
        }
    }

    /// The trimmed email, if the person has a usable one.
    pub fn email(&self) -> Option<&str> {
        self.email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty() && e.contains('@'))
    }

    /// Company names carried by the request. Intercom's schema sends
    /// company references (id, url) without names; those are resolved
    /// through the REST API by the sidebar (see [`Person::has_company_refs`]).
    pub fn company_names(&self) -> Vec<String> {
        self.company_items()
            .iter()
            .filter_map(|c| c.get("name").and_then(Value::as_str))
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Whether the person has companies the request names only by id.
    pub fn has_company_refs(&self) -> bool {
        self.company_items()
            .iter()
            .any(|c| c.get("name").and_then(Value::as_str).is_none() && c.get("id").is_some())
    }

    fn company_items(&self) -> &[Value] {
        let list = match &self.companies {
            Some(Value::Object(o)) => o.get("data").or_else(|| o.get("companies")),
            Some(v @ Value::Array(_)) => Some(v),
            _ => None,
        };
        list.and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_documented_example_and_ignores_unknown_fields() {
        let body = r#"{"workspace_id": "ecahpwf5", "workspace_region": "us",
 "admin": {"type": "admin", "id": "814860", "name": "Ruth Teammate", "email": "ruth@example.com"},
 "contact": {"type": "contact", "id": "6543210fedcba", "role": "user", "email": "hana@globex.example",
             "name": "Hana Okafor", "owner_id": 814861, "brand_new_field": [1,2],
             "companies": {"type": "list", "data": [{"type": "company", "id": "c1", "name": "Globex"}]}},
 "conversation": {"type": "conversation", "id": "4711", "state": "open", "admin_assignee_id": 814860},
 "context": {"location": "conversation", "conversation_id": 4711, "locale": "en"}}"#;
        let r: CanvasRequest = serde_json::from_str(body).unwrap();
        let p = r.person().unwrap();
        assert_eq!(p.role(), PersonRole::User);
        assert_eq!(p.email(), Some("hana@globex.example"));
        assert_eq!(p.owner_id.as_deref(), Some("814861"));
        assert_eq!(p.company_names(), vec!["Globex".to_string()]);
        assert!(!p.has_company_refs());
        let refs: Person = serde_json::from_str(
            r#"{"id": "c", "companies": {"type": "list", "data": [{"type": "company", "id": "66e0", "url": "/companies/66e0"}]}}"#,
        )
        .unwrap();
        assert!(refs.company_names().is_empty());
        assert!(refs.has_company_refs());
        assert_eq!(
            r.conversation.unwrap().admin_assignee_id.as_deref(),
            Some("814860")
        );
    }

    #[test]
    fn empty_body_and_old_customer_key_parse() {
        let r: CanvasRequest = serde_json::from_str("{}").unwrap();
        assert!(r.person().is_none());
        let r: CanvasRequest =
            serde_json::from_str(r#"{"customer": {"type": "lead", "email": "  "}}"#).unwrap();
        let p = r.person().unwrap();
        assert_eq!(p.role(), PersonRole::Lead);
        assert_eq!(p.email(), None);
    }

    #[test]
    fn current_canvas_is_read_plain_or_wrapped() {
        let plain = r#"{"current_canvas": {"content": {"components": []}, "stored_data": {"view": "cases"}}}"#;
        let wrapped = r#"{"current_canvas": {"current_canvas": {"content": {"components": []}, "stored_data": {"view": "cases"}}}}"#;
        for body in [plain, wrapped] {
            let r: CanvasRequest = serde_json::from_str(body).unwrap();
            assert_eq!(r.stored_str("view"), Some("cases"));
        }
    }
}
