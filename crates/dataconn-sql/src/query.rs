//! Reads and writes outside sessions: [`Query`] (`fetch`, the uncached read behind `query()`,
//! and `fetch_head`), `query_stream`, `execute` and `execute_many`, with retries.
//!
//! Reads are retried on any temporary failure (a dropped connection, a restarted server, a
//! pool timeout, a serialization failure). Writes are retried only when they surely did not
//! apply: the connection could not be had, or the server rolled the statement back (deadlock,
//! serialization failure, lock timeout). A write whose connection broke mid-way is not
//! retried, since it may have committed.

use arrow::array::RecordBatch;
use async_trait::async_trait;
use dataconn_core::{Error, Params, Query, Result, Table, Ttl, rewrite};
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::mpsc;

use crate::connection::SqlConnection;
use crate::session::{Isolation, Session};
use crate::sink::{Sink, kept};

/// Refuse a `query()` or `query_stream` that would write, before anything runs.
fn ensure_read(conn: &SqlConnection, sql: &str) -> Result<()> {
    let dialect = conn.settings().address.dialect();
    dataconn_core::raw::ensure_read(sql, dialect).map_err(|e| conn.base.masked(e))
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
            .run(
                || execute_once(self, sql, &params),
                crate::error::rolled_back,
            )
            .await;
        // Invalidate even on failure: a multi-statement write may have partly applied.
        self.invalidate().await;
        result.map_err(|e| self.base.masked(e))
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
            .run(
                || execute_batch(self, sql, &batch),
                crate::error::rolled_back,
            )
            .await;
        // Invalidate even on failure: a statement may have applied before the error.
        self.invalidate().await;
        result.map_err(|e| self.base.masked(e))
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
        let driver = self.driver().await?;
        let statement = rewrite(sql, &params, driver.dialect()).map_err(|e| self.base.masked(e))?;
        let batch_rows = self.settings().batch_rows;
        let (tx, rx) = mpsc::channel::<Result<RecordBatch>>(2);
        let errors = tx.clone();
        let masked = self.base.masker();
        tokio::spawn(async move {
            if let Err(e) = driver.read(statement, batch_rows, Sink::Send(tx)).await {
                // A reader that has gone needs no error either.
                let _ = errors.send(Err(masked(e))).await;
            }
        });
        Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })))
    }
}

#[async_trait]
impl Query for SqlConnection {
    /// Run a read uncached, retrying temporary failures; `query()` puts the cache in front.
    /// SQL that writes is refused before anything runs.
    async fn fetch(&self, sql: &str, params: &Params) -> Result<Table> {
        ensure_read(self, sql)?;
        let policy = self.settings().retry;
        policy
            .run(|| fetch_once(self, sql, params), Error::is_temporary)
            .await
            .map_err(|e| self.base.masked(e))
    }

    /// Reads the stream only until `limit` rows have come, then drops it, which stops the
    /// server (or SQLite's stepping) a batch or two later instead of at the end.
    async fn fetch_head(&self, sql: &str, params: &Params, limit: usize) -> Result<Table> {
        let mut stream = self.query_stream(sql, params.clone()).await?;
        let mut batches = Vec::new();
        let mut rows = 0;
        // One batch at least, for the schema, even when `limit` is 0.
        while rows < limit || batches.is_empty() {
            match stream.next().await {
                Some(batch) => {
                    let batch = batch?;
                    rows += batch.num_rows();
                    batches.push(batch);
                }
                None => break,
            }
        }
        drop(stream);
        let table = match batches.first() {
            Some(first) => Table::try_new(first.schema(), batches)?,
            // No batch at all: the plain read gives the empty result with its schema.
            None => self.fetch(sql, params).await?,
        };
        Ok(table.head(limit))
    }

    fn default_ttl(&self) -> Ttl {
        self.settings().ttl
    }
}

async fn fetch_once(conn: &SqlConnection, sql: &str, params: &Params) -> Result<Table> {
    let driver = conn.driver().await?;
    let statement = rewrite(sql, params, driver.dialect())?;
    let batch_rows = conn.settings().batch_rows;
    kept(driver.read(statement, batch_rows, Sink::Keep).await?)
}

/// One write on a pooled connection, outside any transaction of ours.
async fn execute_once(conn: &SqlConnection, sql: &str, params: &Params) -> Result<u64> {
    let driver = conn.driver().await?;
    let statement = rewrite(sql, params, driver.dialect())?;
    driver.execute(statement).await
}

/// Every parameter set of a batch, in one transaction.
async fn execute_batch(conn: &SqlConnection, sql: &str, batch: &[Params]) -> Result<u64> {
    let dialect = conn.driver().await?.dialect();
    let statements = batch
        .iter()
        .map(|params| rewrite(sql, params, dialect))
        .collect::<Result<Vec<_>>>()?;
    let mut session = Session::begin(conn, Isolation::Default).await?;
    let mut total = 0;
    for statement in statements {
        total += session.execute_rewritten(statement).await?;
    }
    session.commit_quietly().await?;
    Ok(total)
}
