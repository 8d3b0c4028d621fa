//! Reads and writes: `fetch` (the uncached read behind `query()`) and `execute`.

use dataconn_core::{Dialect, Params, Result, Rewritten, Table, rewrite};

use crate::backend::{Pool, SqlConnection};

impl SqlConnection {
    /// Run one write outside a session; returns rows affected and drops cached reads.
    ///
    /// # Errors
    /// [`dataconn_core::ErrorKind::Parameter`] when the parameters do not match the SQL; the
    /// database's error as [`dataconn_core::ErrorKind::Query`].
    pub async fn execute(&self, sql: &str, params: Params) -> Result<u64> {
        execute(self, sql, &params).await
    }

    /// Start a cached query: `.param(..)`, `.ttl(..)`, then `.await`.
    pub fn query(&self, sql: impl Into<String>) -> dataconn_core::QueryRequest<'_, Self> {
        dataconn_core::QueryExt::query(self, sql)
    }
}

/// The driver's dialect for parameter rewriting.
pub(crate) fn dialect_of(pool: &Pool) -> Dialect {
    match pool {
        #[cfg(feature = "sqlite")]
        Pool::Sqlite(_) => Dialect::Sqlite,
    }
}

/// Run a read uncached; `query()` puts the cache in front of this.
pub(crate) async fn fetch(conn: &SqlConnection, sql: &str, params: &Params) -> Result<Table> {
    let pool = conn.pool().await?;
    let rewritten = rewrite(sql, params, dialect_of(&pool)).map_err(|e| conn.fail(e))?;
    let batch_rows = conn.settings().batch_rows;
    let result = match &pool {
        #[cfg(feature = "sqlite")]
        Pool::Sqlite(pool) => {
            crate::sqlite::read::read_pooled(pool, rewritten.sql, rewritten.values, batch_rows)
                .await
        }
    };
    result.map_err(|e| conn.fail(e))
}

/// Run a write outside any session; returns rows affected and drops this connection's
/// cached reads.
pub(crate) async fn execute(conn: &SqlConnection, sql: &str, params: &Params) -> Result<u64> {
    let pool = conn.pool().await?;
    let rewritten = rewrite(sql, params, dialect_of(&pool)).map_err(|e| conn.fail(e))?;
    let result = match &pool {
        #[cfg(feature = "sqlite")]
        Pool::Sqlite(pool) => sqlite_statement(rewritten)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
    };
    // Invalidate even on failure: a multi-statement write may have partly applied.
    conn.invalidate();
    result.map_err(|e| conn.fail(crate::sqlx_error(e)))
}

/// The one place where runtime SQL text is handed to sqlx.
///
/// `AssertSqlSafe` is sound here: the text is the caller's own SQL with `:name` parameters
/// replaced by placeholders, and every value is bound, never spliced into the text.
#[cfg(feature = "sqlite")]
pub(crate) fn sqlite_statement(
    rewritten: Rewritten,
) -> sqlx::query::Query<'static, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    use dataconn_core::Value;
    let mut statement = sqlx::query(sqlx::AssertSqlSafe(rewritten.sql));
    for value in rewritten.values {
        statement = match value {
            Value::Null => statement.bind(None::<i64>),
            Value::Bool(b) => statement.bind(b),
            Value::Int(i) => statement.bind(i),
            Value::Float(f) => statement.bind(f),
            Value::Text(s) => statement.bind(s),
            Value::Bytes(b) => statement.bind(b),
            // `Value` is non-exhaustive; a new variant must be mapped here before it can bind.
            _ => statement.bind(None::<i64>),
        };
    }
    statement
}
