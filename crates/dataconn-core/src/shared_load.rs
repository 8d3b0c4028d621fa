//! A local miss with a shared tier behind it: ask the shared tier, else run the query once
//! across processes (a short lock per key) and store the result for the others.
//!
//! The shared tier never makes a query fail: each call is bounded by [`CALL_TIMEOUT`], and any
//! failure is logged and the query runs as if there were no shared tier.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::shared::SharedTier;
use crate::table::Table;

/// The longest one shared-tier call may take before the cache goes on without it.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_millis(500);

/// How often a process waiting for another's run looks for the result.
const POLL: Duration = Duration::from_millis(20);

/// `call`, or a timeout error after [`CALL_TIMEOUT`].
pub(crate) async fn bounded<T>(call: impl Future<Output = Result<T>>) -> Result<T> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(result) => result,
        Err(_) => Err(Error::new(
            ErrorKind::Timeout,
            format!("expected the shared cache to answer within {CALL_TIMEOUT:?}, found no answer"),
        )),
    }
}

async fn lookup(shared: &dyn SharedTier, digest: &str) -> Option<Table> {
    match bounded(shared.get(digest)).await {
        Ok(Some(bytes)) => match Table::from_ipc_bytes(&bytes) {
            Ok(table) => Some(table),
            Err(e) => {
                tracing::warn!(error = %e, "shared cache: a stored value is not an Arrow IPC stream; ignoring it");
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "shared cache: read failed; running the query");
            None
        }
    }
}

async fn store(shared: &dyn SharedTier, digest: &str, table: &Table, ttl: Option<Duration>) {
    let bytes = match table.to_ipc_bytes_with(shared.compress()) {
        Ok(bytes) => bytes,
        Err(e) => return tracing::warn!(error = %e, "shared cache: cannot encode a result"),
    };
    let max = shared.max_value_bytes();
    if bytes.len() > max {
        tracing::warn!(
            bytes = bytes.len(),
            max,
            "shared cache: result not stored, larger than the maximum value size"
        );
        return;
    }
    if let Err(e) = bounded(shared.set(digest, bytes, ttl)).await {
        tracing::warn!(error = %e, "shared cache: write failed; other processes will run the query themselves");
    }
}

/// The table for `digest`: from the shared tier, or by running `load` once across processes.
pub(crate) async fn load<F, Fut>(
    shared: &dyn SharedTier,
    digest: &str,
    ttl: Option<Duration>,
    misses: &AtomicU64,
    remote_hits: &AtomicU64,
    load: F,
) -> Result<Table>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Table>>,
{
    if let Some(table) = lookup(shared, digest).await {
        remote_hits.fetch_add(1, Ordering::Relaxed);
        return Ok(table);
    }
    // Take the key's lock, or wait for the process that holds it (bounded by the lock's TTL:
    // a holder that died loses the lock when it expires, and a waiter takes over).
    let lock_ttl = shared.lock_ttl();
    let deadline = Instant::now() + lock_ttl;
    let mut token = None;
    loop {
        match bounded(shared.try_lock(digest, lock_ttl)).await {
            Ok(Some(t)) => {
                token = Some(t);
                break;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "shared cache: cannot take a lock; running the query");
                break;
            }
        }
        tokio::time::sleep(POLL).await;
        if let Some(table) = lookup(shared, digest).await {
            remote_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(table);
        }
        if Instant::now() >= deadline {
            tracing::warn!(
                "shared cache: gave up waiting for another process's run; running the query"
            );
            break;
        }
    }
    // Another process may have finished between our lookup and taking the lock.
    if token.is_some()
        && let Some(table) = lookup(shared, digest).await
    {
        remote_hits.fetch_add(1, Ordering::Relaxed);
        release(shared, digest, token.as_deref()).await;
        return Ok(table);
    }
    misses.fetch_add(1, Ordering::Relaxed);
    let result = load().await;
    if let Ok(table) = &result {
        store(shared, digest, table, ttl).await;
    }
    release(shared, digest, token.as_deref()).await;
    result
}

async fn release(shared: &dyn SharedTier, digest: &str, token: Option<&str>) {
    if let Some(token) = token
        && let Err(e) = bounded(shared.unlock(digest, token)).await
    {
        tracing::warn!(error = %e, "shared cache: cannot release a lock; it expires by itself");
    }
}
