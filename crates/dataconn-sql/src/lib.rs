#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
//! The SQL connector of dataconn: SQLite (bundled), PostgreSQL and MySQL/MariaDB through
//! sqlx's concrete drivers, results as Arrow.
//!
//! ```toml
//! # .streamlit/secrets.toml
//! [connections.pets_db]
//! url = "sqlite:///pets.db"
//! ```
//!
//! # Highlights
//! - The same keys as Streamlit's `SQLConnection`: `url`, or `dialect`, `username`,
//!   `password`, `host`, `port`, `database`, `query`; plus pool options, a default `ttl` and
//!   `batch_size`. Unknown keys are errors with a suggestion.
//! - `query(sql).param(..).ttl(..)` returns a cached Arrow [`dataconn_core::Table`] and only
//!   reads (SQL that writes is refused before it runs); `execute` and [`Session`] write, and a
//!   write drops the connection's cached reads.
//! - `:name` parameters on every backend, always bound.
//! - SQLite reads step the statement straight into Arrow builders on a blocking thread, about
//!   as fast as SQLite itself; sqlx owns connecting, pooling and writes.
//!
//! # Features
//! | feature | enables |
//! |---|---|
//! | `sqlite` (default) | SQLite, bundled |
//! | `postgres` | PostgreSQL (TLS through rustls) |
//! | `mysql` | MySQL and MariaDB (TLS through rustls) |

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!("dataconn-sql needs a database driver: enable `sqlite`, `postgres` or `mysql`");

mod address;
// One column vocabulary serves both server drivers: with only one built, what only the other
// decodes into is unused.
#[cfg(any(feature = "postgres", feature = "mysql"))]
#[cfg_attr(not(all(feature = "postgres", feature = "mysql")), allow(dead_code))]
mod columns;
mod config;
mod connection;
mod driver;
mod drivers;
mod error;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
mod query;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod server_url;
mod session;
mod settings;
mod sink;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::sync::Arc;

pub use config::SqlConfig;
pub use connection::{SqlConnection, SqlConnector};
use dataconn_core::Registry;
pub use driver::Pool;
pub use session::{Isolation, Session};

/// The connection type of this connector.
pub const TYPE: &str = "sql";

/// Register the SQL connector.
pub fn register(registry: &Registry) {
    registry.register(Arc::new(SqlConnector));
}

/// Bytes a text or binary column may hold before its batch is cut early, whatever its row
/// count: half of what Arrow's 32-bit offsets address, so that the next row's values (at most
/// 1 GiB each in PostgreSQL, MySQL and SQLite) still fit before the cut.
pub(crate) const BATCH_BYTES: usize = 1 << 30;

/// Most bytes one text or binary array can hold (its offsets are `i32`).
pub(crate) const MAX_ARRAY_BYTES: usize = i32::MAX as usize;

pub(crate) use dataconn_core::raw::decimal_text;
