//! The SQLite read path: step the statement straight into Arrow builders.
//!
//! sqlx's row-by-row path costs several times the floor for big reads (see BUILD-NOTES.md), so
//! reads borrow sqlx's own connection handle (`lock_handle`, which keeps sqlx's worker off it)
//! and step the prepared statement through rusqlite on a blocking thread. sqlx still owns
//! connecting, pooling, sessions and writes; the handle is never closed here.

use std::ptr::NonNull;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema};
use dataconn_core::{Error, ErrorKind, Result, Table, Value};
use rusqlite::ToSql;
use rusqlite::types::ToSqlOutput;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqlitePool;

use super::columns::{ColumnBuilder, Kind, cast_to};
use crate::error::sqlx_error;
use crate::sink::{Sink, kept};

/// A raw SQLite handle moved to the blocking thread that steps it.
struct RawHandle(NonNull<rusqlite::ffi::sqlite3>);

// SAFETY: the handle is used by exactly one thread at a time: the async task holds sqlx's
// handle lock (so sqlx's worker cannot touch it) until the blocking thread has finished.
unsafe impl Send for RawHandle {}

/// One read: the rewritten SQL, its values and their names (for messages).
pub(crate) struct ReadRequest {
    pub(crate) sql: String,
    pub(crate) values: Vec<Value>,
    pub(crate) names: Vec<String>,
    pub(crate) batch_rows: usize,
    /// Bytes of text or blobs in one column after which a batch is cut early
    /// ([`crate::BATCH_BYTES`]; lower in tests).
    pub(crate) batch_bytes: usize,
}

/// Read through a pooled connection, on a blocking thread.
///
/// The work runs in its own task so that dropping the caller's future cannot release the
/// connection while the blocking thread still steps on it.
pub(crate) async fn read_pooled(
    pool: &SqlitePool,
    request: ReadRequest,
    sink: Sink,
) -> Result<Option<Table>> {
    let pool = pool.clone();
    let task = tokio::spawn(async move {
        let mut conn = pool.acquire().await.map_err(sqlx_error)?;
        let mut locked = conn.lock_handle().await.map_err(sqlx_error)?;
        let handle = RawHandle(locked.as_raw_handle());
        let stepped = tokio::task::spawn_blocking(move || {
            let handle = handle;
            // SAFETY: see `RawHandle`; the lock is held until this closure returns.
            unsafe { read_raw(handle.0, &request, sink) }
        })
        .await;
        drop(locked);
        stepped.map_err(|e| Error::internal("the SQLite read thread failed").with_source(e))?
    });
    task.await
        .map_err(|e| Error::internal("the SQLite read task failed").with_source(e))?
}

/// Read on a connection the caller holds (a session's transaction), on the current thread.
pub(crate) async fn read_on(conn: &mut SqliteConnection, request: &ReadRequest) -> Result<Table> {
    let mut locked = conn.lock_handle().await.map_err(sqlx_error)?;
    let raw = locked.as_raw_handle();
    // SAFETY: `locked` keeps sqlx's worker off the handle for the whole synchronous read.
    kept(unsafe { read_raw(raw, request, Sink::Keep) }?)
}

struct Bind<'a>(super::bind::Scalar<'a>);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use super::bind::Scalar;
        use rusqlite::types::ValueRef as V;
        Ok(ToSqlOutput::Borrowed(match &self.0 {
            Scalar::Null => V::Null,
            Scalar::Integer(i) => V::Integer(*i),
            Scalar::Real(f) => V::Real(*f),
            Scalar::Text(s) => V::Text(s.as_bytes()),
            Scalar::Blob(b) => V::Blob(b),
        }))
    }
}

fn mixed_types(name: &str, before: Kind, now: Kind) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!(
            "column `{name}` holds {before:?} values in one batch and {now:?} values in another; \
             expected one Arrow type per column (CAST the column in the SQL)"
        ),
    )
}

/// Cut batches, keep or send them.
struct Batches {
    sink: Sink,
    kept: Vec<(Vec<arrow::array::ArrayRef>, Vec<Kind>)>,
    /// For a stream: the kinds of the first batch, which every later batch must fit.
    frozen: Option<Vec<Kind>>,
}

impl Batches {
    /// Cut the builders' rows; returns false when the stream's reader has gone.
    fn cut(&mut self, builders: &mut [ColumnBuilder], rows: usize) -> Result<bool> {
        let kinds: Vec<Kind> = builders.iter().map(ColumnBuilder::kind).collect();
        match &self.sink {
            Sink::Keep => {
                let columns = builders
                    .iter_mut()
                    .map(|b| {
                        let kind = b.kind();
                        b.finish(kind)
                    })
                    .collect::<Result<Vec<_>>>()?;
                self.kept.push((columns, kinds));
                Ok(true)
            }
            Sink::Send(tx) => {
                let frozen = match &self.frozen {
                    Some(frozen) => frozen.clone(),
                    None => kinds.clone(),
                };
                for (i, (now, fixed)) in kinds.iter().zip(&frozen).enumerate() {
                    if fixed.unify(*now) != Some(*fixed) {
                        return Err(mixed_types(builders[i].name(), *fixed, *now));
                    }
                }
                let columns = builders
                    .iter_mut()
                    .zip(&frozen)
                    .map(|(b, k)| b.finish(*k))
                    .collect::<Result<Vec<_>>>()?;
                let schema = schema_of(builders, &frozen);
                let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(rows));
                let batch = RecordBatch::try_new_with_options(schema, columns, &options)?;
                self.frozen = Some(frozen);
                Ok(tx.blocking_send(Ok(batch)).is_ok())
            }
        }
    }
}

fn schema_of(builders: &[ColumnBuilder], kinds: &[Kind]) -> Arc<Schema> {
    Arc::new(Schema::new(
        builders
            .iter()
            .zip(kinds)
            .map(|(b, k)| Field::new(b.name(), k.data_type(), true))
            .collect::<Vec<_>>(),
    ))
}

/// Prepare, bind and step the request's SQL on a raw handle.
///
/// # Safety
/// `raw` must be an open SQLite connection that no other thread uses until this returns.
unsafe fn read_raw(
    raw: NonNull<rusqlite::ffi::sqlite3>,
    request: &ReadRequest,
    sink: Sink,
) -> Result<Option<Table>> {
    // SAFETY: the caller guarantees exclusive use; `from_handle` does not close it on drop.
    let conn = unsafe { rusqlite::Connection::from_handle(raw.as_ptr()) }.map_err(query_error)?;
    let mut stmt = conn.prepare(&request.sql).map_err(query_error)?;
    let expected = stmt.parameter_count();
    if expected != request.values.len() {
        return Err(Error::new(
            ErrorKind::Parameter,
            format!(
                "the SQL has {expected} placeholder(s) but {} value(s) were bound; write named \
                 parameters as :name and pass them with .param(..)",
                request.values.len()
            ),
        ));
    }
    for (i, value) in request.values.iter().enumerate() {
        let name = request.names.get(i).map_or("?", String::as_str);
        stmt.raw_bind_parameter(i + 1, Bind(super::bind::scalar(value, name)?))
            .map_err(query_error)?;
    }
    let mut builders: Vec<ColumnBuilder> = stmt
        .columns()
        .iter()
        .map(|c| ColumnBuilder::new(c.name().to_owned(), Kind::from_decltype(c.decl_type())))
        .collect();

    let streaming = matches!(sink, Sink::Send(_));
    let mut batches = Batches {
        sink,
        kept: Vec::new(),
        frozen: None,
    };
    let mut in_batch = 0usize;
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next().map_err(query_error)? {
        for (i, builder) in builders.iter_mut().enumerate() {
            builder.push(row.get_ref(i).map_err(query_error)?)?;
        }
        in_batch += 1;
        // A batch is cut at `batch_rows` rows, or early once a text or blob column holds
        // BATCH_BYTES (32-bit offsets address 2 GiB).
        if in_batch == request.batch_rows
            || builders
                .iter()
                .any(|b| b.var_bytes() >= request.batch_bytes)
        {
            if !batches.cut(&mut builders, in_batch)? {
                return Ok(None);
            }
            in_batch = 0;
        }
    }
    if in_batch > 0 || (!streaming && batches.kept.is_empty()) {
        batches.cut(&mut builders, in_batch)?;
    }
    drop(rows);
    if streaming {
        return Ok(None);
    }

    // One type per column across batches: the widest any batch needed.
    let mut kinds: Vec<Kind> = builders.iter().map(ColumnBuilder::kind).collect();
    for (_, batch) in &batches.kept {
        for (i, kind) in batch.iter().enumerate() {
            kinds[i] = kinds[i]
                .unify(*kind)
                .ok_or_else(|| mixed_types(builders[i].name(), kinds[i], *kind))?;
        }
    }
    let schema = schema_of(&builders, &kinds);
    let records = batches
        .kept
        .into_iter()
        .filter(|(columns, _)| columns.first().is_some_and(|c| !c.is_empty()))
        .map(|(columns, _)| {
            let columns = columns
                .iter()
                .zip(&kinds)
                .map(|(c, k)| cast_to(c, &k.data_type()))
                .collect::<Result<Vec<_>>>()?;
            let options = arrow::array::RecordBatchOptions::new()
                .with_row_count(Some(columns.first().map_or(0, |c| c.len())));
            Ok(RecordBatch::try_new_with_options(
                schema.clone(),
                columns,
                &options,
            )?)
        })
        .collect::<Result<Vec<_>>>()?;
    Table::try_new(schema, records).map(Some)
}

fn query_error(err: rusqlite::Error) -> Error {
    Error::query(format!("SQLite rejected the query: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;

    #[test]
    fn text_batches_are_cut_early_by_bytes_and_keep_every_row() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "create table t (s text); with recursive n(i) as (select 1 union all select i + 1 \
             from n where i < 10) insert into t select 'abcd' from n;",
        )
        .unwrap();
        let request = ReadRequest {
            sql: "select s from t".into(),
            values: Vec::new(),
            names: Vec::new(),
            batch_rows: 1000,
            batch_bytes: 10,
        };
        // SAFETY: the connection is open and used by this thread only.
        let raw = NonNull::new(unsafe { conn.handle() }).unwrap();
        // SAFETY: as above.
        let table = unsafe { read_raw(raw, &request, Sink::Keep) }
            .unwrap()
            .unwrap();
        assert_eq!(table.num_rows(), 10);
        assert_eq!(
            table.batches().len(),
            4,
            "cut after every 3 rows (12 bytes)"
        );
        for batch in table.batches() {
            assert!(
                batch
                    .column(0)
                    .as_string::<i32>()
                    .iter()
                    .all(|v| v == Some("abcd"))
            );
        }
    }
}
