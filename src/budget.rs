//! The API budget: how many Salesforce calls this app makes per workspace
//! per UTC day, what the org's `Sforce-Limit-Info` said last, and a daily
//! cap with a reserve for the sidebar.
//!
//! - Counting: [`Budget`] is the Salesforce client's [`CallObserver`]:
//!   every answer adds one call (in memory at once, then to the store's
//!   `api_usage` row of the day, `+ n`, so replicas add up).
//! - The cap (`[budget] daily_cap`, 0 = none): past `background_share`
//!   percent of it, background work (the task worker, automatic cases)
//!   waits until the next UTC day, so the sidebar keeps the rest. The org's
//!   own usage counts too: once the org has used `background_share` percent
//!   of its daily limit (every app's calls, Salesforce's rolling 24 hours),
//!   background work waits and looks again every [`ORG_RECHECK`] until the
//!   usage drops.
//! - The sidebar is never refused by the budget: it is what the reserve is
//!   for. Nothing here blocks a teammate's request.
//!
//! - Health: the last good call and the last error, for the console.
//!
//! The rule is a pure function ([`gate`]) of the policy, the day's counts
//! and the time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::salesforce::client::CallObserver;
use crate::store::{OrgUsage, Store, StoreError, UsageDay};

/// How often background work held back by the org's usage looks again.
pub const ORG_RECHECK: Duration = Duration::from_secs(300);
/// An org usage older than this says nothing about now (Salesforce's
/// window rolls; with no call since, the figure is stale).
pub const ORG_USAGE_FRESH: Duration = Duration::from_secs(3600);

/// A workspace's budget settings (`[budget]` in the settings file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// This app's Salesforce calls per UTC day; 0 = no cap.
    pub daily_cap: u64,
    /// Percent of the cap (and of the org's limit) background work may use.
    pub background_share: u8,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            daily_cap: 0,
            background_share: 80,
        }
    }
}

impl From<&crate::settings::Budget> for Policy {
    fn from(b: &crate::settings::Budget) -> Policy {
        Policy {
            daily_cap: b.daily_cap,
            background_share: b.background_share,
        }
    }
}

impl Policy {
    /// The calls background work may make per day (`None`: no cap).
    pub fn background_calls(&self) -> Option<u64> {
        (self.daily_cap > 0)
            .then(|| self.daily_cap * u64::from(self.background_share.min(100)) / 100)
    }
}

/// May background work call Salesforce now?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Go,
    /// Not before `until` (or when usage drops, for [`Held::Org`]).
    Wait {
        until: DateTime<Utc>,
        why: Held,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// This app used its background share of the daily cap.
    Cap { used: u64, allowed: u64 },
    /// The org used `background_share` percent of its own daily limit.
    Org { used: u64, limit: u64 },
}

impl Gate {
    /// How long to wait from `now` (zero for `Go`).
    pub fn wait_from(&self, now: DateTime<Utc>) -> Duration {
        match self {
            Gate::Go => Duration::ZERO,
            Gate::Wait { until, .. } => (*until - now).to_std().unwrap_or(Duration::ZERO),
        }
    }
}

/// The rule: `day` is today's counts (UTC), `now` the time.
pub fn gate(policy: &Policy, day: &UsageDay, now: DateTime<Utc>) -> Gate {
    if let Some(allowed) = policy.background_calls() {
        if day.app_calls >= allowed {
            return Gate::Wait {
                until: next_day(now),
                why: Held::Cap {
                    used: day.app_calls,
                    allowed,
                },
            };
        }
    }
    if let Some(org) = day.org {
        let age = now.timestamp_millis() - org.seen_at_ms;
        let share = u64::from(policy.background_share.min(100));
        if org.limit > 0
            && age < ORG_USAGE_FRESH.as_millis() as i64
            && org.used * 100 >= org.limit * share
        {
            return Gate::Wait {
                until: now + chrono::Duration::from_std(ORG_RECHECK).expect("small"),
                why: Held::Org {
                    used: org.used,
                    limit: org.limit,
                },
            };
        }
    }
    Gate::Go
}

/// The UTC day of `t`, as stored (`YYYY-MM-DD`).
pub fn day_of(t: DateTime<Utc>) -> String {
    t.date_naive().format("%Y-%m-%d").to_string()
}

/// Midnight UTC after `t`.
pub fn next_day(t: DateTime<Utc>) -> DateTime<Utc> {
    let d: NaiveDate = t.date_naive() + Days::new(1);
    d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error("API budget: {0}")]
    Store(#[from] StoreError),
}

/// Calls counted but not yet added to the store, per day (a flush at
/// midnight may still hold yesterday's last calls).
#[derive(Default)]
struct Pending {
    days: std::collections::BTreeMap<String, (u64, Option<OrgUsage>)>,
    flushing: bool,
}

/// One workspace's budget: counts its client's calls, answers the gate.
/// Cheap to clone.
#[derive(Clone)]
pub struct Budget {
    store: Store,
    pending: Arc<Mutex<Pending>>,
    policy: Arc<Mutex<Policy>>,
    /// Serialises flushes (so a reader sees every call counted before it).
    flush_lock: Arc<tokio::sync::Mutex<()>>,
    health: Arc<Mutex<Health>>,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("workspace", &self.store.workspace())
            .field("policy", &self.policy())
            .finish()
    }
}

/// Today's figures, for the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub today: UsageDay,
    /// The last days (oldest first, today included), calls per day.
    pub days: Vec<UsageDay>,
    pub policy: Policy,
    pub gate: Gate,
}

impl Budget {
    /// The budget of `store`'s workspace.
    pub fn new(store: Store, policy: Policy) -> Budget {
        Budget {
            store,
            pending: Arc::default(),
            policy: Arc::new(Mutex::new(policy)),
            flush_lock: Arc::default(),
            health: Arc::default(),
        }
    }

    /// The org's last good call and last error (this process).
    pub fn health(&self) -> Health {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn policy(&self) -> Policy {
        *self.policy.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// New settings (the console saved them).
    pub fn set_policy(&self, policy: Policy) {
        *self.policy.lock().unwrap_or_else(|p| p.into_inner()) = policy;
    }

    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.store.clock().now_ms()).unwrap_or_else(Utc::now)
    }

    /// Counts one call (and the org's usage if the answer said it).
    pub fn count(&self, usage: Option<(u64, u64)>) {
        let now = self.now();
        let day = day_of(now);
        let start_flush = {
            let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            let entry = p.days.entry(day).or_default();
            entry.0 += 1;
            if let Some((used, limit)) = usage {
                entry.1 = Some(OrgUsage {
                    used,
                    limit,
                    seen_at_ms: now.timestamp_millis(),
                });
            }
            !std::mem::replace(&mut p.flushing, true)
        };
        if start_flush {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let me = self.clone();
                rt.spawn(async move {
                    if let Err(e) = me.flush().await {
                        tracing::warn!(error = %e, "could not record API calls");
                    }
                });
            }
        }
    }

    /// Adds the calls counted so far to the store.
    pub async fn flush(&self) -> Result<(), BudgetError> {
        let _one = self.flush_lock.lock().await;
        let days = {
            let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            p.flushing = false;
            std::mem::take(&mut p.days)
        };
        let mut failed = None;
        for (day, (calls, org)) in days {
            if let Err(e) = self.store.add_api_usage(&day, calls, org).await {
                // Keep them: the next flush tries again.
                let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                let entry = p.days.entry(day).or_default();
                entry.0 += calls;
                entry.1 = entry.1.or(org);
                failed = Some(e);
            }
        }
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Today's counts (every call counted so far included).
    pub async fn today(&self) -> Result<UsageDay, BudgetError> {
        self.flush().await?;
        Ok(self.store.api_usage_on(&day_of(self.now())).await?)
    }

    /// May background work call Salesforce now?
    pub async fn background(&self) -> Result<Gate, BudgetError> {
        let today = self.today().await?;
        Ok(gate(&self.policy(), &today, self.now()))
    }

    /// Today, the last `days` days and the gate, for the console.
    pub async fn usage(&self, days: u64) -> Result<Usage, BudgetError> {
        let today = self.today().await?;
        let now = self.now();
        let from = now.date_naive() - Days::new(days.saturating_sub(1));
        let rows = self
            .store
            .api_usage_since(&from.format("%Y-%m-%d").to_string())
            .await?;
        let days = (0..days)
            .map(|i| {
                let d = (from + Days::new(i)).format("%Y-%m-%d").to_string();
                rows.iter()
                    .find(|r| r.day == d)
                    .cloned()
                    .unwrap_or(UsageDay {
                        day: d,
                        ..UsageDay::default()
                    })
            })
            .collect();
        let policy = self.policy();
        Ok(Usage {
            gate: gate(&policy, &today, now),
            today,
            days,
            policy,
        })
    }
}

impl Budget {
    /// Writes the call's outcome to the store's connection health (what
    /// the console shows, across replicas). The store writes an unchanged
    /// outcome at most every few seconds, so this is cheap per call; it
    /// runs beside the call, never in its way.
    fn record(&self, outcome: Result<(), String>) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = self.store.clone();
        rt.spawn(async move {
            if let Err(e) = store
                .record_call(outcome.as_ref().map(|_| ()).map_err(String::as_str))
                .await
            {
                tracing::warn!(error = %e, "could not record the connection's health");
            }
        });
    }
}

impl CallObserver for Budget {
    fn answered(&self, status: u16, usage: Option<(u64, u64)>, body: &[u8]) {
        self.count(usage);
        let now = self.now();
        let outcome = if (200..400).contains(&status) {
            self.health
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .last_good_call = Some(now);
            Ok(())
        } else if status != 401 {
            let e = crate::salesforce::SalesforceError::from_response(status, body).to_string();
            self.health
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .last_error = Some((now, e.clone()));
            Err(e)
        } else {
            // A 401 is refreshed and retried by the client.
            return;
        };
        self.record(outcome);
    }

    fn unreachable(&self, error: &str) {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last_error = Some((self.now(), error.to_string()));
        self.record(Err(error.to_string()));
    }
}

/// The org's last good call and last error, as this process saw them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    pub last_good_call: Option<DateTime<Utc>>,
    pub last_error: Option<(DateTime<Utc>, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn day(calls: u64, org: Option<(u64, u64, &str)>) -> UsageDay {
        UsageDay {
            day: "2026-03-02".into(),
            app_calls: calls,
            org: org.map(|(used, limit, seen)| OrgUsage {
                used,
                limit,
                seen_at_ms: at(seen).timestamp_millis(),
            }),
        }
    }

    #[test]
    fn no_cap_and_a_quiet_org_let_background_work_run() {
        let now = at("2026-03-02T10:00:00Z");
        assert_eq!(
            gate(&Policy::default(), &day(1_000_000, None), now),
            Gate::Go
        );
        let org = Some((100, 15000, "2026-03-02T09:59:00Z"));
        assert_eq!(gate(&Policy::default(), &day(5, org), now), Gate::Go);
    }

    #[test]
    fn past_the_background_share_of_the_cap_waits_for_the_next_day() {
        let policy = Policy {
            daily_cap: 1000,
            background_share: 80,
        };
        let now = at("2026-03-02T10:00:00Z");
        assert_eq!(gate(&policy, &day(799, None), now), Gate::Go);
        let g = gate(&policy, &day(800, None), now);
        assert_eq!(
            g,
            Gate::Wait {
                until: at("2026-03-03T00:00:00Z"),
                why: Held::Cap {
                    used: 800,
                    allowed: 800
                }
            }
        );
        assert_eq!(g.wait_from(now), Duration::from_secs(14 * 3600));
    }

    #[test]
    fn a_busy_org_holds_background_work_until_its_usage_drops() {
        let policy = Policy::default();
        let now = at("2026-03-02T10:00:00Z");
        let busy = day(3, Some((12_000, 15_000, "2026-03-02T09:58:00Z")));
        assert!(matches!(
            gate(&policy, &busy, now),
            Gate::Wait {
                why: Held::Org {
                    used: 12_000,
                    limit: 15_000
                },
                ..
            }
        ));
        assert_eq!(gate(&policy, &busy, now).wait_from(now), ORG_RECHECK);
        // The usage dropped (Salesforce's window rolled on).
        let calmer = day(3, Some((11_999, 15_000, "2026-03-02T09:59:00Z")));
        assert_eq!(gate(&policy, &calmer, now), Gate::Go);
        // A figure from hours ago says nothing about now.
        let stale = day(3, Some((14_000, 15_000, "2026-03-02T07:00:00Z")));
        assert_eq!(gate(&policy, &stale, now), Gate::Go);
    }

    #[test]
    fn days_are_utc() {
        assert_eq!(day_of(at("2026-03-02T23:59:59+00:00")), "2026-03-02");
        assert_eq!(day_of(at("2026-03-02T23:30:00-01:00")), "2026-03-03");
        assert_eq!(
            next_day(at("2026-12-31T08:00:00Z")),
            at("2027-01-01T00:00:00Z")
        );
    }

    #[tokio::test]
    async fn every_call_is_counted_durably_per_workspace_and_day() {
        let store = Store::memory();
        let a = Budget::new(store.clone(), Policy::default());
        let b = Budget::new(store.for_workspace("other"), Policy::default());
        for _ in 0..3 {
            a.answered(200, Some((40, 15000)), b"{}");
        }
        b.answered(200, None, b"{}");
        let today = a.today().await.unwrap();
        assert_eq!(today.app_calls, 3);
        assert_eq!(today.org.map(|o| (o.used, o.limit)), Some((40, 15000)));
        assert_eq!(b.today().await.unwrap().app_calls, 1);
        // Another process on the same database adds to the same row.
        let again = Budget::new(store.clone(), Policy::default());
        again.answered(200, Some((45, 15000)), b"{}");
        again.flush().await.unwrap();
        let today = a.today().await.unwrap();
        assert_eq!(today.app_calls, 4);
        assert_eq!(today.org.map(|o| o.used), Some(45));
        // A new day starts from zero; yesterday is kept.
        store.clock().advance(Duration::from_secs(24 * 3600));
        assert_eq!(a.today().await.unwrap().app_calls, 0);
        let usage = a.usage(2).await.unwrap();
        assert_eq!(
            usage.days.iter().map(|d| d.app_calls).collect::<Vec<_>>(),
            vec![4, 0]
        );
    }

    #[tokio::test]
    async fn the_gate_closes_at_the_share_and_opens_the_next_day() {
        let store = Store::memory();
        let budget = Budget::new(
            store.clone(),
            Policy {
                daily_cap: 10,
                background_share: 50,
            },
        );
        for _ in 0..4 {
            budget.answered(200, None, b"{}");
        }
        assert_eq!(budget.background().await.unwrap(), Gate::Go);
        budget.answered(200, None, b"{}");
        assert!(matches!(
            budget.background().await.unwrap(),
            Gate::Wait {
                why: Held::Cap {
                    used: 5,
                    allowed: 5
                },
                ..
            }
        ));
        store.clock().advance(Duration::from_secs(24 * 3600));
        assert_eq!(budget.background().await.unwrap(), Gate::Go);
    }
}
