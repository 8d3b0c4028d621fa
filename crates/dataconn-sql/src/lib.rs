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
//! - `query(sql).param(..).ttl(..)` returns a cached Arrow [`dataconn_core::Table`]; `execute`
//!   and [`Session`] write, and a write drops the connection's cached reads.
//! - `:name` parameters on every backend, always bound.
//! - SQLite reads step the statement straight into Arrow builders on a blocking thread, about
//!   as fast as SQLite itself; sqlx owns connecting, pooling and writes.
//!
//! # Features
//! | feature | enables |
//! |---|---|
//! | `sqlite` (default) | SQLite, bundled |

#[cfg(not(feature = "sqlite"))]
compile_error!("dataconn-sql needs a database driver: enable its `sqlite` feature");

mod address;
mod backend;
mod config;
mod query;
mod session;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::sync::Arc;

pub use backend::{Pool, SqlConnection, SqlConnector};
pub use config::SqlConfig;
use dataconn_core::{Error, ErrorKind, Registry};
pub use session::Session;

/// The connection type of this connector.
pub const TYPE: &str = "sql";

/// Register the SQL connector.
pub fn register(registry: &Registry) {
    registry.register(Arc::new(SqlConnector));
}

/// Map a sqlx error onto dataconn's kinds.
pub(crate) fn sqlx_error(err: sqlx::Error) -> Error {
    let (kind, temporary, what) = match &err {
        sqlx::Error::Database(_) => (
            ErrorKind::Query,
            false,
            "the database rejected the statement",
        ),
        sqlx::Error::PoolTimedOut => (
            ErrorKind::Timeout,
            true,
            "no pooled connection became free in time",
        ),
        sqlx::Error::PoolClosed => (ErrorKind::Closed, false, "the pool is closed"),
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
            (ErrorKind::Connect, true, "the database connection failed")
        }
        sqlx::Error::Configuration(_) => (
            ErrorKind::Config,
            false,
            "the driver rejected the configuration",
        ),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::Encode(_) => (
            ErrorKind::TypeConversion,
            false,
            "a value could not be converted",
        ),
        _ => (ErrorKind::Query, false, "the statement failed"),
    };
    Error::new(kind, what)
        .set_temporary(temporary)
        .with_source(err)
}
