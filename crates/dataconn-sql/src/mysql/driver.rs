//! [`Driver`] and [`Transaction`] for MySQL and MariaDB, through sqlx's prepared statements;
//! reads through [`super::read`].

use async_trait::async_trait;
use dataconn_core::{Dialect, Result, Rewritten, Table};
use sqlx::Executor;
use sqlx::mysql::{MySqlConnection, MySqlPool};

use super::bind::bind_all;
use super::read::read;
use crate::driver::{Driver, Pool, Transaction, names, safe_sql};
use crate::error::sqlx_error;
use crate::sink::{Sink, kept};

/// An open MySQL or MariaDB pool.
pub(crate) struct MySqlDriver {
    pub(crate) pool: MySqlPool,
}

/// Run a write on a connection the caller holds; returns rows affected.
async fn execute_on(conn: &mut MySqlConnection, statement: Rewritten) -> Result<u64> {
    let names = names(&statement.names);
    let query = sqlx::query(safe_sql(statement.sql));
    let query = bind_all(query, statement.values, &names)?;
    query
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
        .map_err(sqlx_error)
}

#[async_trait]
impl Driver for MySqlDriver {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }

    fn pool(&self) -> Pool {
        Pool::MySql(self.pool.clone())
    }

    async fn read(
        &self,
        statement: Rewritten,
        batch_rows: usize,
        sink: Sink,
    ) -> Result<Option<Table>> {
        let mut conn = self.pool.acquire().await.map_err(sqlx_error)?;
        let reader = sink.clone();
        let result = read(
            &mut conn,
            &statement.sql,
            statement.values,
            &names(&statement.names),
            batch_rows,
            sink,
        )
        .await;
        // An error or a reader that stopped early can leave unread rows behind.
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
        // MySQL sets the level of the *next* transaction, so it goes before BEGIN.
        let mut conn = self.pool.acquire().await.map_err(sqlx_error)?;
        if let Some(level) = set_isolation {
            conn.execute(level).await.map_err(sqlx_error)?;
        }
        let tx = sqlx::Transaction::begin(conn, None)
            .await
            .map_err(sqlx_error)?;
        Ok(Box::new(MySqlTransaction(tx)))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

struct MySqlTransaction(sqlx::Transaction<'static, sqlx::MySql>);

#[async_trait]
impl Transaction for MySqlTransaction {
    async fn execute(&mut self, statement: Rewritten) -> Result<u64> {
        execute_on(&mut self.0, statement).await
    }

    async fn query(&mut self, statement: Rewritten, batch_rows: usize) -> Result<Table> {
        let names = names(&statement.names);
        kept(
            read(
                &mut self.0,
                &statement.sql,
                statement.values,
                &names,
                batch_rows,
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
