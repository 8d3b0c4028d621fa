//! [`Session`]: a transaction on one ODBC connection (autocommit off until it ends).

use dataconn_core::raw::{on_blocking_thread, rewrite};
use dataconn_core::{Error, Params, Result, Table};

use crate::connection::OdbcConnection;
use crate::error::odbc_error;
use crate::pool::{Lease, OdbcHandle};
use crate::query::{Run, read_table, update};

/// A transaction: statements on one ODBC connection, applied together by [`Session::commit`]
/// or not at all. Dropped without a commit, it is rolled back (its connection is closed rather
/// than reused, which ends the transaction on the server).
#[must_use = "a session does nothing until it commits"]
pub struct Session<'a> {
    conn: &'a OdbcConnection,
    lease: Option<Lease>,
    run: Run,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("connection", &self.conn.base.name())
            .field("open", &self.lease.is_some())
            .finish()
    }
}

/// Switch autocommit on the lease's connection, and record whether a transaction is open.
fn set_autocommit(lease: &mut Lease, on: bool) -> Result<()> {
    lease
        .connection()?
        .set_autocommit(on)
        .map_err(|e| odbc_error(e, "switching autocommit"))?;
    lease.set_in_transaction(!on);
    Ok(())
}

impl OdbcConnection {
    /// Start a transaction.
    ///
    /// # Errors
    /// A driver without transactions; a failed connect.
    pub async fn session(&self) -> Result<Session<'_>> {
        let (pool, run) = self.pool_and_run().await?;
        let lease = pool.lease().await.map_err(|e| self.base.masked(e))?;
        let (lease, begun) =
            on_blocking_thread(lease, |lease| set_autocommit(lease, false)).await?;
        begun.map_err(|e| self.base.masked(e))?;
        Ok(Session {
            conn: self,
            lease: Some(lease),
            run,
        })
    }
}

impl Session<'_> {
    /// Run `work` with the session's connection on a blocking thread.
    async fn run<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&OdbcHandle, &Run) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let lease = self
            .lease
            .take()
            .ok_or_else(|| Error::internal("a session used after it ended"))?;
        let run = self.run.clone();
        let (lease, out) =
            on_blocking_thread(lease, move |lease| work(lease.connection()?, &run)).await?;
        self.lease = Some(lease);
        out.map_err(|e| self.conn.base.masked(e))
    }

    /// Run a statement that changes data; the rows it changed (0 when the driver does not say).
    ///
    /// # Errors
    /// Parameter errors; the driver's error (on PostgreSQL the transaction is then aborted:
    /// roll back).
    pub async fn execute(&mut self, sql: &str, params: Params) -> Result<u64> {
        let statement =
            rewrite(sql, &params, self.run.dialect).map_err(|e| self.conn.base.masked(e))?;
        self.run(move |conn, run| update(conn, &statement, run))
            .await
    }

    /// Run a statement that returns rows (reads see the session's own writes), uncached.
    ///
    /// # Errors
    /// As [`Session::execute`].
    pub async fn query(&mut self, sql: &str, params: Params) -> Result<Table> {
        let statement =
            rewrite(sql, &params, self.run.dialect).map_err(|e| self.conn.base.masked(e))?;
        self.run(move |conn, run| read_table(conn, &statement, run, None))
            .await
    }

    /// Apply every statement of the session, and drop the connection's cached reads.
    ///
    /// # Errors
    /// The driver's refusal; nothing is applied then.
    pub async fn commit(mut self) -> Result<()> {
        let result = self.end(true).await;
        self.conn.base.cache().invalidate().await;
        result
    }

    /// Undo every statement of the session.
    ///
    /// # Errors
    /// The driver's refusal (the connection is then closed, which undoes them too).
    pub async fn rollback(mut self) -> Result<()> {
        self.end(false).await
    }

    async fn end(&mut self, commit: bool) -> Result<()> {
        let lease = self
            .lease
            .take()
            .ok_or_else(|| Error::internal("a session ended twice"))?;
        // A lease still in a transaction when dropped (the commit or the switch back to
        // autocommit failed) is closed, not reused.
        let (_lease, out) = on_blocking_thread(lease, move |lease| {
            let conn = lease.connection()?;
            let ended = if commit {
                conn.commit()
            } else {
                conn.rollback()
            };
            ended.map_err(|e| odbc_error(e, if commit { "committing" } else { "rolling back" }))?;
            set_autocommit(lease, true)
        })
        .await?;
        out.map_err(|e| self.conn.base.masked(e))
    }
}
