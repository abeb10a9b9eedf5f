//! The Salesforce REST client: queries, composite requests, record writes
//! and describes, each under one deadline, with one token refresh and retry
//! on `INVALID_SESSION_ID`.
//!
//! It speaks to whatever `instance_url` the token answer names, so the same
//! code serves a real org and the sandbox org.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::{Session, TokenManager};
use super::error::SalesforceError;
use super::soql::Select;

/// One page of a query answer, and the shape of a child subquery.
#[derive(Debug, Clone, Deserialize)]
pub struct QueryResult<T> {
    #[serde(rename = "totalSize")]
    pub total_size: u64,
    pub done: bool,
    #[serde(rename = "nextRecordsUrl", default)]
    pub next_records_url: Option<String>,
    pub records: Vec<T>,
}

/// A composite subrequest.
#[derive(Debug, Clone, Serialize)]
pub struct SubRequest {
    pub method: &'static str,
    pub url: String,
    #[serde(rename = "referenceId")]
    pub reference_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Request headers of this subrequest (e.g. `Sforce-Auto-Assign`).
    #[serde(rename = "httpHeaders", skip_serializing_if = "Option::is_none")]
    pub http_headers: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SubResponse {
    #[serde(default)]
    pub body: Value,
    #[serde(rename = "httpStatusCode")]
    pub status: u16,
    #[serde(rename = "referenceId")]
    pub reference_id: String,
}

impl SubResponse {
    /// This subrequest's answer: its body parsed as `T` when it succeeded,
    /// else the error Salesforce gave for it (subrequests fail one by one).
    pub fn into_result<T: DeserializeOwned>(self) -> Result<T, SalesforceError> {
        if !(200..300).contains(&self.status) {
            let body = serde_json::to_vec(&self.body).unwrap_or_default();
            return Err(SalesforceError::from_response(self.status, &body));
        }
        serde_json::from_value(self.body).map_err(|e| SalesforceError::Malformed(e.to_string()))
    }
}

#[derive(Deserialize)]
struct CompositeResponse {
    #[serde(rename = "compositeResponse")]
    responses: Vec<SubResponse>,
}

#[derive(Deserialize)]
struct CreateResponse {
    id: String,
    success: bool,
    #[serde(default)]
    errors: Vec<Value>,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

pub struct SalesforceClient {
    http: reqwest::Client,
    auth: TokenManager,
    api_version: String,
    timeout: Duration,
    /// Last `Sforce-Limit-Info: api-usage=used/max` seen.
    api_usage: std::sync::Mutex<Option<(u64, u64)>>,
    /// Requests in flight at once: over HTTP/1.1 each holds a connection,
    /// so this bounds the connections to the org (the pool keeps them).
    in_flight: Arc<tokio::sync::Semaphore>,
    /// Told of every answer (the API budget counts them).
    observer: std::sync::OnceLock<Arc<dyn CallObserver>>,
}

/// Told of every answer the org's REST API gives: one call this app made,
/// and the org's `Sforce-Limit-Info: api-usage=used/limit` when the answer
/// carried it. Must not block (it runs on the request's path).
pub trait CallObserver: Send + Sync {
    /// An answer with this status (and body) came back.
    fn answered(&self, status: u16, usage: Option<(u64, u64)>, body: &[u8]);
    /// The org could not be reached (no answer).
    fn unreachable(&self, _error: &str) {}
}

/// Requests in flight per org unless [`SalesforceClient::with_max_connections`] says otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = crate::config::DEFAULT_SALESFORCE_MAX_CONNECTIONS;

impl SalesforceClient {
    pub fn new(
        http: reqwest::Client,
        auth: TokenManager,
        api_version: String,
        timeout: Duration,
    ) -> Arc<SalesforceClient> {
        Arc::new(SalesforceClient {
            http,
            auth,
            api_version,
            timeout,
            api_usage: std::sync::Mutex::new(None),
            in_flight: Arc::new(tokio::sync::Semaphore::new(DEFAULT_MAX_CONNECTIONS)),
            observer: std::sync::OnceLock::new(),
        })
    }

    /// Bounds the requests in flight to the org (and so its connections).
    /// Call before the client is shared.
    pub fn with_max_connections(self: Arc<Self>, n: usize) -> Arc<SalesforceClient> {
        let mut me = Arc::try_unwrap(self)
            .unwrap_or_else(|_| panic!("with_max_connections before the client is shared"));
        me.in_flight = Arc::new(tokio::sync::Semaphore::new(n.max(1)));
        Arc::new(me)
    }

    /// Tells `observer` of every answer from now on (once per client; a
    /// second observer is ignored).
    pub fn observe(&self, observer: Arc<dyn CallObserver>) {
        let _ = self.observer.set(observer);
    }

    pub fn api_usage(&self) -> Option<(u64, u64)> {
        *self.api_usage.lock().unwrap()
    }

    /// The current session (refreshing if needed), under the deadline.
    pub async fn session(&self) -> Result<Arc<Session>, SalesforceError> {
        self.deadline(self.auth.session()).await
    }

    /// `/services/data/vXX.X/<rest>`
    pub fn data_path(&self, rest: &str) -> String {
        format!("/services/data/v{}/{}", self.api_version, rest)
    }

    /// The URL path of a query, for a composite subrequest.
    pub fn query_path(&self, soql: &Select) -> String {
        let q: String = url::form_urlencoded::byte_serialize(soql.to_soql().as_bytes()).collect();
        format!("{}?q={}", self.data_path("query"), q)
    }

    /// A composite subrequest running `soql`.
    pub fn query_sub(&self, reference_id: &str, soql: &Select) -> SubRequest {
        SubRequest {
            method: "GET",
            url: self.query_path(soql),
            reference_id: reference_id.to_string(),
            body: None,
            http_headers: None,
        }
    }

    async fn deadline<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, SalesforceError>>,
    ) -> Result<T, SalesforceError> {
        tokio::time::timeout(self.timeout, fut)
            .await
            .unwrap_or(Err(SalesforceError::Timeout(self.timeout)))
    }

    /// One REST call: session, send, and on 401 one refresh and one retry.
    /// A 401 means Salesforce did not process the request, so retrying even
    /// a create is safe.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, SalesforceError> {
        self.deadline(async {
            let session = self.auth.session().await?;
            let reply = self.send(&session, &method, path, body, headers).await?;
            let reply = if reply.status == StatusCode::UNAUTHORIZED {
                tracing::info!("Salesforce session expired; refreshing once");
                let fresh = self.auth.refresh_after(&session).await?;
                self.send(&fresh, &method, path, body, headers).await?
            } else {
                reply
            };
            if reply.status.is_success() || reply.status == StatusCode::NOT_MODIFIED {
                Ok(reply)
            } else if reply.status == StatusCode::UNAUTHORIZED {
                Err(SalesforceError::Unavailable(
                    "Salesforce refused a freshly refreshed session".to_string(),
                ))
            } else {
                Err(SalesforceError::from_response(
                    reply.status.as_u16(),
                    &reply.body,
                ))
            }
        })
        .await
    }

    async fn send(
        &self,
        session: &Session,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, SalesforceError> {
        let url = session
            .instance_url
            .join(path)
            .map_err(|e| SalesforceError::Malformed(format!("bad path {path}: {e}")))?;
        let mut req = self
            .http
            .request(method.clone(), url)
            .bearer_auth(session.access_token.expose())
            .header("Accept", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        // Held until the body is read: the connection is busy until then.
        let _permit = self
            .in_flight
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let resp = req.send().await.map_err(|e| {
            let err = if e.is_timeout() {
                SalesforceError::Timeout(self.timeout)
            } else {
                SalesforceError::Unavailable(format!("could not reach Salesforce: {}", root(&e)))
            };
            if let Some(o) = self.observer.get() {
                o.unreachable(&err.to_string());
            }
            err
        })?;
        let usage = resp
            .headers()
            .get("sforce-limit-info")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_limit_info);
        if let Some(usage) = usage {
            *self.api_usage.lock().unwrap() = Some(usage);
            if usage.1 > 0 && usage.0 * 10 >= usage.1 * 9 {
                tracing::warn!(
                    used = usage.0,
                    max = usage.1,
                    "org is near its daily API limit"
                );
            }
        }
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| {
            SalesforceError::Unavailable(format!("reading Salesforce's answer: {}", root(&e)))
        })?;
        if let Some(o) = self.observer.get() {
            o.answered(status.as_u16(), usage, &body);
        }
        Ok(Reply { status, body })
    }

    /// Runs a query and follows `nextRecordsUrl` to the end. A locator
    /// belongs to the session that made it: if a token refresh lands
    /// mid-way, Salesforce refuses the next page (`INVALID_QUERY_LOCATOR`)
    /// and the query restarts from the first page, once.
    pub async fn query<T: DeserializeOwned>(
        &self,
        soql: &Select,
    ) -> Result<Vec<T>, SalesforceError> {
        let first = self.query_path(soql);
        let mut restarted = false;
        let mut path = first.clone();
        let mut out = Vec::new();
        loop {
            let reply = match self.call(Method::GET, &path, None, &[]).await {
                Err(SalesforceError::Rejected { errors, .. })
                    if !restarted
                        && path != first
                        && errors
                            .iter()
                            .any(|e| e.error_code == "INVALID_QUERY_LOCATOR") =>
                {
                    restarted = true;
                    out.clear();
                    path = first.clone();
                    continue;
                }
                other => other?,
            };
            let page: QueryResult<T> = parse(&reply.body)?;
            out.extend(page.records);
            match (page.done, page.next_records_url) {
                (false, Some(next)) => path = next,
                _ => return Ok(out),
            }
        }
    }

    /// One `/composite` round trip. Subrequests fail on their own; the
    /// caller reads each status.
    pub async fn composite(
        &self,
        requests: &[SubRequest],
    ) -> Result<Vec<SubResponse>, SalesforceError> {
        let body = serde_json::json!({"allOrNone": false, "compositeRequest": requests});
        let reply = self
            .call(Method::POST, &self.data_path("composite"), Some(&body), &[])
            .await?;
        let parsed: CompositeResponse = parse(&reply.body)?;
        Ok(parsed.responses)
    }

    /// Creates a record; returns its id.
    pub async fn create(
        &self,
        sobject: &str,
        fields: &Value,
        headers: &[(&str, &str)],
    ) -> Result<String, SalesforceError> {
        let path = self.data_path(&format!("sobjects/{sobject}/"));
        let reply = self
            .call(Method::POST, &path, Some(fields), headers)
            .await?;
        let created: CreateResponse = parse(&reply.body)?;
        if !created.success {
            return Err(SalesforceError::Malformed(format!(
                "create answered success=false: {:?}",
                created.errors
            )));
        }
        Ok(created.id)
    }

    pub async fn update(
        &self,
        sobject: &str,
        id: &str,
        fields: &Value,
        headers: &[(&str, &str)],
    ) -> Result<(), SalesforceError> {
        let path = self.data_path(&format!("sobjects/{sobject}/{id}"));
        self.call(Method::PATCH, &path, Some(fields), headers)
            .await?;
        Ok(())
    }

    pub async fn describe(&self, sobject: &str) -> Result<Value, SalesforceError> {
        let path = self.data_path(&format!("sobjects/{sobject}/describe"));
        let reply = self.call(Method::GET, &path, None, &[]).await?;
        parse(&reply.body)
    }
}

/// Parses a body, turning a shape mismatch into [`SalesforceError::Malformed`].
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, SalesforceError> {
    serde_json::from_slice(body).map_err(|e| SalesforceError::Malformed(e.to_string()))
}

/// `api-usage=24/15000` → (24, 15000)
pub fn parse_limit_info(v: &str) -> Option<(u64, u64)> {
    let usage = v
        .split(',')
        .find_map(|p| p.trim().strip_prefix("api-usage="))?;
    let (used, max) = usage.split_once('/')?;
    Some((used.trim().parse().ok()?, max.trim().parse().ok()?))
}

fn root(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_limit_header() {
        assert_eq!(parse_limit_info("api-usage=24/15000"), Some((24, 15000)));
        assert_eq!(
            parse_limit_info("per-app-api-usage=1/10(appName=x), api-usage=7/100"),
            Some((7, 100))
        );
        assert_eq!(parse_limit_info("nonsense"), None);
    }
}
