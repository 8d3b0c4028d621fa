//! The seam for a cache shared by many processes (replicas of one app): [`SharedTier`].
//!
//! The in-process moka cache stays the first tier. With a shared tier behind it, a local miss
//! asks the shared tier before running the query; concurrent misses across processes run once
//! (a short lock per key); a write anywhere bumps the connection's generation in the shared
//! tier, which every process hears and applies to its local tier. The shared tier never makes
//! a query fail: every call is bounded in time, and on failure the cache behaves as a local one.
//!
//! `dataconn-redis` implements this trait on Redis (or Valkey).

use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::Result;

/// A generation bump heard from another process: `scope` is now at `generation`. An empty
/// `scope` asks for every known scope to be read again (bumps may have been missed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationBump {
    /// The connection identity (a cache scope id).
    pub scope: String,
    /// Its new generation.
    pub generation: u64,
}

/// A cache shared by many processes, keyed by [`crate::CacheKey::digest`].
#[async_trait]
pub trait SharedTier: Send + Sync + Debug + 'static {
    /// The stored value of `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;

    /// Store `value` under `key` for `ttl` (`None`: until evicted).
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<()>;

    /// The current generation of `scope` (0 when it has none yet).
    async fn generation(&self, scope: &str) -> Result<u64>;

    /// Bump the generation of `scope`, tell every process, and return the new generation.
    async fn bump_generation(&self, scope: &str) -> Result<u64>;

    /// Try to take the lock of `key` for `ttl`; returns a token when taken.
    async fn try_lock(&self, key: &str, ttl: Duration) -> Result<Option<String>>;

    /// Release a lock taken with `token` (a lock that expired and was taken over stays).
    async fn unlock(&self, key: &str, token: &str) -> Result<()>;

    /// Generation bumps from every process, as they happen; `None` when this tier cannot
    /// listen (then generations are read on each scope's first use only).
    async fn listen(&self) -> Result<Option<tokio::sync::mpsc::Receiver<GenerationBump>>>;

    /// The largest value worth storing, in bytes.
    fn max_value_bytes(&self) -> usize;

    /// How long a lock holder may take before another process takes over.
    fn lock_ttl(&self) -> Duration {
        Duration::from_secs(30)
    }

    /// The name under which this tier knows a cache scope.
    ///
    /// The default is the scope's public part (`type:name:public`, a digest of the options
    /// without their secret values; see [`crate::ConnectionConfig::identity`]), so nothing in
    /// the tier lets a reader check a password guess offline; connections that differ only in
    /// a secret value (a rotated password) then share entries. A tier with a key of its own
    /// may add a keyed digest of the whole scope to keep those apart.
    fn shared_scope(&self, scope: &str) -> String {
        crate::config::public_scope(scope).to_owned()
    }

    /// Whether stored values use Arrow IPC's zstd body compression (still Arrow IPC).
    fn compress(&self) -> bool {
        false
    }
}
