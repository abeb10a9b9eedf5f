//! Create Lead: offered on "not in Salesforce"; the form is prefilled from
//! Intercom plus every field the Lead describe requires on create, required
//! fields left empty go out as the configured placeholder, the owner follows
//! the Intercom owner when `SALESFORCE_MAINTAIN_OWNERSHIP` is on, and after
//! the create the sidebar shows the new Lead at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{ids, new_token, show_create_error, stored_token, Forms, Reply, SfUser};
use crate::canvas::components::escape_markup;
use crate::canvas::request::Person;
use crate::canvas::{Canvas, CanvasRequest};
use crate::fields::describe::Describe;
use crate::fields::model::{read_values, validate, FormField, FormState, Missing};
use crate::panels::forms::{
    created_banner, lead_form, lead_needs_email, lead_not_needed, LeadFormView,
};
use crate::panels::{self, record_url};
use crate::profile::ProfileService;
use crate::salesforce::auth::Session;
use crate::salesforce::lookup::Profile;
use crate::services::lead::{split_name, LeadService, NewLead};
use crate::services::CreateError;

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

async fn owner(
    forms: &Forms,
    profiles: &ProfileService,
    session: &Session,
    req: &CanvasRequest,
) -> LeadOwner {
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
    match forms
        .user_by_email(profiles.client(), session, &email)
        .await
    {
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
    render_asking(forms, fields, state, owner, token, &[])
}

/// The form, asking once before `placeholders` (required fields left
/// empty) go out as the placeholder text.
fn render_asking(
    forms: &Forms,
    fields: &[FormField],
    state: &FormState,
    owner: &LeadOwner,
    token: &str,
    placeholders: &[&FormField],
) -> Canvas {
    let canvas = lead_form(&LeadFormView {
        fields,
        state,
        owner: &owner.sentence(),
        placeholder: &forms.settings.lead_placeholder,
        token,
        confirm: &placeholders
            .iter()
            .map(|f| f.spec.label.clone())
            .collect::<Vec<_>>(),
    });
    if placeholders.is_empty() {
        return canvas;
    }
    let names: Vec<&str> = placeholders.iter().map(|f| f.spec.name.as_str()).collect();
    canvas.with_data(ids::LEAD_PLACEHOLDERS, names.join(","))
}

/// The required fields the teammate left empty (they would go out as the
/// placeholder).
fn left_empty<'f>(fields: &'f [FormField], state: &FormState) -> Vec<&'f FormField> {
    fields
        .iter()
        .filter(|f| f.required)
        .filter(|f| {
            state
                .values
                .get(&f.spec.name)
                .is_none_or(|v| v.trim().is_empty())
        })
        .collect()
}

/// Whether the teammate was already told that exactly these (or more)
/// fields go out as placeholders, on the canvas they submitted from.
fn placeholders_confirmed(req: &CanvasRequest, empty: &[&FormField]) -> bool {
    let Some(told) = req.stored_str(ids::LEAD_PLACEHOLDERS) else {
        return false;
    };
    let told: Vec<&str> = told.split(',').collect();
    empty.iter().all(|f| told.contains(&f.spec.name.as_str()))
}

/// Why no Lead is created for this person: the current records say they
/// already are a Contact (a forged or stale `lead_*` submit). Another Lead
/// with the email is Salesforce's duplicate rules' call, shown on the form.
fn already_in_salesforce(profile: &Profile) -> Option<String> {
    match profile {
        Profile::Contact(cp) => Some(format!(
            "This person already is a Salesforce Contact ({}), so no Lead is created.",
            cp.contact.name
        )),
        Profile::Lead(_) | Profile::Account(_) | Profile::NotFound { .. } => None,
    }
}

/// The signed person's current profile's objection to a new Lead.
async fn recheck(
    profiles: &ProfileService,
    req: &CanvasRequest,
    session: &Session,
) -> Result<Option<String>, Canvas> {
    match profiles.current(req, session).await {
        Ok(p) => Ok(p.and_then(|s| already_in_salesforce(&s.value))),
        Err(e) => Err(panels::error_canvas(&e)),
    }
}

pub(super) async fn open(forms: &Forms, profiles: &ProfileService, req: &CanvasRequest) -> Canvas {
    let Some((person, email)) = req.person().and_then(|p| Some((p, p.email()?))) else {
        return lead_needs_email();
    };
    let session = match profiles.session().await {
        Ok(s) => s,
        Err(e) => return panels::error_canvas_retrying(&e, ids::LEAD_OPEN),
    };
    match recheck(profiles, req, &session).await {
        Ok(None) => {}
        Ok(Some(why)) => return lead_not_needed(&why),
        Err(canvas) => return canvas,
    }
    let describe = match forms.describe(profiles.client(), &session, "Lead").await {
        Ok(d) => d,
        Err(e) => return panels::error_canvas_retrying(&e, ids::LEAD_OPEN),
    };
    let fields = lead_fields(&describe);
    let state = FormState {
        values: prefill(person, email),
        ..FormState::default()
    };
    let owner = owner(forms, profiles, &session, req).await;
    render(forms, &fields, &state, &owner, &new_token())
}

pub(super) async fn create(forms: &Forms, profiles: &ProfileService, req: &CanvasRequest) -> Reply {
    let Some(person_email) = req.person().and_then(|p| p.email()) else {
        return Reply::Screen(lead_needs_email());
    };
    let session = match profiles.session().await {
        Ok(s) => s,
        Err(e) => return Reply::Screen(panels::error_canvas(&e)),
    };
    let refusal = match recheck(profiles, req, &session).await {
        Ok(r) => r,
        Err(canvas) => return Reply::Screen(canvas),
    };
    let describe = match forms.describe(profiles.client(), &session, "Lead").await {
        Ok(d) => d,
        Err(e) => return Reply::Screen(panels::error_canvas(&e)),
    };
    let fields = lead_fields(&describe);
    let token = stored_token(req);
    let mut state = FormState {
        values: read_values(&fields, &req.input_values, ids::LEAD_FIELD_PREFIX),
        ..FormState::default()
    };
    let owner = owner(forms, profiles, &session, req).await;
    let form = |state: &FormState| Reply::Screen(render(forms, &fields, state, &owner, &token));

    let placeholder = forms.settings.lead_placeholder.clone();
    let body = match validate(&fields, &state.values, Missing::Placeholder(&placeholder)) {
        Ok(b) => b,
        Err(errors) => {
            state.field_errors = errors;
            return form(&state);
        }
    };
    // Required fields left empty go out as the placeholder, but only once
    // the teammate has been told which ("Noah [not provided]" was silent).
    let empty = left_empty(&fields, &state);
    if !empty.is_empty() && !placeholders_confirmed(req, &empty) {
        return Reply::Screen(render_asking(
            forms, &fields, &state, &owner, &token, &empty,
        ));
    }
    let lead = NewLead {
        fields: body,
        owner_id: match &owner {
            LeadOwner::User { user, .. } => Some(user.id.clone()),
            _ => None,
        },
        refusal,
    };
    let Some(email) = lead.email().map(str::to_string) else {
        state.field_errors.insert(
            "Email".into(),
            "A Lead from Intercom needs an email.".into(),
        );
        return form(&state);
    };
    let label = format!("Lead {}", lead.name());
    let lookup = profiles.lookup_for(req, &session).await;
    let reads = |_: &str| {
        lookup
            .as_ref()
            .map(|l| profiles.plan(l))
            .unwrap_or_default()
    };
    let service = LeadService::new(profiles.client().clone(), forms.ledger.clone());
    let key = forms.ledger_key(req, &session.org_id, "lead", &token);
    match service.create(&key, lead, &reads).await {
        Ok(created) => {
            let workspace = req.workspace_id.as_deref().unwrap_or_default();
            if !email.eq_ignore_ascii_case(person_email) {
                profiles.forget_emails(workspace, &session.org_id, &[email.as_str()]);
            }
            refresh(
                profiles,
                &lookup,
                workspace,
                &session,
                person_email,
                created.reads,
            )
            .await;
            let instance = session.instance_url.as_str().trim_end_matches('/');
            Reply::Created {
                banner: created_banner(&label, &record_url(instance, "Lead", &created.id), &[]),
            }
        }
        Err(CreateError::Refused(why)) => Reply::Screen(lead_not_needed(&why)),
        Err(e) => {
            tracing::warn!(error = %e, "Lead create failed");
            show_create_error(&mut state, &fields, &e);
            form(&state)
        }
    }
}

/// The person's profile from the answers that rode along with a create;
/// when they are missing or incomplete, the cached lookup is dropped so
/// the panel fetches it.
pub(super) async fn refresh(
    profiles: &ProfileService,
    lookup: &Option<crate::profile::Lookup>,
    workspace: &str,
    session: &Arc<Session>,
    email: &str,
    answers: Vec<crate::salesforce::client::SubResponse>,
) {
    let absorbed = match lookup {
        Some(l) if !answers.is_empty() => match profiles.absorb(l, answers).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "the lookup behind the create failed");
                false
            }
        },
        _ => false,
    };
    if !absorbed {
        profiles.forget_emails(workspace, &session.org_id, &[email]);
    }
}
