//! Typed Canvas Kit components.
//!
//! Every screen is built from these values and serialised by serde, so a
//! misspelt key or an impossible combination is a compile error rather than a
//! blank sidebar. Field names and enums follow Intercom's Canvas Kit schema
//! (`canvas-kit.2.11.schema.json`); optional fields are skipped when unset so
//! the JSON stays as small as Intercom's own examples.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What Intercom renders: `{"canvas": {"content": {...}, "stored_data": {...}}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanvasResponse {
    pub canvas: Canvas,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Canvas {
    pub content: Content,
    /// Comes back untouched in the next submit's `current_canvas`. Holds ids
    /// and view state only; never secrets, and never trusted blindly.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub stored_data: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Content {
    pub components: Vec<Component>,
}

impl Canvas {
    pub fn new(components: Vec<Component>) -> Self {
        Canvas {
            content: Content { components },
            stored_data: Map::new(),
        }
    }

    pub fn with_data(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.stored_data.insert(key.to_string(), value.into());
        self
    }

    pub fn into_response(self) -> CanvasResponse {
        CanvasResponse { canvas: self }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Component {
    Text(Text),
    Button(Button),
    List(List),
    DataTable(DataTable),
    Dropdown(Dropdown),
    SingleSelect(SingleSelect),
    Input(Input),
    Textarea(Textarea),
    Checkbox(Checkbox),
    Divider(Divider),
    Spacer(Spacer),
    Image(Image),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextStyle {
    Header,
    Paragraph,
    Muted,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    Left,
    Center,
    Right,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Text {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<TextStyle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub align: Option<Align>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottom_margin: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Action {
    Submit,
    Url { url: String },
    Sheet { url: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ButtonStyle {
    Primary,
    Secondary,
    Link,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Button {
    pub id: String,
    pub label: String,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<ButtonStyle>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct List {
    pub items: Vec<ListItem>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "item")]
pub struct ListItem {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tertiary_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataTable {
    pub items: Vec<FieldValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "field-value")]
pub struct FieldValue {
    pub field: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "option")]
pub struct SelectOption {
    pub id: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SaveState {
    Unsaved,
    Saved,
    Failed,
}

/// Canvas Kit allows 2 to 10 options and no action on a dropdown; callers
/// pair it with a submit button.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dropdown {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub options: Vec<SelectOption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_state: Option<SaveState>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SingleSelect {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub options: Vec<SelectOption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_state: Option<SaveState>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_state: Option<SaveState>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Textarea {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub error: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkbox {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub options: Vec<CheckboxOption>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "option")]
pub struct CheckboxOption {
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Divider {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottom_margin: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpacerSize {
    Xs,
    S,
    M,
    L,
    Xl,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spacer {
    pub size: SpacerSize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub url: String,
    pub width: u32,
    pub height: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub align: Option<Align>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub rounded: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

// Small constructors: screens read as a list of what the teammate sees.

pub fn header(text: impl Into<String>) -> Component {
    styled(text, TextStyle::Header)
}

pub fn paragraph(text: impl Into<String>) -> Component {
    styled(text, TextStyle::Paragraph)
}

pub fn muted(text: impl Into<String>) -> Component {
    styled(text, TextStyle::Muted)
}

pub fn error_text(text: impl Into<String>) -> Component {
    styled(text, TextStyle::Error)
}

fn styled(text: impl Into<String>, style: TextStyle) -> Component {
    Component::Text(Text {
        text: text.into(),
        style: Some(style),
        align: None,
        bottom_margin: None,
    })
}

pub fn submit_button(id: &str, label: &str, style: ButtonStyle) -> Component {
    Component::Button(Button {
        id: id.to_string(),
        label: label.to_string(),
        action: Action::Submit,
        style: Some(style),
        disabled: false,
    })
}

pub fn url_button(id: &str, label: &str, url: impl Into<String>) -> Component {
    Component::Button(Button {
        id: id.to_string(),
        label: label.to_string(),
        action: Action::Url { url: url.into() },
        style: Some(ButtonStyle::Link),
        disabled: false,
    })
}

pub fn data_table(rows: Vec<(&str, String)>) -> Component {
    Component::DataTable(DataTable {
        items: rows
            .into_iter()
            .map(|(field, value)| FieldValue {
                field: field.to_string(),
                value,
            })
            .collect(),
    })
}

pub fn divider() -> Component {
    Component::Divider(Divider::default())
}

pub fn spacer(size: SpacerSize) -> Component {
    Component::Spacer(Spacer { size })
}

/// Canvas Kit text markup is a tiny subset (`**bold**` and `[links](url)`).
/// Escape only the sequences that can open it (`**` and `](`), so a name
/// like `**Bob**` or `[x](y)` renders as typed while ordinary text such as
/// `[not provided]` or `SOME_CODE` carries no stray backslashes.
pub fn escape_markup(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let opens = match c {
            // Every star of a `**` run, so no pair survives.
            '*' => prev == Some('*') || next == Some('*'),
            ']' => next == Some('('),
            '\\' => true,
            _ => false,
        };
        if opens {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn components_serialise_to_canvas_kit_json() {
        let canvas = Canvas::new(vec![
            header("Hana"),
            submit_button("refresh", "Refresh", ButtonStyle::Secondary),
            Component::Dropdown(Dropdown {
                id: "opportunity".into(),
                label: Some("Opportunity".into()),
                options: vec![
                    SelectOption {
                        id: "a".into(),
                        text: "A".into(),
                        disabled: false,
                    },
                    SelectOption {
                        id: "b".into(),
                        text: "B".into(),
                        disabled: false,
                    },
                ],
                value: Some("a".into()),
                save_state: None,
                disabled: false,
            }),
            data_table(vec![("Owner", "Maya".into())]),
            url_button("open", "Open", "https://x"),
        ])
        .with_data("view", "contact");
        let v = serde_json::to_value(canvas.into_response()).unwrap();
        assert_eq!(
            v,
            json!({"canvas": {"content": {"components": [
                {"type": "text", "text": "Hana", "style": "header"},
                {"type": "button", "id": "refresh", "label": "Refresh", "action": {"type": "submit"}, "style": "secondary"},
                {"type": "dropdown", "id": "opportunity", "label": "Opportunity", "options": [
                    {"type": "option", "id": "a", "text": "A"}, {"type": "option", "id": "b", "text": "B"}], "value": "a"},
                {"type": "data-table", "items": [{"type": "field-value", "field": "Owner", "value": "Maya"}]},
                {"type": "button", "id": "open", "label": "Open", "action": {"type": "url", "url": "https://x"}, "style": "link"}
            ]}, "stored_data": {"view": "contact"}}})
        );
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(escape_markup("**Bob** [x](y)"), "\\*\\*Bob\\*\\* [x\\](y)");
        assert_eq!(escape_markup("[not provided] *x*"), "[not provided] *x*");
        assert_eq!(escape_markup("INSUFFICIENT_ACCESS"), "INSUFFICIENT_ACCESS");
        assert_eq!(escape_markup("O'Brien & Zoë"), "O'Brien & Zoë");
    }
}
