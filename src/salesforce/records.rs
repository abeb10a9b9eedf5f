//! Salesforce records as query answers deliver them, and the plain values
//! the panels render.
//!
//! The row types mirror the wire shape (PascalCase keys, nested parents that
//! may be `null`, child subqueries that are `null` when empty, the
//! polymorphic `Owner` typed `"Name"`); they are tested against bodies
//! recorded from real orgs.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::client::QueryResult;

/// A parent reached by relationship: we only ever read its `Name`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NameRef {
    #[serde(default)]
    pub name: Option<String>,
}

/// A child subquery: `null` when there are no rows.
pub type Children<T> = Option<QueryResult<T>>;

pub fn rows<T>(c: Children<T>) -> (Vec<T>, u64) {
    match c {
        Some(q) => (q.records, q.total_size),
        None => (Vec::new(), 0),
    }
}

/// A field the workspace chose for a panel, and its value as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shown {
    /// The field's API name.
    pub name: String,
    /// `None`: empty in Salesforce.
    pub value: Option<String>,
}

/// The chosen fields' values, in the chosen order; a field name is matched
/// case-insensitively (the answer spells it as the describe does).
pub fn shown(fields: &Map<String, Value>, names: &[super::soql::FieldName]) -> Vec<Shown> {
    names
        .iter()
        .map(|n| {
            let value = fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n.as_str()))
                .and_then(|(_, v)| match v {
                    Value::Null => None,
                    Value::String(s) if s.trim().is_empty() => None,
                    Value::String(s) => Some(s.clone()),
                    Value::Bool(true) => Some("Yes".to_string()),
                    Value::Bool(false) => Some("No".to_string()),
                    Value::Number(n) => Some(n.to_string()),
                    other => Some(other.to_string()),
                });
            Shown {
                name: n.as_str().to_string(),
                value,
            }
        })
        .collect()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContactRow {
    pub id: String,
    /// The workspace's chosen fields, read from the answer ([`shown`]);
    /// empty: the built-in set.
    #[serde(skip)]
    pub shown: Vec<Shown>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub owner: Option<NameRef>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub account: Option<AccountParentRow>,
    #[serde(default)]
    pub cases: Children<CaseRow>,
    #[serde(default)]
    pub opportunity_contact_roles: Children<ContactRoleRow>,
}

/// `Contact.Account.*` fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountParentRow {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub billing_country: Option<String>,
    #[serde(default)]
    pub owner: Option<NameRef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountRow {
    pub id: String,
    /// The workspace's chosen fields, read from the answer ([`shown`]);
    /// empty: the built-in set.
    #[serde(skip)]
    pub shown: Vec<Shown>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub billing_country: Option<String>,
    #[serde(default)]
    pub owner: Option<NameRef>,
    #[serde(default)]
    pub opportunities: Children<OpportunityRow>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OpportunityRow {
    pub id: String,
    /// The workspace's chosen Opportunity fields ([`shown`]); empty: the
    /// built-in set.
    #[serde(skip)]
    pub shown: Vec<Shown>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub stage_name: Option<String>,
    #[serde(default)]
    pub close_date: Option<NaiveDate>,
    #[serde(default)]
    pub amount: Option<f64>,
    #[serde(default)]
    pub is_closed: Option<bool>,
    #[serde(default)]
    pub currency_iso_code: Option<String>,
    #[serde(default)]
    pub owner: Option<NameRef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContactRoleRow {
    /// The workspace's chosen fields of the role's Opportunity ([`shown`]).
    #[serde(skip)]
    pub shown: Vec<Shown>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub is_primary: Option<bool>,
    #[serde(default)]
    pub opportunity_id: Option<String>,
    #[serde(default)]
    pub opportunity: Option<OpportunityParentRow>,
}

/// `OpportunityContactRole.Opportunity.*` (no Id in a parent path: the
/// role's `OpportunityId` carries it).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OpportunityParentRow {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub stage_name: Option<String>,
    #[serde(default)]
    pub close_date: Option<NaiveDate>,
    #[serde(default)]
    pub amount: Option<f64>,
    #[serde(default)]
    pub is_closed: Option<bool>,
    #[serde(default)]
    pub currency_iso_code: Option<String>,
    #[serde(default)]
    pub owner: Option<NameRef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CaseRow {
    pub id: String,
    /// The workspace's chosen Case fields ([`shown`]); empty: the built-in set.
    #[serde(skip)]
    pub shown: Vec<Shown>,
    #[serde(default)]
    pub case_number: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LeadRow {
    pub id: String,
    /// The workspace's chosen fields, read from the answer ([`shown`]);
    /// empty: the built-in set.
    #[serde(skip)]
    pub shown: Vec<Shown>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub owner: Option<NameRef>,
    #[serde(default)]
    pub is_converted: Option<bool>,
    #[serde(default)]
    pub converted_contact_id: Option<String>,
    #[serde(default)]
    pub converted_account_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrganizationRow {
    #[serde(default)]
    pub default_currency_iso_code: Option<String>,
}

// ---- What the panels show ------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contact {
    pub id: String,
    pub name: String,
    /// The Contact's own Account (the panel may show the company's instead).
    pub account_id: Option<String>,
    pub email: Option<String>,
    pub title: Option<String>,
    pub owner: Option<String>,
    /// The workspace's chosen fields (empty: the built-in set).
    pub shown: Vec<Shown>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub website: Option<String>,
    pub billing_country: Option<String>,
    pub owner: Option<String>,
    /// The workspace's chosen fields (empty: the built-in set).
    pub shown: Vec<Shown>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Opportunity {
    pub id: String,
    pub name: String,
    pub stage: Option<String>,
    pub close_date: Option<NaiveDate>,
    pub amount: Option<f64>,
    /// The record's currency in a multi-currency org, else the org default.
    pub currency: String,
    pub owner: Option<String>,
    pub is_closed: bool,
    /// The person's role on it, when linked through a contact role.
    pub role: Option<String>,
    /// The workspace's chosen Opportunity fields; empty: the built-in rows.
    pub shown: Vec<Shown>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseSummary {
    pub id: String,
    pub number: String,
    pub subject: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    /// The workspace's chosen Case fields; empty: the built-in line.
    pub shown: Vec<Shown>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lead {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub company: Option<String>,
    pub status: Option<String>,
    pub owner: Option<String>,
    pub is_converted: bool,
    pub converted_contact_id: Option<String>,
    pub converted_account_id: Option<String>,
    /// The workspace's chosen fields (empty: the built-in set).
    pub shown: Vec<Shown>,
}

fn owner_name(o: Option<NameRef>) -> Option<String> {
    o.and_then(|o| o.name)
}

impl AccountRow {
    pub fn into_parts(self, currency: &str) -> (Account, Vec<Opportunity>) {
        let (opps, _) = rows(self.opportunities);
        let account = Account {
            name: self.name.unwrap_or_else(|| "(no name)".to_string()),
            id: self.id,
            website: self.website,
            billing_country: self.billing_country,
            owner: owner_name(self.owner),
            shown: self.shown,
        };
        (
            account,
            opps.into_iter()
                .map(|o| o.into_opportunity(currency))
                .collect(),
        )
    }
}

impl OpportunityRow {
    pub fn into_opportunity(self, currency: &str) -> Opportunity {
        Opportunity {
            name: self.name.unwrap_or_else(|| "(no name)".to_string()),
            id: self.id,
            stage: self.stage_name,
            close_date: self.close_date,
            amount: self.amount,
            currency: self
                .currency_iso_code
                .unwrap_or_else(|| currency.to_string()),
            owner: owner_name(self.owner),
            is_closed: self.is_closed.unwrap_or(false),
            role: None,
            shown: self.shown,
        }
    }
}

impl ContactRoleRow {
    pub fn into_opportunity(self, currency: &str) -> Option<Opportunity> {
        let id = self.opportunity_id?;
        let o = self.opportunity?;
        Some(Opportunity {
            id,
            name: o.name.unwrap_or_else(|| "(no name)".to_string()),
            stage: o.stage_name,
            close_date: o.close_date,
            amount: o.amount,
            currency: o.currency_iso_code.unwrap_or_else(|| currency.to_string()),
            owner: owner_name(o.owner),
            is_closed: o.is_closed.unwrap_or(false),
            role: self.role,
            shown: self.shown,
        })
    }
}

impl CaseRow {
    pub fn into_summary(self) -> CaseSummary {
        CaseSummary {
            number: self.case_number.unwrap_or_else(|| self.id.clone()),
            id: self.id,
            subject: self.subject,
            status: self.status,
            priority: self.priority,
            shown: self.shown,
        }
    }
}

impl LeadRow {
    pub fn into_lead(self) -> Lead {
        Lead {
            name: self.name.unwrap_or_else(|| "(no name)".to_string()),
            id: self.id,
            email: self.email,
            company: self.company,
            status: self.status,
            owner: owner_name(self.owner),
            is_converted: self.is_converted.unwrap_or(false),
            converted_contact_id: self.converted_contact_id,
            converted_account_id: self.converted_account_id,
            shown: self.shown,
        }
    }
}

impl AccountParentRow {
    pub fn into_account(self, id: String) -> Account {
        Account {
            id,
            name: self.name.unwrap_or_else(|| "(no name)".to_string()),
            website: self.website,
            billing_country: self.billing_country,
            owner: owner_name(self.owner),
            shown: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/data/salesforce/{path}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn parses_real_contacts_with_null_and_present_account() {
        let q: QueryResult<ContactRow> =
            serde_json::from_str(&fixture("query/contacts_with_account.nango-v60.json")).unwrap();
        assert_eq!(q.total_size, 22);
        let first = &q.records[0];
        assert_eq!(
            first.account.as_ref().unwrap().name.as_deref(),
            Some("Abbott Inc")
        );
        assert_eq!(
            first.owner.as_ref().unwrap().name.as_deref(),
            Some("Mock Test")
        );
        assert!(
            q.records[1].account.is_none(),
            "a null parent parses as None"
        );
    }

    #[test]
    fn parses_real_leads_with_polymorphic_owner() {
        let q: QueryResult<LeadRow> =
            serde_json::from_str(&fixture("query/leads.nango-v60.json")).unwrap();
        let lead = q.records.into_iter().next().unwrap().into_lead();
        assert_eq!(lead.owner.as_deref(), Some("Mock Test"));
        assert_eq!(lead.company.as_deref(), Some("Mock Company Example"));
    }

    #[test]
    fn parses_real_cases_with_null_child_subquery() {
        let q: QueryResult<CaseRow> = serde_json::from_str(&fixture(
            "query/cases_parents_owner_child_subquery.nango-v60.json",
        ))
        .unwrap();
        assert_eq!(q.records.len(), 4);
        assert_eq!(q.records[0].case_number.as_deref(), Some("00001004"));
    }

    #[test]
    fn parses_real_opportunities_with_null_amounts() {
        let q: QueryResult<OpportunityRow> =
            serde_json::from_str(&fixture("query/opportunities_with_parents.nango-v60.json"))
                .unwrap();
        let o = q
            .records
            .into_iter()
            .next()
            .unwrap()
            .into_opportunity("USD");
        assert_eq!(o.amount, None);
        assert_eq!(o.close_date, NaiveDate::from_ymd_opt(2024, 12, 31));
        assert_eq!(o.owner.as_deref(), Some("Mock Test"));
    }

    #[test]
    fn parses_a_paged_answer() {
        let q: QueryResult<AccountRow> = serde_json::from_str(&fixture(
            "query/accounts_first_page_not_done.nango-v59.json",
        ))
        .unwrap();
        assert!(!q.done);
        assert!(q.next_records_url.unwrap().contains("/query/"));
    }
}
