//! A browser for the OAuth flows over loopback: it keeps cookies per host
//! (the app's session and OAuth-binding cookies), follows no redirect by
//! itself (each hop is checked by the test), and submits the sandbox
//! pages' forms as a person clicking their buttons would.

use std::collections::HashMap;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};
use url::Url;

#[derive(Default)]
pub struct Browser {
    http: reqwest::Client,
    /// host:port → cookie name → value.
    jar: HashMap<String, HashMap<String, String>>,
}

fn origin(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: HashMap::new(),
        }
    }

    fn cookie_header(&self, url: &Url) -> Option<String> {
        let jar = self.jar.get(&origin(url))?;
        (!jar.is_empty()).then(|| {
            jar.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn keep_cookies(&mut self, url: &Url, resp: &Response) {
        let jar = self.jar.entry(origin(url)).or_default();
        for v in resp.headers().get_all(SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attrs.contains("Max-Age=0") {
                jar.remove(name.trim());
            } else {
                jar.insert(name.trim().to_string(), value.trim().to_string());
            }
        }
    }

    /// A cookie this browser holds for `url`'s host.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        self.jar
            .get(&origin(&Url::parse(url).unwrap()))?
            .get(name)
            .cloned()
    }

    /// Forgets every cookie (another browser, same person).
    pub fn clear_cookies(&mut self) {
        self.jar.clear();
    }

    pub async fn get(&mut self, url: &str) -> Response {
        let u = Url::parse(url).unwrap();
        let mut req = self.http.get(u.clone());
        if let Some(c) = self.cookie_header(&u) {
            req = req.header(COOKIE, c);
        }
        let resp = req.send().await.unwrap();
        self.keep_cookies(&u, &resp);
        resp
    }

    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Response {
        let u = Url::parse(url).unwrap();
        let mut req = self.http.post(u.clone()).form(form);
        if let Some(c) = self.cookie_header(&u) {
            req = req.header(COOKIE, c);
        }
        let resp = req.send().await.unwrap();
        self.keep_cookies(&u, &resp);
        resp
    }

    /// Where a redirect points (absolute), asserting it is one.
    pub fn location(resp: &Response) -> String {
        assert!(
            resp.status().is_redirection(),
            "expected a redirect, got {}",
            resp.status()
        );
        let loc = resp.headers()[LOCATION].to_str().unwrap();
        resp.url().join(loc).unwrap().to_string()
    }

    /// The query parameters of a URL.
    pub fn query(url: &str) -> HashMap<String, String> {
        Url::parse(url)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect()
    }

    /// `GET /install` on the app → the sandbox Intercom's Install page →
    /// Install with these ids → the app's callback URL (not yet visited).
    pub async fn install_consent(
        &mut self,
        app_url: &str,
        workspace_id: &str,
        admin_id: &str,
    ) -> String {
        let to_intercom = self.get(&format!("{app_url}/install")).await;
        let authorize = Self::location(&to_intercom);
        let q = Self::query(&authorize);
        let page = self.get(&authorize).await;
        assert_eq!(page.status(), StatusCode::OK, "Intercom's install page");
        assert!(page.text().await.unwrap().contains("Install"));
        let base = Url::parse(&authorize)
            .unwrap()
            .join("/oauth/authorize")
            .unwrap();
        let installed = self
            .post_form(
                base.as_str(),
                &[
                    ("client_id", q["client_id"].as_str()),
                    ("redirect_uri", q["redirect_uri"].as_str()),
                    ("state", q["state"].as_str()),
                    ("workspace_id", workspace_id),
                    ("workspace_name", &format!("Workspace {workspace_id}")),
                    ("admin_id", admin_id),
                    ("admin_name", "Ada Admin"),
                    ("admin_email", &format!("{admin_id}@example.com")),
                    ("region", "us"),
                ],
            )
            .await;
        Self::location(&installed)
    }

    /// The whole install: consent, then the app's callback; returns the
    /// callback's answer (a redirect to the connect flow or the console).
    pub async fn install(&mut self, app_url: &str, workspace_id: &str, admin_id: &str) -> Response {
        let callback = self.install_consent(app_url, workspace_id, admin_id).await;
        self.get(&callback).await
    }

    /// `GET /connect/salesforce{query}` → the org's Allow page → Allow →
    /// the app's callback URL (not yet visited).
    pub async fn connect_consent(&mut self, app_url: &str, query: &str) -> String {
        let to_org = self
            .get(&format!("{app_url}/connect/salesforce{query}"))
            .await;
        let authorize = Self::location(&to_org);
        let page = self.get(&authorize).await;
        assert_eq!(page.status(), StatusCode::OK, "the org's authorize page");
        assert!(page.text().await.unwrap().contains("Allow"));
        let q = Self::query(&authorize);
        let mut form: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        form.push(("decision", "allow"));
        let base = Url::parse(&authorize)
            .unwrap()
            .join("/services/oauth2/authorize")
            .unwrap();
        let allowed = self.post_form(base.as_str(), &form).await;
        Self::location(&allowed)
    }

    /// The whole connect: consent, then the app's callback.
    pub async fn connect(&mut self, app_url: &str, query: &str) -> Response {
        let callback = self.connect_consent(app_url, query).await;
        self.get(&callback).await
    }
}
