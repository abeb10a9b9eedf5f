//! The SOQL syntax tree, with a `Display` that prints canonical SOQL (so parses round-trip).

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate};

use super::lexer::{Pat, Pos};

/// A dotted field path (`Account.Owner.Name`) and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldPath {
    pub parts: Vec<String>,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SelectItem {
    Field(FieldPath),
    Subquery(Box<Query>),
    CountAll,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Str(String, Vec<Pat>),
    Num(String),
    Bool(bool),
    Null,
    Date(NaiveDate),
    DateTime(DateTime<FixedOffset>),
    /// A relative date literal (`TODAY`, `LAST_N_DAYS:30`), upper-cased.
    DateRange(String),
}

/// The days a date literal covers, as `[start, end)` in UTC, relative to `today`; `None`
/// for a name SOQL does not have (or this sandbox does not support).
pub fn date_range(name: &str, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let day = chrono::Days::new(1);
    let name = name.to_ascii_uppercase();
    let counted = |prefix: &str| -> Option<u64> { name.strip_prefix(prefix)?.parse().ok() };
    match name.as_str() {
        "TODAY" => Some((today, today + day)),
        "YESTERDAY" => Some((today - day, today)),
        "TOMORROW" => Some((today + day, today + day + day)),
        _ => {
            if let Some(n) = counted("LAST_N_DAYS:") {
                // Today and the n days before it.
                Some((today - chrono::Days::new(n), today + day))
            } else {
                // From tomorrow, n days.
                counted("NEXT_N_DAYS:").map(|n| (today + day, today + day + chrono::Days::new(n)))
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp {
        path: FieldPath,
        op: &'static str,
        value: Literal,
    },
    Like {
        path: FieldPath,
        value: Literal,
    },
    In {
        path: FieldPath,
        negated: bool,
        values: Vec<Literal>,
    },
    SemiJoin {
        path: FieldPath,
        negated: bool,
        query: Box<Query>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct OrderItem {
    pub path: FieldPath,
    pub desc: bool,
    /// `Some(true)` = NULLS FIRST, `Some(false)` = NULLS LAST, `None` = default.
    pub nulls_first: Option<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: String,
    pub from_pos: Pos,
    pub filter: Option<Cond>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.parts.join("."))
    }
}

/// Escapes a decoded string back into a SOQL literal body.
fn escape(value: &str, pat: &[Pat]) -> String {
    let mut out = String::new();
    let chars: Vec<char> = value.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let literal_wild = matches!(pat.get(i), Some(Pat::Char('%' | '_')));
        match c {
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '%' | '_' if literal_wild => {
                out.push('\\');
                out.push(*c);
            }
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04x}", *c as u32));
            }
            other => out.push(*other),
        }
    }
    out
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(v, p) => write!(f, "'{}'", escape(v, p)),
            Literal::Num(n) => write!(f, "{n}"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Null => write!(f, "null"),
            Literal::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Literal::DateRange(name) => write!(f, "{name}"),
            Literal::DateTime(d) => write!(f, "{}", d.format("%Y-%m-%dT%H:%M:%S%.3f%:z")),
        }
    }
}

impl fmt::Display for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, items: &[Cond], sep: &str| -> fmt::Result {
            for (i, c) in items.iter().enumerate() {
                if i > 0 {
                    write!(f, " {sep} ")?;
                }
                match c {
                    Cond::And(_) | Cond::Or(_) => write!(f, "({c})")?,
                    _ => write!(f, "{c}")?,
                }
            }
            Ok(())
        };
        match self {
            Cond::And(items) => join(f, items, "AND"),
            Cond::Or(items) => join(f, items, "OR"),
            Cond::Not(inner) => write!(f, "NOT ({inner})"),
            Cond::Cmp { path, op, value } => write!(f, "{path} {op} {value}"),
            Cond::Like { path, value } => write!(f, "{path} LIKE {value}"),
            Cond::In {
                path,
                negated,
                values,
            } => {
                let list: Vec<String> = values.iter().map(ToString::to_string).collect();
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{path} {not}IN ({})", list.join(", "))
            }
            Cond::SemiJoin {
                path,
                negated,
                query,
            } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{path} {not}IN ({query})")
            }
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self
            .select
            .iter()
            .map(|s| match s {
                SelectItem::Field(p) => p.to_string(),
                SelectItem::Subquery(q) => format!("({q})"),
                SelectItem::CountAll => "COUNT()".to_string(),
            })
            .collect();
        write!(f, "SELECT {} FROM {}", items.join(", "), self.from)?;
        if let Some(c) = &self.filter {
            write!(f, " WHERE {c}")?;
        }
        if !self.order_by.is_empty() {
            let items: Vec<String> = self
                .order_by
                .iter()
                .map(|o| {
                    let mut s = format!("{} {}", o.path, if o.desc { "DESC" } else { "ASC" });
                    match o.nulls_first {
                        Some(true) => s.push_str(" NULLS FIRST"),
                        Some(false) => s.push_str(" NULLS LAST"),
                        None => {}
                    }
                    s
                })
                .collect();
            write!(f, " ORDER BY {}", items.join(", "))?;
        }
        if let Some(n) = self.limit {
            write!(f, " LIMIT {n}")?;
        }
        if let Some(n) = self.offset {
            write!(f, " OFFSET {n}")?;
        }
        Ok(())
    }
}
