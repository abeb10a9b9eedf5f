//! A small typed SOQL builder.
//!
//! Queries are values, not format strings: field and object names are fixed
//! identifiers chosen by the code, and every value that came from outside
//! (an email, a company name) is a [`Literal`] that is quoted and escaped by
//! the SOQL rules when the query is written out. There is no way to splice
//! raw text into a WHERE clause.

use std::borrow::Cow;
use std::fmt::Write;

use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Bool(bool),
    Int(i64),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    Null,
}

impl From<&str> for Literal {
    fn from(s: &str) -> Self {
        Literal::Str(s.to_string())
    }
}
impl From<String> for Literal {
    fn from(s: String) -> Self {
        Literal::Str(s)
    }
}
impl From<bool> for Literal {
    fn from(b: bool) -> Self {
        Literal::Bool(b)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Eq(&'static str, Literal),
    Ne(&'static str, Literal),
    /// `field >= value`
    Ge(&'static str, Literal),
    In(&'static str, Vec<Literal>),
    /// Semi-join: `field IN (SELECT ...)`.
    InSelect(&'static str, Box<Select>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    from: &'static str,
    fields: Vec<Cow<'static, str>>,
    children: Vec<Select>,
    filter: Option<Cond>,
    order: Vec<(&'static str, Dir)>,
    limit: Option<u32>,
}

/// Starts `SELECT fields FROM object`.
pub fn select(fields: &[&'static str], from: &'static str) -> Select {
    for f in fields.iter().chain(std::iter::once(&from)) {
        assert!(is_identifier(f), "not a SOQL identifier: {f:?}");
    }
    Select {
        from,
        fields: fields.iter().map(|f| Cow::Borrowed(*f)).collect(),
        children: Vec::new(),
        filter: None,
        order: Vec::new(),
        limit: None,
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// A field's API name chosen at run time (a workspace's panel fields): a
/// plain identifier (`Title`, `Shoe_Size__c`), no relationship path, no
/// spaces, so it can only ever name a field. Names come from the org's
/// describe (the console checks them against it when saved).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldName(String);

impl FieldName {
    /// `None` unless `name` is a plain field identifier (at most 80
    /// characters, Salesforce's API-name limit with a namespace).
    pub fn new(name: &str) -> Option<FieldName> {
        let name = name.trim();
        (name.len() <= 80 && !name.contains('.') && is_identifier(name))
            .then(|| FieldName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for FieldName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Select {
    /// Adds `relationship.field` for each of `fields` not selected yet
    /// (`relationship` is the code's, e.g. `Opportunity` on a contact role;
    /// the fields are identifiers, so nothing typed changes the query).
    pub fn also_through(mut self, relationship: &'static str, fields: &[FieldName]) -> Self {
        for f in fields {
            let path = format!("{relationship}.{}", f.as_str());
            if !self
                .fields
                .iter()
                .any(|have| have.eq_ignore_ascii_case(&path))
            {
                self.fields.push(Cow::Owned(path));
            }
        }
        self
    }

    /// Adds `fields` the query does not select yet (SOQL refuses a field
    /// selected twice, whatever its case).
    pub fn also(mut self, fields: &[FieldName]) -> Self {
        for f in fields {
            if !self
                .fields
                .iter()
                .any(|have| have.eq_ignore_ascii_case(f.as_str()))
            {
                self.fields.push(Cow::Owned(f.0.clone()));
            }
        }
        self
    }

    /// Adds a child subquery, e.g. `(SELECT ... FROM Cases)`.
    pub fn child(mut self, sub: Select) -> Self {
        self.children.push(sub);
        self
    }

    pub fn filter(mut self, cond: Cond) -> Self {
        self.filter = Some(cond);
        self
    }

    pub fn order_by(mut self, field: &'static str, dir: Dir) -> Self {
        assert!(is_identifier(field), "not a SOQL identifier: {field:?}");
        self.order.push((field, dir));
        self
    }

    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    pub fn to_soql(&self) -> String {
        let mut out = String::with_capacity(256);
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        out.push_str("SELECT ");
        let mut first = true;
        for f in &self.fields {
            if !first {
                out.push_str(", ");
            }
            first = false;
            out.push_str(f);
        }
        for c in &self.children {
            if !first {
                out.push_str(", ");
            }
            first = false;
            out.push('(');
            c.write(out);
            out.push(')');
        }
        out.push_str(" FROM ");
        out.push_str(self.from);
        if let Some(cond) = &self.filter {
            out.push_str(" WHERE ");
            cond.write(out);
        }
        if !self.order.is_empty() {
            out.push_str(" ORDER BY ");
            for (i, (f, d)) in self.order.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(f);
                out.push_str(match d {
                    Dir::Asc => " ASC",
                    Dir::Desc => " DESC",
                });
            }
        }
        if let Some(n) = self.limit {
            let _ = write!(out, " LIMIT {n}");
        }
    }
}

impl Cond {
    pub fn eq(field: &'static str, value: impl Into<Literal>) -> Cond {
        assert!(is_identifier(field), "not a SOQL identifier: {field:?}");
        Cond::Eq(field, value.into())
    }

    fn write(&self, out: &mut String) {
        match self {
            Cond::Eq(f, v) => {
                out.push_str(f);
                out.push_str(" = ");
                v.write(out);
            }
            Cond::Ne(f, v) => {
                out.push_str(f);
                out.push_str(" != ");
                v.write(out);
            }
            Cond::Ge(f, v) => {
                out.push_str(f);
                out.push_str(" >= ");
                v.write(out);
            }
            Cond::In(f, vs) => {
                out.push_str(f);
                out.push_str(" IN (");
                for (i, v) in vs.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write(out);
                }
                out.push(')');
            }
            Cond::InSelect(f, sub) => {
                out.push_str(f);
                out.push_str(" IN (");
                sub.write(out);
                out.push(')');
            }
            Cond::And(cs) => join(out, cs, " AND "),
            Cond::Or(cs) => join(out, cs, " OR "),
        }
    }
}

fn join(out: &mut String, cs: &[Cond], sep: &str) {
    out.push('(');
    for (i, c) in cs.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        c.write(out);
    }
    out.push(')');
}

impl Literal {
    fn write(&self, out: &mut String) {
        match self {
            Literal::Str(s) => out.push_str(&quote(s)),
            Literal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Literal::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Literal::Date(d) => {
                let _ = write!(out, "{}", d.format("%Y-%m-%d"));
            }
            Literal::DateTime(t) => {
                let _ = write!(out, "{}", t.format("%Y-%m-%dT%H:%M:%SZ"));
            }
            Literal::Null => out.push_str("null"),
        }
    }
}

/// Quotes a string literal by the SOQL rules: `'` `"` `\` and the control
/// characters SOQL names are backslash-escaped, and every other control
/// character and the line and paragraph separators (U+2028, U+2029) are
/// written as SOQL's `\uXXXX` escape. Nothing is dropped: the literal
/// always stands for exactly the string given (an email with a control
/// character in it finds nobody rather than somebody else), and no
/// character can end the literal or the line early.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if needs_unicode_escape(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Characters written as `\uXXXX` (all are in the BMP, so one code unit).
fn needs_unicode_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}')
}

/// Reverses [`quote`] (used by tests to prove the escaping round-trips).
pub fn unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(match chars.next()? {
                '\'' => '\'',
                '"' => '"',
                '\\' => '\\',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'b' => '\u{8}',
                'f' => '\u{c}',
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                }
                _ => return None,
            }),
            '\'' => return None, // an unescaped quote would end the literal early
            c if needs_unicode_escape(c) => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn builds_relationship_and_child_queries() {
        let q = select(&["Id", "Name", "Owner.Name"], "Contact")
            .child(
                select(&["CaseNumber"], "Cases")
                    .filter(Cond::eq("IsClosed", false))
                    .limit(50),
            )
            .filter(Cond::eq("Email", "o'brien@x.com"))
            .order_by("LastModifiedDate", Dir::Desc)
            .limit(10);
        assert_eq!(
            q.to_soql(),
            "SELECT Id, Name, Owner.Name, (SELECT CaseNumber FROM Cases WHERE IsClosed = false LIMIT 50) \
             FROM Contact WHERE Email = 'o\\'brien@x.com' ORDER BY LastModifiedDate DESC LIMIT 10"
        );
    }

    #[test]
    fn semi_join_and_in_lists() {
        let q = select(&["Id"], "Account").filter(Cond::Or(vec![
            Cond::InSelect(
                "Id",
                Box::new(select(&["AccountId"], "Contact").filter(Cond::eq("Email", "a@b.c"))),
            ),
            Cond::In("Name", vec!["Globex".into(), "O'Brien & Sons".into()]),
        ]));
        assert_eq!(
            q.to_soql(),
            "SELECT Id FROM Account WHERE (Id IN (SELECT AccountId FROM Contact WHERE Email = 'a@b.c') \
             OR Name IN ('Globex', 'O\\'Brien & Sons'))"
        );
    }

    #[test]
    fn injection_attempt_stays_one_literal() {
        assert_eq!(quote("x' OR Name != '"), "'x\\' OR Name != \\''");
        assert_eq!(quote("x\\' OR Name != '"), "'x\\\\\\' OR Name != \\''");
        assert_eq!(quote("a\nb\t\"c\""), "'a\\nb\\t\\\"c\\\"'");
    }

    #[test]
    fn run_time_field_names_are_plain_identifiers_added_once() {
        assert!(FieldName::new("Shoe_Size__c").is_some());
        for bad in [
            "Id FROM User --",
            "Owner.Email",
            "a,b",
            "",
            "(SELECT Id FROM Cases)",
            "x'",
        ] {
            assert_eq!(FieldName::new(bad), None, "{bad:?}");
        }
        let q = select(&["Id", "Title"], "Contact")
            .also(&[
                FieldName::new("title").unwrap(),
                FieldName::new("Department").unwrap(),
            ])
            .limit(1);
        assert_eq!(
            q.to_soql(),
            "SELECT Id, Title, Department FROM Contact LIMIT 1"
        );
    }

    #[test]
    #[should_panic(expected = "not a SOQL identifier")]
    fn refuses_non_identifier_fields() {
        let _ = select(&["Id FROM User --"], "Contact");
    }

    proptest! {
        #[test]
        fn any_string_round_trips_through_quote(s in any::<String>()) {
            let quoted = quote(&s);
            prop_assert_eq!(unquote(&quoted), Some(s));
        }

        #[test]
        fn quoted_literal_never_contains_an_unescaped_quote(s in "[\\\\'\"a-z \n]{0,40}") {
            let quoted = quote(&s);
            let inner = &quoted[1..quoted.len() - 1];
            let mut escaped = false;
            for c in inner.chars() {
                if escaped { escaped = false; continue; }
                if c == '\\' { escaped = true; continue; }
                prop_assert_ne!(c, '\'');
            }
            prop_assert!(!escaped, "literal ends in a dangling backslash");
        }
    }
}
