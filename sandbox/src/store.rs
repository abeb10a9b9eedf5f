//! The org's data: rows per sObject, seeded from `fixtures/org/*.json`, plus create/update with
//! the validation Salesforce applies from the describe (required, length, restricted picklists).

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::error::SfError;
use super::rules::{self, Picklists};
use super::schema::{FieldDef, Schema};

/// A stored row.
pub type Row = Map<String, Value>;

/// The integration (API) user: default owner of everything the sandbox creates.
pub const INTEGRATION_USER_ID: &str = "0055e000001IntgAAC";
/// Default Case record type ("Support").
pub const CASE_DEFAULT_RECORD_TYPE: &str = "0125e000000SbxSAAS";

#[derive(Clone, Debug)]
pub struct Store {
    pub schema: Schema,
    /// Picklist values per record type (`fixtures/picklists/`).
    pub picklists: Picklists,
    rows: HashMap<String, Vec<Row>>,
    next_case_number: u64,
    id_counter: u64,
    /// Owner of the records the API creates: the org's API user.
    api_user: String,
}

/// Current time in Salesforce's date-time format.
pub fn now_stamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string()
}

/// Adds Salesforce's 3-character case-safe suffix to a 15-character id.
pub fn id18(id15: &str) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let bytes = id15.as_bytes();
    let mut suffix = String::new();
    for chunk in 0..3 {
        let mut bits = 0usize;
        for i in 0..5 {
            if bytes.get(chunk * 5 + i).is_some_and(u8::is_ascii_uppercase) {
                bits |= 1 << i;
            }
        }
        suffix.push(ALPHA[bits] as char);
    }
    format!("{id15}{suffix}")
}

fn is_string_type(t: &str) -> bool {
    matches!(
        t,
        "id" | "reference"
            | "string"
            | "textarea"
            | "email"
            | "phone"
            | "url"
            | "picklist"
            | "combobox"
            | "multipicklist"
            | "encryptedstring"
    )
}

impl Store {
    /// Loads the schema from `describe/` and the rows from `org/` (org A, owned by
    /// [`INTEGRATION_USER_ID`]).
    pub fn load(fixtures_dir: &Path) -> std::io::Result<Store> {
        Store::load_seeded(fixtures_dir, Path::new("org"), INTEGRATION_USER_ID)
    }

    /// Loads the schema from `describe/` and the rows from `seed` (relative to `fixtures_dir`);
    /// records created through the API are owned by `api_user`.
    pub fn load_seeded(fixtures_dir: &Path, seed: &Path, api_user: &str) -> std::io::Result<Store> {
        let schema = Schema::load(fixtures_dir)?;
        let mut rows: HashMap<String, Vec<Row>> = HashMap::new();
        for obj in &schema.objects {
            let path = fixtures_dir.join(seed).join(format!("{}.json", obj.name));
            let list = match std::fs::read_to_string(&path) {
                Ok(text) => serde_json::from_str::<Vec<Row>>(&text).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: {e}", path.display()),
                    )
                })?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(e),
            };
            rows.insert(obj.name.clone(), list);
        }
        let next_case_number = rows
            .get("Case")
            .map(|cases| {
                cases
                    .iter()
                    .filter_map(|c| c.get("CaseNumber")?.as_str()?.parse::<u64>().ok())
                    .max()
                    .unwrap_or(1000)
                    + 1
            })
            .unwrap_or(1001);
        let picklists = Picklists::load(fixtures_dir, &schema.objects)?;
        Ok(Store {
            picklists,
            schema,
            rows,
            next_case_number,
            id_counter: 0,
            api_user: api_user.to_string(),
        })
    }

    /// All rows of an object (canonical name or any case).
    pub fn rows(&self, object: &str) -> &[Row] {
        self.schema
            .object(object)
            .and_then(|o| self.rows.get(&o.name))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Finds a row by id (15 or 18 characters) in any object; returns its object name too.
    pub fn find(&self, id: &str) -> Option<(&str, &Row)> {
        let obj = self.schema.object_for_id(id)?;
        let row = self
            .rows
            .get(&obj.name)?
            .iter()
            .find(|r| id_matches(r.get("Id"), id))?;
        Some((obj.name.as_str(), row))
    }

    /// A row of a given object by id.
    pub fn get(&self, object: &str, id: &str) -> Option<&Row> {
        self.rows(object)
            .iter()
            .find(|r| id_matches(r.get("Id"), id))
    }

    fn new_id(&mut self, prefix: &str) -> String {
        self.id_counter += 1;
        let mut n = self.id_counter;
        let digits = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut tail = Vec::new();
        for _ in 0..5 {
            tail.push(digits[(n % 62) as usize] as char);
            n /= 62;
        }
        tail.reverse();
        let body: String = tail.into_iter().collect();
        id18(&format!("{prefix}5e0000N{body}"))
    }

    /// Validates the given fields against the describe (shared by create and update).
    fn check_fields(&self, object: &str, body: &Value, creating: bool) -> Result<Row, SfError> {
        let schema = self.schema.object(object).ok_or_else(SfError::not_found)?;
        let Some(map) = body.as_object() else {
            return Err(SfError::new(
                400,
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of object from a non-object value at [line:1, column:1]",
            ));
        };
        let mut out = Row::new();
        let mut not_writable = Vec::new();
        for (key, value) in map {
            if key == "attributes" {
                continue;
            }
            let Some(field) = schema.field(key) else {
                return Err(SfError::new(
                    400,
                    "INVALID_FIELD",
                    format!("No such column '{key}' on sobject of type {}", schema.name),
                ));
            };
            let writable = if creating {
                field.createable
            } else {
                field.updateable
            };
            if !writable {
                not_writable.push(field.name.clone());
                continue;
            }
            self.check_value(field, value)?;
            out.insert(field.name.clone(), value.clone());
        }
        if !not_writable.is_empty() {
            return Err(SfError::new(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!(
                    "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                    not_writable.join(", ")
                ),
            )
            .with_fields(not_writable));
        }
        let required: Vec<String> = schema
            .fields
            .iter()
            .filter(|f| {
                f.createable && !f.nillable && !f.defaulted_on_create && f.ftype != "boolean"
            })
            .filter(|f| {
                let given = out.get(&f.name);
                let blank = matches!(given, Some(Value::Null))
                    || given
                        .and_then(Value::as_str)
                        .is_some_and(|s| s.trim().is_empty());
                if creating {
                    given.is_none() || blank
                } else {
                    blank
                }
            })
            .map(|f| f.name.clone())
            .collect();
        if !required.is_empty() {
            return Err(SfError::new(
                400,
                "REQUIRED_FIELD_MISSING",
                format!("Required fields are missing: [{}]", required.join(", ")),
            )
            .with_fields(required));
        }
        Ok(out)
    }

    fn check_value(&self, field: &FieldDef, value: &Value) -> Result<(), SfError> {
        if value.is_null() {
            return Ok(());
        }
        let wrong_type = || {
            SfError::new(
                400,
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                format!("{}: value not of required type: {value}", field.label),
            )
            .with_fields(vec![field.name.clone()])
        };
        let t = field.ftype.as_str();
        if is_string_type(t) {
            let Some(s) = value.as_str() else {
                return Err(wrong_type());
            };
            if field.length > 0 && s.chars().count() as u64 > field.length {
                return Err(SfError::new(
                    400,
                    "STRING_TOO_LONG",
                    format!(
                        "{}: data value too large: {} (max length={})",
                        field.label,
                        s.chars().take(field.length as usize).collect::<String>(),
                        field.length
                    ),
                )
                .with_fields(vec![field.name.clone()]));
            }
            if field.restricted_picklist
                && t == "picklist"
                && !field.active_values.iter().any(|v| v == s)
            {
                return Err(SfError::new(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!(
                        "{}: bad value for restricted picklist field: {s}",
                        field.label
                    ),
                )
                .with_fields(vec![field.name.clone()]));
            }
            if t == "reference" && !s.is_empty() {
                let known_targets: Vec<&String> = field
                    .reference_to
                    .iter()
                    .filter(|r| self.schema.object(r).is_some())
                    .collect();
                if !known_targets.is_empty() {
                    let ok = self
                        .find(s)
                        .is_some_and(|(obj, _)| known_targets.iter().any(|t| t.as_str() == obj));
                    let other_target = field.reference_to.len() > known_targets.len()
                        && self.schema.object_for_id(s).is_none();
                    if !ok && !other_target {
                        return Err(SfError::new(
                            400,
                            "MALFORMED_ID",
                            format!("{}: id value of incorrect type: {s}", field.label),
                        )
                        .with_fields(vec![field.name.clone()]));
                    }
                }
            }
            return Ok(());
        }
        let ok = match t {
            "boolean" => value.is_boolean(),
            "int" | "double" | "currency" | "percent" | "long" => value.is_number(),
            "date" => value
                .as_str()
                .is_some_and(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()),
            "datetime" => value
                .as_str()
                .is_some_and(|s| super::soql::lexer::parse_datetime(s).is_some()),
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            Err(wrong_type())
        }
    }

    /// Creates a record; returns its new id.
    pub fn create(&mut self, object: &str, body: &Value) -> Result<String, SfError> {
        let schema = self
            .schema
            .object(object)
            .ok_or_else(SfError::not_found)?
            .clone();
        if matches!(schema.name.as_str(), "User" | "Organization") {
            return Err(SfError::new(
                400,
                "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                format!("entity type cannot be inserted: {}", schema.name),
            ));
        }
        let given = self.check_fields(&schema.name, body, true)?;
        self.check_task_links(&schema.name, &given)?;
        let id = self.new_id(&schema.key_prefix);
        let now = now_stamp();
        let mut row = Row::new();
        row.insert("Id".into(), Value::String(id.clone()));
        for f in &schema.fields {
            if f.defaulted_on_create && f.default_value.is_some() {
                row.insert(
                    f.name.clone(),
                    Value::String(f.default_value.clone().unwrap()),
                );
            } else if f.ftype == "boolean" {
                row.insert(f.name.clone(), Value::Bool(false));
            }
        }
        if schema.field("OwnerId").is_some() {
            row.insert("OwnerId".into(), Value::String(self.api_user.clone()));
        }
        for f in &schema.fields {
            if let Some(v) = f
                .default_formula
                .as_deref()
                .filter(|_| !given.contains_key(&f.name))
                .and_then(rules::formula_default)
            {
                row.insert(f.name.clone(), v);
            }
        }
        let record_type = if schema.field("RecordTypeId").is_some() {
            let given_rt = given.get("RecordTypeId").and_then(Value::as_str);
            rules::check_record_type(&schema, given_rt)?
        } else {
            None
        };
        if schema.name == "Case" && record_type.is_none() {
            row.insert("RecordTypeId".into(), CASE_DEFAULT_RECORD_TYPE.into());
        }
        if let Some(rt) = &record_type {
            row.insert("RecordTypeId".into(), Value::String(rt.clone()));
            self.check_record_type_values(&schema.name, rt, &given)?;
        }
        row.extend(given);
        rules::validation_rules(&schema.name, &row)?;
        rules::duplicate_rules(&schema.name, &row, self.rows(&schema.name))?;
        if schema.name == "Case" {
            row.insert(
                "CaseNumber".into(),
                Value::String(format!("{:08}", self.next_case_number)),
            );
            self.next_case_number += 1;
        }
        row.insert("CreatedDate".into(), Value::String(now.clone()));
        row.insert("LastModifiedDate".into(), Value::String(now));
        derive(&schema.name, &mut row);
        self.rows.entry(schema.name.clone()).or_default().push(row);
        Ok(id)
    }

    /// A restricted picklist only takes the values of the record's type.
    fn check_record_type_values(&self, object: &str, rt: &str, given: &Row) -> Result<(), SfError> {
        let Some(schema) = self.schema.object(object) else {
            return Ok(());
        };
        for (name, value) in given {
            let (Some(field), Some(v)) = (schema.field(name), value.as_str()) else {
                continue;
            };
            if !field.restricted_picklist {
                continue;
            }
            if let Some(allowed) = self.picklists.for_record_type(object, rt, &field.name) {
                if !allowed.values.iter().any(|a| a == v) {
                    return Err(SfError::new(
                        400,
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        format!(
                            "{}: bad value for restricted picklist field: {v}",
                            field.label
                        ),
                    )
                    .with_fields(vec![field.name.clone()]));
                }
            }
        }
        Ok(())
    }

    /// A Task whose WhoId is a Lead cannot have a WhatId, as in Salesforce.
    fn check_task_links(&self, object: &str, row: &Row) -> Result<(), SfError> {
        if object != "Task" {
            return Ok(());
        }
        let who_is_lead = row
            .get("WhoId")
            .and_then(Value::as_str)
            .and_then(|w| self.find(w))
            .is_some_and(|(obj, _)| obj == "Lead");
        let has_what = row
            .get("WhatId")
            .and_then(Value::as_str)
            .is_some_and(|w| !w.is_empty());
        if who_is_lead && has_what {
            return Err(SfError::new(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                "Related To ID: a task for a lead cannot be related to a record; leave Related To empty.",
            )
            .with_fields(vec!["WhatId".to_string()]));
        }
        Ok(())
    }

    /// Updates the given fields of a record.
    pub fn update(&mut self, object: &str, id: &str, body: &Value) -> Result<(), SfError> {
        let name = self
            .schema
            .object(object)
            .ok_or_else(SfError::not_found)?
            .name
            .clone();
        if self.get(&name, id).is_none() {
            return Err(SfError::not_found());
        }
        let given = self.check_fields(&name, body, false)?;
        if let Some(current) = self.get(&name, id) {
            let mut merged = current.clone();
            merged.extend(given.clone());
            self.check_task_links(&name, &merged)?;
        }
        let row = self
            .rows
            .get_mut(&name)
            .and_then(|rows| rows.iter_mut().find(|r| id_matches(r.get("Id"), id)))
            .ok_or_else(SfError::not_found)?;
        row.extend(given);
        row.insert("LastModifiedDate".into(), Value::String(now_stamp()));
        derive(&name, row);
        Ok(())
    }

    /// Deletes a record.
    pub fn delete(&mut self, object: &str, id: &str) -> Result<(), SfError> {
        let name = self
            .schema
            .object(object)
            .ok_or_else(SfError::not_found)?
            .name
            .clone();
        let rows = self.rows.get_mut(&name).ok_or_else(SfError::not_found)?;
        let before = rows.len();
        rows.retain(|r| !id_matches(r.get("Id"), id));
        if rows.len() == before {
            return Err(SfError::not_found());
        }
        Ok(())
    }
}

/// Compares a stored id with a 15- or 18-character id.
pub fn id_matches(stored: Option<&Value>, id: &str) -> bool {
    let Some(stored) = stored.and_then(Value::as_str) else {
        return false;
    };
    match id.len() {
        15 => stored.get(..15) == Some(id),
        _ => stored.eq_ignore_ascii_case(id) && stored.get(..15) == id.get(..15),
    }
}

/// Fields Salesforce computes: names, closed/converted flags.
fn derive(object: &str, row: &mut Row) {
    let s = |row: &Row, k: &str| row.get(k).and_then(Value::as_str).map(str::to_string);
    match object {
        "Contact" | "Lead" | "User" => {
            let name = [s(row, "FirstName"), s(row, "LastName")]
                .into_iter()
                .flatten()
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            row.insert("Name".into(), Value::String(name));
        }
        "Case" => {
            let closed = s(row, "Status").as_deref() == Some("Closed");
            row.insert("IsClosed".into(), Value::Bool(closed));
        }
        "Opportunity" => {
            let stage = s(row, "StageName").unwrap_or_default();
            row.insert("IsClosed".into(), Value::Bool(stage.starts_with("Closed")));
            row.insert("IsWon".into(), Value::Bool(stage == "Closed Won"));
        }
        "Task" => {
            let done = s(row, "Status").as_deref() == Some("Completed");
            row.insert("IsClosed".into(), Value::Bool(done));
        }
        _ => {}
    }
}
