//! The console's pages: typed view models in, HTML out. Pure functions;
//! the templates (`templates/`, minijinja, HTML autoescaped) are compiled
//! into the binary, so nothing is read from disk at run time.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use minijinja::Environment;
use serde::Serialize;

use super::checks::{Attribute, Problem, MAX_PANEL_FIELDS};
use super::form::{MappingRow, SettingsForm};
use crate::budget::{Gate, Held, Usage};
use crate::fields::describe::{Describe, FieldKind};

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, text) in [
        ("base.html", include_str!("templates/base.html")),
        ("console.css", include_str!("templates/console.css")),
        ("connection.html", include_str!("templates/connection.html")),
        ("settings.html", include_str!("templates/settings.html")),
        (
            "sync_errors.html",
            include_str!("templates/sync_errors.html"),
        ),
        ("signin.html", include_str!("templates/signin.html")),
        ("message.html", include_str!("templates/message.html")),
    ] {
        env.add_template(name, text)
            .unwrap_or_else(|e| panic!("console template {name}: {e}"));
    }
    env
});

fn render(name: &str, ctx: impl Serialize) -> String {
    TEMPLATES
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| {
            tracing::error!(template = name, error = %e, "console template failed");
            format!(
                "<!doctype html><title>Console</title><p>This page could not be shown ({}). Go back and try again.</p>",
                crate::intercom::html_escape(&e.to_string())
            )
        })
}

/// A page that says one thing: the install and connect flows' outcomes
/// and refusals ("Installed", "Connected", "This link was already used").
#[derive(Debug, Clone, Default, Serialize)]
pub struct MessagePage {
    pub title: String,
    pub paragraphs: Vec<String>,
    /// The first is the page's main action.
    pub links: Vec<Link>,
    /// A refusal (shown as an alert).
    pub error: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub label: String,
    pub href: String,
}

impl Link {
    pub fn new(label: impl Into<String>, href: impl Into<String>) -> Link {
        Link {
            label: label.into(),
            href: href.into(),
        }
    }
}

/// The HTML of a [`MessagePage`] (no console frame: the visitor may not
/// be signed in).
pub fn message_page(page: &MessagePage) -> String {
    render(
        "message.html",
        minijinja::context! { page => page, frame => Frame::default() },
    )
}

/// What every page shows around its content.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Frame {
    pub workspace_id: String,
    pub workspace_name: Option<String>,
    pub admin_name: String,
    pub csrf_token: String,
    /// `connection` | `settings` | `sync_errors`
    pub active: &'static str,
    pub notice: Option<Notice>,
    pub sync_error_count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    /// `ok` | `error`
    pub kind: &'static str,
    pub text: String,
}

impl Notice {
    pub fn ok(text: impl Into<String>) -> Notice {
        Notice {
            kind: "ok",
            text: text.into(),
        }
    }
    pub fn error(text: impl Into<String>) -> Notice {
        Notice {
            kind: "error",
            text: text.into(),
        }
    }
}

// ---- Connection ------------------------------------------------------------

#[derive(Debug, Clone, Default, Serialize)]
pub struct OrgView {
    /// `connected` | `not_connected` | `revoked`
    pub state: &'static str,
    pub state_text: String,
    pub instance_url: Option<String>,
    pub org_id: Option<String>,
    pub user: Option<String>,
    pub connected_since: Option<String>,
    pub last_good_call: Option<String>,
    pub last_error: Option<String>,
    /// The environment's org (`SALESFORCE_*`): no Connect or Disconnect
    /// here.
    pub from_env: bool,
    /// Where Connect / Reconnect and Disconnect post.
    pub connect_action: String,
    pub disconnect_action: String,
    /// The login hosts Connect offers (`login` values and labels); a My
    /// Domain can be typed instead.
    pub logins: Vec<LoginOption>,
}

/// A login host the Connect form offers.
#[derive(Debug, Clone, Serialize)]
pub struct LoginOption {
    pub key: String,
    pub label: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct IntercomView {
    pub workspace_id: String,
    pub workspace_name: Option<String>,
    pub region: String,
    pub token_status: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DayView {
    pub label: String,
    pub calls: u64,
    /// Of the busiest day shown.
    pub height: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct UsageView {
    pub org_used: u64,
    pub org_limit: u64,
    pub org_percent: u64,
    pub org_bar: u64,
    pub app_today: u64,
    pub cap: u64,
    pub cap_percent: u64,
    pub cap_bar: u64,
    pub background_share: u8,
    pub background_allowed: u64,
    /// Why background work waits, when it does.
    pub held: Option<String>,
    pub days: Vec<DayView>,
}

fn percent(part: u64, whole: u64) -> u64 {
    part.saturating_mul(100).checked_div(whole).unwrap_or(0)
}

impl UsageView {
    /// The budget's figures as the page shows them.
    pub fn of(u: &Usage) -> UsageView {
        let (org_used, org_limit) = u.today.org.map(|o| (o.used, o.limit)).unwrap_or((0, 0));
        let busiest = u.days.iter().map(|d| d.app_calls).max().unwrap_or(0);
        let cap = u.policy.daily_cap;
        UsageView {
            org_used,
            org_limit,
            org_percent: percent(org_used, org_limit),
            org_bar: percent(org_used, org_limit).min(100),
            app_today: u.today.app_calls,
            cap,
            cap_percent: percent(u.today.app_calls, cap),
            cap_bar: percent(u.today.app_calls, cap).min(100),
            background_share: u.policy.background_share,
            background_allowed: u.policy.background_calls().unwrap_or(0),
            held: match &u.gate {
                Gate::Go => None,
                Gate::Wait {
                    why: Held::Cap { used, allowed },
                    ..
                } => Some(format!(
                    "Background work is waiting until midnight UTC: this app made {used} calls today, its background share is {allowed}. The sidebar goes on working."
                )),
                Gate::Wait {
                    why: Held::Org { used, limit },
                    ..
                } => Some(format!(
                    "Background work is waiting: the org has used {used} of its {limit} daily calls. It goes on when the usage drops; the sidebar goes on working."
                )),
            },
            days: u
                .days
                .iter()
                .map(|d| DayView {
                    label: d.day.get(5..).unwrap_or(&d.day).to_string(),
                    calls: d.app_calls,
                    height: percent(d.app_calls, busiest),
                })
                .collect(),
        }
    }
}

/// The Workflow action's bearer token: whether there is one, where the
/// action posts, and (once, right after it was made) the token itself.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ActionTokenView {
    pub configured: bool,
    /// `ACTION_TOKEN` is set (single-workspace mode): it keeps working
    /// beside a token made here, until it is removed from the environment.
    pub from_env: bool,
    /// The action's URL, for the Workflow's custom action.
    pub action_url: String,
    /// Shown on the one page that answers the rotation, never again (the
    /// store keeps only its hash).
    pub new_token: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ConnectionPage {
    pub frame: Frame,
    pub org: OrgView,
    pub intercom: IntercomView,
    pub usage: UsageView,
    pub action_token: ActionTokenView,
}

pub fn connection(page: &ConnectionPage) -> String {
    render("connection.html", page)
}

// ---- Settings -----------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldOption {
    pub name: String,
    pub label: String,
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct PanelOptions {
    /// `contact`, ...
    pub key: &'static str,
    pub object: &'static str,
    pub fields: Vec<FieldOption>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecordTypeOption {
    pub id: String,
    pub name: String,
    pub developer_name: String,
}

/// What the pickers offer, from the describes and the workspace's
/// conversation attributes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SettingsOptions {
    /// Createable Case fields a form or a mapping can set.
    pub case_fields: Vec<FieldOption>,
    pub case_field_names: Vec<String>,
    pub panels: Vec<PanelOptions>,
    pub record_types: Vec<RecordTypeOption>,
    pub record_type_names: Vec<String>,
    pub origins: Vec<String>,
    pub statuses: Vec<String>,
    pub attributes: Vec<Attribute>,
    pub attribute_names: Vec<String>,
    /// Objects whose describe could not be read.
    pub missing: Vec<String>,
}

impl SettingsOptions {
    /// The pickers of `org` (describes by object name) and `attributes`.
    pub fn of(org: &super::checks::OrgDescribes, attributes: &[Attribute]) -> SettingsOptions {
        let options = |d: &Describe, keep: &dyn Fn(&crate::fields::describe::FieldSpec) -> bool| {
            d.fields
                .iter()
                .filter(|f| keep(f))
                .map(|f| FieldOption {
                    name: f.name.clone(),
                    label: if f.label.is_empty() {
                        f.name.clone()
                    } else {
                        f.label.clone()
                    },
                    kind: f.kind.label(),
                })
                .collect::<Vec<_>>()
        };
        let mut missing = Vec::new();
        let case = org.get("Case");
        let case_fields = case
            .map(|d| {
                options(d, &|f| {
                    f.createable && !matches!(f.kind, FieldKind::Reference | FieldKind::Other)
                })
            })
            .unwrap_or_default();
        let panels = super::checks::PANELS
            .iter()
            .map(|(key, object)| {
                let fields = match org.get(object) {
                    Some(d) => options(d, &|f| super::checks::showable(f.kind)),
                    None => {
                        missing.push(object.to_string());
                        Vec::new()
                    }
                };
                PanelOptions {
                    key,
                    object,
                    fields,
                }
            })
            .collect();
        let picks = |name: &str| {
            case.and_then(|c| c.field(name))
                .map(|f| f.values.iter().map(|v| v.value.clone()).collect())
                .unwrap_or_default()
        };
        let record_types: Vec<RecordTypeOption> = case
            .map(|c| {
                c.record_types
                    .iter()
                    .map(|r| RecordTypeOption {
                        id: r.id.clone(),
                        name: r.name.clone(),
                        developer_name: r.developer_name.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        SettingsOptions {
            case_field_names: case_fields.iter().map(|f| f.name.clone()).collect(),
            case_fields,
            panels,
            record_type_names: record_types
                .iter()
                .flat_map(|r| [r.developer_name.clone(), r.id.clone()])
                .collect(),
            record_types,
            origins: picks("Origin"),
            statuses: picks("Status"),
            attribute_names: attributes.iter().map(|a| a.name.clone()).collect(),
            attributes: attributes.to_vec(),
            missing,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SettingsPage {
    pub frame: Frame,
    /// What the form shows: the saved settings, or what the admin typed.
    pub form: SettingsForm,
    pub problems: Vec<Problem>,
    pub options: SettingsOptions,
    /// The import box's text (kept when an import is refused).
    pub import_text: String,
}

#[derive(Serialize)]
struct SettingsContext<'a> {
    #[serde(flatten)]
    page: &'a SettingsPage,
    errors: BTreeMap<&'a str, Vec<&'a str>>,
    mapping_rows: Vec<MappingRow>,
    max_panel_fields: usize,
}

pub fn settings(page: &SettingsPage) -> String {
    let mut errors: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in &page.problems {
        errors.entry(p.key.as_str()).or_default().push(&p.message);
    }
    let mut mapping_rows = page.form.mappings.clone();
    mapping_rows.push(MappingRow::default());
    render(
        "settings.html",
        SettingsContext {
            page,
            errors,
            mapping_rows,
            max_panel_fields: MAX_PANEL_FIELDS,
        },
    )
}

// ---- Sync errors ----------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct KindOption {
    pub value: &'static str,
    pub label: &'static str,
}

/// The kinds the filter offers (`""`: all).
pub const KINDS: &[KindOption] = &[
    KindOption {
        value: "",
        label: "All kinds",
    },
    KindOption {
        value: "auto_case",
        label: "Automatic cases",
    },
    KindOption {
        value: "auto_task",
        label: "Automatic tasks",
    },
    KindOption {
        value: "other",
        label: "Other background writes",
    },
];

pub fn kind_label_of(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|k| k.value == kind)
        .map(|k| k.label)
        .unwrap_or("Background write")
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncErrorView {
    pub id: String,
    pub kind: String,
    pub kind_label: String,
    pub conversation_id: String,
    pub conversation_url: String,
    pub attempted: String,
    pub code: String,
    pub message: String,
    pub fields: Vec<String>,
    pub attempts: u32,
    pub first_seen: String,
    pub last_seen: String,
    pub next_retry: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncErrorsPage {
    pub frame: Frame,
    /// The filter (`""`: all).
    pub kind: String,
    pub kinds: &'static [KindOption],
    pub rows: Vec<SyncErrorView>,
}

pub fn sync_errors(page: &SyncErrorsPage) -> String {
    render("sync_errors.html", page)
}

// ---- Sign-in ----------------------------------------------------------------------

#[derive(Debug, Clone, Default, Serialize)]
pub struct SignInPage {
    pub frame: Frame,
    pub signin_url: String,
    pub error: Option<String>,
}

pub fn signin(page: &SignInPage) -> String {
    render("signin.html", page)
}

/// A time as the console shows it: `2026-03-02 14:05 UTC`.
pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
