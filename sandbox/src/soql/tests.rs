//! Parser and engine unit tests (the HTTP-level tests live in tests/sandbox_org.rs).

use std::path::Path;

use super::ast::{Cond, Literal};
use super::eval::like_for_tests;
use super::lexer::{lex, Tok};
use super::{parse, run};
use crate::store::Store;

fn store() -> Store {
    Store::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")).unwrap()
}

fn roundtrip(src: &str) {
    let once = parse(src).unwrap().to_string();
    let twice = parse(&once).unwrap().to_string();
    assert_eq!(once, twice, "{src}");
}

#[test]
fn parser_round_trips() {
    for src in [
        "SELECT Id FROM Contact",
        "SELECT Id, Owner.Name, (SELECT Id FROM Cases WHERE IsClosed = false ORDER BY CreatedDate DESC LIMIT 50) FROM Contact WHERE Email = 'a@b.c' ORDER BY LastModifiedDate DESC NULLS LAST LIMIT 10 OFFSET 5",
        r"SELECT Id FROM Lead WHERE Email = 'o\'brien@x.com' AND (Status != null OR NOT Name LIKE 'a\_b%')",
        "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE Email = 'x') AND Name NOT IN ('a', 'b')",
        "SELECT COUNT() FROM Case WHERE CreatedDate > 2026-11-23T22:38:03Z AND Amount >= 10.5",
        "select id from opportunity where closedate <= 2026-12-15",
    ] {
        roundtrip(src);
    }
    let printed = parse(r"SELECT Id FROM Lead WHERE Name LIKE '50\%_off\\'")
        .unwrap()
        .to_string();
    assert_eq!(printed, r"SELECT Id FROM Lead WHERE Name LIKE '50\%_off\\'");
}

#[test]
fn escapes_decode_to_one_literal() {
    let q = parse(r"SELECT Id FROM Contact WHERE Email = 'x\' OR Name != \''").unwrap();
    match q.filter.unwrap() {
        Cond::Cmp {
            value: Literal::Str(v, _),
            op,
            ..
        } => {
            assert_eq!(op, "=");
            assert_eq!(v, "x' OR Name != '");
        }
        other => panic!("{other:?}"),
    }
    let toks = lex(r#"'a\n\t\r\b\f\\\"'"#).unwrap();
    assert!(matches!(&toks[0].0, Tok::Str(v, _) if v == "a\n\t\r\u{8}\u{c}\\\""));
    let err = parse(r"SELECT Id FROM Contact WHERE Email = 'a\qb'").unwrap_err();
    assert!(err.message.contains("\\q"), "{}", err.message);
    assert!(parse("SELECT Id FROM Contact WHERE Email = 'open").is_err());
}

#[test]
fn syntax_errors() {
    let err = parse("SELECT Id FROM Contact WHERE A = 1 AND B = 2 OR C = 3").unwrap_err();
    assert_eq!(err.message, "unexpected token: 'OR'");
    assert_eq!(err.pos.col, 46);
    assert!(parse("SELECT FROM Contact").is_err());
    assert!(parse("SELECT Id FROM Contact WHERE").is_err());
    assert!(parse("SELECT Id FROM Contact LIMIT x").is_err());
    assert!(parse("SELECT Id FROM Contact extra").is_err());
    // Parenthesised mixing is fine.
    assert!(parse("SELECT Id FROM Contact WHERE A = 1 AND (B = 2 OR C = 3)").is_ok());
}

#[test]
fn like_patterns() {
    let pat = |s: &str| match lex(s).unwrap().remove(0).0 {
        Tok::Str(_, p) => p,
        other => panic!("{other:?}"),
    };
    assert!(like_for_tests("Globex Corporation", &pat("'glo%'")));
    assert!(like_for_tests("Globex", &pat("'G_obex'")));
    assert!(!like_for_tests("Gxobex", &pat("'G\\_obex'")));
    assert!(like_for_tests("100%", &pat("'100\\%'")));
    assert!(!like_for_tests("1000", &pat("'100\\%'")));
}

#[test]
fn engine_semantics() {
    let s = store();
    let v = "v62.0";
    let ids = |soql: &str| run(&s, soql, v).unwrap().total_size;
    assert_eq!(
        ids("SELECT Id FROM Contact WHERE Email = 'HANA@GLOBEX.EXAMPLE'"),
        1
    );
    assert_eq!(ids("SELECT Id FROM Contact WHERE Email LIKE '%globex%'"), 2);
    assert_eq!(ids("SELECT Id FROM Contact WHERE AccountId = null"), 1);
    assert_eq!(
        ids("SELECT Id FROM Contact WHERE Account.Owner.Name = 'maya patel'"),
        3
    );
    assert_eq!(
        ids("SELECT Id FROM Opportunity WHERE CloseDate > 2026-12-31"),
        3
    );
    assert_eq!(ids("SELECT Id FROM Opportunity WHERE Amount = null"), 1);
    assert_eq!(ids("SELECT Id FROM Opportunity WHERE Amount > 100000"), 2);
    assert_eq!(
        ids("SELECT Id FROM Case WHERE CreatedDate >= 2026-11-18T00:00:00Z"),
        2
    );
    assert_eq!(ids("SELECT Id FROM Lead WHERE NOT IsConverted = true"), 4);
    assert_eq!(
        ids(
            "SELECT Id FROM Lead WHERE Status NOT IN ('Working - Contacted', 'Closed - Converted')"
        ),
        2
    );
    assert_eq!(ids("SELECT Id FROM Contact LIMIT 3 OFFSET 6"), 2);
    let out = run(&s, "SELECT Name FROM Opportunity WHERE AccountId != null ORDER BY Amount DESC NULLS FIRST LIMIT 2", v).unwrap();
    assert_eq!(
        out.records[0].get("Name").unwrap(),
        &"Stark Industries — Pilot".into()
    );
    let out = run(
        &s,
        "SELECT Subject, Who.Name, Who.Type, What.Name FROM Task WHERE Subject LIKE 'Email:%'",
        v,
    )
    .unwrap();
    let rec = out.records[0].to_value();
    assert_eq!(rec["Who"]["attributes"]["type"], "Name");
    assert!(rec["Who"]["attributes"]["url"]
        .as_str()
        .unwrap()
        .contains("/sobjects/Lead/00Q"));
    assert_eq!(rec["Who"]["Type"], "Lead");
    assert_eq!(rec["What"], serde_json::Value::Null);
}

#[test]
fn validation_errors() {
    let s = store();
    let err = |soql: &str| run(&s, soql, "v62.0").unwrap_err();
    assert_eq!(err("SELECT Foo FROM Contact").code, "INVALID_FIELD");
    assert_eq!(err("SELECT Id FROM Nope").code, "INVALID_TYPE");
    assert_eq!(
        err("SELECT Id, (SELECT Id FROM Nopes) FROM Contact").code,
        "INVALID_TYPE"
    );
    assert_eq!(err("SELECT Bogus.Name FROM Contact").code, "INVALID_FIELD");
    assert_eq!(err("SELECT Owner.Bogus FROM Case").code, "INVALID_FIELD");
    let e = err("SELECT Id FROM Case WHERE IsClosed = 'false'");
    assert_eq!(e.code, "INVALID_FIELD");
    assert!(
        e.message.contains("must be of type boolean"),
        "{}",
        e.message
    );
    assert_eq!(
        err("SELECT Id FROM Contact WHERE Email = 5").code,
        "INVALID_FIELD"
    );
    assert_eq!(err("SELECT Id FROM Contact WHERE").code, "MALFORMED_QUERY");
    let e = err("SELECT Id FROM Contact\nWHERE Nope = 'x'");
    assert!(
        e.message
            .starts_with("\nWHERE Nope = 'x'\n      ^\nERROR at Row:2:Column:7\n"),
        "{:?}",
        e.message
    );
}
