//! The Create Lead and New Case screens: forms drawn from the describe and
//! what the teammate typed, the screens that say why a form is not offered,
//! and the confirmation shown above the refreshed panel. Pure functions.
//!
//! Canvas Kit has no per-input error, so a bad value gets a `text` with
//! style `error` right under its input; every typed value stays in place.

use crate::actions::ids;
use crate::canvas::components::*;
use crate::fields::describe::{FieldKind, RecordType};
use crate::fields::model::{FormField, FormState, NONE_OPTION};

use super::ids as panel_ids;

/// Everything the Create Lead form shows.
pub struct LeadFormView<'a> {
    pub fields: &'a [FormField],
    pub state: &'a FormState,
    /// Who will own the Lead, in a sentence.
    pub owner: &'a str,
    pub placeholder: &'a str,
    /// The idempotency token of this form.
    pub token: &'a str,
    /// Labels of the required fields left empty that would go out as the
    /// placeholder: the form asks once, by its button, before sending them.
    pub confirm: &'a [String],
}

pub fn lead_form(v: &LeadFormView) -> Canvas {
    let placeholder = escape_markup(v.placeholder);
    let mut c = vec![
        header("Create Lead"),
        muted(format!(
            "Prefilled from Intercom; edit before sending. Required fields (*) left empty are sent as “{placeholder}”."
        )),
    ];
    top_errors(&mut c, v.state);
    for f in v.fields {
        let at = c.len();
        field(&mut c, ids::LEAD_FIELD_PREFIX, f, v.state);
        // Say in the field itself what an empty required field becomes.
        if f.required {
            if let Some(Component::Input(input)) = c.get_mut(at) {
                if input.placeholder.is_none() {
                    input.placeholder = Some(format!("Sent as “{}” if left empty", v.placeholder));
                }
            }
        }
    }
    c.push(muted(format!("Owner: {}", v.owner)));
    if v.confirm.is_empty() {
        c.push(submit_button(
            ids::LEAD_CREATE,
            "Create Lead",
            ButtonStyle::Primary,
        ));
    } else {
        // Where the teammate just clicked: what will be sent, and the same
        // button once more to send it.
        c.push(error_text(format!(
            "{} {} empty: Salesforce requires {}, so {} sent as “{placeholder}”. Fill {} in above, or create the Lead as it is.",
            list_words(v.confirm),
            if v.confirm.len() == 1 { "is" } else { "are" },
            if v.confirm.len() == 1 { "it" } else { "them" },
            if v.confirm.len() == 1 { "it will be" } else { "they will be" },
            if v.confirm.len() == 1 { "it" } else { "them" },
        )));
        c.push(submit_button(
            ids::LEAD_CREATE,
            &format!("Create Lead with “{}”", v.placeholder),
            ButtonStyle::Primary,
        ));
    }
    c.push(submit_button(
        panel_ids::BACK,
        "Cancel",
        ButtonStyle::Secondary,
    ));
    Canvas::new(c)
        .with_data("form", "lead")
        .with_data(ids::TOKEN, v.token)
}

/// `Last Name and Company`, `A, B and C`.
fn list_words(words: &[String]) -> String {
    let words: Vec<String> = words.iter().map(|w| escape_markup(w)).collect();
    match words.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Everything the New Case form shows.
pub struct CaseFormView<'a> {
    pub contact_name: &'a str,
    pub account_name: Option<&'a str>,
    pub record_types: &'a [RecordType],
    pub record_type: Option<&'a str>,
    pub fields: &'a [FormField],
    pub state: &'a FormState,
    /// How the case will be owned, in a sentence.
    pub owner: &'a str,
    /// Things the teammate should know (e.g. a configured record type that
    /// is not available).
    pub notices: &'a [String],
    pub token: &'a str,
    pub contact_id: &'a str,
}

pub fn case_form(v: &CaseFormView) -> Canvas {
    let mut c = vec![header("New Case")];
    c.push(muted(match v.account_name {
        Some(a) => format!(
            "For {} at {}",
            escape_markup(v.contact_name),
            escape_markup(a)
        ),
        None => format!("For {}", escape_markup(v.contact_name)),
    }));
    for n in v.notices {
        c.push(muted(n.clone()));
    }
    top_errors(&mut c, v.state);
    match v.record_types {
        [] => {}
        [only] => c.push(muted(format!("Record type: {}", escape_markup(&only.name)))),
        many => {
            let options: Vec<SelectOption> = many
                .iter()
                .map(|r| SelectOption {
                    id: r.id.clone(),
                    text: r.name.clone(),
                    disabled: false,
                })
                .collect();
            c.push(Component::SingleSelect(SingleSelect {
                id: ids::CASE_RECORD_TYPE.to_string(),
                label: Some("Record type".to_string()),
                options,
                value: v.record_type.map(str::to_string),
                action: Some(Action::Submit),
                save_state: None,
                disabled: false,
            }));
        }
    }
    for f in v.fields {
        field(&mut c, ids::CASE_FIELD_PREFIX, f, v.state);
    }
    c.push(muted(format!("Owner: {}", v.owner)));
    c.push(submit_button(
        ids::CASE_CREATE,
        "Create Case",
        ButtonStyle::Primary,
    ));
    c.push(submit_button(
        panel_ids::BACK,
        "Cancel",
        ButtonStyle::Secondary,
    ));
    Canvas::new(c)
        .with_data("form", "case")
        .with_data(ids::TOKEN, v.token)
        .with_data(ids::CONTACT, v.contact_id)
}

fn top_errors(c: &mut Vec<Component>, state: &FormState) {
    for e in &state.errors {
        c.push(error_text(escape_markup(e)));
    }
    if !state.field_errors.is_empty() {
        c.push(error_text(if state.rejected {
            "Salesforce did not save this: see the fields marked below."
        } else {
            "Nothing was sent to Salesforce yet: fix the fields marked below."
        }));
    }
}

fn field(c: &mut Vec<Component>, prefix: &str, f: &FormField, state: &FormState) {
    let spec = &f.spec;
    let id = format!("{prefix}{}", spec.name);
    let label = if f.required {
        format!("{} *", spec.label)
    } else {
        spec.label.clone()
    };
    let typed = state.values.get(&spec.name).cloned();
    let error = state.field_errors.get(&spec.name);
    let none_option = usize::from(!f.required);
    let dropdown =
        spec.kind == FieldKind::Picklist && (2..=10).contains(&(f.options.len() + none_option));
    if dropdown {
        let mut options: Vec<SelectOption> = Vec::new();
        if !f.required {
            options.push(SelectOption {
                id: NONE_OPTION.to_string(),
                text: "—".to_string(),
                disabled: false,
            });
        }
        options.extend(f.options.iter().map(|o| SelectOption {
            id: o.value.clone(),
            text: o.label.clone(),
            disabled: false,
        }));
        let chosen = typed
            .filter(|t| f.options.iter().any(|o| &o.value == t))
            .or_else(|| f.default.clone())
            .or_else(|| (!f.required).then(|| NONE_OPTION.to_string()));
        c.push(Component::Dropdown(Dropdown {
            id,
            label: Some(label),
            options,
            value: chosen,
            save_state: None,
            disabled: false,
        }));
    } else if spec.kind == FieldKind::TextArea {
        c.push(Component::Textarea(Textarea {
            id,
            label: Some(label),
            placeholder: None,
            value: typed,
            error: error.is_some(),
            disabled: false,
        }));
    } else {
        let value = typed.or_else(|| spec.kind.is_picklist().then(|| f.default.clone()).flatten());
        c.push(Component::Input(Input {
            id,
            label: Some(label),
            placeholder: placeholder(f),
            value,
            action: None,
            save_state: None,
            disabled: false,
        }));
    }
    if let Some(e) = error {
        c.push(error_text(escape_markup(e)));
    }
}

fn placeholder(f: &FormField) -> Option<String> {
    if f.spec.default_formula.is_some() {
        return Some("Filled in by Salesforce when empty".to_string());
    }
    Some(match f.spec.kind {
        FieldKind::Email => "name@example.com".to_string(),
        FieldKind::Date => "YYYY-MM-DD".to_string(),
        FieldKind::DateTime => "2026-05-31T14:30:00Z".to_string(),
        FieldKind::Percent => "e.g. 12.5 (%)".to_string(),
        FieldKind::Currency => "e.g. 1250.00".to_string(),
        FieldKind::Int => "a whole number".to_string(),
        FieldKind::Double if f.spec.scale == 0 => "a whole number".to_string(),
        FieldKind::Double => "a number".to_string(),
        FieldKind::Picklist | FieldKind::MultiPicklist => {
            let names: Vec<&str> = f.options.iter().take(4).map(|o| o.value.as_str()).collect();
            format!(
                "{}{}",
                names.join(", "),
                if f.options.len() > 4 { ", …" } else { "" }
            )
        }
        _ => return None,
    })
}

fn explain(title: &str, body: String) -> Canvas {
    Canvas::new(vec![
        header(title),
        paragraph(body),
        submit_button(panel_ids::BACK, "Back", ButtonStyle::Secondary),
    ])
}

/// Create Lead for a person without an email.
pub fn lead_needs_email() -> Canvas {
    explain(
        "Create Lead",
        "A Lead needs an email address. Add one to this person in Intercom, then create the Lead."
            .to_string(),
    )
}

/// Create Lead for someone the current records show as a Lead or Contact
/// already; `why` says which.
pub fn lead_not_needed(why: &str) -> Canvas {
    explain("Create Lead", escape_markup(why))
}

/// New Case for someone who is not a Salesforce Contact; `what` says what
/// they are ("a Salesforce Lead", "not in Salesforce").
pub fn case_needs_contact(what: &str) -> Canvas {
    explain(
        "New Case",
        format!(
            "A case belongs to a Salesforce Contact, and this person is {what}. Convert the Lead (or create the Contact) in Salesforce first."
        ),
    )
}

/// New Case outside a conversation (the profile panel).
pub fn case_needs_conversation() -> Canvas {
    explain(
        "New Case",
        "Create cases from a conversation with this person: the case links back to it and a note with the case number is added there.".to_string(),
    )
}

/// Shown on the refreshed panel after a create, next to its Refresh
/// (where the teammate's eyes are after the form's bottom button).
pub fn created_banner(what: &str, url: &str, warnings: &[String]) -> Vec<Component> {
    let mut c = vec![
        paragraph(format!(
            "✓ **{}** created in Salesforce.",
            escape_markup(what)
        )),
        url_button(ids::OPEN_CREATED, &format!("Open {what}"), url),
    ];
    for w in warnings {
        c.push(error_text(escape_markup(w)));
    }
    c
}

/// The banner on a panel canvas, by its Refresh. A link the panel already
/// has (a new Lead is the panel, with its own "Open Lead") is left out of
/// the banner: two links to one record read as two records.
pub fn with_banner(canvas: Canvas, banner: Vec<Component>) -> Canvas {
    let has_url = |url: &str| {
        canvas.content.components.iter().any(|c| {
            matches!(c, Component::Button(Button { action: Action::Url { url: u }, .. }) if u == url)
        })
    };
    let banner: Vec<Component> = banner
        .into_iter()
        .filter(|c| match c {
            Component::Button(Button {
                action: Action::Url { url },
                ..
            }) => !has_url(url),
            _ => true,
        })
        .collect();
    super::insert_feedback(canvas, banner)
}
