//! Reads and writes through a driver: `query()`'s uncached read, `query_stream`, `execute`.
//!
//! Each runs one statement on a leased ODBC connection on a blocking thread: `:name`
//! parameters become `?` placeholders bound as typed ODBC parameters; results are fetched in
//! column batches by arrow-odbc (`batch_size` rows per round trip) straight into Arrow.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow_odbc::odbc_api::ResultSetMetadata;
use arrow_odbc::{OdbcReaderBuilder, TextEncoding, arrow_schema_from};
use dataconn_core::raw::{
    Dialect, Rewritten, ensure_no_transaction_control, ensure_read, on_blocking_thread, rewrite,
};
use dataconn_core::{Error, ErrorKind, Params, Result, Table};
use futures::stream::BoxStream;
use tokio::sync::mpsc;

use crate::config::{ReadLimits, Settings, parameter_dialect};
use crate::connection::OdbcConnection;
use crate::decimal::to_decimals;
use crate::error::{odbc_error, reader_error, stream_error};
use crate::params::parameters;
use crate::pool::OdbcHandle;

/// How one statement runs: how `:name` parameters are found, its timeout, and how its
/// result is read.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) dialect: Dialect,
    pub(crate) query_timeout: Option<usize>,
    pub(crate) read: ReadLimits,
    pub(crate) dbms: String,
}

impl Run {
    /// For a connection to a database whose driver reports itself as `dbms`: the parameter
    /// dialect follows what the server says it is, then what the section says.
    pub(crate) fn new(settings: &Settings, dbms: &str) -> Run {
        Run {
            dialect: parameter_dialect(&format!("{dbms} {}", settings.target.dbms)),
            query_timeout: settings.query_timeout,
            read: settings.read,
            dbms: dbms.to_owned(),
        }
    }

    /// The SQL with its placeholders, checked to only read.
    fn read_statement(&self, sql: &str, params: &Params) -> Result<Rewritten> {
        ensure_read(sql, self.dialect)?;
        rewrite(sql, params, self.dialect)
    }
}

/// Run `statement` and hand each batch of its result to `each` until it returns false;
/// `limit` rows at most are fetched per round trip when given. The schema, or `None` for a
/// statement without a result set.
///
/// # Errors
/// The driver's refusal (with its SQLSTATE), a column arrow-odbc cannot read, a value longer
/// than its buffer.
pub(crate) fn read(
    conn: &OdbcHandle,
    statement: &Rewritten,
    run: &Run,
    limit: Option<usize>,
    mut each: impl FnMut(RecordBatch) -> bool,
) -> Result<Option<SchemaRef>> {
    let params = parameters(&statement.values, &statement.names)?;
    let cursor = conn
        .execute(&statement.sql, params.as_slice(), run.query_timeout)
        .map_err(|e| broken_link(conn, odbc_error(e, "running the query")))?;
    let Some(mut cursor) = cursor else {
        return Ok(None);
    };
    let schema = schema_of(&mut cursor, &run.dbms)?;
    // Decimals are fetched as text and parsed here, exactly (see `decimal.rs`).
    let decimals: Vec<(usize, u8, u8)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f.data_type() {
            DataType::Decimal128(p, s) if *s >= 0 => Some((i, *p, s.unsigned_abs())),
            _ => None,
        })
        .collect();
    let fetched = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let text = decimals.iter().any(|(d, _, _)| *d == i);
                let field = f.as_ref().clone();
                if text {
                    field.with_data_type(DataType::Utf8)
                } else {
                    field
                }
            })
            .collect::<Vec<_>>(),
    ));
    let limits = run.read;
    let rows = limit.map_or(limits.batch_size, |l| l.clamp(1, limits.batch_size));
    let mut builder = OdbcReaderBuilder::new();
    builder
        .with_max_num_rows_per_batch(rows)
        .with_max_bytes_per_batch(limits.max_batch_bytes)
        .with_max_text_size(limits.max_text_size)
        .with_max_binary_size(limits.max_binary_size)
        .with_fallibale_allocations(true)
        .with_payload_text_encoding(if limits.wide_text {
            TextEncoding::Utf16
        } else {
            TextEncoding::Utf8
        })
        .with_dbms_name(run.dbms.clone())
        .with_schema(fetched);
    let reader = builder.build(cursor).map_err(reader_error)?;
    let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    for batch in reader {
        let batch = batch.map_err(|e| broken_link(conn, stream_error(e, &columns)))?;
        let batch = if decimals.is_empty() {
            batch
        } else {
            let mut arrays = batch.columns().to_vec();
            for (i, precision, scale) in &decimals {
                arrays[*i] = to_decimals(&arrays[*i], *precision, *scale, &columns[*i])?;
            }
            RecordBatch::try_new(schema.clone(), arrays)?
        };
        if !each(batch) {
            break;
        }
    }
    Ok(Some(schema))
}

/// The Arrow schema of a result: arrow-odbc's, with unsigned integer columns widened so that
/// every value fits (ODBC reports MySQL's `INT UNSIGNED` as INTEGER and `BIGINT UNSIGNED` as
/// BIGINT, which would wrap above the signed range): SMALLINT to Int32, INTEGER to Int64,
/// BIGINT to an exact Decimal128(20, 0).
fn schema_of(cursor: &mut impl ResultSetMetadata, dbms: &str) -> Result<SchemaRef> {
    let schema = arrow_schema_from(cursor, Some(dbms), false).map_err(reader_error)?;
    let mut fields = Vec::with_capacity(schema.fields().len());
    for (i, field) in schema.fields().iter().enumerate() {
        let widened = match field.data_type() {
            DataType::Int16 => Some(DataType::Int32),
            DataType::Int32 => Some(DataType::Int64),
            DataType::Int64 => Some(DataType::Decimal128(20, 0)),
            _ => None,
        };
        let column = u16::try_from(i + 1).unwrap_or(u16::MAX);
        let field = match widened {
            Some(wider) if cursor.column_is_unsigned(column).unwrap_or(false) => {
                field.as_ref().clone().with_data_type(wider)
            }
            _ => field.as_ref().clone(),
        };
        fields.push(field);
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// `err`, marked as a lost link (so the connection is closed, not reused) when the driver
/// says the connection is dead.
pub(crate) fn broken_link(conn: &OdbcHandle, err: Error) -> Error {
    if !err.is_temporary() && conn.is_dead().unwrap_or(false) {
        let lost = Error::new(ErrorKind::Connect, err.message().to_owned());
        return err
            .context()
            .iter()
            .fold(lost, |lost, (key, value)| {
                lost.with_context(key, value.clone())
            })
            .with_context("connection", "lost")
            .set_temporary(true);
    }
    err
}

/// Read the whole result of `statement` into a table (at most `limit` rows and a batch).
pub(crate) fn read_table(
    conn: &OdbcHandle,
    statement: &Rewritten,
    run: &Run,
    limit: Option<usize>,
) -> Result<Table> {
    let mut batches = Vec::new();
    let mut rows = 0;
    let schema = read(conn, statement, run, limit, |batch| {
        rows += batch.num_rows();
        batches.push(batch);
        limit.is_none_or(|limit| rows < limit)
    })?;
    match schema {
        Some(schema) => Table::try_new(schema, batches),
        None => Ok(Table::empty(std::sync::Arc::new(
            arrow::datatypes::Schema::empty(),
        ))),
    }
}

/// Run a statement that changes data; the rows it changed (0 when the driver does not say).
pub(crate) fn update(conn: &OdbcHandle, statement: &Rewritten, run: &Run) -> Result<u64> {
    let params = parameters(&statement.values, &statement.names)?;
    let mut prepared = conn
        .preallocate()
        .map_err(|e| odbc_error(e, "allocating a statement"))?;
    if let Some(seconds) = run.query_timeout {
        prepared
            .set_query_timeout_sec(seconds)
            .map_err(|e| odbc_error(e, "setting the query timeout"))?;
    }
    prepared
        .execute(&statement.sql, params.as_slice())
        .map_err(|e| broken_link(conn, odbc_error(e, "running the statement")))?;
    let changed = prepared
        .row_count()
        .map_err(|e| odbc_error(e, "counting the changed rows"))?;
    Ok(changed.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}

/// `query()`'s uncached read, at most `limit` rows when given.
pub(crate) async fn fetch(
    conn: &OdbcConnection,
    sql: &str,
    params: &Params,
    limit: Option<usize>,
) -> Result<Table> {
    let (pool, run) = conn.pool_and_run().await?;
    let statement = run.read_statement(sql, params)?;
    let lease = pool.lease().await?;
    let (_lease, table) = on_blocking_thread(lease, move |lease| {
        let conn = lease.connection()?;
        read_table(conn, &statement, &run, limit)
    })
    .await?;
    Ok(match limit {
        Some(limit) => table?.head(limit),
        None => table?,
    })
}

impl OdbcConnection {
    /// Run one statement that changes data, outside a session; returns the rows it changed (0
    /// when the driver does not say) and drops this connection's cached reads.
    ///
    /// # Errors
    /// [`ErrorKind::Parameter`] when the parameters do not match the SQL; the driver's error
    /// with its SQLSTATE and native error code.
    pub async fn execute(&self, sql: &str, params: Params) -> Result<u64> {
        let result = self.execute_once(sql, &params).await;
        self.base.cache().invalidate().await;
        result.map_err(|e| self.base.masked(e))
    }

    async fn execute_once(&self, sql: &str, params: &Params) -> Result<u64> {
        let (pool, run) = self.pool_and_run().await?;
        ensure_no_transaction_control(sql, run.dialect)?;
        let statement = rewrite(sql, params, run.dialect)?;
        pool.run(move |conn| update(conn, &statement, &run)).await
    }

    /// Stream a read's record batches as the driver fetches them (uncached); the ODBC
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
        let (pool, run) = self.pool_and_run().await?;
        let statement = run
            .read_statement(sql, &params)
            .map_err(|e| self.base.masked(e))?;
        let lease = pool.lease().await.map_err(|e| self.base.masked(e))?;
        let (tx, rx) = mpsc::channel::<Result<RecordBatch>>(2);
        let masked = self.base.masker();
        tokio::spawn(on_blocking_thread(lease, move |lease| {
            let send = |item: Result<RecordBatch>| tx.blocking_send(item.map_err(&masked)).is_ok();
            let outcome = lease
                .connection()
                .and_then(|conn| read(conn, &statement, &run, None, |batch| send(Ok(batch))));
            if let Err(e) = outcome {
                send(Err(e));
            }
            Ok(())
        }));
        Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })))
    }
}
