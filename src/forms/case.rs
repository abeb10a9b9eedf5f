//! New Case: offered on the Contact panel, from a conversation. The form is
//! the Case describe (required fields, picklists as dropdowns with their
//! defaults, typed checks) with the picklist values of the chosen record
//! type; on success the case is linked to the Contact and its Account, a
//! note with its number goes to the conversation, and the panel shows it.

use std::collections::BTreeMap;

use serde_json::Value;

use super::lead::refresh;
use super::{ids, new_token, show_create_error, stored_token, Forms, Reply, SfUser};
use crate::canvas::components::escape_markup;
use crate::canvas::{Canvas, CanvasRequest};
use crate::config::CaseOwner;
use crate::fields::describe::{Describe, FieldKind, RecordType, RecordTypePicklists};
use crate::fields::model::{read_values, validate, FormField, FormState, Missing};
use crate::intercom::{conversation_url, html_escape, html_to_text};
use crate::panels::forms::{
    case_form, case_needs_contact, case_needs_conversation, created_banner, CaseFormView,
};
use crate::panels::{self, record_url};
use crate::profile::ProfileService;
use crate::salesforce::auth::Session;
use crate::salesforce::lookup::Profile;
use crate::salesforce::SalesforceError;
use crate::services::case::{CaseService, NewCase};
use crate::services::{CreateError, How};
use crate::text::truncate;

/// Shown right after the required fields, in this order.
const FIRST: &[&str] = &["Subject", "Description"];

/// The case form's fields: every field Salesforce requires on create
/// first (the teammate must fill them), then subject and description, then
/// the optional fields `shown` names (`SALESFORCE_CASE_FIELDS`), in describe
/// order. A real org has dozens of createable Case fields; offering them all
/// would bury the form. References, booleans and system fields are set by
/// the app or left to Salesforce.
pub fn case_fields(
    d: &Describe,
    rt: Option<&RecordTypePicklists>,
    shown: &[String],
) -> Vec<FormField> {
    let mut out: Vec<FormField> = d
        .fields
        .iter()
        .filter(|f| f.createable && fillable(f.kind) && f.required_on_create())
        .map(|f| FormField::new(f, rt))
        .collect();
    let add = |f: &crate::fields::describe::FieldSpec, out: &mut Vec<FormField>| {
        if !out.iter().any(|x| x.spec.name == f.name) {
            out.push(FormField::new(f, rt));
        }
    };
    for f in FIRST
        .iter()
        .filter_map(|n| d.field(n))
        .filter(|f| f.createable)
    {
        add(f, &mut out);
    }
    let wanted = |name: &str| shown.iter().any(|s| s.eq_ignore_ascii_case(name));
    for f in d
        .fields
        .iter()
        .filter(|f| f.createable && fillable(f.kind) && wanted(&f.name))
    {
        add(f, &mut out);
    }
    out
}

/// Fields the form can offer (references, booleans and system fields are
/// set by the app or left to Salesforce).
fn fillable(k: FieldKind) -> bool {
    !matches!(
        k,
        FieldKind::Reference | FieldKind::Boolean | FieldKind::Other
    )
}

/// Adds to the form the fillable Case fields `names` names that it lacks:
/// those a Salesforce error named (a validation rule such as "a Refund
/// case needs a Refund Amount" names a field the form may not show) and,
/// on the next submit, those the teammate has filled since (so they stay).
pub fn with_named_fields<'n>(
    mut fields: Vec<FormField>,
    d: &Describe,
    names: impl IntoIterator<Item = &'n str>,
) -> Vec<FormField> {
    for name in names {
        if fields
            .iter()
            .any(|f| f.spec.name.eq_ignore_ascii_case(name))
        {
            continue;
        }
        if let Some(spec) = d
            .fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name) && f.createable && fillable(f.kind))
        {
            fields.push(FormField::new(spec, None));
        }
    }
    fields
}

/// The Case fields a submitted form carried (`case_f_{name}` inputs).
fn submitted_names(req: &CanvasRequest) -> Vec<&str> {
    req.input_values
        .keys()
        .filter_map(|k| k.strip_prefix(ids::CASE_FIELD_PREFIX))
        .collect()
}

/// Who will own the case.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseOwnerPlan {
    AssignmentRules,
    Teammate(SfUser),
    TeammateNotFound(String),
    TeammateUnknown(String),
}

impl CaseOwnerPlan {
    pub fn sentence(&self) -> String {
        match self {
            CaseOwnerPlan::AssignmentRules => "Salesforce's case assignment rules.".to_string(),
            CaseOwnerPlan::Teammate(u) => format!(
                "you ({} in Salesforce); assignment rules are skipped.",
                escape_markup(&u.name)
            ),
            CaseOwnerPlan::TeammateNotFound(email) => format!(
                "Salesforce's case assignment rules: your email ({}) matches no active Salesforce user.",
                escape_markup(email)
            ),
            CaseOwnerPlan::TeammateUnknown(why) => format!(
                "Salesforce's case assignment rules: your Salesforce user could not be looked up ({}).",
                escape_markup(why)
            ),
        }
    }
}

async fn owner_plan(
    forms: &Forms,
    profiles: &ProfileService,
    session: &Session,
    req: &CanvasRequest,
) -> CaseOwnerPlan {
    if forms.settings.case_owner == CaseOwner::AssignmentRules {
        return CaseOwnerPlan::AssignmentRules;
    }
    let admin = req.admin.clone().unwrap_or_default();
    let email = match admin.email.filter(|e| e.contains('@')) {
        Some(e) => e,
        None => {
            let Some(id) = admin.id else {
                return CaseOwnerPlan::TeammateUnknown("no teammate in the request".into());
            };
            match forms
                .intercom
                .admin(req.workspace_region.as_deref(), &id)
                .await
            {
                Ok(a) => match a.email {
                    Some(e) => e,
                    None => return CaseOwnerPlan::TeammateUnknown("no email in Intercom".into()),
                },
                Err(e) => return CaseOwnerPlan::TeammateUnknown(e.to_string()),
            }
        }
    };
    match forms
        .user_by_email(profiles.client(), session, &email)
        .await
    {
        Ok(Some(u)) => CaseOwnerPlan::Teammate(u),
        Ok(None) => CaseOwnerPlan::TeammateNotFound(email),
        Err(e) => CaseOwnerPlan::TeammateUnknown(e.to_string()),
    }
}

/// What every case screen needs: the Contact (as the lookup finds it for
/// the signed request's person), the conversation, the describe.
struct CaseCtx {
    session: std::sync::Arc<Session>,
    contact_id: String,
    /// The Contact's own Account, as the current lookup has it.
    account_id: Option<String>,
    contact_name: String,
    account_name: Option<String>,
    email: String,
    conversation_id: String,
    describe: std::sync::Arc<Describe>,
}

async fn context(
    forms: &Forms,
    profiles: &ProfileService,
    req: &CanvasRequest,
) -> Result<CaseCtx, Canvas> {
    let Some(email) = req.person().and_then(|p| p.email()).map(str::to_string) else {
        return Err(case_needs_contact("not in Salesforce (no email to match)"));
    };
    let Some(conversation_id) = req.conversation.as_ref().and_then(|c| c.id.clone()) else {
        return Err(case_needs_conversation());
    };
    let session = profiles
        .session()
        .await
        .map_err(|e| panels::error_canvas_retrying(&e, ids::CASE_OPEN))?;
    let profile = profiles
        .current(req, &session)
        .await
        .map_err(|e| panels::error_canvas_retrying(&e, ids::CASE_OPEN))?
        .ok_or_else(|| case_needs_contact("not in Salesforce (no email to match)"))?;
    let cp = match &profile.value {
        Profile::Contact(cp) => cp,
        Profile::Lead(_) => return Err(case_needs_contact("a Salesforce Lead")),
        Profile::Account(_) | Profile::NotFound { .. } => {
            return Err(case_needs_contact("not a Salesforce Contact"))
        }
    };
    let describe = forms
        .describe(profiles.client(), &session, "Case")
        .await
        .map_err(|e| panels::error_canvas_retrying(&e, ids::CASE_OPEN))?;
    Ok(CaseCtx {
        contact_id: cp.contact.id.clone(),
        account_id: cp.contact.account_id.clone(),
        contact_name: cp.contact.name.clone(),
        account_name: cp.account.as_ref().map(|a| a.name.clone()),
        session,
        email,
        conversation_id,
        describe,
    })
}

/// The record type to preselect, and a notice when the configured one is
/// not available to the integration user.
fn configured_record_type(forms: &Forms, d: &Describe) -> (Option<RecordType>, Vec<String>) {
    let mut notices = Vec::new();
    if let Some(wanted) = &forms.settings.case_record_type {
        match d.record_type(wanted) {
            Some(rt) => return (Some(rt.clone()), notices),
            None => notices.push(format!(
                "SALESFORCE\\_CASE\\_RECORD\\_TYPE is “{}”, which the integration user cannot use; Salesforce's default is preselected.",
                escape_markup(wanted)
            )),
        }
    }
    (d.default_record_type().cloned(), notices)
}

/// The form's fields for a record type, with a notice if its picklist
/// values could not be loaded.
async fn fields_for(
    forms: &Forms,
    profiles: &ProfileService,
    ctx: &CaseCtx,
    rt: Option<&RecordType>,
    notices: &mut Vec<String>,
) -> Vec<FormField> {
    let picklists = match rt {
        Some(rt) => match forms
            .record_type_picklists(profiles.client(), &ctx.session, "Case", &rt.id)
            .await
        {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(error = %e, "picklist values by record type unavailable");
                notices.push("This record type's picklist values could not be loaded; every value is offered.".to_string());
                None
            }
        },
        None => None,
    };
    case_fields(
        &ctx.describe,
        picklists.as_deref(),
        &forms.settings.case_fields,
    )
}

struct Screen<'a> {
    ctx: &'a CaseCtx,
    rt: Option<&'a RecordType>,
    fields: &'a [FormField],
    state: &'a FormState,
    owner: &'a CaseOwnerPlan,
    notices: &'a [String],
    token: &'a str,
}

fn render(s: &Screen) -> Canvas {
    case_form(&CaseFormView {
        contact_name: &s.ctx.contact_name,
        account_name: s.ctx.account_name.as_deref(),
        record_types: &s.ctx.describe.record_types,
        record_type: s.rt.map(|r| r.id.as_str()),
        fields: s.fields,
        state: s.state,
        owner: &s.owner.sentence(),
        notices: s.notices,
        token: s.token,
        contact_id: &s.ctx.contact_id,
    })
}

/// Subject and description from the conversation.
async fn prefill(forms: &Forms, req: &CanvasRequest, ctx: &CaseCtx) -> BTreeMap<String, String> {
    let workspace = req.workspace_id.as_deref().unwrap_or("");
    let link = conversation_url(workspace, &ctx.conversation_id);
    let first_message = match forms
        .intercom
        .conversation(req.workspace_region.as_deref(), &ctx.conversation_id)
        .await
    {
        Ok(c) => c.source,
        Err(e) => {
            tracing::info!(error = %e, "conversation not read for the case prefill");
            None
        }
    };
    let subject_text = first_message
        .as_ref()
        .and_then(|s| s.subject.as_deref().map(html_to_text))
        .filter(|s| !s.trim().is_empty());
    let body_text = first_message
        .as_ref()
        .and_then(|s| s.body.as_deref().map(html_to_text))
        .filter(|s| !s.trim().is_empty());
    let subject = subject_text
        .or_else(|| body_text.clone())
        .map(|s| truncate(s.trim(), 80))
        .unwrap_or_else(|| format!("Conversation with {}", ctx.contact_name));
    let mut description = format!("Intercom conversation: {link}");
    if let Some(b) = body_text {
        description.push_str("\n\n");
        description.push_str(&truncate(b.trim(), 2000));
    }
    let mut v = BTreeMap::new();
    v.insert("Subject".to_string(), subject);
    v.insert("Description".to_string(), description);
    v
}

/// `SALESFORCE_CASE_ORIGIN` (default `Chat`) preselected in the Origin
/// field, when the form has one and the value is one of its choices.
fn preset_origin(forms: &Forms, fields: &[FormField], values: &mut BTreeMap<String, String>) {
    let Some(origin) = forms.settings.case_origin.as_deref() else {
        return;
    };
    let Some(field) = fields.iter().find(|f| f.spec.name == "Origin") else {
        return;
    };
    if let Some(o) = field
        .options
        .iter()
        .find(|o| o.value.eq_ignore_ascii_case(origin))
    {
        values.insert("Origin".to_string(), o.value.clone());
    } else if field.options.is_empty() {
        values.insert("Origin".to_string(), origin.to_string());
    }
}

pub(super) async fn open(forms: &Forms, profiles: &ProfileService, req: &CanvasRequest) -> Canvas {
    let ctx = match context(forms, profiles, req).await {
        Ok(c) => c,
        Err(canvas) => return canvas,
    };
    let (rt, mut notices) = configured_record_type(forms, &ctx.describe);
    let fields = fields_for(forms, profiles, &ctx, rt.as_ref(), &mut notices).await;
    let mut values = prefill(forms, req, &ctx).await;
    preset_origin(forms, &fields, &mut values);
    let state = FormState {
        values,
        ..FormState::default()
    };
    let owner = owner_plan(forms, profiles, &ctx.session, req).await;
    render(&Screen {
        ctx: &ctx,
        rt: rt.as_ref(),
        fields: &fields,
        state: &state,
        owner: &owner,
        notices: &notices,
        token: &new_token(),
    })
}

/// The record type chosen on the form, if it is one the user may use.
fn chosen_record_type(
    forms: &Forms,
    req: &CanvasRequest,
    d: &Describe,
) -> (Option<RecordType>, Vec<String>) {
    match req
        .input_str(ids::CASE_RECORD_TYPE)
        .and_then(|id| d.record_types.iter().find(|r| r.id == id))
    {
        Some(rt) => (Some(rt.clone()), Vec::new()),
        None => configured_record_type(forms, d),
    }
}

pub(super) async fn change_record_type(
    forms: &Forms,
    profiles: &ProfileService,
    req: &CanvasRequest,
) -> Canvas {
    let ctx = match context(forms, profiles, req).await {
        Ok(c) => c,
        Err(canvas) => return canvas,
    };
    let (rt, mut notices) = chosen_record_type(forms, req, &ctx.describe);
    let fields = fields_for(forms, profiles, &ctx, rt.as_ref(), &mut notices).await;
    let fields = with_named_fields(fields, &ctx.describe, submitted_names(req));
    let state = FormState {
        values: read_values(&fields, &req.input_values, ids::CASE_FIELD_PREFIX),
        ..FormState::default()
    };
    let owner = owner_plan(forms, profiles, &ctx.session, req).await;
    render(&Screen {
        ctx: &ctx,
        rt: rt.as_ref(),
        fields: &fields,
        state: &state,
        owner: &owner,
        notices: &notices,
        token: &stored_token(req),
    })
}

pub(super) async fn create(forms: &Forms, profiles: &ProfileService, req: &CanvasRequest) -> Reply {
    let ctx = match context(forms, profiles, req).await {
        Ok(c) => c,
        Err(canvas) => return Reply::Screen(canvas),
    };
    let (rt, mut notices) = chosen_record_type(forms, req, &ctx.describe);
    let fields = fields_for(forms, profiles, &ctx, rt.as_ref(), &mut notices).await;
    let fields = with_named_fields(fields, &ctx.describe, submitted_names(req));
    let token = stored_token(req);
    let mut state = FormState {
        values: read_values(&fields, &req.input_values, ids::CASE_FIELD_PREFIX),
        ..FormState::default()
    };
    let owner = owner_plan(forms, profiles, &ctx.session, req).await;
    let form = |state: &FormState| {
        Reply::Screen(render(&Screen {
            ctx: &ctx,
            rt: rt.as_ref(),
            fields: &fields,
            state,
            owner: &owner,
            notices: &notices,
            token: &token,
        }))
    };

    // stored_data came through the browser: the case goes to the Contact
    // the lookup finds for the signed request's person, and only if that is
    // the one the form was drawn for.
    if req.stored_str(ids::CONTACT) != Some(ctx.contact_id.as_str()) {
        state.errors.push(format!(
            "This person's Salesforce Contact is {}; check the form and create the case again.",
            ctx.contact_name
        ));
        return form(&state);
    }
    let body = match validate(&fields, &state.values, Missing::Error) {
        Ok(b) => b,
        Err(errors) => {
            state.field_errors = errors;
            return form(&state);
        }
    };
    let subject = body
        .get("Subject")
        .and_then(Value::as_str)
        .map(str::to_string);
    let case = NewCase {
        contact_id: ctx.contact_id.clone(),
        account_id: ctx.account_id.clone(),
        record_type_id: rt.as_ref().map(|r| r.id.clone()),
        owner_id: match &owner {
            CaseOwnerPlan::Teammate(u) => Some(u.id.clone()),
            _ => None,
        },
        fields: body,
    };
    let lookup = profiles.lookup_for(req, &ctx.session).await;
    let reads = |_: &str| {
        lookup
            .as_ref()
            .map(|l| profiles.plan(l))
            .unwrap_or_default()
    };
    let service = CaseService::new(profiles.client().clone(), forms.ledger.clone());
    let key = forms.ledger_key(req, &ctx.session.org_id, "case", &token);
    match service.create(&key, case, &reads).await {
        Ok(created) => {
            let instance = ctx.session.instance_url.as_str().trim_end_matches('/');
            let label = created.label();
            let url = record_url(instance, "Case", &created.id);
            // A replay of a finished create has its note already.
            let warnings = match created.how {
                How::Replayed => Vec::new(),
                How::Created | How::Found => {
                    add_note(forms, req, &ctx, &label, &url, subject.as_deref()).await
                }
            };
            let workspace = req.workspace_id.as_deref().unwrap_or_default();
            refresh(
                profiles,
                &lookup,
                workspace,
                &ctx.session,
                &ctx.email,
                created.reads,
            )
            .await;
            Reply::Created {
                banner: created_banner(&label, &url, &warnings),
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "Case create failed");
            // A field the error names but the form lacks joins the form,
            // with the error under it.
            let named: Vec<&str> = match &e {
                CreateError::Salesforce {
                    error: SalesforceError::Rejected { errors, .. },
                    ..
                } => errors
                    .iter()
                    .flat_map(|e| e.fields.iter().map(String::as_str))
                    .collect(),
                _ => Vec::new(),
            };
            if named
                .iter()
                .all(|n| fields.iter().any(|f| f.spec.name.eq_ignore_ascii_case(n)))
            {
                show_create_error(&mut state, &fields, &e);
                return form(&state);
            }
            let fields = with_named_fields(fields.clone(), &ctx.describe, named);
            show_create_error(&mut state, &fields, &e);
            Reply::Screen(render(&Screen {
                ctx: &ctx,
                rt: rt.as_ref(),
                fields: &fields,
                state: &state,
                owner: &owner,
                notices: &notices,
                token: &token,
            }))
        }
    }
}

/// Adds the note to the conversation; returns what to tell the teammate if
/// it could not be added.
async fn add_note(
    forms: &Forms,
    req: &CanvasRequest,
    ctx: &CaseCtx,
    label: &str,
    url: &str,
    subject: Option<&str>,
) -> Vec<String> {
    let admin = req.admin.clone().unwrap_or_default();
    let Some(admin_id) = admin.id else {
        return vec![
            "No note was added to the conversation: the request named no teammate.".to_string(),
        ];
    };
    let mut html = format!(
        "<p>Salesforce <a href=\"{}\">{}</a> created",
        html_escape(url),
        html_escape(label)
    );
    if let Some(name) = admin.name.as_deref().filter(|n| !n.is_empty()) {
        html.push_str(&format!(" by {}", html_escape(name)));
    }
    if let Some(s) = subject {
        html.push_str(&format!(": {}", html_escape(s)));
    }
    html.push_str("</p>");
    match forms
        .intercom
        .add_note(
            req.workspace_region.as_deref(),
            &ctx.conversation_id,
            &admin_id,
            &html,
        )
        .await
    {
        Ok(()) => Vec::new(),
        Err(e) => {
            tracing::warn!(error = %e, "case note not added");
            vec![format!(
                "The case exists, but the note could not be added to the conversation ({e})."
            )]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_links_point_at_the_inbox() {
        assert_eq!(
            conversation_url("ecahpwf5", "4711"),
            "https://app.intercom.com/a/inbox/ecahpwf5/inbox/conversation/4711"
        );
    }
}
