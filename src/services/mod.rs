//! Domain services: Salesforce writes that no screen owns, so the forms
//! call them and a worker can too.
//!
//! - [`ledger`]: the idempotency ledger's interface and its in-memory
//!   implementation (a durable one implements the same four operations)
//! - [`create`]: the one idempotent-create mechanism (ledger, look before
//!   creating after an uncertain outcome, and the create as one
//!   `/composite` round trip with whatever reads ride along)
//! - [`lead`], [`case`]: Lead and Case creation on top of it

pub mod case;
pub mod create;
pub mod lead;
pub mod ledger;

pub use create::{CreateError, Created, How};
pub use ledger::{Begin, InMemoryLedger, Ledger, LedgerError, LedgerKey};
