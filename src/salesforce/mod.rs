//! The Salesforce side: OAuth tokens, the REST client, the SOQL builder,
//! the query cache, and the records the panels show.

pub mod auth;
pub mod cache;
pub mod client;
pub mod connect;
pub mod error;
pub mod lookup;
pub mod records;
pub mod soql;

pub use client::SalesforceClient;
pub use error::{ApiError, SalesforceError};
