//! Salesforce fields as a form sees them, below the panels and the flows:
//! the describe and UI API picklist answers as field specs ([`describe`]),
//! and the form model with the checks Salesforce would make ([`model`]).
//! Pure: no I/O.

pub mod describe;
pub mod model;
