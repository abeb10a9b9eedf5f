//! What every bench starts from: the sandbox org on a loopback port and
//! the settings pointing the app at it. (`mod common;` in each bench; Cargo
//! does not take `benches/common/` for a bench of its own.)
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use sf_sandbox::FakeOrg;

/// The repository's `fixtures/`.
pub fn fixtures() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A fresh sandbox org seeded from the fixtures.
pub async fn start_org() -> FakeOrg {
    FakeOrg::start("127.0.0.1:0".parse().unwrap(), &fixtures())
        .await
        .unwrap()
}

/// Settings for an app on `org`, its requests signed with `secret`.
pub fn env_for(org: &FakeOrg, secret: &str) -> HashMap<&'static str, String> {
    HashMap::from([
        ("SALESFORCE_LOGIN_URL", org.url()),
        ("SALESFORCE_CLIENT_ID", sf_sandbox::SANDBOX_CLIENT_ID.into()),
        (
            "SALESFORCE_CLIENT_SECRET",
            sf_sandbox::SANDBOX_CLIENT_SECRET.into(),
        ),
        (
            "SALESFORCE_REFRESH_TOKEN",
            sf_sandbox::SANDBOX_REFRESH_TOKEN.into(),
        ),
        ("INTERCOM_CLIENT_SECRET", secret.into()),
    ])
}
