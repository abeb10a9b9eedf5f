//! The app with its local inbox preview mounted, as `main` does it, next
//! to a fake org whose sandbox controls the preview proxies.

use std::net::SocketAddr;

use sf_inbox::app::{self, App};
use sf_inbox::preview;
use sf_inbox::store::Store;
use sf_sandbox::FakeOrg;

use super::{config_for, start_org};

pub struct PreviewApp {
    /// Base URL of the app (the preview is at `{url}/`).
    pub url: String,
    pub org: FakeOrg,
    pub http: reqwest::Client,
    pub server: tokio::task::JoinHandle<()>,
}

/// Starts a fake org and the app on loopback; `overrides` as in
/// [`config_for`] (pass `("PREVIEW", "on")` to mount the preview).
pub async fn spawn_preview(overrides: &[(&str, &str)]) -> PreviewApp {
    let org = start_org().await;
    let config = config_for(&org, overrides);
    let App { router, .. } = app::build(&config, Store::memory()).expect("app builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let router =
        preview::attach(router, &config, addr, Some(org.url()), None).expect("preview mounts");
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    PreviewApp {
        url: format!("http://{addr}"),
        org,
        http: reqwest::Client::new(),
        server,
    }
}
