//! A workspace's settings: what it automates (tasks, cases), how its Leads
//! and Cases are made, which fields its panels show, its API budget.
//!
//! One `serde` struct, [`WorkspaceSettings`], in TOML (the `toml` crate):
//! the shape of `SETTINGS_FILE`, of the store's copy (the `settings` table)
//! and of the console's export and import. Every section and field is
//! optional in a file; what is absent comes from the environment's
//! [`Config`] ([`WorkspaceSettings::defaults`]), so today's variables keep
//! their meaning:
//!
//! ```toml
//! [auto_tasks]
//! enabled = true                # default: AUTO_TASKS
//! [auto_cases]
//! create_on_start = false       # defaults off
//! update_on_close = false
//! close_status = "Closed"       # optional
//! record_type = "Support"       # optional
//! origin = "Chat"               # default: SALESFORCE_CASE_ORIGIN
//! transcript = "description"    # "description" | "comment" | "none"
//! [[auto_cases.mappings]]
//! intercom = "Product Area"
//! salesforce = "Product_Area__c"
//! [lead]
//! placeholder = "[not provided]"   # default: SALESFORCE_LEAD_PLACEHOLDER
//! maintain_ownership = false        # default: SALESFORCE_MAINTAIN_OWNERSHIP
//! [case]
//! fields = ["Type", "Status"]       # default: SALESFORCE_CASE_FIELDS
//! owner = "assignment_rules"        # or "teammate"; default: SALESFORCE_CASE_OWNER
//! record_type = "Support"           # optional; default: SALESFORCE_CASE_RECORD_TYPE
//! [panels]                          # fields per panel, in order; empty = built-in
//! contact = []
//! [budget]
//! daily_cap = 0                     # 0 = no cap
//! background_share = 80             # percent of the cap background work may use
//! ```
//!
//! An optional text set to `""` in a file means "none" (TOML has no null).
//! A bad file is refused with a [`SettingsError`] naming the key.

use serde::{Deserialize, Serialize};

use crate::config::{CaseOwner, Config, FormSettings};
use crate::store::{Store, StoreError};

/// Why settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A key is unknown, of the wrong type, or its value is out of range.
    #[error("settings: `{key}`: {reason}")]
    Invalid { key: String, reason: String },
    /// The text is not TOML at all.
    #[error("settings: not valid TOML: {0}")]
    Syntax(String),
    /// `SETTINGS_FILE` could not be read.
    #[error("SETTINGS_FILE {path}: {reason}")]
    File { path: String, reason: String },
    /// The store could not load or save them.
    #[error("settings store: {0}")]
    Store(String),
}

impl From<StoreError> for SettingsError {
    fn from(e: StoreError) -> Self {
        SettingsError::Store(e.to_string())
    }
}

/// Everything one workspace can set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceSettings {
    pub auto_tasks: AutoTasks,
    pub auto_cases: AutoCases,
    pub lead: LeadSettings,
    pub case: CaseSettings,
    pub panels: PanelFields,
    pub budget: Budget,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoTasks {
    /// Open a Task when a known person starts a conversation, complete it
    /// on close (`AUTO_TASKS`).
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoCases {
    /// A Case when a Contact starts a conversation (`conversation.user.created`).
    pub create_on_start: bool,
    /// The transcript and mapped attributes on every close
    /// (`conversation.admin.closed`).
    pub update_on_close: bool,
    /// The Case status a close sets (Intercom never does); none: untouched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_status: Option<String>,
    /// Developer name or id; none: Salesforce's default record type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    /// The Case Origin; none: Salesforce's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    pub transcript: Transcript,
    /// Intercom conversation attribute → Case field.
    #[serde(default)]
    pub mappings: Vec<Mapping>,
}

/// Where a case's transcript goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transcript {
    /// The Case Description (cut to its length, with a link).
    #[default]
    Description,
    /// A CaseComment per close.
    Comment,
    /// Nowhere.
    None,
}

/// One attribute mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The conversation attribute's name, as Intercom shows it.
    pub intercom: String,
    /// The Case field's API name.
    pub salesforce: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadSettings {
    /// Sent for a required Lead field left empty (`SALESFORCE_LEAD_PLACEHOLDER`).
    pub placeholder: String,
    /// Owner by the Intercom owner's email (`SALESFORCE_MAINTAIN_OWNERSHIP`).
    pub maintain_ownership: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSettings {
    /// Optional fields New Case offers (`SALESFORCE_CASE_FIELDS`).
    pub fields: Vec<String>,
    /// `SALESFORCE_CASE_OWNER`.
    pub owner: CaseOwner,
    /// `SALESFORCE_CASE_RECORD_TYPE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
}

/// Salesforce fields each panel shows, in order; empty: the built-in set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelFields {
    pub contact: Vec<String>,
    pub account: Vec<String>,
    pub opportunity: Vec<String>,
    pub lead: Vec<String>,
    pub case: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Salesforce API calls per day the app may make; 0: no cap.
    pub daily_cap: u64,
    /// Percent of the cap background work may use (the rest is the sidebar's).
    pub background_share: u8,
}

/// The name of the row in the `settings` table that holds the TOML.
pub const STORE_KEY: &str = "workspace.toml";

impl WorkspaceSettings {
    /// What a workspace has with no settings of its own: the environment's
    /// variables, nothing automatic beyond `AUTO_TASKS`.
    pub fn defaults(config: &Config) -> WorkspaceSettings {
        let forms: &FormSettings = &config.forms;
        WorkspaceSettings {
            auto_tasks: AutoTasks {
                enabled: config.auto_tasks,
            },
            auto_cases: AutoCases {
                create_on_start: false,
                update_on_close: false,
                close_status: None,
                record_type: None,
                origin: forms.case_origin.clone(),
                transcript: Transcript::Description,
                mappings: Vec::new(),
            },
            lead: LeadSettings {
                placeholder: forms.lead_placeholder.clone(),
                maintain_ownership: forms.maintain_ownership,
            },
            case: CaseSettings {
                fields: forms.case_fields.clone(),
                owner: forms.case_owner,
                record_type: forms.case_record_type.clone(),
            },
            panels: PanelFields::default(),
            budget: Budget {
                daily_cap: 0,
                background_share: 80,
            },
        }
    }

    /// Reads `text` over `defaults`: a key the text sets wins, every other
    /// keeps its default. Unknown keys, wrong types and bad values are
    /// refused, naming the key (`auto_cases.transcript`).
    pub fn from_toml(
        text: &str,
        defaults: &WorkspaceSettings,
    ) -> Result<WorkspaceSettings, SettingsError> {
        let file: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| SettingsError::Syntax(e.message().to_string()))?;
        let mut merged = toml::Table::try_from(defaults).map_err(|e| SettingsError::Invalid {
            key: "defaults".into(),
            reason: e.to_string(),
        })?;
        merge(&mut merged, file);
        let settings: WorkspaceSettings =
            serde_path_to_error::deserialize(toml::Value::Table(merged)).map_err(|e| {
                let key = e.path().to_string();
                SettingsError::Invalid {
                    key: if key == "." { "settings".into() } else { key },
                    reason: e.into_inner().to_string(),
                }
            })?;
        settings.normalised().check()
    }

    /// The whole settings as TOML, every key written (an export).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("settings serialise as TOML")
    }

    /// The values for the Create Lead and New Case forms.
    pub fn form_settings(&self) -> FormSettings {
        FormSettings {
            maintain_ownership: self.lead.maintain_ownership,
            case_record_type: self.case.record_type.clone(),
            case_owner: self.case.owner,
            lead_placeholder: self.lead.placeholder.clone(),
            case_fields: self.case.fields.clone(),
            case_origin: self.auto_cases.origin.clone(),
        }
    }

    /// `""` (and `"none"` for the origin, as `SALESFORCE_CASE_ORIGIN`) is
    /// no value; values are trimmed.
    fn normalised(mut self) -> WorkspaceSettings {
        fn opt(v: &mut Option<String>) {
            *v = v
                .take()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
        }
        opt(&mut self.auto_cases.close_status);
        opt(&mut self.auto_cases.record_type);
        opt(&mut self.auto_cases.origin);
        opt(&mut self.case.record_type);
        if self
            .auto_cases
            .origin
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case("none"))
        {
            self.auto_cases.origin = None;
        }
        for m in &mut self.auto_cases.mappings {
            m.intercom = m.intercom.trim().to_string();
            m.salesforce = m.salesforce.trim().to_string();
        }
        self
    }

    /// The rules a value must meet whatever the org says (the describe
    /// checks come with the automatic cases).
    fn check(self) -> Result<WorkspaceSettings, SettingsError> {
        let bad = |key: &str, reason: String| SettingsError::Invalid {
            key: key.to_string(),
            reason,
        };
        if self.lead.placeholder.chars().count() > 40 {
            return Err(bad(
                "lead.placeholder",
                "at most 40 characters (it must fit Lead.FirstName)".into(),
            ));
        }
        if self.budget.background_share > 100 {
            return Err(bad(
                "budget.background_share",
                format!("a percentage (0-100), got {}", self.budget.background_share),
            ));
        }
        let lists = [
            ("case.fields", &self.case.fields),
            ("panels.contact", &self.panels.contact),
            ("panels.account", &self.panels.account),
            ("panels.opportunity", &self.panels.opportunity),
            ("panels.lead", &self.panels.lead),
            ("panels.case", &self.panels.case),
        ];
        for (key, list) in lists {
            if let Some(f) = list.iter().find(|f| !is_api_name(f)) {
                return Err(bad(key, format!("{f:?} is not a field API name")));
            }
        }
        for (key, v) in [
            ("auto_cases.record_type", &self.auto_cases.record_type),
            ("case.record_type", &self.case.record_type),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !is_api_name(v)) {
                return Err(bad(
                    key,
                    format!(
                        "expected a record type developer name (e.g. Support) or id, got {v:?}"
                    ),
                ));
            }
        }
        for (i, m) in self.auto_cases.mappings.iter().enumerate() {
            if m.intercom.is_empty() {
                return Err(bad(
                    &format!("auto_cases.mappings[{i}].intercom"),
                    "an Intercom conversation attribute name is needed".into(),
                ));
            }
            if !is_api_name(&m.salesforce) {
                return Err(bad(
                    &format!("auto_cases.mappings[{i}].salesforce"),
                    format!("{:?} is not a Case field API name", m.salesforce),
                ));
            }
            if let Some(j) = self.auto_cases.mappings[..i]
                .iter()
                .position(|o| o.salesforce.eq_ignore_ascii_case(&m.salesforce))
            {
                return Err(bad(
                    &format!("auto_cases.mappings[{i}].salesforce"),
                    format!(
                        "{} is already mapped (auto_cases.mappings[{j}]): one attribute per field",
                        m.salesforce
                    ),
                ));
            }
        }
        Ok(self)
    }

    /// The workspace's stored settings over `defaults`, or `defaults` when
    /// it has none.
    pub async fn load(
        store: &Store,
        defaults: &WorkspaceSettings,
    ) -> Result<WorkspaceSettings, SettingsError> {
        match store.setting(STORE_KEY).await? {
            Some(text) => WorkspaceSettings::from_toml(&text, defaults),
            None => Ok(defaults.clone()),
        }
    }

    /// Saves these settings as the workspace's (the whole TOML, one row).
    pub async fn save(&self, store: &Store) -> Result<(), SettingsError> {
        store.save_setting(STORE_KEY, &self.to_toml()).await?;
        Ok(())
    }

    /// Reads `SETTINGS_FILE` over `defaults`.
    pub fn read_file(
        path: &std::path::Path,
        defaults: &WorkspaceSettings,
    ) -> Result<WorkspaceSettings, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|e| SettingsError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        WorkspaceSettings::from_toml(&text, defaults).map_err(|e| SettingsError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }
}

/// Where the store remembers which `SETTINGS_FILE` content it last applied.
pub const FILE_FINGERPRINT_KEY: &str = "settings_file.sha256";

/// At start-up, single-workspace mode: `SETTINGS_FILE` (if set) is read
/// and checked every time (a bad file stops start-up), but it replaces the
/// workspace's stored settings only when its content differs from the
/// content applied last time. Changes saved since (the console) survive a
/// restart; editing the file is how an operator overrides them again.
/// Answers what the workspace now has.
pub async fn load_at_start(
    config: &Config,
    store: &Store,
) -> Result<WorkspaceSettings, SettingsError> {
    let defaults = WorkspaceSettings::defaults(config);
    let Some(path) = &config.settings_file else {
        return WorkspaceSettings::load(store, &defaults).await;
    };
    let from_file = WorkspaceSettings::read_file(path, &defaults)?;
    let text = std::fs::read(path).map_err(|e| SettingsError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let fingerprint = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&text));
    let applied = store.setting(FILE_FINGERPRINT_KEY).await?;
    if applied.as_deref() == Some(fingerprint.as_str()) {
        return WorkspaceSettings::load(store, &defaults).await;
    }
    from_file.save(store).await?;
    store
        .save_setting(FILE_FINGERPRINT_KEY, &fingerprint)
        .await?;
    Ok(from_file)
}

fn is_api_name(f: &str) -> bool {
    f.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `over`'s keys into `base`, tables merged key by key, anything else
/// (values, arrays) replaced.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Config {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .expect("config")
    }

    const FULL: &str = r#"
[auto_tasks]
enabled = true
[auto_cases]
create_on_start = true
update_on_close = true
close_status = "Closed"
record_type = "Support"
origin = "Chat"
transcript = "comment"
[[auto_cases.mappings]]
intercom = "Product Area"
salesforce = "Product_Area__c"
[[auto_cases.mappings]]
intercom = "Refund"
salesforce = "Refund_Amount__c"
[lead]
placeholder = "[none]"
maintain_ownership = true
[case]
fields = ["Type", "Priority"]
owner = "teammate"
record_type = "Refund"
[panels]
contact = ["Title", "Phone"]
account = []
opportunity = []
lead = []
case = []
[budget]
daily_cap = 5000
background_share = 70
"#;

    #[test]
    fn an_empty_file_is_the_environment() {
        let c = config(&[
            ("AUTO_TASKS", "on"),
            ("SALESFORCE_LEAD_PLACEHOLDER", "n/a"),
            ("SALESFORCE_MAINTAIN_OWNERSHIP", "on"),
            ("SALESFORCE_CASE_FIELDS", "Type,Reason"),
            ("SALESFORCE_CASE_OWNER", "teammate"),
            ("SALESFORCE_CASE_RECORD_TYPE", "Support"),
            ("SALESFORCE_CASE_ORIGIN", "Web"),
        ]);
        let d = WorkspaceSettings::defaults(&c);
        let s = WorkspaceSettings::from_toml("", &d).unwrap();
        assert_eq!(s, d);
        assert!(s.auto_tasks.enabled);
        assert!(!s.auto_cases.create_on_start && !s.auto_cases.update_on_close);
        assert_eq!(s.auto_cases.origin.as_deref(), Some("Web"));
        assert_eq!(s.lead.placeholder, "n/a");
        assert!(s.lead.maintain_ownership);
        assert_eq!(s.case.fields, ["Type", "Reason"]);
        assert_eq!(s.case.owner, CaseOwner::Teammate);
        assert_eq!(s.case.record_type.as_deref(), Some("Support"));
        assert_eq!(s.budget.background_share, 80);
        assert_eq!(s.form_settings(), c.forms);
    }

    #[test]
    fn a_full_file_sets_everything_and_round_trips() {
        let d = WorkspaceSettings::defaults(&config(&[]));
        let s = WorkspaceSettings::from_toml(FULL, &d).unwrap();
        assert!(s.auto_cases.create_on_start && s.auto_cases.update_on_close);
        assert_eq!(s.auto_cases.close_status.as_deref(), Some("Closed"));
        assert_eq!(s.auto_cases.transcript, Transcript::Comment);
        assert_eq!(
            s.auto_cases.mappings[1],
            Mapping {
                intercom: "Refund".into(),
                salesforce: "Refund_Amount__c".into()
            }
        );
        assert_eq!(s.case.owner, CaseOwner::Teammate);
        assert_eq!(s.panels.contact, ["Title", "Phone"]);
        assert_eq!(s.budget.daily_cap, 5000);
        // to_toml writes what from_toml reads, over any defaults.
        let other = WorkspaceSettings::defaults(&config(&[("AUTO_TASKS", "off")]));
        assert_eq!(
            WorkspaceSettings::from_toml(&s.to_toml(), &other).unwrap(),
            s
        );
    }

    #[test]
    fn a_partial_file_keeps_the_other_defaults() {
        let d = WorkspaceSettings::defaults(&config(&[("SALESFORCE_CASE_ORIGIN", "Email")]));
        let s = WorkspaceSettings::from_toml(
            "[auto_cases]\ncreate_on_start = true\n[budget]\ndaily_cap = 10\n",
            &d,
        )
        .unwrap();
        assert!(s.auto_cases.create_on_start);
        assert!(!s.auto_cases.update_on_close);
        assert_eq!(s.auto_cases.origin.as_deref(), Some("Email"));
        assert_eq!(s.budget.daily_cap, 10);
        assert_eq!(s.budget.background_share, 80);
        // "" is none; "none" too for the origin.
        let s = WorkspaceSettings::from_toml(
            "[auto_cases]\norigin = \"none\"\n[case]\nrecord_type = \"\"\n",
            &WorkspaceSettings::defaults(&config(&[("SALESFORCE_CASE_RECORD_TYPE", "Support")])),
        )
        .unwrap();
        assert_eq!(s.auto_cases.origin, None);
        assert_eq!(s.case.record_type, None);
    }

    fn key_of(text: &str) -> String {
        let d = WorkspaceSettings::defaults(&config(&[]));
        match WorkspaceSettings::from_toml(text, &d) {
            Err(SettingsError::Invalid { key, .. }) => key,
            other => panic!("{text:?}: expected an invalid key, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_key() {
        assert_eq!(
            key_of("[auto_cases]\ntranscript = \"email\""),
            "auto_cases.transcript"
        );
        assert_eq!(
            key_of("[auto_cases]\ncreate_on_start = \"yes please\""),
            "auto_cases.create_on_start"
        );
        assert_eq!(key_of("[case]\nowner = \"me\""), "case.owner");
        assert_eq!(key_of("[budget]\ndaily_cap = -1"), "budget.daily_cap");
        assert_eq!(
            key_of("[budget]\nbackground_share = 120"),
            "budget.background_share"
        );
        assert_eq!(
            key_of("[lead]\nplaceholder = \"12345678901234567890123456789012345678901\""),
            "lead.placeholder"
        );
        assert_eq!(
            key_of("[panels]\ncontact = [\"Title\", \"not a field\"]"),
            "panels.contact"
        );
        assert_eq!(
            key_of("[[auto_cases.mappings]]\nintercom = \"A\"\nsalesforce = \"x y\""),
            "auto_cases.mappings[0].salesforce"
        );
        assert_eq!(
            key_of(
                "[[auto_cases.mappings]]\nintercom = \"A\"\nsalesforce = \"F__c\"\n\
                 [[auto_cases.mappings]]\nintercom = \"B\"\nsalesforce = \"f__c\""
            ),
            "auto_cases.mappings[1].salesforce"
        );
        // An unknown key (a typo) is refused, not ignored.
        let e = WorkspaceSettings::from_toml(
            "[auto_cases]\ncreate_on_strat = true",
            &WorkspaceSettings::defaults(&config(&[])),
        )
        .unwrap_err();
        assert!(e.to_string().contains("create_on_strat"), "{e}");
        assert!(matches!(
            WorkspaceSettings::from_toml("[auto_cases", &WorkspaceSettings::defaults(&config(&[]))),
            Err(SettingsError::Syntax(_))
        ));
    }

    #[tokio::test]
    async fn the_store_keeps_a_workspaces_settings() {
        let store = Store::memory();
        let d = WorkspaceSettings::defaults(&config(&[]));
        assert_eq!(WorkspaceSettings::load(&store, &d).await.unwrap(), d);
        let s = WorkspaceSettings::from_toml(FULL, &d).unwrap();
        s.save(&store).await.unwrap();
        assert_eq!(WorkspaceSettings::load(&store, &d).await.unwrap(), s);
        // Another workspace has its own.
        let other = store.for_workspace("w2");
        assert_eq!(WorkspaceSettings::load(&other, &d).await.unwrap(), d);
    }

    #[tokio::test]
    async fn settings_file_is_loaded_at_start() {
        let dir = std::env::temp_dir().join(format!("sf-inbox-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("settings.toml");
        std::fs::write(&path, "[auto_cases]\ncreate_on_start = true\n").unwrap();
        let c = config(&[("SETTINGS_FILE", path.to_str().unwrap())]);
        let store = Store::memory();
        let s = load_at_start(&c, &store).await.unwrap();
        assert!(s.auto_cases.create_on_start);
        let stored = WorkspaceSettings::load(&store, &WorkspaceSettings::defaults(&c))
            .await
            .unwrap();
        assert_eq!(stored, s);
        // A change saved since (the console) survives a restart with the
        // same file...
        let mut edited = s.clone();
        edited.auto_cases.update_on_close = true;
        edited.save(&store).await.unwrap();
        assert_eq!(load_at_start(&c, &store).await.unwrap(), edited);
        // ...until the file itself changes.
        std::fs::write(&path, "[auto_cases]\ncreate_on_start = false\n").unwrap();
        let s = load_at_start(&c, &store).await.unwrap();
        assert!(!s.auto_cases.create_on_start && !s.auto_cases.update_on_close);
        std::fs::write(&path, "[auto_cases]\ntranscript = 3\n").unwrap();
        let e = load_at_start(&c, &store).await.unwrap_err();
        assert!(
            e.to_string().contains("auto_cases.transcript")
                && e.to_string().contains("settings.toml"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
