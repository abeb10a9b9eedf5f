//! Per-object schema, read from the describe fixtures so that SOQL validation, create validation
//! and the describe endpoint can never disagree.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

/// Fields every polymorphic parent (`attributes.type` = `"Name"`) can expose.
pub const NAME_FIELDS: &[&str] = &[
    "Id",
    "Name",
    "FirstName",
    "LastName",
    "Email",
    "Alias",
    "Title",
    "IsActive",
    "Username",
    "Type",
    "Phone",
];

/// One field of an sObject, trimmed to what the fake org needs.
#[derive(Clone, Debug)]
pub struct FieldDef {
    pub name: String,
    pub label: String,
    pub ftype: String,
    pub length: u64,
    pub nillable: bool,
    pub createable: bool,
    pub updateable: bool,
    pub defaulted_on_create: bool,
    pub restricted_picklist: bool,
    pub active_values: Vec<String>,
    pub default_value: Option<String>,
    /// `defaultValueFormula`; the sandbox evaluates string and number literals.
    pub default_formula: Option<String>,
    pub reference_to: Vec<String>,
    pub relationship_name: Option<String>,
    pub polymorphic: bool,
    /// The describe's `filterable` / `sortable` (true when a describe leaves them out).
    pub filterable: bool,
    pub sortable: bool,
    /// `externalId`: an upsert may match records on it.
    pub external_id: bool,
}

impl FieldDef {
    fn from_json(v: &Value) -> FieldDef {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let b = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
        let picks = v
            .get("picklistValues")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        FieldDef {
            name: s("name").unwrap_or_default(),
            label: s("label").unwrap_or_default(),
            ftype: s("type").unwrap_or_default(),
            length: v.get("length").and_then(Value::as_u64).unwrap_or(0),
            nillable: b("nillable"),
            createable: b("createable"),
            updateable: b("updateable"),
            defaulted_on_create: b("defaultedOnCreate"),
            restricted_picklist: b("restrictedPicklist"),
            active_values: picks
                .iter()
                .filter(|p| p.get("active").and_then(Value::as_bool).unwrap_or(false))
                .filter_map(|p| p.get("value").and_then(Value::as_str).map(str::to_string))
                .collect(),
            default_value: picks
                .iter()
                .find(|p| p.get("defaultValue").and_then(Value::as_bool) == Some(true))
                .and_then(|p| p.get("value").and_then(Value::as_str).map(str::to_string)),
            default_formula: s("defaultValueFormula"),
            reference_to: v
                .get("referenceTo")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            relationship_name: s("relationshipName"),
            polymorphic: b("polymorphicForeignKey"),
            filterable: v.get("filterable").and_then(Value::as_bool).unwrap_or(true),
            sortable: v.get("sortable").and_then(Value::as_bool).unwrap_or(true),
            external_id: b("externalId"),
        }
    }

    /// Is this a date, date-time, number or boolean (compared as such, not as text)?
    pub fn is_numeric(&self) -> bool {
        matches!(
            self.ftype.as_str(),
            "int" | "double" | "currency" | "percent" | "long"
        )
    }
}

/// A child relationship (`Contact.Cases` → Case via ContactId).
#[derive(Clone, Debug)]
pub struct ChildRel {
    pub name: String,
    pub child: String,
    pub field: String,
}

/// One sObject's schema plus its raw describe body.
#[derive(Clone, Debug)]
pub struct ObjectSchema {
    pub name: String,
    pub key_prefix: String,
    pub fields: Vec<FieldDef>,
    pub children: Vec<ChildRel>,
    pub describe_raw: String,
}

impl ObjectSchema {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The reference field whose relationship name is `rel` (case-insensitive).
    pub fn parent_rel(&self, rel: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| {
            f.relationship_name
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(rel))
        })
    }

    pub fn child_rel(&self, rel: &str) -> Option<&ChildRel> {
        self.children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(rel))
    }
}

/// All objects, keyed by canonical name.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub objects: Vec<ObjectSchema>,
}

impl Schema {
    /// Reads every `describe/*.json` under `fixtures_dir`.
    pub fn load(fixtures_dir: &Path) -> std::io::Result<Schema> {
        let mut objects = Vec::new();
        let mut entries: Vec<_> = std::fs::read_dir(fixtures_dir.join("describe"))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        entries.sort();
        for path in entries {
            let raw = std::fs::read_to_string(&path)?;
            let v: Value = serde_json::from_str(&raw).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?;
            let name = v["name"].as_str().unwrap_or_default().to_string();
            let fields = v["fields"]
                .as_array()
                .map(|a| a.iter().map(FieldDef::from_json).collect())
                .unwrap_or_default();
            let children = v["childRelationships"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| {
                            Some(ChildRel {
                                name: c["relationshipName"].as_str()?.to_string(),
                                child: c["childSObject"].as_str()?.to_string(),
                                field: c["field"].as_str()?.to_string(),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            objects.push(ObjectSchema {
                key_prefix: v["keyPrefix"].as_str().unwrap_or_default().to_string(),
                name,
                fields,
                children,
                describe_raw: raw,
            });
        }
        Ok(Schema { objects })
    }

    pub fn object(&self, name: &str) -> Option<&ObjectSchema> {
        self.objects
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    }

    /// The object an id belongs to, by its 3-character key prefix.
    pub fn object_for_id(&self, id: &str) -> Option<&ObjectSchema> {
        let prefix = id.get(..3)?;
        self.objects.iter().find(|o| o.key_prefix == prefix)
    }

    /// Canonical names, for lookups by prefix.
    pub fn names(&self) -> HashMap<String, String> {
        self.objects
            .iter()
            .map(|o| (o.name.to_ascii_lowercase(), o.name.clone()))
            .collect()
    }
}
