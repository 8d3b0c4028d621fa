//! sqlx's errors as dataconn's: a kind, whether a retry may help, the database's code.

use dataconn_core::{Error, ErrorKind};

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
