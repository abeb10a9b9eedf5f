//! Validation (against the describe-derived schema) and evaluation of a parsed query.

use std::cmp::Ordering;

use serde_json::Value;

use super::ast::{Cond, FieldPath, Literal, Query, SelectItem};
use super::lexer::{parse_datetime, Pat, Pos};
use super::parser::parse;
use crate::error::SfError;
use crate::json::Json;
use crate::schema::{FieldDef, ObjectSchema, NAME_FIELDS};
use crate::store::{id_matches, Row, Store};

/// A query's full result (paging is the server's job).
#[derive(Clone, Debug)]
pub struct Outcome {
    pub total_size: usize,
    pub records: Vec<Json>,
}

/// Parses, validates and runs `soql`; `version` (e.g. `v62.0`) goes into `attributes.url`.
pub fn run(store: &Store, soql: &str, version: &str) -> Result<Outcome, SfError> {
    let query = parse(soql).map_err(|e| located(soql, e.pos, "MALFORMED_QUERY", &e.message))?;
    let ctx = Ctx {
        store,
        src: soql,
        version,
    };
    let object = ctx.object(&query.from, query.from_pos)?;
    ctx.validate(&query, object, false)?;
    let rows = ctx.select_rows(&query, object, store.rows(&object.name).iter().collect());
    if query
        .select
        .iter()
        .any(|s| matches!(s, SelectItem::CountAll))
    {
        return Ok(Outcome {
            total_size: rows.len(),
            records: Vec::new(),
        });
    }
    let records = rows
        .iter()
        .map(|row| ctx.render(&query, object, row))
        .collect();
    Ok(Outcome {
        total_size: rows.len(),
        records,
    })
}

/// The largest OFFSET Salesforce accepts.
pub const MAX_OFFSET: u64 = 2000;

/// 15 or 18 letters and digits: what Salesforce accepts as an id literal.
fn is_salesforce_id(v: &str) -> bool {
    matches!(v.len(), 15 | 18) && v.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Salesforce's located error message: the query line, a caret, the row/column and the text.
fn located(src: &str, pos: Pos, code: &str, text: &str) -> SfError {
    let line = src.lines().nth(pos.row.saturating_sub(1)).unwrap_or(src);
    let caret = " ".repeat(pos.col.saturating_sub(1));
    SfError::new(
        400,
        code,
        format!(
            "\n{line}\n{caret}^\nERROR at Row:{}:Column:{}\n{text}",
            pos.row, pos.col
        ),
    )
}

/// One hop through a parent relationship.
#[derive(Clone, Debug)]
struct Hop {
    fk: String,
    rel: String,
    /// `None` for polymorphic relationships (target decided by the id's prefix).
    target: Option<String>,
}

/// A resolved field path: the hops, then the canonical field name and its type.
#[derive(Clone, Debug)]
struct Resolved {
    hops: Vec<Hop>,
    field: String,
    ftype: String,
    filterable: bool,
    sortable: bool,
}

struct Ctx<'a> {
    store: &'a Store,
    src: &'a str,
    version: &'a str,
}

fn string_like(t: &str) -> bool {
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
    )
}

impl<'a> Ctx<'a> {
    fn object(&self, name: &str, pos: Pos) -> Result<&'a ObjectSchema, SfError> {
        self.store.schema.object(name).ok_or_else(|| {
            located(
                self.src,
                pos,
                "INVALID_TYPE",
                &format!("sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."),
            )
        })
    }

    fn resolve(&self, object: &ObjectSchema, path: &FieldPath) -> Result<Resolved, SfError> {
        let no_column = |name: &str, entity: &str| {
            located(
                self.src,
                path.pos,
                "INVALID_FIELD",
                &format!("No such column '{name}' on entity '{entity}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."),
            )
        };
        let bad_rel = |name: &str| {
            located(
                self.src,
                path.pos,
                "INVALID_FIELD",
                &format!("Didn't understand relationship '{name}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."),
            )
        };
        if path.parts.len() > 6 {
            return Err(located(
                self.src,
                path.pos,
                "MALFORMED_QUERY",
                "SOQL statements cannot query more than 5 levels of relationships",
            ));
        }
        // A leading "Contact." (the queried object's own name) is allowed and dropped.
        let mut parts: &[String] = &path.parts;
        if parts.len() > 1 && parts[0].eq_ignore_ascii_case(&object.name) {
            parts = &parts[1..];
        }
        let mut hops = Vec::new();
        let mut current: Option<&ObjectSchema> = Some(object);
        for rel in &parts[..parts.len() - 1] {
            let Some(obj) = current else {
                return Err(bad_rel(rel));
            };
            let Some(fk) = obj.parent_rel(rel) else {
                return Err(bad_rel(rel));
            };
            let target = if fk.polymorphic || fk.reference_to.len() != 1 {
                None
            } else {
                Some(fk.reference_to[0].clone())
            };
            current = match &target {
                Some(t) => Some(self.store.schema.object(t).ok_or_else(|| bad_rel(rel))?),
                None => None,
            };
            hops.push(Hop {
                fk: fk.name.clone(),
                rel: fk.relationship_name.clone().unwrap_or_default(),
                target,
            });
        }
        let last = &parts[parts.len() - 1];
        match current {
            Some(obj) => {
                let f: &FieldDef = obj.field(last).ok_or_else(|| no_column(last, &obj.name))?;
                Ok(Resolved {
                    hops,
                    field: f.name.clone(),
                    ftype: f.ftype.clone(),
                    filterable: f.filterable,
                    sortable: f.sortable,
                })
            }
            None => {
                let name = NAME_FIELDS
                    .iter()
                    .find(|n| n.eq_ignore_ascii_case(last))
                    .ok_or_else(|| no_column(last, "Name"))?;
                let ftype = match *name {
                    "IsActive" => "boolean",
                    "Id" => "id",
                    _ => "string",
                };
                Ok(Resolved {
                    hops,
                    field: name.to_string(),
                    ftype: ftype.to_string(),
                    filterable: true,
                    sortable: true,
                })
            }
        }
    }

    fn validate(&self, q: &Query, object: &ObjectSchema, child: bool) -> Result<(), SfError> {
        let count = q
            .select
            .iter()
            .filter(|s| matches!(s, SelectItem::CountAll))
            .count();
        if count > 0 && (q.select.len() > 1 || child) {
            return Err(located(
                self.src,
                q.from_pos,
                "MALFORMED_QUERY",
                "COUNT() must be the only element in the SELECT list.",
            ));
        }
        for item in &q.select {
            match item {
                SelectItem::Field(p) => {
                    self.resolve(object, p)?;
                }
                SelectItem::Subquery(sub) => {
                    if child {
                        return Err(located(
                            self.src,
                            sub.from_pos,
                            "MALFORMED_QUERY",
                            "Nesting of semi join sub-selects is not supported",
                        ));
                    }
                    let rel = object.child_rel(&sub.from).ok_or_else(|| {
                        located(
                            self.src,
                            sub.from_pos,
                            "INVALID_TYPE",
                            &format!("Didn't understand relationship '{}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", sub.from),
                        )
                    })?;
                    let child_obj = self.object(&rel.child, sub.from_pos)?;
                    self.validate(sub, child_obj, true)?;
                }
                SelectItem::CountAll => {}
            }
        }
        if let Some(c) = &q.filter {
            self.validate_cond(c, object)?;
        }
        for o in &q.order_by {
            let r = self.resolve(object, &o.path)?;
            if !r.sortable {
                return Err(located(
                    self.src,
                    o.path.pos,
                    "INVALID_FIELD",
                    &format!("field '{}' can not be sorted in a query call", r.field),
                ));
            }
        }
        if let Some(n) = q.offset.filter(|n| *n > MAX_OFFSET) {
            return Err(SfError::new(
                400,
                "NUMBER_OUTSIDE_VALID_RANGE",
                format!("Maximum SOQL offset allowed is {MAX_OFFSET}; {n} is too large"),
            ));
        }
        Ok(())
    }

    /// Resolves a path used in WHERE, refusing one the describe marks not filterable.
    fn resolve_filter(&self, object: &ObjectSchema, path: &FieldPath) -> Result<Resolved, SfError> {
        let r = self.resolve(object, path)?;
        if !r.filterable {
            return Err(located(
                self.src,
                path.pos,
                "INVALID_FIELD",
                &format!("field '{}' can not be filtered in a query call", r.field),
            ));
        }
        Ok(r)
    }

    fn validate_cond(&self, c: &Cond, object: &ObjectSchema) -> Result<(), SfError> {
        match c {
            Cond::And(items) | Cond::Or(items) => {
                for i in items {
                    self.validate_cond(i, object)?;
                }
                Ok(())
            }
            Cond::Not(inner) => self.validate_cond(inner, object),
            Cond::Cmp { path, value, .. } => {
                let r = self.resolve_filter(object, path)?;
                self.check_literal(&r, path, value)
            }
            Cond::Like { path, .. } => {
                let r = self.resolve_filter(object, path)?;
                if !string_like(&r.ftype) || r.ftype == "id" || r.ftype == "reference" {
                    return Err(located(
                        self.src,
                        path.pos,
                        "INVALID_FIELD",
                        &format!("invalid operator on {} field : {}", r.ftype, r.field),
                    ));
                }
                Ok(())
            }
            Cond::In { path, values, .. } => {
                let r = self.resolve_filter(object, path)?;
                for v in values {
                    self.check_literal(&r, path, v)?;
                }
                Ok(())
            }
            Cond::SemiJoin { path, query, .. } => {
                let r = self.resolve_filter(object, path)?;
                if !matches!(r.ftype.as_str(), "id" | "reference") {
                    return Err(located(
                        self.src,
                        path.pos,
                        "INVALID_FIELD",
                        &format!(
                            "The left operand field in the where expression for outer query should be an id field, cannot use: '{}'",
                            r.field
                        ),
                    ));
                }
                let inner = self.object(&query.from, query.from_pos)?;
                let ok_shape = query.select.len() == 1
                    && matches!(&query.select[0], SelectItem::Field(p) if p.parts.len() == 1);
                if !ok_shape {
                    return Err(located(
                        self.src,
                        query.from_pos,
                        "MALFORMED_QUERY",
                        "semi join sub-selects are only allowed to select a single Id or reference field",
                    ));
                }
                self.validate(query, inner, true)?;
                if let SelectItem::Field(p) = &query.select[0] {
                    let ir = self.resolve(inner, p)?;
                    if !matches!(ir.ftype.as_str(), "id" | "reference") {
                        return Err(located(
                            self.src,
                            p.pos,
                            "MALFORMED_QUERY",
                            "semi join sub-selects are only allowed to select a single Id or reference field",
                        ));
                    }
                }
                Ok(())
            }
        }
    }

    /// Salesforce refuses a literal of the wrong kind for the field's type.
    fn check_literal(&self, r: &Resolved, path: &FieldPath, lit: &Literal) -> Result<(), SfError> {
        let t = r.ftype.as_str();
        if let (Literal::Str(v, _), "id" | "reference") = (lit, t) {
            if !is_salesforce_id(v) {
                return Err(located(
                    self.src,
                    path.pos,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    &format!("invalid ID field: {v}"),
                ));
            }
        }
        let (ok, want) = match lit {
            Literal::Null => (true, ""),
            Literal::Str(..) => (string_like(t), ""),
            Literal::Bool(_) => (t == "boolean", "boolean"),
            Literal::Num(_) => (
                matches!(t, "int" | "double" | "currency" | "percent" | "long"),
                "",
            ),
            Literal::Date(_) => (t == "date", "date"),
            Literal::DateRange(_) => (matches!(t, "date" | "datetime"), "date"),
            Literal::DateTime(_) => (t == "datetime", "dateTime"),
        };
        if ok {
            return Ok(());
        }
        let expected = match t {
            "boolean" => "boolean",
            "date" => "date",
            "datetime" => "dateTime",
            "int" => "int",
            "double" | "currency" | "percent" | "long" => "double",
            _ => "string",
        };
        let quotes = if expected == "string" {
            "should be enclosed in quotes"
        } else {
            "should not be enclosed in quotes"
        };
        let _ = want;
        Err(located(
            self.src,
            path.pos,
            "INVALID_FIELD",
            &format!(
                "value of filter criterion for field '{}' must be of type {expected} and {quotes}",
                r.field
            ),
        ))
    }

    /// Follows the hops from `row`; `None` if a parent is missing. Returns the parent's object name.
    fn follow<'r>(&self, row: &'r Row, hops: &[Hop]) -> Option<(String, &'r Row)>
    where
        'a: 'r,
    {
        let mut current: &'r Row = row;
        let mut obj = String::new();
        for hop in hops {
            let id = current.get(&hop.fk)?.as_str()?;
            let (o, r) = match &hop.target {
                Some(t) => (t.clone(), self.store.get(t, id)?),
                None => {
                    let (o, r) = self.store.find(id)?;
                    (o.to_string(), r)
                }
            };
            obj = o;
            current = r;
        }
        Some((obj, current))
    }

    fn value(&self, row: &Row, r: &Resolved) -> Value {
        let Some((obj, target)) = self.follow(row, &r.hops) else {
            return Value::Null;
        };
        if r.field == "Type" && r.hops.last().is_some_and(|h| h.target.is_none()) {
            return Value::String(obj);
        }
        target.get(&r.field).cloned().unwrap_or(Value::Null)
    }

    fn path_value(&self, object: &ObjectSchema, row: &Row, path: &FieldPath) -> (Value, String) {
        match self.resolve(object, path) {
            Ok(r) => (self.value(row, &r), r.ftype),
            Err(_) => (Value::Null, String::new()),
        }
    }

    fn select_rows<'r>(&self, q: &Query, object: &ObjectSchema, rows: Vec<&'r Row>) -> Vec<&'r Row>
    where
        'a: 'r,
    {
        let mut out: Vec<&Row> = rows
            .into_iter()
            .filter(|row| {
                q.filter
                    .as_ref()
                    .is_none_or(|c| self.matches(c, object, row))
            })
            .collect();
        if !q.order_by.is_empty() {
            out.sort_by(|a, b| {
                for o in &q.order_by {
                    let (va, _) = self.path_value(object, a, &o.path);
                    let (vb, _) = self.path_value(object, b, &o.path);
                    let nulls_first = o.nulls_first.unwrap_or(!o.desc);
                    let ord = match (va.is_null(), vb.is_null()) {
                        (true, true) => Ordering::Equal,
                        (true, false) => {
                            if nulls_first {
                                Ordering::Less
                            } else {
                                Ordering::Greater
                            }
                        }
                        (false, true) => {
                            if nulls_first {
                                Ordering::Greater
                            } else {
                                Ordering::Less
                            }
                        }
                        (false, false) => {
                            let c = order_values(&va, &vb);
                            if o.desc {
                                c.reverse()
                            } else {
                                c
                            }
                        }
                    };
                    if ord != Ordering::Equal {
                        return ord;
                    }
                }
                Ordering::Equal
            });
        }
        let offset = q.offset.unwrap_or(0) as usize;
        let limit = q.limit.map(|l| l as usize).unwrap_or(usize::MAX);
        out.into_iter().skip(offset).take(limit).collect()
    }

    fn matches(&self, c: &Cond, object: &ObjectSchema, row: &Row) -> bool {
        match c {
            Cond::And(items) => items.iter().all(|i| self.matches(i, object, row)),
            Cond::Or(items) => items.iter().any(|i| self.matches(i, object, row)),
            Cond::Not(inner) => !self.matches(inner, object, row),
            Cond::Cmp { path, op, value } => {
                let (v, ftype) = self.path_value(object, row, path);
                compare_op(&v, &ftype, op, value)
            }
            Cond::Like { path, value } => {
                let (v, _) = self.path_value(object, row, path);
                match (v.as_str(), value) {
                    (Some(s), Literal::Str(_, pat)) => like(s, pat),
                    _ => false,
                }
            }
            Cond::In {
                path,
                negated,
                values,
            } => {
                let (v, ftype) = self.path_value(object, row, path);
                let found = values.iter().any(|lit| compare_op(&v, &ftype, "=", lit));
                if *negated {
                    !found
                } else {
                    found
                }
            }
            Cond::SemiJoin {
                path,
                negated,
                query,
            } => {
                let (v, _) = self.path_value(object, row, path);
                let Some(inner) = self.store.schema.object(&query.from) else {
                    return false;
                };
                let SelectItem::Field(p) = &query.select[0] else {
                    return false;
                };
                let inner_rows =
                    self.select_rows(query, inner, self.store.rows(&inner.name).iter().collect());
                let found = v.as_str().is_some_and(|id| {
                    inner_rows.iter().any(|r| {
                        let (iv, _) = self.path_value(inner, r, p);
                        id_matches(Some(&iv), id)
                    })
                });
                if *negated {
                    !found && !v.is_null()
                } else {
                    found
                }
            }
        }
    }

    fn render(&self, q: &Query, object: &ObjectSchema, row: &Row) -> Json {
        let id = row.get("Id").and_then(Value::as_str).unwrap_or_default();
        let mut out = Json::obj().with(
            "attributes",
            self.attributes(&object.name, &object.name, id),
        );
        for item in &q.select {
            match item {
                SelectItem::Field(p) => {
                    let Ok(r) = self.resolve(object, p) else {
                        continue;
                    };
                    self.render_path(&mut out, row, &r, 0);
                }
                SelectItem::Subquery(sub) => {
                    let Some(rel) = object.child_rel(&sub.from) else {
                        continue;
                    };
                    let Some(child) = self.store.schema.object(&rel.child) else {
                        continue;
                    };
                    let candidates: Vec<&Row> = self
                        .store
                        .rows(&child.name)
                        .iter()
                        .filter(|c| id_matches(c.get(&rel.field), id))
                        .collect();
                    let rows = self.select_rows(sub, child, candidates);
                    let value = if rows.is_empty() {
                        Json::Null
                    } else {
                        Json::obj()
                            .with("totalSize", rows.len())
                            .with("done", true)
                            .with(
                                "records",
                                Json::Arr(
                                    rows.iter().map(|c| self.render(sub, child, c)).collect(),
                                ),
                            )
                    };
                    out.insert(&rel.name, value);
                }
                SelectItem::CountAll => {}
            }
        }
        out
    }

    fn attributes(&self, type_name: &str, url_type: &str, id: &str) -> Json {
        Json::obj().with("type", type_name).with(
            "url",
            format!("/services/data/{}/sobjects/{url_type}/{id}", self.version),
        )
    }

    /// Writes one selected path into `out`, nesting parent objects (or `null`) on the way.
    fn render_path(&self, out: &mut Json, row: &Row, r: &Resolved, depth: usize) {
        if depth == r.hops.len() {
            let v = if r.field == "Type" && r.hops.last().is_some_and(|h| h.target.is_none()) {
                self.value(
                    row,
                    &Resolved {
                        hops: Vec::new(),
                        field: "Id".into(),
                        ftype: "id".into(),
                        filterable: true,
                        sortable: true,
                    },
                )
                .as_str()
                .and_then(|id| self.store.schema.object_for_id(id))
                .map(|o| Value::String(o.name.clone()))
                .unwrap_or(Value::Null)
            } else {
                row.get(&r.field).cloned().unwrap_or(Value::Null)
            };
            out.insert(&r.field, Json::from(v));
            return;
        }
        let hop = &r.hops[depth];
        if let Some(existing) = out.get_mut(&hop.rel) {
            if matches!(existing, Json::Null) {
                return;
            }
            if let Some((_, parent)) = self.follow(row, std::slice::from_ref(hop)) {
                self.render_path(existing, parent, r, depth + 1);
            }
            return;
        }
        match self.follow(row, std::slice::from_ref(hop)) {
            None => out.insert(&hop.rel, Json::Null),
            Some((obj, parent)) => {
                let pid = parent.get("Id").and_then(Value::as_str).unwrap_or_default();
                let type_name = if hop.target.is_none() {
                    "Name"
                } else {
                    obj.as_str()
                };
                let mut nested =
                    Json::obj().with("attributes", self.attributes(type_name, &obj, pid));
                self.render_path(&mut nested, parent, r, depth + 1);
                out.insert(&hop.rel, nested);
            }
        }
    }
}

/// Orders two non-null values: numbers numerically, strings case-insensitively, booleans false first.
fn order_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => match (parse_datetime(x), parse_datetime(y)) {
            (Some(dx), Some(dy)) => dx.cmp(&dy),
            _ => x.to_lowercase().cmp(&y.to_lowercase()),
        },
        _ => Ordering::Equal,
    }
}

/// Evaluates `value op literal` with Salesforce's semantics (case-insensitive text, nulls).
fn compare_op(v: &Value, ftype: &str, op: &str, lit: &Literal) -> bool {
    if matches!(lit, Literal::Null) {
        return match op {
            "=" => v.is_null(),
            "!=" => !v.is_null(),
            _ => false,
        };
    }
    if v.is_null() {
        return op == "!=";
    }
    if let (Value::String(s), Literal::DateRange(name)) = (v, lit) {
        let day = s
            .get(..10)
            .and_then(|p| chrono::NaiveDate::parse_from_str(p, "%Y-%m-%d").ok())
            .filter(|_| s.len() <= 10)
            .or_else(|| parse_datetime(s).map(|t| t.with_timezone(&chrono::Utc).date_naive()));
        let range = super::ast::date_range(name, chrono::Utc::now().date_naive());
        let (Some(day), Some((start, end))) = (day, range) else {
            return op == "!=";
        };
        let inside = start <= day && day < end;
        return match op {
            "=" => inside,
            "!=" => !inside,
            "<" => day < start,
            "<=" => day < end,
            ">" => day >= end,
            ">=" => day >= start,
            _ => false,
        };
    }
    let ord: Option<Ordering> = match (v, lit) {
        (Value::String(s), Literal::Str(l, _)) => {
            if matches!(ftype, "id" | "reference") && (l.len() == 15 || l.len() == 18) {
                Some(if id_matches(Some(v), l) {
                    Ordering::Equal
                } else {
                    s.cmp(l)
                })
            } else {
                Some(s.to_lowercase().cmp(&l.to_lowercase()))
            }
        }
        (Value::Number(n), Literal::Num(l)) => {
            let l: f64 = l.parse().unwrap_or(f64::NAN);
            n.as_f64().and_then(|n| n.partial_cmp(&l))
        }
        (Value::Bool(b), Literal::Bool(l)) => Some(b.cmp(l)),
        (Value::String(s), Literal::Date(d)) => s
            .get(..10)
            .and_then(|p| chrono::NaiveDate::parse_from_str(p, "%Y-%m-%d").ok())
            .map(|sd| sd.cmp(d)),
        (Value::String(s), Literal::DateTime(d)) => parse_datetime(s).map(|sd| sd.cmp(d)),
        _ => None,
    };
    let Some(ord) = ord else {
        return op == "!=";
    };
    match op {
        "=" => ord == Ordering::Equal,
        "!=" => ord != Ordering::Equal,
        "<" => ord == Ordering::Less,
        "<=" => ord != Ordering::Greater,
        ">" => ord == Ordering::Greater,
        ">=" => ord != Ordering::Less,
        _ => false,
    }
}

/// Case-insensitive LIKE matching over a decoded pattern.
fn like(s: &str, pat: &[Pat]) -> bool {
    let text: Vec<char> = s.to_lowercase().chars().collect();
    let pat: Vec<Pat> = pat
        .iter()
        .map(|p| match p {
            Pat::Char(c) => Pat::Char(c.to_lowercase().next().unwrap_or(*c)),
            other => other.clone(),
        })
        .collect();
    // Classic DP over (text position, pattern position).
    let (n, m) = (text.len(), pat.len());
    let mut dp = vec![vec![false; m + 1]; n + 1];
    dp[0][0] = true;
    for j in 1..=m {
        dp[0][j] = dp[0][j - 1] && pat[j - 1] == Pat::AnyMany;
    }
    for i in 1..=n {
        for j in 1..=m {
            dp[i][j] = match &pat[j - 1] {
                Pat::AnyMany => dp[i][j - 1] || dp[i - 1][j],
                Pat::AnyOne => dp[i - 1][j - 1],
                Pat::Char(c) => dp[i - 1][j - 1] && text[i - 1] == *c,
            };
        }
    }
    dp[n][m]
}

#[cfg(test)]
pub(super) fn like_for_tests(s: &str, pat: &[Pat]) -> bool {
    like(s, pat)
}
