//! [`Session`]: a transaction with `execute`, `query`, `commit` and `rollback`.
//!
//! Dropping a session without `commit` rolls it back. A commit drops the connection's cached
//! reads, so the next `query()` sees the new data.

use dataconn_core::{Error, ErrorKind, Params, Result, Table, rewrite};

use crate::backend::{Pool, SqlConnection};
use crate::query::dialect_of;

enum Tx {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
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
    pub(crate) async fn begin(conn: &'c SqlConnection) -> Result<Session<'c>> {
        let pool = conn.pool().await?;
        let dialect = dialect_of(&pool);
        let tx = match pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => Tx::Sqlite(
                pool.begin()
                    .await
                    .map_err(|e| conn.fail(crate::sqlx_error(e)))?,
            ),
        };
        Ok(Session {
            conn,
            tx: Some(tx),
            dialect,
        })
    }

    fn tx(&mut self) -> Result<&mut Tx> {
        let conn = self.conn;
        self.tx.as_mut().ok_or_else(|| {
            conn.fail(Error::new(
                ErrorKind::Closed,
                "expected an open session, found it already committed or rolled back",
            ))
        })
    }

    /// Run a write inside the transaction; returns rows affected.
    ///
    /// # Errors
    /// [`ErrorKind::Parameter`] when the parameters do not match the SQL; the database's error
    /// as [`ErrorKind::Query`].
    pub async fn execute(&mut self, sql: &str, params: Params) -> Result<u64> {
        let conn = self.conn;
        let rewritten = rewrite(sql, &params, self.dialect).map_err(|e| conn.fail(e))?;
        match self.tx()? {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(tx) => crate::query::sqlite_statement(rewritten)
                .execute(&mut **tx)
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| conn.fail(crate::sqlx_error(e))),
        }
    }

    /// Read inside the transaction (sees its uncommitted writes); never cached.
    ///
    /// # Errors
    /// As [`Session::execute`].
    pub async fn query(&mut self, sql: &str, params: Params) -> Result<Table> {
        let conn = self.conn;
        let rewritten = rewrite(sql, &params, self.dialect).map_err(|e| conn.fail(e))?;
        let batch_rows = conn.settings().batch_rows;
        match self.tx()? {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(tx) => {
                crate::sqlite::read::read_on(tx, &rewritten.sql, &rewritten.values, batch_rows)
                    .await
                    .map_err(|e| conn.fail(e))
            }
        }
    }

    /// Commit, and drop the connection's cached reads.
    ///
    /// # Errors
    /// The database's error; the transaction is then rolled back.
    pub async fn commit(mut self) -> Result<()> {
        let conn = self.conn;
        let tx = self.tx.take();
        let result = match tx {
            #[cfg(feature = "sqlite")]
            Some(Tx::Sqlite(tx)) => tx
                .commit()
                .await
                .map_err(|e| conn.fail(crate::sqlx_error(e))),
            None => Ok(()),
        };
        conn.invalidate();
        result
    }

    /// Roll back explicitly (dropping the session does the same).
    ///
    /// # Errors
    /// The database's error.
    pub async fn rollback(mut self) -> Result<()> {
        let conn = self.conn;
        match self.tx.take() {
            #[cfg(feature = "sqlite")]
            Some(Tx::Sqlite(tx)) => tx
                .rollback()
                .await
                .map_err(|e| conn.fail(crate::sqlx_error(e))),
            None => Ok(()),
        }
    }
}

impl SqlConnection {
    /// Start a transaction.
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
        Session::begin(self).await
    }
}
