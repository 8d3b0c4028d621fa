//! [`BlockingPool`]: a pool of connections to a driver whose every call blocks (an ADBC or
//! ODBC driver, a C library), for connectors that are not built on an async client.
//!
//! Such connections are not meant to be used from two threads at once. So each use leases
//! one connection for itself (waiting when all `max_connections` are out) and runs on a
//! blocking thread; the lease goes with the work, so a caller that stops waiting never hands
//! a connection still in use back to the pool. A connection whose work failed at the
//! transport level ([`Error::is_temporary`]), that was [discarded](Lease::discard), or that is
//! left inside a transaction is closed instead of reused, on a blocking thread (closing a
//! driver connection blocks). A lease waits at most 30 s for a free connection.
//!
//! ```
//! # use std::sync::Arc;
//! # use dataconn_core::raw::BlockingPool;
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> dataconn_core::Result<()> {
//! // A "connection" here is a counter; a connector opens its driver's connection instead.
//! let pool = Arc::new(BlockingPool::new(2, None, || Ok(0_u64)));
//! let n = pool.run(|conn| { *conn += 1; Ok(*conn) }).await?;
//! assert_eq!(n, 1);
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, ErrorKind, Result};
use crate::lock::MutexExt;

/// How a pool opens one more connection (blocking; called on a blocking thread).
type Open<C> = Box<dyn Fn() -> Result<C> + Send + Sync>;

/// How long a lease waits for a free connection by default.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections of type `C`, at most `max_connections` in use at once.
pub struct BlockingPool<C> {
    open: Open<C>,
    idle: Mutex<Vec<C>>,
    permits: Arc<Semaphore>,
    size: usize,
    acquire_timeout: Duration,
}

/// Close `conns` (dropping a driver connection disconnects, which blocks): on a blocking
/// thread when a tokio runtime is there, else here.
fn close_off_async<C: Send + 'static>(conns: Vec<C>) {
    if conns.is_empty() {
        return;
    }
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn_blocking(move || drop(conns));
        }
        Err(_) => drop(conns),
    }
}

impl<C> std::fmt::Debug for BlockingPool<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingPool")
            .field("idle", &self.idle.lock_unpoisoned().len())
            .field("available", &self.permits.available_permits())
            .finish()
    }
}

impl<C: Send + 'static> BlockingPool<C> {
    /// A pool of at most `max_connections` (at least one) in use at once, holding `first` (a
    /// connection opened to check the settings) and opening more with `open` as needed.
    pub fn new(
        max_connections: usize,
        first: Option<C>,
        open: impl Fn() -> Result<C> + Send + Sync + 'static,
    ) -> BlockingPool<C> {
        BlockingPool {
            open: Box::new(open),
            idle: Mutex::new(first.into_iter().collect()),
            permits: Arc::new(Semaphore::new(max_connections.max(1))),
            size: max_connections.max(1),
            acquire_timeout: ACQUIRE_TIMEOUT,
        }
    }

    /// Wait at most `timeout` for a free connection (30 s unless set).
    #[must_use]
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Wait for a free connection (it is taken or opened when the lease is first used).
    ///
    /// # Errors
    /// [`ErrorKind::Closed`] once the pool is closed; [`ErrorKind::Timeout`] when every
    /// connection stayed in use for the acquire timeout.
    pub async fn lease(self: &Arc<Self>) -> Result<Lease<C>> {
        let acquire = self.permits.clone().acquire_owned();
        let permit = tokio::time::timeout(self.acquire_timeout, acquire)
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "expected a free driver connection within {:?}, found all {} in use \
                         (raise max_connections; a task that holds one, in a session or an \
                         unread stream, and waits for another deadlocks a small pool)",
                        self.acquire_timeout, self.size
                    ),
                )
                .set_temporary(true)
            })?
            .map_err(|_| {
                Error::new(
                    ErrorKind::Closed,
                    "expected an open pool of driver connections, found it closed",
                )
            })?;
        Ok(Lease {
            pool: self.clone(),
            conn: None,
            in_transaction: false,
            broken: false,
            _permit: permit,
        })
    }

    /// Lease a connection and run `work` with it on a blocking thread.
    ///
    /// # Errors
    /// As [`BlockingPool::lease`], opening a connection, and what `work` returns.
    pub async fn run<T, F>(self: &Arc<Self>, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut C) -> Result<T> + Send + 'static,
    {
        let mut lease = self.lease().await?;
        // The lease ends on the blocking thread: returning a connection may close it.
        tokio::task::spawn_blocking(move || {
            let out = lease.connection().and_then(work);
            if out.as_ref().is_err_and(Error::is_temporary) {
                lease.discard();
            }
            out
        })
        .await
        .map_err(|e| Error::internal(format!("the driver call did not finish: {e}")))?
    }

    /// Refuse new leases and let idle connections go (leased ones close when returned).
    pub fn close(&self) {
        self.permits.close();
        let idle = std::mem::take(&mut *self.idle.lock_unpoisoned());
        close_off_async(idle);
    }
}

/// Run `work` with the lease on a blocking thread; the lease comes back with the result (it
/// returns to the pool when dropped, which happens on the blocking thread too when the caller
/// stopped waiting: closing a driver connection may block).
///
/// # Errors
/// [`ErrorKind::Internal`] when the blocking thread panicked (the lease is then dropped).
pub async fn on_blocking_thread<C, T, F>(
    mut lease: Lease<C>,
    work: F,
) -> Result<(Lease<C>, Result<T>)>
where
    C: Send + 'static,
    T: Send + 'static,
    F: FnOnce(&mut Lease<C>) -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let out = work(&mut lease);
        // A transport failure leaves the connection unusable; a refused statement does not.
        if out.as_ref().is_err_and(Error::is_temporary) {
            lease.discard();
        }
        (lease, out)
    })
    .await
    .map_err(|e| Error::internal(format!("the driver call did not finish: {e}")))
}

/// One connection of a [`BlockingPool`], for one use.
pub struct Lease<C: Send + 'static> {
    pool: Arc<BlockingPool<C>>,
    conn: Option<C>,
    in_transaction: bool,
    broken: bool,
    _permit: OwnedSemaphorePermit,
}

impl<C: Send + 'static> std::fmt::Debug for Lease<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("connected", &self.conn.is_some())
            .field("in_transaction", &self.in_transaction)
            .field("broken", &self.broken)
            .finish()
    }
}

impl<C: Send + 'static> Lease<C> {
    /// The connection: an idle one, or a new one. Blocking.
    ///
    /// # Errors
    /// The driver's refusal of a new connection.
    pub fn connection(&mut self) -> Result<&mut C> {
        if self.conn.is_none() {
            let idle = self.pool.idle.lock_unpoisoned().pop();
            let conn = match idle {
                Some(conn) => conn,
                None => (self.pool.open)()?,
            };
            self.conn = Some(conn);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| Error::internal("a lease without its connection"))
    }

    /// Close the connection instead of reusing it (a result left unread, a broken link).
    pub fn discard(&mut self) {
        self.broken = true;
    }

    /// Say that a transaction is open (or closed again): a connection returned inside one is
    /// closed, which ends the transaction on the server, rather than reused.
    pub fn set_in_transaction(&mut self, open: bool) {
        self.in_transaction = open;
    }
}

impl<C: Send + 'static> Drop for Lease<C> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if self.broken || self.in_transaction || self.pool.permits.is_closed() {
            // Closing may block (a disconnect, a rollback): never on an async worker.
            close_off_async(vec![conn]);
        } else {
            self.pool.idle.lock_unpoisoned().push(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn counting_pool(max: usize) -> (Arc<BlockingPool<usize>>, Arc<AtomicUsize>) {
        let opened = Arc::new(AtomicUsize::new(0));
        let count = opened.clone();
        let pool = BlockingPool::new(max, None, move || Ok(count.fetch_add(1, Ordering::SeqCst)));
        (Arc::new(pool), opened)
    }

    #[tokio::test]
    async fn a_returned_connection_is_reused_and_a_broken_one_is_not() {
        let (pool, opened) = counting_pool(1);
        assert_eq!(pool.run(|c| Ok(*c)).await.unwrap(), 0);
        assert_eq!(pool.run(|c| Ok(*c)).await.unwrap(), 0);
        let err = pool
            .run(|_| -> Result<()> {
                Err(Error::new(ErrorKind::Connect, "gone").set_temporary(true))
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect);
        assert_eq!(pool.run(|c| Ok(*c)).await.unwrap(), 1);
        // A refused statement keeps its connection.
        let _ = pool
            .run(|_| -> Result<()> { Err(Error::new(ErrorKind::Query, "bad sql")) })
            .await;
        assert_eq!(pool.run(|c| Ok(*c)).await.unwrap(), 1);
        assert_eq!(opened.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_lease_left_in_a_transaction_or_discarded_is_closed() {
        let (pool, _) = counting_pool(2);
        let mut lease = pool.lease().await.unwrap();
        lease.connection().unwrap();
        lease.set_in_transaction(true);
        drop(lease);
        let mut lease = pool.lease().await.unwrap();
        assert_eq!(*lease.connection().unwrap(), 1);
        lease.discard();
        drop(lease);
        assert_eq!(pool.run(|c| Ok(*c)).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn leases_wait_for_a_free_connection_and_a_closed_pool_refuses() {
        let (pool, _) = counting_pool(1);
        let held = pool.lease().await.unwrap();
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), pool.lease());
        assert!(waiting.await.is_err(), "a second lease did not wait");
        drop(held);
        let short = BlockingPool::new(1, None, || Ok(0_u8))
            .with_acquire_timeout(std::time::Duration::from_millis(20));
        let short = Arc::new(short);
        let _held = short.lease().await.unwrap();
        let err = short.lease().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.message().contains("all 1 in use"), "{err}");
        pool.close();
        assert_eq!(pool.lease().await.unwrap_err().kind(), ErrorKind::Closed);
    }
}
