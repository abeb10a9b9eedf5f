//! Pure: Intercom attribute values → Case field values, the Case's
//! Subject and transcript, and the mapping checks against the Case
//! describe. No I/O.

use serde_json::{Map, Value};

use crate::fields::describe::{Describe, FieldKind, FieldSpec};
use crate::fields::model::{check, FormField};
use crate::intercom::DataAttribute;
use crate::settings::{Mapping, SettingsError};

/// A value that cannot go into its field: the attribute, the field, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    pub attribute: String,
    pub field: String,
    pub why: String,
}

/// Checks each mapping against the Case describe (the field exists, can
/// be written, and its type can hold the attribute's) and, when given,
/// the attribute definitions (the attribute exists). The first bad one is
/// refused, naming it.
pub fn check_mappings(
    mappings: &[Mapping],
    case: &Describe,
    attributes: Option<&[DataAttribute]>,
) -> Result<(), SettingsError> {
    for (i, m) in mappings.iter().enumerate() {
        let key = format!("auto_cases.mappings[{i}]");
        let bad = |reason: String| SettingsError::Invalid {
            key: key.clone(),
            reason: format!("{} → {}: {reason}", m.intercom, m.salesforce),
        };
        let Some(field) = case.field(&m.salesforce) else {
            return Err(bad("the Case has no such field".into()));
        };
        if !field.createable {
            return Err(bad(
                "the field cannot be set (read-only, a formula or not accessible to the integration user)"
                    .into(),
            ));
        }
        if field.default_formula.is_some() {
            return Err(bad(
                "the field has a default formula; it is left to Salesforce".into(),
            ));
        }
        if matches!(field.kind, FieldKind::Reference | FieldKind::Other) {
            return Err(bad(format!(
                "a {} field cannot take an attribute's value",
                field.kind.label()
            )));
        }
        if let Some(defs) = attributes {
            let Some(def) = defs
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(&m.intercom))
            else {
                return Err(bad(
                    "Intercom has no conversation attribute of that name".into()
                ));
            };
            if !attribute_fits(&def.data_type, field.kind) {
                return Err(bad(format!(
                    "a {} attribute cannot fill a {} field",
                    def.data_type,
                    field.kind.label()
                )));
            }
        }
    }
    Ok(())
}

/// Does an Intercom attribute of `data_type` convert into a field of
/// `kind`? The one rule, for the settings' checks here and the console's:
/// text takes anything; numbers, checkboxes and dates take their own kind.
pub fn attribute_fits(data_type: &str, kind: FieldKind) -> bool {
    use FieldKind as K;
    let text = matches!(kind, K::Text | K::TextArea | K::Picklist | K::MultiPicklist);
    match data_type {
        "string" | "list" => text || matches!(kind, K::Email | K::Phone | K::Url),
        "integer" => text || kind.is_number(),
        "float" => text || matches!(kind, K::Double | K::Currency | K::Percent),
        "boolean" => text || kind == K::Boolean,
        "date" => text || matches!(kind, K::Date | K::DateTime),
        "datetime" => text || matches!(kind, K::DateTime | K::Date),
        _ => text,
    }
}

/// The mapped attributes as Case fields: each value converted to its
/// field's type (numbers, checkboxes, dates, picklist values valid for
/// the record type, lengths), or the first that cannot be, named. An
/// attribute without a value is skipped. `picklists`: the record type's
/// values where the org has them.
pub fn mapped_fields(
    mappings: &[Mapping],
    values: &Map<String, Value>,
    case: &Describe,
    picklists: Option<&crate::fields::describe::RecordTypePicklists>,
) -> Result<Map<String, Value>, BadValue> {
    let mut out = Map::new();
    for m in mappings {
        let Some(v) = values
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&m.intercom))
            .map(|(_, v)| v)
        else {
            continue;
        };
        let bad = |why: String| BadValue {
            attribute: m.intercom.clone(),
            field: m.salesforce.clone(),
            why,
        };
        let Some(spec) = case.field(&m.salesforce) else {
            return Err(bad("the Case has no such field".into()));
        };
        if !spec.createable || spec.default_formula.is_some() {
            return Err(bad("the field cannot be set".into()));
        }
        let Some(text) = as_text(v, spec) else {
            continue;
        };
        let field = FormField::new(spec, picklists);
        let value = check(&field, &text).map_err(|why| bad(format!("{text:?}: {why}")))?;
        out.insert(spec.name.clone(), value);
    }
    Ok(out)
}

/// An attribute's JSON value as the text the field check reads; `None`
/// for no value. Dates come from Intercom as Unix timestamps.
fn as_text(v: &Value, spec: &FieldSpec) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.trim().to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => match spec.kind {
            FieldKind::Date | FieldKind::DateTime => {
                let t = n.as_i64()?;
                let d = chrono::DateTime::from_timestamp(t, 0)?;
                Some(if spec.kind == FieldKind::Date {
                    d.format("%Y-%m-%d").to_string()
                } else {
                    d.to_rfc3339()
                })
            }
            _ => Some(n.to_string()),
        },
        Value::Array(a) => Some(
            a.iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect::<Vec<_>>()
                .join(";"),
        ),
        Value::Object(_) => Some(v.to_string()),
    }
}

/// `text` cut to `max` characters with the link to the conversation at
/// the end, always whole.
pub fn with_link(text: &str, link: &str, max: usize) -> String {
    let tail = format!("\n\nConversation in Intercom: {link}");
    let room = max.saturating_sub(tail.chars().count());
    let body = text.trim_end();
    let body = if body.chars().count() > room {
        let mut s: String = body.chars().take(room.saturating_sub(1)).collect();
        s.push('…');
        s
    } else {
        body.to_string()
    };
    format!("{body}{tail}")
}

/// The Case Subject: the conversation's title, else its first message,
/// cut to `max` characters.
pub fn subject(title: Option<&str>, first_message: Option<&str>, max: usize) -> String {
    let s = title
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .or(first_message.map(str::trim).filter(|t| !t.is_empty()))
        .unwrap_or("Intercom conversation");
    let line = s.lines().next().unwrap_or(s);
    if line.chars().count() > max {
        let mut out: String = line.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn describe() -> Describe {
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/describe/Case.json"
            ))
            .unwrap(),
        )
        .unwrap();
        Describe::parse(&v).unwrap()
    }

    fn m(i: &str, s: &str) -> Mapping {
        Mapping {
            intercom: i.into(),
            salesforce: s.into(),
        }
    }

    fn defs() -> Vec<DataAttribute> {
        serde_json::from_value(json!([
            {"name": "Product Area", "data_type": "string"},
            {"name": "Order Number", "data_type": "integer"},
            {"name": "Escalated", "data_type": "boolean"},
            {"name": "Due", "data_type": "date"}
        ]))
        .unwrap()
    }

    #[test]
    fn mappings_are_checked_against_the_describe() {
        let d = describe();
        let good = [
            m("Product Area", "Product__c"),
            m("Order Number", "Order_Number__c"),
            m("Escalated", "IsEscalated"),
            m("Due", "Due_Date__c"),
        ];
        check_mappings(&good, &d, Some(&defs())).unwrap();
        let key =
            |ms: &[Mapping], defs: Option<&[DataAttribute]>| match check_mappings(ms, &d, defs) {
                Err(SettingsError::Invalid { key, reason }) => format!("{key}: {reason}"),
                other => panic!("{other:?}"),
            };
        let e = key(&[m("Product Area", "Nope__c")], None);
        assert!(
            e.starts_with("auto_cases.mappings[0]") && e.contains("no such field"),
            "{e}"
        );
        let e = key(
            &[
                m("Product Area", "Product__c"),
                m("Product Area", "CaseNumber"),
            ],
            None,
        );
        assert!(
            e.starts_with("auto_cases.mappings[1]") && e.contains("cannot be set"),
            "{e}"
        );
        let e = key(&[m("Escalated", "Order_Number__c")], Some(&defs()));
        assert!(
            e.contains("boolean attribute cannot fill a number field"),
            "{e}"
        );
        let e = key(&[m("Ghost", "Product__c")], Some(&defs()));
        assert!(e.contains("no conversation attribute"), "{e}");
        let e = key(&[m("Product Area", "ContactId")], None);
        assert!(e.contains("lookup"), "{e}");
    }

    #[test]
    fn values_are_converted_to_the_field_type_or_refused() {
        let d = describe();
        let ms = [
            m("Product Area", "Product__c"),
            m("Order Number", "Order_Number__c"),
            m("Escalated", "IsEscalated"),
            m("Due", "Due_Date__c"),
            m("Case Type", "Type"),
            m("Missing", "Region__c"),
        ];
        let values = json!({
            "Product Area": "Billing", "Order Number": 1234, "Escalated": true,
            "Due": 1764547200, "Case Type": "Invoice"
        });
        let out = mapped_fields(&ms, values.as_object().unwrap(), &d, None).unwrap();
        assert_eq!(out["Product__c"], "Billing");
        assert_eq!(out["Order_Number__c"].as_f64(), Some(1234.0));
        assert_eq!(out["IsEscalated"], true);
        assert_eq!(out["Due_Date__c"], "2025-12-01");
        assert_eq!(out["Type"], "Invoice");
        assert!(!out.contains_key("Region__c"));

        let refuse = |attr: &str, field: &str, v: Value| {
            let ms = [m(attr, field)];
            let vals = json!({ attr: v });
            mapped_fields(&ms, vals.as_object().unwrap(), &d, None).unwrap_err()
        };
        let e = refuse("Case Type", "Type", json!("Billing question"));
        assert_eq!(
            (e.attribute.as_str(), e.field.as_str()),
            ("Case Type", "Type")
        );
        assert!(e.why.contains("Pick one of"), "{e:?}");
        let e = refuse("Order Number", "Order_Number__c", json!("twelve"));
        assert!(e.why.contains("twelve"), "{e:?}");
        let e = refuse("Escalated", "IsEscalated", json!("maybe"));
        assert!(e.why.contains("yes or no"), "{e:?}");
        let e = refuse("Topic", "Subject", json!("x".repeat(256)));
        assert!(e.why.contains("At most 255"), "{e:?}");
        // A field with a default formula is left to Salesforce.
        let e = refuse("Region", "Region__c", json!("EU"));
        assert!(e.why.contains("cannot be set"), "{e:?}");
        let e = refuse("Due", "Due_Date__c", json!("next week"));
        assert!(e.why.contains("date"), "{e:?}");
    }

    #[test]
    fn subject_and_transcript_fit_their_fields() {
        assert_eq!(subject(Some("Refund"), Some("hi"), 255), "Refund");
        assert_eq!(
            subject(Some(" "), Some("Export fails\nsince Monday"), 255),
            "Export fails"
        );
        assert_eq!(subject(None, None, 255), "Intercom conversation");
        assert_eq!(
            subject(Some(&"x".repeat(300)), None, 255).chars().count(),
            255
        );
        let t = with_link(&"y".repeat(500), "https://app.intercom.com/c/1", 200);
        assert_eq!(t.chars().count(), 200);
        assert!(t.ends_with("Conversation in Intercom: https://app.intercom.com/c/1"));
        let short = with_link("hello", "L", 200);
        assert_eq!(short, "hello\n\nConversation in Intercom: L");
    }
}
