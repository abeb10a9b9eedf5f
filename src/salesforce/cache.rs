//! The Salesforce query cache.
//!
//! Keys carry the Intercom workspace and the Salesforce org as well as the
//! query identity, so two workspaces (or two orgs) never share an entry.
//! Concurrent misses for one key share a single fetch (moka's
//! `or_try_insert_with`), so a burst of renders of the same person costs
//! Salesforce one request. A second, longer-lived map keeps the last good
//! answer so that a slow or failing org can still be shown, marked with its
//! age, instead of an empty sidebar.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use moka::future::Cache;

use super::error::SalesforceError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub workspace: String,
    pub org: String,
    /// What was asked, e.g. `profile|email=hana@globex.example|company=globex`.
    pub query: String,
}

#[derive(Debug)]
pub struct Snapshot<V> {
    pub value: V,
    pub fetched_at: DateTime<Utc>,
}

/// How a lookup was answered.
pub struct Cached<V> {
    pub snapshot: Arc<Snapshot<V>>,
    /// True when this call (or one it joined) went to Salesforce.
    pub fetched: bool,
}

pub struct QueryCache<V> {
    fresh: Cache<CacheKey, Arc<Snapshot<V>>>,
    last_known: Cache<CacheKey, Arc<Snapshot<V>>>,
    fetches: AtomicU64,
}

/// How long a last-known answer may stand in for a failing org.
const LAST_KNOWN_TTL: Duration = Duration::from_secs(24 * 3600);

impl<V: Send + Sync + 'static> QueryCache<V> {
    pub fn new(ttl: Duration, max_entries: u64) -> Self {
        QueryCache {
            fresh: Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(ttl.max(Duration::from_millis(1)))
                .support_invalidation_closures()
                .build(),
            last_known: Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(LAST_KNOWN_TTL)
                .support_invalidation_closures()
                .build(),
            fetches: AtomicU64::new(0),
        }
    }

    /// Number of fetches that actually ran (for tests and benchmarks).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The cached value, or one fetch shared by every concurrent caller.
    pub async fn get_or_fetch<F>(
        &self,
        key: &CacheKey,
        fetch: F,
    ) -> Result<Cached<V>, Arc<SalesforceError>>
    where
        F: Future<Output = Result<V, SalesforceError>>,
    {
        let entry = self
            .fresh
            .entry_by_ref(key)
            .or_try_insert_with(async {
                self.fetches.fetch_add(1, Ordering::Relaxed);
                let value = fetch.await?;
                Ok::<_, SalesforceError>(Arc::new(Snapshot {
                    value,
                    fetched_at: Utc::now(),
                }))
            })
            .await?;
        let fetched = entry.is_fresh();
        let snapshot = entry.into_value();
        if fetched {
            self.last_known.insert(key.clone(), snapshot.clone()).await;
        }
        Ok(Cached { snapshot, fetched })
    }

    /// Drops the cached value and fetches anew (the refresh action).
    pub async fn refetch<F>(
        &self,
        key: &CacheKey,
        fetch: F,
    ) -> Result<Cached<V>, Arc<SalesforceError>>
    where
        F: Future<Output = Result<V, SalesforceError>>,
    {
        self.fresh.invalidate(key).await;
        self.get_or_fetch(key, fetch).await
    }

    /// The fresh value if there is one, else the last known; never fetches.
    pub async fn peek(&self, key: &CacheKey) -> Option<Arc<Snapshot<V>>> {
        match self.fresh.get(key).await {
            Some(s) => Some(s),
            None => self.last_known.get(key).await,
        }
    }

    /// The last good answer, however old (up to a day).
    pub async fn last_known(&self, key: &CacheKey) -> Option<Arc<Snapshot<V>>> {
        self.last_known.get(key).await
    }

    /// Drops every entry the predicate picks (after a write this server made).
    pub fn invalidate_where(
        &self,
        pred: impl Fn(&CacheKey) -> bool + Clone + Send + Sync + 'static,
    ) {
        let p2 = pred.clone();
        // Only fails when invalidation closures are not enabled; they are.
        let _ = self.fresh.invalidate_entries_if(move |k, _| pred(k));
        let _ = self.last_known.invalidate_entries_if(move |k, _| p2(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ws: &str, q: &str) -> CacheKey {
        CacheKey {
            workspace: ws.into(),
            org: "00D".into(),
            query: q.into(),
        }
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_fetch() {
        let cache: Arc<QueryCache<u32>> = Arc::new(QueryCache::new(Duration::from_secs(60), 100));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let cache = cache.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch(&key("w", "q"), async {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(7)
                    })
                    .await
                    .map(|c| c.snapshot.value)
                    .unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 7);
        }
        assert_eq!(cache.fetches(), 1);
    }

    #[tokio::test]
    async fn workspaces_do_not_share_entries_and_refetch_bypasses() {
        let cache: QueryCache<&'static str> = QueryCache::new(Duration::from_secs(60), 100);
        let a = cache
            .get_or_fetch(&key("a", "q"), async { Ok("A") })
            .await
            .unwrap();
        assert!(a.fetched);
        let b = cache
            .get_or_fetch(&key("b", "q"), async { Ok("B") })
            .await
            .unwrap();
        assert_eq!(b.snapshot.value, "B");
        let again = cache
            .get_or_fetch(&key("a", "q"), async { Ok("X") })
            .await
            .unwrap();
        assert!(!again.fetched);
        assert_eq!(again.snapshot.value, "A");
        let re = cache
            .refetch(&key("a", "q"), async { Ok("A2") })
            .await
            .unwrap();
        assert!(re.fetched);
        assert_eq!(re.snapshot.value, "A2");
        assert_eq!(cache.fetches(), 3);
    }

    #[tokio::test]
    async fn errors_are_not_cached_but_last_known_survives() {
        let cache: QueryCache<u8> = QueryCache::new(Duration::from_millis(20), 100);
        cache
            .get_or_fetch(&key("a", "q"), async { Ok(1) })
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
        let err = cache
            .get_or_fetch(&key("a", "q"), async { Err(SalesforceError::ApiLimit) })
            .await;
        assert!(err.is_err());
        assert_eq!(cache.last_known(&key("a", "q")).await.unwrap().value, 1);
        let ok = cache
            .get_or_fetch(&key("a", "q"), async { Ok(2) })
            .await
            .unwrap();
        assert_eq!(ok.snapshot.value, 2);
    }
}
