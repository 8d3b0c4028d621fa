//! Behaviour every backend must share: one test body, run on each backend in turn, so a
//! difference shows up as a failing backend.

use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type};
use dataconn_core::{Connections, ErrorKind, Params, Table, Ttl, Value, params};
use dataconn_sql::{Isolation, SqlConnection};
use futures::StreamExt;

use crate::backends::{Backend, Kind, backends};

/// `select x from ...` giving 1..=n (n ≤ 10000) on every backend, without recursive CTEs (MariaDB
/// stops recursion at 1000 iterations by default).
pub fn numbers(n: u32) -> String {
    let digits = "select 0 as x union all select 1 union all select 2 union all select 3 union all select 4 \
                  union all select 5 union all select 6 union all select 7 union all select 8 union all select 9";
    format!(
        "select a.x + 10 * b.x + 100 * c.x + 1000 * d.x + 1 as x \
         from ({digits}) a cross join ({digits}) b cross join ({digits}) c cross join ({digits}) d \
         where a.x + 10 * b.x + 100 * c.x + 1000 * d.x < {n}"
    )
}

async fn open(backend: &Backend, label: &str, extra: &str) -> (Connections, Arc<SqlConnection>) {
    let hub = backend.hub(label, extra).await;
    let conn = hub
        .connection::<SqlConnection>(label)
        .await
        .expect("connects");
    (hub, conn)
}

/// The first column of the first row as an i64, whatever integer type the backend gave.
fn scalar(t: &Table) -> i64 {
    let column = t.batches()[0].column(0);
    let column = arrow::compute::cast(column, &DataType::Int64).expect("an integer column");
    column.as_primitive::<Int64Type>().value(0)
}

async fn count(conn: &SqlConnection, table: &str) -> i64 {
    scalar(
        &conn
            .query(format!("select count(*) from {table}"))
            .ttl(Ttl::NoCache)
            .await
            .expect("count"),
    )
}

#[tokio::test]
async fn session_dropped_or_rolled_back_leaves_nothing() {
    for b in backends() {
        let (_hub, conn) = open(&b, "tx", "").await;
        conn.execute("create table t (x integer)", params! {})
            .await
            .unwrap();
        {
            let mut s = conn.session().await.unwrap();
            s.execute("insert into t values (:x)", params! { x: 1 })
                .await
                .unwrap();
            let inside = s.query("select count(*) from t", params! {}).await.unwrap();
            assert_eq!(scalar(&inside), 1, "{b:?}: the session sees its own insert");
        }
        assert_eq!(
            count(&conn, "t").await,
            0,
            "{b:?}: dropped without commit = rolled back"
        );
        let mut s = conn.session().await.unwrap();
        s.execute("insert into t values (2)", params! {})
            .await
            .unwrap();
        s.rollback().await.unwrap();
        assert_eq!(count(&conn, "t").await, 0, "{b:?}: rollback");
    }
}

#[tokio::test]
async fn writes_invalidate_cached_reads() {
    for b in backends() {
        let (hub, conn) = open(&b, "inv", "").await;
        conn.execute("create table t (x integer)", params! {})
            .await
            .unwrap();
        let cached = || async { scalar(&conn.query("select count(*) from t").await.unwrap()) };
        assert_eq!(cached().await, 0);
        let hits = hub.cache().stats().hits;
        assert_eq!(cached().await, 0);
        assert_eq!(
            hub.cache().stats().hits,
            hits + 1,
            "{b:?}: the second read is a hit"
        );

        assert_eq!(
            conn.execute("insert into t values (1), (2)", params! {})
                .await
                .unwrap(),
            2
        );
        assert_eq!(cached().await, 2, "{b:?}: execute drops cached reads");

        let mut s = conn.session().await.unwrap();
        s.execute("insert into t values (3)", params! {})
            .await
            .unwrap();
        assert_eq!(
            cached().await,
            2,
            "{b:?}: uncommitted writes are invisible outside"
        );
        s.commit().await.unwrap();
        assert_eq!(cached().await, 3, "{b:?}: commit drops cached reads");

        let n = conn
            .execute_many(
                "insert into t values (:x)",
                (10..15).map(|x| params! { x: x }),
            )
            .await
            .unwrap();
        assert_eq!(
            (n, cached().await),
            (5, 8),
            "{b:?}: execute_many inserts each set and invalidates"
        );
    }
}

#[tokio::test]
async fn execute_many_is_all_or_nothing() {
    for b in backends() {
        let (_hub, conn) = open(&b, "many", "").await;
        conn.execute("create table t (x integer primary key)", params! {})
            .await
            .unwrap();
        let err = conn
            .execute_many(
                "insert into t values (:x)",
                [1, 2, 2, 3].map(|x| params! { x: x }),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Query, "{b:?}: {err}");
        assert_eq!(
            count(&conn, "t").await,
            0,
            "{b:?}: the failed batch left nothing"
        );
    }
}

#[tokio::test]
async fn results_come_in_batches_and_streams_hold_one_batch_at_a_time() {
    let sql = numbers(2500);
    let sql = sql.as_str();
    for b in backends() {
        let (_hub, conn) = open(&b, "batches", "batch_size = 1000").await;
        let t = conn.query(sql).await.unwrap();
        let sizes: Vec<usize> = t.batches().iter().map(|b| b.num_rows()).collect();
        assert_eq!(sizes, [1000, 1000, 500], "{b:?}");

        let mut stream = conn.query_stream(sql, Params::new()).await.unwrap();
        let mut sizes = Vec::new();
        let mut total = 0i64;
        while let Some(batch) = stream.next().await {
            let batch = batch.unwrap();
            sizes.push(batch.num_rows());
            let x = arrow::compute::cast(batch.column(0), &DataType::Int64).unwrap();
            total += x.as_primitive::<Int64Type>().iter().flatten().sum::<i64>();
        }
        assert_eq!(
            sizes,
            [1000, 1000, 500],
            "{b:?}: the stream yields batch by batch"
        );
        assert_eq!(total, 2500 * 2501 / 2, "{b:?}: every row arrives once");

        // A reader that stops early releases the connection for others.
        let mut stream = conn.query_stream(sql, Params::new()).await.unwrap();
        assert!(stream.next().await.is_some());
        drop(stream);
        assert_eq!(
            scalar(&conn.query("select 41 + 1").ttl(0).await.unwrap()),
            42,
            "{b:?}"
        );
    }
}

#[tokio::test]
async fn sixteen_concurrent_cold_queries_execute_once() {
    for b in backends() {
        let (hub, conn) = open(&b, "cold", "").await;
        let sql = format!("select sum(x) from ({}) n", numbers(5000));
        let calls = (0..16).map(|_| {
            let conn = conn.clone();
            let sql = sql.clone();
            tokio::spawn(async move { conn.query(sql).await })
        });
        for result in futures::future::join_all(calls).await {
            assert_eq!(result.unwrap().unwrap().num_rows(), 1);
        }
        let stats = hub.cache().stats();
        assert_eq!(
            (stats.misses, stats.hits),
            (1, 15),
            "{b:?}: one execution, fifteen shared results"
        );
    }
}

#[tokio::test]
async fn parameter_mismatch_fails_before_anything_runs() {
    for b in backends() {
        let (_hub, conn) = open(&b, "params", "").await;
        conn.execute("create table t (x integer)", params! {})
            .await
            .unwrap();
        let err = conn
            .execute("insert into t values (:x)", params! { y: 1 })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parameter, "{b:?}");
        assert!(
            err.to_string().contains(":x") && err.to_string().contains(":y"),
            "{b:?}: {err}"
        );
        assert_eq!(count(&conn, "t").await, 0, "{b:?}");
    }
}

#[tokio::test]
async fn repeated_names_and_every_value_type_bind() {
    for b in backends() {
        let (_hub, conn) = open(&b, "binds", "").await;
        let t = conn
            .query("select :n + :n as doubled, :s as s")
            .param("n", 21)
            .param("s", "it's :not a param")
            .await
            .unwrap();
        assert_eq!(
            scalar(&t),
            42,
            "{b:?}: a repeated name binds the same value"
        );
        let s = arrow::compute::cast(t.column("s").unwrap().as_ref(), &DataType::Utf8).unwrap();
        assert_eq!(s.as_string::<i32>().value(0), "it's :not a param", "{b:?}");

        let date = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let ts = date.and_hms_micro_opt(12, 34, 56, 789).unwrap();
        conn.execute("create table n (x integer)", params! {})
            .await
            .unwrap();
        conn.execute("insert into n values (:x)", params! { x: Value::Null })
            .await
            .unwrap();
        let n = conn.query("select x from n").await.unwrap();
        assert!(
            n.column("x").unwrap().is_null(0),
            "{b:?}: NULL binds into a typed column"
        );

        let values = [
            Value::Bool(true),
            Value::Int(-7),
            Value::Float(2.5),
            Value::decimal("-12.345").unwrap(),
            Value::Text("ünïcödé".into()),
            Value::Bytes(vec![0, 255]),
            Value::Date(date),
            Value::Timestamp(ts),
            Value::TimestampTz(ts.and_utc()),
            Value::Uuid(uuid::Uuid::from_u128(0x1234)),
            Value::Json(serde_json::json!({"a": [1, 2]})),
        ];
        for v in values {
            let what = v.type_name();
            let t = conn.query("select :v as v").param("v", v).ttl(0).await;
            assert!(t.is_ok(), "{b:?}: a {what} parameter binds: {:?}", t.err());
        }
    }
}

#[tokio::test]
async fn sessions_take_an_isolation_level() {
    for b in backends() {
        let (_hub, conn) = open(&b, "iso", "").await;
        let mut s = conn.session_with(Isolation::Serializable).await.unwrap();
        let level = match b.kind {
            Kind::Sqlite => None,
            Kind::Postgres => Some("select current_setting('transaction_isolation')"),
            // MySQL sets the level of the next transaction and has no variable that shows it.
            Kind::MySql => None,
        };
        if let Some(sql) = level {
            let t = s.query(sql, params! {}).await.unwrap();
            let v = arrow::compute::cast(t.batches()[0].column(0), &DataType::Utf8).unwrap();
            let v = v
                .as_string::<i32>()
                .value(0)
                .to_ascii_lowercase()
                .replace('-', " ");
            assert_eq!(v, "serializable", "{b:?}");
        }
        s.commit().await.unwrap();
    }
}

#[tokio::test]
async fn empty_results_keep_their_columns_and_nulls_are_kept() {
    for b in backends() {
        let (_hub, conn) = open(&b, "empty", "").await;
        conn.execute("create table t (i integer, s varchar(10))", params! {})
            .await
            .unwrap();
        let t = conn.query("select i, s from t").await.unwrap();
        assert_eq!(
            (t.num_rows(), t.column_names()),
            (0, vec!["i", "s"]),
            "{b:?}"
        );
        assert!(
            matches!(
                t.schema().field(0).data_type(),
                DataType::Int32 | DataType::Int64
            ),
            "{b:?}"
        );
        conn.execute("insert into t values (null, null)", params! {})
            .await
            .unwrap();
        let t = conn.query("select i, s from t").await.unwrap();
        assert!(
            t.column("i").unwrap().is_null(0) && t.column("s").unwrap().is_null(0),
            "{b:?}"
        );
    }
}

#[tokio::test]
async fn sql_errors_name_the_connection_and_are_not_retried() {
    for b in backends() {
        let (_hub, conn) = open(&b, "errs", "").await;
        let err = conn.query("select * from no_such_table").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Query, "{b:?}");
        assert!(
            !err.is_temporary(),
            "{b:?}: a missing table is permanent, so never retried"
        );
        assert!(
            err.to_string().contains("connection `errs` (sql)"),
            "{b:?}: {err}"
        );
    }
}

#[tokio::test]
async fn writes_through_query_are_refused_before_running_and_write_nothing() {
    for b in backends() {
        let (_hub, conn) = open(&b, "ro_query", "").await;
        conn.execute("create table t (x integer)", params! {})
            .await
            .unwrap();
        conn.execute("insert into t values (1)", params! {})
            .await
            .unwrap();
        let mut writes = vec![
            "insert into t values (2)".to_owned(),
            "/* comment */ update t set x = 5".to_owned(),
            "-- a line\ndelete from t".to_owned(),
            "select 1; delete from t".to_owned(),
            "drop table t".to_owned(),
        ];
        if b.kind != Kind::MySql {
            // MySQL has no data-modifying CTEs; SQLite and PostgreSQL do.
            writes.push("with x as (select 1) delete from t".to_owned());
        }
        if b.kind == Kind::Postgres {
            writes.push("with d as (delete from t returning *) select * from d".to_owned());
        }
        for sql in &writes {
            let err = conn.query(sql.as_str()).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{b:?} {sql}: {err}");
            assert!(
                err.message().contains("execute()") && err.message().contains("session()"),
                "{b:?}: {err}"
            );
            let err = conn.query_stream(sql, Params::new()).await.err().unwrap();
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{b:?} {sql}: {err}");
        }
        let t = conn
            .query("select x from t")
            .ttl(Ttl::NoCache)
            .await
            .unwrap();
        assert_eq!(
            (t.num_rows(), scalar(&t)),
            (1, 1),
            "{b:?}: nothing was written"
        );
        // The same statements still run through execute, and reads with write-like words in
        // strings and comments run through query.
        conn.execute("update t set x = 5", params! {})
            .await
            .unwrap();
        let t = conn
            .query("select x /* ; delete from t */ from t where 'insert' <> ';'")
            .ttl(Ttl::NoCache)
            .await
            .unwrap();
        assert_eq!(scalar(&t), 5, "{b:?}");
    }
}
