//! [`Driver`] and [`Transaction`] for PostgreSQL: every statement prepared with the exact
//! types of its values; reads through [`super::read`] (binary COPY when it can).

use async_trait::async_trait;
use dataconn_core::{Dialect, Result, Rewritten, Table};
use sqlx::postgres::{PgConnection, PgPool};

use super::bind::checked;
use super::read::{prepare_checked, read};
use crate::driver::{Driver, Pool, Transaction, names};
use crate::error::sqlx_error;
use crate::sink::{Sink, kept};

/// An open PostgreSQL pool.
pub(crate) struct PgDriver {
    pub(crate) pool: PgPool,
    /// Read results without parameters through binary COPY (the `copy` option).
    pub(crate) use_copy: bool,
}

/// Run a write on a connection the caller holds; returns rows affected.
async fn execute_on(conn: &mut PgConnection, statement: Rewritten) -> Result<u64> {
    let binds = checked(statement.values, &names(&statement.names))?;
    let prepared = prepare_checked(conn, &statement.sql, &binds).await?;
    let mut query = sqlx::Statement::query(&prepared);
    for bind in binds {
        query = bind.bind(query);
    }
    query
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
        .map_err(sqlx_error)
}

#[async_trait]
impl Driver for PgDriver {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn pool(&self) -> Pool {
        Pool::Postgres(self.pool.clone())
    }

    async fn read(
        &self,
        statement: Rewritten,
        batch_rows: usize,
        sink: Sink,
    ) -> Result<Option<Table>> {
        let binds = checked(statement.values, &names(&statement.names))?;
        let mut conn = self.pool.acquire().await.map_err(sqlx_error)?;
        let reader = sink.clone();
        let result = read(
            &mut conn,
            &statement.sql,
            binds,
            batch_rows,
            self.use_copy,
            sink,
        )
        .await;
        // An error or a reader that stopped early can leave unread data behind.
        if result.is_err() || reader.reader_gone() {
            conn.close_on_drop();
        }
        result
    }

    async fn execute(&self, statement: Rewritten) -> Result<u64> {
        let mut conn = self.pool.acquire().await.map_err(sqlx_error)?;
        execute_on(&mut conn, statement).await
    }

    async fn begin(&self, set_isolation: Option<&'static str>) -> Result<Box<dyn Transaction>> {
        let mut tx = self.pool.begin().await.map_err(sqlx_error)?;
        if let Some(level) = set_isolation {
            sqlx::Executor::execute(&mut *tx, level)
                .await
                .map_err(sqlx_error)?;
        }
        Ok(Box::new(PgTransaction(tx)))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

struct PgTransaction(sqlx::Transaction<'static, sqlx::Postgres>);

#[async_trait]
impl Transaction for PgTransaction {
    async fn execute(&mut self, statement: Rewritten) -> Result<u64> {
        execute_on(&mut self.0, statement).await
    }

    /// Never through COPY: the rows of `INSERT ... RETURNING` come back here too.
    async fn query(&mut self, statement: Rewritten, batch_rows: usize) -> Result<Table> {
        let binds = checked(statement.values, &names(&statement.names))?;
        kept(
            read(
                &mut self.0,
                &statement.sql,
                binds,
                batch_rows,
                false,
                Sink::Keep,
            )
            .await?,
        )
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.0.commit().await.map_err(sqlx_error)
    }

    async fn rollback(self: Box<Self>) -> Result<()> {
        self.0.rollback().await.map_err(sqlx_error)
    }
}
