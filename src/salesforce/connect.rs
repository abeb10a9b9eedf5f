//! Connecting an org: the OAuth 2.0 web-server flow with PKCE (S256).
//!
//! The admin's browser goes to `{login}/services/oauth2/authorize` with
//! the challenge and a `state`; Salesforce sends it back to the fixed
//! redirect URI with a `code`, which is exchanged (with the verifier and
//! the client secret) for the refresh token, the instance URL and the
//! identity URL (org id, user id). Disconnect revokes the refresh token at
//! `/services/oauth2/revoke`, which ends its access tokens too.
//!
//! The login host is the admin's choice (production, test or a My Domain),
//! kept with the state so the exchange goes to the host that issued the code.

use std::time::Duration;

use oauth2::basic::BasicErrorResponseType;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use url::Url;

use super::auth::{send_oauth, SalesforceTokenResponse, TOKEN_TIMEOUT};
use crate::config::Secret;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET are not set")]
    NotConfigured,
    #[error("{0} is not a Salesforce login host")]
    BadHost(String),
    /// Salesforce refused the code (reused, expired, wrong verifier).
    #[error("Salesforce refused the authorization: {0}")]
    Refused(String),
    #[error("Salesforce is unavailable: {0}")]
    Unavailable(String),
    #[error("Salesforce's answer could not be read: {0}")]
    Malformed(String),
}

/// The connected app's side of the flow.
#[derive(Clone)]
pub struct WebServerFlow {
    pub client_id: String,
    pub client_secret: Secret,
    /// `PUBLIC_URL` + `/oauth/salesforce/callback`.
    pub redirect_uri: Url,
}

/// Where to send the admin, and what to keep until the callback.
pub struct Authorize {
    pub url: Url,
    pub state: String,
    pub verifier: Secret,
}

/// What a successful exchange yields.
#[derive(Debug)]
pub struct Connected {
    pub refresh_token: Secret,
    pub access_token: Secret,
    pub instance_url: String,
    pub org_id: Option<String>,
    pub user_id: Option<String>,
    /// `https://login.salesforce.com/id/<org>/<user>`.
    pub identity_url: Option<String>,
}

/// A login host as the flow uses it: `https://host` with no path.
pub fn login_host(raw: &str) -> Result<Url, ConnectError> {
    let bad = || ConnectError::BadHost(raw.to_string());
    let mut url = Url::parse(raw.trim()).map_err(|_| bad())?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    // https only, except the sandbox org on loopback.
    if url.host_str().is_none()
        || !(url.scheme() == "https" || (url.scheme() == "http" && loopback))
    {
        return Err(bad());
    }
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

impl WebServerFlow {
    fn endpoint(login: &Url, path: &str) -> Url {
        login.join(path).expect("a base URL joins a path")
    }

    /// The authorize URL for `login`, with a fresh state and PKCE pair.
    pub fn authorize(&self, login: &Url) -> Authorize {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = oauth2::basic::BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(Self::endpoint(
                login,
                "/services/oauth2/authorize",
            )))
            .set_redirect_uri(RedirectUrl::from_url(self.redirect_uri.clone()));
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new("api".to_string()))
            .add_scope(Scope::new("refresh_token".to_string()))
            .set_pkce_challenge(challenge)
            .url();
        Authorize {
            url,
            state: state.secret().clone(),
            verifier: Secret::new(verifier.secret().clone()),
        }
    }

    /// Exchanges the callback's code at `login`'s token endpoint.
    pub async fn exchange(
        &self,
        http: &reqwest::Client,
        login: &Url,
        code: &str,
        verifier: &Secret,
    ) -> Result<Connected, ConnectError> {
        let client = oauth2::Client::<
            oauth2::basic::BasicErrorResponse,
            SalesforceTokenResponse,
            oauth2::basic::BasicTokenIntrospectionResponse,
            oauth2::StandardRevocableToken,
            oauth2::basic::BasicRevocationErrorResponse,
        >::new(ClientId::new(self.client_id.clone()))
        .set_client_secret(ClientSecret::new(self.client_secret.expose().to_string()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::from_url(Self::endpoint(
            login,
            "/services/oauth2/token",
        )))
        .set_redirect_uri(RedirectUrl::from_url(self.redirect_uri.clone()));
        let http = http.clone();
        let send = move |req: oauth2::HttpRequest| {
            let http = http.clone();
            async move { send_oauth(&http, req, TOKEN_TIMEOUT).await }
        };
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_string()))
            .request_async(&send)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => {
                    let why = r
                        .error_description()
                        .cloned()
                        .unwrap_or_else(|| r.error().to_string());
                    match r.error() {
                        BasicErrorResponseType::InvalidClient => ConnectError::NotConfigured,
                        _ => ConnectError::Refused(why),
                    }
                }
                RequestTokenError::Request(e) => ConnectError::Unavailable(e.to_string()),
                RequestTokenError::Parse(e, _) => ConnectError::Malformed(e.to_string()),
                RequestTokenError::Other(e) => ConnectError::Malformed(e),
            })?;
        let refresh_token = token
            .refresh_token()
            .map(|t| Secret::new(t.secret().clone()))
            .ok_or_else(|| {
                ConnectError::Refused(
                    "no refresh token came back: the connected app must allow the refresh_token scope"
                        .to_string(),
                )
            })?;
        let (org_id, user_id) = token
            .id
            .as_deref()
            .map(identity_ids)
            .unwrap_or((None, None));
        Ok(Connected {
            refresh_token,
            access_token: Secret::new(token.access_token().secret().clone()),
            instance_url: token.instance_url.clone(),
            org_id,
            user_id,
            identity_url: token.id.clone(),
        })
    }
}

/// `…/id/<org id>/<user id>` → the two ids.
pub fn identity_ids(identity_url: &str) -> (Option<String>, Option<String>) {
    let mut parts = identity_url.trim_end_matches('/').rsplit('/');
    let user = parts.next().map(str::to_string);
    let org = parts.next().map(str::to_string);
    match parts.next() {
        Some("id") => (org, user),
        _ => (None, None),
    }
}

/// The connected user's username, from the identity URL (best effort: the
/// console shows it; a failure only leaves it out).
pub async fn username(
    http: &reqwest::Client,
    identity_url: &str,
    access_token: &Secret,
) -> Option<String> {
    let resp = http
        .get(identity_url)
        .bearer_auth(access_token.expose())
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let v: serde_json::Value = resp.json().await.ok()?;
    v["username"].as_str().map(str::to_string)
}

/// Revokes `token` (a refresh token: its access tokens end with it) at
/// `login`'s `/services/oauth2/revoke`.
pub async fn revoke(
    http: &reqwest::Client,
    login: &Url,
    token: &Secret,
) -> Result<(), ConnectError> {
    let resp = http
        .post(WebServerFlow::endpoint(login, "/services/oauth2/revoke"))
        .form(&[("token", token.expose())])
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| ConnectError::Unavailable(e.to_string()))?;
    match resp.status().as_u16() {
        200..=299 => Ok(()),
        // Already revoked or unknown: what Disconnect wanted.
        400 => Ok(()),
        s => Err(ConnectError::Unavailable(format!("HTTP {s}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> WebServerFlow {
        WebServerFlow {
            client_id: "cid".into(),
            client_secret: Secret::new("secret"),
            redirect_uri: Url::parse("https://app.example/oauth/salesforce/callback").unwrap(),
        }
    }

    #[test]
    fn the_authorize_url_asks_for_a_code_with_an_s256_challenge() {
        let a = flow().authorize(&login_host("https://login.salesforce.com").unwrap());
        assert!(a
            .url
            .as_str()
            .starts_with("https://login.salesforce.com/services/oauth2/authorize?"));
        let q: std::collections::HashMap<String, String> =
            a.url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "cid");
        assert_eq!(
            q["redirect_uri"],
            "https://app.example/oauth/salesforce/callback"
        );
        assert_eq!(q["scope"], "api refresh_token");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["state"], a.state);
        // The challenge is the verifier's SHA-256, base64url without padding.
        use sha2::Digest;
        let digest = sha2::Sha256::digest(a.verifier.expose().as_bytes());
        let expected = base64url(&digest);
        assert_eq!(q["code_challenge"], expected);
        // A fresh state and verifier every time.
        let b = flow().authorize(&login_host("https://login.salesforce.com").unwrap());
        assert_ne!(a.state, b.state);
        assert_ne!(a.verifier.expose(), b.verifier.expose());
    }

    fn base64url(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().fold(0u32, |n, b| (n << 8) | *b as u32) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    #[test]
    fn login_hosts_are_https_bases_except_on_loopback() {
        assert_eq!(
            login_host("https://acme.my.salesforce.com/some/path?x=1")
                .unwrap()
                .as_str(),
            "https://acme.my.salesforce.com/"
        );
        assert!(login_host("http://evil.example").is_err());
        assert!(login_host("javascript:alert(1)").is_err());
        assert!(login_host("http://127.0.0.1:4000").is_ok());
    }

    #[test]
    fn identity_urls_name_the_org_and_the_user() {
        assert_eq!(
            identity_ids("https://login.salesforce.com/id/00Dxx0000001gEREAY/005xx000001Sv6AAAS"),
            (
                Some("00Dxx0000001gEREAY".to_string()),
                Some("005xx000001Sv6AAAS".to_string())
            )
        );
        assert_eq!(identity_ids("https://x/y"), (None, None));
    }
}
