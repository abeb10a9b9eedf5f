//! Lead creation: once per idempotency key, looked up by email after an
//! uncertain outcome; callable with or without a screen.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::create::{create_once, CreateError, Created, Draft};
use super::ledger::{Ledger, LedgerKey};
use crate::salesforce::client::{SalesforceClient, SubRequest};
use crate::salesforce::soql::{select, Cond, Dir};

/// A Lead to create: its fields (with `Email`), and the owner if not
/// Salesforce's default (assignment rules are then skipped).
#[derive(Debug, Clone, Default)]
pub struct NewLead {
    pub fields: Map<String, Value>,
    pub owner_id: Option<String>,
    /// See [`Draft::refusal`].
    pub refusal: Option<String>,
}

impl NewLead {
    pub fn email(&self) -> Option<&str> {
        self.fields
            .get("Email")
            .and_then(Value::as_str)
            .filter(|e| !e.trim().is_empty())
    }

    /// "Zoë O'Brien": the name Salesforce will show.
    pub fn name(&self) -> String {
        ["FirstName", "LastName"]
            .into_iter()
            .filter_map(|f| self.fields.get(f).and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub struct LeadService {
    client: Arc<SalesforceClient>,
    ledger: Arc<dyn Ledger>,
}

impl LeadService {
    pub fn new(client: Arc<SalesforceClient>, ledger: Arc<dyn Ledger>) -> LeadService {
        LeadService { client, ledger }
    }

    /// Creates the Lead at most once per `key`; `reads` ride along in the
    /// same round trip (see [`create_once`]).
    pub async fn create(
        &self,
        key: &LedgerKey,
        lead: NewLead,
        reads: &(dyn Fn(&str) -> Vec<SubRequest> + Sync),
    ) -> Result<Created, CreateError> {
        let Some(email) = lead.email().map(str::to_string) else {
            return Err(CreateError::Invalid(
                "A Lead from Intercom needs an email.".to_string(),
            ));
        };
        let mut fields = lead.fields;
        let mut headers = BTreeMap::new();
        if let Some(owner) = lead.owner_id {
            fields.insert("OwnerId".into(), Value::String(owner));
            headers.insert("Sforce-Auto-Assign".into(), "FALSE".into());
        }
        let draft = Draft {
            sobject: "Lead",
            fields,
            headers,
            look: select(&["Id"], "Lead")
                .filter(Cond::eq("Email", email.as_str()))
                .order_by("CreatedDate", Dir::Desc)
                .limit(1),
            refusal: lead.refusal,
        };
        create_once(&self.client, self.ledger.as_ref(), key, draft, reads).await
    }
}

/// A person's name as a Lead's first and last name: the last word (split
/// on any whitespace) is the last name; a single word is a last name.
/// "Zoë O'Brien-Łukasiewicz" → ("Zoë", "O'Brien-Łukasiewicz").
pub fn split_name(name: &str) -> (String, String) {
    let name = name.trim();
    match name.rsplit_once(char::is_whitespace) {
        Some((first, last)) => (first.trim().to_string(), last.to_string()),
        None => (String::new(), name.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_on_the_last_whitespace() {
        assert_eq!(
            split_name("Zoë O'Brien-Łukasiewicz"),
            ("Zoë".to_string(), "O'Brien-Łukasiewicz".to_string())
        );
        assert_eq!(
            split_name(" Mary Ann Smith "),
            ("Mary Ann".to_string(), "Smith".to_string())
        );
        assert_eq!(split_name("Cher"), (String::new(), "Cher".to_string()));
        // The two splitters this one replaced disagreed here: a tab or a
        // no-break space between the names (one split only on ' ').
        assert_eq!(
            split_name("Mary\tSmith"),
            ("Mary".to_string(), "Smith".to_string())
        );
        assert_eq!(
            split_name("Jean\u{a0}Dupont"),
            ("Jean".to_string(), "Dupont".to_string())
        );
    }
}
