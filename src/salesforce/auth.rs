//! Salesforce access tokens: the OAuth 2.0 refresh-token grant, one refresh
//! per org at a time across replicas (the store's connection row is locked
//! for the whole refresh), rotation committed to the store before use, and
//! the other replicas taking the new access token from the store.
//!
//! Salesforce access tokens carry no expiry; an expired one shows up as a 401
//! on some call. The client then asks for a refresh *after* the session it
//! saw failing; whoever gets the lock first refreshes, everyone queued behind
//! it finds a newer session and reuses it. Two refreshes at once with a
//! rotating token are refused by Salesforce, and replaying an old token
//! revokes the connection, so this serialisation is not optional.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AccessToken, AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RefreshToken,
    RequestTokenError, StandardRevocableToken, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use url::Url;

use super::error::SalesforceError;
use crate::config::Secret;
use crate::store::{fingerprint, starting_token, ConnectionRow, Store};

/// Salesforce's token answer. Not oauth2's `StandardTokenResponse`: older
/// orgs (and recorded real answers) omit `token_type`, which RFC 6749 makes
/// required, and the answer carries `instance_url` and the identity URL.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SalesforceTokenResponse {
    access_token: AccessToken,
    #[serde(default = "bearer")]
    token_type: BasicTokenType,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
    pub instance_url: String,
    /// `https://login.salesforce.com/id/<org id>/<user id>`
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub issued_at: Option<String>,
}

fn bearer() -> BasicTokenType {
    BasicTokenType::Bearer
}

impl TokenResponse for SalesforceTokenResponse {
    type TokenType = BasicTokenType;
    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }
    fn expires_in(&self) -> Option<std::time::Duration> {
        None
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    fn scopes(&self) -> Option<&Vec<oauth2::Scope>> {
        None
    }
}

type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    SalesforceTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A usable access token and where to use it.
#[derive(Debug)]
pub struct Session {
    pub access_token: Secret,
    pub instance_url: Url,
    /// The 18-character org id (from the token answer's identity URL).
    pub org_id: String,
    pub user_id: Option<String>,
    /// The stored connection's generation, bumped on every refresh by any
    /// replica; a caller that saw generation N fail asks for a newer one.
    pub generation: u64,
}

/// How long the token request itself may take: longer than a render's
/// deadline or the client's per-request timeout, because a refresh that
/// Salesforce answered (and, with rotation, rotated) must not be lost.
pub const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct TokenManager {
    inner: Arc<Inner>,
}

struct Inner {
    /// `Err(reason)` when the connected app is not configured.
    oauth: Result<OAuthClient, String>,
    http: reqwest::Client,
    store: Store,
    configured: Option<Secret>,
    current: RwLock<Option<Arc<Session>>>,
    /// One refresh at a time in this process; the store's connection lock
    /// makes it one across replicas.
    refresh: tokio::sync::Mutex<RefreshState>,
    token_timeout: Duration,
    /// The generation of the last session that worked (a refresh, or an
    /// access token taken from the store).
    connected: tokio::sync::watch::Sender<u64>,
}

struct RefreshState {
    /// Set on `invalid_grant`: the connection is dead until reconfigured,
    /// and hammering the token endpoint would not revive it.
    revoked: Option<String>,
}

pub struct Credentials {
    pub login_url: Url,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub refresh_token: Option<Secret>,
}

impl TokenManager {
    /// The connection lives in `store`: the refresh token there wins over
    /// the configured one unless the configured one changed since.
    pub fn new(http: reqwest::Client, creds: Credentials, store: Store) -> TokenManager {
        let oauth = match (&creds.client_id, &creds.client_secret) {
            (Some(id), Some(secret)) => {
                let token_url = creds
                    .login_url
                    .join("/services/oauth2/token")
                    .expect("a base URL joins a path");
                Ok(oauth2::Client::new(ClientId::new(id.clone()))
                    .set_client_secret(ClientSecret::new(secret.expose().to_string()))
                    // Salesforce documents the credentials in the form body.
                    .set_auth_type(AuthType::RequestBody)
                    .set_token_uri(TokenUrl::from_url(token_url)))
            }
            _ => Err("SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET are not set".to_string()),
        };
        TokenManager {
            inner: Arc::new(Inner {
                oauth,
                http,
                store,
                configured: creds.refresh_token,
                current: RwLock::new(None),
                refresh: tokio::sync::Mutex::new(RefreshState { revoked: None }),
                token_timeout: TOKEN_TIMEOUT,
                connected: tokio::sync::watch::channel(0).0,
            }),
        }
    }

    /// A shorter (tests) or longer limit for the token request.
    pub fn with_token_timeout(self, d: Duration) -> TokenManager {
        let mut inner = Arc::try_unwrap(self.inner)
            .unwrap_or_else(|_| panic!("with_token_timeout before the manager is shared"));
        inner.token_timeout = d;
        TokenManager {
            inner: Arc::new(inner),
        }
    }

    /// Changes whenever a session starts working (after a refresh, here or
    /// on another replica); the task worker retries parked jobs then.
    pub fn connected(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.connected.subscribe()
    }

    /// The current session, refreshing first if there is none.
    pub async fn session(&self) -> Result<Arc<Session>, SalesforceError> {
        if let Some(s) = self.inner.current.read().unwrap().clone() {
            return Ok(s);
        }
        self.refresh(None).await
    }

    /// A session newer than `stale` (which Salesforce just refused).
    pub async fn refresh_after(&self, stale: &Session) -> Result<Arc<Session>, SalesforceError> {
        self.refresh(Some(stale.generation)).await
    }

    async fn refresh(&self, stale: Option<u64>) -> Result<Arc<Session>, SalesforceError> {
        // Run in its own task: if the caller gives up (deadline), the refresh
        // still finishes and stores the rotated token. Dropping it half-way
        // could lose the only valid refresh token.
        let inner = self.inner.clone();
        tokio::spawn(async move { inner.refresh_locked(stale).await })
            .await
            .unwrap_or_else(|e| Err(SalesforceError::Unavailable(format!("token refresh: {e}"))))
    }
}

/// What the refresh under the connection lock came to.
enum Outcome {
    Session(Arc<Session>),
    Failed(SalesforceError),
}

impl Inner {
    async fn refresh_locked(&self, stale: Option<u64>) -> Result<Arc<Session>, SalesforceError> {
        let mut state = self.refresh.lock().await;
        if let Some(current) = self.current.read().unwrap().clone() {
            // Someone refreshed while we queued for the lock.
            if stale.is_none_or(|g| current.generation > g) {
                return Ok(current);
            }
        }
        if let Some(reason) = &state.revoked {
            return Err(SalesforceError::Reconnect(reason.clone()));
        }
        let oauth = self
            .oauth
            .as_ref()
            .map_err(|r| SalesforceError::NotConfigured(r.clone()))?;

        let outcome = self
            .store
            .with_connection_lock(|row| self.refresh_row(oauth, row, stale))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "the token store is unavailable");
                SalesforceError::Unavailable(format!("token store: {e}"))
            })?;
        match outcome {
            Outcome::Session(session) => {
                *self.current.write().unwrap() = Some(session.clone());
                self.connected.send_replace(session.generation);
                Ok(session)
            }
            Outcome::Failed(e) => {
                if let SalesforceError::Reconnect(reason) = &e {
                    *self.current.write().unwrap() = None;
                    state.revoked = Some(reason.clone());
                }
                Err(e)
            }
        }
    }

    /// Under the connection row's lock: take a newer access token from the
    /// store, or refresh and return the row to commit (the rotated refresh
    /// token with it) before anyone uses the new access token.
    async fn refresh_row(
        &self,
        oauth: &OAuthClient,
        row: ConnectionRow,
        stale: Option<u64>,
    ) -> (Option<ConnectionRow>, Outcome) {
        let (refresh_token, reseed) = starting_token(&row, self.configured.as_ref());
        if !reseed && row.revoked.is_none() {
            if let Some(session) =
                stored_session(&row).filter(|s| stale.is_none_or(|g| s.generation > g))
            {
                tracing::debug!(
                    generation = session.generation,
                    "took the access token from the store"
                );
                return (None, Outcome::Session(Arc::new(session)));
            }
        }
        let Some(refresh_token) = refresh_token else {
            return (
                None,
                Outcome::Failed(SalesforceError::NotConfigured(
                    "SALESFORCE_REFRESH_TOKEN is not set".to_string(),
                )),
            );
        };

        let http = self.http.clone();
        let limit = self.token_timeout;
        let send = move |req: oauth2::HttpRequest| {
            let http = http.clone();
            async move { send_oauth(&http, req, limit).await }
        };
        let answer = oauth
            .exchange_refresh_token(&RefreshToken::new(refresh_token.expose().to_string()))
            .request_async(&send)
            .await;

        let token = match answer {
            Ok(t) => t,
            Err(RequestTokenError::ServerResponse(e)) => {
                let description = e.error_description().cloned().unwrap_or_default();
                let err = match e.error() {
                    BasicErrorResponseType::InvalidGrant
                        if description.contains("already being processed") =>
                    {
                        SalesforceError::Unavailable(description)
                    }
                    BasicErrorResponseType::InvalidGrant => {
                        tracing::error!(%description, "Salesforce refused the refresh token; the org must be reconnected");
                        let refused = ConnectionRow {
                            access_token: None,
                            revoked: Some(description.clone()),
                            ..row
                        };
                        return (
                            Some(refused),
                            Outcome::Failed(SalesforceError::Reconnect(description)),
                        );
                    }
                    BasicErrorResponseType::InvalidClient
                    | BasicErrorResponseType::UnauthorizedClient => {
                        SalesforceError::NotConfigured(format!(
                            "Salesforce refused the connected app's credentials ({description})"
                        ))
                    }
                    other => SalesforceError::Unavailable(format!(
                        "token endpoint: {other:?} {description}"
                    )),
                };
                return (None, Outcome::Failed(err));
            }
            Err(RequestTokenError::Request(e)) => {
                return (
                    None,
                    Outcome::Failed(SalesforceError::Unavailable(format!("token endpoint: {e}"))),
                )
            }
            Err(RequestTokenError::Parse(e, _)) => {
                return (
                    None,
                    Outcome::Failed(SalesforceError::Malformed(format!("token answer: {e}"))),
                )
            }
            Err(RequestTokenError::Other(e)) => {
                return (
                    None,
                    Outcome::Failed(SalesforceError::Unavailable(format!("token endpoint: {e}"))),
                )
            }
        };

        let instance_url = match Url::parse(&token.instance_url) {
            Ok(u) => u,
            Err(e) => {
                return (
                    None,
                    Outcome::Failed(SalesforceError::Malformed(format!("instance_url: {e}"))),
                )
            }
        };
        let (org_id, user_id) = identity(token.id.as_deref(), token.access_token().secret());
        let generation = row.generation.max(0) + 1;
        let next = ConnectionRow {
            // Durable first: with rotation, the old token is dead now.
            refresh_token: Some(
                token
                    .refresh_token()
                    .map(|r| Secret::new(r.secret().clone()))
                    .unwrap_or(refresh_token),
            ),
            seeded_from: if reseed {
                fingerprint(self.configured.as_ref())
            } else {
                row.seeded_from.clone()
            },
            access_token: Some(Secret::new(token.access_token().secret().clone())),
            instance_url: Some(instance_url.to_string()),
            org_id: Some(org_id.clone()),
            user_id: user_id.clone(),
            generation,
            revoked: None,
        };
        let session = Arc::new(Session {
            access_token: Secret::new(token.access_token().secret().clone()),
            instance_url,
            org_id,
            user_id,
            generation: generation as u64,
        });
        tracing::info!(generation, org = %session.org_id, "Salesforce session refreshed");
        (Some(next), Outcome::Session(session))
    }
}

/// The access token another replica (or an earlier run) stored.
fn stored_session(row: &ConnectionRow) -> Option<Session> {
    Some(Session {
        access_token: row.access_token.clone()?,
        instance_url: Url::parse(row.instance_url.as_deref()?).ok()?,
        org_id: row.org_id.clone()?,
        user_id: row.user_id.clone(),
        generation: row.generation.max(0) as u64,
    })
}

/// Org and user ids from the identity URL `.../id/<org>/<user>`; failing
/// that, the org id prefix of the access token (`00D...!...`).
fn identity(id_url: Option<&str>, access_token: &str) -> (String, Option<String>) {
    if let Some(rest) = id_url.and_then(|u| u.split_once("/id/")).map(|(_, r)| r) {
        let mut parts = rest.split('/');
        if let (Some(org), user) = (parts.next().filter(|s| !s.is_empty()), parts.next()) {
            return (org.to_string(), user.map(str::to_string));
        }
    }
    let org = access_token.split('!').next().unwrap_or("unknown-org");
    (org.to_string(), None)
}

/// oauth2's HTTP hook, on our own reqwest client (oauth2's bundled one would
/// pull a second reqwest into the build).
pub(crate) async fn send_oauth(
    http: &reqwest::Client,
    req: oauth2::HttpRequest,
    limit: Duration,
) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let (parts, body) = req.into_parts();
    let resp = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        // Its own limit, not the client's per-request timeout.
        .timeout(limit)
        .send()
        .await?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await?;
    let mut out = http::Response::new(bytes.to_vec());
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_comes_from_the_id_url() {
        assert_eq!(
            identity(
                Some("https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P"),
                "x"
            ),
            (
                "00Dx0000000BV7z".to_string(),
                Some("005x00000012Q9P".to_string())
            )
        );
        assert_eq!(
            identity(None, "00Dx0000000BV7z!AR8AQ"),
            ("00Dx0000000BV7z".to_string(), None)
        );
    }

    #[test]
    fn parses_a_real_token_answer() {
        let body = include_str!("../../tests/data/salesforce/oauth/token_success.restforce.json");
        let t: SalesforceTokenResponse = serde_json::from_str(body).unwrap();
        assert_eq!(t.instance_url, "https://na1.salesforce.com");
        assert_eq!(t.token_type(), &BasicTokenType::Bearer);
        assert!(t.refresh_token().is_none());
    }
}
