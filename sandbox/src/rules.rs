//! What an org configures beyond the describe and enforces only on save:
//! record types and their picklist values, validation rules and duplicate
//! rules. Real Salesforce keeps these out of the describe, so clients only
//! learn about them from the UI API or from the error a save answers; the
//! sandbox models one of each so the app's handling of them is tested.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::error::SfError;
use super::json::Json;
use super::schema::ObjectSchema;
use super::store::Row;

/// Values of one picklist for one record type.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordTypeValues {
    pub values: Vec<String>,
    pub default: Option<String>,
}

/// `fixtures/picklists/{Object}.json`: record type id → field → values.
#[derive(Clone, Debug, Default)]
pub struct Picklists {
    by_object: HashMap<String, HashMap<String, HashMap<String, RecordTypeValues>>>,
}

impl Picklists {
    pub fn load(fixtures_dir: &Path, objects: &[ObjectSchema]) -> std::io::Result<Picklists> {
        let mut by_object = HashMap::new();
        for o in objects {
            let path = fixtures_dir
                .join("picklists")
                .join(format!("{}.json", o.name));
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let v: Value = serde_json::from_str(&text).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?;
            let mut per_rt = HashMap::new();
            for (rt, fields) in v.as_object().into_iter().flatten() {
                let Some(fields) = fields.as_object() else {
                    continue; // `_comment`
                };
                let mut per_field = HashMap::new();
                for (field, spec) in fields {
                    per_field.insert(
                        field.clone(),
                        RecordTypeValues {
                            values: spec["values"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect(),
                            default: spec["default"].as_str().map(str::to_string),
                        },
                    );
                }
                per_rt.insert(rt.clone(), per_field);
            }
            by_object.insert(o.name.clone(), per_rt);
        }
        Ok(Picklists { by_object })
    }

    /// The values of `field` for record type `rt` (15 or 18 characters),
    /// when the fixtures restrict them.
    pub fn for_record_type(
        &self,
        object: &str,
        rt: &str,
        field: &str,
    ) -> Option<&RecordTypeValues> {
        self.by_object
            .get(object)?
            .iter()
            .find(|(id, _)| same_id(id, rt))?
            .1
            .get(field)
    }
}

fn same_id(a: &str, b: &str) -> bool {
    a.get(..15).is_some() && a.get(..15) == b.get(..15)
}

/// `recordTypeInfos` of a describe.
pub fn record_types(o: &ObjectSchema) -> Vec<Value> {
    serde_json::from_str::<Value>(&o.describe_raw)
        .ok()
        .and_then(|v| v["recordTypeInfos"].as_array().cloned())
        .unwrap_or_default()
}

/// The record type id a create must use: the given one if the integration
/// user may use it, else the default mapping.
pub fn check_record_type(o: &ObjectSchema, given: Option<&str>) -> Result<Option<String>, SfError> {
    let rts = record_types(o);
    let usable: Vec<&Value> = rts
        .iter()
        .filter(|r| r["available"] == true && r["master"] != true)
        .collect();
    match given {
        None => Ok(usable
            .iter()
            .find(|r| r["defaultRecordTypeMapping"] == true)
            .and_then(|r| r["recordTypeId"].as_str().map(str::to_string))),
        Some(id) => {
            if usable
                .iter()
                .any(|r| r["recordTypeId"].as_str().is_some_and(|x| same_id(x, id)))
            {
                Ok(Some(id.to_string()))
            } else {
                Err(SfError::new(
                    400,
                    "INVALID_CROSS_REFERENCE_KEY",
                    format!("Record Type ID: this ID value isn't valid for the user: {id}"),
                )
                .with_fields(vec!["RecordTypeId".to_string()]))
            }
        }
    }
}

fn text<'a>(row: &'a Row, k: &str) -> &'a str {
    row.get(k).and_then(Value::as_str).unwrap_or("")
}

/// The org's validation rules, run on the row about to be saved.
pub fn validation_rules(object: &str, row: &Row) -> Result<(), SfError> {
    // Case "Refund_needs_amount": AND(ISPICKVAL(Type, "Refund"), ISBLANK(Refund_Amount__c))
    if object == "Case"
        && text(row, "Type") == "Refund"
        && row.get("Refund_Amount__c").is_none_or(Value::is_null)
    {
        return Err(SfError::new(
            400,
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "Enter the amount to refund for a refund case.",
        )
        .with_fields(vec!["Refund_Amount__c".to_string()]));
    }
    Ok(())
}

/// The org's duplicate rules: the standard Lead rule blocks a Lead whose
/// email an existing open Lead already has.
pub fn duplicate_rules(object: &str, row: &Row, existing: &[Row]) -> Result<(), SfError> {
    if object != "Lead" {
        return Ok(());
    }
    let email = text(row, "Email").trim().to_lowercase();
    if email.is_empty() {
        return Ok(());
    }
    let matches: Vec<&Row> = existing
        .iter()
        .filter(|r| {
            text(r, "Email").to_lowercase() == email
                && r.get("IsConverted") != Some(&Value::Bool(true))
        })
        .collect();
    if matches.is_empty() {
        return Ok(());
    }
    let records = matches
        .iter()
        .map(|r| {
            Json::obj().with(
                "record",
                Json::obj()
                    .with("attributes", Json::obj().with("type", "Lead"))
                    .with("Id", text(r, "Id")),
            )
        })
        .collect();
    let result = Json::obj()
        .with("allowSave", false)
        .with("duplicateRule", "Standard_Lead_Duplicate_Rule")
        .with("duplicateRuleEntityType", "Lead")
        .with("errorMessage", "Use one of these records?")
        .with(
            "matchResults",
            Json::Arr(vec![Json::obj()
                .with("entityType", "Lead")
                .with("matchEngine", "ExactMatchEngine")
                .with("matchRecords", Json::Arr(records))
                .with("rule", "Standard_Lead_Match_Rule_v1_0")
                .with("size", matches.len())
                .with("success", true)]),
        );
    Err(
        SfError::new(400, "DUPLICATES_DETECTED", "Use one of these records?")
            .with_extra("duplicateResult", result),
    )
}

/// Evaluates the literal `defaultValueFormula`s the fixtures use (`'EMEA'`, `10`).
pub fn formula_default(formula: &str) -> Option<Value> {
    let f = formula.trim();
    if let Some(inner) = f.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
        return Some(Value::String(inner.to_string()));
    }
    if let Some(inner) = f.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        return Some(Value::String(inner.to_string()));
    }
    f.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
}
