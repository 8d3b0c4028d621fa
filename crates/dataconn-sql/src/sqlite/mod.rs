//! SQLite through sqlx (bundled, so no system library is needed).
//!
//! sqlx connects, pools, runs sessions and writes ([`driver`]); [`read`] is the fast read
//! path.

mod bind;
mod columns;
mod driver;
mod read;

use std::path::Path;
use std::sync::Arc;

use dataconn_core::{Error, ErrorKind, Result};
use sqlx::sqlite::SqliteConnectOptions;

use crate::config::PoolSettings;
use crate::settings::Settings;

/// Open a pool on a SQLite file (created when missing, unless read-only) or in memory.
pub(crate) async fn open(
    path: Option<&Path>,
    read_only: bool,
    settings: &Settings,
) -> Result<Arc<dyn crate::driver::Driver>> {
    let options = match path {
        Some(path) => SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(!read_only)
            .read_only(read_only),
        None => SqliteConnectOptions::new().in_memory(true),
    };
    // Each connection to `:memory:` is its own database: one connection, kept open, keeps one.
    let pool_settings = match path {
        Some(_) => settings.pool.clone(),
        None => PoolSettings {
            max_connections: 1,
            min_connections: 1,
            idle_timeout: None,
            max_lifetime: None,
            ..settings.pool.clone()
        },
    };
    let pool = pool_settings
        .options::<sqlx::Sqlite>()
        .connect_with(options)
        .await
        .map_err(|e| {
            let place =
                path.map_or_else(|| "in memory".to_owned(), |p| format!("at {}", p.display()));
            let err = crate::error::sqlx_error(e);
            let kind = if err.kind() == ErrorKind::Timeout {
                ErrorKind::Timeout
            } else {
                ErrorKind::Connect
            };
            Error::new(kind, format!("could not open the SQLite database {place}"))
                .set_temporary(err.is_temporary())
                .with_source(err)
        })?;
    Ok(Arc::new(driver::SqliteDriver { pool }))
}
