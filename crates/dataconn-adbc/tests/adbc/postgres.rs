//! The ADBC PostgreSQL driver against the machine's PostgreSQL: typed parameters, results
//! checked value by value against the native SQL connector, ingest, sessions, streams, errors.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use dataconn_adbc::{AdbcConnection, WriteMode};
use dataconn_core::{Connections, ErrorKind, Params, Table, Value, params};
use futures::StreamExt;

use crate::conformance::{postgres_schema, with_schema};
use crate::peers::{self, texts};

/// A connection to a schema of its own for `label`, and the URI of that schema.
async fn open(label: &str) -> Option<(Connections, Arc<AdbcConnection>, String)> {
    open_with(label, 2).await
}

/// [`open`] with a pool of `max_connections`.
async fn open_with(
    label: &str,
    max_connections: usize,
) -> Option<(Connections, Arc<AdbcConnection>, String)> {
    let (driver, url) = peers::postgres()?;
    let schema = {
        let (driver, url, label) = (driver.clone(), url.clone(), label.to_owned());
        tokio::task::spawn_blocking(move || postgres_schema(&driver, &url, &label))
            .await
            .unwrap()
    };
    let uri = with_schema(&url, &schema);
    let hub = peers::hub(
        "pg",
        "adbc",
        &peers::table(&format!(
            "driver = {driver:?}\nuri = {uri:?}\nmax_connections = {max_connections}\n"
        )),
    );
    let conn = hub
        .connection::<AdbcConnection>("pg")
        .await
        .expect("connects");
    Some((hub, conn, uri))
}

#[tokio::test]
async fn typed_parameters_and_nulls_are_bound_not_spliced() {
    let Some((_hub, conn, _)) = open("params").await else {
        return;
    };
    let table = conn
        .query(
            "select :i::int8 + 1 as i, :f::float8 * 2 as f, :t::text as t, :n::text as n, \
             :b::bool as b, :d::date as d, :ts::timestamptz as ts, :dec::numeric = 12.50 as dec, \
             :t = 'it''s; drop table x' as same",
        )
        .params(params! {
            i: 41,
            f: 1.25,
            t: "it's; drop table x",
            n: Value::Null,
            b: true,
            d: Value::Date(chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()),
            ts: Value::TimestampTz(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap()),
            dec: Value::decimal("12.50").unwrap(),
        })
        .await
        .expect("the query runs");
    let one = |c: &str| texts(&table, c).remove(0);
    assert_eq!(one("i").as_deref(), Some("42"));
    assert_eq!(one("f").as_deref(), Some("2.5"));
    assert_eq!(one("t").as_deref(), Some("it's; drop table x"));
    assert_eq!(one("n"), None);
    assert_eq!(one("b").as_deref(), Some("true"));
    assert_eq!(one("d").as_deref(), Some("2024-02-29"));
    assert!(
        one("ts").unwrap().starts_with("2023-11-14T22:13:20"),
        "{:?}",
        one("ts")
    );
    // The driver sends the decimal's value exactly (it drops trailing zeros of the scale).
    assert_eq!(one("dec").as_deref(), Some("true"));
    assert_eq!(one("same").as_deref(), Some("true"));
}

#[tokio::test]
async fn results_match_the_native_connector_value_by_value() {
    let Some((_hub, conn, uri)) = open("native").await else {
        return;
    };
    let sql = "select g as id, g * 1.5::float8 as score, \
               case when g % 5 = 0 then null else 'n' || g end as name, g % 2 = 0 as flag, \
               date '2024-01-01' + g as day, timestamp '2024-01-01 00:00:00' + g * interval '1 minute' as at, \
               (g + 0.25)::numeric(10, 2) as amount \
               from generate_series(0, 999) as g order by g";
    let through_adbc = conn.query(sql).await.expect("adbc reads");
    // The query reads no table: the server's URL without the schema option serves.
    let native = peers::native_postgres(uri.split('?').next().unwrap_or(&uri)).await;
    let through_sqlx = native.query(sql).await.expect("the native connector reads");
    assert_eq!(through_adbc.num_rows(), 1000);
    for column in ["id", "score", "name", "flag", "day", "at", "amount"] {
        assert_eq!(
            texts(&through_adbc, column),
            texts(&through_sqlx, column),
            "column {column}"
        );
    }
}

#[tokio::test]
async fn ingest_creates_appends_and_replaces() {
    let Some((_hub, conn, _)) = open("ingest").await else {
        return;
    };
    let rows = |ids: &[i64]| {
        let id: ArrayRef = Arc::new(Int64Array::from(ids.to_vec()));
        let x: ArrayRef = Arc::new(Float64Array::from(
            ids.iter().map(|i| *i as f64 / 2.0).collect::<Vec<_>>(),
        ));
        let s: ArrayRef = Arc::new(StringArray::from(
            ids.iter()
                .map(|i| Some(format!("r{i}")))
                .collect::<Vec<_>>(),
        ));
        Table::from_columns([("id", id), ("x", x), ("s", s)]).unwrap()
    };
    let count = || async {
        conn.query("select count(*) as n from ingested")
            .ttl(0)
            .await
            .map(|t| texts(&t, "n"))
    };
    assert_eq!(
        conn.write_table(&rows(&[1, 2, 3]), "ingested", WriteMode::Create)
            .await
            .unwrap(),
        3
    );
    let err = conn
        .write_table(&rows(&[4]), "ingested", WriteMode::Create)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ingested"), "{err}");
    conn.write_table(&rows(&[4, 5]), "ingested", WriteMode::Append)
        .await
        .unwrap();
    assert_eq!(count().await.unwrap(), [Some("5".to_owned())]);
    conn.write_table(&rows(&[9]), "ingested", WriteMode::Replace)
        .await
        .unwrap();
    let back = conn
        .query("select id, x, s from ingested")
        .ttl(0)
        .await
        .unwrap();
    assert_eq!(
        (texts(&back, "id"), texts(&back, "x"), texts(&back, "s")),
        (
            vec![Some("9".into())],
            vec![Some("4.5".into())],
            vec![Some("r9".into())]
        )
    );
    conn.write_table(&rows(&[10]), "fresh", WriteMode::CreateAppend)
        .await
        .unwrap();
    conn.write_table(&rows(&[11]), "fresh", WriteMode::CreateAppend)
        .await
        .unwrap();
    let fresh = conn.query("select count(*) as n from fresh").await.unwrap();
    assert_eq!(texts(&fresh, "n"), [Some("2".to_owned())]);
}

#[tokio::test]
async fn writes_drop_cached_reads_and_sessions_commit_or_roll_back() {
    let Some((_hub, conn, _)) = open("session").await else {
        return;
    };
    conn.execute("create table t (v int8)", Params::new())
        .await
        .unwrap();
    let read = || async {
        texts(
            &conn.query("select count(*) as n from t").await.unwrap(),
            "n",
        )
    };
    assert_eq!(read().await, [Some("0".to_owned())]);
    assert_eq!(
        conn.execute("insert into t values (:v), (:v)", params! { v: 7 })
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        read().await,
        [Some("2".to_owned())],
        "execute drops the cached count"
    );

    let mut session = conn.session().await.unwrap();
    session
        .execute("insert into t values (1)", Params::new())
        .await
        .unwrap();
    let inside = session
        .query("select count(*) as n from t", Params::new())
        .await
        .unwrap();
    assert_eq!(
        texts(&inside, "n"),
        [Some("3".to_owned())],
        "a session sees its own writes"
    );
    session.rollback().await.unwrap();
    assert_eq!(read().await, [Some("2".to_owned())]);

    let mut session = conn.session().await.unwrap();
    session
        .execute("insert into t values (1)", Params::new())
        .await
        .unwrap();
    drop(session);
    assert_eq!(
        read().await,
        [Some("2".to_owned())],
        "a dropped session applies nothing"
    );

    let mut session = conn.session().await.unwrap();
    session
        .execute("insert into t values (:v)", params! { v: 3 })
        .await
        .unwrap();
    session.commit().await.unwrap();
    assert_eq!(
        read().await,
        [Some("3".to_owned())],
        "commit applies and drops cached reads"
    );
}

#[tokio::test]
async fn a_stream_yields_every_row_in_batches() {
    let Some((_hub, conn, _)) = open("stream").await else {
        return;
    };
    let mut stream = conn
        .query_stream(
            "select g, repeat('x', 100) as pad from generate_series(1, 200000) as g",
            Params::new(),
        )
        .await
        .unwrap();
    let (mut rows, mut batches) = (0, 0);
    while let Some(batch) = stream.next().await {
        rows += batch.unwrap().num_rows();
        batches += 1;
    }
    assert_eq!(rows, 200_000);
    assert!(batches > 1, "a large result comes in more than one batch");
    // The connection went back to the pool: the next query runs.
    assert_eq!(
        texts(&conn.query("select 1 as one").await.unwrap(), "one"),
        [Some("1".to_owned())]
    );
}

#[tokio::test]
async fn errors_name_the_sqlstate_and_query_refuses_writes() {
    let Some((_hub, conn, _)) = open("errors").await else {
        return;
    };
    let err = conn
        .query("select 1 / :zero as x")
        .param("zero", 0)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("SQLSTATE 22012"), "{msg}");
    assert!(
        err.context()
            .iter()
            .any(|(k, v)| *k == "sqlstate" && v == "22012"),
        "{err:?}"
    );
    assert_eq!(err.connection(), Some("pg"));

    let err = conn.query("delete from nowhere").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains("execute()"), "{err}");

    let err = conn
        .query("select :a + :b as s")
        .param("a", 1)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parameter);
    assert!(err.to_string().contains(":b"), "{err}");
}

#[tokio::test]
async fn a_wrong_password_is_masked_and_a_missing_driver_lists_where_it_looked() {
    let Some((driver, _)) = peers::postgres() else {
        return;
    };
    // The server takes any password (trust auth) and echoes bad input back: an error that
    // would carry the password shows it masked.
    let (_, url) = peers::postgres().expect("checked above");
    let uri = url.replacen("://postgres@", "://postgres:hunter2-pw@", 1);
    assert!(uri.contains("hunter2-pw"), "{uri}");
    let hub = peers::hub(
        "pg",
        "adbc",
        &peers::table(&format!("driver = {driver:?}\nuri = {uri:?}\n")),
    );
    let conn = hub.connection::<AdbcConnection>("pg").await.unwrap();
    let err = conn
        .query("select 'hunter2-pw'::int as n")
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2-pw"), "{err}");
    assert!(!format!("{err:?}").contains("hunter2-pw"), "{err:?}");
    assert!(
        err.to_string().contains("\"***\""),
        "the server echoed the value, masked: {err}"
    );
    assert_eq!(err.connection(), Some("pg"));

    let hub = peers::hub(
        "x",
        "adbc",
        &peers::table("driver = \"no_such_driver_anywhere\"\n"),
    );
    let err = hub.connect("x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("/etc/adbc/drivers/no_such_driver_anywhere.toml"),
        "{msg}"
    );
    assert!(
        msg.contains("pip install adbc-driver-no_such_driver_anywhere"),
        "{msg}"
    );
}
