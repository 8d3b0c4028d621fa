//! The same calls for synchronous programs (GUI apps, scripts, tests without async).
//!
//! Work runs on an internal tokio runtime and the caller's thread waits for it, so these calls
//! are safe from plain threads and from inside another tokio runtime alike (where they block
//! that thread, as any blocking call does, but never panic).
//!
//! ```no_run
//! use dataconn::{SqlConnection, params};
//!
//! let conn = dataconn::blocking::connection::<SqlConnection>("pets_db")?;
//! let pets = dataconn::blocking::query(&conn, "select * from pet_owners where pet = :pet", params! { pet: "cat" }, "10m")?;
//! println!("{pets}");
//! # Ok::<(), dataconn::Error>(())
//! ```

use std::future::Future;
use std::sync::{Arc, OnceLock};

use dataconn_core::{Error, IntoTtl, Params, Query, QueryExt, Result, Table, TypedConnection};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dataconn-blocking")
            .enable_all()
            .build()
            // Building a runtime fails only when the OS refuses threads or timers; nothing
            // in this module can work then.
            .expect("dataconn's blocking runtime could not start")
    })
}

/// Run a future to completion on dataconn's internal runtime and wait for it.
///
/// # Errors
/// [`dataconn_core::ErrorKind::Internal`] when the future panicked.
pub fn block_on<F, T>(future: F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime().spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv()
        .map_err(|_| Error::internal("the blocking task ended without a result (it panicked)"))?
}

/// Open the named connection as `T` from the process-wide hub.
///
/// # Errors
/// As [`crate::connection`].
pub fn connection<T: TypedConnection>(name: &str) -> Result<Arc<T>> {
    let name = name.to_owned();
    block_on(async move { crate::connection::<T>(&name).await })
}

/// Run a cached query with named parameters and a TTL.
///
/// # Errors
/// As the async `query`.
pub fn query<C: Query + 'static>(
    conn: &Arc<C>,
    sql: &str,
    params: Params,
    ttl: impl IntoTtl,
) -> Result<Table> {
    let conn = conn.clone();
    let sql = sql.to_owned();
    let ttl = ttl.into_ttl()?;
    block_on(async move { conn.query(sql).params(params).ttl(ttl).await })
}
