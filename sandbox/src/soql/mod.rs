//! A small SOQL engine: parse the queries the app sends and evaluate them over the sandbox's
//! in-memory rows, with Salesforce's result shapes and error messages, so that client bugs
//! (bad field names, broken escaping, injection) fail here the way they would against a real org.
//!
//! Supported: field lists with parent paths (up to 5 levels, polymorphic parents typed `"Name"`),
//! child subqueries by relationship name, `COUNT()`, WHERE with `= != < <= > >= LIKE IN NOT IN`,
//! semi-joins, `AND`/`OR`/`NOT`/parentheses, ORDER BY (ASC/DESC, NULLS FIRST/LAST), LIMIT, OFFSET
//! (at most 2000), the date literals `TODAY`, `YESTERDAY`, `TOMORROW`, `LAST_N_DAYS:n` and
//! `NEXT_N_DAYS:n` (UTC days), `\uXXXX` escapes. Refused as Salesforce refuses them: a filter or
//! sort on a field the describe marks not filterable / sortable, an id field compared with text
//! that is not an id.
//! Not supported: aggregates other than `COUNT()`, GROUP BY, other date literals, TYPEOF.

pub mod ast;
mod eval;
pub mod lexer;
pub mod parser;

pub use eval::{run, Outcome};
pub use parser::parse;

#[cfg(test)]
mod tests;
