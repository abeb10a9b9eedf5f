//! The Canvas Kit protocol: typed components, the requests Intercom sends,
//! and the signatures that prove a request came from Intercom.

pub mod components;
pub mod request;
pub mod signature;

pub use components::{Canvas, CanvasResponse, Component};
pub use request::{CanvasRequest, CanvasRequestBuilder, Person, PersonRole};
