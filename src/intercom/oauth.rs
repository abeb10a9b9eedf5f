//! Intercom OAuth for public apps (the install): the authorize URL, the
//! code → token exchange at `/auth/eagle/token`, and `GET /me`, which names
//! the installing admin and the workspace (`app.id_code`, the id Canvas Kit
//! sends as `workspace_id` and webhooks as `app_id`). Intercom's tokens
//! have no expiry and no refresh token: one lasts until the app is
//! uninstalled.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{IntercomClient, IntercomError};
use crate::config::Secret;

/// `oauth_url?client_id=…&state=…&redirect_uri=…`: where the admin's
/// browser goes to install the app.
pub fn authorize_url(oauth_url: &Url, client_id: &str, state: &str, redirect_uri: &str) -> Url {
    let mut url = oauth_url.clone();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("state", state)
        .append_pair("redirect_uri", redirect_uri);
    url
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// Exchanges the callback's `code` for the workspace's access token.
pub async fn exchange_code(
    http: &reqwest::Client,
    token_url: &Url,
    code: &str,
    client_id: &str,
    client_secret: &Secret,
) -> Result<Secret, IntercomError> {
    let req = http
        .post(token_url.clone())
        .form(&[
            ("code", code),
            ("client_id", client_id),
            ("client_secret", client_secret.expose()),
        ])
        .header("Accept", "application/json")
        .timeout(Duration::from_secs(10));
    let (status, bytes) = super::send(req).await?;
    if !status.is_success() {
        return Err(super::answer_error(status, &bytes, "the install code"));
    }
    let answer: TokenAnswer =
        serde_json::from_slice(&bytes).map_err(|e| IntercomError::Malformed(e.to_string()))?;
    answer
        .access_token
        .or(answer.token)
        .filter(|t| !t.is_empty())
        .map(Secret::new)
        .ok_or_else(|| IntercomError::Malformed("the token answer has no token".to_string()))
}

/// The admin a token belongs to, and their workspace (`GET /me`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub admin_id: String,
    pub admin_name: String,
    pub admin_email: String,
    /// `app.id_code`.
    pub workspace_id: String,
    pub workspace_name: Option<String>,
    /// `us`, `eu` or `au`.
    pub region: String,
}

#[derive(Deserialize)]
struct MeAnswer {
    id: Value,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    app: MeApp,
}

#[derive(Deserialize)]
struct MeApp {
    id_code: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    region: Option<String>,
}

/// Intercom names regions `US`, `Europe`, `Australia` in `/me`; the app
/// keeps the REST host's short names.
pub fn region_code(region: Option<&str>) -> String {
    match region.map(|r| r.trim().to_ascii_lowercase()).as_deref() {
        Some("eu" | "europe") => "eu".to_string(),
        Some("au" | "australia") => "au".to_string(),
        _ => "us".to_string(),
    }
}

impl IntercomClient {
    /// `GET /me` with this client's token.
    pub async fn me(&self) -> Result<Me, IntercomError> {
        let a: MeAnswer = self.call(None, reqwest::Method::GET, "/me", None).await?;
        let admin_id = match a.id {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            _ => return Err(IntercomError::Malformed("/me has no admin id".to_string())),
        };
        Ok(Me {
            admin_id,
            admin_name: a.name.unwrap_or_default(),
            admin_email: a.email.unwrap_or_default(),
            workspace_id: a.app.id_code,
            workspace_name: a.app.name,
            region: region_code(a.app.region.as_deref()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_url_carries_its_three_parameters_encoded() {
        let u = authorize_url(
            &Url::parse("https://app.intercom.com/oauth").unwrap(),
            "cid",
            "s t&x",
            "https://app.example/oauth/intercom/callback",
        );
        let q: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        assert_eq!(
            q,
            vec![
                ("client_id".into(), "cid".into()),
                ("state".into(), "s t&x".into()),
                (
                    "redirect_uri".into(),
                    "https://app.example/oauth/intercom/callback".into()
                ),
            ]
        );
    }

    #[test]
    fn regions_as_me_names_them() {
        assert_eq!(region_code(Some("Europe")), "eu");
        assert_eq!(region_code(Some("AU")), "au");
        assert_eq!(region_code(Some("US")), "us");
        assert_eq!(region_code(None), "us");
    }
}
