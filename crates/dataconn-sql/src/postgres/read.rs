//! Reading PostgreSQL results into Arrow: prepare once, then stream rows or COPY.
//!
//! The statement is prepared with the exact types of the bound values, which gives the result
//! columns before any row arrives (so empty results keep their schema) and lets numeric columns
//! of tables take their declared precision and scale. Queries without parameters are read
//! through `COPY (query) TO STDOUT (FORMAT binary)`, the fastest way out of PostgreSQL; queries
//! with parameters (COPY cannot take any) go through sqlx's row stream. Both decode the same
//! binary values with [`super::decode`].

use dataconn_core::Result;
use futures::TryStreamExt;
use sqlx::postgres::{PgConnection, PgStatement};
use sqlx::{Column as _, Executor, Row, Statement, ValueRef};

use super::bind::PgBind;
use super::copy::{CopyParser, Progress};
use super::decode::{PgKind, kind_of, push};
use crate::columns::{ArrowType, Assembler, Column};
use crate::driver::safe_sql;
use crate::error::sqlx_error;
use crate::sink::Sink;

/// A prepared statement and how to decode its columns.
struct Prepared {
    statement: PgStatement,
    kinds: Vec<PgKind>,
    columns: Vec<Column>,
}

async fn prepare(conn: &mut PgConnection, sql: &str, binds: &[PgBind]) -> Result<Prepared> {
    let statement = prepare_checked(conn, sql, binds).await?;
    let mut kinds = Vec::new();
    let mut columns = Vec::new();
    for column in statement.columns() {
        let (kind, arrow_type) = kind_of(column.name(), column.type_info())?;
        kinds.push(kind);
        columns.push(Column::new(column.name(), arrow_type));
    }
    declare_numerics(conn, &statement, &mut columns).await?;
    Ok(Prepared {
        statement,
        kinds,
        columns,
    })
}

/// Prepare `sql` for exactly the types of `binds`.
pub(crate) async fn prepare_checked(
    conn: &mut PgConnection,
    sql: &str,
    binds: &[PgBind],
) -> Result<PgStatement> {
    let types: Vec<_> = binds.iter().map(PgBind::type_info).collect();
    let mut statement = conn
        .prepare_with(safe_sql(sql.to_owned()), &types)
        .await
        .map_err(sqlx_error)?;
    // sqlx caches statements by SQL text alone; the same SQL bound with other types needs a
    // fresh prepare, or the server would read the values in the wrong binary format.
    if !parameters_match(&statement, binds) {
        sqlx::Connection::clear_cached_statements(&mut *conn)
            .await
            .map_err(sqlx_error)?;
        statement = conn
            .prepare_with(safe_sql(sql.to_owned()), &types)
            .await
            .map_err(sqlx_error)?;
    }
    Ok(statement)
}

/// Whether the prepared parameter types are those of `binds` (an untyped NULL fits any).
fn parameters_match(statement: &PgStatement, binds: &[PgBind]) -> bool {
    let Some(sqlx::Either::Left(prepared)) = statement.parameters() else {
        return binds.is_empty();
    };
    prepared.len() == binds.len()
        && prepared
            .iter()
            .zip(binds)
            .all(|(p, b)| matches!(b, PgBind::Null) || *p == b.type_info())
}

/// Give numeric columns that come straight from a table their declared precision and scale.
async fn declare_numerics(
    conn: &mut PgConnection,
    statement: &PgStatement,
    columns: &mut [Column],
) -> Result<()> {
    let wanted: Vec<(usize, i64, i32)> = statement
        .columns()
        .iter()
        .enumerate()
        .filter(|(i, _)| matches!(columns[*i].arrow_type(), ArrowType::Decimal { .. }))
        .filter_map(|(i, c)| {
            Some((
                i,
                i64::from(c.relation_id()?.0),
                i32::from(c.relation_attribute_no()?),
            ))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let rels: Vec<i64> = wanted.iter().map(|w| w.1).collect();
    let atts: Vec<i32> = wanted.iter().map(|w| w.2).collect();
    let rows = sqlx::query(
        "select a.attrelid::int8, a.attnum::int4, a.atttypmod from pg_attribute a \
         join unnest($1::int8[], $2::int4[]) as w(rel, att) on a.attrelid = w.rel and a.attnum = w.att",
    )
    .bind(rels)
    .bind(atts)
    .fetch_all(&mut *conn)
    .await
    .map_err(sqlx_error)?;
    for row in rows {
        let (rel, att, typmod): (i64, i32, i32) = (row.get(0), row.get(1), row.get(2));
        let Some(&(i, _, _)) = wanted.iter().find(|w| w.1 == rel && w.2 == att) else {
            continue;
        };
        if let Some(declared) = numeric_typmod(typmod) {
            let name = columns[i].name().to_owned();
            columns[i] = Column::new(
                name,
                ArrowType::Decimal {
                    declared: Some(declared),
                },
            );
        }
    }
    Ok(())
}

/// `numeric(p, s)` from its type modifier, when Decimal128 (p ≤ 38) or Decimal256 (p ≤ 76)
/// can hold it; wider or negative-scale columns are read as unconstrained numerics.
fn numeric_typmod(typmod: i32) -> Option<(u8, i8)> {
    if typmod < 4 {
        return None;
    }
    let precision = ((typmod - 4) >> 16) & 0xffff;
    let scale = (typmod - 4) & 0xffff;
    (precision <= 76 && scale <= precision).then_some((precision as u8, scale as i8))
}

/// Whether `sql` can be wrapped in `COPY (...) TO STDOUT`: a plain query without parameters.
fn copyable(sql: &str, binds: &[PgBind]) -> bool {
    if !binds.is_empty() {
        return false;
    }
    let first = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    matches!(first.as_str(), "select" | "with" | "values" | "table")
}

/// Read `sql` with `binds` on `conn` into `sink`.
///
/// On an error the connection may hold unread data: the caller must not reuse it.
pub(crate) async fn read(
    conn: &mut PgConnection,
    sql: &str,
    binds: Vec<PgBind>,
    batch_rows: usize,
    use_copy: bool,
    mut sink: Sink,
) -> Result<Option<dataconn_core::Table>> {
    let prepared = prepare(conn, sql, &binds).await?;
    let Prepared {
        statement,
        kinds,
        columns,
    } = prepared;
    let mut assembler = Assembler::new(columns, batch_rows);
    if use_copy && copyable(sql, &binds) {
        // The newline ends a trailing `-- comment`, which would otherwise swallow the `)`.
        let copy = format!(
            "COPY ({}\n) TO STDOUT (FORMAT binary)",
            sql.trim().trim_end_matches(';')
        );
        let mut chunks = conn.copy_out_raw(&copy).await.map_err(sqlx_error)?;
        let mut parser = CopyParser::default();
        'chunks: while let Some(chunk) = chunks.try_next().await.map_err(sqlx_error)? {
            parser.feed(&chunk);
            loop {
                match parser.decode(&mut assembler, &kinds)? {
                    Progress::NeedMore => break,
                    Progress::Done => break 'chunks,
                    Progress::BatchFull => {
                        if !sink.full(&mut assembler).await? {
                            return Ok(None);
                        }
                    }
                }
            }
        }
        // Drain what is left (the server's CommandComplete) so the connection is reusable.
        while chunks.try_next().await.map_err(sqlx_error)?.is_some() {}
    } else {
        let mut query = statement.query();
        for bind in binds {
            query = bind.bind(query);
        }
        let mut rows = query.fetch(&mut *conn);
        while let Some(row) = rows.try_next().await.map_err(sqlx_error)? {
            for (i, (column, kind)) in assembler.columns().iter_mut().zip(&kinds).enumerate() {
                let value = row.try_get_raw(i).map_err(sqlx_error)?;
                let raw = if value.is_null() {
                    None
                } else {
                    Some(value.as_bytes().map_err(|e| {
                        dataconn_core::Error::internal("unreadable value")
                            .with_source(std::io::Error::other(e.to_string()))
                    })?)
                };
                push(column, kind, raw)?;
            }
            if assembler.row_done() && !sink.full(&mut assembler).await? {
                return Ok(None);
            }
        }
    }
    sink.finish(assembler).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typmod_gives_precision_and_scale() {
        assert_eq!(numeric_typmod(((12 << 16) | 2) + 4), Some((12, 2)));
        assert_eq!(numeric_typmod(-1), None);
        assert_eq!(
            numeric_typmod(((60 << 16) | 2) + 4),
            Some((60, 2)),
            "Decimal256"
        );
        assert_eq!(
            numeric_typmod(((100 << 16) | 2) + 4),
            None,
            "beyond Decimal256: decided by the values"
        );
    }

    #[test]
    fn only_plain_queries_without_parameters_use_copy() {
        assert!(copyable("  SELECT 1", &[]));
        assert!(copyable("with x as (select 1) select * from x", &[]));
        assert!(!copyable("insert into t values (1) returning *", &[]));
        assert!(!copyable("select $1", &[PgBind::Int(1)]));
    }
}
