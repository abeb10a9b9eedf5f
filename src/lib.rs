//! Intercom Canvas Kit inbox app backed by a cached Salesforce query layer.
//!
//! - [`canvas`]: the Canvas Kit protocol (components, requests, signatures)
//! - [`salesforce`]: OAuth, REST client, SOQL builder, cache, person lookup
//! - [`actions`]: every component id, and the typed action of a submit
//! - [`fields`]: describes as field specs, the form model and its checks (pure)
//! - [`profile`]: who the signed person is (client, profile cache, currency
//!   memo, company names through Intercom), for every flow that asks
//! - [`services`]: Lead and Case creation, one idempotent-create mechanism
//!   and its ledger, callable without a screen
//! - [`panels`]: pure rendering from records to canvases
//! - [`sidebar`]: what one request shows (workspace check, dispatch, panel)
//! - [`edge`]: signature extractors, request ids, one log line per request
//! - [`answer`]: a canvas as Intercom gets it (at most 64 KB)
//! - [`routes`]: the HTTP surface; [`app`]: wiring;
//!   [`server`]: the HTTP server (read timeouts, connection cap)
//! - [`intercom`]: the Intercom REST client
//! - [`forms`]: the Create Lead and New Case screens' flows
//! - [`config`]: settings from the environment; [`store`]: token storage
//! - [`preview`]: the local inbox preview at `/` (the sidebar in a browser)
//! - [`tasks`]: Salesforce Tasks from conversations (manual and automatic)
//! - [`text`]: plain-text helpers (truncation)
//!
//! Dependencies point one way: `canvas`, `salesforce`, `intercom` (protocol)
//! → `actions`, `fields` → `profile`, `services` (domain) → `panels`
//! (rendering) → `forms`, `tasks`, `sidebar` (flows) → `edge`, `routes`,
//! `app`.

pub mod actions;
pub mod answer;
pub mod app;
pub mod canvas;
pub mod config;
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
pub mod sidebar;
pub mod store;
pub mod tasks;
pub mod text;
