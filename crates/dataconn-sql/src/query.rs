//! Reads and writes outside sessions: `fetch` (the uncached read behind `query()`),
//! `query_stream`, `execute` and `execute_many`, with retries.
//!
//! Reads are retried on any temporary failure (a dropped connection, a restarted server, a
//! pool timeout, a serialization failure). Writes are retried only when they surely did not
//! apply: the connection could not be had, or the server rolled the statement back (deadlock,
//! serialization failure, lock timeout). A write whose connection broke mid-way is not
//! retried, since it may have committed.

use arrow::array::RecordBatch;
use dataconn_core::{Dialect, Error, Params, Result, Rewritten, Table, rewrite};
use futures::stream::BoxStream;
use tokio::sync::mpsc;

use crate::backend::{Pool, SqlConnection};

/// The one place where runtime SQL text is handed to sqlx.
///
/// `AssertSqlSafe` is sound here: the text is the caller's own SQL with `:name` parameters
/// replaced by placeholders (or a statement dataconn builds from numbers), and every value is
/// bound, never spliced into the text.
pub(crate) fn safe(sql: String) -> sqlx::SqlStr {
    sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(sql))
}

/// The dialect of where a connection points, known before any pool is open.
fn target_dialect(target: &crate::address::Target) -> Dialect {
    match target {
        crate::address::Target::Sqlite { .. } => Dialect::Sqlite,
        crate::address::Target::Postgres(_) => Dialect::Postgres,
        crate::address::Target::MySql(_) => Dialect::MySql,
    }
}

/// Refuse a `query()` or `query_stream` that would write, before anything runs.
fn ensure_read(conn: &SqlConnection, sql: &str) -> Result<()> {
    let dialect = target_dialect(&conn.settings().target);
    crate::statement::ensure_read(sql, dialect).map_err(|e| conn.fail(e))
}

/// The driver's dialect for parameter rewriting.
pub(crate) fn dialect_of(pool: &Pool) -> Dialect {
    match pool {
        #[cfg(feature = "sqlite")]
        Pool::Sqlite(_) => Dialect::Sqlite,
        #[cfg(feature = "postgres")]
        Pool::Postgres(_) => Dialect::Postgres,
        #[cfg(feature = "mysql")]
        Pool::MySql(_) => Dialect::MySql,
    }
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
fn names(rewritten: &Rewritten) -> Vec<&str> {
    rewritten.names.iter().map(String::as_str).collect()
}

impl SqlConnection {
    /// Run one write outside a session; returns rows affected and drops cached reads.
    ///
    /// # Errors
    /// [`dataconn_core::ErrorKind::Parameter`] when the parameters do not match the SQL; the
    /// database's error as [`dataconn_core::ErrorKind::Query`].
    pub async fn execute(&self, sql: &str, params: Params) -> Result<u64> {
        let policy = self.settings().retry;
        let result = policy
            .run(|| execute_once(self, sql, &params), crate::rolled_back)
            .await;
        // Invalidate even on failure: a multi-statement write may have partly applied.
        self.invalidate().await;
        result.map_err(|e| self.fail(e))
    }

    /// Run one write for each parameter set, in one transaction; returns the total rows
    /// affected. Either every set applies or none does.
    ///
    /// # Errors
    /// As [`SqlConnection::execute`], for the first set that fails.
    pub async fn execute_many(
        &self,
        sql: &str,
        batch: impl IntoIterator<Item = Params>,
    ) -> Result<u64> {
        let batch: Vec<Params> = batch.into_iter().collect();
        let policy = self.settings().retry;
        let result = policy
            .run(|| execute_batch(self, sql, &batch), crate::rolled_back)
            .await;
        // Invalidate even on failure: a statement may have applied before the error.
        self.invalidate().await;
        result.map_err(|e| self.fail(e))
    }

    /// Start a cached query: `.param(..)`, `.ttl(..)`, then `.await`.
    ///
    /// Only reads: SQL that writes, or more than one statement, is refused with
    /// [`dataconn_core::ErrorKind::Unsupported`] before anything runs (results are cached and
    /// retried); run writes with [`SqlConnection::execute`] or in a [`crate::Session`].
    pub fn query(&self, sql: impl Into<String>) -> dataconn_core::QueryRequest<'_, Self> {
        dataconn_core::QueryExt::query(self, sql)
    }

    /// Stream a query's result as record batches of `batch_size` rows, without holding the
    /// whole result (uncached). The first batch fixes the schema.
    ///
    /// # Errors
    /// [`dataconn_core::ErrorKind::Unsupported`] for SQL that writes (use
    /// [`SqlConnection::execute`] or a [`crate::Session`]); parameter errors and a failed
    /// connect at once; errors while reading as the stream's items.
    pub async fn query_stream(
        &self,
        sql: &str,
        params: Params,
    ) -> Result<BoxStream<'static, Result<RecordBatch>>> {
        ensure_read(self, sql)?;
        let pool = self.pool().await?;
        let rewritten = rewrite(sql, &params, dialect_of(&pool)).map_err(|e| self.fail(e))?;
        let settings = self.settings();
        let (tx, rx) = mpsc::channel::<Result<RecordBatch>>(2);
        let fail = self.failer();
        let batch_rows = settings.batch_rows;
        let errors = tx.clone();
        #[cfg(any(feature = "postgres", feature = "mysql"))]
        let reader_gone = tx.clone();
        let read = async move {
            match pool {
                #[cfg(feature = "sqlite")]
                Pool::Sqlite(pool) => {
                    let request = sqlite_request(rewritten, batch_rows);
                    crate::sqlite::read::read_pooled(
                        &pool,
                        request,
                        crate::sqlite::read::Out::Stream(tx),
                    )
                    .await
                    .map(|_| ())
                }
                #[cfg(feature = "postgres")]
                Pool::Postgres(pool) => {
                    let mut conn = pool.acquire().await.map_err(crate::sqlx_error)?;
                    let binds = crate::postgres::bind::checked(
                        rewritten.values,
                        &names_owned(&rewritten.names),
                    )?;
                    let sink = crate::sink::Sink::Send(tx);
                    let result = crate::postgres::read::read(
                        &mut conn,
                        &rewritten.sql,
                        binds,
                        batch_rows,
                        settings.use_copy,
                        sink,
                    )
                    .await;
                    // An error or a reader that stopped early can leave unread data behind.
                    if result.is_err() || reader_gone.is_closed() {
                        conn.close_on_drop();
                    }
                    result.map(|_| ())
                }
                #[cfg(feature = "mysql")]
                Pool::MySql(pool) => {
                    let mut conn = pool.acquire().await.map_err(crate::sqlx_error)?;
                    let names = names_owned(&rewritten.names);
                    let sink = crate::sink::Sink::Send(tx);
                    let result = crate::mysql::read::read(
                        &mut conn,
                        &rewritten.sql,
                        rewritten.values,
                        &names,
                        batch_rows,
                        sink,
                    )
                    .await;
                    if result.is_err() || reader_gone.is_closed() {
                        conn.close_on_drop();
                    }
                    result.map(|_| ())
                }
            }
        };
        tokio::spawn(async move {
            if let Err(e) = read.await {
                // A reader that has gone needs no error either.
                let _ = errors.send(Err(fail(e))).await;
            }
        });
        Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })))
    }
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
fn names_owned(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

#[cfg(feature = "sqlite")]
fn sqlite_request(rewritten: Rewritten, batch_rows: usize) -> crate::sqlite::read::ReadRequest {
    crate::sqlite::read::ReadRequest {
        sql: rewritten.sql,
        values: rewritten.values,
        names: rewritten.names,
        batch_rows,
        batch_bytes: crate::BATCH_BYTES,
    }
}

/// Run a read uncached, retrying temporary failures; `query()` puts the cache in front.
/// SQL that writes is refused before anything runs.
pub(crate) async fn fetch(conn: &SqlConnection, sql: &str, params: &Params) -> Result<Table> {
    ensure_read(conn, sql)?;
    let policy = conn.settings().retry;
    policy
        .run(|| fetch_once(conn, sql, params), Error::is_temporary)
        .await
        .map_err(|e| conn.fail(e))
}

async fn fetch_once(conn: &SqlConnection, sql: &str, params: &Params) -> Result<Table> {
    let pool = conn.pool().await?;
    let rewritten = rewrite(sql, params, dialect_of(&pool))?;
    let settings = conn.settings();
    let batch_rows = settings.batch_rows;
    let table = match &pool {
        #[cfg(feature = "sqlite")]
        Pool::Sqlite(pool) => {
            let request = sqlite_request(rewritten, batch_rows);
            crate::sqlite::read::read_pooled(pool, request, crate::sqlite::read::Out::Keep).await?
        }
        #[cfg(feature = "postgres")]
        Pool::Postgres(pool) => {
            let binds =
                crate::postgres::bind::checked(rewritten.values.clone(), &names(&rewritten))?;
            let mut c = pool.acquire().await.map_err(crate::sqlx_error)?;
            let sink = crate::sink::Sink::Keep;
            let result = crate::postgres::read::read(
                &mut c,
                &rewritten.sql,
                binds,
                batch_rows,
                settings.use_copy,
                sink,
            )
            .await;
            if result.is_err() {
                c.close_on_drop();
            }
            result?
        }
        #[cfg(feature = "mysql")]
        Pool::MySql(pool) => {
            let mut c = pool.acquire().await.map_err(crate::sqlx_error)?;
            let names = names(&rewritten);
            let sink = crate::sink::Sink::Keep;
            let result = crate::mysql::read::read(
                &mut c,
                &rewritten.sql,
                rewritten.values.clone(),
                &names,
                batch_rows,
                sink,
            )
            .await;
            if result.is_err() {
                c.close_on_drop();
            }
            result?
        }
    };
    table.ok_or_else(|| Error::internal("a kept read returned no table"))
}

/// One write on a pooled connection, outside any transaction of ours (so statements that
/// cannot run in one, such as `CREATE DATABASE` or `VACUUM`, work).
async fn execute_once(conn: &SqlConnection, sql: &str, params: &Params) -> Result<u64> {
    let pool = conn.pool().await?;
    let rewritten = rewrite(sql, params, dialect_of(&pool))?;
    match &pool {
        #[cfg(feature = "sqlite")]
        Pool::Sqlite(pool) => {
            let mut c = pool.acquire().await.map_err(crate::sqlx_error)?;
            crate::write::sqlite(&mut c, rewritten).await
        }
        #[cfg(feature = "postgres")]
        Pool::Postgres(pool) => {
            let mut c = pool.acquire().await.map_err(crate::sqlx_error)?;
            crate::write::postgres(&mut c, rewritten).await
        }
        #[cfg(feature = "mysql")]
        Pool::MySql(pool) => {
            let mut c = pool.acquire().await.map_err(crate::sqlx_error)?;
            crate::write::mysql(&mut c, rewritten).await
        }
    }
}

/// Every parameter set of a batch, in one transaction.
async fn execute_batch(conn: &SqlConnection, sql: &str, batch: &[Params]) -> Result<u64> {
    let pool = conn.pool().await?;
    let dialect = dialect_of(&pool);
    let rewritten = batch
        .iter()
        .map(|params| rewrite(sql, params, dialect))
        .collect::<Result<Vec<_>>>()?;
    let mut session =
        crate::session::Session::begin(conn, crate::session::Isolation::Default).await?;
    let mut total = 0;
    for statement in rewritten {
        total += session.execute_rewritten(statement).await?;
    }
    session.commit_quietly().await?;
    Ok(total)
}
