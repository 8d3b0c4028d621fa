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

/// A raw SQLite handle moved to the blocking thread that steps it.
struct RawHandle(NonNull<rusqlite::ffi::sqlite3>);

// SAFETY: the handle is used by exactly one thread at a time: the async task holds sqlx's
// handle lock (so sqlx's worker cannot touch it) until the blocking thread has finished.
unsafe impl Send for RawHandle {}

/// Read `sql` with `values` through a pooled connection, on a blocking thread.
///
/// The work runs in its own task so that dropping the caller's future cannot release the
/// connection while the blocking thread still steps on it.
pub(crate) async fn read_pooled(
    pool: &SqlitePool,
    sql: String,
    values: Vec<Value>,
    batch_rows: usize,
) -> Result<Table> {
    let pool = pool.clone();
    let task = tokio::spawn(async move {
        let mut conn = pool.acquire().await.map_err(crate::sqlx_error)?;
        let mut locked = conn.lock_handle().await.map_err(crate::sqlx_error)?;
        let handle = RawHandle(locked.as_raw_handle());
        let stepped = tokio::task::spawn_blocking(move || {
            let handle = handle;
            // SAFETY: see `RawHandle`; the lock is held until this closure returns.
            unsafe { read_raw(handle.0, &sql, &values, batch_rows) }
        })
        .await;
        drop(locked);
        stepped.map_err(|e| Error::internal("the SQLite read thread failed").with_source(e))?
    });
    task.await
        .map_err(|e| Error::internal("the SQLite read task failed").with_source(e))?
}

/// Read on a connection the caller holds (a session's transaction), on the current thread.
pub(crate) async fn read_on(
    conn: &mut SqliteConnection,
    sql: &str,
    values: &[Value],
    batch_rows: usize,
) -> Result<Table> {
    let mut locked = conn.lock_handle().await.map_err(crate::sqlx_error)?;
    let raw = locked.as_raw_handle();
    // SAFETY: `locked` keeps sqlx's worker off the handle for the whole synchronous read.
    unsafe { read_raw(raw, sql, values, batch_rows) }
}

struct Bind<'a>(&'a Value);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::ValueRef as V;
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => V::Null,
            Value::Bool(b) => V::Integer(i64::from(*b)),
            Value::Int(i) => V::Integer(*i),
            Value::Float(f) => V::Real(*f),
            Value::Text(s) => V::Text(s.as_bytes()),
            Value::Bytes(b) => V::Blob(b),
            other => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    format!("SQLite cannot bind a {} value", other.type_name()).into(),
                ));
            }
        }))
    }
}

/// Prepare, bind and step `sql` on a raw handle into a [`Table`].
///
/// # Safety
/// `raw` must be an open SQLite connection that no other thread uses until this returns.
unsafe fn read_raw(
    raw: NonNull<rusqlite::ffi::sqlite3>,
    sql: &str,
    values: &[Value],
    batch_rows: usize,
) -> Result<Table> {
    // SAFETY: the caller guarantees exclusive use; `from_handle` does not close it on drop.
    let conn = unsafe { rusqlite::Connection::from_handle(raw.as_ptr()) }.map_err(query_error)?;
    let mut stmt = conn.prepare(sql).map_err(query_error)?;
    let expected = stmt.parameter_count();
    if expected != values.len() {
        return Err(Error::new(
            ErrorKind::Parameter,
            format!(
                "the SQL has {expected} placeholder(s) but {} value(s) were bound; write named \
                 parameters as :name and pass them with .param(..)",
                values.len()
            ),
        ));
    }
    for (i, value) in values.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, Bind(value))
            .map_err(query_error)?;
    }
    let mut builders: Vec<ColumnBuilder> = stmt
        .columns()
        .iter()
        .map(|c| ColumnBuilder::new(c.name().to_owned(), Kind::from_decltype(c.decl_type())))
        .collect();
    let width = builders.len();

    let mut batches: Vec<Vec<arrow::array::ArrayRef>> = Vec::new();
    let mut batch_kinds: Vec<Vec<Kind>> = Vec::new();
    let mut in_batch = 0usize;
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next().map_err(query_error)? {
        for (i, builder) in builders.iter_mut().enumerate() {
            builder.push(row.get_ref(i).map_err(query_error)?)?;
        }
        in_batch += 1;
        if in_batch == batch_rows {
            cut_batch(&mut builders, &mut batches, &mut batch_kinds)?;
            in_batch = 0;
        }
    }
    if in_batch > 0 || batches.is_empty() {
        cut_batch(&mut builders, &mut batches, &mut batch_kinds)?;
    }
    drop(rows);

    // One type per column across batches: the widest any batch needed.
    let mut kinds: Vec<Kind> = builders.iter().map(ColumnBuilder::kind).collect();
    for batch in &batch_kinds {
        for (i, kind) in batch.iter().enumerate() {
            kinds[i] = kinds[i].unify(*kind).ok_or_else(|| {
                Error::new(
                    ErrorKind::TypeConversion,
                    format!(
                        "column `{}` holds {:?} values in one batch and {kind:?} values in \
                         another; expected one Arrow type per column (CAST the column in the SQL)",
                        builders[i].name(),
                        kinds[i]
                    ),
                )
            })?;
        }
    }
    let schema = Arc::new(Schema::new(
        (0..width)
            .map(|i| Field::new(builders[i].name(), kinds[i].data_type(), true))
            .collect::<Vec<_>>(),
    ));
    let records = batches
        .into_iter()
        .filter(|columns| columns.first().is_some_and(|c| !c.is_empty()))
        .map(|columns| {
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
    Table::try_new(schema, records)
}

fn cut_batch(
    builders: &mut [ColumnBuilder],
    batches: &mut Vec<Vec<arrow::array::ArrayRef>>,
    kinds: &mut Vec<Vec<Kind>>,
) -> Result<()> {
    let batch_kinds: Vec<Kind> = builders.iter().map(ColumnBuilder::kind).collect();
    let columns = builders
        .iter_mut()
        .map(|b| {
            let kind = b.kind();
            b.finish(kind)
        })
        .collect::<Result<Vec<_>>>()?;
    batches.push(columns);
    kinds.push(batch_kinds);
    Ok(())
}

fn query_error(err: rusqlite::Error) -> Error {
    Error::query(format!("SQLite rejected the query: {err}"))
}
