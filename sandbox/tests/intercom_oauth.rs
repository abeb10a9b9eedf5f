//! The fake Intercom's install flow over real HTTP (Install page → code → token → `/me`), the
//! refusals, notes recorded per workspace, and data connectors.

mod common;

use common::{client, fixtures, inputs, location, loopback, param};
use serde_json::{json, Value};
use sf_sandbox::intercom::{
    FakeIntercom, SANDBOX_INTERCOM_CLIENT_ID, SANDBOX_INTERCOM_CLIENT_SECRET,
    SANDBOX_INTERCOM_TOKEN, SANDBOX_WORKSPACE_ID,
};

const CALLBACK: &str = "http://127.0.0.1:9/oauth/intercom/callback";
/// A state that needs escaping in HTML and in a URL.
const STATE: &str = "s<1>&\"2\"";

/// Opens the Install page, posts its form (with `changes` over the prefilled fields) and
/// returns the code the redirect carries.
async fn install(fake: &FakeIntercom, changes: &[(&str, &str)]) -> String {
    let page = client()
        .get(format!("{}/oauth", fake.url()))
        .query(&[
            ("client_id", SANDBOX_INTERCOM_CLIENT_ID),
            ("state", STATE),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<title>Install sf-inbox in your Intercom workspace</title>"));
    assert!(html.contains("<button type=submit>Install</button>"));
    assert!(html.contains(">Cancel</a>"));
    assert!(!html.contains("<1>"), "the state is escaped");
    let mut form = inputs(&html);
    for (k, v) in changes {
        form.retain(|(name, _)| name != k);
        form.push((k.to_string(), v.to_string()));
    }
    let resp = client()
        .post(format!("{}/oauth/authorize", fake.url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let (target, pairs) = location(&resp);
    assert_eq!(target, CALLBACK);
    assert_eq!(param(&pairs, "state"), Some(STATE));
    param(&pairs, "code").expect("a code").to_string()
}

async fn exchange(fake: &FakeIntercom, code: &str, secret: &str) -> (u16, Value) {
    let resp = client()
        .post(format!("{}/auth/eagle/token", fake.url()))
        .form(&[
            ("code", code),
            ("client_id", SANDBOX_INTERCOM_CLIENT_ID),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn me(fake: &FakeIntercom, token: &str) -> (u16, Value) {
    let resp = client()
        .get(format!("{}/me", fake.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn error_code(body: &Value) -> &str {
    assert_eq!(body["type"], "error.list", "{body}");
    body["errors"][0]["code"].as_str().unwrap()
}

async fn note(fake: &FakeIntercom, token: &str, admin_id: &str, body: &str) -> u16 {
    client()
        .post(format!("{}/conversations/4711/reply", fake.url()))
        .bearer_auth(token)
        .json(&json!({"message_type": "note", "type": "admin", "admin_id": admin_id, "body": body}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn install_code_token_me_round_trip() {
    let fake = FakeIntercom::start(loopback(), &fixtures()).await.unwrap();
    let code = install(&fake, &[("region", "eu")]).await;
    let (status, token) = exchange(&fake, &code, SANDBOX_INTERCOM_CLIENT_SECRET).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    let b_token = token["token"].as_str().unwrap().to_string();
    assert_eq!(token["access_token"], b_token.as_str());

    let (status, admin) = me(&fake, &b_token).await;
    assert_eq!(status, 200);
    assert_eq!(admin["type"], "admin");
    assert_eq!(admin["id"], "sandbox-admin-2");
    assert_eq!(admin["name"], "Sandbox Admin");
    assert_eq!(admin["email_verified"], true);
    assert_eq!(admin["app"]["type"], "app");
    assert_eq!(admin["app"]["id_code"], "sandbox-2");
    assert_eq!(admin["app"]["region"], "Europe");
    assert!(admin["app"]["created_at"].is_i64());

    // The sandbox token is workspace `sandbox`, its admin the fixtures' first.
    let (status, admin) = me(&fake, SANDBOX_INTERCOM_TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(admin["app"]["id_code"], SANDBOX_WORKSPACE_ID);
    assert_eq!(admin["app"]["region"], "US");
    assert_eq!(admin["id"], "814860");

    // A second install gets the next workspace and its own token (exchanged with JSON).
    let code = install(&fake, &[]).await;
    let resp = client()
        .post(format!("{}/auth/eagle/token", fake.url()))
        .json(
            &json!({"code": code, "client_id": SANDBOX_INTERCOM_CLIENT_ID,
                      "client_secret": SANDBOX_INTERCOM_CLIENT_SECRET}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let c_token = resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(c_token, b_token);
    assert_eq!(me(&fake, &c_token).await.1["app"]["id_code"], "sandbox-3");
    assert_eq!(me(&fake, "made-up").await.0, 401);

    // Notes: any minted token works, and each note names its token's workspace.
    assert_eq!(
        note(&fake, &b_token, "sandbox-admin-2", "from B").await,
        200
    );
    assert_eq!(
        note(&fake, SANDBOX_INTERCOM_TOKEN, "814860", "from A").await,
        200
    );
    assert_eq!(
        note(
            &fake,
            SANDBOX_INTERCOM_TOKEN,
            "sandbox-admin-2",
            "not A's admin"
        )
        .await,
        404,
        "an admin who installed in B is no admin of workspace sandbox"
    );
    let notes: Vec<(String, String)> = fake
        .notes()
        .into_iter()
        .map(|n| (n.body, n.workspace_id))
        .collect();
    assert_eq!(
        notes,
        [
            ("from B".to_string(), "sandbox-2".to_string()),
            ("from A".to_string(), "sandbox".to_string())
        ]
    );
    let installs: Vec<String> = fake
        .installs()
        .into_iter()
        .map(|i| i.workspace_id)
        .collect();
    assert_eq!(installs, ["sandbox", "sandbox-2", "sandbox-3"]);
}

#[tokio::test]
async fn a_code_is_single_use_and_needs_the_secret() {
    let fake = FakeIntercom::start(loopback(), &fixtures()).await.unwrap();
    let code = install(&fake, &[]).await;
    let (status, body) = exchange(&fake, &code, "wrong-secret").await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "unauthorized");
    // The refused request did not spend the code.
    let (status, _) = exchange(&fake, &code, SANDBOX_INTERCOM_CLIENT_SECRET).await;
    assert_eq!(status, 200);
    let (status, body) = exchange(&fake, &code, SANDBOX_INTERCOM_CLIENT_SECRET).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "invalid_grant");
    let (status, body) = exchange(&fake, "unknown", SANDBOX_INTERCOM_CLIENT_SECRET).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "invalid_grant");
}

#[tokio::test]
async fn cancel_and_unknown_clients() {
    let fake = FakeIntercom::start(loopback(), &fixtures()).await.unwrap();
    let resp = client()
        .get(format!("{}/oauth", fake.url()))
        .query(&[
            ("client_id", "someone-else"),
            ("state", "x"),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = client()
        .post(format!("{}/oauth/authorize", fake.url()))
        .form(&[
            ("client_id", "someone-else"),
            ("state", "x"),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "no code for an unknown client");

    let html = client()
        .get(format!("{}/oauth", fake.url()))
        .query(&[
            ("client_id", SANDBOX_INTERCOM_CLIENT_ID),
            ("state", "abc"),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let href_at = html.find("<a href=\"").unwrap() + 9;
    let href = html[href_at..html[href_at..].find('"').unwrap() + href_at].replace("&amp;", "&");
    assert_eq!(href, format!("{CALLBACK}?error=access_denied&state=abc"));
}

async fn create(fake: &FakeIntercom, token: &str, body: Value) -> (u16, Value) {
    let resp = client()
        .post(format!("{}/data_connectors", fake.url()))
        .bearer_auth(token)
        .header("Intercom-Version", "2.16")
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn list(fake: &FakeIntercom, token: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let resp = client()
        .get(format!("{}/data_connectors", fake.url()))
        .bearer_auth(token)
        .header("Intercom-Version", "2.16")
        .query(query)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn data_connectors_are_created_and_listed_per_workspace() {
    let fake = FakeIntercom::start(loopback(), &fixtures()).await.unwrap();
    let code = install(&fake, &[]).await;
    let b_token = exchange(&fake, &code, SANDBOX_INTERCOM_CLIENT_SECRET)
        .await
        .1["token"]
        .as_str()
        .unwrap()
        .to_string();

    let (status, created) = create(
        &fake,
        &b_token,
        json!({
            "name": "Create Salesforce Case",
            "description": "Opens a Case for the conversation",
            "http_method": "post",
            "url": "https://app.example/connectors/case",
            "body": "{\"conversation_id\": \"{{conversation_id}}\"}",
            "audiences": ["users", "leads"],
            "headers": [{"name": "Authorization", "value": "Bearer per-workspace-secret"}],
            "data_inputs": [{"name": "conversation_id", "type": "string", "required": true}],
            "mock_response": {"case": {"number": "00001001", "open": true}}
        }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["type"], "data_connector");
    assert_eq!(created["state"], "draft");
    assert_eq!(created["http_method"], "post");
    assert_eq!(
        created["headers"][0],
        json!({"name": "Authorization", "value": "****"})
    );
    assert_eq!(created["data_inputs"][0]["default_value"], "");
    assert_eq!(created["configuration_response_type"], "mock_response_type");
    assert_eq!(created["response_fields"][0]["path"], "case.number");
    assert_eq!(created["created_by_admin_id"], "sandbox-admin-2");
    let first_id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        created["execution_results_url"],
        format!("/data_connectors/{first_id}/execution_results")
    );

    let (status, minimal) = create(&fake, &b_token, json!({"name": "Minimal"})).await;
    assert_eq!(status, 201);
    let (status, body) = create(&fake, &b_token, json!({"description": "no name"})).await;
    assert_eq!(status, 422);
    assert_eq!(error_code(&body), "parameter_not_found");
    let (status, body) = create(
        &fake,
        &b_token,
        json!({"name": "x", "audiences": ["robots"]}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(error_code(&body), "parameter_invalid");
    assert_eq!(create(&fake, "made-up", json!({"name": "x"})).await.0, 401);

    // Newest first, paged; workspace `sandbox` sees none of B's.
    let (status, all) = list(&fake, &b_token, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(all["type"], "list");
    let ids: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [minimal["id"].as_str().unwrap(), first_id.as_str()]);
    assert!(all["pages"]["next"].is_null());
    assert!(
        all["data"][0].get("headers").is_none(),
        "the list shows summaries"
    );
    let (_, page1) = list(&fake, &b_token, &[("per_page", "1")]).await;
    assert_eq!(page1["data"].as_array().unwrap().len(), 1);
    let cursor = page1["pages"]["next"]["starting_after"].as_str().unwrap();
    let (_, page2) = list(
        &fake,
        &b_token,
        &[("per_page", "1"), ("starting_after", cursor)],
    )
    .await;
    assert_eq!(page2["data"][0]["id"], first_id.as_str());
    assert!(page2["pages"]["next"].is_null());
    let (status, body) = list(&fake, &b_token, &[("starting_after", "bogus")]).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "client_error");
    let (_, sandbox) = list(&fake, SANDBOX_INTERCOM_TOKEN, &[]).await;
    assert_eq!(sandbox["data"], json!([]));

    let stored = fake.data_connectors();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|c| c.workspace_id == "sandbox-2"));
    assert_eq!(
        stored[0].header("authorization"),
        Some("Bearer per-workspace-secret")
    );
}
