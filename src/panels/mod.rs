//! Screens: pure functions from Salesforce records (and the time) to a
//! canvas. No I/O happens here, so every screen is tested — and kept as a
//! golden file under `canvases/` — without a server.

pub mod auto_case;
pub mod fault;
pub mod format;
pub mod forms;
pub mod install;
mod profile;
mod status;
pub mod tasks;

pub use fault::{fault_text, fault_title, Telling};
pub use profile::{insert_feedback, profile_canvas, render_key, RenderCtx, View};
pub use status::{
    error_canvas, error_canvas_retrying, internal_error_canvas, no_email_canvas,
    workspace_refused_canvas,
};

/// Component ids the submit handler dispatches on (all in [`crate::actions`]).
pub use crate::actions::ids;

/// `{instance}/lightning/r/{Type}/{Id}/view`: the Lightning record page
/// (a My Domain instance URL redirects there).
pub fn record_url(instance_url: &str, sobject: &str, id: &str) -> String {
    format!(
        "{}/lightning/r/{sobject}/{id}/view",
        instance_url.trim_end_matches('/')
    )
}
