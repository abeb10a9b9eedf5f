//! Test harness: the fake Salesforce org and the app, each on its own
//! random loopback port, talking real HTTP.
#![allow(dead_code)]

pub mod browser;
pub mod chromium;
pub mod logs;
pub mod preview;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use sf_inbox::app::{self, App};
use sf_inbox::canvas::signature::{sign_body, sign_hub};
use sf_inbox::canvas::CanvasRequestBuilder;
use sf_inbox::config::{Config, LoginChoice};
use sf_inbox::intercom::IntercomClient;
use sf_inbox::sidebar::Sidebar;
use sf_inbox::store::Store;
use sf_inbox::tasks::worker::Fault;
use sf_inbox::workspaces::Registry;
use sf_sandbox::intercom::{FakeIntercom, SANDBOX_INTERCOM_CLIENT_ID, SANDBOX_INTERCOM_TOKEN};
use sf_sandbox::FakeOrg;

pub const SECRET: &str = "test-intercom-secret";

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub async fn start_org() -> FakeOrg {
    FakeOrg::start("127.0.0.1:0".parse().unwrap(), &fixtures())
        .await
        .expect("fake org starts")
}

pub struct TestApp {
    pub url: String,
    pub org: FakeOrg,
    /// The sandbox Intercom REST API the app's notes and lookups go to.
    pub intercom: FakeIntercom,
    pub intercom_client: Arc<IntercomClient>,
    pub sidebar: Arc<Sidebar>,
    pub http: reqwest::Client,
    pub server: tokio::task::JoinHandle<()>,
    /// With `AUTO_TASKS` on: the durable queue and the running worker.
    pub queue: Option<Store>,
    pub worker: Option<tokio::task::JoinHandle<()>>,
    /// Wakes the worker (after moving the queue's clock, say).
    pub wake: Option<Arc<tokio::sync::Notify>>,
    /// Every workspace's tenant.
    pub registry: Arc<Registry>,
    /// With `install()`: the second sandbox org, the Connect page's default.
    pub org_b: Option<FakeOrg>,
}

/// Settings pointing at `org`, plus overrides (an empty value removes a
/// setting).
pub fn config_for(org: &FakeOrg, overrides: &[(&str, &str)]) -> Config {
    let mut env: HashMap<String, String> = [
        ("SALESFORCE_LOGIN_URL", org.url()),
        (
            "SALESFORCE_CLIENT_ID",
            sf_sandbox::SANDBOX_CLIENT_ID.to_string(),
        ),
        (
            "SALESFORCE_CLIENT_SECRET",
            sf_sandbox::SANDBOX_CLIENT_SECRET.to_string(),
        ),
        (
            "SALESFORCE_REFRESH_TOKEN",
            sf_sandbox::SANDBOX_REFRESH_TOKEN.to_string(),
        ),
        ("INTERCOM_CLIENT_SECRET", SECRET.to_string()),
        ("SALESFORCE_TIMEOUT_MS", "2000".to_string()),
        ("BIND_ADDR", "127.0.0.1:0".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in overrides {
        if v.is_empty() {
            env.remove(*k);
        } else {
            env.insert(k.to_string(), v.to_string());
        }
    }
    Config::from_lookup(|k| env.get(k).cloned()).expect("test config is valid")
}

/// How a test app is made: `TestApp::builder().env(..).auto_tasks().spawn()`.
/// By default: a fresh sandbox org and Intercom API, tokens in memory,
/// automatic tasks off.
#[derive(Default)]
pub struct TestAppBuilder {
    env: Vec<(String, String)>,
    org: Option<FakeOrg>,
    intercom: Option<FakeIntercom>,
    tokens: Option<Store>,
    job_lease: Option<std::time::Duration>,
    fault: Option<Fault>,
    install: bool,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// Stops the server and the worker, handing back the fakes so that a
    /// "restart" can run on the same org and Intercom.
    pub fn stop(self) -> (FakeOrg, FakeIntercom) {
        self.server.abort();
        if let Some(w) = &self.worker {
            w.abort();
        }
        (self.org, self.intercom)
    }

    /// Moves the task queue's clock forward by `d` and wakes the worker:
    /// what a back-off waits for, without waiting.
    pub fn advance_queue_clock(&self, d: std::time::Duration) {
        self.queue().clock().advance(d);
        self.wake
            .as_ref()
            .expect("built with auto_tasks()")
            .notify_one();
    }

    /// The durable task queue (`AUTO_TASKS` on).
    pub fn queue(&self) -> &Store {
        self.queue.as_ref().expect("built with auto_tasks()")
    }
}

impl TestAppBuilder {
    /// One setting (an empty value removes it from the defaults).
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    pub fn envs(mut self, pairs: &[(&str, &str)]) -> Self {
        for (k, v) in pairs {
            self = self.env(k, v);
        }
        self
    }

    /// `AUTO_TASKS=on` with the queue in memory and webhooks from `ws-test`.
    pub fn auto_tasks(self) -> Self {
        self.env("AUTO_TASKS", "on")
            .env("DATABASE_URL", "sqlite::memory:")
            .workspace("ws-test")
    }

    /// `INTERCOM_WORKSPACE_ID`.
    pub fn workspace(self, id: &str) -> Self {
        self.env("INTERCOM_WORKSPACE_ID", id)
    }

    /// Runs against this org instead of a fresh one.
    pub fn org(mut self, org: FakeOrg) -> Self {
        self.org = Some(org);
        self
    }

    /// Runs against this Intercom API instead of a fresh one.
    pub fn intercom(mut self, intercom: FakeIntercom) -> Self {
        self.intercom = Some(intercom);
        self
    }

    /// Where Salesforce tokens are kept (memory by default).
    pub fn tokens(mut self, store: Store) -> Self {
        self.tokens = Some(store);
        self
    }

    /// The install routes on (`INTERCOM_CLIENT_ID` and the sandbox
    /// Intercom's OAuth), with a second sandbox org to connect to (the
    /// Connect page's default; `?login=org-a` picks the first).
    pub fn install(mut self) -> Self {
        self.install = true;
        self
    }

    /// A fault point in the task worker (crash tests).
    pub fn fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }

    /// How long the worker's claim on a job lasts (a dead worker's test).
    pub fn job_lease(mut self, d: std::time::Duration) -> Self {
        self.job_lease = Some(d);
        self
    }

    pub async fn spawn(self) -> TestApp {
        let org = match self.org {
            Some(o) => o,
            None => start_org().await,
        };
        let intercom = match self.intercom {
            Some(i) => i,
            None => FakeIntercom::start("127.0.0.1:0".parse().unwrap(), &fixtures())
                .await
                .expect("fake Intercom starts"),
        };
        let intercom_url = intercom.url();
        // One client secret for OAuth and signatures, as Intercom has.
        intercom.set_client_secret(SECRET);
        let mut all: Vec<(&str, &str)> = vec![
            ("INTERCOM_ACCESS_TOKEN", SANDBOX_INTERCOM_TOKEN),
            ("INTERCOM_API_URL", &intercom_url),
        ];
        let (oauth_url, token_url) = (
            format!("{intercom_url}/oauth"),
            format!("{intercom_url}/auth/eagle/token"),
        );
        if self.install {
            all.extend([
                ("INTERCOM_CLIENT_ID", SANDBOX_INTERCOM_CLIENT_ID),
                ("INTERCOM_OAUTH_URL", oauth_url.as_str()),
                ("INTERCOM_TOKEN_URL", token_url.as_str()),
            ]);
        }
        all.extend(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut config = config_for(&org, &all);
        let org_b = match self.install {
            true => Some(
                FakeOrg::start_with(
                    "127.0.0.1:0".parse().unwrap(),
                    &fixtures(),
                    sf_sandbox::OrgOptions::second(),
                )
                .await
                .expect("org B starts"),
            ),
            false => None,
        };
        if let Some(b) = &org_b {
            config.connect_logins = vec![
                LoginChoice {
                    key: "org-b".into(),
                    label: "Sandbox org B".into(),
                    url: b.url().parse().unwrap(),
                },
                LoginChoice {
                    key: "org-a".into(),
                    label: "Sandbox org A".into(),
                    url: org.url().parse().unwrap(),
                },
            ];
        }
        let tokens = self.tokens.unwrap_or_else(Store::memory);
        let App {
            router,
            sidebar,
            intercom: intercom_client,
            task_queue,
            worker,
            registry,
            ..
        } = app::build_with(
            &config,
            tokens,
            app::Extras {
                fault: self.fault,
                job_lease: self.job_lease,
                ..app::Extras::default()
            },
        )
        .expect("app builds");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        registry.set_public_base(&format!("http://{addr}"));
        let router = sf_inbox::edge::traced(router);
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        TestApp {
            url: format!("http://{addr}"),
            org,
            intercom,
            intercom_client,
            sidebar,
            http: reqwest::Client::new(),
            server,
            wake: task_queue.as_ref().map(|(_, w)| w.clone()),
            queue: task_queue.map(|(s, _)| s),
            worker,
            registry,
            org_b,
        }
    }
}

pub async fn spawn() -> TestApp {
    TestApp::builder().spawn().await
}

pub async fn spawn_with(overrides: &[(&str, &str)]) -> TestApp {
    TestApp::builder().envs(overrides).spawn().await
}

pub async fn spawn_on(org: FakeOrg, overrides: &[(&str, &str)], store: Store) -> TestApp {
    TestApp::builder()
        .org(org)
        .envs(overrides)
        .tokens(store)
        .spawn()
        .await
}

impl TestApp {
    pub async fn post_signed(&self, path: &str, body: &Value) -> reqwest::Response {
        let (bytes, sig) = Signed::canvas(body);
        self.http
            .post(format!("{}{}", self.url, path))
            .header("content-type", "application/json")
            .header("x-body-signature", sig)
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    /// Posts and returns the canvas, asserting Intercom got a 200.
    pub async fn canvas(&self, path: &str, body: &Value) -> Value {
        let resp = self.post_signed(path, body).await;
        assert_eq!(
            resp.status(),
            200,
            "Intercom must always get a 200 and a canvas"
        );
        let v: Value = resp.json().await.unwrap();
        assert!(v["canvas"]["content"]["components"].is_array(), "{v}");
        v
    }

    pub async fn initialize(&self, body: &Value) -> Value {
        self.canvas("/canvas/initialize", body).await
    }

    pub async fn submit(&self, body: &Value) -> Value {
        self.canvas("/canvas/submit", body).await
    }

    /// Posts a webhook body with `signature` as its `X-Hub-Signature`
    /// (`None`: no header).
    pub async fn post_hook(&self, body: &[u8], signature: Option<String>) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}/webhooks/intercom", self.url))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(s) = signature {
            req = req.header("x-hub-signature", s);
        }
        req.send().await.unwrap()
    }

    /// Delivers a signed notification and returns the JSON answer,
    /// asserting a 200.
    pub async fn deliver(&self, notification: &Notification) -> Value {
        let (body, sig) = Signed::hook(&notification.body());
        let resp = self.post_hook(&body, Some(sig)).await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }
}

/// Signing as Intercom does.
pub struct Signed;

impl Signed {
    /// The bytes of a Canvas Kit body and their `X-Body-Signature`.
    pub fn canvas(body: &Value) -> (Vec<u8>, String) {
        let bytes = serde_json::to_vec(body).unwrap();
        let sig = sign_body(SECRET.as_bytes(), &bytes);
        (bytes, sig)
    }

    /// The bytes of a webhook body and their `X-Hub-Signature`.
    pub fn hook(body: &Value) -> (Vec<u8>, String) {
        let bytes = serde_json::to_vec(body).unwrap();
        let sig = sign_hub(SECRET.as_bytes(), &bytes);
        (bytes, sig)
    }
}

/// A webhook notification in Intercom's shape:
/// `Notification::new("n1", CREATED, "4712").app_id("ws-other")`.
#[derive(Debug, Clone)]
pub struct Notification {
    pub id: String,
    pub topic: String,
    pub conversation: String,
    pub app_id: String,
}

impl Notification {
    pub fn new(id: &str, topic: &str, conversation: &str) -> Notification {
        Notification {
            id: id.to_string(),
            topic: topic.to_string(),
            conversation: conversation.to_string(),
            app_id: "ws-test".to_string(),
        }
    }

    pub fn app_id(mut self, app_id: &str) -> Notification {
        self.app_id = app_id.to_string();
        self
    }

    pub fn body(&self) -> Value {
        json!({
            "type": "notification_event", "app_id": self.app_id, "id": self.id,
            "topic": self.topic, "delivery_attempts": 1, "created_at": 1767000000,
            "data": {"type": "notification_event_data",
                     "item": {"type": "conversation", "id": self.conversation, "state": "open"}}
        })
    }

    pub fn bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.body()).unwrap()
    }
}

/// An initialize body for a person, in the documented shape (through the
/// app's one request builder).
pub fn person(role: &str, email: Option<&str>, company: Option<&str>) -> Value {
    let mut b = CanvasRequestBuilder::new("ws-test")
        .region("us")
        .admin("814860", Some("Ruth Teammate"), Some("ruth@example.com"))
        .contact(role, email)
        .contact_id("ic-1")
        .name("Someone");
    if let Some(c) = company {
        b = b.company(Some("c1"), c);
    }
    b.conversation("4711")
        .state("open")
        .assignee("814860")
        .build()
}

/// A submit body: the same person, the clicked component, the canvas it
/// came from (its `stored_data`), and the form values.
pub fn submit_from(init: &Value, previous: &Value, component: &str, inputs: Value) -> Value {
    CanvasRequestBuilder::on(init)
        .submit(component, previous["canvas"].clone(), inputs)
        .build()
}

/// Every text a teammate would read on the canvas, in order.
pub fn texts(canvas: &Value) -> String {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for k in [
                    "text",
                    "label",
                    "title",
                    "subtitle",
                    "tertiary_text",
                    "field",
                    "value",
                ] {
                    if let Some(Value::String(s)) = m.get(k) {
                        out.push(s.clone());
                    }
                }
                for (k, v) in m {
                    if k != "stored_data" {
                        walk(v, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&canvas["canvas"]["content"], &mut out);
    out.join("\n")
}

pub fn component_ids(canvas: &Value) -> Vec<String> {
    canvas["canvas"]["content"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_string))
        .collect()
}

pub fn find_component<'a>(canvas: &'a Value, id: &str) -> Option<&'a Value> {
    canvas["canvas"]["content"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
}

/// What Intercom sends back as `input_values` on a submit: the value of
/// every input, textarea, dropdown and single-select on `canvas`, with
/// `overrides` typed over them.
pub fn input_values(canvas: &Value, overrides: &[(&str, &str)]) -> Value {
    let mut m = serde_json::Map::new();
    for c in canvas["canvas"]["content"]["components"]
        .as_array()
        .unwrap()
    {
        if matches!(
            c["type"].as_str(),
            Some("input" | "textarea" | "dropdown" | "single-select")
        ) {
            m.insert(
                c["id"].as_str().unwrap().to_string(),
                c.get("value").cloned().unwrap_or(json!("")),
            );
        }
    }
    for (k, v) in overrides {
        m.insert(k.to_string(), json!(v));
    }
    Value::Object(m)
}
