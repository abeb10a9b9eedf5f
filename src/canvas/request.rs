//! The bodies Intercom POSTs to `initialize` and `submit`.
//!
//! Intercom documents a Messenger superset and sends more than it documents,
//! so every field is optional and unknown fields are ignored: a lead with no
//! email or a profile panel with no conversation must still parse.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

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

/// A Canvas Kit request body in the shape Intercom sends (its docs'
/// `workspace_id`, `workspace_region`, `admin`, `contact` with its
/// `companies` list, `conversation`; on a submit also `component_id`,
/// `current_canvas` and `input_values`), built field by field. The preview,
/// the start-up banner's example, the benches and the tests make their
/// requests through it: one way to build one.
///
/// ```
/// use sf_inbox::canvas::CanvasRequestBuilder;
/// let body = CanvasRequestBuilder::new("ecahpwf5")
///     .admin("814860", Some("Ruth Teammate"), Some("ruth@example.com"))
///     .contact("user", Some("hana@globex.example"))
///     .company(Some("c1"), "Globex Corporation")
///     .conversation("4711")
///     .to_vec();
/// let req: sf_inbox::canvas::CanvasRequest = serde_json::from_slice(&body).unwrap();
/// assert_eq!(req.person().unwrap().company_names(), ["Globex Corporation"]);
/// ```
#[derive(Debug, Clone, Default, Serialize)]
pub struct CanvasRequestBuilder {
    /// A body this one continues (a submit after its initialize): what is
    /// set here is written over it.
    #[serde(skip)]
    base: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workspace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workspace_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    admin: Option<AdminBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact: Option<ContactBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conversation: Option<ConversationBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    component_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_canvas: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_values: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
struct AdminBody {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct ContactBody {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    companies: Option<CompanyList>,
}

#[derive(Debug, Clone, Serialize)]
struct CompanyList {
    #[serde(rename = "type")]
    kind: &'static str,
    data: Vec<CompanyRef>,
}

#[derive(Debug, Clone, Serialize)]
struct CompanyRef {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    name: String,
}

#[derive(Debug, Clone, Serialize)]
struct ConversationBody {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    /// Intercom sends admin ids here as numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    admin_assignee_id: Option<Value>,
}

impl ContactBody {
    fn new(role: &str, email: Option<&str>) -> ContactBody {
        ContactBody {
            kind: "contact",
            id: None,
            role: role.to_string(),
            name: None,
            email: email.map(str::to_string),
            phone: None,
            owner_id: None,
            companies: None,
        }
    }
}

impl CanvasRequestBuilder {
    /// A request from this Intercom workspace.
    pub fn new(workspace_id: &str) -> CanvasRequestBuilder {
        CanvasRequestBuilder {
            workspace_id: Some(workspace_id.to_string()),
            ..CanvasRequestBuilder::default()
        }
    }

    /// Continues `body` (e.g. the initialize body a submit follows): the
    /// fields set on the builder replace its own.
    pub fn on(body: &Value) -> CanvasRequestBuilder {
        CanvasRequestBuilder {
            base: body.as_object().cloned().unwrap_or_default(),
            ..CanvasRequestBuilder::default()
        }
    }

    /// `workspace_region` (`us`, `eu`, `au`).
    pub fn region(mut self, region: &str) -> Self {
        self.workspace_region = Some(region.to_string());
        self
    }

    /// The teammate looking at the inbox.
    pub fn admin(mut self, id: &str, name: Option<&str>, email: Option<&str>) -> Self {
        self.admin = Some(AdminBody {
            kind: "admin",
            id: id.to_string(),
            name: name.map(str::to_string),
            email: email.map(str::to_string),
        });
        self
    }

    /// The person (`role` `user` or `lead`), with their email if any.
    pub fn contact(mut self, role: &str, email: Option<&str>) -> Self {
        self.contact = Some(ContactBody::new(role, email));
        self
    }

    fn person(&mut self) -> &mut ContactBody {
        self.contact
            .get_or_insert_with(|| ContactBody::new("user", None))
    }

    /// The person's Intercom contact id.
    pub fn contact_id(mut self, id: &str) -> Self {
        self.person().id = Some(id.to_string());
        self
    }

    pub fn name(mut self, name: &str) -> Self {
        self.person().name = Some(name.to_string());
        self
    }

    pub fn phone(mut self, phone: &str) -> Self {
        self.person().phone = Some(phone.to_string());
        self
    }

    /// The person's Intercom owner (an admin id).
    pub fn owner(mut self, admin_id: &str) -> Self {
        self.person().owner_id = Some(admin_id.to_string());
        self
    }

    /// One of the person's companies, by id and name.
    pub fn company(mut self, id: Option<&str>, name: &str) -> Self {
        let list = self.person().companies.get_or_insert(CompanyList {
            kind: "list",
            data: Vec::new(),
        });
        list.data.push(CompanyRef {
            kind: "company",
            id: id.map(str::to_string),
            name: name.to_string(),
        });
        self
    }

    /// The open conversation.
    pub fn conversation(mut self, id: &str) -> Self {
        self.conversation = Some(ConversationBody {
            kind: "conversation",
            id: id.to_string(),
            state: None,
            admin_assignee_id: None,
        });
        self
    }

    /// The conversation's state (`open`, `closed`, `snoozed`).
    pub fn state(mut self, state: &str) -> Self {
        if let Some(c) = self.conversation.as_mut() {
            c.state = Some(state.to_string());
        }
        self
    }

    /// The conversation's assignee (a number when the id is one, as
    /// Intercom sends it).
    pub fn assignee(mut self, admin_id: &str) -> Self {
        if let Some(c) = self.conversation.as_mut() {
            c.admin_assignee_id = Some(
                admin_id
                    .parse::<u64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| json!(admin_id)),
            );
        }
        self
    }

    /// A submit: the component clicked, the canvas it was on (with its
    /// `stored_data`) and the values of its inputs.
    pub fn submit(
        mut self,
        component_id: &str,
        current_canvas: Value,
        input_values: Value,
    ) -> Self {
        self.component_id = Some(component_id.to_string());
        self.current_canvas = Some(current_canvas);
        self.input_values = Some(input_values);
        self
    }

    /// The body as JSON.
    pub fn build(&self) -> Value {
        let mut body = self.base.clone();
        if let Value::Object(set) = serde_json::to_value(self).expect("a request serialises") {
            body.extend(set);
        }
        Value::Object(body)
    }

    /// The body as Intercom posts it (the bytes its signature covers).
    pub fn to_vec(&self) -> Vec<u8> {
        if self.base.is_empty() {
            serde_json::to_vec(self).expect("a request serialises")
        } else {
            serde_json::to_vec(&self.build()).expect("a request serialises")
        }
    }

    /// The request as the app reads it, for calling the sidebar directly.
    pub fn request(&self) -> CanvasRequest {
        serde_json::from_value(self.build()).expect("the app reads what the builder writes")
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
    fn the_builder_writes_what_the_parser_reads() {
        let body = CanvasRequestBuilder::new("ecahpwf5")
            .region("us")
            .admin("814860", Some("Ruth Teammate"), Some("ruth@example.com"))
            .contact("lead", Some("hana@globex.example"))
            .contact_id("6543210fedcba")
            .name("Hana Okafor")
            .owner("814861")
            .company(Some("c1"), "Globex")
            .conversation("4711")
            .state("open")
            .assignee("814860")
            .build();
        assert_eq!(body["contact"]["companies"]["type"], "list");
        assert_eq!(body["conversation"]["admin_assignee_id"], 814860);
        let r: CanvasRequest = serde_json::from_value(body.clone()).unwrap();
        let p = r.person().unwrap();
        assert_eq!(p.role(), PersonRole::Lead);
        assert_eq!(p.email(), Some("hana@globex.example"));
        assert_eq!(p.owner_id.as_deref(), Some("814861"));
        assert_eq!(p.company_names(), vec!["Globex".to_string()]);
        assert_eq!(r.admin.unwrap().id.as_deref(), Some("814860"));
        // A submit continues the initialize body.
        let submit = CanvasRequestBuilder::on(&body)
            .submit(
                "refresh",
                json!({"content": {"components": []}, "stored_data": {"view": "deals"}}),
                json!({"tab": "tab_deals"}),
            )
            .request();
        assert_eq!(submit.component_id.as_deref(), Some("refresh"));
        assert_eq!(submit.stored_str("view"), Some("deals"));
        assert_eq!(submit.input_str("tab"), Some("tab_deals"));
        assert_eq!(
            submit.person().unwrap().email(),
            Some("hana@globex.example")
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
