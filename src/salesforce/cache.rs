//! The Salesforce query cache.
//!
//! Keys carry the Intercom workspace and the Salesforce org as well as the
//! query identity, so two workspaces (or two orgs) never share an entry.
//! Concurrent misses for one key share a single fetch (moka's
//! `or_try_insert_with`), so a burst of renders of the same person costs
//! Salesforce one request. A second, longer-lived map keeps the last good
//! answer so that a slow or failing org can still be shown, marked with its
//! age, instead of an empty sidebar.
//!
//! Both maps evict the least recently used entry (moka's LRU policy, not
//! its default TinyLFU admission, which refuses a newly seen person on a
//! full cache because nobody has asked for them before — the very person a
//! new conversation brings) and are bounded in bytes, each entry weighed by
//! [`Weigh`]. The last-known map has its own bound, so a day of new people
//! cannot push every last-known copy out of the fresh map's way; the two
//! hold the same `Arc`ed snapshots, so a person in both costs once.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use moka::future::Cache;
use moka::policy::EvictionPolicy;

use super::error::SalesforceError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub workspace: String,
    pub org: String,
    /// What was asked, e.g. `profile|email=hana@globex.example|company=globex`.
    pub query: String,
}

/// An estimate of the heap bytes a cached value holds (its strings and
/// vectors), used to bound the cache in bytes rather than entries.
pub trait Weigh {
    fn weigh(&self) -> usize;
}

impl Weigh for u8 {
    fn weigh(&self) -> usize {
        1
    }
}
impl Weigh for u32 {
    fn weigh(&self) -> usize {
        4
    }
}
impl Weigh for &'static str {
    fn weigh(&self) -> usize {
        self.len()
    }
}

/// One cached answer: the value, when it was fetched, and its generation.
#[derive(Debug)]
pub struct Snapshot<V> {
    pub value: V,
    pub fetched_at: DateTime<Utc>,
    /// Unique in this process: every fetch (a refetch, a write's lookup)
    /// makes a new generation, so whatever is drawn from a snapshot and
    /// kept under its generation is never mistaken for a newer one's.
    pub generation: u64,
}

/// The next snapshot's generation.
static GENERATIONS: AtomicU64 = AtomicU64::new(1);

impl<V> Snapshot<V> {
    pub fn new(value: V, fetched_at: DateTime<Utc>) -> Snapshot<V> {
        Snapshot {
            value,
            fetched_at,
            generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// Fixed cost of an entry: key, `Arc`, timestamps and the maps' own nodes.
const ENTRY_OVERHEAD: usize = 256;

/// How a lookup was answered.
pub struct Cached<V> {
    pub snapshot: Arc<Snapshot<V>>,
    /// True when this call (or one it joined) went to Salesforce.
    pub fetched: bool,
}

/// Cheap to clone: clones share their entries and their bound, so every
/// workspace's tenant can use one cache (its keys name the workspace and
/// the org, so no workspace ever reads another's entry).
pub struct QueryCache<V> {
    fresh: Cache<CacheKey, Arc<Snapshot<V>>>,
    last_known: Cache<CacheKey, Arc<Snapshot<V>>>,
    fetches: Arc<AtomicU64>,
}

impl<V> Clone for QueryCache<V> {
    fn clone(&self) -> Self {
        QueryCache {
            fresh: self.fresh.clone(),
            last_known: self.last_known.clone(),
            fetches: self.fetches.clone(),
        }
    }
}

/// How long a last-known answer may stand in for a failing org.
const LAST_KNOWN_TTL: Duration = Duration::from_secs(24 * 3600);

/// Weight of one entry, in bytes (moka weighs in `u32`).
fn weight<V: Weigh>(k: &CacheKey, v: &Arc<Snapshot<V>>) -> u32 {
    let bytes = ENTRY_OVERHEAD + k.workspace.len() + k.org.len() + k.query.len() + v.value.weigh();
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

impl<V: Weigh + Send + Sync + 'static> QueryCache<V> {
    /// `max_bytes` bounds each of the two maps (fresh answers, last-known
    /// answers); they share their snapshots.
    pub fn new(ttl: Duration, max_bytes: u64) -> Self {
        QueryCache {
            fresh: Cache::builder()
                .max_capacity(max_bytes)
                .weigher(weight::<V>)
                .eviction_policy(EvictionPolicy::lru())
                .time_to_live(ttl.max(Duration::from_millis(1)))
                .support_invalidation_closures()
                .build(),
            last_known: Cache::builder()
                .max_capacity(max_bytes)
                .weigher(weight::<V>)
                .eviction_policy(EvictionPolicy::lru())
                .time_to_live(LAST_KNOWN_TTL)
                .support_invalidation_closures()
                .build(),
            fetches: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Number of fetches that actually ran (for tests and benchmarks).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The bound of each map, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.fresh.policy().max_capacity().unwrap_or(u64::MAX)
    }

    /// Entries and weighed bytes of the fresh map (after pending evictions
    /// ran), for benchmarks.
    pub async fn usage(&self) -> (u64, u64) {
        self.fresh.run_pending_tasks().await;
        (self.fresh.entry_count(), self.fresh.weighted_size())
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
                Ok::<_, SalesforceError>(Arc::new(Snapshot::new(value, Utc::now())))
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
        let cache: Arc<QueryCache<u32>> =
            Arc::new(QueryCache::new(Duration::from_secs(60), 1 << 20));
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
        let cache: QueryCache<&'static str> = QueryCache::new(Duration::from_secs(60), 1 << 20);
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
        let cache: QueryCache<u8> = QueryCache::new(Duration::from_millis(20), 1 << 20);
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

    #[tokio::test]
    async fn new_people_on_a_full_cache_are_cached() {
        // Room for about 50 entries of this weight.
        let one = weight(
            &key("w", "regular-000"),
            &Arc::new(Snapshot::new(0u32, Utc::now())),
        );
        let cache: QueryCache<u32> = QueryCache::new(Duration::from_secs(600), u64::from(one) * 50);
        // A full cache of regulars, each asked for many times.
        for round in 0..5 {
            for i in 0..50 {
                let k = key("w", &format!("regular-{i:03}"));
                cache.get_or_fetch(&k, async { Ok(round) }).await.unwrap();
            }
        }
        cache.fresh.run_pending_tasks().await;
        // A stream of new people, each rendered twice (the open, then a click).
        let mut hits = 0;
        for i in 0..100 {
            let k = key("w", &format!("newcomer-{i:03}"));
            cache.get_or_fetch(&k, async { Ok(1) }).await.unwrap();
            cache.fresh.run_pending_tasks().await;
            let again = cache.get_or_fetch(&k, async { Ok(2) }).await.unwrap();
            hits += usize::from(!again.fetched);
        }
        assert_eq!(hits, 100, "every newly seen person was admitted");
        let (entries, bytes) = cache.usage().await;
        assert!(bytes <= u64::from(one) * 50, "{bytes} bytes in {entries}");
        // The last-known copies have their own bound: the newest are there.
        let k = key("w", "newcomer-099");
        assert!(cache.last_known(&k).await.is_some());
    }

    #[tokio::test]
    async fn the_bound_is_in_bytes_not_entries() {
        let small = weight(&key("w", "k-000"), &Arc::new(Snapshot::new("", Utc::now())));
        let cache: QueryCache<&'static str> =
            QueryCache::new(Duration::from_secs(600), u64::from(small) * 20);
        let big: &'static str = Box::leak("x".repeat(2_000).into_boxed_str());
        for i in 0..20 {
            cache
                .get_or_fetch(&key("w", &format!("k-{i:03}")), async move { Ok(big) })
                .await
                .unwrap();
        }
        let (entries, bytes) = cache.usage().await;
        assert!(entries < 5, "big values take more room: {entries} kept");
        assert!(bytes <= u64::from(small) * 20);
    }
}
