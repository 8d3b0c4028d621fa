//! One write statement on a connection the caller holds, per driver.

use dataconn_core::{Result, Rewritten};

/// Run a write on SQLite; returns rows affected.
#[cfg(feature = "sqlite")]
pub(crate) async fn sqlite(conn: &mut sqlx::SqliteConnection, rewritten: Rewritten) -> Result<u64> {
    let names: Vec<&str> = rewritten.names.iter().map(String::as_str).collect();
    let query = sqlx::query(crate::query::safe(rewritten.sql.clone()));
    let query = crate::sqlite::bind::bind_all(query, &rewritten.values, &names)?;
    query
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
        .map_err(crate::sqlx_error)
}

/// Run a write on PostgreSQL (prepared with the values' exact types); returns rows affected.
#[cfg(feature = "postgres")]
pub(crate) async fn postgres(conn: &mut sqlx::PgConnection, rewritten: Rewritten) -> Result<u64> {
    let names: Vec<&str> = rewritten.names.iter().map(String::as_str).collect();
    let binds = crate::postgres::bind::checked(rewritten.values, &names)?;
    let statement = crate::postgres::read::prepare_checked(conn, &rewritten.sql, &binds).await?;
    let mut query = sqlx::Statement::query(&statement);
    for bind in binds {
        query = bind.bind(query);
    }
    query
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
        .map_err(crate::sqlx_error)
}

/// Run a write on MySQL or MariaDB; returns rows affected.
#[cfg(feature = "mysql")]
pub(crate) async fn mysql(conn: &mut sqlx::MySqlConnection, rewritten: Rewritten) -> Result<u64> {
    let names: Vec<&str> = rewritten.names.iter().map(String::as_str).collect();
    let query = sqlx::query(crate::query::safe(rewritten.sql));
    let query = crate::mysql::bind::bind_all(query, rewritten.values, &names)?;
    query
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
        .map_err(crate::sqlx_error)
}
