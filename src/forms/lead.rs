//! Create Lead: offered on "not in Salesforce"; the form is prefilled from
//! Intercom plus every field the Lead describe requires on create, required
//! fields left empty go out as the configured placeholder, the owner follows
//! the Intercom owner when `SALESFORCE_MAINTAIN_OWNERSHIP` is on, and after
//! the create the sidebar shows the new Lead at once.

use std::collections::BTreeMap;

use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;

use super::describe::Describe;
use super::model::{apply_salesforce_errors, read_values, validate, FormField, FormState, Missing};
use super::{fault_message, ids, new_token, Attempt, Forms, SfUser};
use crate::canvas::components::escape_markup;
use crate::canvas::request::Person;
use crate::canvas::{Canvas, CanvasRequest};
use crate::panels::forms::{
    created_banner, lead_form, lead_needs_email, with_banner, LeadFormView,
};
use crate::panels::{self, record_url};
use crate::salesforce::soql::{select, Cond, Dir};
use crate::salesforce::SalesforceError;
use crate::sidebar::Sidebar;

/// Shown first, in this order, when the describe has them.
const PREFILLED: &[&str] = &["FirstName", "LastName", "Email", "Phone", "Company"];

/// The Lead form's fields: the prefilled ones, then every other field the
/// describe requires on create.
pub fn lead_fields(d: &Describe) -> Vec<FormField> {
    let mut out: Vec<FormField> = PREFILLED
        .iter()
        .filter_map(|n| d.field(n))
        .filter(|f| f.createable)
        .map(|f| FormField::new(f, None))
        .collect();
    for f in d.fields.iter().filter(|f| f.required_on_create()) {
        if !out.iter().any(|x| x.spec.name == f.name) {
            out.push(FormField::new(f, None));
        }
    }
    out
}

/// "Zoë O'Brien-Łukasiewicz" → ("Zoë", "O'Brien-Łukasiewicz"); the last
/// word is the last name, a single word is a last name.
pub fn split_name(name: &str) -> (String, String) {
    let name = name.trim();
    match name.rsplit_once(char::is_whitespace) {
        Some((first, last)) => (first.trim().to_string(), last.to_string()),
        None => (String::new(), name.to_string()),
    }
}

/// What Intercom knows of the person, as Lead fields.
pub fn prefill(person: &Person, email: &str) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    let (first, last) = split_name(person.name.as_deref().unwrap_or(""));
    for (k, val) in [
        ("FirstName", first),
        ("LastName", last),
        ("Email", email.to_string()),
        ("Phone", person.phone.clone().unwrap_or_default()),
        (
            "Company",
            person
                .company_names()
                .into_iter()
                .next()
                .unwrap_or_default(),
        ),
    ] {
        if !val.trim().is_empty() {
            v.insert(k.to_string(), val);
        }
    }
    v
}

/// Who will own the new Lead.
#[derive(Debug, Clone, PartialEq)]
pub enum LeadOwner {
    /// `SALESFORCE_MAINTAIN_OWNERSHIP` is off.
    Default,
    NoIntercomOwner,
    User {
        user: SfUser,
        email: String,
    },
    NoActiveUser {
        email: String,
    },
    Unknown(String),
}

impl LeadOwner {
    pub fn sentence(&self) -> String {
        match self {
            LeadOwner::Default => {
                "Salesforce's default (lead assignment rules, else the integration user)."
                    .to_string()
            }
            LeadOwner::NoIntercomOwner => {
                "Salesforce's default: this person has no owner in Intercom.".to_string()
            }
            LeadOwner::User { user, email } => format!(
                "{}, their Intercom owner ({}).",
                escape_markup(&user.name),
                escape_markup(email)
            ),
            LeadOwner::NoActiveUser { email } => format!(
                "Salesforce's default: their Intercom owner ({}) has no active Salesforce user.",
                escape_markup(email)
            ),
            LeadOwner::Unknown(why) => format!(
                "Salesforce's default: their Intercom owner could not be looked up ({}).",
                escape_markup(why)
            ),
        }
    }
}

async fn owner(forms: &Forms, sidebar: &Sidebar, req: &CanvasRequest) -> LeadOwner {
    if !forms.settings.maintain_ownership {
        return LeadOwner::Default;
    }
    let Some(owner_id) = req.person().and_then(|p| p.owner_id.clone()) else {
        return LeadOwner::NoIntercomOwner;
    };
    let admin = match forms
        .intercom
        .admin(req.workspace_region.as_deref(), &owner_id)
        .await
    {
        Ok(a) => a,
        Err(e) => return LeadOwner::Unknown(e.to_string()),
    };
    let Some(email) = admin.email.filter(|e| !e.trim().is_empty()) else {
        return LeadOwner::Unknown("the Intercom teammate has no email".to_string());
    };
    match forms.user_by_email(sidebar, &email).await {
        Ok(Some(user)) => LeadOwner::User { user, email },
        Ok(None) => LeadOwner::NoActiveUser { email },
        Err(e) => LeadOwner::Unknown(e.to_string()),
    }
}

fn render(
    forms: &Forms,
    fields: &[FormField],
    state: &FormState,
    owner: &LeadOwner,
    token: &str,
) -> Canvas {
    lead_form(&LeadFormView {
        fields,
        state,
        owner: &owner.sentence(),
        placeholder: &forms.settings.lead_placeholder,
        token,
    })
}

pub(super) async fn open(forms: &Forms, sidebar: &Sidebar, req: &CanvasRequest) -> Canvas {
    let Some((person, email)) = req.person().and_then(|p| Some((p, p.email()?))) else {
        return lead_needs_email();
    };
    let session = match sidebar.client().session().await {
        Ok(s) => s,
        Err(e) => return panels::error_canvas(&e),
    };
    let describe = match forms.describe(sidebar, &session, "Lead").await {
        Ok(d) => d,
        Err(e) => return panels::error_canvas(&e),
    };
    let fields = lead_fields(&describe);
    let state = FormState {
        values: prefill(person, email),
        ..FormState::default()
    };
    let owner = owner(forms, sidebar, req).await;
    render(forms, &fields, &state, &owner, &new_token())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IdRow {
    id: String,
}

/// A form token from `stored_data`, if it looks like one of ours.
pub(super) fn stored_token(req: &CanvasRequest) -> String {
    req.stored_str(ids::TOKEN)
        .filter(|t| !t.is_empty() && t.len() <= 64 && t.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(str::to_string)
        .unwrap_or_else(new_token)
}

pub(super) async fn create(forms: &Forms, sidebar: &Sidebar, req: &CanvasRequest) -> Canvas {
    let Some(person_email) = req.person().and_then(|p| p.email()) else {
        return lead_needs_email();
    };
    let client = sidebar.client();
    let session = match client.session().await {
        Ok(s) => s,
        Err(e) => return panels::error_canvas(&e),
    };
    let describe = match forms.describe(sidebar, &session, "Lead").await {
        Ok(d) => d,
        Err(e) => return panels::error_canvas(&e),
    };
    let fields = lead_fields(&describe);
    let token = stored_token(req);
    let mut state = FormState {
        values: read_values(&fields, &req.input_values, ids::LEAD_FIELD_PREFIX),
        ..FormState::default()
    };
    let owner = owner(forms, sidebar, req).await;

    let placeholder = forms.settings.lead_placeholder.clone();
    let mut body = match validate(&fields, &state.values, Missing::Placeholder(&placeholder)) {
        Ok(b) => b,
        Err(errors) => {
            state.field_errors = errors;
            return render(forms, &fields, &state, &owner, &token);
        }
    };
    let Some(email) = body
        .get("Email")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        state.field_errors.insert(
            "Email".into(),
            "A Lead from Intercom needs an email.".into(),
        );
        return render(forms, &fields, &state, &owner, &token);
    };
    let name = [body.get("FirstName"), body.get("LastName")]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    let label = format!("Lead {name}");
    let instance = session
        .instance_url
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let emails = [person_email, email.as_str()];

    let slot = forms.slot(req, &session.org_id, "lead", &token).await;
    let mut attempt = slot.lock().await;
    match attempt.clone() {
        Some(Attempt::Created { id, label }) => {
            drop(attempt);
            return done(
                sidebar,
                req,
                &session.org_id,
                &emails,
                &label,
                &record_url(&instance, "Lead", &id),
            )
            .await;
        }
        Some(Attempt::Unknown { .. }) => {
            // The last try timed out: a Lead with this email means it went through.
            let q = select(&["Id"], "Lead")
                .filter(Cond::eq("Email", email.as_str()))
                .order_by("CreatedDate", Dir::Desc)
                .limit(1);
            match client.query::<IdRow>(&q).await {
                Ok(rows) => {
                    if let Some(row) = rows.into_iter().next() {
                        *attempt = Some(Attempt::Created {
                            id: row.id.clone(),
                            label: label.clone(),
                        });
                        drop(attempt);
                        return done(
                            sidebar,
                            req,
                            &session.org_id,
                            &emails,
                            &label,
                            &record_url(&instance, "Lead", &row.id),
                        )
                        .await;
                    }
                }
                Err(e) => {
                    state.errors.push(fault_message(&e));
                    return render(forms, &fields, &state, &owner, &token);
                }
            }
        }
        None => {}
    }

    let mut headers: Vec<(&str, &str)> = Vec::new();
    if let LeadOwner::User { user, .. } = &owner {
        body.insert("OwnerId".into(), Value::String(user.id.clone()));
        headers.push(("Sforce-Auto-Assign", "FALSE"));
    }
    let started = Utc::now();
    match client.create("Lead", &Value::Object(body), &headers).await {
        Ok(id) => {
            *attempt = Some(Attempt::Created {
                id: id.clone(),
                label: label.clone(),
            });
            drop(attempt);
            done(
                sidebar,
                req,
                &session.org_id,
                &emails,
                &label,
                &record_url(&instance, "Lead", &id),
            )
            .await
        }
        Err(e) => {
            if matches!(e, SalesforceError::Timeout(_)) {
                *attempt = Some(Attempt::Unknown { since: started });
            }
            match &e {
                SalesforceError::Rejected { errors, .. } => {
                    apply_salesforce_errors(&mut state, &fields, errors)
                }
                other => state.errors.push(fault_message(other)),
            }
            tracing::warn!(error = %e, "Lead create failed");
            render(forms, &fields, &state, &owner, &token)
        }
    }
}

async fn done(
    sidebar: &Sidebar,
    req: &CanvasRequest,
    org: &str,
    emails: &[&str],
    label: &str,
    url: &str,
) -> Canvas {
    sidebar.forget_emails(req, org, emails);
    let panel = sidebar.initialize(req).await;
    with_banner(panel, created_banner(label, url, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_on_the_last_space() {
        assert_eq!(
            split_name("Zoë O'Brien-Łukasiewicz"),
            ("Zoë".to_string(), "O'Brien-Łukasiewicz".to_string())
        );
        assert_eq!(
            split_name(" Mary Ann Smith "),
            ("Mary Ann".to_string(), "Smith".to_string())
        );
        assert_eq!(split_name("Cher"), (String::new(), "Cher".to_string()));
    }
}
