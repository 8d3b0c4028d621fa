//! What the shared code asks of a database driver: [`Driver`] on an open pool,
//! [`Transaction`] on a transaction, and the public [`Pool`] for direct use of sqlx.
//!
//! Each backend folder (`sqlite/`, `postgres/`, `mysql/`) implements both traits once;
//! [`crate::drivers::open`] picks the driver an address names. Retries, the read-only check,
//! parameter rewriting, caching and sessions are written once against these traits, in the
//! spirit of sqlx's `AnyConnectionBackend`. Calls are dispatched once per statement, never per
//! row: a driver's read loop (SQLite's raw-handle stepping, PostgreSQL's binary COPY) runs
//! whole inside [`Driver::read`].

use async_trait::async_trait;
use dataconn_core::{Dialect, Result, Rewritten, Table};

use crate::sink::Sink;

/// A pool of one of the compiled-in drivers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Pool {
    /// A SQLite pool.
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    /// A PostgreSQL pool.
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    /// A MySQL or MariaDB pool.
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

/// One driver with its open pool.
#[async_trait]
pub(crate) trait Driver: Send + Sync {
    /// How `:name` parameters are rewritten for this driver.
    fn dialect(&self) -> Dialect;

    /// The pool, for direct use of sqlx.
    fn pool(&self) -> Pool;

    /// Read `statement` on a pooled connection into `sink`, cutting a batch every
    /// `batch_rows` rows: the whole table for [`Sink::Keep`], `None` once streamed.
    async fn read(
        &self,
        statement: Rewritten,
        batch_rows: usize,
        sink: Sink,
    ) -> Result<Option<Table>>;

    /// Run one write on a pooled connection, outside any transaction (so statements that
    /// cannot run in one, such as `CREATE DATABASE` or `VACUUM`, work); returns rows affected.
    async fn execute(&self, statement: Rewritten) -> Result<u64>;

    /// Start a transaction; `set_isolation` is the `SET TRANSACTION ISOLATION LEVEL ...`
    /// statement when the level is not the database's default.
    async fn begin(&self, set_isolation: Option<&'static str>) -> Result<Box<dyn Transaction>>;

    /// Close the pool, waiting for the connections in use to come back.
    async fn close(&self);
}

/// A transaction on one pooled connection; dropped without commit, it rolls back.
#[async_trait]
pub(crate) trait Transaction: Send + Sync {
    /// Run a write inside the transaction; returns rows affected.
    async fn execute(&mut self, statement: Rewritten) -> Result<u64>;

    /// Read inside the transaction (it sees its own uncommitted writes).
    async fn query(&mut self, statement: Rewritten, batch_rows: usize) -> Result<Table>;

    /// Commit.
    async fn commit(self: Box<Self>) -> Result<()>;

    /// Roll back.
    async fn rollback(self: Box<Self>) -> Result<()>;
}

/// The one place where runtime SQL text is handed to sqlx.
///
/// `AssertSqlSafe` is sound here: the text is the caller's own SQL with `:name` parameters
/// replaced by placeholders (or a statement dataconn builds from numbers), and every value is
/// bound, never spliced into the text.
pub(crate) fn safe_sql(sql: String) -> sqlx::SqlStr {
    sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(sql))
}

/// The parameter names of a statement's values ([`Rewritten::names`]) as `&str`, for messages.
pub(crate) fn names(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}
