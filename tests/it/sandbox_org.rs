//! The sandbox org over real HTTP: token rules, query shapes, escaping, paging, composite,
//! create validation, faults and the request log.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sf_sandbox::{
    FakeOrg, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_ORG_ID, SANDBOX_REFRESH_TOKEN,
};

const V: &str = "v62.0";

async fn org() -> FakeOrg {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    FakeOrg::start(addr, Path::new("fixtures")).await.unwrap()
}

fn client() -> reqwest::Client {
    // The crate builds reqwest without a default TLS provider; plain http still needs one set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn refresh(org: &FakeOrg, refresh_token: &str) -> (u16, Value) {
    let resp = client()
        .post(format!("{}/services/oauth2/token", org.url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", SANDBOX_CLIENT_ID),
            ("client_secret", SANDBOX_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn access_token(org: &FakeOrg) -> String {
    let (status, body) = refresh(org, SANDBOX_REFRESH_TOKEN).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn query_raw(org: &FakeOrg, token: &str, soql: &str) -> (u16, Value) {
    let resp = client()
        .get(format!("{}/services/data/{V}/query", org.url()))
        .query(&[("q", soql)])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn query(org: &FakeOrg, token: &str, soql: &str) -> Value {
    let (status, body) = query_raw(org, token, soql).await;
    assert_eq!(status, 200, "{soql}: {body}");
    body
}

#[tokio::test]
async fn token_grant_shape_and_rotation() {
    let org = org().await;
    let (status, body) = refresh(&org, SANDBOX_REFRESH_TOKEN).await;
    assert_eq!(status, 200);
    let access = body["access_token"].as_str().unwrap();
    assert!(access.starts_with("00D5e000000SbxA!"), "{access}");
    assert_eq!(body["instance_url"], org.url());
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "api refresh_token");
    assert!(body["id"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/id/{SANDBOX_ORG_ID}/005", org.url())));
    assert!(body["issued_at"].as_str().unwrap().parse::<u64>().unwrap() > 1_700_000_000_000);
    assert!(body["signature"].as_str().unwrap().ends_with('='));
    let rotated = body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rotated, SANDBOX_REFRESH_TOKEN);

    // The new refresh token works and rotates again.
    let (status, second) = refresh(&org, &rotated).await;
    assert_eq!(status, 200);
    let newest = second["refresh_token"].as_str().unwrap().to_string();
    let live_access = second["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        query_raw(&org, &live_access, "SELECT Id FROM User").await.0,
        200
    );

    // Reusing a rotated-away token revokes the whole family.
    let (status, err) = refresh(&org, &rotated).await;
    assert_eq!(status, 400);
    assert_eq!(
        err,
        json!({"error":"invalid_grant","error_description":"expired access/refresh token"})
    );
    assert_eq!(refresh(&org, &newest).await.0, 400);
    assert_eq!(
        query_raw(&org, &live_access, "SELECT Id FROM User").await.0,
        401
    );
    assert_eq!(org.token_requests(), 4);
}

#[tokio::test]
async fn token_errors() {
    let org = org().await;
    let resp = client()
        .post(format!("{}/services/oauth2/token", org.url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", SANDBOX_REFRESH_TOKEN),
            ("client_id", "nope"),
            ("client_secret", SANDBOX_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    let resp = client()
        .post(format!("{}/services/oauth2/token", org.url()))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
    assert_eq!(refresh(&org, "made-up").await.0, 400);
    // Rotation off: no refresh_token in the answer, the same one keeps working.
    org.switches().set_rotation(false);
    let (_, a) = refresh(&org, SANDBOX_REFRESH_TOKEN).await;
    assert!(a.get("refresh_token").is_none());
    assert_eq!(refresh(&org, SANDBOX_REFRESH_TOKEN).await.0, 200);
    // Revoked: invalid_grant.
    org.switches().revoke_refresh_tokens();
    let (status, body) = refresh(&org, SANDBOX_REFRESH_TOKEN).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_description"], "expired access/refresh token");
    // reset() reconnects the sandbox token.
    org.switches().reset();
    assert_eq!(refresh(&org, SANDBOX_REFRESH_TOKEN).await.0, 200);
}

#[tokio::test]
async fn concurrent_refresh_is_refused() {
    let org = org().await;
    org.switches().set_latency(Duration::from_millis(300));
    let (a, b) = tokio::join!(refresh(&org, SANDBOX_REFRESH_TOKEN), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        refresh(&org, SANDBOX_REFRESH_TOKEN).await
    });
    assert_eq!(a.0, 200, "{}", a.1);
    assert_eq!(b.0, 400);
    assert_eq!(
        b.1,
        json!({"error":"invalid_grant","error_description":"token request is already being processed"})
    );
}

#[tokio::test]
async fn unauthorized_and_expired() {
    let org = org().await;
    let resp = client()
        .get(format!(
            "{}/services/data/{V}/query?q=SELECT+Id+FROM+User",
            org.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().get("sforce-limit-info").is_some());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])
    );
    let token = access_token(&org).await;
    assert_eq!(query_raw(&org, &token, "SELECT Id FROM User").await.0, 200);
    org.switches().expire_access_tokens();
    let (status, body) = query_raw(&org, &token, "SELECT Id FROM User").await;
    assert_eq!(status, 401);
    assert_eq!(body[0]["errorCode"], "INVALID_SESSION_ID");
}

const CONTACT_SOQL: &str = "SELECT Id, Name, FirstName, LastName, Email, Phone, Title, OwnerId, Owner.Name, Owner.Email, AccountId, Account.Name, Account.Website, Account.BillingCountry, Account.Owner.Name, (SELECT Id, CaseNumber, Subject, Status, Priority, CreatedDate FROM Cases WHERE IsClosed = false ORDER BY CreatedDate DESC LIMIT 50), (SELECT Id, Role, IsPrimary, OpportunityId, Opportunity.Name, Opportunity.StageName, Opportunity.CloseDate, Opportunity.Amount, Opportunity.IsClosed, Opportunity.Owner.Name FROM OpportunityContactRoles ORDER BY IsPrimary DESC LIMIT 20) FROM Contact WHERE Email = 'hana@globex.example' ORDER BY LastModifiedDate DESC LIMIT 10";

#[tokio::test]
async fn contact_query_shape() {
    let org = org().await;
    let token = access_token(&org).await;
    let body = query(&org, &token, CONTACT_SOQL).await;
    assert_eq!(body["totalSize"], 1);
    assert_eq!(body["done"], true);
    let hana = &body["records"][0];
    assert_eq!(hana["attributes"]["type"], "Contact");
    assert_eq!(
        hana["attributes"]["url"],
        format!(
            "/services/data/{V}/sobjects/Contact/{}",
            hana["Id"].as_str().unwrap()
        )
    );
    assert_eq!(hana["Name"], "Hana Okafor");
    assert_eq!(hana["Email"], "Hana@Globex.example");
    assert_eq!(hana["Title"], "VP Operations");
    assert_eq!(hana["Owner"]["attributes"]["type"], "User");
    assert_eq!(hana["Owner"]["Name"], "Dev Singh");
    assert_eq!(hana["Owner"]["Email"], "dev.singh@acme-sales.example");
    assert_eq!(hana["Account"]["Name"], "Globex Corporation");
    assert_eq!(hana["Account"]["Website"], "https://www.globex.example");
    assert_eq!(hana["Account"]["Owner"]["Name"], "Maya Patel");
    let cases = &hana["Cases"];
    assert_eq!(cases["totalSize"], 3);
    assert_eq!(cases["done"], true);
    let numbers: Vec<&str> = cases["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["CaseNumber"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["00001001", "00001002", "00001003"]);
    assert_eq!(cases["records"][0]["attributes"]["type"], "Case");
    let roles = hana["OpportunityContactRoles"]["records"]
        .as_array()
        .unwrap();
    assert_eq!(roles.len(), 2);
    assert_eq!(roles[0]["IsPrimary"], true);
    assert_eq!(
        roles[0]["Opportunity"]["Name"],
        "Globex — Platform renewal 2027"
    );
    assert_eq!(roles[0]["Opportunity"]["Amount"], 120000);
    assert_eq!(roles[0]["Opportunity"]["CloseDate"], "2026-12-15");
    assert_eq!(roles[1]["Opportunity"]["Amount"], 48500.5);
    assert_eq!(roles[0]["Opportunity"]["Owner"]["Name"], "Maya Patel");

    // Key order on the wire: attributes first, then SELECT order.
    let raw = client()
        .get(format!("{}/services/data/{V}/query", org.url()))
        .query(&[(
            "q",
            "SELECT Name, Id, Owner.Name, OwnerId FROM Contact WHERE Email = 'priya@hooli.example'",
        )])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rec = &raw[raw.find("\"records\"").unwrap()..];
    let pos = |k: &str| rec.find(k).unwrap();
    assert!(pos("\"attributes\"") < pos("\"Name\":\"Priya"));
    assert!(pos("\"Name\":\"Priya") < pos("\"Id\""));
    assert!(pos("\"Id\"") < pos("\"Owner\""));
    assert!(pos("\"Owner\"") < pos("\"OwnerId\""));
}

#[tokio::test]
async fn null_children_null_parents_and_polymorphic_owner() {
    let org = org().await;
    let token = access_token(&org).await;
    let body = query(&org, &token, "SELECT Id, Name, AccountId, Account.Name, (SELECT Id FROM Cases) FROM Contact WHERE Email = 'solo@freelance.example'").await;
    let sam = &body["records"][0];
    assert_eq!(sam["AccountId"], Value::Null);
    assert_eq!(sam["Account"], Value::Null);
    assert_eq!(sam["Cases"], Value::Null);

    let body = query(
        &org,
        &token,
        "SELECT Id, CaseNumber, Owner.Name, Contact.Name FROM Case WHERE CaseNumber = '00001001'",
    )
    .await;
    let case = &body["records"][0];
    assert_eq!(case["Owner"]["attributes"]["type"], "Name");
    assert!(case["Owner"]["attributes"]["url"]
        .as_str()
        .unwrap()
        .contains("/sobjects/User/005"));
    assert_eq!(case["Owner"]["Name"], "Ruth Teammate");
    assert_eq!(case["Contact"]["attributes"]["type"], "Contact");

    let body = query(&org, &token, "SELECT Id, Name, FirstName, LastName, Email, Company, Status, OwnerId, Owner.Name, IsConverted, ConvertedContactId, ConvertedAccountId, ConvertedOpportunityId FROM Lead WHERE Email = 'lena@initech.example' ORDER BY IsConverted ASC, CreatedDate DESC LIMIT 10").await;
    let lena = &body["records"][0];
    assert_eq!(lena["Owner"]["attributes"]["type"], "Name");
    assert_eq!(lena["Owner"]["Name"], "Maya Patel");
    assert_eq!(lena["Status"], "Working - Contacted");
    assert_eq!(lena["IsConverted"], false);
    assert_eq!(lena["ConvertedContactId"], Value::Null);

    let body = query(&org, &token, "SELECT Id, Name, Website, BillingCountry, OwnerId, Owner.Name, (SELECT Id, Name, StageName, CloseDate, Amount, IsClosed, OwnerId, Owner.Name FROM Opportunities WHERE IsClosed = false ORDER BY CloseDate ASC LIMIT 20) FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE Email = 'HANA@globex.example') LIMIT 5").await;
    assert_eq!(body["totalSize"], 1);
    let opps = body["records"][0]["Opportunities"]["records"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = opps.iter().map(|o| o["Name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "Globex — Platform renewal 2027",
            "Globex — Support add-on",
            "Globex — EU expansion"
        ]
    );
    let hooli = query(
        &org,
        &token,
        "SELECT Id, (SELECT Id FROM Opportunities) FROM Account WHERE Name = 'hooli'",
    )
    .await;
    assert_eq!(hooli["records"][0]["Opportunities"], Value::Null);

    let org_row = query(
        &org,
        &token,
        "SELECT Id, DefaultCurrencyIsoCode FROM Organization LIMIT 1",
    )
    .await;
    assert_eq!(org_row["records"][0]["DefaultCurrencyIsoCode"], "USD");
    let user = query(&org, &token, "SELECT Id, Name, Email FROM User WHERE Email = 'ruth@example.com' AND IsActive = true LIMIT 1").await;
    assert_eq!(user["records"][0]["Name"], "Ruth Teammate");
    let twins = query(
        &org,
        &token,
        "SELECT Id FROM Lead WHERE Email = 'twins@dup.example'",
    )
    .await;
    assert_eq!(twins["totalSize"], 2);
    let nobody = query(
        &org,
        &token,
        "SELECT Id FROM Contact WHERE Email = 'nobody@nowhere.example'",
    )
    .await;
    assert_eq!(nobody, json!({"totalSize":0,"done":true,"records":[]}));
    let count = query(
        &org,
        &token,
        "SELECT COUNT() FROM Case WHERE IsClosed = false",
    )
    .await;
    assert_eq!(count["totalSize"], 4);
    assert_eq!(count["records"], json!([]));
}

#[tokio::test]
async fn escaping_and_injection() {
    let org = org().await;
    let token = access_token(&org).await;
    let escaped = query(
        &org,
        &token,
        r"SELECT Id FROM Contact WHERE Email = 'x\' OR Name != \''",
    )
    .await;
    assert_eq!(escaped["totalSize"], 0);
    let injected = query(
        &org,
        &token,
        "SELECT Id FROM Contact WHERE Email = 'x' OR Name != ''",
    )
    .await;
    assert!(injected["totalSize"].as_u64().unwrap() >= 8, "{injected}");
    let obrien = query(
        &org,
        &token,
        r"SELECT Id, Name, Account.Name FROM Contact WHERE Email = 'o\'brien@x.com'",
    )
    .await;
    assert_eq!(obrien["records"][0]["Name"], "Siobhan O'Brien");
    assert_eq!(obrien["records"][0]["Account"]["Name"], "O'Brien & Sons");
    let (status, body) =
        query_raw(&org, &token, r"SELECT Id FROM Contact WHERE Email = 'a\qb'").await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "MALFORMED_QUERY");
}

#[tokio::test]
async fn query_errors() {
    let org = org().await;
    let token = access_token(&org).await;
    let (status, body) = query_raw(&org, &token, "SELECT Foo FROM Contact").await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "INVALID_FIELD");
    assert_eq!(
        body[0]["message"],
        "\nSELECT Foo FROM Contact\n       ^\nERROR at Row:1:Column:8\nNo such column 'Foo' on entity 'Contact'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
    );
    let (_, body) = query_raw(&org, &token, "SELECT Id FROM Foo").await;
    assert_eq!(body[0]["errorCode"], "INVALID_TYPE");
    assert!(body[0]["message"]
        .as_str()
        .unwrap()
        .contains("sObject type 'Foo' is not supported"));
    let (_, body) = query_raw(
        &org,
        &token,
        "SELECT Id FROM Contact WHERE Email = 'a' AND Name = 'b' OR Name = 'c'",
    )
    .await;
    assert_eq!(body[0]["errorCode"], "MALFORMED_QUERY");
    assert!(body[0]["message"]
        .as_str()
        .unwrap()
        .ends_with("unexpected token: 'OR'"));
}

#[tokio::test]
async fn paging_with_small_pages() {
    let org = org().await;
    let (_, grant) = refresh(&org, SANDBOX_REFRESH_TOKEN).await;
    let token = grant["access_token"].as_str().unwrap().to_string();
    org.switches().set_page_size(2);
    let first = query(&org, &token, "SELECT Id, Name FROM Contact ORDER BY Name").await;
    assert_eq!(first["done"], false);
    assert_eq!(first["totalSize"], 8);
    assert_eq!(first["records"].as_array().unwrap().len(), 2);
    let next = first["nextRecordsUrl"].as_str().unwrap().to_string();
    assert!(
        next.starts_with(&format!("/services/data/{V}/query/01g")) && next.ends_with("-2"),
        "{next}"
    );
    let mut names: Vec<String> = first["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Name"].as_str().unwrap().to_string())
        .collect();
    let mut url = Some(next.clone());
    while let Some(u) = url {
        let page: Value = client()
            .get(format!("{}{u}", org.url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        names.extend(
            page["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["Name"].as_str().unwrap().to_string()),
        );
        url = page["nextRecordsUrl"].as_str().map(str::to_string);
        if url.is_none() {
            assert_eq!(page["done"], true);
        }
    }
    assert_eq!(names.len(), 8);
    assert_eq!(names[0], "Bruce Wayne");
    // A locator belongs to the token that created it.
    let (_, again) = refresh(&org, grant["refresh_token"].as_str().unwrap()).await;
    let other = again["access_token"].as_str().unwrap().to_string();
    let resp = client()
        .get(format!("{}{next}", org.url()))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "INVALID_QUERY_LOCATOR");
}

fn q(soql: &str) -> String {
    format!(
        "/services/data/{V}/query?q={}",
        url::form_urlencoded::byte_serialize(soql.as_bytes()).collect::<String>()
    )
}

#[tokio::test]
async fn composite_counts_once_and_resolves_references() {
    let org = org().await;
    let token = access_token(&org).await;
    let before = org.api_calls();
    let body = json!({
        "allOrNone": false,
        "compositeRequest": [
            {"method":"GET","url": q("SELECT Id, AccountId FROM Contact WHERE Email = 'hana@globex.example'"),"referenceId":"contact"},
            {"method":"GET","url": format!("/services/data/{V}/query?q=SELECT+Id,+CaseNumber+FROM+Case+WHERE+ContactId+=+'@{{contact.records[0].Id}}'+AND+IsClosed+=+false"),"referenceId":"cases"},
            {"method":"GET","url": q("SELECT Id FROM Lead WHERE Email = 'lena@initech.example'"),"referenceId":"lead"},
            {"method":"GET","url": q("SELECT Id FROM User WHERE IsActive = true"),"referenceId":"users"},
            {"method":"GET","url": format!("/services/data/{V}/sobjects/Account/@{{contact.records[0].AccountId}}?fields=Name"),"referenceId":"account"},
            {"method":"GET","url": format!("/services/data/{V}/sobjects/Contact/@{{nobody.records[0].Id}}"),"referenceId":"broken"}
        ]
    });
    let resp = client()
        .post(format!("{}/services/data/{V}/composite", org.url()))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let out: Value = resp.json().await.unwrap();
    let items = out["compositeResponse"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    assert_eq!(items[0]["httpStatusCode"], 200);
    assert_eq!(items[0]["referenceId"], "contact");
    assert_eq!(items[1]["body"]["totalSize"], 3);
    assert_eq!(items[4]["body"]["Name"], "Globex Corporation");
    assert_eq!(items[5]["httpStatusCode"], 400);
    assert_eq!(items[5]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(org.api_calls() - before, 1);
    let log = org.requests();
    let last = log.last().unwrap();
    assert_eq!(last.path, format!("/services/data/{V}/composite"));
    assert_eq!(last.subrequests, 6);
    assert_eq!(last.soql.len(), 4);
    assert!(
        last.soql[1].contains("WHERE ContactId = '0035e"),
        "{:?}",
        last.soql
    );

    // More than five queries is refused as a whole.
    let six: Vec<Value> = (0..6)
        .map(|i| json!({"method":"GET","url": q("SELECT Id FROM User"),"referenceId": format!("q{i}")}))
        .collect();
    let resp = client()
        .post(format!("{}/services/data/{V}/composite", org.url()))
        .bearer_auth(&token)
        .json(&json!({"compositeRequest": six}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

async fn create(org: &FakeOrg, token: &str, sobject: &str, body: Value) -> (u16, Value) {
    let resp = client()
        .post(format!(
            "{}/services/data/{V}/sobjects/{sobject}/",
            org.url()
        ))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn create_and_validation() {
    let org = org().await;
    let token = access_token(&org).await;
    let (status, body) = create(&org, &token, "Lead", json!({"FirstName":"Ada"})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!([{"message":"Required fields are missing: [LastName, Company]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName","Company"]}])
    );
    let (status, body) = create(
        &org,
        &token,
        "Lead",
        json!({"LastName":"L","Company":"C","Foo":"x"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "INVALID_FIELD");
    assert_eq!(
        body[0]["message"],
        "No such column 'Foo' on sobject of type Lead"
    );
    let (status, body) = create(
        &org,
        &token,
        "Lead",
        json!({"LastName":"x".repeat(81),"Company":"C"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "STRING_TOO_LONG");
    assert_eq!(body[0]["fields"], json!(["LastName"]));
    let (status, body) = create(
        &org,
        &token,
        "Case",
        json!({"Subject":"s","Priority":"Urgent"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body[0]["errorCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );

    let (status, body) = create(&org, &token, "Lead", json!({"LastName":"Lovelace","FirstName":"Ada","Company":"Engines","Email":"ada@engines.example"})).await;
    assert_eq!(status, 201);
    assert_eq!(body["success"], true);
    assert_eq!(body["errors"], json!([]));
    let id = body["id"].as_str().unwrap();
    assert!(id.starts_with("00Q") && id.len() == 18, "{id}");
    let rows = org.records("Lead");
    let row = rows.iter().find(|r| r["Id"] == id).unwrap();
    assert_eq!(row["IsConverted"], false);
    assert_eq!(row["Status"], "Open - Not Contacted");
    assert_eq!(row["Name"], "Ada Lovelace");

    let (status, body) = create(
        &org,
        &token,
        "Case",
        json!({"Subject":"Printer on fire","Product__c":"Printer","ContactId": org.records("Contact")[0]["Id"]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let case_id = body["id"].as_str().unwrap().to_string();
    let found = query(
        &org,
        &token,
        &format!(
            "SELECT CaseNumber, Status, IsClosed, Owner.Name FROM Case WHERE Id = '{case_id}'"
        ),
    )
    .await;
    assert_eq!(found["records"][0]["CaseNumber"], "00001006");
    assert_eq!(found["records"][0]["IsClosed"], false);
    assert_eq!(found["records"][0]["Owner"]["Name"], "Integration User");

    // PATCH: 204 with no body, and validated.
    let resp = client()
        .patch(format!(
            "{}/services/data/{V}/sobjects/Case/{case_id}",
            org.url()
        ))
        .bearer_auth(&token)
        .json(&json!({"Status":"Closed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.text().await.unwrap(), "");
    let row = org
        .records("Case")
        .into_iter()
        .find(|r| r["Id"] == case_id.as_str())
        .unwrap();
    assert_eq!(row["IsClosed"], true);

    let resp = client()
        .get(format!(
            "{}/services/data/{V}/sobjects/Contact/0035e000009ZZZZAAA",
            org.url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "NOT_FOUND");
}

#[tokio::test]
async fn describe_with_caching_headers() {
    let org = org().await;
    let token = access_token(&org).await;
    for sobject in ["Lead", "Case", "Contact", "Account", "Opportunity", "Task"] {
        let resp = client()
            .get(format!(
                "{}/services/data/{V}/sobjects/{sobject}/describe",
                org.url()
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let last_modified = resp.headers()["last-modified"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(resp.headers().get("etag").is_some());
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["name"], sobject);
        if sobject == "Case" {
            let rts = body["recordTypeInfos"].as_array().unwrap();
            assert!(rts
                .iter()
                .any(|r| r["name"] == "Support" && r["defaultRecordTypeMapping"] == true));
            assert!(rts.iter().any(|r| r["name"] == "Billing"));
        }
        let resp = client()
            .get(format!(
                "{}/services/data/{V}/sobjects/{sobject}/describe",
                org.url()
            ))
            .bearer_auth(&token)
            .header("If-Modified-Since", last_modified)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 304);
    }
}

#[tokio::test]
async fn faults() {
    let org = org().await;
    let token = access_token(&org).await;
    let sw = org.switches();
    sw.fail_with(Some(503));
    let (status, body) = query_raw(&org, &token, "SELECT Id FROM User").await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        json!([{"message":"Server temporarily unavailable","errorCode":"SERVER_UNAVAILABLE"}])
    );
    sw.fail_with(Some(500));
    let (status, body) = query_raw(&org, &token, "SELECT Id FROM User").await;
    assert_eq!(status, 500);
    assert_eq!(body[0]["errorCode"], "UNKNOWN_EXCEPTION");
    sw.fail_with(None);
    sw.set_api_limit(true);
    let (status, body) = query_raw(&org, &token, "SELECT Id FROM User").await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!([{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])
    );
    sw.set_api_limit(false);
    sw.set_malformed(true);
    let resp = client()
        .get(format!(
            "{}/services/data/{V}/query?q=SELECT+Id+FROM+User",
            org.url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err());
    sw.reset();
    sw.set_latency(Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(query_raw(&org, &token, "SELECT Id FROM User").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    let resp = client()
        .get(format!(
            "{}/services/data/{V}/query?q=SELECT+Id+FROM+User",
            org.url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let limit = resp.headers()["sforce-limit-info"].to_str().unwrap();
    assert_eq!(limit, format!("api-usage={}/15000", org.api_calls()));
}

#[tokio::test]
async fn request_log_and_control_api() {
    let org = org().await;
    let token = access_token(&org).await;
    org.clear_requests();
    query(
        &org,
        &token,
        "SELECT Id FROM Contact WHERE Email = 'priya@hooli.example'",
    )
    .await;
    let _ = query_raw(&org, &token, "SELECT Nope FROM Contact").await;
    let state: Value = client()
        .get(format!("{}/__sandbox/state", org.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["rotation"], true);
    assert_eq!(state["page_size"], 2000);
    let resp = client()
        .post(format!("{}/__sandbox/switches", org.url()))
        .json(&json!({"page_size": 3, "fail_status": 502, "latency_ms": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(org.switches().state().page_size, 3);
    assert_eq!(org.switches().state().fail_status, Some(502));
    client()
        .post(format!("{}/__sandbox/reset", org.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(org.switches().state().fail_status, None);
    let log = org.requests();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, format!("/services/data/{V}/query"));
    assert_eq!(
        log[0].soql,
        ["SELECT Id FROM Contact WHERE Email = 'priya@hooli.example'"]
    );
    assert_eq!(log[0].status, 200);
    assert_eq!(log[1].status, 400);
    let remote: Value = client()
        .get(format!("{}/__sandbox/requests", org.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(remote.as_array().unwrap().len(), 2);

    let hana = &org.records("Contact")[0];
    let page = client()
        .get(format!(
            "{}/lightning/r/Contact/{}/view",
            org.url(),
            hana["Id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Hana Okafor"));
    org.shutdown().await;
}

#[tokio::test]
async fn composite_all_or_none_rolls_back() {
    let org = org().await;
    let token = access_token(&org).await;
    let leads_before = org.records("Lead").len();
    let body = json!({
        "allOrNone": true,
        "compositeRequest": [
            {"method":"POST","url": format!("/services/data/{V}/sobjects/Lead/"),"referenceId":"lead","body":{"LastName":"Roll","Company":"Back"}},
            {"method":"POST","url": format!("/services/data/{V}/sobjects/Task/"),"referenceId":"task","body":{"Subject":"Call","WhoId":"@{lead.id}","TaskSubtype":"Whenever"}}
        ]
    });
    let out: Value = client()
        .post(format!("{}/services/data/{V}/composite", org.url()))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = out["compositeResponse"].as_array().unwrap();
    assert_eq!(items[0]["httpStatusCode"], 400);
    assert_eq!(items[0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(items[1]["httpStatusCode"], 400);
    assert_eq!(
        items[1]["body"][0]["errorCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(org.records("Lead").len(), leads_before);

    // Without allOrNone the lead stays and the reference resolves into the task.
    let mut body = body;
    body["allOrNone"] = json!(false);
    body["compositeRequest"][1]["body"]["TaskSubtype"] = json!("Call");
    let out: Value = client()
        .post(format!("{}/services/data/{V}/composite", org.url()))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = out["compositeResponse"].as_array().unwrap();
    assert_eq!(items[0]["httpStatusCode"], 201, "{out}");
    assert_eq!(items[1]["httpStatusCode"], 201, "{out}");
    let lead_id = items[0]["body"]["id"].as_str().unwrap();
    let task = org
        .records("Task")
        .into_iter()
        .find(|t| t["Id"] == items[1]["body"]["id"])
        .unwrap();
    assert_eq!(task["WhoId"], lead_id);
}

#[tokio::test]
async fn refuses_what_salesforce_refuses_where_the_app_could_be_fooled() {
    let org = org().await;
    let token = access_token(&org).await;
    // Description is a long text area: the describe marks it neither filterable nor sortable.
    for (soql, code, text) in [
        (
            "SELECT Id FROM Task WHERE Description = 'x'",
            "INVALID_FIELD",
            "field 'Description' can not be filtered in a query call",
        ),
        (
            "SELECT Id FROM Lead WHERE Email = 'a@b.c' OR Description LIKE '%x%'",
            "INVALID_FIELD",
            "field 'Description' can not be filtered in a query call",
        ),
        (
            "SELECT Id FROM Account ORDER BY Description",
            "INVALID_FIELD",
            "field 'Description' can not be sorted in a query call",
        ),
        (
            "SELECT Id FROM Contact WHERE Id = 'hana@globex.example'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field: hana@globex.example",
        ),
        (
            "SELECT Id FROM Contact WHERE AccountId IN ('001', '0015e000001GlbxAAC')",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field: 001",
        ),
        (
            "SELECT Id FROM Contact LIMIT 10 OFFSET 2001",
            "NUMBER_OUTSIDE_VALID_RANGE",
            "Maximum SOQL offset allowed is 2000",
        ),
    ] {
        let (status, body) = query_raw(&org, &token, soql).await;
        assert_eq!(status, 400, "{soql}: {body}");
        assert_eq!(body[0]["errorCode"], code, "{soql}: {body}");
        assert!(
            body[0]["message"].as_str().unwrap().contains(text),
            "{soql}: {body}"
        );
    }
    // What stays allowed: selecting the field, a real id, null, OFFSET 2000.
    for soql in [
        "SELECT Id, Description FROM Task LIMIT 1",
        "SELECT Id FROM Contact WHERE Id = '0035e000001HanaAAC'",
        "SELECT Id FROM Contact WHERE Id = '0035e000001Hana'",
        "SELECT Id FROM Contact WHERE AccountId = null",
        "SELECT Id FROM Contact LIMIT 10 OFFSET 2000",
    ] {
        query(&org, &token, soql).await;
    }
}

#[tokio::test]
async fn the_identity_url_answers_who_the_token_belongs_to() {
    let org = org().await;
    let (status, grant) = refresh(&org, SANDBOX_REFRESH_TOKEN).await;
    assert_eq!(status, 200);
    let id_url = grant["id"].as_str().unwrap().to_string();
    assert_eq!(
        id_url,
        format!("{}/id/{SANDBOX_ORG_ID}/0055e000001IntgAAC", org.url())
    );
    let token = grant["access_token"].as_str().unwrap();
    let resp = client()
        .get(&id_url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let me: Value = resp.json().await.unwrap();
    assert_eq!(me["id"], id_url.as_str());
    assert_eq!(me["organization_id"], SANDBOX_ORG_ID);
    assert_eq!(me["user_id"], "0055e000001IntgAAC");
    assert_eq!(me["username"], "integration@acme-sales.example.sbx");
    assert_eq!(me["display_name"], "Integration User");
    assert_eq!(me["email"], "integration@acme-sales.example");
    assert_eq!(
        me["urls"]["rest"],
        format!("{}/services/data/v{{version}}/", org.url())
    );
    // The token as a query parameter works too; a bad token or id does not.
    let by_param = client()
        .get(format!("{id_url}?oauth_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_param.status(), 200);
    let bad = client()
        .get(&id_url)
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 403);
    assert_eq!(bad.text().await.unwrap(), "Bad_OAuth_Token");
    let other = client()
        .get(format!(
            "{}/id/{SANDBOX_ORG_ID}/005000000000000AAA",
            org.url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}

#[tokio::test]
async fn sobject_collections_create_one_result_per_record_and_all_or_none() {
    let org = org().await;
    let token = access_token(&org).await;
    let url = format!("{}/services/data/{V}/composite/sobjects", org.url());
    let post = |body: Value| client().post(&url).bearer_auth(&token).json(&body).send();
    let lead = |last: &str, email: &str| json!({"attributes": {"type": "Lead"}, "LastName": last, "Company": "Coll", "Email": email});
    let leads_before = org.records("Lead").len();
    let resp = post(json!({"allOrNone": false, "records": [
        lead("One", "one@coll.example"),
        {"attributes": {"type": "Lead"}, "Company": "No last name"},
        lead("Two", "two@coll.example"),
    ]}))
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let results: Value = resp.json().await.unwrap();
    assert_eq!(results[0]["success"], true, "{results}");
    assert!(results[0]["id"].as_str().unwrap().starts_with("00Q"));
    assert_eq!(results[1]["success"], false);
    assert_eq!(
        results[1]["errors"][0]["statusCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(results[2]["success"], true);
    assert_eq!(org.records("Lead").len(), leads_before + 2);

    // allOrNone: one failure and nothing is kept.
    let results: Value = post(json!({"allOrNone": true, "records": [
        lead("Three", "three@coll.example"),
        {"attributes": {"type": "Lead"}, "Company": "No last name"},
    ]}))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(results[0]["success"], false);
    assert_eq!(
        results[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(org.records("Lead").len(), leads_before + 2);
}

#[tokio::test]
async fn date_literals_today_and_last_n_days() {
    let org = org().await;
    let token = access_token(&org).await;
    let today = chrono::Utc::now().date_naive();
    let (status, created) = create(
        &org,
        &token,
        "Task",
        json!({"Subject": "Dated today", "Status": "Completed", "Priority": "Normal",
               "ActivityDate": today.format("%Y-%m-%d").to_string()}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let found = |body: &Value| {
        body["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["Id"] == id.as_str())
    };
    for (filter, expected) in [
        ("ActivityDate = TODAY", true),
        ("ActivityDate = today", true),
        ("ActivityDate = YESTERDAY", false),
        ("ActivityDate > TODAY", false),
        ("ActivityDate >= TODAY", true),
        ("ActivityDate < TOMORROW", true),
        ("ActivityDate = LAST_N_DAYS:1", true),
        ("ActivityDate = NEXT_N_DAYS:3", false),
        ("CreatedDate = LAST_N_DAYS:7", true),
        ("CreatedDate < LAST_N_DAYS:7", false),
    ] {
        let soql = format!("SELECT Id FROM Task WHERE {filter}");
        let body = query(&org, &token, &soql).await;
        assert_eq!(found(&body), expected, "{soql}");
    }
    // A fixture record of 2024 is not in the last 30 days, and is before them.
    let body = query(
        &org,
        &token,
        "SELECT Id FROM Organization WHERE CreatedDate < LAST_N_DAYS:30",
    )
    .await;
    assert_eq!(body["totalSize"], 1);
    // Only date and dateTime fields take them; a quoted one is just text.
    let (status, body) = query_raw(&org, &token, "SELECT Id FROM Task WHERE Subject = TODAY").await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "INVALID_FIELD", "{body}");
    let (status, _) = query_raw(
        &org,
        &token,
        "SELECT Id FROM Task WHERE ActivityDate = NOT_A_DAY",
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn upsert_by_external_id_creates_updates_and_refuses_ambiguity() {
    let org = org().await;
    let token = access_token(&org).await;
    let upsert = |key: &str, query: &str, body: Value| {
        client()
            .patch(format!(
                "{}/services/data/{V}/sobjects/Task/Intercom_Key__c/{key}{query}",
                org.url()
            ))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let task = json!({"Subject": "Upserted", "Status": "In Progress", "Priority": "Normal"});
    // updateOnly: nothing there yet, nothing made.
    let r = upsert("conv-4711", "?updateOnly=true", task.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // First upsert creates, the second updates the same record.
    let r = upsert("conv-4711", "", task.clone()).await.unwrap();
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    assert_eq!(made["created"], true);
    let id = made["id"].as_str().unwrap().to_string();
    let r = upsert("CONV-4711", "", json!({"Status": "Completed"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "external ids match case-insensitively");
    let updated: Value = r.json().await.unwrap();
    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["created"], false);
    let rows: Vec<_> = org
        .records("Task")
        .into_iter()
        .filter(|t| t.get("Intercom_Key__c") == Some(&json!("conv-4711")))
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Status"], "Completed");

    // Two records with the key: 300 and their URLs.
    let (status, _) = create(
        &org,
        &token,
        "Task",
        json!({"Subject": "Dup", "Status": "Completed", "Priority": "Normal", "Intercom_Key__c": "dup"}),
    )
    .await;
    assert_eq!(status, 201);
    create(
        &org,
        &token,
        "Task",
        json!({"Subject": "Dup", "Status": "Completed", "Priority": "Normal", "Intercom_Key__c": "DUP"}),
    )
    .await;
    let r = upsert("dup", "", json!({"Status": "Completed"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 300);
    let urls: Value = r.json().await.unwrap();
    assert_eq!(urls.as_array().unwrap().len(), 2);

    // Subject is no external id.
    let r = client()
        .patch(format!(
            "{}/services/data/{V}/sobjects/Task/Subject/x",
            org.url()
        ))
        .bearer_auth(&token)
        .json(&task)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "NOT_FOUND");
}
