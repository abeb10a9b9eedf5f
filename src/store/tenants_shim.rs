//! TEMPORARY: the store helper's tenants API, to compile against until its branch lands.
#![allow(unused_variables)]
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Store, StoreError};
use crate::config::Secret;

#[derive(Clone, Debug)]
pub struct WorkspaceRow {
    pub workspace_id: String,
    pub name: Option<String>,
    pub region: Option<String>,
    pub intercom_token: Option<Secret>,
    pub installed_by: Option<String>,
    pub installed_at: Option<DateTime<Utc>>,
}
#[derive(Clone, Debug, Default)]
pub struct ConnectionInfo {
    pub login_url: Option<String>,
    pub instance_url: Option<String>,
    pub org_id: Option<String>,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub connected_at: Option<DateTime<Utc>>,
    pub last_ok_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}
#[derive(Clone, Debug)]
pub struct OAuthState {
    pub kind: String,
    pub browser_hash: String,
    pub workspace_id: Option<String>,
    pub admin_id: Option<String>,
    pub pkce_verifier: Option<Secret>,
    pub login_url: Option<String>,
}
#[derive(Clone, Debug)]
pub struct AdminSession {
    pub workspace_id: String,
    pub admin_id: String,
    pub admin_name: String,
    pub admin_email: String,
    pub csrf_token: Secret,
    pub expires_at: DateTime<Utc>,
}
impl Store {
    pub async fn save_workspace(&self, row: &WorkspaceRow) -> Result<(), StoreError> { unimplemented!() }
    pub async fn workspace_row(&self, id: &str) -> Result<Option<WorkspaceRow>, StoreError> { unimplemented!() }
    pub async fn installed_workspaces(&self) -> Result<Vec<WorkspaceRow>, StoreError> { unimplemented!() }
    pub async fn delete_workspace(&self, id: &str) -> Result<(), StoreError> { unimplemented!() }
    pub async fn connect(&self, info: &ConnectionInfo, refresh_token: &Secret) -> Result<(), StoreError> { unimplemented!() }
    pub async fn connection_info(&self) -> Result<Option<ConnectionInfo>, StoreError> { unimplemented!() }
    pub async fn disconnect(&self) -> Result<Option<Secret>, StoreError> { unimplemented!() }
    pub async fn put_oauth_state(&self, state: &str, s: &OAuthState, ttl: Duration) -> Result<(), StoreError> { unimplemented!() }
    pub async fn take_oauth_state(&self, state: &str) -> Result<Option<OAuthState>, StoreError> { unimplemented!() }
    pub async fn create_session(&self, cookie_value: &str, s: &AdminSession) -> Result<(), StoreError> { unimplemented!() }
    pub async fn session(&self, cookie_value: &str) -> Result<Option<AdminSession>, StoreError> { unimplemented!() }
    pub async fn delete_session(&self, cookie_value: &str) -> Result<(), StoreError> { unimplemented!() }
    pub async fn workspace_for_action_token(&self, presented: &str) -> Result<Option<String>, StoreError> { unimplemented!() }
}
