//! Who this person is in Salesforce: the queries, and the matching rules.
//!
//! Everything a panel needs comes back from **one** `/composite` round trip
//! of up to five queries: Contacts with that email (their Account by
//! relationship fields, open Cases and opportunity contact roles as child
//! subqueries), Leads with that email, the Contacts' Accounts with their
//! open Opportunities (a semi-join, since a child subquery cannot hang off a
//! parent path), Accounts named like the person's company, and, on the
//! first lookup in an org, its default currency and whether it is
//! multi-currency (a GET of `sobjects/CurrencyType`, which only such orgs
//! have). A multi-currency org is then asked once more, with each record's
//! `CurrencyIsoCode` (a field that would fail the query anywhere else); a
//! converted Lead whose Contact no longer carries the email costs a second
//! round trip too. Every other cold render is one round trip.
//!
//! Matching: an Intercom lead → the Salesforce Lead with that email (a
//! converted one shows its Contact and Account); a user → the Contact, else
//! a Lead; the company → the Contact's Account, else an Account of that name.

use serde_json::Value;

use super::client::{QueryResult, SalesforceClient, SubRequest, SubResponse};
use super::error::SalesforceError;
use super::records::*;
use super::soql::{select, Cond, Dir, FieldName, Literal, Select};
use crate::canvas::PersonRole;

/// The most opportunities a dropdown can offer (Canvas Kit allows 10).
pub const MAX_OPPORTUNITIES: usize = 10;

/// What we know of the person from Intercom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonQuery {
    pub role: PersonRole,
    /// Lower-cased; Salesforce compares emails case-insensitively anyway,
    /// and one cache entry should serve every spelling.
    pub email: Option<String>,
    pub companies: Vec<String>,
    /// The workspace's chosen panel fields (empty: the built-in set).
    pub fields: PanelFieldNames,
}

/// Fields the workspace chose for each panel, in order; each list empty
/// for the built-in set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PanelFieldNames {
    pub contact: Vec<FieldName>,
    pub account: Vec<FieldName>,
    pub lead: Vec<FieldName>,
    /// The deal view's Opportunity fields.
    pub opportunity: Vec<FieldName>,
    /// The open-case list's Case fields.
    pub case: Vec<FieldName>,
}

impl PanelFieldNames {
    /// From settings' lists: only plain field names are kept (the console
    /// checked each against the describe when it was saved).
    pub fn from_lists(
        contact: &[String],
        account: &[String],
        lead: &[String],
        opportunity: &[String],
        case: &[String],
    ) -> PanelFieldNames {
        let names = |l: &[String]| l.iter().filter_map(|n| FieldName::new(n)).collect();
        PanelFieldNames {
            contact: names(contact),
            account: names(account),
            lead: names(lead),
            opportunity: names(opportunity),
            case: names(case),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.contact.is_empty()
            && self.account.is_empty()
            && self.lead.is_empty()
            && self.opportunity.is_empty()
            && self.case.is_empty()
    }

    fn identity(&self) -> String {
        let join = |l: &[FieldName]| {
            l.iter()
                .map(|f| f.as_str().to_lowercase())
                .collect::<Vec<_>>()
                .join(",")
        };
        format!(
            "|fields=c:{};a:{};l:{};o:{};k:{}",
            join(&self.contact),
            join(&self.account),
            join(&self.lead),
            join(&self.opportunity),
            join(&self.case)
        )
    }
}

impl PersonQuery {
    pub fn new(role: PersonRole, email: Option<&str>, companies: Vec<String>) -> Self {
        let mut companies: Vec<String> = companies.into_iter().take(5).collect();
        companies.sort_by_key(|c| c.to_lowercase());
        companies.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        PersonQuery {
            role,
            email: email.map(|e| e.trim().to_lowercase()),
            companies,
            fields: PanelFieldNames::default(),
        }
    }

    /// The same lookup, selecting the workspace's chosen panel fields too.
    pub fn with_fields(mut self, fields: PanelFieldNames) -> Self {
        self.fields = fields;
        self
    }

    /// Whether a [`cache_identity`](Self::cache_identity) is a lookup of
    /// this email (the format is known here only).
    pub fn identity_has_email(identity: &str, email: &str) -> bool {
        identity.contains(&format!("|email={}|", email.trim().to_lowercase()))
    }

    /// The cache identity of this lookup (org and workspace are added by
    /// the cache key).
    pub fn cache_identity(&self) -> String {
        format!(
            "profile|role={}|email={}|company={}",
            match self.role {
                PersonRole::User => "user",
                PersonRole::Lead => "lead",
            },
            self.email.as_deref().unwrap_or(""),
            self.companies.join("\u{1f}").to_lowercase()
        ) + &if self.fields.is_empty() {
            String::new()
        } else {
            self.fields.identity()
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Profile {
    Contact(Box<ContactProfile>),
    Lead(LeadProfile),
    Account(AccountProfile),
    NotFound {
        email: Option<String>,
        companies: Vec<String>,
    },
}

impl super::cache::Weigh for Profile {
    /// The text it holds, measured through its `Debug` form (names, ids,
    /// subjects: strings dominate), plus the enum itself. Only run when an
    /// entry is inserted.
    fn weigh(&self) -> usize {
        struct Count(usize);
        impl std::fmt::Write for Count {
            fn write_str(&mut self, s: &str) -> std::fmt::Result {
                self.0 += s.len();
                Ok(())
            }
        }
        let mut n = Count(std::mem::size_of::<Profile>());
        let _ = std::fmt::write(&mut n, format_args!("{self:?}"));
        n.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContactProfile {
    pub contact: Contact,
    pub account: Option<Account>,
    /// Contact-role opportunities first, then the Account's open ones.
    pub opportunities: Vec<Opportunity>,
    pub open_cases: Vec<CaseSummary>,
    pub open_case_count: u64,
    /// Set when the person was found as a Lead that has been converted.
    pub converted_from: Option<Lead>,
    /// Other Contacts with the same email (shown as a hint).
    pub other_matches: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LeadProfile {
    pub lead: Lead,
    pub other_matches: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccountProfile {
    pub account: Account,
    pub opportunities: Vec<Opportunity>,
}

const CONTACT_FIELDS: &[&str] = &[
    "Id",
    "Name",
    "Email",
    "Title",
    "Phone",
    "Owner.Name",
    "AccountId",
    "Account.Name",
    "Account.Website",
    "Account.BillingCountry",
    "Account.Owner.Name",
];
const LEAD_FIELDS: &[&str] = &[
    "Id",
    "Name",
    "Email",
    "Company",
    "Status",
    "Owner.Name",
    "IsConverted",
    "ConvertedContactId",
    "ConvertedAccountId",
];
const ACCOUNT_FIELDS: &[&str] = &["Id", "Name", "Website", "BillingCountry", "Owner.Name"];

/// What the lookup has to know about an org before it can ask the right
/// questions: the default currency, and whether records carry their own
/// (`CurrencyIsoCode` exists only in multi-currency orgs; selecting it
/// elsewhere fails the query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgFacts {
    pub currency: String,
    pub multi_currency: bool,
}

const ROLE_FIELDS: &[&str] = &[
    "Role",
    "IsPrimary",
    "OpportunityId",
    "Opportunity.Name",
    "Opportunity.StageName",
    "Opportunity.CloseDate",
    "Opportunity.Amount",
    "Opportunity.IsClosed",
    "Opportunity.Owner.Name",
];
const OPPORTUNITY_FIELDS: &[&str] = &[
    "Id",
    "Name",
    "StageName",
    "CloseDate",
    "Amount",
    "IsClosed",
    "Owner.Name",
];

/// `base`, plus `extra` in a multi-currency org.
fn with_currency(base: &[&'static str], extra: &'static str, multi: bool) -> Vec<&'static str> {
    let mut v = base.to_vec();
    if multi {
        v.push(extra);
    }
    v
}

fn contact_query(filter: Cond, multi: bool, chosen: &PanelFieldNames) -> Select {
    select(CONTACT_FIELDS, "Contact")
        .also(&chosen.contact)
        .child(
            select(
                &["Id", "CaseNumber", "Subject", "Status", "Priority"],
                "Cases",
            )
            .also(&chosen.case)
            .filter(Cond::eq("IsClosed", false))
            .order_by("CreatedDate", Dir::Desc)
            .limit(50),
        )
        .child(
            select(
                &with_currency(ROLE_FIELDS, "Opportunity.CurrencyIsoCode", multi),
                "OpportunityContactRoles",
            )
            .also_through("Opportunity", &chosen.opportunity)
            .order_by("IsPrimary", Dir::Desc)
            .limit(20),
        )
        .filter(filter)
        .order_by("LastModifiedDate", Dir::Desc)
        .limit(5)
}

fn account_query(filter: Cond, multi: bool, chosen: &PanelFieldNames) -> Select {
    select(ACCOUNT_FIELDS, "Account")
        .also(&chosen.account)
        .child(
            select(
                &with_currency(OPPORTUNITY_FIELDS, "CurrencyIsoCode", multi),
                "Opportunities",
            )
            .also(&chosen.opportunity)
            .filter(Cond::eq("IsClosed", false))
            .order_by("CloseDate", Dir::Asc)
            .limit(20),
        )
        .filter(filter)
        .limit(5)
}

/// The composite subrequests for one lookup. Without `facts` (the first
/// lookup in an org) it also asks for the org's default currency and
/// whether `CurrencyType` exists (a plain GET, so the five-query limit of
/// a composite still holds).
pub fn plan(
    client: &SalesforceClient,
    q: &PersonQuery,
    facts: Option<&OrgFacts>,
) -> Vec<SubRequest> {
    let multi = facts.is_some_and(|f| f.multi_currency);
    let mut out = Vec::new();
    let mut push = |id: &str, s: Select| out.push(client.query_sub(id, &s));
    if let Some(email) = &q.email {
        push(
            "contacts",
            contact_query(Cond::eq("Email", email.as_str()), multi, &q.fields),
        );
        push(
            "leads",
            select(LEAD_FIELDS, "Lead")
                .also(&q.fields.lead)
                .filter(Cond::eq("Email", email.as_str()))
                .order_by("LastModifiedDate", Dir::Desc)
                .limit(5),
        );
        push(
            "contact_accounts",
            account_query(
                Cond::InSelect(
                    "Id",
                    Box::new(
                        select(&["AccountId"], "Contact").filter(Cond::eq("Email", email.as_str())),
                    ),
                ),
                multi,
                &q.fields,
            ),
        );
    }
    if !q.companies.is_empty() {
        push(
            "company_accounts",
            account_query(
                Cond::In(
                    "Name",
                    q.companies
                        .iter()
                        .map(|c| Literal::Str(c.clone()))
                        .collect(),
                ),
                multi,
                &q.fields,
            ),
        );
    }
    let asks_something = q.email.is_some() || !q.companies.is_empty();
    if facts.is_none() && asks_something {
        push(
            "organization",
            select(&["Id", "DefaultCurrencyIsoCode"], "Organization").limit(1),
        );
        out.push(SubRequest {
            method: "GET",
            url: client.data_path("sobjects/CurrencyType"),
            reference_id: "currency_type".to_string(),
            body: None,
            http_headers: None,
        });
    }
    out
}

/// The answers of one composite round trip, by reference id.
#[derive(Default)]
struct Answers {
    contacts: Vec<ContactRow>,
    leads: Vec<LeadRow>,
    contact_accounts: Vec<AccountRow>,
    company_accounts: Vec<AccountRow>,
    currency: Option<String>,
    /// `Some` when the plan asked whether `CurrencyType` exists.
    multi_currency: Option<bool>,
}

/// Reads one composite answer to `asked`. A partial or malformed answer
/// (a sub-answer missing, repeated or unknown, an empty
/// `compositeResponse`) is an error, never an empty result: taking it as
/// "nothing found" would cache a wrong "not in Salesforce" over good data.
fn read_complete(
    asked: &[SubRequest],
    responses: Vec<SubResponse>,
    fields: &PanelFieldNames,
) -> Result<Answers, SalesforceError> {
    for req in asked {
        let n = responses
            .iter()
            .filter(|r| r.reference_id == req.reference_id)
            .count();
        if n != 1 {
            return Err(SalesforceError::Malformed(format!(
                "composite answered {n} sub-answers for {:?} (of {} asked, {} answered)",
                req.reference_id,
                asked.len(),
                responses.len()
            )));
        }
    }
    // More than asked is tolerated only for the org probes (a plan made
    // before another lookup learned the org's facts); anything unknown is
    // refused by `read_answers`.
    if responses.len() < asked.len() {
        return Err(SalesforceError::Malformed(format!(
            "composite answered {} sub-answers to {} subrequests",
            responses.len(),
            asked.len()
        )));
    }
    read_answers(responses, fields)
}

/// A query's rows; with chosen panel fields, each row also carries their
/// values (read from the record as answered).
fn rows_with<T: serde::de::DeserializeOwned>(
    r: SubResponse,
    chosen: bool,
    set: impl Fn(&mut T, &serde_json::Map<String, Value>),
) -> Result<Vec<T>, SalesforceError> {
    if !chosen {
        return Ok(r.into_result::<QueryResult<T>>()?.records);
    }
    r.into_result::<QueryResult<Value>>()?
        .records
        .into_iter()
        .map(|v| {
            let mut row: T = serde_json::from_value(v.clone())
                .map_err(|e| SalesforceError::Malformed(e.to_string()))?;
            let empty = serde_json::Map::new();
            set(&mut row, v.as_object().unwrap_or(&empty));
            Ok(row)
        })
        .collect()
}

/// The `i`th record of the child subquery `name` of a raw row (`{}` when
/// it has none): where a child's chosen fields are read.
fn child<'a>(
    raw: &'a serde_json::Map<String, Value>,
    name: &str,
    i: usize,
) -> &'a serde_json::Map<String, Value> {
    static EMPTY: std::sync::LazyLock<serde_json::Map<String, Value>> =
        std::sync::LazyLock::new(serde_json::Map::new);
    raw.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v["records"].get(i))
        .and_then(Value::as_object)
        .unwrap_or(&EMPTY)
}

/// A contact's chosen fields, and those of its open cases and its roles'
/// opportunities.
fn contact_shown(c: &mut ContactRow, raw: &serde_json::Map<String, Value>, f: &PanelFieldNames) {
    c.shown = shown(raw, &f.contact);
    if !f.case.is_empty() {
        for (i, case) in c
            .cases
            .iter_mut()
            .flat_map(|q| q.records.iter_mut())
            .enumerate()
        {
            case.shown = shown(child(raw, "Cases", i), &f.case);
        }
    }
    if !f.opportunity.is_empty() {
        let roles = c.opportunity_contact_roles.iter_mut();
        for (i, role) in roles.flat_map(|q| q.records.iter_mut()).enumerate() {
            let parent = child(raw, "OpportunityContactRoles", i)
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("Opportunity"))
                .and_then(|(_, v)| v.as_object());
            if let Some(o) = parent {
                role.shown = shown(o, &f.opportunity);
            }
        }
    }
}

/// An account's chosen fields, and those of its open opportunities.
fn account_shown(a: &mut AccountRow, raw: &serde_json::Map<String, Value>, f: &PanelFieldNames) {
    a.shown = shown(raw, &f.account);
    if !f.opportunity.is_empty() {
        let opps = a.opportunities.iter_mut();
        for (i, o) in opps.flat_map(|q| q.records.iter_mut()).enumerate() {
            o.shown = shown(child(raw, "Opportunities", i), &f.opportunity);
        }
    }
}

fn read_answers(
    responses: Vec<SubResponse>,
    fields: &PanelFieldNames,
) -> Result<Answers, SalesforceError> {
    let mut a = Answers::default();
    for r in responses {
        if r.reference_id == "currency_type" {
            // 200 in a multi-currency org, 404 NOT_FOUND elsewhere; anything
            // else says nothing about the org.
            a.multi_currency = match r.status {
                200..=299 => Some(true),
                404 => Some(false),
                _ => {
                    let body = serde_json::to_vec(&r.body).unwrap_or_default();
                    return Err(SalesforceError::from_response(r.status, &body));
                }
            };
            continue;
        }
        match r.reference_id.clone().as_str() {
            "contacts" => {
                a.contacts = rows_with(r, !fields.is_empty(), |c: &mut ContactRow, raw| {
                    contact_shown(c, raw, fields)
                })?
            }
            "leads" => {
                a.leads = rows_with(r, !fields.lead.is_empty(), |l: &mut LeadRow, raw| {
                    l.shown = shown(raw, &fields.lead)
                })?
            }
            "contact_accounts" => {
                a.contact_accounts = rows_with(r, !fields.is_empty(), |x: &mut AccountRow, raw| {
                    account_shown(x, raw, fields)
                })?
            }
            "company_accounts" => {
                a.company_accounts = rows_with(r, !fields.is_empty(), |x: &mut AccountRow, raw| {
                    account_shown(x, raw, fields)
                })?
            }
            "organization" => {
                a.currency = r
                    .into_result::<QueryResult<OrganizationRow>>()?
                    .records
                    .into_iter()
                    .next()
                    .and_then(|o| o.default_currency_iso_code)
            }
            other => {
                return Err(SalesforceError::Malformed(format!(
                    "composite answered an unknown referenceId {other:?}"
                )))
            }
        }
    }
    Ok(a)
}

/// What the matching rules decided, before any follow-up.
enum Decision {
    Done(Profile),
    /// A converted Lead whose Contact did not come back by email.
    FollowConversion(LeadRow),
}

fn build_contact(
    row: ContactRow,
    accounts: &[AccountRow],
    company_accounts: &[AccountRow],
    currency: &str,
    converted_from: Option<Lead>,
    other_matches: usize,
) -> ContactProfile {
    let own_account = row.account_id.clone();
    let (cases, case_count) = rows(row.cases);
    let (roles, _) = rows(row.opportunity_contact_roles);
    let mut opportunities: Vec<Opportunity> = roles
        .into_iter()
        .filter_map(|r| r.into_opportunity(currency))
        .collect();
    // Open role-linked deals before closed ones; stable keeps primary first.
    opportunities.sort_by_key(|o| o.is_closed);

    let account_row = row
        .account_id
        .as_ref()
        .and_then(|id| accounts.iter().find(|a| &a.id == id))
        .or_else(|| {
            // No Account on the Contact: fall back to the company's.
            row.account_id
                .is_none()
                .then(|| company_accounts.first())
                .flatten()
        })
        .cloned();
    let account = match account_row {
        Some(a) => {
            let (account, opps) = a.into_parts(currency);
            for o in opps {
                if !opportunities.iter().any(|x| x.id == o.id) {
                    opportunities.push(o);
                }
            }
            Some(account)
        }
        // The Account exists but the semi-join did not return it (sharing,
        // or a missing row): show what the relationship fields carried.
        None => match (row.account_id, row.account) {
            (Some(id), Some(parent)) => Some(parent.into_account(id)),
            _ => None,
        },
    };
    opportunities.truncate(MAX_OPPORTUNITIES);

    ContactProfile {
        contact: Contact {
            name: row.name.unwrap_or_else(|| "(no name)".to_string()),
            id: row.id,
            account_id: own_account,
            email: row.email,
            title: row.title,
            owner: row.owner.and_then(|o| o.name),
            shown: row.shown,
        },
        account,
        opportunities,
        open_cases: cases.into_iter().map(CaseRow::into_summary).collect(),
        open_case_count: case_count,
        converted_from,
        other_matches,
    }
}

fn decide(q: &PersonQuery, mut a: Answers, currency: &str) -> Decision {
    let contact_count = a.contacts.len();
    let (converted, open): (Vec<LeadRow>, Vec<LeadRow>) = std::mem::take(&mut a.leads)
        .into_iter()
        .partition(|l| l.is_converted.unwrap_or(false));

    let lead_profile = |mut open: Vec<LeadRow>| {
        let others = open.len() - 1;
        Profile::Lead(LeadProfile {
            lead: open.remove(0).into_lead(),
            other_matches: others,
        })
    };

    // A converted Lead resolves to its Contact when that came back by email.
    let via_conversion = |a: &mut Answers, converted: &[LeadRow]| -> Option<Decision> {
        let lead = converted.first()?;
        let target = lead.converted_contact_id.as_deref()?;
        match a.contacts.iter().position(|c| c.id == target) {
            Some(i) => {
                let row = a.contacts.remove(i);
                Some(Decision::Done(Profile::Contact(Box::new(build_contact(
                    row,
                    &a.contact_accounts,
                    &a.company_accounts,
                    currency,
                    Some(lead.clone().into_lead()),
                    contact_count.saturating_sub(1),
                )))))
            }
            None => Some(Decision::FollowConversion(lead.clone())),
        }
    };

    let contact_profile = |a: &mut Answers| -> Option<Decision> {
        if a.contacts.is_empty() {
            return None;
        }
        let row = a.contacts.remove(0);
        Some(Decision::Done(Profile::Contact(Box::new(build_contact(
            row,
            &a.contact_accounts,
            &a.company_accounts,
            currency,
            None,
            contact_count - 1,
        )))))
    };

    let found = match q.role {
        PersonRole::Lead => {
            if !open.is_empty() {
                Some(Decision::Done(lead_profile(open)))
            } else {
                via_conversion(&mut a, &converted).or_else(|| contact_profile(&mut a))
            }
        }
        PersonRole::User => contact_profile(&mut a).or_else(|| {
            if !open.is_empty() {
                Some(Decision::Done(lead_profile(open)))
            } else {
                via_conversion(&mut a, &converted)
            }
        }),
    };
    if let Some(d) = found {
        return d;
    }
    if let Some(acc) = a.company_accounts.into_iter().next() {
        let (account, mut opportunities) = acc.into_parts(currency);
        opportunities.truncate(MAX_OPPORTUNITIES);
        return Decision::Done(Profile::Account(AccountProfile {
            account,
            opportunities,
        }));
    }
    Decision::Done(Profile::NotFound {
        email: q.email.clone(),
        companies: q.companies.clone(),
    })
}

/// Looks the person up: one composite round trip. Two only when the first
/// look at an org finds it multi-currency (once per org, to read each
/// record's currency), or for a converted Lead whose Contact changed
/// email. `facts` are what earlier lookups learned of the org; the answer
/// returns them, learned or confirmed.
pub async fn fetch(
    client: &SalesforceClient,
    q: &PersonQuery,
    facts: Option<OrgFacts>,
) -> Result<(Profile, OrgFacts), SalesforceError> {
    let first = ask(client, q, facts.as_ref()).await?;
    fetch_from(client, q, facts, first).await
}

/// [`fetch`], its first round trip already made: `first` are the answers
/// to [`plan`]`(client, q, facts)`, sent by the caller (e.g. behind a
/// create, in the same composite).
pub async fn fetch_from(
    client: &SalesforceClient,
    q: &PersonQuery,
    facts: Option<OrgFacts>,
    first: Vec<SubResponse>,
) -> Result<(Profile, OrgFacts), SalesforceError> {
    let answers = read_complete(&plan(client, q, facts.as_ref()), first, &q.fields)?;
    let (answers, facts) = match facts {
        Some(f) => (answers, f),
        None => {
            // Learned only from a complete answer: the Organization row and
            // the CurrencyType probe must both be there (an org always has
            // its row), else nothing is fixed for the life of the process.
            let learned = match (&answers.currency, answers.multi_currency) {
                (Some(currency), Some(multi_currency)) => OrgFacts {
                    currency: currency.clone(),
                    multi_currency,
                },
                _ if plan(client, q, None).is_empty() => OrgFacts {
                    currency: "USD".to_string(),
                    multi_currency: false,
                },
                _ => {
                    return Err(SalesforceError::Malformed(
                        "the answer did not say the org's default currency".to_string(),
                    ))
                }
            };
            if learned.multi_currency {
                (
                    read_complete(
                        &plan(client, q, Some(&learned)),
                        ask(client, q, Some(&learned)).await?,
                        &q.fields,
                    )?,
                    learned,
                )
            } else {
                (answers, learned)
            }
        }
    };
    let multi = facts.multi_currency;
    match decide(q, answers, &facts.currency) {
        Decision::Done(p) => Ok((p, facts)),
        Decision::FollowConversion(lead) => {
            let contact_id = lead.converted_contact_id.clone().unwrap_or_default();
            let mut follow = vec![client.query_sub(
                "contacts",
                &contact_query(Cond::eq("Id", contact_id.as_str()), multi, &q.fields),
            )];
            if let Some(acc) = &lead.converted_account_id {
                follow.push(client.query_sub(
                    "contact_accounts",
                    &account_query(Cond::eq("Id", acc.as_str()), multi, &q.fields),
                ));
            }
            let a = read_complete(&follow, client.composite(&follow).await?, &q.fields)?;
            let lead_value = lead.clone().into_lead();
            let profile = match a.contacts.into_iter().next() {
                Some(row) => Profile::Contact(Box::new(build_contact(
                    row,
                    &a.contact_accounts,
                    &[],
                    &facts.currency,
                    Some(lead_value),
                    0,
                ))),
                // The Contact is gone or hidden from the integration user:
                // show the Lead, marked converted, rather than nothing.
                None => Profile::Lead(LeadProfile {
                    lead: lead_value,
                    other_matches: 0,
                }),
            };
            Ok((profile, facts))
        }
    }
}

/// One composite round trip for the plan (nothing to ask: nothing found).
async fn ask(
    client: &SalesforceClient,
    q: &PersonQuery,
    facts: Option<&OrgFacts>,
) -> Result<Vec<SubResponse>, SalesforceError> {
    let requests = plan(client, q, facts);
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    client.composite(&requests).await
}

/// The active Salesforce user with this email (owners are matched to
/// Intercom teammates by email).
pub fn active_user_query(email: &str) -> Select {
    select(&["Id", "Name"], "User")
        .filter(Cond::And(vec![
            Cond::eq("Email", email.trim().to_lowercase()),
            Cond::eq("IsActive", true),
        ]))
        .limit(1)
}

/// Picks the opportunity to show: the requested one if it belongs to this
/// profile (stored data is never trusted beyond that), else the first.
pub fn pick_opportunity<'a>(
    opps: &'a [Opportunity],
    wanted: Option<&str>,
) -> Option<&'a Opportunity> {
    wanted
        .and_then(|w| opps.iter().find(|o| o.id == w))
        .or_else(|| opps.first())
}

/// Used by tests: a composite answer body as Salesforce sends it.
pub fn composite_body_for_tests(parts: Vec<(&str, Value)>) -> Vec<SubResponse> {
    parts
        .into_iter()
        .map(|(id, body)| SubResponse {
            body,
            status: 200,
            reference_id: id.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(role: PersonRole) -> PersonQuery {
        PersonQuery::new(role, Some("Hana@Globex.example"), vec!["Globex".into()])
    }

    fn empty() -> Value {
        json!({"totalSize": 0, "done": true, "records": []})
    }

    fn one(rec: Value) -> Value {
        json!({"totalSize": 1, "done": true, "records": [rec]})
    }

    fn lead(id: &str, converted: bool, contact: Option<&str>) -> Value {
        json!({"attributes": {"type": "Lead"}, "Id": id, "Name": "L", "Email": "hana@globex.example",
               "Company": "Globex", "Status": "Open", "Owner": {"attributes": {"type": "Name"}, "Name": "Maya"},
               "IsConverted": converted, "ConvertedContactId": contact, "ConvertedAccountId": null})
    }

    fn contact(id: &str) -> Value {
        json!({"attributes": {"type": "Contact"}, "Id": id, "Name": "Hana Okafor", "Email": "hana@globex.example",
               "Owner": {"Name": "Dev"}, "AccountId": "001A", "Account": {"Name": "Globex"},
               "Cases": null, "OpportunityContactRoles": {"totalSize": 1, "done": true, "records": [
                   {"Role": "Decision Maker", "IsPrimary": true, "OpportunityId": "006R",
                    "Opportunity": {"Name": "Renewal", "StageName": "Negotiation", "CloseDate": "2026-12-15",
                                    "Amount": 1000.0, "IsClosed": false, "Owner": {"Name": "Maya"}}}]}})
    }

    fn account(id: &str, opp_ids: &[&str]) -> Value {
        let opps: Vec<Value> = opp_ids
            .iter()
            .map(|o| json!({"Id": o, "Name": format!("Opp {o}"), "StageName": "Prospecting", "CloseDate": null,
                            "Amount": null, "IsClosed": false, "Owner": null}))
            .collect();
        json!({"Id": id, "Name": "Globex", "Website": "https://www.globex.example", "BillingCountry": "US",
               "Owner": {"Name": "Maya"},
               "Opportunities": if opps.is_empty() { Value::Null } else { json!({"totalSize": opps.len(), "done": true, "records": opps}) }})
    }

    fn decide_with(role: PersonRole, parts: Vec<(&str, Value)>) -> Profile {
        let a = read_answers(composite_body_for_tests(parts), &PanelFieldNames::default()).unwrap();
        match decide(&q(role), a, "USD") {
            Decision::Done(p) => p,
            Decision::FollowConversion(_) => panic!("unexpected follow-up"),
        }
    }

    #[test]
    fn user_matches_contact_with_role_opportunities_first_then_account_opportunities() {
        let p = decide_with(
            PersonRole::User,
            vec![
                ("contacts", one(contact("003C"))),
                ("leads", one(lead("00QL", false, None))),
                ("contact_accounts", one(account("001A", &["006R", "006X"]))),
                ("company_accounts", empty()),
            ],
        );
        let Profile::Contact(c) = p else {
            panic!("{p:?}")
        };
        assert_eq!(c.contact.id, "003C");
        let ids: Vec<_> = c.opportunities.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, vec!["006R", "006X"], "role first, no duplicate");
        assert_eq!(c.opportunities[0].role.as_deref(), Some("Decision Maker"));
        assert_eq!(c.open_case_count, 0, "a null Cases subquery means none");
        assert_eq!(
            c.account.unwrap().website.as_deref(),
            Some("https://www.globex.example")
        );
    }

    #[test]
    fn lead_matches_open_lead_before_contact() {
        let p = decide_with(
            PersonRole::Lead,
            vec![
                ("contacts", one(contact("003C"))),
                ("leads", one(lead("00QL", false, None))),
            ],
        );
        assert!(
            matches!(p, Profile::Lead(ref l) if l.lead.id == "00QL"),
            "{p:?}"
        );
    }

    #[test]
    fn converted_lead_shows_its_contact() {
        let p = decide_with(
            PersonRole::Lead,
            vec![
                ("contacts", one(contact("003C"))),
                ("leads", one(lead("00QL", true, Some("003C")))),
                ("contact_accounts", one(account("001A", &[]))),
            ],
        );
        let Profile::Contact(c) = p else {
            panic!("{p:?}")
        };
        assert_eq!(c.converted_from.unwrap().id, "00QL");
        assert_eq!(c.account.unwrap().id, "001A");
    }

    #[test]
    fn converted_lead_with_moved_contact_needs_a_follow_up() {
        let a = read_answers(
            composite_body_for_tests(vec![
                ("contacts", empty()),
                ("leads", one(lead("00QL", true, Some("003Z")))),
            ]),
            &PanelFieldNames::default(),
        )
        .unwrap();
        assert!(matches!(
            decide(&q(PersonRole::Lead), a, "USD"),
            Decision::FollowConversion(_)
        ));
    }

    #[test]
    fn user_without_contact_falls_back_to_lead_then_company_account() {
        let p = decide_with(
            PersonRole::User,
            vec![
                ("contacts", empty()),
                ("leads", one(lead("00QL", false, None))),
            ],
        );
        assert!(matches!(p, Profile::Lead(_)));
        let p = decide_with(
            PersonRole::User,
            vec![
                ("contacts", empty()),
                ("leads", empty()),
                ("company_accounts", one(account("001S", &["0061", "0062"]))),
            ],
        );
        let Profile::Account(a) = p else {
            panic!("{p:?}")
        };
        assert_eq!(a.opportunities.len(), 2);
        let p = decide_with(
            PersonRole::User,
            vec![("contacts", empty()), ("leads", empty())],
        );
        assert!(matches!(p, Profile::NotFound { .. }));
    }

    #[test]
    fn failed_subrequest_is_classified() {
        let mut parts = composite_body_for_tests(vec![("contacts", empty())]);
        parts[0].status = 400;
        parts[0].body = json!([{"message": "No such column 'Foo'", "errorCode": "INVALID_FIELD"}]);
        assert!(matches!(
            read_answers(parts, &PanelFieldNames::default()),
            Err(SalesforceError::Rejected { status: 400, .. })
        ));
    }

    #[test]
    fn chosen_fields_are_selected_and_change_the_cache_identity() {
        let plain = q(PersonRole::User);
        let chosen = plain.clone().with_fields(PanelFieldNames::from_lists(
            &["Department".into(), "Not a field!".into(), "title".into()],
            &["Industry".into()],
            &[],
            &["Probability".into(), "StageName".into()],
            &["Origin".into()],
        ));
        assert_ne!(plain.cache_identity(), chosen.cache_identity());
        assert!(PersonQuery::identity_has_email(
            &chosen.cache_identity(),
            "hana@globex.example"
        ));
        assert_eq!(
            chosen
                .fields
                .contact
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>(),
            vec!["Department", "title"],
            "only plain names are kept"
        );
        let soql = contact_query(Cond::eq("Email", "a@b.c"), false, &chosen.fields).to_soql();
        assert!(
            soql.starts_with("SELECT Id, Name, Email, Title, Phone, Owner.Name"),
            "{soql}"
        );
        assert!(soql.contains(", Department, ("), "{soql}");
        assert_eq!(soql.matches("Title").count(), 1, "{soql}");
        // The cases' and the roles' opportunities' chosen fields ride in
        // their subqueries, each once.
        assert!(soql.contains("Priority, Origin FROM Cases"), "{soql}");
        assert!(
            soql.contains(", Opportunity.Probability FROM OpportunityContactRoles"),
            "{soql}"
        );
        assert_eq!(soql.matches("Opportunity.StageName").count(), 1, "{soql}");
        let soql = account_query(Cond::eq("Id", "001"), false, &chosen.fields).to_soql();
        assert!(soql.contains(", Probability FROM Opportunities"), "{soql}");
    }

    #[test]
    fn cache_identity_ignores_email_case_and_company_order() {
        let a = PersonQuery::new(
            PersonRole::User,
            Some("A@B.c"),
            vec!["X".into(), "y".into()],
        );
        let b = PersonQuery::new(
            PersonRole::User,
            Some("a@b.C "),
            vec!["Y".into(), "x".into()],
        );
        assert_eq!(a.cache_identity(), b.cache_identity());
    }

    #[test]
    fn pick_opportunity_ignores_foreign_ids() {
        let opps = vec![OpportunityRow {
            shown: Vec::new(),
            id: "006A".into(),
            name: None,
            stage_name: None,
            close_date: None,
            amount: None,
            is_closed: None,
            currency_iso_code: None,
            owner: None,
        }
        .into_opportunity("USD")];
        assert_eq!(pick_opportunity(&opps, Some("006EVIL")).unwrap().id, "006A");
        assert!(pick_opportunity(&[], Some("006A")).is_none());
    }
}
