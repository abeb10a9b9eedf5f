//! `sf-inbox`: the server. With no Salesforce settings it starts the
//! built-in sandbox org first and points the app at it, through the same
//! client code a real org gets.

use std::net::SocketAddr;
use std::process::ExitCode;

use sf_inbox::app;
use sf_inbox::canvas::signature::sign_body;
use sf_inbox::canvas::CanvasRequestBuilder;
use sf_inbox::config::{Config, SalesforceMode};
use sf_inbox::preview;
use sf_inbox::store::Store;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "sf_inbox=info,tower_http=warn".into()),
        )
        .init();

    let mut config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };

    if config.sandbox_refused_off_loopback() {
        eprintln!(
            "No SALESFORCE_* settings, and BIND_ADDR {} is not a loopback address: \
             the sandbox org is not started (SANDBOX=on forces it); Salesforce shows as not connected.",
            config.bind_addr
        );
    }

    // `sf-inbox retry-failed`: the operator's retry of parked notifications.
    if std::env::args().nth(1).as_deref() == Some("retry-failed") {
        return retry_failed(&config).await;
    }

    // The sandbox (org and Intercom API) lives as long as the server.
    let sandbox = if config.is_sandbox() {
        match sandbox::start(&mut config).await {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    // The sandbox is reseeded on every start: a stored token would be stale,
    // and so would a task map pointing at its records (so: memory, unless
    // DATABASE_URL says otherwise).
    let store = match Store::from_config(&config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("start-up failed: {e}");
            return ExitCode::FAILURE;
        }
    };

    let app = match app::start(&config, store).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("start-up failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.bind_addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("BIND_ADDR {}: {e}", config.bind_addr);
            return ExitCode::from(2);
        }
    };
    let local = listener.local_addr().expect("bound socket has an address");
    app.registry.set_public_base(&config.public_base(local));
    let registry = app.registry.clone();
    let router = match preview::attach(
        app.router,
        &config,
        local,
        sandbox.as_ref().map(|s| s.org_url.clone()),
        Some(registry),
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("start-up failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let router = sf_inbox::edge::traced(router);
    print_banner(&config, local, sandbox.as_ref().map(|s| s.org_url.as_str()));
    if let Some(url) = sandbox.as_ref().and_then(|s| s.intercom_url.as_deref()) {
        println!("  Intercom REST API: sandbox at {url} (notes land there)");
    }
    if let Some(s) = &sandbox {
        println!(
            "  Second sandbox org: {} (installed workspaces connect to it)",
            s.org_b_url
        );
    }
    if config.install.is_some() {
        println!(
            "  Install in a workspace: {}/install (Intercom OAuth, then Connect Salesforce)",
            config.public_base(local)
        );
    }

    let served = sf_inbox::server::serve(listener, router, config.server, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Queues every parked notification again, now.
async fn retry_failed(config: &Config) -> ExitCode {
    let store = match Store::from_config(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    match store.retry_failed(None).await {
        Ok(n) => {
            println!("{n} parked notification(s) queued again; a running worker picks them up");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn print_banner(config: &Config, local: SocketAddr, org_url: Option<&str>) {
    let base = format!("http://{local}");
    println!("sf-inbox listening on {base}");
    if config.preview {
        println!(
            "  Inbox preview (open in a browser): {}/",
            preview::loopback_url(local)
        );
    }
    println!("  Canvas Kit initialize URL: {base}/canvas/initialize");
    println!("  Canvas Kit submit URL:     {base}/canvas/submit");
    println!("  Health:                    {base}/healthz");
    println!(
        "  Webhook URL:               {base}/webhooks/intercom (automatic tasks {})",
        if config.auto_tasks {
            "on"
        } else {
            "off: AUTO_TASKS=on"
        }
    );
    let Some(org_url) = org_url else {
        println!("  Salesforce: {}", login_of(config));
        return;
    };
    let secret = config.intercom_client_secret.expose();
    println!(
        "  Salesforce: built-in sandbox org at {} (seeded from {})",
        org_url,
        config.fixtures_dir.display()
    );
    println!(
        "  Sandbox controls: {org_url}/__sandbox/state (latency, faults, expired tokens, API limit)"
    );
    if secret == sf_inbox::config::SANDBOX_INTERCOM_SECRET {
        println!("  Signing secret (INTERCOM_CLIENT_SECRET): {secret}");
    } else {
        println!("  Signing secret: the INTERCOM_CLIENT_SECRET you set");
    }
    let body = CanvasRequestBuilder::new("sandbox")
        .admin("1", None, Some("ruth@example.com"))
        .contact("user", Some("hana@globex.example"))
        .company(None, "Globex Corporation")
        .conversation("4711")
        .to_vec();
    let sig = sign_body(secret.as_bytes(), &body);
    // JSON has no `'`: the body goes between single quotes as it is.
    let body = String::from_utf8(body).expect("JSON is UTF-8");
    println!();
    println!("Render a panel (Hana Okafor, a Contact with opportunities and open cases):");
    println!(
        "  curl -s {base}/canvas/initialize -H 'Content-Type: application/json' -H 'X-Body-Signature: {sig}' -d '{body}'"
    );
}

fn login_of(config: &Config) -> String {
    match &config.salesforce {
        SalesforceMode::Org(o) => o.login_url.to_string(),
        SalesforceMode::Sandbox => "sandbox".to_string(),
    }
}

/// Starting the sandbox: compiled in with the default `sandbox` feature.
#[cfg(feature = "sandbox")]
mod sandbox {
    use std::net::SocketAddr;

    use sf_inbox::config::{
        Config, Database, InstallSettings, LoginChoice, OrgSettings, SalesforceMode, Secret,
    };
    use sf_sandbox::intercom::{
        FakeIntercom, SANDBOX_INTERCOM_CLIENT_ID, SANDBOX_INTERCOM_TOKEN, SANDBOX_WORKSPACE_ID,
    };
    use sf_sandbox::{FakeOrg, OrgOptions};

    pub struct Sandbox {
        org: FakeOrg,
        /// The second org, which installed workspaces connect to.
        org_b: FakeOrg,
        // Kept alive as long as the server.
        _intercom: Option<FakeIntercom>,
        pub org_url: String,
        pub org_b_url: String,
        pub intercom_url: Option<String>,
    }

    impl Sandbox {
        pub async fn shutdown(self) {
            self.org.shutdown().await;
            self.org_b.shutdown().await;
        }
    }

    /// Starts the sandbox org (and the sandbox Intercom API unless one is
    /// configured) and points `config` at them.
    pub async fn start(config: &mut Config) -> Result<Sandbox, String> {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let org = FakeOrg::start(addr, &config.fixtures_dir)
            .await
            .map_err(|e| {
                format!(
                    "could not start the sandbox org from {}: {e}",
                    config.fixtures_dir.display()
                )
            })?;
        config.salesforce = SalesforceMode::Org(OrgSettings {
            login_url: org.url().parse().expect("sandbox URL parses"),
            client_id: Some(sf_sandbox::SANDBOX_CLIENT_ID.to_string()),
            client_secret: Some(Secret::new(sf_sandbox::SANDBOX_CLIENT_SECRET)),
            refresh_token: Some(Secret::new(sf_sandbox::SANDBOX_REFRESH_TOKEN)),
        });
        // A second org, with other people, for a second workspace to
        // connect to (the Connect page's default in the sandbox).
        let org_b = FakeOrg::start_with(addr, &config.fixtures_dir, OrgOptions::second())
            .await
            .map_err(|e| format!("could not start the second sandbox org: {e}"))?;
        config.connect_logins = vec![
            LoginChoice {
                key: "org-b".into(),
                label: format!("{} (sandbox)", sf_sandbox::SANDBOX_ORG_B_NAME),
                url: org_b.url().parse().expect("sandbox URL parses"),
            },
            LoginChoice {
                key: "org-a".into(),
                label: format!("{} (sandbox)", sf_sandbox::SANDBOX_ORG_NAME),
                url: org.url().parse().expect("sandbox URL parses"),
            },
        ];
        // The sandbox Intercom API answers notes, teammates and
        // conversations, and installs the app in more workspaces (OAuth).
        let mut intercom = None;
        if config.intercom_access_token.is_none() && config.intercom_api_url.is_none() {
            match FakeIntercom::start(addr, &config.fixtures_dir).await {
                Ok(fake) => {
                    config.intercom_access_token = Some(Secret::new(SANDBOX_INTERCOM_TOKEN));
                    config.intercom_api_url = Some(fake.url().parse().expect("sandbox URL parses"));
                    fake.set_client_secret(config.intercom_client_secret.expose());
                    if config.install.is_none() {
                        config.install = Some(InstallSettings {
                            client_id: SANDBOX_INTERCOM_CLIENT_ID.to_string(),
                            oauth_url: format!("{}/oauth", fake.url()).parse().expect("URL"),
                            token_url: format!("{}/auth/eagle/token", fake.url())
                                .parse()
                                .expect("URL"),
                        });
                    }
                    intercom = Some(fake);
                }
                Err(e) => eprintln!("sandbox Intercom API not started: {e}"),
            }
        }
        // The sandbox Intercom's own workspace is the environment's; any
        // other installs the app.
        if config.workspace_id.is_none() {
            config.workspace_id = Some(SANDBOX_WORKSPACE_ID.to_string());
        }
        if config.database.is_none() {
            config.database = Some(Database::Memory);
        }
        Ok(Sandbox {
            org_url: org.url(),
            org_b_url: org_b.url(),
            intercom_url: intercom.as_ref().map(FakeIntercom::url),
            org,
            org_b,
            _intercom: intercom,
        })
    }
}

/// A build without the `sandbox` feature has no fake org to start.
#[cfg(not(feature = "sandbox"))]
mod sandbox {
    use sf_inbox::config::Config;

    pub struct Sandbox {
        pub org_url: String,
        pub org_b_url: String,
        pub intercom_url: Option<String>,
    }

    impl Sandbox {
        pub async fn shutdown(self) {}
    }

    pub async fn start(_config: &mut Config) -> Result<Sandbox, String> {
        Err(
            "this build has no sandbox (built without the `sandbox` feature): \
             set SALESFORCE_LOGIN_URL, SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET and \
             SALESFORCE_REFRESH_TOKEN"
                .to_string(),
        )
    }
}
