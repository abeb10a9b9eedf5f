//! A multi-currency org: amounts are shown in each record's own currency.
//! The org is the sandbox's fixtures plus what Salesforce adds when
//! multi-currency is switched on (a `CurrencyType` object and a
//! `CurrencyIsoCode` field), built in a temporary directory.

use crate::common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};
use sf_inbox::store::Store;
use sf_sandbox::FakeOrg;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn edit_json(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

fn multi_currency_fixtures() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sf-inbox-multicurrency-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&fixtures(), &dir);
    let currency_field = json!({"name": "CurrencyIsoCode", "label": "Opportunity Currency", "type": "picklist",
        "length": 3, "nillable": true, "createable": true, "updateable": true, "defaultedOnCreate": true,
        "restrictedPicklist": true, "picklistValues": [
            {"active": true, "defaultValue": true, "label": "U.S. Dollar", "value": "USD", "validFor": null},
            {"active": true, "defaultValue": false, "label": "Euro", "value": "EUR", "validFor": null}]});
    edit_json(&dir.join("describe/Opportunity.json"), |d| {
        d["fields"].as_array_mut().unwrap().push(currency_field);
    });
    std::fs::write(
        dir.join("describe/CurrencyType.json"),
        serde_json::to_string_pretty(
            &json!({"name": "CurrencyType", "label": "Currency", "keyPrefix": "02c",
            "fields": [{"name": "Id", "type": "id", "nillable": false},
                       {"name": "IsoCode", "type": "picklist", "nillable": false},
                       {"name": "IsCorporate", "type": "boolean", "nillable": false}],
            "childRelationships": [], "recordTypeInfos": []}),
        )
        .unwrap(),
    )
    .unwrap();
    edit_json(&dir.join("org/Opportunity.json"), |rows| {
        for r in rows.as_array_mut().unwrap() {
            let eur = r["Name"]
                .as_str()
                .is_some_and(|n| n.contains("EU expansion"));
            r["CurrencyIsoCode"] = json!(if eur { "EUR" } else { "USD" });
        }
    });
    dir
}

/// Whether a query reads records' own currency (not the org default).
fn selects_record_currency(soql: &str) -> bool {
    soql.contains(", CurrencyIsoCode") || soql.contains("Opportunity.CurrencyIsoCode")
}

#[tokio::test]
async fn amounts_follow_each_records_currency() {
    let dir = multi_currency_fixtures();
    let org = FakeOrg::start("127.0.0.1:0".parse().unwrap(), &dir)
        .await
        .unwrap();
    let app = spawn_on(org, &[], Store::memory()).await;

    let hana = person("user", Some("hana@globex.example"), None);
    let first = app.initialize(&hana).await;
    assert!(texts(&first).contains("$120,000.00"), "{}", texts(&first));
    assert_eq!(
        app.org.api_calls(),
        2,
        "the first look at the org finds it multi-currency and asks again, with currencies"
    );
    let deals = app
        .submit(&submit_from(
            &hana,
            &first,
            "tab",
            json!({"tab": "tab_deals"}),
        ))
        .await;
    let eu = deals["canvas"]["content"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "list")
        .unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "Globex — EU expansion")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let switched = app
        .submit(&submit_from(&hana, &deals, &eu, json!({})))
        .await;
    assert!(
        texts(&switched).contains("€48,500.50"),
        "{}",
        texts(&switched)
    );

    // From then on, one round trip per cold render, asking for currencies.
    let before = app.org.api_calls();
    let stark = app
        .initialize(&person(
            "user",
            Some("tony@stark.example"),
            Some("Stark Industries"),
        ))
        .await;
    assert!(texts(&stark).contains("Stark Industries"));
    assert_eq!(app.org.api_calls(), before + 1);
    let last = app.org.requests().pop().unwrap();
    assert!(
        last.soql.iter().any(|q| selects_record_currency(q)),
        "{:#?}",
        last.soql
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_single_currency_org_is_asked_once_and_never_for_currency_fields() {
    let app = spawn().await;
    app.initialize(&person("user", Some("hana@globex.example"), None))
        .await;
    assert_eq!(app.org.api_calls(), 1);
    let soql: Vec<String> = app
        .org
        .requests()
        .into_iter()
        .flat_map(|r| r.soql)
        .collect();
    assert!(
        !soql.iter().any(|q| selects_record_currency(q)),
        "{soql:#?}"
    );
    let log = app.org.requests();
    let composite = log.iter().find(|r| r.path.ends_with("/composite")).unwrap();
    assert_eq!(
        composite.subrequests, 5,
        "4 queries + the CurrencyType probe on the first look"
    );
}
