//! Intercom Canvas Kit inbox app backed by a cached Salesforce query layer.
pub mod sandbox;
