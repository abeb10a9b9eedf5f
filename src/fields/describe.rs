//! Salesforce describes and UI API picklist answers, read into what a form
//! needs: which fields exist, their types and limits, which are required on
//! create, the record types the integration user may use and the picklist
//! values each record type offers. Parsing only; no I/O.

use std::collections::HashMap;

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    TextArea,
    Email,
    Phone,
    Url,
    Int,
    Double,
    Currency,
    Percent,
    Date,
    DateTime,
    Picklist,
    MultiPicklist,
    Boolean,
    Reference,
    Other,
}

impl FieldKind {
    fn from_type(t: &str) -> FieldKind {
        match t {
            "string" | "encryptedstring" | "combobox" => FieldKind::Text,
            "textarea" => FieldKind::TextArea,
            "email" => FieldKind::Email,
            "phone" => FieldKind::Phone,
            "url" => FieldKind::Url,
            "int" | "long" => FieldKind::Int,
            "double" => FieldKind::Double,
            "currency" => FieldKind::Currency,
            "percent" => FieldKind::Percent,
            "date" => FieldKind::Date,
            "datetime" => FieldKind::DateTime,
            "picklist" => FieldKind::Picklist,
            "multipicklist" => FieldKind::MultiPicklist,
            "boolean" => FieldKind::Boolean,
            "reference" | "id" => FieldKind::Reference,
            _ => FieldKind::Other,
        }
    }

    /// The type as an admin reads it, in messages and pickers.
    pub fn label(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::TextArea => "long text",
            FieldKind::Email => "email",
            FieldKind::Phone => "phone",
            FieldKind::Url => "URL",
            FieldKind::Int => "whole number",
            FieldKind::Double => "number",
            FieldKind::Currency => "currency",
            FieldKind::Percent => "percent",
            FieldKind::Date => "date",
            FieldKind::DateTime => "date/time",
            FieldKind::Picklist => "picklist",
            FieldKind::MultiPicklist => "multi-select picklist",
            FieldKind::Boolean => "checkbox",
            FieldKind::Reference => "lookup",
            FieldKind::Other => "compound or binary",
        }
    }

    pub fn is_number(self) -> bool {
        matches!(
            self,
            FieldKind::Int | FieldKind::Double | FieldKind::Currency | FieldKind::Percent
        )
    }

    pub fn is_picklist(self) -> bool {
        matches!(self, FieldKind::Picklist | FieldKind::MultiPicklist)
    }
}

/// One picklist value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickValue {
    pub value: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    pub name: String,
    pub label: String,
    pub kind: FieldKind,
    /// Characters, for text kinds.
    pub length: usize,
    pub precision: u32,
    pub scale: u32,
    pub createable: bool,
    pub nillable: bool,
    pub defaulted_on_create: bool,
    /// Salesforce computes the value when none is sent.
    pub default_formula: Option<String>,
    /// Active values, in the describe's order.
    pub values: Vec<PickValue>,
    pub default_value: Option<String>,
}

impl FieldSpec {
    /// Salesforce's rule: createable, not nillable, not defaulted on create
    /// (booleans are never nillable but default to false).
    pub fn required_on_create(&self) -> bool {
        self.createable
            && !self.nillable
            && !self.defaulted_on_create
            && self.default_formula.is_none()
            && self.kind != FieldKind::Boolean
    }

    fn parse(v: &Value) -> Option<FieldSpec> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let b = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
        let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
        let picks: Vec<&Value> = v
            .get("picklistValues")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let active: Vec<&Value> = picks
            .into_iter()
            .filter(|p| p.get("active").and_then(Value::as_bool).unwrap_or(true))
            .collect();
        Some(FieldSpec {
            name: s("name")?,
            label: s("label").unwrap_or_default(),
            kind: FieldKind::from_type(&s("type").unwrap_or_default()),
            length: n("length") as usize,
            precision: n("precision") as u32,
            scale: n("scale") as u32,
            createable: b("createable"),
            nillable: b("nillable"),
            defaulted_on_create: b("defaultedOnCreate"),
            default_formula: s("defaultValueFormula").filter(|f| !f.trim().is_empty()),
            values: active.iter().filter_map(|p| pick_value(p)).collect(),
            default_value: active
                .iter()
                .find(|p| p.get("defaultValue").and_then(Value::as_bool) == Some(true))
                .and_then(|p| p.get("value").and_then(Value::as_str).map(str::to_string)),
        })
    }
}

fn pick_value(p: &Value) -> Option<PickValue> {
    let value = p.get("value")?.as_str()?.to_string();
    let label = p
        .get("label")
        .and_then(Value::as_str)
        .unwrap_or(&value)
        .to_string();
    Some(PickValue { value, label })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordType {
    pub id: String,
    pub name: String,
    pub developer_name: String,
    pub default_mapping: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Describe {
    pub name: String,
    pub fields: Vec<FieldSpec>,
    /// Record types the integration user may create with (master excluded).
    pub record_types: Vec<RecordType>,
}

impl Describe {
    pub fn parse(v: &Value) -> Result<Describe, String> {
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .ok_or("a describe without a name")?
            .to_string();
        let fields = v
            .get("fields")
            .and_then(Value::as_array)
            .ok_or("a describe without fields")?
            .iter()
            .filter_map(FieldSpec::parse)
            .collect();
        let record_types = v
            .get("recordTypeInfos")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|r| r["available"] == true && r["master"] != true && r["active"] != false)
            .filter_map(|r| {
                Some(RecordType {
                    id: r["recordTypeId"].as_str()?.to_string(),
                    name: r["name"].as_str().unwrap_or_default().to_string(),
                    developer_name: r["developerName"].as_str().unwrap_or_default().to_string(),
                    default_mapping: r["defaultRecordTypeMapping"] == true,
                })
            })
            .collect();
        Ok(Describe {
            name,
            fields,
            record_types,
        })
    }

    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The record type named by a developer name or a 15/18-character id.
    pub fn record_type(&self, wanted: &str) -> Option<&RecordType> {
        let w = wanted.trim();
        self.record_types.iter().find(|r| {
            r.developer_name.eq_ignore_ascii_case(w)
                || (w.len() >= 15 && r.id.get(..15) == w.get(..15))
        })
    }

    pub fn default_record_type(&self) -> Option<&RecordType> {
        self.record_types
            .iter()
            .find(|r| r.default_mapping)
            .or_else(|| self.record_types.first())
    }
}

/// UI API `picklist-values/{recordTypeId}`: the values each picklist offers
/// for one record type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordTypePicklists {
    pub fields: HashMap<String, (Vec<PickValue>, Option<String>)>,
}

impl RecordTypePicklists {
    pub fn parse(v: &Value) -> RecordTypePicklists {
        let mut fields = HashMap::new();
        for (name, f) in v
            .get("picklistFieldValues")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let values = f["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(pick_value)
                .collect();
            let default = f["defaultValue"]["value"].as_str().map(str::to_string);
            fields.insert(name.clone(), (values, default));
        }
        RecordTypePicklists { fields }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case_describe() -> Describe {
        let raw = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/describe/Case.json"
        ))
        .unwrap();
        Describe::parse(&serde_json::from_str(&raw).unwrap()).unwrap()
    }

    #[test]
    fn required_fields_follow_the_describe_and_formula_defaults_are_not_required() {
        let d = case_describe();
        let required: Vec<&str> = d
            .fields
            .iter()
            .filter(|f| f.required_on_create())
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(required, vec!["Product__c"]);
        let region = d.field("Region__c").unwrap();
        assert_eq!(region.default_formula.as_deref(), Some("'EMEA'"));
        assert!(!d.field("Priority").unwrap().required_on_create());
        assert_eq!(
            d.field("Priority").unwrap().default_value.as_deref(),
            Some("Medium")
        );
    }

    #[test]
    fn record_types_exclude_master_and_match_by_name_or_id() {
        let d = case_describe();
        let names: Vec<&str> = d.record_types.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, vec!["Support", "Billing"]);
        assert_eq!(d.default_record_type().unwrap().developer_name, "Support");
        assert_eq!(d.record_type("billing").unwrap().id, "0125e000000SbxBAAS");
        assert_eq!(d.record_type("0125e000000SbxB").unwrap().name, "Billing");
        assert!(d.record_type("Master").is_none());
    }

    #[test]
    fn reads_ui_api_picklist_values() {
        let v = serde_json::json!({"picklistFieldValues": {"Origin": {"controllerValues": {},
            "defaultValue": {"attributes": null, "label": "Billing Portal", "validFor": [], "value": "Billing Portal"},
            "values": [{"attributes": null, "label": "Email", "validFor": [], "value": "Email"},
                       {"attributes": null, "label": "Billing Portal", "validFor": [], "value": "Billing Portal"}]}}});
        let p = RecordTypePicklists::parse(&v);
        let (values, default) = &p.fields["Origin"];
        assert_eq!(values.len(), 2);
        assert_eq!(default.as_deref(), Some("Billing Portal"));
    }
}
