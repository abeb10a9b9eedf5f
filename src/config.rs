//! Configuration from the environment.
//!
//! The variable names are part of the deployment contract (see README). A
//! setting that is present but invalid stops start-up with a message naming
//! it; a setting that is absent takes its default. An empty value counts as
//! unset (`FOO=` in a .env file means "no value"); values are trimmed.
//!
//! The settings are one `serde` struct ([`Env`]): each variable's name, type
//! and default are written once, on its field. Values are read as strings
//! and parsed by the field's type (`serde_with::DisplayFromStr` for
//! `FromStr` types, [`OnOff`] for every switch); `serde_path_to_error` names
//! the variable a value failed in. [`validate`] runs the same parsing for one
//! setting, for an admin console. Rules across settings (sandbox mode, the
//! signing secret a real org needs) are in [`Config::from_lookup`].
//!
//! Sandbox mode (the built-in fake org, signed with a published secret)
//! starts only when `SANDBOX=on`, or when no `SALESFORCE_*` setting is
//! present **and** `BIND_ADDR` is a loopback address. Bound elsewhere with
//! no Salesforce settings, the app starts with Salesforce "not connected".

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_with::{As, DisplayFromStr};
use url::Url;

/// A value that must never reach a log line or a `{:?}`: `Debug` is
/// redacted and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("{name} is required when {when}")]
    Missing {
        name: &'static str,
        when: &'static str,
    },
}

/// The Intercom signing secret the sandbox uses when none is configured.
/// Printed at start-up so a developer can sign requests by hand.
pub const SANDBOX_INTERCOM_SECRET: &str = "sandbox-intercom-client-secret";

pub const DEFAULT_API_VERSION: &str = "67.0";

/// 64 MiB for the fresh answers and as much for the last-known ones.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The optional Case fields shown when `SALESFORCE_CASE_FIELDS` is unset:
/// the standard ones a support team sets by hand.
pub const DEFAULT_CASE_FIELDS: &[&str] = &["Type", "Status", "Reason", "Origin", "Priority"];

/// The Case Origin New Case preselects when `SALESFORCE_CASE_ORIGIN` is unset.
pub const DEFAULT_CASE_ORIGIN: &str = "Chat";

/// Intercom's authorize page (`INTERCOM_OAUTH_URL` unset).
pub const DEFAULT_INTERCOM_OAUTH_URL: &str = "https://app.intercom.com/oauth";

/// Intercom's token endpoint (`INTERCOM_TOKEN_URL` unset).
pub const DEFAULT_INTERCOM_TOKEN_URL: &str = "https://api.intercom.io/auth/eagle/token";

/// Settings whose values are never echoed in an error message.
const SECRET_SETTINGS: &[&str] = &[
    "INTERCOM_CLIENT_SECRET",
    "SALESFORCE_CLIENT_SECRET",
    "SALESFORCE_REFRESH_TOKEN",
    "INTERCOM_ACCESS_TOKEN",
    "DATABASE_URL",
    "ACTION_TOKEN",
    "ENCRYPTION_KEY",
];

/// The Salesforce settings whose presence means "a real org".
const SALESFORCE_SETTINGS: &[&str] = &[
    "SALESFORCE_LOGIN_URL",
    "SALESFORCE_CLIENT_ID",
    "SALESFORCE_CLIENT_SECRET",
    "SALESFORCE_REFRESH_TOKEN",
];

// ---- value types -------------------------------------------------------------

/// A switch. The same spellings everywhere, in any case: `on`/`off`,
/// `true`/`false`, `yes`/`no`, `1`/`0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OnOff(pub bool);

impl FromStr for OnOff {
    type Err = String;
    fn from_str(v: &str) -> Result<OnOff, String> {
        match v.to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" | "1" => Ok(OnOff(true)),
            "off" | "false" | "no" | "0" => Ok(OnOff(false)),
            _ => Err(format!(
                "expected on or off (or true/false, yes/no, 1/0), got {v:?}"
            )),
        }
    }
}

/// `SANDBOX`: `auto` (the default), or a switch forcing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum SandboxSwitch {
    #[default]
    Auto,
    Forced(bool),
}

impl FromStr for SandboxSwitch {
    type Err = String;
    fn from_str(v: &str) -> Result<SandboxSwitch, String> {
        if v.eq_ignore_ascii_case("auto") {
            return Ok(SandboxSwitch::Auto);
        }
        v.parse::<OnOff>()
            .map(|o| SandboxSwitch::Forced(o.0))
            .map_err(|_| format!("expected auto, on or off, got {v:?}"))
    }
}

/// `SALESFORCE_LOGIN_URL`: an http(s) URL with a host.
#[derive(Debug, Clone)]
struct LoginUrl(Url);

impl FromStr for LoginUrl {
    type Err = String;
    fn from_str(v: &str) -> Result<LoginUrl, String> {
        let url = Url::parse(v).map_err(|e| e.to_string())?;
        if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
            return Err("expected an https:// URL such as https://login.salesforce.com".into());
        }
        Ok(LoginUrl(url))
    }
}

/// `SALESFORCE_API_VERSION`: accepts `67`, `67.0` and `v67.0`; holds `67.0`.
#[derive(Debug, Clone)]
struct ApiVersion(String);

impl FromStr for ApiVersion {
    type Err = String;
    fn from_str(v: &str) -> Result<ApiVersion, String> {
        let bad = || format!("expected a version such as 67.0, got {v:?}");
        let s = v.strip_prefix('v').unwrap_or(v);
        let (major, minor) = s.split_once('.').unwrap_or((s, "0"));
        let major: u32 = major.parse().map_err(|_| bad())?;
        let minor: u32 = minor.parse().map_err(|_| bad())?;
        if !(20..=99).contains(&major) {
            return Err(bad());
        }
        Ok(ApiVersion(format!("{major}.{minor}")))
    }
}

/// A count of milliseconds above zero.
#[derive(Debug, Clone, Copy)]
struct Millis(u64);

impl FromStr for Millis {
    type Err = String;
    fn from_str(v: &str) -> Result<Millis, String> {
        match v.parse::<u64>() {
            Ok(0) => Err("must be above 0".to_string()),
            Ok(n) => Ok(Millis(n)),
            Err(e) => Err(format!("{v:?}: {e}")),
        }
    }
}

/// A count above 0 (`SALESFORCE_MAX_CONNECTIONS`, `HTTP_MAX_CONNECTIONS`).
#[derive(Debug, Clone, Copy)]
struct Positive(u64);

impl FromStr for Positive {
    type Err = String;
    fn from_str(v: &str) -> Result<Positive, String> {
        v.parse::<Millis>().map(|m| Positive(m.0))
    }
}

/// `SALESFORCE_CASE_RECORD_TYPE`: a developer name or an id.
#[derive(Debug, Clone)]
struct RecordType(String);

impl FromStr for RecordType {
    type Err = String;
    fn from_str(v: &str) -> Result<RecordType, String> {
        if v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        {
            Ok(RecordType(v.to_string()))
        } else {
            Err(format!(
                "expected a record type developer name (e.g. Support) or id, got {v:?}"
            ))
        }
    }
}

/// `SALESFORCE_LEAD_PLACEHOLDER`: at most 40 characters.
#[derive(Debug, Clone)]
struct Placeholder(String);

impl FromStr for Placeholder {
    type Err = String;
    fn from_str(v: &str) -> Result<Placeholder, String> {
        if v.chars().count() > 40 {
            return Err("at most 40 characters (it must fit Lead.FirstName)".to_string());
        }
        Ok(Placeholder(v.to_string()))
    }
}

/// `SALESFORCE_CASE_FIELDS`: comma-separated field API names.
#[derive(Debug, Clone)]
struct FieldList(Vec<String>);

impl FromStr for FieldList {
    type Err = String;
    fn from_str(list: &str) -> Result<FieldList, String> {
        let fields: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect();
        let api_name = |f: &String| {
            f.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        match fields.iter().find(|f| !api_name(f)) {
            Some(bad) => Err(format!(
                "expected comma-separated field API names, got {bad:?}"
            )),
            None => Ok(FieldList(fields)),
        }
    }
}

/// `PUBLIC_URL`: where Intercom and browsers reach this app (the OAuth
/// redirect URIs are built on it): an http(s) URL with a host and no query.
#[derive(Debug, Clone)]
struct PublicUrl(Url);

impl FromStr for PublicUrl {
    type Err = String;
    fn from_str(v: &str) -> Result<PublicUrl, String> {
        let url = Url::parse(v).map_err(|e| e.to_string())?;
        if !matches!(url.scheme(), "https" | "http")
            || url.host().is_none()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err("expected the app's base URL, such as https://sf-inbox.example.com".into());
        }
        Ok(PublicUrl(url))
    }
}

/// One field API name (`SALESFORCE_CASE_EXTERNAL_ID_FIELD`).
#[derive(Debug, Clone)]
struct FieldName(String);

impl FromStr for FieldName {
    type Err = String;
    fn from_str(v: &str) -> Result<FieldName, String> {
        if v.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            Ok(FieldName(v.to_string()))
        } else {
            Err(format!(
                "expected a field API name (e.g. Intercom_Conversation_Id__c), got {v:?}"
            ))
        }
    }
}

/// Who owns a case the app creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseOwner {
    /// Salesforce's case assignment rules (the default).
    #[default]
    AssignmentRules,
    /// The teammate's own Salesforce user (matched by email).
    Teammate,
}

impl FromStr for CaseOwner {
    type Err = String;
    fn from_str(v: &str) -> Result<CaseOwner, String> {
        match v {
            "assignment_rules" => Ok(CaseOwner::AssignmentRules),
            "teammate" => Ok(CaseOwner::Teammate),
            _ => Err(format!("expected assignment_rules or teammate, got {v:?}")),
        }
    }
}

/// Where the task store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// `sqlite::memory:`: gone at exit (tests, the sandbox).
    Memory,
    /// `sqlite:///path/x.db` or `sqlite://x.db` (relative).
    File(PathBuf),
    /// `postgres://user:password@host:port/db` (or `postgresql://`):
    /// several replicas on one database. Never printed whole.
    Postgres(Secret),
}

impl Database {
    /// Parses a `DATABASE_URL`: SQLite or PostgreSQL. The reason never
    /// repeats the URL (it may carry a password).
    pub fn parse(url: &str) -> Result<Database, String> {
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            return Ok(Database::Memory);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let parsed = url::Url::parse(url).map_err(|e| {
                format!(
                    "expected postgres://user:password@host:port/database, got {} ({e})",
                    redact_url(url)
                )
            })?;
            if parsed.host_str().is_none_or(str::is_empty)
                && !parsed.query_pairs().any(|(k, _)| k == "host")
            {
                return Err("the PostgreSQL URL names no host".to_string());
            }
            return Ok(Database::Postgres(Secret::new(url)));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| {
                "expected sqlite:///path/to/file.db, sqlite::memory: or postgres://user:password@host/database"
                    .to_string()
            })?;
        // Query parameters (`?mode=rwc`) are accepted and ignored.
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err("the URL names no database file".to_string());
        }
        Ok(Database::File(PathBuf::from(path)))
    }
}

impl FromStr for Database {
    type Err = String;
    fn from_str(v: &str) -> Result<Database, String> {
        Database::parse(v)
    }
}

// ---- the settings ------------------------------------------------------------

/// Every variable the app reads: its name (the field's, in capitals), its
/// type and its default. Absent is `None` or the default.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct Env {
    #[serde(default = "defaults::bind_addr", with = "As::<DisplayFromStr>")]
    bind_addr: SocketAddr,
    #[serde(default, with = "As::<DisplayFromStr>")]
    sandbox: SandboxSwitch,
    #[serde(default, with = "As::<Option<DisplayFromStr>>")]
    salesforce_login_url: Option<LoginUrl>,
    #[serde(default)]
    salesforce_client_id: Option<String>,
    #[serde(default)]
    salesforce_client_secret: Option<Secret>,
    #[serde(default)]
    salesforce_refresh_token: Option<Secret>,
    #[serde(default, with = "As::<Option<DisplayFromStr>>")]
    salesforce_api_version: Option<ApiVersion>,
    #[serde(default)]
    intercom_client_secret: Option<Secret>,
    #[serde(default, with = "As::<Option<DisplayFromStr>>")]
    preview: Option<OnOff>,
    #[serde(default = "defaults::cache_ttl_secs", with = "As::<DisplayFromStr>")]
    cache_ttl_secs: u64,
    #[serde(default, with = "As::<Option<DisplayFromStr>>")]
    cache_max_bytes: Option<u64>,
    /// Deprecated: `CACHE_MAX_BYTES` replaces it.
    #[serde(default, with = "As::<Option<DisplayFromStr>>")]
    cache_max_entries: Option<u64>,
    #[serde(
        default = "defaults::salesforce_max_connections",
        with = "As::<DisplayFromStr>"
    )]
    salesforce_max_connections: Positive,
    #[serde(
        default = "defaults::http_header_timeout_ms",
        with = "As::<DisplayFromStr>"
    )]
    http_header_timeout_ms: Millis,
    #[serde(
        default = "defaults::http_body_timeout_ms",
        with = "As::<DisplayFromStr>"
    )]
    http_body_timeout_ms: Millis,
    #[serde(
        default = "defaults::http_max_connections",
        with = "As::<DisplayFromStr>"
    )]
    http_max_connections: Positive,
    #[serde(
        default = "defaults::salesforce_timeout_ms",
        with = "As::<DisplayFromStr>"
    )]
    salesforce_timeout_ms: Millis,
    #[serde(default = "defaults::data_dir")]
    data_dir: PathBuf,
    #[serde(default = "defaults::fixtures_dir")]
    fixtures_dir: PathBuf,
    #[serde(default)]
    intercom_workspace_id: Option<String>,
    #[serde(default)]
    intercom_access_token: Option<Secret>,
    #[serde(default, with = "As::<Option<DisplayFromStr>>")]
    intercom_api_url: Option<Url>,
    #[serde(default, with = "As::<DisplayFromStr>")]
    salesforce_maintain_ownership: OnOff,
    #[serde(default, with = "As::<Option<DisplayFromStr>>")]
    salesforce_case_record_type: Option<RecordType>,
    #[serde(default, with = "As::<DisplayFromStr>")]
    salesforce_case_owner: CaseOwner,
    #[serde(default = "defaults::lead_placeholder", with = "As::<DisplayFromStr>")]
    salesforce_lead_placeholder: Placeholder,
    #[serde(default = "defaults::case_fields", with = "As::<DisplayFromStr>")]
    salesforce_case_fields: FieldList,
    #[serde(default = "defaults::case_origin")]
    salesforce_case_origin: String,
    #[serde(default, with = "As::<DisplayFromStr>")]
    auto_tasks: OnOff,
    #[serde(default, with = "As::<Option<DisplayFromStr>>")]
    database_url: Option<Database>,
    #[serde(
        default = "defaults::queue_retention_days",
        with = "As::<DisplayFromStr>"
    )]
    queue_retention_days: u64,
    #[serde(default)]
    settings_file: Option<PathBuf>,
    #[serde(default)]
    action_token: Option<Secret>,
    #[serde(default, with = "As::<Option<DisplayFromStr>>")]
    salesforce_case_external_id_field: Option<FieldName>,
    #[serde(default)]
    intercom_client_id: Option<String>,
    #[serde(
        default = "defaults::intercom_oauth_url",
        with = "As::<DisplayFromStr>"
    )]
    intercom_oauth_url: Url,
    #[serde(
        default = "defaults::intercom_token_url",
        with = "As::<DisplayFromStr>"
    )]
    intercom_token_url: Url,
    #[serde(default, with = "As::<Option<DisplayFromStr>>")]
    public_url: Option<PublicUrl>,
    #[serde(default)]
    encryption_key: Option<Secret>,
}

/// `SALESFORCE_MAX_CONNECTIONS` unset: requests in flight to one org at once.
pub const DEFAULT_SALESFORCE_MAX_CONNECTIONS: usize = 8;

/// Each default, once.
mod defaults {
    use super::*;

    pub fn bind_addr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 8080))
    }
    pub fn cache_ttl_secs() -> u64 {
        120
    }
    pub fn salesforce_max_connections() -> Positive {
        Positive(DEFAULT_SALESFORCE_MAX_CONNECTIONS as u64)
    }
    pub fn http_header_timeout_ms() -> Millis {
        Millis(
            crate::server::ServerLimits::default()
                .header_timeout
                .as_millis() as u64,
        )
    }
    pub fn http_body_timeout_ms() -> Millis {
        Millis(
            crate::server::ServerLimits::default()
                .body_timeout
                .as_millis() as u64,
        )
    }
    pub fn http_max_connections() -> Positive {
        Positive(crate::server::ServerLimits::default().max_connections as u64)
    }
    pub fn queue_retention_days() -> u64 {
        7
    }
    pub fn salesforce_timeout_ms() -> Millis {
        Millis(4_000)
    }
    pub fn data_dir() -> PathBuf {
        "./data".into()
    }
    pub fn fixtures_dir() -> PathBuf {
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures").into()
    }
    pub fn lead_placeholder() -> Placeholder {
        Placeholder("[not provided]".to_string())
    }
    pub fn case_fields() -> FieldList {
        FieldList(DEFAULT_CASE_FIELDS.iter().map(|f| f.to_string()).collect())
    }
    pub fn case_origin() -> String {
        DEFAULT_CASE_ORIGIN.to_string()
    }
    pub fn intercom_oauth_url() -> Url {
        Url::parse(DEFAULT_INTERCOM_OAUTH_URL).expect("a valid URL")
    }
    pub fn intercom_token_url() -> Url {
        Url::parse(DEFAULT_INTERCOM_TOKEN_URL).expect("a valid URL")
    }
}

/// The names of every setting, as `serde` sees them (from the derive, so
/// never out of step with [`Env`]).
pub fn setting_names() -> &'static [&'static str] {
    struct Names(Option<&'static [&'static str]>);
    impl<'de> Deserializer<'de> for &mut Names {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(
            self,
            _: V,
        ) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("names only"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(fields);
            Err(serde::de::Error::custom("names only"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    static NAMES: std::sync::OnceLock<&'static [&'static str]> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut n = Names(None);
        let _ = Env::deserialize(&mut n);
        n.0.expect("Env is a struct")
    })
}

/// Parses `values` (name → trimmed, non-empty value) into [`Env`], naming
/// the setting that failed.
fn parse(values: &HashMap<&'static str, String>) -> Result<Env, ConfigError> {
    let object: serde_json::Map<String, Value> = values
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
        .collect();
    serde_path_to_error::deserialize(Value::Object(object)).map_err(|e| {
        let path = e.path().to_string();
        let name = setting_names()
            .iter()
            .copied()
            .find(|n| *n == path)
            .unwrap_or("configuration");
        let mut reason = e.into_inner().to_string();
        // Name the value for what std's parsers do not, but never a secret's.
        if let Some(v) = values.get(name) {
            if !SECRET_SETTINGS.contains(&name) && !reason.contains(v.as_str()) {
                reason = format!("{v:?}: {reason}");
            }
        }
        ConfigError::Invalid { name, reason }
    })
}

/// Checks one setting's value as start-up would (for an admin console):
/// `Err` says why, naming the setting. Rules across settings (such as the
/// signing secret a real org needs) are not checked here.
pub fn validate(name: &str, value: &str) -> Result<(), ConfigError> {
    let Some(name) = setting_names().iter().copied().find(|n| *n == name) else {
        return Err(ConfigError::Invalid {
            name: "setting",
            reason: format!("{name:?} is not a setting of this app"),
        });
    };
    let value = value.trim();
    let mut values = HashMap::new();
    if !value.is_empty() {
        values.insert(name, value.to_string());
    }
    parse(&values).map(|_| ())
}

// ---- the configuration the app uses -----------------------------------------

#[derive(Debug, Clone)]
pub enum SalesforceMode {
    /// No Salesforce settings on a loopback bind (or `SANDBOX=on`): start
    /// the built-in sandbox org and use it.
    Sandbox,
    /// A real org (or any server speaking its protocol).
    Org(OrgSettings),
}

#[derive(Debug, Clone)]
pub struct OrgSettings {
    pub login_url: Url,
    /// `None` when the connected app is not set up yet: the sidebar says so.
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub refresh_token: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind_addr: SocketAddr,
    pub intercom_client_secret: Secret,
    pub salesforce: SalesforceMode,
    pub api_version: String,
    pub cache_ttl: Duration,
    /// `CACHE_MAX_BYTES` (or the deprecated `CACHE_MAX_ENTRIES` × 16 KiB):
    /// the byte bound of the fresh answers, and separately of the last-known ones.
    pub cache_max_bytes: u64,
    /// `SALESFORCE_MAX_CONNECTIONS`: requests in flight to the org at once
    /// (each needs a connection of its own over HTTP/1.1).
    pub salesforce_max_connections: usize,
    /// `HTTP_HEADER_TIMEOUT_MS`, `HTTP_BODY_TIMEOUT_MS`, `HTTP_MAX_CONNECTIONS`.
    pub server: crate::server::ServerLimits,
    /// Deadline for one Salesforce operation, token refresh and retry included.
    pub salesforce_timeout: Duration,
    pub data_dir: PathBuf,
    pub fixtures_dir: PathBuf,
    /// When set, requests from any other Intercom workspace are refused.
    pub workspace_id: Option<String>,
    /// For the Intercom REST API (notes, teammates, conversation parts).
    pub intercom_access_token: Option<Secret>,
    /// Pins the Intercom REST host; by default it follows the workspace region.
    pub intercom_api_url: Option<Url>,
    /// Serve the local inbox preview at `/` (`PREVIEW`; on by default in sandbox mode).
    pub preview: bool,
    /// Create Lead and New Case (`SALESFORCE_MAINTAIN_OWNERSHIP`,
    /// `SALESFORCE_CASE_RECORD_TYPE`, `SALESFORCE_CASE_OWNER`,
    /// `SALESFORCE_LEAD_PLACEHOLDER`).
    pub forms: FormSettings,
    /// `AUTO_TASKS`: open a Salesforce Task when a known person starts a
    /// conversation, complete it when the conversation is closed.
    pub auto_tasks: bool,
    /// `DATABASE_URL`: the durable webhook queue and conversation → task
    /// map. `None`: a file under `DATA_DIR` (memory in sandbox mode).
    pub database: Option<Database>,
    /// `QUEUE_RETENTION_DAYS`: finished webhook jobs (and their payloads)
    /// are deleted after this long (default 7 days).
    pub queue_retention: Duration,
    /// `SETTINGS_FILE`: a TOML file of the workspace's settings
    /// (`settings::WorkspaceSettings`), loaded at start-up into the store.
    pub settings_file: Option<PathBuf>,
    /// `ACTION_TOKEN`: the Workflow action's bearer token (single-workspace mode).
    pub action_token: Option<Secret>,
    /// `SALESFORCE_CASE_EXTERNAL_ID_FIELD`: an external-id field on Case the
    /// automatic case is upserted on (its value: the conversation id).
    pub case_external_id_field: Option<String>,
    /// The install and connect routes (`INTERCOM_CLIENT_ID` set): any
    /// workspace installs the app with Intercom OAuth.
    pub install: Option<InstallSettings>,
    /// `PUBLIC_URL`: the app's base URL (the OAuth redirect URIs); by
    /// default `http://` + `BIND_ADDR` (right only on a developer machine).
    pub public_url: Option<Url>,
    /// `ENCRYPTION_KEY`: the key(s) tokens are sealed with at rest
    /// (`store::seal`); absent: see `store::Store::from_config`.
    pub encryption_key: Option<Secret>,
    /// The login hosts an admin picks from when connecting an org (`login`
    /// query value, label, URL); the first is the default. Production
    /// (`SALESFORCE_LOGIN_URL`) and test; the sandbox puts its orgs here.
    pub connect_logins: Vec<LoginChoice>,
}

/// A Salesforce login host to connect through.
#[derive(Debug, Clone)]
pub struct LoginChoice {
    pub key: String,
    pub label: String,
    pub url: Url,
}

/// Intercom OAuth (the install): `INTERCOM_CLIENT_ID` with
/// `INTERCOM_CLIENT_SECRET`, `INTERCOM_OAUTH_URL`, `INTERCOM_TOKEN_URL`.
#[derive(Debug, Clone)]
pub struct InstallSettings {
    pub client_id: String,
    pub oauth_url: Url,
    pub token_url: Url,
}

/// Settings of the Create Lead and New Case forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormSettings {
    /// A new Lead is owned by the Salesforce user whose email is the
    /// Intercom owner's.
    pub maintain_ownership: bool,
    /// A Case record type to preselect: a developer name or an id.
    pub case_record_type: Option<String>,
    pub case_owner: CaseOwner,
    /// Sent for a required Lead field the teammate left empty.
    pub lead_placeholder: String,
    /// Optional Case fields the New Case form shows (`SALESFORCE_CASE_FIELDS`);
    /// required ones, Subject and Description are always shown.
    pub case_fields: Vec<String>,
    /// `SALESFORCE_CASE_ORIGIN`: the Case Origin the New Case form
    /// preselects (a picklist value; `none` preselects nothing).
    pub case_origin: Option<String>,
}

impl Default for FormSettings {
    fn default() -> Self {
        FormSettings {
            maintain_ownership: false,
            case_record_type: None,
            case_owner: CaseOwner::default(),
            lead_placeholder: defaults::lead_placeholder().0,
            case_fields: defaults::case_fields().0,
            case_origin: Some(defaults::case_origin()),
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get`, so tests need not touch the process env.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let values: HashMap<&'static str, String> = setting_names()
            .iter()
            .filter_map(|&name| {
                let v = get(name)?.trim().to_string();
                (!v.is_empty()).then_some((name, v))
            })
            .collect();
        let env = parse(&values)?;

        let any_salesforce = SALESFORCE_SETTINGS.iter().any(|k| values.contains_key(k));
        let sandbox = match env.sandbox {
            SandboxSwitch::Forced(on) => on,
            // A fake org signed with a published secret only where nobody
            // else can reach it.
            SandboxSwitch::Auto => !any_salesforce && env.bind_addr.ip().is_loopback(),
        };

        let salesforce = if sandbox {
            SalesforceMode::Sandbox
        } else {
            let login_url = match env.salesforce_login_url {
                Some(u) => u.0,
                None => default_login_url(),
            };
            SalesforceMode::Org(OrgSettings {
                login_url,
                client_id: env.salesforce_client_id,
                client_secret: env.salesforce_client_secret,
                refresh_token: env.salesforce_refresh_token,
            })
        };

        let connect_logins = vec![
            LoginChoice {
                key: "production".into(),
                label: "Production".into(),
                url: match &salesforce {
                    SalesforceMode::Org(o) => o.login_url.clone(),
                    SalesforceMode::Sandbox => default_login_url(),
                },
            },
            LoginChoice {
                key: "test".into(),
                label: "Sandbox (test.salesforce.com)".into(),
                url: Url::parse("https://test.salesforce.com").expect("a valid URL"),
            },
        ];

        let intercom_client_secret = match env.intercom_client_secret {
            Some(s) => s,
            None if sandbox => Secret::new(SANDBOX_INTERCOM_SECRET),
            None => {
                return Err(ConfigError::Missing {
                    name: "INTERCOM_CLIENT_SECRET",
                    when: "the app is not in sandbox mode (it signs every Intercom request)",
                })
            }
        };

        // The OAuth redirect URIs are built on PUBLIC_URL: off loopback the
        // bound address is not what Intercom and browsers reach.
        if env.intercom_client_id.is_some()
            && env.public_url.is_none()
            && !env.bind_addr.ip().is_loopback()
        {
            return Err(ConfigError::Missing {
                name: "PUBLIC_URL",
                when: "INTERCOM_CLIENT_ID is set and BIND_ADDR is not a loopback address (the OAuth redirect URIs are built on it)",
            });
        }

        Ok(Config {
            bind_addr: env.bind_addr,
            intercom_client_secret,
            salesforce,
            api_version: env
                .salesforce_api_version
                .map(|v| v.0)
                .unwrap_or_else(|| DEFAULT_API_VERSION.to_string()),
            cache_ttl: Duration::from_secs(env.cache_ttl_secs),
            cache_max_bytes: match (env.cache_max_bytes, env.cache_max_entries) {
                // CACHE_MAX_ENTRIES is deprecated: alone it still bounds the
                // cache, at 16 KiB an entry.
                (None, Some(entries)) => {
                    tracing::warn!(
                        "CACHE_MAX_ENTRIES is deprecated: set CACHE_MAX_BYTES (taken as {} bytes)",
                        entries.saturating_mul(16 * 1024)
                    );
                    entries.saturating_mul(16 * 1024)
                }
                (bytes, _) => bytes.unwrap_or(DEFAULT_CACHE_MAX_BYTES),
            },
            salesforce_max_connections: env.salesforce_max_connections.0 as usize,
            server: crate::server::ServerLimits {
                header_timeout: Duration::from_millis(env.http_header_timeout_ms.0),
                body_timeout: Duration::from_millis(env.http_body_timeout_ms.0),
                max_connections: env.http_max_connections.0 as usize,
            },
            salesforce_timeout: Duration::from_millis(env.salesforce_timeout_ms.0),
            data_dir: env.data_dir,
            fixtures_dir: env.fixtures_dir,
            workspace_id: env.intercom_workspace_id,
            intercom_access_token: env.intercom_access_token,
            intercom_api_url: env.intercom_api_url,
            preview: env.preview.map_or(sandbox, |p| p.0),
            forms: FormSettings {
                maintain_ownership: env.salesforce_maintain_ownership.0,
                case_record_type: env.salesforce_case_record_type.map(|r| r.0),
                case_owner: env.salesforce_case_owner,
                lead_placeholder: env.salesforce_lead_placeholder.0,
                case_fields: env.salesforce_case_fields.0,
                case_origin: Some(env.salesforce_case_origin.trim().to_string())
                    .filter(|o| !o.is_empty() && !o.eq_ignore_ascii_case("none")),
            },
            auto_tasks: env.auto_tasks.0,
            database: env.database_url,
            queue_retention: Duration::from_secs(env.queue_retention_days * 24 * 3600),
            settings_file: env.settings_file,
            action_token: env.action_token,
            case_external_id_field: env.salesforce_case_external_id_field.map(|f| f.0),
            install: env.intercom_client_id.map(|client_id| InstallSettings {
                client_id,
                oauth_url: env.intercom_oauth_url,
                token_url: env.intercom_token_url,
            }),
            public_url: env.public_url.map(|u| u.0),
            encryption_key: env.encryption_key,
            connect_logins,
        })
    }

    /// The app's base URL, without a trailing slash: `PUBLIC_URL`, else
    /// `http://` + the address `local` the server listens on.
    pub fn public_base(&self, local: SocketAddr) -> String {
        match &self.public_url {
            Some(u) => u.as_str().trim_end_matches('/').to_string(),
            None => format!("http://{local}"),
        }
    }

    /// Whether an environment-configured workspace is served (single-
    /// workspace mode): always without the install routes, and with them
    /// when `SALESFORCE_REFRESH_TOKEN` pre-connects one.
    pub fn serves_env_workspace(&self) -> bool {
        match &self.salesforce {
            SalesforceMode::Sandbox => true,
            SalesforceMode::Org(o) => self.install.is_none() || o.refresh_token.is_some(),
        }
    }

    pub fn is_sandbox(&self) -> bool {
        matches!(self.salesforce, SalesforceMode::Sandbox)
    }

    /// No Salesforce settings, yet not in sandbox mode because the bind
    /// address is not loopback (`main` says so at start-up).
    pub fn sandbox_refused_off_loopback(&self) -> bool {
        matches!(&self.salesforce, SalesforceMode::Org(o) if o.client_id.is_none()
            && o.client_secret.is_none() && o.refresh_token.is_none())
            && !self.bind_addr.ip().is_loopback()
    }
}

/// Salesforce's login host (`SALESFORCE_LOGIN_URL` unset).
pub fn default_login_url() -> Url {
    Url::parse("https://login.salesforce.com").expect("a valid URL")
}

/// `postgres://user:***@host/db`: a URL with its password (and any
/// `password=` parameter) masked, for messages and logs.
pub fn redact_url(raw: &str) -> String {
    if let Some(mut u) = url::Url::parse(raw).ok().filter(|u| !u.cannot_be_a_base()) {
        if u.password().is_some() {
            let _ = u.set_password(Some("***"));
        }
        if u.query().is_some() {
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .map(|(k, v)| {
                    let secret = k.to_ascii_lowercase().contains("password");
                    (
                        k.into_owned(),
                        if secret { "***".into() } else { v.into_owned() },
                    )
                })
                .collect();
            u.query_pairs_mut().clear().extend_pairs(pairs);
        }
        return u.to_string().replace("%2A%2A%2A", "***");
    }
    // Not a URL: keep the scheme and host part, never what precedes an '@'.
    match (raw.find("://"), raw.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &raw[..s], &raw[at + 1..]),
        (_, Some(at)) => format!("***@{}", &raw[at + 1..]),
        _ if raw.to_ascii_lowercase().contains("password") => "[redacted]".to_string(),
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn no_salesforce_settings_means_sandbox_with_defaults() {
        let c = cfg(&[]).unwrap();
        assert!(c.is_sandbox());
        assert_eq!(c.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.api_version, DEFAULT_API_VERSION);
        assert_eq!(c.intercom_client_secret.expose(), SANDBOX_INTERCOM_SECRET);
        assert_eq!(c.cache_ttl, Duration::from_secs(120));
        assert_eq!(c.cache_max_bytes, DEFAULT_CACHE_MAX_BYTES);
        assert_eq!(c.salesforce_max_connections, 8);
        assert_eq!(c.server.header_timeout, Duration::from_secs(10));
        assert_eq!(c.salesforce_timeout, Duration::from_millis(4_000));
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert!(!c.auto_tasks);
    }

    #[test]
    fn sandbox_mode_only_on_a_loopback_bind_or_when_forced() {
        for bind in ["127.0.0.1:8080", "[::1]:9000", "127.0.0.2:0"] {
            assert!(cfg(&[("BIND_ADDR", bind)]).unwrap().is_sandbox(), "{bind}");
        }
        // Reachable from elsewhere and nothing configured: no fake org signed
        // with a published secret, no preview, and the real secret is needed.
        let err = cfg(&[("BIND_ADDR", "0.0.0.0:8080")]).unwrap_err();
        assert!(err.to_string().contains("INTERCOM_CLIENT_SECRET"), "{err}");
        let c = cfg(&[
            ("BIND_ADDR", "0.0.0.0:8080"),
            ("INTERCOM_CLIENT_SECRET", "s"),
        ])
        .unwrap();
        assert!(!c.is_sandbox());
        assert!(!c.preview);
        assert!(c.sandbox_refused_off_loopback());
        match &c.salesforce {
            SalesforceMode::Org(o) => assert!(o.client_id.is_none(), "not connected"),
            SalesforceMode::Sandbox => unreachable!(),
        }
        // SANDBOX=on forces it anywhere (and the preview follows).
        let c = cfg(&[("BIND_ADDR", "0.0.0.0:8080"), ("SANDBOX", "on")]).unwrap();
        assert!(c.is_sandbox() && c.preview);
        assert!(!c.sandbox_refused_off_loopback());
        // Any Salesforce setting means an org, even on loopback.
        assert!(!cfg(&[
            ("SALESFORCE_CLIENT_ID", "x"),
            ("INTERCOM_CLIENT_SECRET", "s")
        ])
        .unwrap()
        .is_sandbox());
        assert!(!cfg(&[("SANDBOX", "off"), ("INTERCOM_CLIENT_SECRET", "s")])
            .unwrap()
            .is_sandbox());
    }

    #[test]
    fn org_settings_require_the_intercom_secret() {
        let err = cfg(&[("SALESFORCE_CLIENT_ID", "x")]).unwrap_err();
        assert!(err.to_string().contains("INTERCOM_CLIENT_SECRET"));
        let c = cfg(&[
            ("SALESFORCE_CLIENT_ID", "x"),
            ("INTERCOM_CLIENT_SECRET", "s"),
            ("SALESFORCE_API_VERSION", "v62.0"),
        ])
        .unwrap();
        assert_eq!(c.api_version, "62.0");
        match c.salesforce {
            SalesforceMode::Org(o) => {
                assert_eq!(o.login_url.as_str(), "https://login.salesforce.com/");
                assert!(o.refresh_token.is_none());
            }
            SalesforceMode::Sandbox => panic!("expected an org"),
        }
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (k, v) in [
            ("BIND_ADDR", "nope"),
            ("CACHE_TTL_SECS", "-1"),
            ("SALESFORCE_API_VERSION", "latest"),
            ("SALESFORCE_TIMEOUT_MS", "0"),
            ("SANDBOX", "maybe"),
            ("INTERCOM_API_URL", "not a url"),
            ("PREVIEW", "sometimes"),
            ("SALESFORCE_MAINTAIN_OWNERSHIP", "sometimes"),
            ("SALESFORCE_CASE_OWNER", "robot"),
            ("SALESFORCE_CASE_RECORD_TYPE", "Support; DROP"),
            ("SALESFORCE_CASE_FIELDS", "Priority, Bad Field"),
            ("SALESFORCE_LEAD_PLACEHOLDER", &"x".repeat(41)),
            ("AUTO_TASKS", "sometimes"),
            ("DATABASE_URL", "mysql://user:hunter2@db/x"),
            ("DATABASE_URL", "postgres://user:hunter2@db:port/x"),
            ("DATABASE_URL", "sqlite://"),
            ("QUEUE_RETENTION_DAYS", "a week"),
        ] {
            let err = cfg(&[(k, v)]).unwrap_err();
            assert!(err.to_string().starts_with(k), "{k}: {err}");
            // The admin console's check says the same.
            assert_eq!(validate(k, v).unwrap_err(), err, "{k}");
        }
        let err = cfg(&[
            ("SALESFORCE_LOGIN_URL", "login.salesforce.com"),
            ("INTERCOM_CLIENT_SECRET", "s"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("SALESFORCE_LOGIN_URL"));
        let err = cfg(&[("CACHE_TTL_SECS", "soon")]).unwrap_err();
        assert!(
            err.to_string().contains("\"soon\""),
            "names the value: {err}"
        );
    }

    #[test]
    fn one_switch_spelling_everywhere() {
        for name in [
            "PREVIEW",
            "AUTO_TASKS",
            "SALESFORCE_MAINTAIN_OWNERSHIP",
            "SANDBOX",
        ] {
            for v in [
                "on", "ON", "true", "True", "yes", "YES", "1", "off", "false", "No", "0",
            ] {
                assert_eq!(validate(name, v), Ok(()), "{name}={v}");
            }
            assert!(validate(name, "maybe").is_err(), "{name}");
        }
        assert!(cfg(&[("AUTO_TASKS", "yes")]).unwrap().auto_tasks);
        assert!(!cfg(&[("PREVIEW", "No")]).unwrap().preview);
        assert!(
            cfg(&[("SALESFORCE_MAINTAIN_OWNERSHIP", "TRUE")])
                .unwrap()
                .forms
                .maintain_ownership
        );
        assert_eq!(validate("SANDBOX", "auto"), Ok(()));
    }

    #[test]
    fn the_case_origin_defaults_to_chat_and_can_be_turned_off() {
        assert_eq!(cfg(&[]).unwrap().forms.case_origin.as_deref(), Some("Chat"));
        assert_eq!(
            cfg(&[("SALESFORCE_CASE_ORIGIN", " Web ")])
                .unwrap()
                .forms
                .case_origin
                .as_deref(),
            Some("Web")
        );
        assert_eq!(
            cfg(&[("SALESFORCE_CASE_ORIGIN", "none")])
                .unwrap()
                .forms
                .case_origin,
            None
        );
    }

    #[test]
    fn the_install_routes_need_a_public_url_off_loopback() {
        let err = cfg(&[
            ("BIND_ADDR", "0.0.0.0:8080"),
            ("INTERCOM_CLIENT_SECRET", "s"),
            ("INTERCOM_CLIENT_ID", "cid"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("PUBLIC_URL"), "{err}");
        let c = cfg(&[
            ("BIND_ADDR", "0.0.0.0:8080"),
            ("INTERCOM_CLIENT_SECRET", "s"),
            ("INTERCOM_CLIENT_ID", "cid"),
            ("PUBLIC_URL", "https://sf-inbox.example.com/"),
        ])
        .unwrap();
        assert_eq!(
            c.public_base("0.0.0.0:8080".parse().unwrap()),
            "https://sf-inbox.example.com"
        );
        let install = c.install.clone().expect("install routes on");
        assert_eq!(install.oauth_url.as_str(), DEFAULT_INTERCOM_OAUTH_URL);
        assert_eq!(install.token_url.as_str(), DEFAULT_INTERCOM_TOKEN_URL);
        // A refresh token pre-connects the environment's workspace; without
        // one only installed workspaces are served.
        assert!(!c.serves_env_workspace());
        assert!(cfg(&[("PUBLIC_URL", "https://x.example/?q=1")]).is_err());
        // Loopback: the bound address will do.
        let c = cfg(&[("INTERCOM_CLIENT_ID", "cid")]).unwrap();
        assert_eq!(
            c.public_base("127.0.0.1:9000".parse().unwrap()),
            "http://127.0.0.1:9000"
        );
    }

    #[test]
    fn validate_knows_every_setting_and_only_those() {
        let names = setting_names();
        assert!(names.contains(&"BIND_ADDR") && names.contains(&"DATABASE_URL"));
        assert_eq!(names.len(), 39);
        for n in names {
            assert_eq!(validate(n, ""), Ok(()), "{n}: empty is unset");
        }
        assert!(validate("NOT_A_SETTING", "x").is_err());
        assert_eq!(validate("CACHE_TTL_SECS", " 60 "), Ok(()));
    }

    #[test]
    fn empty_values_are_unset_and_values_are_trimmed() {
        let c = cfg(&[("CACHE_TTL_SECS", ""), ("BIND_ADDR", " 127.0.0.1:9 ")]).unwrap();
        assert_eq!(c.cache_ttl, Duration::from_secs(120));
        assert_eq!(c.bind_addr.port(), 9);
    }

    #[test]
    fn preview_is_on_in_sandbox_mode_and_off_in_production_unless_asked() {
        assert!(cfg(&[]).unwrap().preview);
        assert!(!cfg(&[("PREVIEW", "off")]).unwrap().preview);
        let org = [
            ("SALESFORCE_CLIENT_ID", "x"),
            ("INTERCOM_CLIENT_SECRET", "s"),
        ];
        assert!(!cfg(&org).unwrap().preview);
        let on = [org[0], org[1], ("PREVIEW", "on")];
        assert!(cfg(&on).unwrap().preview);
    }

    #[test]
    fn form_settings_default_and_parse() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.forms, FormSettings::default());
        assert_eq!(c.forms.lead_placeholder, "[not provided]");
        assert_eq!(c.forms.case_fields, DEFAULT_CASE_FIELDS);
        let c = cfg(&[
            ("SALESFORCE_MAINTAIN_OWNERSHIP", "on"),
            ("SALESFORCE_CASE_RECORD_TYPE", "Billing"),
            ("SALESFORCE_CASE_OWNER", "teammate"),
            ("SALESFORCE_LEAD_PLACEHOLDER", "(unknown)"),
            ("SALESFORCE_CASE_FIELDS", "Priority, Origin,"),
        ])
        .unwrap();
        assert!(c.forms.maintain_ownership);
        assert_eq!(c.forms.case_record_type.as_deref(), Some("Billing"));
        assert_eq!(c.forms.case_owner, CaseOwner::Teammate);
        assert_eq!(c.forms.lead_placeholder, "(unknown)");
        assert_eq!(c.forms.case_fields, ["Priority", "Origin"]);
    }

    #[test]
    fn auto_tasks_and_database_url() {
        let c = cfg(&[]).unwrap();
        assert!(!c.auto_tasks);
        assert_eq!(c.database, None);
        let c = cfg(&[
            ("AUTO_TASKS", "on"),
            ("DATABASE_URL", "sqlite:///var/lib/sf-inbox/tasks.db"),
        ])
        .unwrap();
        assert!(c.auto_tasks);
        assert_eq!(
            c.database,
            Some(Database::File("/var/lib/sf-inbox/tasks.db".into()))
        );
        let c = cfg(&[("DATABASE_URL", "sqlite::memory:")]).unwrap();
        assert_eq!(c.database, Some(Database::Memory));
        let c = cfg(&[("DATABASE_URL", "sqlite://data/x.db?mode=rwc")]).unwrap();
        assert_eq!(c.database, Some(Database::File("data/x.db".into())));
    }

    #[test]
    fn secrets_do_not_print() {
        let c = cfg(&[
            ("SALESFORCE_CLIENT_SECRET", "hunter2"),
            ("SALESFORCE_REFRESH_TOKEN", "5Aep861-refresh"),
            ("INTERCOM_CLIENT_SECRET", "intercom-secret"),
            ("INTERCOM_ACCESS_TOKEN", "dG9rOmFjY2Vzcw=="),
        ])
        .unwrap();
        let dbg = format!("{c:?}");
        for s in [
            "hunter2",
            "5Aep861-refresh",
            "intercom-secret",
            "dG9rOmFjY2Vzcw==",
        ] {
            assert!(!dbg.contains(s), "{s} leaked into {dbg}");
        }
    }

    #[test]
    fn an_error_never_repeats_a_secret() {
        let err = cfg(&[("DATABASE_URL", "mysql://app:pa55word@db/x")]).unwrap_err();
        assert_eq!(
            cfg(&[("DATABASE_URL", "postgres://u:p@db/x")])
                .unwrap()
                .database,
            Some(Database::Postgres(Secret::new("postgres://u:p@db/x")))
        );
        assert_eq!(
            cfg(&[]).unwrap().queue_retention,
            Duration::from_secs(7 * 24 * 3600)
        );
        assert!(err.to_string().starts_with("DATABASE_URL"), "{err}");
        assert!(!err.to_string().contains("pa55word"), "{err}");
    }
}
