//! The form model: which fields a form shows, what the teammate typed, and
//! the checks Salesforce would make, run before anything is sent so a bad
//! value gets its message next to its field instead of a failed save.
//! Pure functions of the describe and the typed text.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};
use serde_json::{Map, Number, Value};

use super::describe::{FieldKind, FieldSpec, PickValue, RecordTypePicklists};
use crate::salesforce::ApiError;

/// The option id of "no value" in an optional picklist's dropdown.
pub const NONE_OPTION: &str = "_none";

/// A field as the form shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FormField {
    pub spec: FieldSpec,
    pub required: bool,
    /// Picklist values for the chosen record type.
    pub options: Vec<PickValue>,
    /// The value preselected when the teammate has not chosen one.
    pub default: Option<String>,
}

impl FormField {
    /// `rt`: the record type's picklist values, where the org has them.
    pub fn new(spec: &FieldSpec, rt: Option<&RecordTypePicklists>) -> FormField {
        let (options, default) = match rt.and_then(|p| p.fields.get(&spec.name)) {
            Some((values, default)) => (values.clone(), default.clone()),
            None => (spec.values.clone(), spec.default_value.clone()),
        };
        FormField {
            required: spec.required_on_create(),
            spec: spec.clone(),
            options,
            default,
        }
    }
}

/// What the teammate typed and what is wrong with it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormState {
    /// Field name → the text as typed (kept verbatim, errors or not).
    pub values: BTreeMap<String, String>,
    pub field_errors: BTreeMap<String, String>,
    /// Errors that belong to no field on the form.
    pub errors: Vec<String>,
    /// The errors are Salesforce's answer to a save (not our checks).
    pub rejected: bool,
}

/// Reads `{prefix}{Field}` inputs for every field of the form.
pub fn read_values(
    fields: &[FormField],
    inputs: &Map<String, Value>,
    prefix: &str,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for f in fields {
        let v = match inputs.get(&format!("{prefix}{}", f.spec.name)) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => continue,
        };
        if v != NONE_OPTION {
            out.insert(f.spec.name.clone(), v);
        }
    }
    out
}

/// What to do with a required field left empty.
#[derive(Debug, Clone, Copy)]
pub enum Missing<'a> {
    /// Say it is required (New Case).
    Error,
    /// Send this text instead (Create Lead).
    Placeholder(&'a str),
}

/// Checks every value against its field; returns the record body to send,
/// or the message of every bad field.
pub fn validate(
    fields: &[FormField],
    values: &BTreeMap<String, String>,
    missing: Missing,
) -> Result<Map<String, Value>, BTreeMap<String, String>> {
    let mut body = Map::new();
    let mut errors = BTreeMap::new();
    for f in fields {
        let typed = values.get(&f.spec.name).map(|s| s.trim()).unwrap_or("");
        if typed.is_empty() {
            if f.required {
                match missing {
                    Missing::Error => {
                        errors.insert(f.spec.name.clone(), "Required in Salesforce.".to_string());
                    }
                    Missing::Placeholder(p) => {
                        if let Some(v) = placeholder_for(f, p) {
                            body.insert(f.spec.name.clone(), v);
                        }
                    }
                }
            }
            continue;
        }
        match check(f, typed) {
            Ok(v) => {
                body.insert(f.spec.name.clone(), v);
            }
            Err(msg) => {
                errors.insert(f.spec.name.clone(), msg);
            }
        }
    }
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(errors)
    }
}

fn placeholder_for(f: &FormField, p: &str) -> Option<Value> {
    if f.spec.kind.is_picklist() {
        return f
            .default
            .clone()
            .or_else(|| f.options.first().map(|o| o.value.clone()))
            .map(Value::String);
    }
    match f.spec.kind {
        FieldKind::Text | FieldKind::TextArea | FieldKind::Phone | FieldKind::Other => {
            let max = if f.spec.length > 0 {
                f.spec.length
            } else {
                usize::MAX
            };
            Some(Value::String(p.chars().take(max).collect()))
        }
        // A placeholder cannot be a valid email, number or date: let
        // Salesforce answer for those (it names the field).
        _ => None,
    }
}

/// One value against its field's type and limits.
pub fn check(f: &FormField, s: &str) -> Result<Value, String> {
    let spec = &f.spec;
    let too_long = |s: &str| {
        let n = s.chars().count();
        (spec.length > 0 && n > spec.length)
            .then(|| format!("At most {} characters; this has {n}.", spec.length))
    };
    match spec.kind {
        FieldKind::Text
        | FieldKind::TextArea
        | FieldKind::Phone
        | FieldKind::Url
        | FieldKind::Other
        | FieldKind::Reference => match too_long(s) {
            Some(e) => Err(e),
            None => Ok(Value::String(s.to_string())),
        },
        FieldKind::Email => {
            if let Some(e) = too_long(s) {
                return Err(e);
            }
            if is_email(s) {
                Ok(Value::String(s.to_string()))
            } else {
                Err("Not a valid email address (name@example.com).".to_string())
            }
        }
        FieldKind::Int | FieldKind::Double | FieldKind::Currency | FieldKind::Percent => {
            check_number(spec, s)
        }
        FieldKind::Date => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
            .map_err(|_| "Use a date like 2026-05-31.".to_string()),
        FieldKind::DateTime => DateTime::parse_from_rfc3339(s)
            .map(|d| Value::String(d.to_rfc3339()))
            .map_err(|_| "Use a date and time like 2026-05-31T14:30:00Z.".to_string()),
        FieldKind::Picklist => {
            if f.options.iter().any(|o| o.value == s) {
                Ok(Value::String(s.to_string()))
            } else {
                Err(format!("Pick one of: {}.", option_list(f)))
            }
        }
        FieldKind::MultiPicklist => {
            let parts: Vec<&str> = s
                .split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            match parts
                .iter()
                .find(|p| !f.options.iter().any(|o| o.value == **p))
            {
                Some(bad) => Err(format!("“{bad}” is not one of: {}.", option_list(f))),
                None => Ok(Value::String(parts.join(";"))),
            }
        }
        FieldKind::Boolean => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Ok(Value::Bool(true)),
            "false" | "no" | "off" => Ok(Value::Bool(false)),
            _ => Err("Use yes or no.".to_string()),
        },
    }
}

fn option_list(f: &FormField) -> String {
    let mut names: Vec<&str> = f.options.iter().take(6).map(|o| o.value.as_str()).collect();
    if f.options.len() > 6 {
        names.push("…");
    }
    names.join(", ")
}

/// A plain syntax check: one `@`, something before it, a dotted domain, no
/// spaces. (Salesforce's own check is similar; it does not look up domains.)
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

fn check_number(spec: &FieldSpec, s: &str) -> Result<Value, String> {
    let t = if spec.kind == FieldKind::Percent {
        s.trim_end_matches('%').trim()
    } else {
        s
    };
    let digits = t.strip_prefix('-').unwrap_or(t);
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    let well_formed = !(int_part.is_empty() && frac_part.is_empty())
        && int_part.chars().all(|c| c.is_ascii_digit())
        && frac_part.chars().all(|c| c.is_ascii_digit())
        && !(digits.contains('.') && frac_part.is_empty());
    let example = if spec.scale > 0 {
        "e.g. 1250.50"
    } else {
        "e.g. 1250"
    };
    if !well_formed {
        return Err(format!(
            "Enter a number, digits and a dot only ({example})."
        ));
    }
    let whole = spec.kind == FieldKind::Int || (spec.precision > 0 && spec.scale == 0);
    if whole && !frac_part.trim_end_matches('0').is_empty() {
        return Err("Whole numbers only.".to_string());
    }
    if spec.precision > 0 {
        let max_int = spec.precision.saturating_sub(spec.scale) as usize;
        if int_part.trim_start_matches('0').len() > max_int {
            return Err(format!(
                "At most {max_int} digit{} before the decimal point.",
                if max_int == 1 { "" } else { "s" }
            ));
        }
        if frac_part.trim_end_matches('0').len() > spec.scale as usize {
            return Err(format!(
                "At most {} decimal place{}.",
                spec.scale,
                if spec.scale == 1 { "" } else { "s" }
            ));
        }
    }
    if whole {
        let n: i64 = t
            .split('.')
            .next()
            .unwrap_or("")
            .parse()
            .map_err(|_| "That number is too large.".to_string())?;
        if spec.kind == FieldKind::Int && i32::try_from(n).is_err() {
            return Err("That number is too large.".to_string());
        }
        return Ok(Value::Number(n.into()));
    }
    let f: f64 = t
        .parse()
        .map_err(|_| format!("Enter a number ({example})."))?;
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| "Enter a finite number.".to_string())
}

/// Puts Salesforce's errors next to the fields they name, or at the top.
pub fn apply_salesforce_errors(state: &mut FormState, fields: &[FormField], errors: &[ApiError]) {
    state.rejected = true;
    for e in errors {
        let on_form: Vec<&FormField> = fields
            .iter()
            .filter(|f| {
                e.fields
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(&f.spec.name))
            })
            .collect();
        let message = salesforce_message(e);
        if on_form.is_empty() {
            state.errors.push(message);
        } else {
            for f in on_form {
                let slot = state.field_errors.entry(f.spec.name.clone()).or_default();
                if !slot.is_empty() {
                    slot.push(' ');
                }
                slot.push_str(&message);
            }
        }
    }
}

fn salesforce_message(e: &ApiError) -> String {
    match e.error_code.as_str() {
        "DUPLICATES_DETECTED" => format!(
            "Salesforce's duplicate rules stopped this: {} A record with these details already exists; Refresh to see it.",
            e.message
        ),
        _ => format!("Salesforce: {}", e.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::describe::Describe;

    fn fields() -> Vec<FormField> {
        let raw = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/describe/Case.json"
        ))
        .unwrap();
        let d = Describe::parse(&serde_json::from_str(&raw).unwrap()).unwrap();
        d.fields
            .iter()
            .filter(|f| f.createable)
            .map(|f| FormField::new(f, None))
            .collect()
    }

    fn vals(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn checks_lengths_numbers_dates_emails_and_percentages() {
        let f = fields();
        let err = validate(
            &f,
            &vals(&[
                ("Subject", &"x".repeat(256)),
                ("Order_Number__c", "12.5"),
                ("Refund_Amount__c", "1,000"),
                ("Discount__c", "12.345%"),
                ("Due_Date__c", "31/05/2026"),
                ("SuppliedEmail", "not-an-email"),
                ("Priority", "Urgent"),
            ]),
            Missing::Error,
        )
        .unwrap_err();
        assert_eq!(err["Subject"], "At most 255 characters; this has 256.");
        assert_eq!(err["Order_Number__c"], "Whole numbers only.");
        assert!(err["Refund_Amount__c"].starts_with("Enter a number"));
        assert_eq!(err["Discount__c"], "At most 2 decimal places.");
        assert_eq!(err["Due_Date__c"], "Use a date like 2026-05-31.");
        assert!(err["SuppliedEmail"].starts_with("Not a valid email"));
        assert!(err["Priority"].starts_with("Pick one of"));
        assert_eq!(err["Product__c"], "Required in Salesforce.");
        assert!(
            !err.contains_key("Region__c"),
            "formula default is not required"
        );
    }

    #[test]
    fn good_values_become_typed_json() {
        let f = fields();
        let body = validate(
            &f,
            &vals(&[
                ("Product__c", "Printer"),
                ("Order_Number__c", "12345"),
                ("Refund_Amount__c", "99.9"),
                ("Discount__c", "12.5%"),
                ("Due_Date__c", "2026-05-31"),
                ("SuppliedEmail", "zoë@example.com"),
                ("Subject", "  "),
            ]),
            Missing::Error,
        )
        .unwrap();
        assert_eq!(body["Order_Number__c"], 12345);
        assert_eq!(body["Refund_Amount__c"], 99.9);
        assert_eq!(body["Discount__c"], 12.5);
        assert_eq!(body["Due_Date__c"], "2026-05-31");
        assert!(
            !body.contains_key("Subject"),
            "blank optional fields are left out"
        );
    }

    #[test]
    fn placeholders_fill_required_text() {
        let f = fields();
        let body = validate(&f, &vals(&[]), Missing::Placeholder("[not provided]")).unwrap();
        assert_eq!(body["Product__c"], "[not provided]");
    }

    #[test]
    fn salesforce_errors_go_next_to_their_field_or_on_top() {
        let f = fields();
        let mut st = FormState::default();
        apply_salesforce_errors(
            &mut st,
            &f,
            &[
                ApiError {
                    message: "Enter the amount to refund for a refund case.".into(),
                    error_code: "FIELD_CUSTOM_VALIDATION_EXCEPTION".into(),
                    fields: vec!["Refund_Amount__c".into()],
                },
                ApiError {
                    message: "Trigger failed".into(),
                    error_code: "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY".into(),
                    fields: vec![],
                },
            ],
        );
        assert_eq!(
            st.field_errors["Refund_Amount__c"],
            "Salesforce: Enter the amount to refund for a refund case."
        );
        assert_eq!(st.errors, vec!["Salesforce: Trigger failed".to_string()]);
    }
}
