//! The screens of a workspace the app cannot serve yet: it has not been
//! installed there, or no Salesforce org is connected to it. Each names
//! what is missing and opens the page (in a browser tab) that fixes it;
//! only an admin of the workspace gets past that page's sign-in.

use crate::canvas::components::*;

/// The component ids of these screens' buttons.
pub const INSTALL: &str = "install_app";
pub const CONNECT: &str = "connect_salesforce";

/// The workspace has not installed the app: `install_url` is `/install`.
pub fn not_installed_canvas(install_url: &str) -> Canvas {
    Canvas::new(vec![
        header("Salesforce isn't installed here"),
        paragraph(
            "This Intercom workspace hasn't installed the Salesforce app yet. \
             An admin of the workspace can install it and connect your Salesforce org.",
        ),
        url_button(INSTALL, "Install the Salesforce app", install_url),
    ])
    .with_data("view", "not_installed")
}

/// Installed, with no Salesforce org connected (never, or disconnected):
/// `connect_url` is `/connect/salesforce`.
pub fn not_connected_canvas(connect_url: &str) -> Canvas {
    Canvas::new(vec![
        header("Connect Salesforce"),
        paragraph(
            "The Salesforce app is installed in this workspace, but no Salesforce org is \
             connected yet. An admin connects one once; every teammate then sees it here.",
        ),
        url_button(CONNECT, "Connect Salesforce", connect_url),
    ])
    .with_data("view", "not_connected")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_screen_links_where_it_says() {
        let c = serde_json::to_value(not_installed_canvas("https://app.example/install")).unwrap();
        let s = c.to_string();
        assert!(s.contains("https://app.example/install"), "{s}");
        assert!(s.contains("\"not_installed\""), "{s}");
        let c = serde_json::to_value(not_connected_canvas(
            "https://app.example/connect/salesforce",
        ))
        .unwrap();
        let s = c.to_string();
        assert!(s.contains("https://app.example/connect/salesforce"), "{s}");
        assert!(s.contains("\"not_connected\""), "{s}");
    }
}
