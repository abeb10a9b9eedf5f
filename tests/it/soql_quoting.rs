//! Quoting, proven through the sandbox's own SOQL parser and engine: any
//! string the app quotes comes back out of the parser as exactly that
//! string, in one literal, in one condition; no control character or line
//! separator changes the query or what it finds.

use proptest::prelude::*;
use sf_inbox::salesforce::soql::{select, Cond};
use sf_sandbox::soql::ast::{Cond as SbCond, Literal as SbLiteral};
use sf_sandbox::store::Store;

use crate::common::fixtures;

/// The literal the sandbox parsed out of `Email = <s>`, and the number of
/// conditions it saw.
fn parsed_literal(s: &str) -> Result<String, String> {
    let soql = select(&["Id", "Email"], "Contact")
        .filter(Cond::eq("Email", s))
        .limit(5)
        .to_soql();
    let q = sf_sandbox::soql::parse(&soql).map_err(|e| format!("{soql:?}: {}", e.message))?;
    match q.filter {
        Some(SbCond::Cmp {
            path,
            op: "=",
            value: SbLiteral::Str(v, _),
        }) if path.parts == ["Email"] => {
            if q.limit != Some(5) {
                return Err(format!("the LIMIT changed: {soql:?}"));
            }
            Ok(v)
        }
        other => Err(format!("{soql:?} parsed as {other:?}")),
    }
}

/// Characters that broke or bent the old quoting, mixed with ordinary ones.
fn nasty() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        Just('\''),
        Just('"'),
        Just('\\'),
        Just('%'),
        Just('_'),
        Just('\u{2028}'),
        Just('\u{2029}'),
        Just('\u{85}'),
        Just('\u{0}'),
        Just('\u{1}'),
        Just('\u{1b}'),
        Just('\u{7f}'),
        Just('\n'),
        Just('\r'),
        Just('\t'),
        Just('\u{8}'),
        Just('\u{c}'),
        Just('é'),
        Just('😀'),
        proptest::char::range('a', 'z'),
        proptest::char::range('\u{0}', '\u{ff}'),
    ];
    proptest::collection::vec(ch, 0..40).prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn every_string_round_trips_through_the_sandbox_parser(s in any::<String>()) {
        prop_assert_eq!(parsed_literal(&s), Ok(s.clone()));
    }

    #[test]
    fn control_characters_and_separators_never_change_the_query(s in nasty()) {
        prop_assert_eq!(parsed_literal(&s), Ok(s.clone()));
    }
}

#[test]
fn a_control_character_in_an_email_finds_nobody_else() {
    let store = Store::load(&fixtures()).unwrap();
    let run = |email: &str| {
        let soql = select(&["Id"], "Contact")
            .filter(Cond::eq("Email", email))
            .to_soql();
        sf_sandbox::soql::run(&store, &soql, "v67.0")
            .unwrap_or_else(|e| panic!("{soql:?}: {e:?}"))
            .total_size
    };
    assert_eq!(run("hana@globex.example"), 1, "the fixture has Hana");
    for bent in [
        "hana@globex.ex\u{1}ample",
        "hana@globex.example\u{0}",
        "hana@globex.ex\u{2028}ample",
        "hana@globex.ex\u{2029}ample",
        "\u{7f}hana@globex.example",
    ] {
        assert_eq!(run(bent), 0, "{bent:?} is not Hana's email");
    }
}
