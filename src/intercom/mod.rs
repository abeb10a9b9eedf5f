//! The Intercom REST client: the few calls the app makes back into Intercom
//! (a teammate's email, a conversation and its parts, a person, a note).
//!
//! The host follows the workspace's region (`us`, `eu`, `au`) unless
//! `INTERCOM_API_URL` pins one (the sandbox and tests point it at the fake
//! Intercom). The API version is pinned so a change on Intercom's side
//! cannot silently change the shapes parsed here.

pub mod data_connectors;
pub mod oauth;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::config::Secret;

pub const INTERCOM_VERSION: &str = "2.11";

#[derive(Debug, Clone, thiserror::Error)]
pub enum IntercomError {
    #[error("INTERCOM_ACCESS_TOKEN is not set")]
    NotConfigured,
    #[error("Intercom refused the access token")]
    Unauthorized,
    #[error("Intercom rate limit reached")]
    RateLimited,
    #[error("Intercom could not find {0}")]
    NotFound(String),
    #[error("Intercom is unavailable: {0}")]
    Unavailable(String),
    #[error("Intercom sent an answer that could not be read: {0}")]
    Malformed(String),
    #[error("Intercom rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Admin {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Author {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Part {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub part_type: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub author: Option<Author>,
    #[serde(default)]
    pub created_at: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Source {
    #[serde(default, deserialize_with = "opt_id_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub author: Option<Author>,
    #[serde(default)]
    pub subject: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ContactRef {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Conversation {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub admin_assignee_id: Option<String>,
    #[serde(default)]
    pub created_at: Option<i64>,
    #[serde(default)]
    pub source: Option<Source>,
    /// `contacts.contacts[]`: the first is the original participant.
    #[serde(default, deserialize_with = "contact_list")]
    pub contacts: Vec<ContactRef>,
    /// `conversation_parts.conversation_parts[]`
    #[serde(default, deserialize_with = "part_list")]
    pub conversation_parts: Vec<Part>,
    /// The conversation's title (empty or absent when none was set).
    #[serde(default)]
    pub title: Option<String>,
    /// Conversation attributes: name → value (text, number, boolean, or a
    /// date as a Unix timestamp).
    #[serde(default)]
    pub custom_attributes: serde_json::Map<String, Value>,
}

/// One data attribute definition (`GET /data_attributes`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct DataAttribute {
    pub name: String,
    #[serde(default)]
    pub model: Option<String>,
    /// `string`, `integer`, `float`, `boolean`, `date`, `datetime`.
    #[serde(default)]
    pub data_type: String,
    /// A list attribute's options.
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub archived: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Contact {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub owner_id: Option<String>,
}

fn id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    opt_id_string(d)?.ok_or_else(|| serde::de::Error::custom("missing id"))
}

/// Intercom sends some ids as numbers and some as strings; read both, and
/// an empty string as none.
pub(crate) fn opt_id_string<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

fn contact_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ContactRef>, D::Error> {
    let v = Option::<Value>::deserialize(d)?.unwrap_or(Value::Null);
    let list = v.get("contacts").cloned().unwrap_or(Value::Array(vec![]));
    serde_json::from_value(list).map_err(serde::de::Error::custom)
}

fn part_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Part>, D::Error> {
    let v = Option::<Value>::deserialize(d)?.unwrap_or(Value::Null);
    let list = v
        .get("conversation_parts")
        .cloned()
        .unwrap_or(Value::Array(vec![]));
    serde_json::from_value(list).map_err(serde::de::Error::custom)
}

pub struct IntercomClient {
    http: reqwest::Client,
    token: Option<Secret>,
    /// `INTERCOM_API_URL`: overrides the regional default.
    base_override: Option<Url>,
}

impl IntercomClient {
    pub fn new(http: reqwest::Client, token: Option<Secret>, base_override: Option<Url>) -> Self {
        IntercomClient {
            http,
            token,
            base_override,
        }
    }

    pub fn is_configured(&self) -> bool {
        self.token.is_some()
    }

    /// The REST host for a workspace region.
    pub fn base_url(&self, region: Option<&str>) -> Url {
        if let Some(u) = &self.base_override {
            return u.clone();
        }
        Self::region_url(region)
    }

    /// Intercom's REST host of a region (`us`, `eu`, `au`).
    pub fn region_url(region: Option<&str>) -> Url {
        let host = match region.map(str::to_ascii_lowercase).as_deref() {
            Some("eu") => "https://api.eu.intercom.io",
            Some("au") => "https://api.au.intercom.io",
            _ => "https://api.intercom.io",
        };
        Url::parse(host).expect("static URL parses")
    }

    async fn call<T: DeserializeOwned>(
        &self,
        region: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, IntercomError> {
        self.call_at(INTERCOM_VERSION, region, method, path, body)
            .await
    }

    /// [`Self::call`] at another API version (endpoints newer than the
    /// pinned one, such as data connectors in 2.16).
    async fn call_at<T: DeserializeOwned>(
        &self,
        version: &str,
        region: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, IntercomError> {
        let token = self.token.as_ref().ok_or(IntercomError::NotConfigured)?;
        let url = self
            .base_url(region)
            .join(path)
            .map_err(|e| IntercomError::Malformed(e.to_string()))?;
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(token.expose())
            .header("Accept", "application/json")
            .header("Intercom-Version", version)
            .timeout(Duration::from_secs(10));
        if let Some(b) = body {
            req = req.json(b);
        }
        let (status, bytes) = send(req).await?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| IntercomError::Malformed(e.to_string()));
        }
        Err(answer_error(status, &bytes, path))
    }

    /// `GET /admins/{id}`: a teammate (their email maps them to a Salesforce user).
    pub async fn admin(&self, region: Option<&str>, id: &str) -> Result<Admin, IntercomError> {
        self.call(region, Method::GET, &format!("/admins/{}", seg(id)), None)
            .await
    }

    /// `GET /conversations/{id}`: the conversation with its parts.
    pub async fn conversation(
        &self,
        region: Option<&str>,
        id: &str,
    ) -> Result<Conversation, IntercomError> {
        self.call(
            region,
            Method::GET,
            &format!("/conversations/{}?display_as=plaintext", seg(id)),
            None,
        )
        .await
    }

    /// `GET /contacts/{id}`
    pub async fn contact(&self, region: Option<&str>, id: &str) -> Result<Contact, IntercomError> {
        self.call(region, Method::GET, &format!("/contacts/{}", seg(id)), None)
            .await
    }

    /// `GET /contacts/{id}/companies`: the names of the person's companies
    /// (a Canvas Kit request carries only their ids).
    pub async fn contact_company_names(
        &self,
        region: Option<&str>,
        contact_id: &str,
    ) -> Result<Vec<String>, IntercomError> {
        #[derive(Deserialize)]
        struct Company {
            #[serde(default)]
            name: Option<String>,
        }
        #[derive(Deserialize)]
        struct List {
            #[serde(default)]
            data: Vec<Company>,
        }
        let list: List = self
            .call(
                region,
                Method::GET,
                &format!("/contacts/{}/companies", seg(contact_id)),
                None,
            )
            .await?;
        Ok(list
            .data
            .into_iter()
            .filter_map(|c| c.name)
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect())
    }

    /// `GET /data_attributes?model={model}`: the attribute definitions of
    /// one model (`conversation`, `contact`, `company`), archived ones left out.
    pub async fn data_attributes(
        &self,
        region: Option<&str>,
        model: &str,
    ) -> Result<Vec<DataAttribute>, IntercomError> {
        #[derive(Deserialize)]
        struct List {
            #[serde(default)]
            data: Vec<DataAttribute>,
        }
        let list: List = self
            .call(
                region,
                Method::GET,
                &format!("/data_attributes?model={}", seg(model)),
                None,
            )
            .await?;
        Ok(list.data.into_iter().filter(|a| !a.archived).collect())
    }

    /// `POST /conversations/{id}/reply` with a note from `admin_id`.
    pub async fn add_note(
        &self,
        region: Option<&str>,
        conversation_id: &str,
        admin_id: &str,
        html: &str,
    ) -> Result<(), IntercomError> {
        let body = ReplyRequest {
            message_type: "note",
            kind: "admin",
            admin_id,
            body: html,
        };
        let _: Value = self
            .call(
                region,
                Method::POST,
                &format!("/conversations/{}/reply", seg(conversation_id)),
                Some(&serde_json::to_value(&body).expect("a reply serialises")),
            )
            .await?;
        Ok(())
    }
}

/// The body of `POST /conversations/{id}/reply` as an admin.
#[derive(Debug, Serialize)]
struct ReplyRequest<'a> {
    /// `note` (internal) or `comment` (to the customer).
    message_type: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    admin_id: &'a str,
    body: &'a str,
}

/// Ids come from requests; keep them to one path segment.
fn seg(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The conversation in the Intercom Inbox, for links from Salesforce
/// records (case descriptions, task descriptions) back to it.
/// Sends `req` and reads the whole answer (a transport failure is
/// [`IntercomError::Unavailable`]).
pub(crate) async fn send(
    req: reqwest::RequestBuilder,
) -> Result<(StatusCode, bytes::Bytes), IntercomError> {
    let resp = req
        .send()
        .await
        .map_err(|e| IntercomError::Unavailable(e.to_string()))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| IntercomError::Unavailable(e.to_string()))?;
    Ok((status, bytes))
}

/// What an unsuccessful answer about `what` means; the message is the one
/// of Intercom's `{"type": "error.list", "errors": [{"code", "message"}]}`.
pub(crate) fn answer_error(status: StatusCode, bytes: &[u8], what: &str) -> IntercomError {
    let message = serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| {
            let e = &v["errors"][0];
            e["message"]
                .as_str()
                .or(e["code"].as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).chars().take(200).collect());
    match status {
        StatusCode::UNAUTHORIZED => IntercomError::Unauthorized,
        StatusCode::NOT_FOUND => IntercomError::NotFound(what.to_string()),
        StatusCode::TOO_MANY_REQUESTS => IntercomError::RateLimited,
        s if s.is_server_error() => IntercomError::Unavailable(format!("HTTP {s}: {message}")),
        s => IntercomError::Rejected {
            status: s.as_u16(),
            message,
        },
    }
}

pub fn conversation_url(workspace_id: &str, conversation_id: &str) -> String {
    format!("https://app.intercom.com/a/inbox/{workspace_id}/inbox/conversation/{conversation_id}")
}

/// Escapes text for HTML: a note's body, and element content and quoted
/// attributes of the preview page (`&`, `<`, `>`, `"` and `'`).
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The text of an HTML part body, for snippets (tags dropped, entities read).
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_pick_hosts() {
        crate::app::install_crypto();
        let c = IntercomClient::new(reqwest::Client::new(), None, None);
        assert_eq!(
            c.base_url(Some("eu")).as_str(),
            "https://api.eu.intercom.io/"
        );
        assert_eq!(
            c.base_url(Some("AU")).as_str(),
            "https://api.au.intercom.io/"
        );
        assert_eq!(c.base_url(None).as_str(), "https://api.intercom.io/");
        let pinned = IntercomClient::new(
            reqwest::Client::new(),
            None,
            Some(Url::parse("http://127.0.0.1:9").unwrap()),
        );
        assert_eq!(pinned.base_url(Some("eu")).as_str(), "http://127.0.0.1:9/");
    }

    #[test]
    fn parses_a_conversation_leniently() {
        let v = serde_json::json!({
            "type": "conversation", "id": "4711", "state": "open", "admin_assignee_id": 814860,
            "source": {"type": null, "id": "1", "body": "<p>Hi &amp; hello</p>",
                       "author": {"type": "user", "id": "abc", "name": "Hana", "email": "hana@globex.example"}},
            "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "abc"}]},
            "teammates": {"type": "admin.list", "admins": []},
            "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [
                {"type": "conversation_part", "id": 99, "part_type": "note", "body": "<p>x</p>",
                 "author": {"type": "admin", "id": "814860"}, "created_at": 1700000000}],
                "total_count": 1}
        });
        let c: Conversation = serde_json::from_value(v).unwrap();
        assert_eq!(c.admin_assignee_id.as_deref(), Some("814860"));
        assert_eq!(c.contacts[0].id, "abc");
        assert_eq!(c.conversation_parts[0].id, "99");
        assert_eq!(
            html_to_text(c.source.unwrap().body.as_deref().unwrap()),
            "Hi & hello"
        );
    }

    #[test]
    fn escapes_html_and_path_segments() {
        assert_eq!(
            html_escape("<b>O'Brien & co</b>"),
            "&lt;b&gt;O&#39;Brien &amp; co&lt;/b&gt;"
        );
        assert_eq!(seg("../admins"), "%2E%2E%2Fadmins");
    }
}
