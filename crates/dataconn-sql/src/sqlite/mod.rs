//! SQLite through sqlx (bundled, so no system library is needed).
//!
//! sqlx connects, pools, runs sessions and writes; [`read`] is the fast read path.

pub(crate) mod bind;
pub(crate) mod columns;
pub(crate) mod read;

use std::path::Path;

use dataconn_core::{Error, ErrorKind, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

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
    // Each connection to `:memory:` is its own database: one connection, kept open, keeps one.
    let settings = match path {
        Some(_) => pool.clone(),
        None => PoolSettings {
            max_connections: 1,
            min_connections: 1,
            idle_timeout: None,
            max_lifetime: None,
            ..pool.clone()
        },
    };
    crate::pool_options::<sqlx::Sqlite>(&settings)
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
