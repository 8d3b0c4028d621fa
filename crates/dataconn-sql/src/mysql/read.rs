//! Reading MySQL and MariaDB results into Arrow through sqlx's row stream.
//!
//! The statement is prepared first (sqlx caches it), which gives the result columns before any
//! row arrives, so an empty result keeps its schema.

use dataconn_core::{Result, Table, Value};
use futures::TryStreamExt;
use sqlx::mysql::MySqlConnection;
use sqlx::{Column as _, Decode, Executor, MySql, Row, Statement, ValueRef};

use super::decode::{MyKind, kind_of, push};
use crate::columns::{Assembler, Column};
use crate::driver::safe_sql;
use crate::error::sqlx_error;
use crate::sink::Sink;

/// The decoders and empty columns of a result's column definitions.
fn describe(columns: &[sqlx::mysql::MySqlColumn]) -> Result<(Vec<MyKind>, Vec<Column>)> {
    let mut kinds = Vec::with_capacity(columns.len());
    let mut out = Vec::with_capacity(columns.len());
    for column in columns {
        let (kind, arrow_type) = kind_of(column.name(), column.type_info())?;
        kinds.push(kind);
        out.push(Column::new(column.name(), arrow_type));
    }
    Ok((kinds, out))
}

/// Read `sql` with `values` on `conn` into `sink`.
///
/// On an error the connection may hold unread rows: the caller must not reuse it.
pub(crate) async fn read(
    conn: &mut MySqlConnection,
    sql: &str,
    values: Vec<Value>,
    names: &[&str],
    batch_rows: usize,
    mut sink: Sink,
) -> Result<Option<Table>> {
    let statement = conn
        .prepare(safe_sql(sql.to_owned()))
        .await
        .map_err(sqlx_error)?;
    let (mut kinds, columns) = describe(statement.columns())?;
    let mut assembler = Assembler::new(columns, batch_rows);
    let query = super::bind::bind_all(statement.query(), values, names)?;
    let mut rows = query.fetch(&mut *conn);
    let mut first = true;
    while let Some(row) = rows.try_next().await.map_err(sqlx_error)? {
        if first {
            // The server describes expressions over parameters (`? + ?`) only once it has the
            // values: the result's own column types win over the prepared ones.
            first = false;
            let (actual, columns) = describe(row.columns())?;
            if actual != kinds {
                kinds = actual;
                assembler = Assembler::new(columns, batch_rows);
            }
        }
        for (i, (column, kind)) in assembler.columns().iter_mut().zip(&kinds).enumerate() {
            let value = row.try_get_raw(i).map_err(sqlx_error)?;
            let raw = if value.is_null() {
                None
            } else {
                Some(<&[u8] as Decode<MySql>>::decode(value).map_err(|e| {
                    dataconn_core::Error::internal("an unreadable MySQL value")
                        .with_source(std::io::Error::other(e.to_string()))
                })?)
            };
            push(column, *kind, raw)?;
        }
        if assembler.row_done() && !sink.full(&mut assembler).await? {
            return Ok(None);
        }
    }
    drop(rows);
    sink.finish(assembler).await
}
