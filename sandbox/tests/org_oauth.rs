//! The fake org's web-server flow with PKCE over real HTTP: the Allow page, the code exchange,
//! refresh and revoke of the connection it makes, the refusals, and a second org.

mod common;

use common::{client, fixtures, inputs, location, loopback, param};
use serde_json::Value;
use sf_sandbox::{
    FakeOrg, OrgOptions, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_ORG_B_ID,
    SANDBOX_ORG_B_REFRESH_TOKEN, SANDBOX_ORG_B_USER_ID, SANDBOX_ORG_ID, SANDBOX_REFRESH_TOKEN,
};

const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K9qfPiqgK1OqdvU3Bo72yLP1-I";
/// BASE64URL-NOPAD(SHA256(VERIFIER)), computed outside the sandbox (Python's hashlib).
const CHALLENGE: &str = "Re2XzuU0ynq1yNiJ2gNJk3zeLWezcxSR1x8LDp6kngk";
const CALLBACK: &str = "http://127.0.0.1:9/oauth/salesforce/callback";
/// A state that needs escaping in HTML and in a URL.
const STATE: &str = "st<a>te&\"1\"";

fn authorize_params() -> Vec<(&'static str, &'static str)> {
    vec![
        ("response_type", "code"),
        ("client_id", SANDBOX_CLIENT_ID),
        ("redirect_uri", CALLBACK),
        ("scope", "api refresh_token"),
        ("state", STATE),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

/// Opens the authorize page, checks it, and posts its form with the button `decision`:
/// the redirect it answers.
async fn decide(org: &FakeOrg, decision: &str) -> reqwest::Response {
    let page = client()
        .get(format!("{}/services/oauth2/authorize", org.url()))
        .query(&authorize_params())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let name = &org.options().name;
    assert!(
        html.contains(&format!("Allow sf-inbox to access {name}?")),
        "{html}"
    );
    assert!(html.contains("(api)") && html.contains("(refresh_token)"));
    assert!(html.contains(r#"value="allow">Allow</button>"#));
    assert!(html.contains(r#"value="deny">Deny</button>"#));
    assert!(!html.contains("<a>"), "the state is escaped");
    let mut form = inputs(&html);
    form.push(("decision".into(), decision.into()));
    client()
        .post(format!("{}/services/oauth2/authorize", org.url()))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Allow: the code the redirect carries.
async fn allow(org: &FakeOrg) -> String {
    let resp = decide(org, "allow").await;
    assert_eq!(resp.status(), 302, "Salesforce redirects with 302");
    let (target, pairs) = location(&resp);
    assert_eq!(target, CALLBACK);
    assert_eq!(param(&pairs, "state"), Some(STATE));
    param(&pairs, "code").expect("a code").to_string()
}

async fn exchange(org: &FakeOrg, code: &str, verifier: &str, redirect_uri: &str) -> (u16, Value) {
    let resp = client()
        .post(format!("{}/services/oauth2/token", org.url()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", SANDBOX_CLIENT_ID),
            ("client_secret", SANDBOX_CLIENT_SECRET),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
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
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn invalid_grant(body: &Value) {
    assert_eq!(
        body,
        &serde_json::json!({"error": "invalid_grant", "error_description": "authentication failure"})
    );
}

/// The emails of the org's Contacts with `email`, through the REST API.
async fn contacts_with(org: &FakeOrg, access_token: &str, email: &str) -> Vec<Value> {
    let resp = client()
        .get(format!("{}/services/data/v62.0/query", org.url()))
        .bearer_auth(access_token)
        .query(&[(
            "q",
            format!("SELECT Id, Account.Name FROM Contact WHERE Email = '{email}'"),
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["records"].as_array().unwrap().clone()
}

#[tokio::test]
async fn allow_then_code_then_token_refresh_and_revoke() {
    let org = FakeOrg::start(loopback(), &fixtures()).await.unwrap();
    let code = allow(&org).await;
    let (status, token) = exchange(&org, &code, VERIFIER, CALLBACK).await;
    assert_eq!(status, 200, "{token}");
    for field in ["access_token", "refresh_token", "signature", "issued_at"] {
        assert!(
            token[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}: {token}"
        );
    }
    assert_eq!(token["scope"], "api refresh_token");
    assert_eq!(token["instance_url"], org.url());
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(
        token["id"],
        format!("{}/id/{SANDBOX_ORG_ID}/0055e000001IntgAAC", org.url())
    );
    let access = token["access_token"].as_str().unwrap();
    assert!(access.starts_with(&format!("{}!", &SANDBOX_ORG_ID[..15])));

    // The identity URL answers for this org and user, with the new access token.
    let identity: Value = client()
        .get(token["id"].as_str().unwrap())
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(identity["organization_id"], SANDBOX_ORG_ID);
    assert_eq!(identity["user_id"], "0055e000001IntgAAC");

    // The code is single-use.
    let (status, body) = exchange(&org, &code, VERIFIER, CALLBACK).await;
    assert_eq!(status, 400);
    invalid_grant(&body);

    // The refresh token works with the refresh grant (and rotates).
    let (status, refreshed) = refresh(&org, token["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{refreshed}");
    let current = refreshed["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(current, token["refresh_token"].as_str().unwrap());

    // Revoke ends this connection only.
    let resp = client()
        .post(format!("{}/services/oauth2/revoke", org.url()))
        .form(&[("token", current.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (status, body) = refresh(&org, &current).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = refresh(&org, SANDBOX_REFRESH_TOKEN).await;
    assert_eq!(status, 200, "the org's other connection keeps working");
}

#[tokio::test]
async fn a_wrong_verifier_or_redirect_uri_is_refused() {
    let org = FakeOrg::start(loopback(), &fixtures()).await.unwrap();
    let code = allow(&org).await;
    let (status, body) = exchange(&org, &code, "not-the-verifier", CALLBACK).await;
    assert_eq!(status, 400);
    invalid_grant(&body);
    // The failed attempt spent the code.
    let (status, _) = exchange(&org, &code, VERIFIER, CALLBACK).await;
    assert_eq!(status, 400);

    let code = allow(&org).await;
    let (status, body) = exchange(&org, &code, VERIFIER, "http://127.0.0.1:9/elsewhere").await;
    assert_eq!(status, 400);
    invalid_grant(&body);

    let (status, body) = exchange(&org, "no-such-code", VERIFIER, CALLBACK).await;
    assert_eq!(status, 400);
    invalid_grant(&body);
}

#[tokio::test]
async fn deny_redirects_with_access_denied() {
    let org = FakeOrg::start(loopback(), &fixtures()).await.unwrap();
    let resp = decide(&org, "deny").await;
    assert_eq!(resp.status(), 302);
    let (target, pairs) = location(&resp);
    assert_eq!(target, CALLBACK);
    assert_eq!(param(&pairs, "error"), Some("access_denied"));
    assert!(param(&pairs, "error_description").is_some());
    assert_eq!(param(&pairs, "state"), Some(STATE));
    assert_eq!(param(&pairs, "code"), None);
}

#[tokio::test]
async fn the_authorize_page_refuses_bad_requests() {
    let org = FakeOrg::start(loopback(), &fixtures()).await.unwrap();
    let cases: [(&str, Option<&str>, &str); 5] = [
        ("client_id", Some("someone-else"), "invalid_client_id"),
        ("code_challenge", None, "missing required code challenge"),
        (
            "code_challenge_method",
            Some("plain"),
            "invalid code challenge method",
        ),
        ("response_type", Some("token"), "unsupported_response_type"),
        (
            "redirect_uri",
            Some("javascript:alert(1)"),
            "redirect_uri_mismatch",
        ),
    ];
    for (key, value, expected) in cases {
        let params: Vec<(&str, &str)> = authorize_params()
            .into_iter()
            .filter_map(|(k, v)| match (k == key, value) {
                (false, _) => Some((k, v)),
                (true, Some(other)) => Some((k, other)),
                (true, None) => None,
            })
            .collect();
        for post in [false, true] {
            let url = format!("{}/services/oauth2/authorize", org.url());
            let req = if post {
                let mut form = params.clone();
                form.push(("decision", "allow"));
                client().post(url).form(&form)
            } else {
                client().get(url).query(&params)
            };
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 400, "{key}={value:?} (post: {post})");
            let html = resp.text().await.unwrap();
            assert!(
                html.contains("OAUTH_ERROR") && html.contains(expected),
                "{html}"
            );
        }
    }
}

#[tokio::test]
async fn org_b_is_another_org_with_other_people() {
    let a = FakeOrg::start(loopback(), &fixtures()).await.unwrap();
    let b = FakeOrg::start_with(loopback(), &fixtures(), OrgOptions::second())
        .await
        .unwrap();
    assert_eq!(b.options().org_id, SANDBOX_ORG_B_ID);

    let code = allow(&b).await;
    let (status, token) = exchange(&b, &code, VERIFIER, CALLBACK).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(
        token["id"],
        format!("{}/id/{SANDBOX_ORG_B_ID}/{SANDBOX_ORG_B_USER_ID}", b.url())
    );
    let b_access = token["access_token"].as_str().unwrap().to_string();
    assert!(b_access.starts_with(&format!("{}!", &SANDBOX_ORG_B_ID[..15])));
    let identity: Value = client()
        .get(token["id"].as_str().unwrap())
        .bearer_auth(&b_access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(identity["organization_id"], SANDBOX_ORG_B_ID);
    assert_eq!(identity["email"], "integration@initech-support.example");

    // Each org takes its own pre-issued refresh token only.
    assert_eq!(refresh(&b, SANDBOX_REFRESH_TOKEN).await.0, 400);
    assert_eq!(refresh(&a, SANDBOX_ORG_B_REFRESH_TOKEN).await.0, 400);
    let (status, a_token) = refresh(&a, SANDBOX_REFRESH_TOKEN).await;
    assert_eq!(status, 200);
    let a_access = a_token["access_token"].as_str().unwrap().to_string();
    let (status, _) = refresh(&b, SANDBOX_ORG_B_REFRESH_TOKEN).await;
    assert_eq!(status, 200);

    // A token of one org is no session in the other.
    let resp = client()
        .get(format!("{}/services/data/v62.0/sobjects", b.url()))
        .bearer_auth(&a_access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    assert!(contacts_with(&a, &a_access, "tony@stark.example")
        .await
        .is_empty());
    assert_eq!(
        contacts_with(&b, &b_access, "tony@stark.example")
            .await
            .len(),
        1
    );
    assert_eq!(
        contacts_with(&a, &a_access, "priya@hooli.example")
            .await
            .len(),
        1
    );
    assert!(contacts_with(&b, &b_access, "priya@hooli.example")
        .await
        .is_empty());
    let hana_a = contacts_with(&a, &a_access, "hana@globex.example").await;
    let hana_b = contacts_with(&b, &b_access, "hana@globex.example").await;
    assert_eq!(hana_a[0]["Account"]["Name"], "Globex Corporation");
    assert_eq!(hana_b[0]["Account"]["Name"], "Globex Europe GmbH");
    let org_b = b.records("Organization");
    assert_eq!(org_b[0]["Id"], SANDBOX_ORG_B_ID);
    assert_eq!(org_b[0]["Name"], b.options().name.as_str());
}
