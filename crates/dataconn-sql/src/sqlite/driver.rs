//! [`Driver`] and [`Transaction`] for SQLite: writes and transactions through sqlx, reads by
//! stepping the statement on sqlx's own handle ([`super::read`]).

use async_trait::async_trait;
use dataconn_core::{Dialect, Result, Rewritten, Table};
use sqlx::SqliteConnection;
use sqlx::sqlite::SqlitePool;

use super::read::{self, ReadRequest};
use crate::driver::{Driver, Pool, Transaction, names, safe_sql};
use crate::error::sqlx_error;
use crate::sink::Sink;

/// An open SQLite pool.
pub(crate) struct SqliteDriver {
    pub(crate) pool: SqlitePool,
}

fn request(statement: Rewritten, batch_rows: usize) -> ReadRequest {
    ReadRequest {
        sql: statement.sql,
        values: statement.values,
        names: statement.names,
        batch_rows,
        batch_bytes: crate::BATCH_BYTES,
    }
}

/// Run a write on a connection the caller holds; returns rows affected.
async fn execute_on(conn: &mut SqliteConnection, statement: Rewritten) -> Result<u64> {
    let query = sqlx::query(safe_sql(statement.sql));
    let query = super::bind::bind_all(query, &statement.values, &names(&statement.names))?;
    query
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
        .map_err(sqlx_error)
}

#[async_trait]
impl Driver for SqliteDriver {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn pool(&self) -> Pool {
        Pool::Sqlite(self.pool.clone())
    }

    async fn read(
        &self,
        statement: Rewritten,
        batch_rows: usize,
        sink: Sink,
    ) -> Result<Option<Table>> {
        read::read_pooled(&self.pool, request(statement, batch_rows), sink).await
    }

    async fn execute(&self, statement: Rewritten) -> Result<u64> {
        let mut conn = self.pool.acquire().await.map_err(sqlx_error)?;
        execute_on(&mut conn, statement).await
    }

    async fn begin(&self, _set_isolation: Option<&'static str>) -> Result<Box<dyn Transaction>> {
        // SQLite transactions are always serializable, the strictest level.
        let tx = self.pool.begin().await.map_err(sqlx_error)?;
        Ok(Box::new(SqliteTransaction(tx)))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

struct SqliteTransaction(sqlx::Transaction<'static, sqlx::Sqlite>);

#[async_trait]
impl Transaction for SqliteTransaction {
    async fn execute(&mut self, statement: Rewritten) -> Result<u64> {
        execute_on(&mut self.0, statement).await
    }

    async fn query(&mut self, statement: Rewritten, batch_rows: usize) -> Result<Table> {
        read::read_on(&mut self.0, &request(statement, batch_rows)).await
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.0.commit().await.map_err(sqlx_error)
    }

    async fn rollback(self: Box<Self>) -> Result<()> {
        self.0.rollback().await.map_err(sqlx_error)
    }
}
