//! [`Session`]: a transaction with `execute`, `query`, `commit` and `rollback`.
//!
//! Dropping a session without `commit` rolls it back. A commit drops the connection's cached
//! reads, so the next `query()` sees the new data. Sessions are never retried automatically:
//! after a failure, run the whole session again.

use dataconn_core::{Dialect, Error, ErrorKind, Params, Result, Rewritten, Table, rewrite};

use crate::connection::SqlConnection;
use crate::driver::Transaction;

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
    /// The statement that sets this level, or `None` for the database's default.
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

/// A transaction on one pooled connection.
pub struct Session<'c> {
    conn: &'c SqlConnection,
    tx: Option<Box<dyn Transaction>>,
    dialect: Dialect,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("connection", &self.conn.base.name())
            .field("open", &self.tx.is_some())
            .finish()
    }
}

impl<'c> Session<'c> {
    pub(crate) async fn begin(
        conn: &'c SqlConnection,
        isolation: Isolation,
    ) -> Result<Session<'c>> {
        let driver = conn.driver().await?;
        let tx = driver.begin(isolation.sql()).await?;
        Ok(Session {
            conn,
            tx: Some(tx),
            dialect: driver.dialect(),
        })
    }

    fn tx(&mut self) -> Result<&mut Box<dyn Transaction>> {
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
        let result = async {
            let statement = rewrite(sql, &params, self.dialect)?;
            self.execute_rewritten(statement).await
        }
        .await;
        result.map_err(|e| conn.base.masked(e))
    }

    pub(crate) async fn execute_rewritten(&mut self, statement: Rewritten) -> Result<u64> {
        self.tx()?.execute(statement).await
    }

    /// Read inside the transaction (sees its uncommitted writes); never cached.
    ///
    /// # Errors
    /// As [`Session::execute`].
    pub async fn query(&mut self, sql: &str, params: Params) -> Result<Table> {
        let conn = self.conn;
        let batch_rows = conn.settings().batch_rows;
        let result = async {
            let statement = rewrite(sql, &params, self.dialect)?;
            self.tx()?.query(statement, batch_rows).await
        }
        .await;
        result.map_err(|e| conn.base.masked(e))
    }

    /// Commit, and drop the connection's cached reads.
    ///
    /// # Errors
    /// The database's error; the transaction is then rolled back.
    pub async fn commit(self) -> Result<()> {
        let conn = self.conn;
        let result = self.commit_quietly().await;
        conn.invalidate().await;
        result.map_err(|e| conn.base.masked(e))
    }

    /// Commit without touching the cache or naming the connection in errors.
    pub(crate) async fn commit_quietly(mut self) -> Result<()> {
        match self.tx.take() {
            Some(tx) => tx.commit().await,
            None => Ok(()),
        }
    }

    /// Roll back explicitly (dropping the session does the same).
    ///
    /// # Errors
    /// The database's error.
    pub async fn rollback(mut self) -> Result<()> {
        let conn = self.conn;
        let result = match self.tx.take() {
            Some(tx) => tx.rollback().await,
            None => Ok(()),
        };
        result.map_err(|e| conn.base.masked(e))
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
            .map_err(|e| self.base.masked(e))
    }
}
