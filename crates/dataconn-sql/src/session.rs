//! [`Session`]: a transaction with `execute`, `query`, `commit` and `rollback`.
//!
//! Dropping a session without `commit` rolls it back. A commit drops the connection's cached
//! reads, so the next `query()` sees the new data. Sessions are never retried automatically:
//! after a failure, run the whole session again.

use dataconn_core::{Error, ErrorKind, Params, Result, Rewritten, Table, rewrite};

use crate::backend::{Pool, SqlConnection};
use crate::query::dialect_of;

/// A transaction's isolation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Isolation {
    /// The database's default (PostgreSQL: read committed; MySQL/MariaDB: repeatable read;
    /// SQLite: serializable).
    #[default]
    Default,
    /// `READ UNCOMMITTED`.
    ReadUncommitted,
    /// `READ COMMITTED`.
    ReadCommitted,
    /// `REPEATABLE READ`.
    RepeatableRead,
    /// `SERIALIZABLE`.
    Serializable,
}

impl Isolation {
    fn sql(self) -> Option<&'static str> {
        Some(match self {
            Isolation::Default => return None,
            Isolation::ReadUncommitted => "SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED",
            Isolation::ReadCommitted => "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
            Isolation::RepeatableRead => "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
            Isolation::Serializable => "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        })
    }
}

enum Tx {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    #[cfg(feature = "mysql")]
    MySql(sqlx::Transaction<'static, sqlx::MySql>),
}

/// A transaction on one pooled connection.
pub struct Session<'c> {
    conn: &'c SqlConnection,
    tx: Option<Tx>,
    dialect: dataconn_core::Dialect,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("connection", &dataconn_core::Connection::name(self.conn))
            .field("open", &self.tx.is_some())
            .finish()
    }
}

impl<'c> Session<'c> {
    pub(crate) async fn begin(
        conn: &'c SqlConnection,
        isolation: Isolation,
    ) -> Result<Session<'c>> {
        let pool = conn.pool().await?;
        let dialect = dialect_of(&pool);
        let level = isolation.sql();
        let tx = match pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => {
                // SQLite transactions are always serializable, the strictest level.
                Tx::Sqlite(pool.begin().await.map_err(crate::sqlx_error)?)
            }
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(crate::sqlx_error)?;
                if let Some(level) = level {
                    sqlx::Executor::execute(&mut *tx, level)
                        .await
                        .map_err(crate::sqlx_error)?;
                }
                Tx::Postgres(tx)
            }
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => {
                // MySQL sets the level of the *next* transaction, so it goes before BEGIN.
                let mut c = pool.acquire().await.map_err(crate::sqlx_error)?;
                if let Some(level) = level {
                    sqlx::Executor::execute(&mut *c, level)
                        .await
                        .map_err(crate::sqlx_error)?;
                }
                Tx::MySql(
                    sqlx::Transaction::begin(c, None)
                        .await
                        .map_err(crate::sqlx_error)?,
                )
            }
        };
        let _ = level;
        Ok(Session {
            conn,
            tx: Some(tx),
            dialect,
        })
    }

    fn tx(&mut self) -> Result<&mut Tx> {
        self.tx.as_mut().ok_or_else(|| {
            Error::new(
                ErrorKind::Closed,
                "expected an open session, found it already committed or rolled back",
            )
        })
    }

    /// Run a write inside the transaction; returns rows affected.
    ///
    /// # Errors
    /// [`ErrorKind::Parameter`] when the parameters do not match the SQL; the database's error
    /// as [`ErrorKind::Query`].
    pub async fn execute(&mut self, sql: &str, params: Params) -> Result<u64> {
        let conn = self.conn;
        let result = match rewrite(sql, &params, self.dialect) {
            Ok(rewritten) => self.execute_rewritten(rewritten).await,
            Err(e) => Err(e),
        };
        result.map_err(|e| conn.fail(e))
    }

    pub(crate) async fn execute_rewritten(&mut self, rewritten: Rewritten) -> Result<u64> {
        match self.tx()? {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(tx) => crate::write::sqlite(tx, rewritten).await,
            #[cfg(feature = "postgres")]
            Tx::Postgres(tx) => crate::write::postgres(tx, rewritten).await,
            #[cfg(feature = "mysql")]
            Tx::MySql(tx) => crate::write::mysql(tx, rewritten).await,
        }
    }

    /// Read inside the transaction (sees its uncommitted writes); never cached.
    ///
    /// # Errors
    /// As [`Session::execute`].
    pub async fn query(&mut self, sql: &str, params: Params) -> Result<Table> {
        let conn = self.conn;
        let batch_rows = conn.settings().batch_rows;
        let result = match rewrite(sql, &params, self.dialect) {
            Ok(rewritten) => self.query_rewritten(rewritten, batch_rows).await,
            Err(e) => Err(e),
        };
        result.map_err(|e| conn.fail(e))
    }

    async fn query_rewritten(&mut self, rewritten: Rewritten, batch_rows: usize) -> Result<Table> {
        match self.tx()? {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(tx) => {
                let request = crate::sqlite::read::ReadRequest {
                    sql: rewritten.sql,
                    values: rewritten.values,
                    names: rewritten.names,
                    batch_rows,
                    batch_bytes: crate::BATCH_BYTES,
                };
                crate::sqlite::read::read_on(tx, &request).await
            }
            #[cfg(feature = "postgres")]
            Tx::Postgres(tx) => {
                let names: Vec<&str> = rewritten.names.iter().map(String::as_str).collect();
                let binds = crate::postgres::bind::checked(rewritten.values, &names)?;
                let sink = crate::sink::Sink::Keep;
                let table =
                    crate::postgres::read::read(tx, &rewritten.sql, binds, batch_rows, false, sink)
                        .await?;
                table.ok_or_else(|| Error::internal("a kept read returned no table"))
            }
            #[cfg(feature = "mysql")]
            Tx::MySql(tx) => {
                let names: Vec<&str> = rewritten.names.iter().map(String::as_str).collect();
                let sink = crate::sink::Sink::Keep;
                let table = crate::mysql::read::read(
                    tx,
                    &rewritten.sql,
                    rewritten.values,
                    &names,
                    batch_rows,
                    sink,
                )
                .await?;
                table.ok_or_else(|| Error::internal("a kept read returned no table"))
            }
        }
    }

    /// Commit, and drop the connection's cached reads.
    ///
    /// # Errors
    /// The database's error; the transaction is then rolled back.
    pub async fn commit(self) -> Result<()> {
        let conn = self.conn;
        let result = self.commit_quietly().await;
        conn.invalidate().await;
        result.map_err(|e| conn.fail(e))
    }

    /// Commit without touching the cache or naming the connection in errors.
    pub(crate) async fn commit_quietly(mut self) -> Result<()> {
        let result = match self.tx.take() {
            #[cfg(feature = "sqlite")]
            Some(Tx::Sqlite(tx)) => tx.commit().await,
            #[cfg(feature = "postgres")]
            Some(Tx::Postgres(tx)) => tx.commit().await,
            #[cfg(feature = "mysql")]
            Some(Tx::MySql(tx)) => tx.commit().await,
            None => Ok(()),
        };
        result.map_err(crate::sqlx_error)
    }

    /// Roll back explicitly (dropping the session does the same).
    ///
    /// # Errors
    /// The database's error.
    pub async fn rollback(mut self) -> Result<()> {
        let conn = self.conn;
        let result = match self.tx.take() {
            #[cfg(feature = "sqlite")]
            Some(Tx::Sqlite(tx)) => tx.rollback().await,
            #[cfg(feature = "postgres")]
            Some(Tx::Postgres(tx)) => tx.rollback().await,
            #[cfg(feature = "mysql")]
            Some(Tx::MySql(tx)) => tx.rollback().await,
            None => Ok(()),
        };
        result.map_err(|e| conn.fail(crate::sqlx_error(e)))
    }
}

impl SqlConnection {
    /// Start a transaction at the database's default isolation level.
    ///
    /// # Errors
    /// When no pooled connection can be had.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(conn: &dataconn_sql::SqlConnection) -> dataconn_core::Result<()> {
    /// use dataconn_core::params;
    /// let mut s = conn.session().await?;
    /// s.execute("INSERT INTO pet_owners VALUES (:owner, :pet)", params! { owner: "jerry", pet: "fish" }).await?;
    /// s.commit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn session(&self) -> Result<Session<'_>> {
        self.session_with(Isolation::Default).await
    }

    /// Start a transaction at `isolation`.
    ///
    /// # Errors
    /// When no pooled connection can be had, or the database refuses the level.
    pub async fn session_with(&self, isolation: Isolation) -> Result<Session<'_>> {
        Session::begin(self, isolation)
            .await
            .map_err(|e| self.fail(e))
    }
}
