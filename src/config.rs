//! Configuration from the environment.
//!
//! The variable names are part of the deployment contract (see README). A
//! setting that is present but invalid stops start-up with a message naming
//! it; a setting that is absent takes its default. With no Salesforce
//! settings at all the app runs against the built-in sandbox org.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

/// A value that must never reach a log line or a `{:?}`.
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

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
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

#[derive(Debug, Clone)]
pub enum SalesforceMode {
    /// No Salesforce settings: start the built-in sandbox org and use it.
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
    pub cache_max_entries: u64,
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
}

/// Who owns a case the app creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseOwner {
    /// Salesforce's case assignment rules (the default).
    AssignmentRules,
    /// The teammate's own Salesforce user (matched by email).
    Teammate,
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
}

/// The optional Case fields shown when `SALESFORCE_CASE_FIELDS` is unset:
/// the standard ones a support team sets by hand.
pub const DEFAULT_CASE_FIELDS: &[&str] = &["Type", "Status", "Reason", "Origin", "Priority"];

impl Default for FormSettings {
    fn default() -> Self {
        FormSettings {
            maintain_ownership: false,
            case_record_type: None,
            case_owner: CaseOwner::AssignmentRules,
            lead_placeholder: "[not provided]".to_string(),
            case_fields: DEFAULT_CASE_FIELDS.iter().map(|f| f.to_string()).collect(),
        }
    }
}

fn form_settings(get: &dyn Fn(&str) -> Option<String>) -> Result<FormSettings, ConfigError> {
    let maintain_ownership = match get("SALESFORCE_MAINTAIN_OWNERSHIP").as_deref() {
        None => false,
        Some(v) if matches!(v.to_ascii_lowercase().as_str(), "on" | "true" | "1" | "yes") => true,
        Some(v)
            if matches!(
                v.to_ascii_lowercase().as_str(),
                "off" | "false" | "0" | "no"
            ) =>
        {
            false
        }
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: "SALESFORCE_MAINTAIN_OWNERSHIP",
                reason: format!("expected on or off, got {other:?}"),
            })
        }
    };
    let case_record_type = match get("SALESFORCE_CASE_RECORD_TYPE") {
        None => None,
        Some(v)
            if v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) =>
        {
            Some(v)
        }
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: "SALESFORCE_CASE_RECORD_TYPE",
                reason: format!(
                    "expected a record type developer name (e.g. Support) or id, got {other:?}"
                ),
            })
        }
    };
    let case_owner = match get("SALESFORCE_CASE_OWNER").as_deref() {
        None | Some("assignment_rules") => CaseOwner::AssignmentRules,
        Some("teammate") => CaseOwner::Teammate,
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: "SALESFORCE_CASE_OWNER",
                reason: format!("expected assignment_rules or teammate, got {other:?}"),
            })
        }
    };
    let lead_placeholder =
        get("SALESFORCE_LEAD_PLACEHOLDER").unwrap_or_else(|| "[not provided]".into());
    if lead_placeholder.chars().count() > 40 {
        return Err(ConfigError::Invalid {
            name: "SALESFORCE_LEAD_PLACEHOLDER",
            reason: "at most 40 characters (it must fit Lead.FirstName)".to_string(),
        });
    }
    let case_fields = match get("SALESFORCE_CASE_FIELDS") {
        None => DEFAULT_CASE_FIELDS.iter().map(|f| f.to_string()).collect(),
        Some(list) => {
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
            if let Some(bad) = fields.iter().find(|f| !api_name(f)) {
                return Err(ConfigError::Invalid {
                    name: "SALESFORCE_CASE_FIELDS",
                    reason: format!("expected comma-separated field API names, got {bad:?}"),
                });
            }
            fields
        }
    };
    Ok(FormSettings {
        maintain_ownership,
        case_record_type,
        case_owner,
        lead_placeholder,
        case_fields,
    })
}

/// Where the task store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// `sqlite::memory:`: gone at exit (tests, the sandbox).
    Memory,
    /// `sqlite:///path/x.db` or `sqlite://x.db` (relative).
    File(PathBuf),
}

impl Database {
    /// Parses a `DATABASE_URL`; only SQLite is supported.
    pub fn parse(url: &str) -> Result<Database, String> {
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            return Ok(Database::Memory);
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| {
                format!("expected sqlite:///path/to/file.db or sqlite::memory:, got {url:?}")
            })?;
        // Query parameters (`?mode=rwc`) are accepted and ignored.
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(format!("{url:?} names no database file"));
        }
        Ok(Database::File(PathBuf::from(path)))
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get`, so tests need not touch the process env.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        // An empty variable counts as unset: `FOO=` in a .env file means "no value".
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let bind_addr = parse_or(
            "BIND_ADDR",
            get("BIND_ADDR"),
            "127.0.0.1:8080".parse().unwrap(),
        )?;

        let sf_keys = [
            "SALESFORCE_LOGIN_URL",
            "SALESFORCE_CLIENT_ID",
            "SALESFORCE_CLIENT_SECRET",
            "SALESFORCE_REFRESH_TOKEN",
        ];
        let sandbox = match get("SANDBOX").as_deref() {
            None | Some("auto") => sf_keys.iter().all(|k| get(k).is_none()),
            Some("on" | "true" | "1") => true,
            Some("off" | "false" | "0") => false,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "SANDBOX",
                    reason: format!("expected auto, on or off, got {other:?}"),
                })
            }
        };

        let salesforce = if sandbox {
            SalesforceMode::Sandbox
        } else {
            let login = get("SALESFORCE_LOGIN_URL")
                .unwrap_or_else(|| "https://login.salesforce.com".to_string());
            let login_url = Url::parse(&login).map_err(|e| ConfigError::Invalid {
                name: "SALESFORCE_LOGIN_URL",
                reason: e.to_string(),
            })?;
            if !matches!(login_url.scheme(), "https" | "http") || login_url.host().is_none() {
                return Err(ConfigError::Invalid {
                    name: "SALESFORCE_LOGIN_URL",
                    reason: "expected an https:// URL such as https://login.salesforce.com"
                        .to_string(),
                });
            }
            SalesforceMode::Org(OrgSettings {
                login_url,
                client_id: get("SALESFORCE_CLIENT_ID"),
                client_secret: get("SALESFORCE_CLIENT_SECRET").map(Secret::new),
                refresh_token: get("SALESFORCE_REFRESH_TOKEN").map(Secret::new),
            })
        };

        let preview = match get("PREVIEW").as_deref() {
            None => sandbox,
            Some("on") => true,
            Some("off") => false,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "PREVIEW",
                    reason: format!("expected on or off, got {other:?}"),
                })
            }
        };

        let intercom_client_secret = match (get("INTERCOM_CLIENT_SECRET"), &salesforce) {
            (Some(s), _) => Secret::new(s),
            (None, SalesforceMode::Sandbox) => Secret::new(SANDBOX_INTERCOM_SECRET),
            (None, SalesforceMode::Org(_)) => {
                return Err(ConfigError::Missing {
                    name: "INTERCOM_CLIENT_SECRET",
                    when: "a Salesforce org is configured (it signs every Intercom request)",
                })
            }
        };

        let api_version = match get("SALESFORCE_API_VERSION") {
            None => DEFAULT_API_VERSION.to_string(),
            Some(v) => normalise_version(&v).ok_or_else(|| ConfigError::Invalid {
                name: "SALESFORCE_API_VERSION",
                reason: format!("expected a version such as 67.0, got {v:?}"),
            })?,
        };

        let cache_ttl_secs: u64 = parse_or("CACHE_TTL_SECS", get("CACHE_TTL_SECS"), 120)?;
        let cache_max_entries: u64 =
            parse_or("CACHE_MAX_ENTRIES", get("CACHE_MAX_ENTRIES"), 10_000)?;
        let timeout_ms: u64 =
            parse_or("SALESFORCE_TIMEOUT_MS", get("SALESFORCE_TIMEOUT_MS"), 4_000)?;
        if timeout_ms == 0 {
            return Err(ConfigError::Invalid {
                name: "SALESFORCE_TIMEOUT_MS",
                reason: "must be above 0".to_string(),
            });
        }

        let intercom_api_url = match get("INTERCOM_API_URL") {
            None => None,
            Some(u) => Some(Url::parse(&u).map_err(|e| ConfigError::Invalid {
                name: "INTERCOM_API_URL",
                reason: format!("{u:?}: {e}"),
            })?),
        };

        let auto_tasks = match get("AUTO_TASKS").as_deref() {
            None | Some("off" | "false" | "0") => false,
            Some("on" | "true" | "1") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "AUTO_TASKS",
                    reason: format!("expected on or off, got {other:?}"),
                })
            }
        };
        let database = match get("DATABASE_URL") {
            None => None,
            Some(u) => Some(Database::parse(&u).map_err(|reason| ConfigError::Invalid {
                name: "DATABASE_URL",
                reason,
            })?),
        };

        Ok(Config {
            bind_addr,
            intercom_client_secret,
            salesforce,
            api_version,
            cache_ttl: Duration::from_secs(cache_ttl_secs),
            cache_max_entries,
            salesforce_timeout: Duration::from_millis(timeout_ms),
            data_dir: get("DATA_DIR").unwrap_or_else(|| "./data".into()).into(),
            fixtures_dir: get("FIXTURES_DIR")
                .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures").into())
                .into(),
            workspace_id: get("INTERCOM_WORKSPACE_ID"),
            intercom_access_token: get("INTERCOM_ACCESS_TOKEN").map(Secret::new),
            intercom_api_url,
            preview,
            forms: form_settings(&get)?,
            auto_tasks,
            database,
        })
    }

    pub fn is_sandbox(&self) -> bool {
        matches!(self.salesforce, SalesforceMode::Sandbox)
    }
}

fn parse_or<T: std::str::FromStr>(
    name: &'static str,
    value: Option<String>,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match value {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e: T::Err| ConfigError::Invalid {
            name,
            reason: format!("{v:?}: {e}"),
        }),
    }
}

/// Accepts `67`, `67.0` and `v67.0`; returns `67.0`.
fn normalise_version(v: &str) -> Option<String> {
    let v = v.strip_prefix('v').unwrap_or(v);
    let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
    let major: u32 = major.parse().ok()?;
    let minor: u32 = minor.parse().ok()?;
    (20..=99)
        .contains(&major)
        .then(|| format!("{major}.{minor}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

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
            ("PREVIEW", "yes"),
            ("SALESFORCE_MAINTAIN_OWNERSHIP", "sometimes"),
            ("SALESFORCE_CASE_OWNER", "robot"),
            ("SALESFORCE_CASE_RECORD_TYPE", "Support; DROP"),
            ("SALESFORCE_CASE_FIELDS", "Priority, Bad Field"),
            ("AUTO_TASKS", "sometimes"),
            ("DATABASE_URL", "postgres://db/x"),
            ("DATABASE_URL", "sqlite://"),
        ] {
            let err = cfg(&[(k, v)]).unwrap_err();
            assert!(err.to_string().starts_with(k), "{k}: {err}");
        }
        let err = cfg(&[
            ("SALESFORCE_LOGIN_URL", "login.salesforce.com"),
            ("INTERCOM_CLIENT_SECRET", "s"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("SALESFORCE_LOGIN_URL"));
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
        let c = cfg(&[
            ("SALESFORCE_MAINTAIN_OWNERSHIP", "on"),
            ("SALESFORCE_CASE_RECORD_TYPE", "Billing"),
            ("SALESFORCE_CASE_OWNER", "teammate"),
            ("SALESFORCE_LEAD_PLACEHOLDER", "(unknown)"),
        ])
        .unwrap();
        assert!(c.forms.maintain_ownership);
        assert_eq!(c.forms.case_record_type.as_deref(), Some("Billing"));
        assert_eq!(c.forms.case_owner, CaseOwner::Teammate);
        assert_eq!(c.forms.lead_placeholder, "(unknown)");
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
}
