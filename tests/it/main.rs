//! The integration tests: one binary (one link on a 2-core machine), one
//! harness (`common`). Each module spawns the app and the sandbox on loopback
//! ports and talks real HTTP to them.

mod common;

mod answer_size;
mod auto_cases;
mod budget;

mod connections;
mod console_browser;
mod console_connector;
mod console_http;
mod console_support;
mod edge;
mod form_writes;
mod forms_http;
mod golden_canvases;
mod http_server;
mod install_browser;
mod intercom_client;
mod multi_currency;
mod panels_http;
mod partial_answers;
mod pg;
mod preview_browser;
mod preview_http;
mod render_cache;
mod replicas;
mod salesforce_client;
mod sandbox_org;
mod secret_settings;
mod secrets_in_logs;
mod soql_quoting;
mod store_backends;
mod store_tenants;
mod task_round_trips;
mod tasks;
mod upgrade;
mod webhook_workspace;
mod workspaces;
