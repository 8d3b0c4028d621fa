//! Reads and writes through a driver: `query()`'s uncached read, `query_stream`, `execute`.
//!
//! Each runs one statement on a leased connection on a blocking thread: `:name` parameters are
//! rewritten to the dialect's placeholders and bound as a one-row Arrow batch; results come
//! back as the driver's own Arrow batches, not copied. A result is read to its end on the same
//! thread before the statement is released, as drivers such as libpq's require.

use adbc_core::{Connection as _, Statement as _};
use adbc_driver_manager::{ManagedConnection, ManagedStatement};
use arrow::array::{RecordBatch, RecordBatchReader};
use dataconn_core::raw::{
    Rewritten, ensure_no_transaction_control, ensure_read, on_blocking_thread, rewrite,
};
use dataconn_core::{Params, Result, Table};
use futures::stream::BoxStream;
use tokio::sync::mpsc;

use crate::connection::AdbcConnection;
use crate::error::{adbc_error, stream_error};
use crate::params::bind_batch;
use crate::pool::Lease;

/// A statement ready to run: its SQL set and its parameters bound.
pub(crate) fn prepare(
    conn: &mut ManagedConnection,
    statement: &Rewritten,
) -> Result<ManagedStatement> {
    let mut prepared = conn
        .new_statement()
        .map_err(|e| adbc_error(e, "creating a statement"))?;
    prepared
        .set_sql_query(&statement.sql)
        .map_err(|e| adbc_error(e, "setting the SQL"))?;
    if !statement.values.is_empty() {
        let batch = bind_batch(&statement.values, &statement.names)?;
        prepared
            .bind(batch)
            .map_err(|e| adbc_error(e, "binding the parameters"))?;
    }
    Ok(prepared)
}

/// Run a statement that returns rows and read them, at most `limit` rows (a batch or so more)
/// when one is given. A result left unread (the limit reached, an error mid-stream) may leave
/// the server still sending (a PostgreSQL `COPY`), so the connection is then closed, not
/// reused.
pub(crate) fn read_all(
    lease: &mut Lease,
    statement: &Rewritten,
    limit: Option<usize>,
) -> Result<Table> {
    let mut prepared = prepare(lease.connection()?, statement)?;
    let reader = prepared
        .execute()
        .map_err(|e| adbc_error(e, "running the query"))?;
    let schema = reader.schema();
    let mut batches = Vec::new();
    let mut rows = 0;
    for batch in reader {
        let batch = match batch {
            Ok(batch) => batch,
            Err(e) => {
                lease.discard();
                return Err(stream_error(e));
            }
        };
        rows += batch.num_rows();
        batches.push(batch);
        if limit.is_some_and(|limit| rows >= limit) {
            lease.discard();
            break;
        }
    }
    Table::try_new(schema, batches)
}

/// Run a statement that changes data; the rows it changed (0 when the driver does not say).
pub(crate) fn update(conn: &mut ManagedConnection, statement: &Rewritten) -> Result<u64> {
    let mut prepared = prepare(conn, statement)?;
    let changed = prepared
        .execute_update()
        .map_err(|e| adbc_error(e, "running the statement"))?;
    Ok(changed.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}

/// The SQL with its placeholders, checked to only read.
fn read_statement(conn: &AdbcConnection, sql: &str, params: &Params) -> Result<Rewritten> {
    let dialect = conn.settings().dialect;
    ensure_read(sql, dialect)?;
    rewrite(sql, params, dialect)
}

/// `query()`'s uncached read.
pub(crate) async fn fetch(conn: &AdbcConnection, sql: &str, params: &Params) -> Result<Table> {
    let statement = read_statement(conn, sql, params)?;
    let pool = conn.pool().await?;
    let lease = pool.lease().await?;
    let (_lease, table) = on_blocking_thread(lease, move |l| read_all(l, &statement, None)).await?;
    table
}

/// `query().limit(n)`'s uncached read: the result stops being read after `limit` rows.
pub(crate) async fn fetch_head(
    conn: &AdbcConnection,
    sql: &str,
    params: &Params,
    limit: usize,
) -> Result<Table> {
    let statement = read_statement(conn, sql, params)?;
    let pool = conn.pool().await?;
    let lease = pool.lease().await?;
    let (_lease, table) =
        on_blocking_thread(lease, move |l| read_all(l, &statement, Some(limit.max(1)))).await?;
    Ok(table?.head(limit))
}

impl AdbcConnection {
    /// Run one statement that changes data, outside a session; returns the rows it changed (0
    /// when the driver does not say) and drops this connection's cached reads.
    ///
    /// # Errors
    /// [`dataconn_core::ErrorKind::Parameter`] when the parameters do not match the SQL; the
    /// driver's error with its ADBC status and SQLSTATE.
    pub async fn execute(&self, sql: &str, params: Params) -> Result<u64> {
        let result = self.execute_once(sql, &params).await;
        self.base.cache().invalidate().await;
        result.map_err(|e| self.base.masked(e))
    }

    async fn execute_once(&self, sql: &str, params: &Params) -> Result<u64> {
        let dialect = self.settings().dialect;
        ensure_no_transaction_control(sql, dialect)?;
        let statement = rewrite(sql, params, dialect)?;
        let pool = self.pool().await?;
        pool.run(move |c| update(c, &statement)).await
    }

    /// Stream a read's record batches as the driver produces them (uncached); the driver
    /// connection stays leased until the stream ends or is dropped.
    ///
    /// # Errors
    /// Parameter errors, SQL that writes and a failed connect at once; the driver's errors
    /// while reading as the stream's items.
    pub async fn query_stream(
        &self,
        sql: &str,
        params: Params,
    ) -> Result<BoxStream<'static, Result<RecordBatch>>> {
        let statement = read_statement(self, sql, &params).map_err(|e| self.base.masked(e))?;
        let pool = self.pool().await?;
        let lease = pool.lease().await.map_err(|e| self.base.masked(e))?;
        let (tx, rx) = mpsc::channel::<Result<RecordBatch>>(2);
        let masked = self.base.masker();
        tokio::spawn(on_blocking_thread(lease, move |lease| {
            let send = |item: Result<RecordBatch>| tx.blocking_send(item.map_err(&masked)).is_ok();
            let mut prepared = match lease.connection().and_then(|c| prepare(c, &statement)) {
                Ok(prepared) => prepared,
                Err(e) => {
                    send(Err(e));
                    return Ok(());
                }
            };
            match prepared.execute() {
                Ok(reader) => {
                    for batch in reader {
                        let failed = batch.is_err();
                        // A receiver that has gone wants no more: stop reading, and close the
                        // connection rather than reuse it with a result still coming.
                        if !send(batch.map_err(stream_error)) || failed {
                            lease.discard();
                            break;
                        }
                    }
                }
                Err(e) => {
                    send(Err(adbc_error(e, "running the query")));
                }
            }
            Ok(())
        }));
        Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })))
    }
}
