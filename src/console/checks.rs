//! Settings checked against the org's describes, before they are saved: a
//! field that does not exist (or the integration user cannot see), is not
//! readable for a panel or createable for a form or a mapping, or whose
//! type does not fit, is refused, saying why and naming the setting's key.
//!
//! Pure: describes and the workspace's conversation attributes in, problems
//! out. The console calls it when a form is saved or a file imported; the
//! settings file's loader can call it too once it has the describes.

use std::collections::BTreeMap;

use crate::fields::describe::{Describe, FieldKind};
use crate::settings::WorkspaceSettings;

/// Fields one panel may show: what fits the sidebar's first canvas.
pub const MAX_PANEL_FIELDS: usize = 8;

/// One refused setting: its key (`panels.contact`) and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl Problem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The describes the checks read, by object API name (`Contact`, `Case`);
/// an object whose describe could not be read is absent, and settings
/// naming it are refused with that reason.
#[derive(Debug, Clone, Default)]
pub struct OrgDescribes {
    pub objects: BTreeMap<String, Describe>,
}

impl OrgDescribes {
    pub fn with(mut self, d: Describe) -> OrgDescribes {
        self.objects.insert(d.name.clone(), d);
        self
    }

    pub fn get(&self, object: &str) -> Option<&Describe> {
        self.objects.get(object)
    }
}

/// A conversation attribute of the workspace (`GET /data_attributes?model=conversation`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attribute {
    /// The name Intercom shows (what a mapping names).
    pub name: String,
    /// Intercom's `data_type`: `string`, `integer`, `float`, `boolean`,
    /// `date`, `datetime`, `list`, ...
    pub data_type: String,
}

/// The panels and the object each shows.
pub const PANELS: &[(&str, &str)] = &[
    ("contact", "Contact"),
    ("account", "Account"),
    ("opportunity", "Opportunity"),
    ("lead", "Lead"),
    ("case", "Case"),
];

/// A field a panel can show: any readable field but compound ones
/// (address, location) and binary ones, which have no one-line value.
pub fn showable(kind: FieldKind) -> bool {
    kind != FieldKind::Other
}

/// A field a form or a mapping can write: createable, and of a kind a
/// value can be typed or converted into (not a lookup id, not compound).
fn writable_kind(kind: FieldKind) -> bool {
    !matches!(kind, FieldKind::Other | FieldKind::Reference)
}

/// Does an Intercom attribute of `data_type` convert into a field of
/// `kind`? (The automatic cases' rule, so the console refuses exactly what
/// a case write could not convert.)
pub use crate::cases::values::attribute_fits;

/// Every problem of `s` against `org` (and, when known, the workspace's
/// conversation attributes). Empty: the settings may be saved.
pub fn check(
    s: &WorkspaceSettings,
    org: &OrgDescribes,
    attributes: Option<&[Attribute]>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let lists: [(&str, &Vec<String>); 5] = [
        ("contact", &s.panels.contact),
        ("account", &s.panels.account),
        ("opportunity", &s.panels.opportunity),
        ("lead", &s.panels.lead),
        ("case", &s.panels.case),
    ];
    for (panel, fields) in lists {
        let object = PANELS
            .iter()
            .find(|(p, _)| *p == panel)
            .map(|(_, o)| *o)
            .unwrap_or("Contact");
        check_panel(&format!("panels.{panel}"), object, fields, org, &mut out);
    }
    let case = org.get("Case");
    for f in &s.case.fields {
        if let Some(p) = writable("case.fields", "Case", case, f, "the New Case form") {
            out.push(p);
        }
    }
    for (key, rt) in [
        ("case.record_type", &s.case.record_type),
        ("auto_cases.record_type", &s.auto_cases.record_type),
    ] {
        if let (Some(rt), Some(case)) = (rt, case) {
            if case.record_type(rt).is_none() {
                let known: Vec<&str> = case
                    .record_types
                    .iter()
                    .map(|r| r.developer_name.as_str())
                    .collect();
                out.push(Problem::new(
                    key,
                    format!(
                        "{rt} is not a Case record type the integration user may use{}",
                        if known.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", known.join(", "))
                        }
                    ),
                ));
            }
        }
    }
    if let (Some(origin), Some(field)) =
        (&s.auto_cases.origin, case.and_then(|c| c.field("Origin")))
    {
        if !field.values.is_empty() && !field.values.iter().any(|v| &v.value == origin) {
            out.push(Problem::new(
                "auto_cases.origin",
                format!(
                    "{origin} is not a Case Origin value ({})",
                    field
                        .values
                        .iter()
                        .map(|v| v.value.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    for (i, m) in s.auto_cases.mappings.iter().enumerate() {
        let key = format!("auto_cases.mappings[{i}]");
        let attr = attributes.map(|all| all.iter().find(|a| a.name == m.intercom));
        if let Some(None) = attr {
            out.push(Problem::new(
                format!("{key}.intercom"),
                format!(
                    "{:?} is not a conversation attribute of this workspace",
                    m.intercom
                ),
            ));
        }
        match writable(
            &format!("{key}.salesforce"),
            "Case",
            case,
            &m.salesforce,
            "an automatic case",
        ) {
            Some(p) => out.push(p),
            None => {
                let (Some(Some(a)), Some(field)) =
                    (attr, case.and_then(|c| c.field(&m.salesforce)))
                else {
                    continue;
                };
                if !attribute_fits(&a.data_type, field.kind) {
                    out.push(Problem::new(
                        format!("{key}.salesforce"),
                        format!(
                            "{} is a {} field: the {} attribute {:?} does not convert into it",
                            field.name,
                            field.kind.label(),
                            a.data_type,
                            a.name
                        ),
                    ));
                }
            }
        }
    }
    out
}

fn check_panel(
    key: &str,
    object: &str,
    fields: &[String],
    org: &OrgDescribes,
    out: &mut Vec<Problem>,
) {
    if fields.is_empty() {
        return;
    }
    if fields.len() > MAX_PANEL_FIELDS {
        out.push(Problem::new(
            key,
            format!(
                "at most {MAX_PANEL_FIELDS} fields fit the sidebar's panel; {} were chosen",
                fields.len()
            ),
        ));
    }
    let Some(describe) = org.get(object) else {
        out.push(Problem::new(
            key,
            format!("the {object} describe could not be read, so the fields cannot be checked; try again"),
        ));
        return;
    };
    for (i, f) in fields.iter().enumerate() {
        if fields[..i].iter().any(|o| o.eq_ignore_ascii_case(f)) {
            out.push(Problem::new(key, format!("{f} is chosen twice")));
            continue;
        }
        match describe.field(f) {
            None => out.push(Problem::new(
                key,
                format!("{f} is not a field of {object} (or the integration user cannot read it)"),
            )),
            Some(spec) if !showable(spec.kind) => out.push(Problem::new(
                key,
                format!(
                    "{} is a {} field and has no one-line value; choose its parts",
                    spec.name,
                    spec.kind.label()
                ),
            )),
            Some(_) => {}
        }
    }
}

fn writable(
    key: &str,
    object: &str,
    describe: Option<&Describe>,
    f: &str,
    what: &str,
) -> Option<Problem> {
    let Some(describe) = describe else {
        return Some(Problem::new(
            key,
            format!("the {object} describe could not be read, so {f} cannot be checked; try again"),
        ));
    };
    match describe.field(f) {
        None => Some(Problem::new(
            key,
            format!("{f} is not a field of {object} (or the integration user cannot see it)"),
        )),
        Some(spec) if !spec.createable => Some(Problem::new(
            key,
            format!(
                "{} is not createable by the integration user, so {what} cannot set it",
                spec.name
            ),
        )),
        Some(spec) if !writable_kind(spec.kind) => Some(Problem::new(
            key,
            format!(
                "{} is a {} field; {what} cannot set it",
                spec.name,
                spec.kind.label()
            ),
        )),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Mapping;

    fn org() -> OrgDescribes {
        let read = |o: &str| {
            let path = format!("{}/fixtures/describe/{o}.json", env!("CARGO_MANIFEST_DIR"));
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            Describe::parse(&v).unwrap()
        };
        ["Contact", "Account", "Opportunity", "Lead", "Case"]
            .into_iter()
            .fold(OrgDescribes::default(), |o, n| o.with(read(n)))
    }

    fn settings() -> WorkspaceSettings {
        WorkspaceSettings::defaults(&crate::config::Config::from_lookup(|_| None).expect("config"))
    }

    fn keys(p: &[Problem]) -> Vec<&str> {
        p.iter().map(|p| p.key.as_str()).collect()
    }

    #[test]
    fn the_defaults_pass() {
        assert_eq!(check(&settings(), &org(), None), vec![]);
    }

    #[test]
    fn a_panel_field_must_exist_be_readable_and_fit() {
        let mut s = settings();
        s.panels.contact = vec!["Title".into(), "Department".into(), "Shoe_Size__c".into()];
        let p = check(&s, &org(), None);
        assert_eq!(keys(&p), vec!["panels.contact"]);
        assert!(
            p[0].message
                .contains("Shoe_Size__c is not a field of Contact"),
            "{p:?}"
        );
        s.panels.contact = vec!["Title".into(), "title".into()];
        assert!(check(&s, &org(), None)[0].message.contains("chosen twice"));
        s.panels.contact = (0..9).map(|_| "Title".to_string()).collect();
        assert!(check(&s, &org(), None)[0].message.contains("at most 8"));
        s.panels.contact = vec![];
        s.panels.account = vec!["Industry".into(), "NumberOfEmployees".into()];
        assert_eq!(check(&s, &org(), None), vec![]);
    }

    #[test]
    fn a_missing_describe_is_said_not_guessed() {
        let mut s = settings();
        s.panels.lead = vec!["Rating".into()];
        let p = check(&s, &OrgDescribes::default(), None);
        assert!(p
            .iter()
            .any(|p| p.key == "panels.lead" && p.message.contains("could not be read")));
    }

    #[test]
    fn form_fields_and_mappings_must_be_createable_and_of_a_writable_kind() {
        let mut s = settings();
        s.case.fields = vec!["CaseNumber".into(), "ContactId".into(), "Product__c".into()];
        let p = check(&s, &org(), None);
        assert_eq!(keys(&p), vec!["case.fields", "case.fields"]);
        assert!(p[0].message.contains("CaseNumber is not createable"));
        assert!(p[1].message.contains("lookup"));
        s.case.fields = vec![];
        s.auto_cases.mappings = vec![Mapping {
            intercom: "Order".into(),
            salesforce: "Nope__c".into(),
        }];
        let p = check(&s, &org(), None);
        assert_eq!(keys(&p), vec!["auto_cases.mappings[0].salesforce"]);
        assert!(p[0].message.contains("Nope__c is not a field of Case"));
    }

    #[test]
    fn a_mapping_needs_an_attribute_of_the_workspace_whose_type_converts() {
        let attrs = vec![
            Attribute {
                name: "Order number".into(),
                data_type: "integer".into(),
            },
            Attribute {
                name: "Product Area".into(),
                data_type: "string".into(),
            },
        ];
        let mut s = settings();
        s.auto_cases.mappings = vec![
            Mapping {
                intercom: "Order number".into(),
                salesforce: "Order_Number__c".into(),
            },
            Mapping {
                intercom: "Product Area".into(),
                salesforce: "Due_Date__c".into(),
            },
            Mapping {
                intercom: "Gone".into(),
                salesforce: "Region__c".into(),
            },
        ];
        let p = check(&s, &org(), Some(&attrs));
        assert_eq!(
            keys(&p),
            vec![
                "auto_cases.mappings[1].salesforce",
                "auto_cases.mappings[2].intercom"
            ]
        );
        assert!(
            p[0].message.contains("Due_Date__c is a date field"),
            "{p:?}"
        );
        // Without the attribute list only the Case side is checked: all
        // three are createable Case fields.
        assert_eq!(check(&s, &org(), None), vec![]);
    }

    #[test]
    fn record_types_and_origin_come_from_the_case_describe() {
        let mut s = settings();
        s.case.record_type = Some("Support".into());
        s.auto_cases.record_type = Some("Refunds".into());
        s.auto_cases.origin = Some("Carrier pigeon".into());
        let p = check(&s, &org(), None);
        assert_eq!(
            keys(&p),
            vec!["auto_cases.record_type", "auto_cases.origin"]
        );
        assert!(p[0].message.contains("Support, Billing"), "{p:?}");
    }

    #[test]
    fn conversions() {
        assert!(attribute_fits("integer", FieldKind::Double));
        assert!(attribute_fits("boolean", FieldKind::Boolean));
        assert!(!attribute_fits("string", FieldKind::Double));
        assert!(!attribute_fits("boolean", FieldKind::Date));
        assert!(attribute_fits("datetime", FieldKind::Text));
    }
}
