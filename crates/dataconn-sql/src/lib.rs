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
mod backend;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod columns;
mod config;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
mod query;
mod session;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod sink;
#[cfg(feature = "sqlite")]
mod sqlite;
mod statement;
mod write;

use std::sync::Arc;

pub use backend::{Pool, SqlConnection, SqlConnector};
pub use config::SqlConfig;
use dataconn_core::{Error, ErrorKind, Registry};
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

/// `unscaled × 10^-scale` as text: `-12345, 3` → `"-12.345"`.
pub(crate) fn decimal_text(unscaled: i128, scale: u8) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale - digits.len() + 1))
    } else {
        digits
    };
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    let sign = if unscaled < 0 { "-" } else { "" };
    if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

/// Pool options from the connection's settings, for any driver.
pub(crate) fn pool_options<DB: sqlx::Database>(
    settings: &config::PoolSettings,
) -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(settings.max_connections)
        .min_connections(settings.min_connections.min(settings.max_connections))
        .acquire_timeout(settings.acquire_timeout)
        .idle_timeout(settings.idle_timeout)
        .max_lifetime(settings.max_lifetime)
        .test_before_acquire(settings.test_before_acquire)
}

/// A connect failure: timeouts and config errors keep their kind, the rest are connect errors.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn connect_error(err: sqlx::Error, what: &str) -> Error {
    let err = sqlx_error(err);
    let kind = match err.kind() {
        ErrorKind::Timeout | ErrorKind::Config => err.kind(),
        _ => ErrorKind::Connect,
    };
    Error::new(kind, format!("could not connect to {what}"))
        .set_temporary(err.is_temporary() || kind == ErrorKind::Connect)
        .with_source(err)
}

/// Database error codes after which the same statement can safely run again: the server
/// aborted it (serialization failure, deadlock, lock timeout) or the connection dropped
/// before anything was applied (PostgreSQL class 08, admin shutdown, crash, cannot connect).
const RETRYABLE_CODES: &[&str] = &["40001", "40P01", "57P01", "57P02", "57P03", "1205", "1213"];

/// Codes of a statement that the server rolled back: safe to run again even for a write.
const ROLLED_BACK_CODES: &[&str] = &["40001", "40P01", "1205", "1213"];

/// Whether a failed write surely did not apply, so running it again is safe.
pub(crate) fn rolled_back(err: &Error) -> bool {
    err.context()
        .iter()
        .any(|(k, v)| *k == "code" && ROLLED_BACK_CODES.contains(&v.as_str()))
}

/// Map a sqlx error onto dataconn's kinds.
pub(crate) fn sqlx_error(err: sqlx::Error) -> Error {
    if let sqlx::Error::Database(db) = &err {
        let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
        let temporary = code.starts_with("08") || RETRYABLE_CODES.contains(&code.as_str());
        return Error::new(ErrorKind::Query, "the database rejected the statement")
            .set_temporary(temporary)
            .with_context("code", code)
            .with_source(err);
    }
    let (kind, temporary, what) = match &err {
        sqlx::Error::PoolTimedOut => (
            ErrorKind::Timeout,
            true,
            "no pooled connection became free in time",
        ),
        sqlx::Error::PoolClosed => (ErrorKind::Closed, false, "the pool is closed"),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_print_exactly() {
        assert_eq!(decimal_text(-12345, 3), "-12.345");
        assert_eq!(decimal_text(5, 3), "0.005");
        assert_eq!(decimal_text(120, 0), "120");
        assert_eq!(decimal_text(0, 2), "0.00");
    }
}
