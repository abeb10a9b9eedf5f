//! The idempotency ledger: what became of one create, keyed by (workspace
//! id, idempotency key). Four operations, so a durable store can back it:
//!
//! - [`begin`](Ledger::begin) claims the key for this try and says what an
//!   earlier try came to: nothing ([`Begin::Begun`]), still running
//!   ([`Begin::InFlight`], not claimed), an uncertain outcome
//!   ([`Begin::Unknown`], claimed: look before creating), or a record
//!   ([`Begin::Done`]).
//! - [`done`](Ledger::done): the record exists, with this id.
//! - [`unknown`](Ledger::unknown): the create may or may not have happened
//!   (timeout, connection reset, unreadable answer, 5xx); the next try
//!   must look before creating.
//! - [`forget`](Ledger::forget): definitely nothing was created; the next
//!   try starts afresh.
//!
//! A durable implementation should treat a claim whose holder died (a
//! lease run out) as [`Begin::Unknown`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Notify;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LedgerKey {
    pub workspace_id: String,
    pub idempotency_key: String,
}

impl LedgerKey {
    pub fn new(workspace_id: impl Into<String>, idempotency_key: impl Into<String>) -> LedgerKey {
        LedgerKey {
            workspace_id: workspace_id.into(),
            idempotency_key: idempotency_key.into(),
        }
    }
}

/// What [`Ledger::begin`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// Nothing was tried before: create.
    Begun,
    /// Another try is running and has not finished.
    InFlight,
    /// An earlier try's outcome is uncertain: look, then create if absent.
    Unknown,
    /// The record exists.
    Done(String),
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("the idempotency ledger failed: {0}")]
pub struct LedgerError(pub String);

#[async_trait]
pub trait Ledger: Send + Sync {
    async fn begin(&self, key: &LedgerKey) -> Result<Begin, LedgerError>;
    async fn done(&self, key: &LedgerKey, record_id: &str) -> Result<(), LedgerError>;
    async fn unknown(&self, key: &LedgerKey) -> Result<(), LedgerError>;
    async fn forget(&self, key: &LedgerKey) -> Result<(), LedgerError>;
}

#[derive(Debug, Clone)]
enum State {
    InFlight,
    Unknown,
    Done(String),
}

/// The ledger of one process. A second try of a running create waits for
/// it (up to `wait`) instead of answering [`Begin::InFlight`] at once, so a
/// double click shows the one record. Entries untouched for a day go.
pub struct InMemoryLedger {
    entries: Mutex<HashMap<LedgerKey, (State, Instant)>>,
    changed: Notify,
    wait: Duration,
}

const KEEP: Duration = Duration::from_secs(24 * 3600);
const PRUNE_ABOVE: usize = 10_000;

impl Default for InMemoryLedger {
    fn default() -> Self {
        InMemoryLedger::new(Duration::from_secs(30))
    }
}

impl InMemoryLedger {
    pub fn new(wait: Duration) -> InMemoryLedger {
        InMemoryLedger {
            entries: Mutex::new(HashMap::new()),
            changed: Notify::new(),
            wait,
        }
    }

    fn set(&self, key: &LedgerKey, state: Option<State>) {
        let mut entries = self.entries.lock().unwrap();
        match state {
            Some(s) => {
                entries.insert(key.clone(), (s, Instant::now()));
            }
            None => {
                entries.remove(key);
            }
        }
        drop(entries);
        self.changed.notify_waiters();
    }
}

#[async_trait]
impl Ledger for InMemoryLedger {
    async fn begin(&self, key: &LedgerKey) -> Result<Begin, LedgerError> {
        let deadline = tokio::time::Instant::now() + self.wait;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut entries = self.entries.lock().unwrap();
                if entries.len() > PRUNE_ABOVE {
                    entries.retain(|_, (_, at)| at.elapsed() < KEEP);
                }
                let now = Instant::now();
                match entries.get(key).map(|(s, _)| s.clone()) {
                    None => {
                        entries.insert(key.clone(), (State::InFlight, now));
                        return Ok(Begin::Begun);
                    }
                    Some(State::Unknown) => {
                        entries.insert(key.clone(), (State::InFlight, now));
                        return Ok(Begin::Unknown);
                    }
                    Some(State::Done(id)) => return Ok(Begin::Done(id)),
                    Some(State::InFlight) => {}
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return Ok(Begin::InFlight);
            }
        }
    }

    async fn done(&self, key: &LedgerKey, record_id: &str) -> Result<(), LedgerError> {
        self.set(key, Some(State::Done(record_id.to_string())));
        Ok(())
    }

    async fn unknown(&self, key: &LedgerKey) -> Result<(), LedgerError> {
        self.set(key, Some(State::Unknown));
        Ok(())
    }

    async fn forget(&self, key: &LedgerKey) -> Result<(), LedgerError> {
        self.set(key, None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> LedgerKey {
        LedgerKey::new("ws", k)
    }

    #[tokio::test]
    async fn each_operation_moves_the_key_as_the_interface_says() {
        let l = InMemoryLedger::new(Duration::ZERO);
        assert_eq!(l.begin(&key("a")).await.unwrap(), Begin::Begun);
        assert_eq!(l.begin(&key("a")).await.unwrap(), Begin::InFlight);
        l.unknown(&key("a")).await.unwrap();
        assert_eq!(l.begin(&key("a")).await.unwrap(), Begin::Unknown);
        // Unknown claims the key again.
        assert_eq!(l.begin(&key("a")).await.unwrap(), Begin::InFlight);
        l.done(&key("a"), "00Q1").await.unwrap();
        assert_eq!(
            l.begin(&key("a")).await.unwrap(),
            Begin::Done("00Q1".into())
        );
        assert_eq!(l.begin(&key("b")).await.unwrap(), Begin::Begun);
        l.forget(&key("b")).await.unwrap();
        assert_eq!(l.begin(&key("b")).await.unwrap(), Begin::Begun);
        // Keys of another workspace are other keys.
        assert_eq!(
            l.begin(&LedgerKey::new("other", "a")).await.unwrap(),
            Begin::Begun
        );
    }

    #[tokio::test]
    async fn a_second_try_waits_for_the_running_one() {
        let l = std::sync::Arc::new(InMemoryLedger::new(Duration::from_secs(60)));
        assert_eq!(l.begin(&key("a")).await.unwrap(), Begin::Begun);
        let waiter = {
            let l = l.clone();
            tokio::spawn(async move { l.begin(&key("a")).await.unwrap() })
        };
        tokio::task::yield_now().await;
        l.done(&key("a"), "500x").await.unwrap();
        assert_eq!(waiter.await.unwrap(), Begin::Done("500x".into()));
    }
}
