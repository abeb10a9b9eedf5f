//! Intercom Canvas Kit inbox app backed by a cached Salesforce query layer.
//!
//! # Layout
//!
//! Dependencies point one way: protocols → domain (values, services) →
//! rendering → flows → edge and wiring. A module uses only modules of its own
//! layer or below; none imports upwards.
//!
//! **Protocols and values** (no app logic):
//! - [`config`]: the settings, one `serde` struct read from the environment;
//!   `Secret`, the unprintable value. Uses nothing of the app.
//! - [`canvas`]: the Canvas Kit protocol: components, the requests Intercom
//!   sends, the two signature schemes. Uses `intercom` (id parsing) only.
//! - [`intercom`]: the Intercom REST client (notes, admins, contacts,
//!   conversations) and the one HTML escaper. Uses `config`.
//! - [`store`]: the durable store (SQLite or PostgreSQL): connections,
//!   queue, task maps, the idempotency ledger. Uses `config`; implements
//!   the `services::Ledger` port (the one place it names the domain).
//! - [`salesforce`]: OAuth token manager, REST client, SOQL builder, query
//!   cache, person lookup and records. Uses `config`, `store`, `canvas`.
//!
//! **Domain**:
//! - [`actions`]: every component id and `stored_data` key, and the typed
//!   action a submit's component id is parsed into, once. Uses nothing.
//! - [`fields`]: describes as field specs, the form model and its checks;
//!   pure. Uses `salesforce`.
//! - [`profile`]: who the signed person is (Salesforce client, profile
//!   cache, currency memo, company names through Intercom), for every flow;
//!   and the render cache (serialised canvases by snapshot generation).
//!   Uses `salesforce`, `intercom`, `canvas`.
//! - [`services`]: Lead and Case creation through one idempotent-create
//!   mechanism and its ledger, callable without a screen. Uses `salesforce`.

//! - [`settings`]: a workspace's settings (`WorkspaceSettings`, TOML),
//!   their defaults from `config`, `SETTINGS_FILE`, their copy in the
//!   store. Uses `config`, `store`.
//! - [`budget`]: the API budget: the app's Salesforce calls per workspace
//!   per day (the client's call observer), the org's last usage, the daily
//!   cap and the sidebar's reserve. Uses `salesforce` (the observer port),
//!   `store`.
//! - [`text`]: plain-text helpers (truncation). Uses nothing.
//!
//! **Rendering** (pure functions from data to canvases):
//! - [`panels`]: every screen, and the one table from a Salesforce fault
//!   to the teammate's words (`panels::fault`). Uses `canvas`, `actions`,
//!   `fields`, `salesforce` records.
//! - [`answer`]: a canvas as Intercom gets it: serialised once, at most
//!   64 KB (the longest strings cut, with a notice), or the bytes of one
//!   serialised before. Uses `canvas`.
//!
//! **Flows** (what one request or job does):
//! - [`forms`]: the Create Lead and New Case screens' flows. Uses `profile`,
//!   `services`, `panels`, `fields`, `actions` and the protocols.
//! - [`tasks`]: Salesforce Tasks from conversations: the manual flow, the
//!   webhook route, the durable queue and its worker. Uses `panels`,
//!   `salesforce`, `intercom`, and `edge` for the webhook's extractor.
//! - [`cases`]: automatic Salesforce Cases (triggers, the Workflow action
//!   `POST /actions/salesforce-case`, attribute mappings, sync errors).
//!   Uses `services` (CaseService), `settings`, `store`, `intercom`,
//!   `fields`, `tasks::rules` (transcripts).
//! - [`sidebar`]: what one Canvas Kit request shows: workspace check,
//!   dispatch on the action, the panel (cache, fetch, stale fallback; the
//!   serialised canvas kept in the profile service's render cache). Uses
//!   `forms`, `tasks`, `profile`, `panels`, `answer`, `actions`.
//!
//! **Edge and wiring**:
//! - [`edge`]: the signature-checking extractors (Canvas Kit, webhook) with
//!   their one error type and body limits, the request-id and trace layers.
//!   Uses `canvas`, `config`, `actions`, `panels` (components only).
//! - [`routes`]: the HTTP surface; thin handlers. Uses `edge`, `sidebar`,
//!   `tasks` (the webhook route), `panels` (the panic screen).
//! - [`console`]: the admin console's pages (pure templates over view
//!   models), its settings form and the describe checks. Uses `budget`,
//!   `settings`, `store`, `fields`, `salesforce`.
//! - [`workspaces`]: the tenant registry (workspace id → its Salesforce
//!   connection, Intercom client, settings and worker, loaded from the
//!   store), admin sessions and the OAuth state binding, the install,
//!   connect and uninstall routes. Uses the flows (a tenant is made of
//!   them), `store`, `console` (its message page).
//! - [`preview`]: the local inbox preview at `/` (the sidebar in a browser,
//!   through the app's own HTTP routes). Uses `canvas`, `config`, `intercom`.
//! - [`server`]: the HTTP server: header and body read timeouts, a
//!   connection cap, graceful shutdown. Uses nothing of the app.
//! - [`app`]: wiring from a `Config` to a router; `main` and the tests build
//!   the app through here. Uses everything above.
//!
//! The sandbox (fake Salesforce org and Intercom API) is its own crate,
//! `sf-inbox-sandbox`: this crate uses it only in `main` (behind the default
//! `sandbox` feature) and in tests.

pub mod actions;
pub mod answer;
pub mod app;
pub mod budget;
pub mod canvas;
pub mod cases;
pub mod config;
pub mod console;
pub mod edge;
pub mod fields;
pub mod forms;
pub mod intercom;
pub mod panels;
pub mod preview;
pub mod profile;
pub mod routes;
pub mod salesforce;
pub mod server;
pub mod services;
pub mod settings;
pub mod sidebar;
pub mod store;
pub mod tasks;
pub mod text;
pub mod workspaces;
