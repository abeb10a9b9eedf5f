//! The Settings page's form: what the admin typed, as typed (so a refused
//! save shows it again), to and from [`WorkspaceSettings`]. Pure.
//!
//! Field names are the settings' keys (`auto_cases.origin`,
//! `panels.contact`), so a [`Problem`] lands under its field. A panel's or
//! New Case's field list is one API name per line (or comma-separated), in
//! order; mappings are repeated `mapping.intercom` / `mapping.salesforce`
//! pairs.

use serde::Serialize;

use super::checks::Problem;
use crate::config::CaseOwner;
use crate::settings::{Mapping, Transcript, WorkspaceSettings};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MappingRow {
    pub intercom: String,
    pub salesforce: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SettingsForm {
    pub auto_tasks_enabled: bool,
    pub create_on_start: bool,
    pub update_on_close: bool,
    pub close_status: String,
    pub auto_record_type: String,
    pub origin: String,
    /// `description` | `comment` | `none`
    pub transcript: String,
    pub mappings: Vec<MappingRow>,
    pub lead_placeholder: String,
    pub maintain_ownership: bool,
    pub case_fields: String,
    /// `assignment_rules` | `teammate`
    pub case_owner: String,
    pub case_record_type: String,
    pub panel_contact: String,
    pub panel_account: String,
    pub panel_opportunity: String,
    pub panel_lead: String,
    pub panel_case: String,
    pub daily_cap: String,
    pub background_share: String,
}

fn lines(v: &[String]) -> String {
    v.join("\n")
}

/// `"Title\nDepartment"` or `"Title, Department"` → names, in order.
pub fn names(text: &str) -> Vec<String> {
    text.split([',', '\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

impl SettingsForm {
    pub fn from_settings(s: &WorkspaceSettings) -> SettingsForm {
        SettingsForm {
            auto_tasks_enabled: s.auto_tasks.enabled,
            create_on_start: s.auto_cases.create_on_start,
            update_on_close: s.auto_cases.update_on_close,
            close_status: s.auto_cases.close_status.clone().unwrap_or_default(),
            auto_record_type: s.auto_cases.record_type.clone().unwrap_or_default(),
            origin: s.auto_cases.origin.clone().unwrap_or_default(),
            transcript: match s.auto_cases.transcript {
                Transcript::Description => "description",
                Transcript::Comment => "comment",
                Transcript::None => "none",
            }
            .to_string(),
            mappings: s
                .auto_cases
                .mappings
                .iter()
                .map(|m| MappingRow {
                    intercom: m.intercom.clone(),
                    salesforce: m.salesforce.clone(),
                })
                .collect(),
            lead_placeholder: s.lead.placeholder.clone(),
            maintain_ownership: s.lead.maintain_ownership,
            case_fields: lines(&s.case.fields),
            case_owner: match s.case.owner {
                CaseOwner::AssignmentRules => "assignment_rules",
                CaseOwner::Teammate => "teammate",
            }
            .to_string(),
            case_record_type: s.case.record_type.clone().unwrap_or_default(),
            panel_contact: lines(&s.panels.contact),
            panel_account: lines(&s.panels.account),
            panel_opportunity: lines(&s.panels.opportunity),
            panel_lead: lines(&s.panels.lead),
            panel_case: lines(&s.panels.case),
            daily_cap: s.budget.daily_cap.to_string(),
            background_share: s.budget.background_share.to_string(),
        }
    }

    /// A posted form (`application/x-www-form-urlencoded` pairs). A checkbox
    /// that is not ticked is not sent: absent means off.
    pub fn parse(pairs: &[(String, String)]) -> SettingsForm {
        let mut f = SettingsForm::default();
        let mut intercom = Vec::new();
        let mut salesforce = Vec::new();
        for (k, v) in pairs {
            let v = v.clone();
            match k.as_str() {
                "auto_tasks.enabled" => f.auto_tasks_enabled = true,
                "auto_cases.create_on_start" => f.create_on_start = true,
                "auto_cases.update_on_close" => f.update_on_close = true,
                "auto_cases.close_status" => f.close_status = v,
                "auto_cases.record_type" => f.auto_record_type = v,
                "auto_cases.origin" => f.origin = v,
                "auto_cases.transcript" => f.transcript = v,
                "mapping.intercom" => intercom.push(v),
                "mapping.salesforce" => salesforce.push(v),
                "lead.placeholder" => f.lead_placeholder = v,
                "lead.maintain_ownership" => f.maintain_ownership = true,
                "case.fields" => f.case_fields = v,
                "case.owner" => f.case_owner = v,
                "case.record_type" => f.case_record_type = v,
                "panels.contact" => f.panel_contact = v,
                "panels.account" => f.panel_account = v,
                "panels.opportunity" => f.panel_opportunity = v,
                "panels.lead" => f.panel_lead = v,
                "panels.case" => f.panel_case = v,
                "budget.daily_cap" => f.daily_cap = v,
                "budget.background_share" => f.background_share = v,
                _ => {}
            }
        }
        let n = intercom.len().max(salesforce.len());
        f.mappings = (0..n)
            .map(|i| MappingRow {
                intercom: intercom.get(i).cloned().unwrap_or_default(),
                salesforce: salesforce.get(i).cloned().unwrap_or_default(),
            })
            // The empty "add a mapping" row.
            .filter(|m| !(m.intercom.trim().is_empty() && m.salesforce.trim().is_empty()))
            .collect();
        f
    }

    /// The settings this form says, over `base` (what the form does not
    /// show stays as it is), with the value rules of `settings`
    /// (`from_toml`). Problems name the key.
    pub fn to_settings(&self, base: &WorkspaceSettings) -> Result<WorkspaceSettings, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut s = base.clone();
        s.auto_tasks.enabled = self.auto_tasks_enabled;
        s.auto_cases.create_on_start = self.create_on_start;
        s.auto_cases.update_on_close = self.update_on_close;
        s.auto_cases.close_status = opt(&self.close_status);
        s.auto_cases.record_type = opt(&self.auto_record_type);
        s.auto_cases.origin = opt(&self.origin);
        s.auto_cases.transcript = match self.transcript.as_str() {
            "comment" => Transcript::Comment,
            "none" => Transcript::None,
            "description" | "" => Transcript::Description,
            other => {
                problems.push(Problem::new(
                    "auto_cases.transcript",
                    format!("{other:?} is not one of description, comment, none"),
                ));
                Transcript::Description
            }
        };
        s.auto_cases.mappings = self
            .mappings
            .iter()
            .map(|m| Mapping {
                intercom: m.intercom.trim().to_string(),
                salesforce: m.salesforce.trim().to_string(),
            })
            .collect();
        s.lead.placeholder = self.lead_placeholder.clone();
        s.lead.maintain_ownership = self.maintain_ownership;
        s.case.fields = names(&self.case_fields);
        s.case.owner = match self.case_owner.as_str() {
            "teammate" => CaseOwner::Teammate,
            "assignment_rules" | "" => CaseOwner::AssignmentRules,
            other => {
                problems.push(Problem::new(
                    "case.owner",
                    format!("{other:?} is not one of assignment_rules, teammate"),
                ));
                CaseOwner::AssignmentRules
            }
        };
        s.case.record_type = opt(&self.case_record_type);
        s.panels.contact = names(&self.panel_contact);
        s.panels.account = names(&self.panel_account);
        s.panels.opportunity = names(&self.panel_opportunity);
        s.panels.lead = names(&self.panel_lead);
        s.panels.case = names(&self.panel_case);
        match self.daily_cap.trim().parse::<u64>() {
            Ok(n) => s.budget.daily_cap = n,
            Err(_) => problems.push(Problem::new(
                "budget.daily_cap",
                format!(
                    "a whole number of calls per day (0 = no cap), got {:?}",
                    self.daily_cap
                ),
            )),
        }
        match self.background_share.trim().parse::<u8>() {
            Ok(n) if n <= 100 => s.budget.background_share = n,
            _ => problems.push(Problem::new(
                "budget.background_share",
                format!("a percentage (0-100), got {:?}", self.background_share),
            )),
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        // The settings' own rules (lengths, API-name shapes, one attribute
        // per field), through the one path every file takes.
        WorkspaceSettings::from_toml(&s.to_toml(), base).map_err(|e| match e {
            crate::settings::SettingsError::Invalid { key, reason } => {
                vec![Problem::new(key, reason)]
            }
            other => vec![Problem::new("settings", other.to_string())],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> WorkspaceSettings {
        WorkspaceSettings::defaults(&crate::config::Config::from_lookup(|_| None).expect("config"))
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_form_of_the_settings_says_the_same_settings() {
        let mut s = defaults();
        s.panels.contact = vec!["Title".into(), "Department".into()];
        s.auto_cases.mappings = vec![Mapping {
            intercom: "Product Area".into(),
            salesforce: "Product__c".into(),
        }];
        s.budget.daily_cap = 5000;
        assert_eq!(
            SettingsForm::from_settings(&s).to_settings(&defaults()),
            Ok(s)
        );
    }

    #[test]
    fn a_posted_form_keeps_order_skips_the_empty_mapping_row_and_reads_checkboxes() {
        let f = SettingsForm::parse(&pairs(&[
            ("auto_tasks.enabled", "on"),
            ("panels.contact", "Title\r\nPhone, Department\n"),
            ("mapping.intercom", "Product Area"),
            ("mapping.salesforce", "Product__c"),
            ("mapping.intercom", ""),
            ("mapping.salesforce", ""),
            ("budget.daily_cap", "100"),
            ("budget.background_share", "50"),
            ("case.owner", "teammate"),
            ("auto_cases.transcript", "comment"),
        ]));
        let s = f.to_settings(&defaults()).unwrap();
        assert!(s.auto_tasks.enabled && !s.auto_cases.create_on_start);
        assert_eq!(s.panels.contact, vec!["Title", "Phone", "Department"]);
        assert_eq!(s.auto_cases.mappings.len(), 1);
        assert_eq!((s.budget.daily_cap, s.budget.background_share), (100, 50));
        assert_eq!(s.case.owner, CaseOwner::Teammate);
    }

    #[test]
    fn bad_values_are_refused_by_key_and_the_form_is_kept() {
        let f = SettingsForm::parse(&pairs(&[
            ("budget.daily_cap", "lots"),
            ("budget.background_share", "120"),
        ]));
        let p = f.to_settings(&defaults()).unwrap_err();
        let keys: Vec<_> = p.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, vec!["budget.daily_cap", "budget.background_share"]);
        assert_eq!(f.daily_cap, "lots", "what was typed is kept");
        let f = SettingsForm::parse(&pairs(&[
            ("budget.daily_cap", "0"),
            ("budget.background_share", "80"),
            ("panels.lead", "Not a name!"),
        ]));
        let p = f.to_settings(&defaults()).unwrap_err();
        assert_eq!(p[0].key, "panels.lead");
    }
}
