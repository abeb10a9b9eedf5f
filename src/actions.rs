//! Every component id and `stored_data` key the app's canvases carry, and
//! the typed [`Action`] a submit's component id stands for. The id is
//! parsed here, once; the sidebar dispatches on the result.

/// The component ids of the panels and forms, and their `stored_data` keys.
pub mod ids {
    pub const REFRESH: &str = "refresh";
    pub const RETRY: &str = "retry";
    pub const SHOW_CASES: &str = "show_cases";
    pub const BACK: &str = "back";
    /// The Show button of the opportunity dropdown of canvases drawn
    /// before the tabs (still understood).
    pub const SHOW_OPPORTUNITY: &str = "show_opportunity";
    /// That dropdown; its value arrives in `input_values`. Also the
    /// `stored_data` key of the opportunity shown.
    pub const OPPORTUNITY: &str = "opportunity";
    /// The tab row (a single-select that submits); its value, one of the
    /// `TAB_*` option ids, arrives in `input_values`.
    pub const TAB: &str = "tab";
    pub const TAB_OVERVIEW: &str = "tab_overview";
    pub const TAB_ACCOUNT: &str = "tab_account";
    pub const TAB_DEALS: &str = "tab_deals";
    /// A deal in the Deals tab's list: `deal_{opportunity id}`.
    pub const DEAL_PREFIX: &str = "deal_";

    /// The opportunity a `deal_…` list item stands for.
    pub fn deal(component_id: &str) -> Option<&str> {
        component_id
            .strip_prefix(DEAL_PREFIX)
            .filter(|id| !id.is_empty())
    }

    pub const LEAD_OPEN: &str = "lead_open";
    pub const LEAD_CREATE: &str = "lead_create";
    pub const LEAD_FIELD_PREFIX: &str = "lead_f_";
    pub const CASE_OPEN: &str = "case_open";
    pub const CASE_CREATE: &str = "case_create";
    pub const CASE_RECORD_TYPE: &str = "case_record_type";
    pub const CASE_FIELD_PREFIX: &str = "case_f_";
    /// The link to the record just created.
    pub const OPEN_CREATED: &str = "open_created";
    /// The conversation's automatic Case: open it, retry its sync error.
    pub const AUTO_CASE_OPEN: &str = "auto_case_open";
    pub const AUTO_CASE_RETRY: &str = "auto_case_retry";
    /// `stored_data`: the form's idempotency token.
    pub const TOKEN: &str = "form_token";
    /// `stored_data`: the empty required Lead fields the teammate was told
    /// go out as the placeholder (comma-separated API names); a second
    /// Create Lead with no others empty sends them.
    pub const LEAD_PLACEHOLDERS: &str = "lead_placeholders";
    /// `stored_data`: the Contact the case form was drawn for.
    pub const CONTACT: &str = "contact_id";

    /// Every component of the task flow starts with this.
    pub const TASK_PREFIX: &str = "task_";
    const LEAD_PREFIX: &str = "lead_";
    const CASE_PREFIX: &str = "case_";

    pub(super) fn is_lead(id: &str) -> bool {
        id.starts_with(LEAD_PREFIX)
    }
    pub(super) fn is_case(id: &str) -> bool {
        id.starts_with(CASE_PREFIX)
    }
}

/// The component ids of "New Salesforce task" (all `task_*`).
pub mod task_ids {
    pub const NEW: &str = "task_new";
    /// The dropdown, and the `stored_data` key of the choice.
    pub const CHOICE: &str = "task_choice";
    pub const CREATE: &str = "task_create";
    pub const RETRY: &str = "task_retry";
    /// The choice "the whole conversation".
    pub const WHOLE: &str = "conversation";
}

/// What a submit asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Refresh and Try again: skip the cache.
    Refetch,
    ShowCases,
    /// The opportunity dropdown's choice (canvases drawn before the tabs).
    ShowOpportunity,
    /// A tab of the tab row.
    Tab,
    /// A deal of the Deals tab's list (its id is in the component id).
    Deal,
    Lead(LeadAction),
    Case(CaseAction),
    /// Any `task_*` component (the task flow reads its own inputs).
    Task,
    /// Retry the conversation's automatic case (its sync error).
    AutoCaseRetry,
    /// Back, and anything this version does not know: the summary.
    Summary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadAction {
    Open,
    Create,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseAction {
    Open,
    Create,
    /// The record type dropdown changed: redraw with its picklist values.
    RecordType,
}

impl Action {
    /// The action of a submit's component id (`None`: no component).
    pub fn parse(component_id: Option<&str>) -> Action {
        let id = component_id.unwrap_or("");
        match id {
            ids::REFRESH | ids::RETRY => Action::Refetch,
            ids::SHOW_CASES => Action::ShowCases,
            ids::SHOW_OPPORTUNITY => Action::ShowOpportunity,
            ids::TAB => Action::Tab,
            ids::AUTO_CASE_RETRY => Action::AutoCaseRetry,
            _ if ids::deal(id).is_some() => Action::Deal,
            ids::LEAD_CREATE => Action::Lead(LeadAction::Create),
            ids::CASE_CREATE => Action::Case(CaseAction::Create),
            ids::CASE_RECORD_TYPE => Action::Case(CaseAction::RecordType),
            _ if ids::is_lead(id) => Action::Lead(LeadAction::Open),
            _ if ids::is_case(id) => Action::Case(CaseAction::Open),
            _ if id.starts_with(ids::TASK_PREFIX) => Action::Task,
            _ => Action::Summary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_component_id_has_its_action() {
        assert_eq!(Action::parse(Some(ids::REFRESH)), Action::Refetch);
        assert_eq!(Action::parse(Some(ids::RETRY)), Action::Refetch);
        assert_eq!(Action::parse(Some(ids::SHOW_CASES)), Action::ShowCases);
        assert_eq!(
            Action::parse(Some(ids::AUTO_CASE_RETRY)),
            Action::AutoCaseRetry
        );
        assert_eq!(
            Action::parse(Some(ids::SHOW_OPPORTUNITY)),
            Action::ShowOpportunity
        );
        assert_eq!(
            Action::parse(Some(ids::LEAD_CREATE)),
            Action::Lead(LeadAction::Create)
        );
        assert_eq!(
            Action::parse(Some(ids::LEAD_OPEN)),
            Action::Lead(LeadAction::Open)
        );
        assert_eq!(
            Action::parse(Some(ids::CASE_CREATE)),
            Action::Case(CaseAction::Create)
        );
        assert_eq!(
            Action::parse(Some(ids::CASE_RECORD_TYPE)),
            Action::Case(CaseAction::RecordType)
        );
        assert_eq!(
            Action::parse(Some(ids::CASE_OPEN)),
            Action::Case(CaseAction::Open)
        );
        for t in [task_ids::NEW, task_ids::CREATE, task_ids::RETRY] {
            assert_eq!(Action::parse(Some(t)), Action::Task, "{t}");
        }
        assert_eq!(Action::parse(Some(ids::TAB)), Action::Tab);
        assert_eq!(Action::parse(Some("deal_0065e000001GxRnAAK")), Action::Deal);
        assert_eq!(Action::parse(Some(ids::DEAL_PREFIX)), Action::Summary);
        assert_eq!(Action::parse(Some(ids::BACK)), Action::Summary);
        assert_eq!(Action::parse(Some("something_new")), Action::Summary);
        assert_eq!(Action::parse(None), Action::Summary);
    }
}
