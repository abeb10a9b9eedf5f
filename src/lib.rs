//! Intercom Canvas Kit inbox app backed by a cached Salesforce query layer.
//!
//! - [`canvas`]: the Canvas Kit protocol (components, requests, signatures)
//! - [`salesforce`]: OAuth, REST client, SOQL builder, cache, person lookup
//! - [`panels`]: pure rendering from records to canvases
//! - [`sidebar`]: what one request shows (cache, fetch, fallbacks)
//! - [`routes`]: the HTTP surface; [`app`]: wiring
//! - [`intercom`]: the Intercom REST client
//! - [`forms`]: Create Lead and New Case, validated against the describe
//! - [`config`]: settings from the environment; [`store`]: token storage
//! - [`preview`]: the local inbox preview at `/` (the sidebar in a browser)
//! - [`tasks`]: Salesforce Tasks from conversations (manual and automatic)

pub mod app;
pub mod canvas;
pub mod config;
pub mod edge;
pub mod fields;
pub mod forms;
pub mod intercom;
pub mod panels;
pub mod preview;
pub mod routes;
pub mod salesforce;
pub mod sidebar;
pub mod store;
pub mod tasks;
