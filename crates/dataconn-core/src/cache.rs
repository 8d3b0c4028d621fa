//! [`QueryCache`]: cached query results with per-entry TTL, on moka.
//!
//! - Each entry lives for the TTL it was stored with; a later call asking for a shorter TTL
//!   treats an older entry as stale and reloads it.
//! - Concurrent identical misses execute once (moka's coalescing); the waiters share the result.
//! - Errors are never cached: the next call runs again.
//! - Keys carry the connection's identity (type, name and config fingerprint, never just the
//!   name), a generation number, the operation, the text (SQL or path), the parameters and
//!   every option that changes the result.
//! - A write through a connection bumps its generation, so reads that were running during the
//!   write can never be served afterwards, and drops its entries.
//! - Hits hand out the stored [`Table`] itself (shared Arrow buffers), not a copy.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::Expiry;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::lock::MutexExt;
use crate::params::Params;
use crate::shared::SharedTier;
use crate::table::Table;
use crate::ttl::Ttl;

/// Bounds of a [`QueryCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheLimit {
    /// At most this many entries.
    Entries(u64),
    /// At most this many bytes of Arrow buffers.
    Bytes(u64),
}

impl Default for CacheLimit {
    /// 512 MiB of results.
    fn default() -> Self {
        CacheLimit::Bytes(512 * 1024 * 1024)
    }
}

/// The identity of one cached result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    scope: Arc<str>,
    generation: u64,
    operation: &'static str,
    text: Arc<str>,
    args: Vec<u8>,
}

impl CacheKey {
    /// A stable hex digest of the whole key, for caches outside this process.
    pub fn digest(&self) -> String {
        self.digest_at(crate::config::public_scope(&self.scope), self.generation)
    }

    /// The digest under the scope's name and generation in the shared tier.
    fn digest_at(&self, scope: &str, generation: u64) -> String {
        let mut hasher = Sha256::new();
        for part in [
            scope.as_bytes(),
            self.operation.as_bytes(),
            self.text.as_bytes(),
        ] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        hasher.update(generation.to_le_bytes());
        hasher.update(&self.args);
        hex(&hasher.finalize())
    }
}

/// Lower-case hex of some bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Clone)]
struct Entry {
    table: Table,
    stored: Instant,
    ttl: Option<Duration>,
}

struct EntryExpiry;

impl Expiry<CacheKey, Entry> for EntryExpiry {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        value: &Entry,
        _now: Instant,
    ) -> Option<Duration> {
        value.ttl
    }
}

/// Counters of a [`QueryCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Calls answered from the cache (including waiters of a coalesced miss).
    pub hits: u64,
    /// Calls that executed against the data source.
    pub misses: u64,
    /// Local misses answered by the shared tier (another process had run the query).
    pub remote_hits: u64,
    /// Entries held now (approximate: moka applies writes lazily).
    pub entries: u64,
    /// Bytes of Arrow buffers held now (approximate).
    pub bytes: u64,
}

/// A scope's generations. `value` is local: it moves on every write here and every change
/// heard from other processes, and keys the local tier. `shared` is the shared tier's number
/// for the scope, and keys the shared tier.
struct Generation {
    /// The scope's name in the shared tier ([`SharedTier::shared_scope`]).
    shared_name: Arc<str>,
    value: AtomicU64,
    shared: AtomicU64,
    synced: tokio::sync::OnceCell<()>,
    /// A write happened while the shared tier could not be told; tell it when it is back.
    pending: std::sync::atomic::AtomicBool,
}

impl Generation {
    /// The shared tier says the scope is at `g`: follow it, and drop local entries if it moved.
    fn follow(&self, g: u64, exact: bool) {
        let previous = if exact {
            self.shared.swap(g, Ordering::AcqRel)
        } else {
            self.shared.fetch_max(g, Ordering::AcqRel)
        };
        if previous != g && (exact || g > previous) {
            self.value.fetch_add(1, Ordering::AcqRel);
        }
    }
}

struct Inner {
    entries: moka::future::Cache<CacheKey, Entry>,
    hits: AtomicU64,
    remote_hits: AtomicU64,
    misses: AtomicU64,
    generations: Mutex<HashMap<Arc<str>, Arc<Generation>>>,
    /// Where the next new scope's local generation starts (see [`QueryCache::scope`]).
    next_generation: AtomicU64,
    /// The map size at which unused scopes are pruned next.
    prune_at: AtomicU64,
    shared: Option<Arc<dyn SharedTier>>,
}

/// Scopes are pruned once the map holds this many (and again each time it doubles).
const PRUNE_FIRST_AT: u64 = 1024;

/// A cache of query results shared by connections. Cheap to clone.
#[derive(Clone)]
pub struct QueryCache {
    inner: Arc<Inner>,
}

impl Default for QueryCache {
    fn default() -> Self {
        QueryCache::new(CacheLimit::default())
    }
}

impl std::fmt::Debug for QueryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryCache")
            .field("stats", &self.stats())
            .finish()
    }
}

impl QueryCache {
    /// A cache bounded by `limit`.
    pub fn new(limit: CacheLimit) -> QueryCache {
        QueryCache::build(limit, None)
    }

    /// A cache bounded by `limit` locally, in front of `shared`, a cache every replica of the
    /// app shares. Call it inside a tokio runtime: a task listens for other processes' writes.
    pub fn with_shared(limit: CacheLimit, shared: Arc<dyn SharedTier>) -> QueryCache {
        let cache = QueryCache::build(limit, Some(shared));
        cache.listen();
        cache
    }

    fn build(limit: CacheLimit, shared: Option<Arc<dyn SharedTier>>) -> QueryCache {
        let builder = moka::future::Cache::builder()
            .expire_after(EntryExpiry)
            .support_invalidation_closures();
        let entries = match limit {
            CacheLimit::Entries(n) => builder.max_capacity(n).build(),
            CacheLimit::Bytes(n) => builder
                .max_capacity(n)
                .weigher(|_k, v: &Entry| u32::try_from(v.table.byte_size()).unwrap_or(u32::MAX))
                .build(),
        };
        QueryCache {
            inner: Arc::new(Inner {
                entries,
                hits: AtomicU64::new(0),
                remote_hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                generations: Mutex::new(HashMap::new()),
                next_generation: AtomicU64::new(0),
                prune_at: AtomicU64::new(PRUNE_FIRST_AT),
                shared,
            }),
        }
    }

    /// Apply other processes' generation bumps as they arrive.
    fn listen(&self) {
        let Some(shared) = self.inner.shared.clone() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                "no tokio runtime: writes in other processes are seen only when a scope is first used"
            );
            return;
        };
        let weak = Arc::downgrade(&self.inner);
        runtime.spawn(async move {
            let mut bumps = match shared.listen().await {
                Ok(Some(bumps)) => bumps,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for writes in other processes");
                    return;
                }
            };
            while let Some(bump) = bumps.recv().await {
                let Some(inner) = weak.upgrade() else { break };
                if bump.scope.is_empty() {
                    resync(&inner, shared.as_ref()).await;
                    continue;
                }
                // Several local scopes may share one name in the shared tier.
                let known: Vec<Arc<Generation>> = inner
                    .generations
                    .lock_unpoisoned()
                    .values()
                    .filter(|g| *g.shared_name == *bump.scope)
                    .cloned()
                    .collect();
                for generation in known {
                    generation.follow(bump.generation, false);
                }
            }
        });
    }

    /// The cache handle of one connection identity (for example `sql:pets_db:3fa2...`).
    ///
    /// Handles with the same scope share entries and generation, so a write through one
    /// connection object is seen by every other object of the same identity.
    pub fn scope(&self, scope: &str) -> CacheScope {
        let mut generations = self.inner.generations.lock_unpoisoned();
        let (scope, generation) = match generations.get_key_value(scope) {
            Some((k, g)) => (k.clone(), g.clone()),
            None => {
                self.prune_unused(&mut generations);
                let key: Arc<str> = Arc::from(scope);
                // Each new scope starts its local generation in a range of its own: a scope
                // pruned and later made again never meets the keys of its earlier life, so
                // pruning cannot bring back entries a write had made stale.
                let start = self
                    .inner
                    .next_generation
                    .fetch_add(1 << 32, Ordering::AcqRel);
                let shared_name = match &self.inner.shared {
                    Some(shared) => Arc::from(shared.shared_scope(scope)),
                    None => key.clone(),
                };
                let generation = Arc::new(Generation {
                    shared_name,
                    value: AtomicU64::new(start),
                    shared: AtomicU64::new(0),
                    synced: tokio::sync::OnceCell::new(),
                    pending: std::sync::atomic::AtomicBool::new(false),
                });
                generations.insert(key.clone(), generation.clone());
                (key, generation)
            }
        };
        CacheScope {
            cache: self.clone(),
            scope,
            generation,
        }
    }

    /// Forget the generations of scopes no handle uses any more, once the map has grown (a
    /// connection per user, or per secrets change, would otherwise leave one for good).
    fn prune_unused(&self, generations: &mut HashMap<Arc<str>, Arc<Generation>>) {
        let size = generations.len() as u64;
        if size < self.inner.prune_at.load(Ordering::Acquire) {
            return;
        }
        // Only the map holds them; a scope still pending a shared bump is kept.
        generations.retain(|_, g| Arc::strong_count(g) > 1 || g.pending.load(Ordering::Acquire));
        let next = (generations.len() as u64 * 2).max(PRUNE_FIRST_AT);
        self.inner.prune_at.store(next, Ordering::Release);
    }

    /// Hit and miss counters, entries and bytes held.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.inner.hits.load(Ordering::Relaxed),
            misses: self.inner.misses.load(Ordering::Relaxed),
            remote_hits: self.inner.remote_hits.load(Ordering::Relaxed),
            entries: self.inner.entries.entry_count(),
            bytes: self.inner.entries.weighted_size(),
        }
    }

    /// Drop every entry of every connection.
    pub fn clear_all(&self) {
        self.inner.entries.invalidate_all();
    }

    /// Apply pending evictions now (moka applies them lazily); useful before reading stats.
    pub async fn sync(&self) {
        self.inner.entries.run_pending_tasks().await;
    }
}

/// Tell the shared tier about a write; if it cannot be told now, tell it when it is back.
async fn bump_shared(shared: &dyn SharedTier, generation: &Generation) {
    match crate::shared_load::bounded(shared.bump_generation(&generation.shared_name)).await {
        Ok(g) => {
            generation.shared.fetch_max(g, Ordering::AcqRel);
        }
        Err(e) => {
            generation.pending.store(true, Ordering::Release);
            tracing::warn!(error = %e, "shared cache: cannot announce a write; other processes keep their cached reads until the shared cache is back or their TTL ends");
        }
    }
}

/// Read every known scope's generation again (after the shared tier's channel was down).
async fn resync(inner: &Inner, shared: &dyn SharedTier) {
    let known: Vec<Arc<Generation>> = inner
        .generations
        .lock_unpoisoned()
        .values()
        .cloned()
        .collect();
    for generation in known {
        let scope = &generation.shared_name;
        // A write made while the shared tier was away is announced now; otherwise follow the
        // shared tier's number exactly (it may have restarted empty).
        let result = if generation.pending.swap(false, Ordering::AcqRel) {
            crate::shared_load::bounded(shared.bump_generation(scope)).await
        } else {
            crate::shared_load::bounded(shared.generation(scope)).await
        };
        match result {
            Ok(g) => generation.follow(g, true),
            Err(e) => tracing::warn!(error = %e, "shared cache: resync failed"),
        }
    }
}

/// One connection's view of a [`QueryCache`]: builds its keys and invalidates its entries.
#[derive(Clone)]
pub struct CacheScope {
    cache: QueryCache,
    scope: Arc<str>,
    generation: Arc<Generation>,
}

impl std::fmt::Debug for CacheScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheScope")
            .field("scope", &self.scope)
            .field("generation", &self.generation.value.load(Ordering::Relaxed))
            .finish()
    }
}

impl CacheScope {
    /// The identity string of this scope.
    pub fn id(&self) -> &str {
        &self.scope
    }

    /// The scope of another identity in the same cache (after a connection is reconfigured).
    pub fn rescope(&self, id: &str) -> CacheScope {
        self.cache.scope(id)
    }

    /// The key of one operation: its name (`"query"`, `"read"`...), its text (SQL or path),
    /// its parameters, and the bytes of every other option that changes the result.
    pub fn key(
        &self,
        operation: &'static str,
        text: &str,
        params: &Params,
        options: &[u8],
    ) -> CacheKey {
        let mut args = Vec::with_capacity(options.len() + 16 * params.len());
        params.write_key(&mut args);
        args.push(0xff);
        args.extend_from_slice(options);
        CacheKey {
            scope: self.scope.clone(),
            generation: self.generation.value.load(Ordering::Acquire),
            operation,
            text: Arc::from(text),
            args,
        }
    }

    /// Return the cached table for `key` if it is fresh for `ttl`, else run `load` once for all
    /// concurrent callers and store its result. Errors are returned, never stored.
    ///
    /// # Errors
    /// Whatever `load` returned.
    pub async fn get_or_load<F, Fut>(&self, mut key: CacheKey, ttl: Ttl, load: F) -> Result<Table>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Table>>,
    {
        let inner = &self.cache.inner;
        if !ttl.caches() {
            inner.misses.fetch_add(1, Ordering::Relaxed);
            tracing::Span::current().record("cache", "off");
            return load().await;
        }
        if inner.shared.is_some() {
            // A scope's first use reads its generation from the shared tier, so that a new
            // process never serves entries from before another process's write.
            self.sync_generation().await;
            key.generation = self.generation.value.load(Ordering::Acquire);
        }
        if let Some(entry) = inner.entries.get(&key).await {
            let fresh = ttl
                .duration()
                .is_none_or(|max| entry.stored.elapsed() <= max);
            if fresh {
                inner.hits.fetch_add(1, Ordering::Relaxed);
                tracing::Span::current().record("cache", "hit");
                return Ok(entry.table);
            }
            inner.entries.invalidate(&key).await;
        }
        let ttl_duration = ttl.duration();
        // Only a local miss needs the shared tier's digest (a SHA-256 of the key).
        let digest = inner.shared.as_ref().map(|_| {
            key.digest_at(
                &self.generation.shared_name,
                self.generation.shared.load(Ordering::Acquire),
            )
        });
        let entry = inner
            .entries
            .entry(key)
            .or_try_insert_with(async {
                let table = match (&inner.shared, &digest) {
                    (Some(shared), Some(digest)) => {
                        crate::shared_load::load(
                            shared.as_ref(),
                            digest,
                            ttl_duration,
                            &inner.misses,
                            &inner.remote_hits,
                            load,
                        )
                        .await?
                    }
                    _ => {
                        inner.misses.fetch_add(1, Ordering::Relaxed);
                        load().await?
                    }
                };
                Ok::<_, Error>(Entry {
                    table,
                    stored: Instant::now(),
                    ttl: ttl_duration,
                })
            })
            .await
            .map_err(|shared: Arc<Error>| (*shared).clone())?;
        if entry.is_fresh() {
            tracing::Span::current().record("cache", "miss");
        } else {
            inner.hits.fetch_add(1, Ordering::Relaxed);
            tracing::Span::current().record("cache", "hit");
        }
        Ok(entry.into_value().table)
    }

    async fn sync_generation(&self) {
        let Some(shared) = &self.cache.inner.shared else {
            return;
        };
        self.generation
            .synced
            .get_or_init(|| async {
                match crate::shared_load::bounded(shared.generation(&self.generation.shared_name))
                    .await
                {
                    Ok(g) => self.generation.follow(g, true),
                    Err(e) => tracing::warn!(error = %e, "shared cache: cannot read a generation; using the local one"),
                }
            })
            .await;
    }

    /// Drop every cached read of this scope, in this process and, with a shared tier, in every
    /// process sharing it; waits until the shared tier has the new generation (bounded in
    /// time). Reads still running will not be served later. Call it after every write.
    pub async fn invalidate(&self) {
        self.invalidate_local();
        let Some(shared) = &self.cache.inner.shared else {
            return;
        };
        bump_shared(shared.as_ref(), &self.generation).await;
    }

    /// [`CacheScope::invalidate`] for code that cannot wait: the local part now, the shared
    /// part in a background task.
    pub fn invalidate_in_background(&self) {
        self.invalidate_local();
        if self.cache.inner.shared.is_some()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let me = self.clone();
            runtime.spawn(async move {
                if let Some(shared) = &me.cache.inner.shared {
                    bump_shared(shared.as_ref(), &me.generation).await;
                }
            });
        }
    }

    fn invalidate_local(&self) {
        self.generation.value.fetch_add(1, Ordering::AcqRel);
        let scope = self.scope.clone();
        // Only fails when invalidation closures are not enabled, and `QueryCache::new` enables
        // them; the generation bump above already makes the old entries unreachable.
        let _ = self
            .cache
            .inner
            .entries
            .invalidate_entries_if(move |k, _| k.scope == scope);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::params;
    use arrow::array::{Int64Array, RecordBatch};
    use std::sync::atomic::AtomicUsize;

    fn table(n: i64) -> Table {
        let batch = RecordBatch::try_from_iter([(
            "n",
            Arc::new(Int64Array::from(vec![n])) as arrow::array::ArrayRef,
        )])
        .unwrap();
        Table::from_batch(batch)
    }

    #[tokio::test]
    async fn unused_scopes_are_pruned_and_a_pruned_scope_never_serves_stale_rows() {
        let cache = QueryCache::default();
        let key = |s: &CacheScope| s.key("query", "select 1", &params! {}, &[]);
        let a = cache.scope("sql:a:1");
        a.get_or_load(key(&a), Ttl::Forever, || async { Ok(table(1)) })
            .await
            .unwrap();
        a.invalidate_in_background();
        drop(a);
        for i in 0..10_000 {
            drop(cache.scope(&format!("sql:user{i}:1")));
        }
        let held = cache.inner.generations.lock_unpoisoned().len();
        assert!(held <= 2 * PRUNE_FIRST_AT as usize, "{held} scopes held");
        let a = cache.scope("sql:a:1");
        let got = a
            .get_or_load(key(&a), Ttl::Forever, || async { Ok(table(2)) })
            .await
            .unwrap();
        let column = got.batches()[0].column(0).clone();
        let n = column
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0);
        assert_eq!(n, 2, "the entry made before the write must not come back");
    }

    #[tokio::test]
    async fn hit_returns_the_same_buffers_and_counts() {
        let cache = QueryCache::default();
        let scope = cache.scope("sql:a:1");
        let key = scope.key("query", "select 1", &params! {}, &[]);
        let first = scope
            .get_or_load(key.clone(), Ttl::Forever, || async { Ok(table(1)) })
            .await
            .unwrap();
        let second = scope
            .get_or_load(key, Ttl::Forever, || async {
                panic!("must not run on a hit")
            })
            .await
            .unwrap();
        assert!(Arc::ptr_eq(
            first.batches()[0].column(0),
            second.batches()[0].column(0)
        ));
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses), (1, 1));
    }

    #[tokio::test]
    async fn concurrent_identical_misses_execute_once() {
        let cache = QueryCache::default();
        let scope = cache.scope("sql:a:1");
        let runs = Arc::new(AtomicUsize::new(0));
        let calls = (0..16).map(|_| {
            let scope = scope.clone();
            let runs = runs.clone();
            tokio::spawn(async move {
                let key = scope.key("query", "select slow", &params! {}, &[]);
                scope
                    .get_or_load(key, Ttl::Forever, || async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(table(7))
                    })
                    .await
            })
        });
        for call in futures::future::join_all(calls).await {
            assert_eq!(call.unwrap().unwrap().num_rows(), 1);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let cache = QueryCache::default();
        let scope = cache.scope("sql:a:1");
        let key = scope.key("query", "select", &params! {}, &[]);
        let err = scope
            .get_or_load(key.clone(), Ttl::Forever, || async {
                Err(Error::query("boom"))
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Query);
        let ok = scope
            .get_or_load(key, Ttl::Forever, || async { Ok(table(2)) })
            .await
            .unwrap();
        assert_eq!(ok.num_rows(), 1);
    }

    #[tokio::test]
    async fn expired_entry_is_reloaded_once() {
        let cache = QueryCache::default();
        let scope = cache.scope("sql:a:1");
        let runs = AtomicUsize::new(0);
        let load = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(table(3))
        };
        let ttl = Ttl::For(Duration::from_millis(40));
        let key = || scope.key("query", "q", &params! {}, &[]);
        scope.get_or_load(key(), ttl, load).await.unwrap();
        scope.get_or_load(key(), ttl, load).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_millis(80)).await;
        scope.get_or_load(key(), ttl, load).await.unwrap();
        scope.get_or_load(key(), ttl, load).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn shorter_ttl_than_entry_age_reloads_and_zero_never_caches() {
        let cache = QueryCache::default();
        let scope = cache.scope("s");
        let runs = AtomicUsize::new(0);
        let load = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(table(4))
        };
        let key = || scope.key("query", "q", &params! {}, &[]);
        scope.get_or_load(key(), Ttl::Forever, load).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        scope
            .get_or_load(key(), Ttl::For(Duration::from_millis(10)), load)
            .await
            .unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        scope.get_or_load(key(), Ttl::NoCache, load).await.unwrap();
        scope.get_or_load(key(), Ttl::NoCache, load).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn keys_differ_by_scope_params_and_options_and_invalidate_per_scope() {
        let cache = QueryCache::default();
        let a = cache.scope("sql:a:1");
        let b = cache.scope("sql:a:2");
        let p1 = params! { x: 1 };
        let p2 = params! { x: 2 };
        assert_ne!(a.key("query", "q", &p1, &[]), b.key("query", "q", &p1, &[]));
        assert_ne!(a.key("query", "q", &p1, &[]), a.key("query", "q", &p2, &[]));
        assert_ne!(
            a.key("query", "q", &p1, &[1]),
            a.key("query", "q", &p1, &[2])
        );
        assert_ne!(
            a.key("query", "q", &p1, &[]).digest(),
            b.key("query", "q", &p1, &[]).digest()
        );

        let before = a.key("query", "q", &p1, &[]);
        a.invalidate_in_background();
        assert_ne!(
            before,
            a.key("query", "q", &p1, &[]),
            "a write starts a new generation"
        );
        assert_eq!(
            b.key("query", "q", &p1, &[]),
            cache.scope("sql:a:2").key("query", "q", &p1, &[]),
            "other scopes are untouched"
        );
    }
}
