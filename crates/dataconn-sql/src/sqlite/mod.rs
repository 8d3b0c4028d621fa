//! SQLite through sqlx (bundled, so no system library is needed).
//!
//! sqlx connects, pools, runs sessions and writes; [`read`] is the fast read path.

pub(crate) mod columns;
pub(crate) mod read;

use std::path::Path;

use dataconn_core::{Error, ErrorKind, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use crate::config::PoolSettings;

/// Open a pool on a SQLite file (created when missing, unless read-only) or in memory.
pub(crate) async fn connect(
    path: Option<&Path>,
    read_only: bool,
    pool: &PoolSettings,
) -> Result<SqlitePool> {
    let options = match path {
        Some(path) => SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(!read_only)
            .read_only(read_only),
        None => SqliteConnectOptions::new().in_memory(true),
    };
    // Each connection to `:memory:` is its own database: one connection keeps one database.
    let max = if path.is_none() {
        1
    } else {
        pool.max_connections
    };
    SqlitePoolOptions::new()
        .max_connections(max)
        .min_connections(pool.min_connections.min(max))
        .acquire_timeout(pool.acquire_timeout)
        .idle_timeout(if path.is_none() {
            None
        } else {
            pool.idle_timeout
        })
        .max_lifetime(if path.is_none() {
            None
        } else {
            pool.max_lifetime
        })
        .test_before_acquire(pool.test_before_acquire)
        .connect_with(options)
        .await
        .map_err(|e| {
            let place =
                path.map_or_else(|| "in memory".to_owned(), |p| format!("at {}", p.display()));
            let err = crate::sqlx_error(e);
            let kind = if err.kind() == ErrorKind::Timeout {
                ErrorKind::Timeout
            } else {
                ErrorKind::Connect
            };
            Error::new(kind, format!("could not open the SQLite database {place}"))
                .set_temporary(err.is_temporary())
                .with_source(err)
        })
}
