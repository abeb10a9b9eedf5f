//! The local inbox preview over loopback: the page is served when the
//! preview is on and absent when it is off, and the preview's API sends the
//! app correctly signed Canvas Kit requests (the app answers 200 with a canvas).

use crate::common;

use common::preview::{spawn_preview, PreviewApp};
use common::SECRET;
use serde_json::{json, Value};
use sf_inbox::canvas::signature::verify_body_signature;

async fn post(app: &PreviewApp, path: &str, body: Value) -> (u16, Value) {
    let resp = app
        .http
        .post(format!("{}{path}", app.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// Every text of a canvas (component texts, labels, titles, fields, values).
fn canvas_texts(exchange: &Value) -> String {
    let canvas = json!({"canvas": exchange["response"]["body"]["canvas"]});
    common::texts(&canvas)
}

#[tokio::test]
async fn the_page_is_served_when_the_preview_is_on() {
    let app = spawn_preview(&[("PREVIEW", "on")]).await;
    let resp = app.http.get(format!("{}/", app.url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(resp.headers().contains_key("content-security-policy"));
    let html = resp.text().await.unwrap();
    for want in [
        "Hana Okafor",
        "Globex Corporation",
        "lena@initech.example",
        "omar@umbrella.example",
        "nobody@nowhere.example",
        "priya@hooli.example",
        "/preview/preview.js",
        r#"data-sandbox="on""#,
    ] {
        assert!(html.contains(want), "page lacks {want}");
    }
    for asset in ["/preview/preview.js", "/preview/preview.css"] {
        let r = app
            .http
            .get(format!("{}{asset}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{asset}");
    }
    // The Canvas Kit routes are still there, and still demand a signature.
    let r = app
        .http
        .post(format!("{}/canvas/initialize", app.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn no_page_when_the_preview_is_off() {
    // Production settings (an org is configured): off unless PREVIEW=on.
    for overrides in [&[][..], &[("PREVIEW", "off")][..]] {
        let app = spawn_preview(overrides).await;
        let resp = app.http.get(format!("{}/", app.url)).send().await.unwrap();
        assert_eq!(resp.status(), 404);
        let (status, _) = app_post_status(&app, "/preview/api/initialize").await;
        assert_eq!(status, 404);
        let health = app
            .http
            .get(format!("{}/healthz", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
    }
}

async fn app_post_status(app: &PreviewApp, path: &str) -> (u16, String) {
    let r = app
        .http
        .post(format!("{}{path}", app.url))
        .json(&json!({"conversation": "4711"}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn forwarded_requests_are_signed_and_answered_with_canvases() {
    let app = spawn_preview(&[("PREVIEW", "on")]).await;

    let (status, init) = post(
        &app,
        "/preview/api/initialize",
        json!({"conversation": "4711"}),
    )
    .await;
    assert_eq!(status, 200, "{init}");
    assert_eq!(init["response"]["status"], 200, "{init}");
    assert!(canvas_texts(&init).contains("Hana Okafor"), "{init}");

    // The request shown is the request sent: its signature verifies with the secret.
    let request = &init["request"];
    assert!(request["url"]
        .as_str()
        .unwrap()
        .ends_with("/canvas/initialize"));
    assert_eq!(request["body"]["contact"]["email"], "hana@globex.example");
    assert_eq!(
        request["body"]["contact"]["companies"]["data"][0]["name"],
        "Globex Corporation"
    );
    let bytes = serde_json::to_vec(&request["body"]).unwrap();
    let sig = request["headers"]["X-Body-Signature"].as_str();
    verify_body_signature(SECRET.as_bytes(), &bytes, sig).expect("signed with the secret");

    // A submit carries the canvas it came from and the form values.
    let canvas = init["response"]["body"]["canvas"].clone();
    let (status, cases) = post(
        &app,
        "/preview/api/submit",
        json!({"conversation": "4711", "component_id": "show_cases",
               "current_canvas": canvas, "input_values": {"opportunity": "0065e000001GxEuAAK"}}),
    )
    .await;
    assert_eq!(status, 200, "{cases}");
    assert_eq!(cases["response"]["status"], 200, "{cases}");
    assert_eq!(cases["request"]["body"]["component_id"], "show_cases");
    assert_eq!(
        cases["request"]["body"]["input_values"]["opportunity"],
        "0065e000001GxEuAAK"
    );
    assert!(canvas_texts(&cases).contains("Open cases"), "{cases}");

    // The person without an email, and an unknown conversation.
    let (_, anon) = post(
        &app,
        "/preview/api/initialize",
        json!({"conversation": "4716"}),
    )
    .await;
    assert!(canvas_texts(&anon).contains("No email address"), "{anon}");
    let (status, _) = post(
        &app,
        "/preview/api/initialize",
        json!({"conversation": "nope"}),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn sandbox_controls_are_proxied_and_cross_site_requests_refused() {
    let app = spawn_preview(&[("PREVIEW", "on")]).await;
    let (status, state) = post(
        &app,
        "/preview/api/sandbox/switches",
        json!({"fail_status": 503}),
    )
    .await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["fail_status"], 503);
    let (_, failing) = post(
        &app,
        "/preview/api/initialize",
        json!({"conversation": "4711"}),
    )
    .await;
    assert_eq!(failing["response"]["status"], 200);
    assert!(
        canvas_texts(&failing).contains("Salesforce is unavailable"),
        "{failing}"
    );

    let (status, state) = post(&app, "/preview/api/sandbox/reset", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(state["fail_status"], Value::Null);
    let r = app
        .http
        .get(format!("{}/preview/api/sandbox/state", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let (status, _) = post(&app, "/preview/api/sandbox/requests", json!({})).await;
    assert_eq!(status, 404, "only the listed controls are proxied");

    let r = app
        .http
        .post(format!("{}/preview/api/sandbox/revoke", app.url))
        .header("sec-fetch-site", "cross-site")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}
