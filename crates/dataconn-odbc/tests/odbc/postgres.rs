//! psqlODBC against the machine's PostgreSQL: typed parameters, results checked value by value
//! against the native SQL connector, `write_table`, sessions, streams, a killed connection,
//! bounded text, timeouts and errors.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use dataconn_core::{Connection, Connections, ErrorKind, Params, Table, Value, params};
use dataconn_odbc::{OdbcConnection, WriteMode};
use futures::StreamExt;

use crate::conformance::{fresh_namespace, postgres_section};
use crate::peers::{self, Server, texts};

/// A connection to a schema of its own for `label`, with `extra` keys laid over the section.
async fn open(label: &str, extra: &str) -> Option<(Connections, Arc<OdbcConnection>, Server)> {
    let server = peers::postgres()?;
    let section = {
        let (server, label) = (server.clone(), label.to_owned());
        tokio::task::spawn_blocking(move || {
            let schema = fresh_namespace(&server, &label, false);
            postgres_section(&server, &schema)
        })
        .await
        .unwrap()
    };
    let mut section = section;
    for (key, value) in peers::table(extra) {
        match (section.get_mut(&key), value) {
            // `[options]` in `extra` adds to the schema's options.
            (Some(toml::Value::Table(have)), toml::Value::Table(more)) => have.extend(more),
            (_, value) => {
                section.insert(key, value);
            }
        }
    }
    let hub = peers::hub("pg", &section);
    let conn = hub
        .connection::<OdbcConnection>("pg")
        .await
        .expect("connects");
    Some((hub, conn, server))
}

/// The machine's PostgreSQL as the native connector takes it.
fn native_url() -> String {
    std::env::var("DATACONN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

#[tokio::test]
async fn typed_parameters_and_nulls_are_bound_not_spliced() {
    let Some((_hub, conn, _)) = open("params", "").await else {
        return;
    };
    let table = conn
        .query(
            "select cast(:i as int8) + 1 as i, cast(:f as float8) * 2 as f, \
             cast(:t as text) as t, cast(:n as text) as n, cast(:b as bool) as b, \
             cast(:d as date) as d, cast(:ts as timestamp) as ts, \
             cast(:dec as numeric) = 12.50 as dec, cast(:t as text) = 'it''s; drop table x' as same, \
             cast(:big as numeric(30, 3)) as big",
        )
        .params(params! {
            i: 41,
            f: 1.25,
            t: "it's; drop table x",
            n: Value::Null,
            b: true,
            d: Value::Date(chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()),
            ts: Value::Timestamp(
                chrono::NaiveDate::from_ymd_opt(2023, 11, 14)
                    .unwrap()
                    .and_hms_micro_opt(22, 13, 20, 123_456)
                    .unwrap()
            ),
            dec: Value::decimal("12.50").unwrap(),
            big: Value::decimal("-12345678901234567890.123").unwrap(),
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
    assert_eq!(one("ts").as_deref(), Some("2023-11-14T22:13:20.123456"));
    assert_eq!(one("dec").as_deref(), Some("true"));
    assert_eq!(one("same").as_deref(), Some("true"));
    assert_eq!(one("big").as_deref(), Some("-12345678901234567890.123"));
}

#[tokio::test]
async fn results_match_the_native_connector_value_by_value() {
    let Some((_hub, conn, _)) = open("native", "").await else {
        return;
    };
    let sql = "select g as id, g * 1.5::float8 as score, \
               case when g % 5 = 0 then null else 'n' || g || ' ü€' end as name, \
               case when g % 7 = 0 then null else g % 2 = 0 end as flag, \
               date '2024-01-01' + g as day, \
               timestamp '2024-01-01 00:00:00.123456' + g * interval '1 minute' as at, \
               (g + 0.25)::numeric(10, 2) as amount \
               from generate_series(0, 999) as g order by g";
    let through_odbc = conn.query(sql).await.expect("odbc reads");
    let native = peers::native(&native_url()).await;
    let through_sqlx = native.query(sql).await.expect("the native connector reads");
    assert_eq!(through_odbc.num_rows(), 1000);
    for column in ["id", "score", "name", "flag", "day", "at", "amount"] {
        assert_eq!(
            texts(&through_odbc, column),
            texts(&through_sqlx, column),
            "column {column}"
        );
    }
}

/// Seven columns of every common type, NULLs in each nullable one, text beyond ASCII.
pub fn sample(ids: &[i64]) -> Table {
    let n = ids.len();
    let pick = |i: usize| i % 4 != 3;
    let id: ArrayRef = Arc::new(Int64Array::from(ids.to_vec()));
    let x: ArrayRef = Arc::new(Float64Array::from(
        (0..n)
            .map(|i| pick(i).then(|| ids[i] as f64 / 4.0))
            .collect::<Vec<_>>(),
    ));
    let s: ArrayRef = Arc::new(StringArray::from(
        (0..n)
            .map(|i| pick(i).then(|| format!("r{}; ü€ \"q\" '", ids[i])))
            .collect::<Vec<_>>(),
    ));
    let b: ArrayRef = Arc::new(BooleanArray::from(
        (0..n)
            .map(|i| pick(i).then_some(ids[i] % 2 == 0))
            .collect::<Vec<_>>(),
    ));
    let d: ArrayRef = Arc::new(Date32Array::from(
        (0..n)
            .map(|i| pick(i).then(|| 19_000 + ids[i] as i32))
            .collect::<Vec<_>>(),
    ));
    let ts: ArrayRef = Arc::new(TimestampMicrosecondArray::from(
        (0..n)
            .map(|i| pick(i).then(|| 1_700_000_000_123_456 + ids[i] * 1_000_001))
            .collect::<Vec<_>>(),
    ));
    let m: ArrayRef = Arc::new(
        Decimal128Array::from(
            (0..n)
                .map(|i| pick(i).then(|| i128::from(ids[i]) * 101 - 5000))
                .collect::<Vec<_>>(),
        )
        .with_precision_and_scale(12, 2)
        .unwrap(),
    );
    Table::from_columns([
        ("id", id),
        ("x", x),
        ("s", s),
        ("b", b),
        ("d", d),
        ("ts", ts),
        ("m", m),
    ])
    .unwrap()
}

/// Each column of two tables as text, for a value-by-value comparison.
pub fn all_texts(table: &Table) -> Vec<Vec<Option<String>>> {
    ["id", "x", "s", "b", "d", "ts", "m"]
        .iter()
        .map(|c| texts(table, c))
        .collect()
}

#[tokio::test]
async fn write_table_creates_appends_replaces_and_round_trips_every_type() {
    let Some((_hub, conn, _)) = open("write", "batch_size = 7").await else {
        return;
    };
    let first = sample(&(0..20).collect::<Vec<_>>());
    assert_eq!(
        conn.write_table(&first, "written", WriteMode::Create)
            .await
            .unwrap(),
        20
    );
    let back = conn
        .query("select id, x, s, b, d, ts, m from written order by id")
        .await
        .unwrap();
    assert_eq!(all_texts(&back), all_texts(&first));
    let err = conn
        .write_table(&first, "written", WriteMode::Create)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("written"), "{err}");
    conn.write_table(&sample(&[100, 101]), "written", WriteMode::Append)
        .await
        .unwrap();
    let count = conn
        .query("select count(*) as n from written")
        .await
        .unwrap();
    assert_eq!(
        texts(&count, "n"),
        [Some("22".to_owned())],
        "write_table drops the cached reads"
    );
    conn.write_table(&sample(&[7]), "written", WriteMode::Replace)
        .await
        .unwrap();
    let back = conn
        .query("select id, x, s, b, d, ts, m from written")
        .await
        .unwrap();
    assert_eq!(all_texts(&back), all_texts(&sample(&[7])));
    conn.write_table(&sample(&[1]), "fresh", WriteMode::CreateAppend)
        .await
        .unwrap();
    conn.write_table(&sample(&[2]), "fresh", WriteMode::CreateAppend)
        .await
        .unwrap();
    let fresh = conn.query("select count(*) as n from fresh").await.unwrap();
    assert_eq!(texts(&fresh, "n"), [Some("2".to_owned())]);
}

#[tokio::test]
async fn sessions_commit_or_roll_back_and_writes_drop_cached_reads() {
    let Some((_hub, conn, _)) = open("session", "").await else {
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
    assert_eq!(read().await, [Some("2".to_owned())]);

    let mut session = conn.session().await.unwrap();
    session
        .execute("insert into t values (:v)", params! { v: 8 })
        .await
        .unwrap();
    let inside = session
        .query("select count(*) as n from t", Params::new())
        .await
        .unwrap();
    assert_eq!(texts(&inside, "n"), [Some("3".to_owned())]);
    session.rollback().await.unwrap();
    assert_eq!(read().await, [Some("2".to_owned())], "rolled back");

    let mut session = conn.session().await.unwrap();
    session
        .execute("delete from t where v = :v", params! { v: 7 })
        .await
        .unwrap();
    session.commit().await.unwrap();
    assert_eq!(read().await, [Some("0".to_owned())], "committed");

    // A session dropped without an end is rolled back.
    let mut session = conn.session().await.unwrap();
    session
        .execute("insert into t values (1)", Params::new())
        .await
        .unwrap();
    drop(session);
    let after = conn
        .query("select count(*) as n from t")
        .ttl(0)
        .await
        .unwrap();
    assert_eq!(texts(&after, "n"), [Some("0".to_owned())]);

    let err = conn.execute("begin", Params::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    let err = conn.query("delete from t").await.unwrap_err();
    assert!(
        err.to_string().contains("read"),
        "query() only reads: {err}"
    );
}

#[tokio::test]
async fn a_killed_connection_is_replaced() {
    let Some((_hub, conn, server)) = open("killed", "max_connections = 1").await else {
        return;
    };
    let pid = |t: &Table| texts(t, "pid").remove(0).expect("a pid");
    let first = pid(&conn
        .query("select pg_backend_pid() as pid")
        .ttl(0)
        .await
        .unwrap());
    let admin = server.clone();
    let victim = first.clone();
    tokio::task::spawn_blocking(move || {
        admin.admin(&[&format!("select pg_terminate_backend({victim})")]);
    })
    .await
    .unwrap();
    // The next use may see the dead link (a connection error, never a wrong result); the one
    // after it runs on a new connection.
    let mut tries = Vec::new();
    for _ in 0..2 {
        tries.push(conn.query("select pg_backend_pid() as pid").ttl(0).await);
        if tries.last().is_some_and(Result::is_ok) {
            break;
        }
    }
    let last = tries.pop().unwrap().expect("a new connection answers");
    assert_ne!(pid(&last), first, "the killed connection was reused");
    for failed in tries {
        let err = failed.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    }
    conn.health_check().await.expect("healthy again");
}

#[tokio::test]
async fn streams_arrive_in_batches_and_a_dropped_stream_frees_its_connection() {
    let Some((_hub, conn, _)) = open("stream", "batch_size = 10000\nmax_connections = 1").await
    else {
        return;
    };
    let mut stream = conn
        .query_stream(
            "select g as id, cast('v' || g as varchar(20)) as v from generate_series(1, :n) g",
            params! { n: 200_000 },
        )
        .await
        .unwrap();
    let (mut batches, mut rows) = (0, 0);
    while let Some(batch) = stream.next().await {
        let batch = batch.unwrap();
        assert!(batch.num_rows() <= 10_000);
        batches += 1;
        rows += batch.num_rows();
    }
    assert_eq!((batches, rows), (20, 200_000));
    let mut early = conn
        .query_stream("select g from generate_series(1, 300000) g", Params::new())
        .await
        .unwrap();
    early.next().await.unwrap().unwrap();
    drop(early);
    let head = conn
        .query("select g from generate_series(1, 300000) g")
        .limit(10)
        .await
        .unwrap();
    assert_eq!(head.num_rows(), 10);
    assert_eq!(texts(&head, "g")[9].as_deref(), Some("10"));
}

#[tokio::test]
async fn a_value_beyond_its_buffer_is_an_error_not_cut_and_a_larger_bound_reads_it() {
    let Some((_hub, conn, _)) = open("long", "").await else {
        return;
    };
    conn.execute(
        "create table docs as select repeat('ab€', 30000) as body",
        Params::new(),
    )
    .await
    .unwrap();
    let err = conn.query("select body from docs").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Query, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("column `body`") && msg.contains("nothing was cut"),
        "{msg}"
    );
    // Raise psqlODBC's declared size and the buffer, and the whole value comes back.
    let Some((_hub2, wide, _)) = open(
        "long2",
        "max_text_size = 200000\n[options]\nMaxLongVarcharSize = 200000\n",
    )
    .await
    else {
        return;
    };
    wide.execute(
        "create table docs as select repeat('ab€', 30000) as body",
        Params::new(),
    )
    .await
    .unwrap();
    let body = wide.query("select body from docs").await.unwrap();
    assert_eq!(
        texts(&body, "body")[0].as_deref(),
        Some("ab€".repeat(30_000).as_str())
    );
}

#[tokio::test]
async fn errors_carry_the_sqlstate_and_a_timeout_is_a_timeout() {
    let Some((_hub, conn, _)) = open("errors", "query_timeout = 1").await else {
        return;
    };
    let err = conn.query("select 1 / 0 as x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Query);
    assert!(err.to_string().contains("SQLSTATE 22012"), "{err}");
    assert!(
        err.context()
            .iter()
            .any(|(k, v)| *k == "sqlstate" && v == "22012")
    );
    let started = std::time::Instant::now();
    let err = conn.query("select pg_sleep(10) as x").await.unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    // The connection is still usable after both.
    let ok = conn.query("select 2 as x").await.unwrap();
    assert_eq!(texts(&ok, "x"), [Some("2".to_owned())]);
}

#[tokio::test]
async fn a_refused_login_names_server_and_user_never_the_password() {
    let Some(server) = peers::postgres() else {
        return;
    };
    let mut section = server.section();
    section.extend(peers::table(
        "username = \"no_such_role_x\"\npassword = \"pw-never-shown-91\"\n",
    ));
    let hub = peers::hub("pg", &section);
    let err = hub.connect("pg").await.unwrap_err();
    let msg = format!("{err} {err:?}");
    assert_eq!(err.kind(), ErrorKind::Connect, "{msg}");
    assert!(msg.contains("as user no_such_role_x"), "{msg}");
    assert!(msg.contains(&server.host), "{msg}");
    assert!(msg.contains("SQLSTATE"), "{msg}");
    assert!(!msg.contains("pw-never-shown-91"), "{msg}");
}

#[tokio::test]
async fn an_unknown_driver_lists_the_drivers_unixodbc_knows() {
    let Some(server) = peers::postgres() else {
        return;
    };
    let hub = peers::hub(
        "x",
        &peers::table("driver = \"No Such Driver 9\"\nhost = \"127.0.0.1\"\n"),
    );
    let err = hub.connect("x").await.unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.kind(), ErrorKind::Connect, "{msg}");
    assert!(msg.contains(&server.driver), "{msg}");
    assert!(msg.contains("odbcinst -q -d"), "{msg}");
}

#[tokio::test]
async fn numerics_without_precision_read_exactly_and_a_failed_write_leaves_nothing() {
    let Some((_hub, conn, _)) = open("exact", "").await else {
        return;
    };
    let table = conn
        .query(
            "select 1.0 / 3 as third, cast(0.123456789012 as numeric) as plain, \
             cast(12.5 as numeric(10, 2)) as declared",
        )
        .await
        .unwrap();
    assert_eq!(
        texts(&table, "third")[0].as_deref(),
        Some("0.33333333333333333333")
    );
    assert_eq!(texts(&table, "plain")[0].as_deref(), Some("0.123456789012"));
    assert_eq!(texts(&table, "declared")[0].as_deref(), Some("12.50"));

    // One transaction per write_table: a row the table refuses leaves none of the others.
    conn.execute(
        "create table strict (id int8 not null, x float8)",
        Params::new(),
    )
    .await
    .unwrap();
    let ids: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(2), None]));
    let xs: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]));
    let rows = Table::from_columns([("id", ids), ("x", xs)]).unwrap();
    let err = conn
        .write_table(&rows, "strict", WriteMode::Append)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("strict"), "{err}");
    let count = conn
        .query("select count(*) as n from strict")
        .await
        .unwrap();
    assert_eq!(texts(&count, "n"), [Some("0".to_owned())]);
    // The connection went back to autocommit: a plain execute is applied at once.
    conn.execute("insert into strict values (5, 0.5)", Params::new())
        .await
        .unwrap();
    let count = conn
        .query("select count(*) as n from strict")
        .await
        .unwrap();
    assert_eq!(texts(&count, "n"), [Some("1".to_owned())]);
}

#[tokio::test]
async fn a_declared_scale_smaller_than_the_values_is_an_error_never_a_rounded_number() {
    // `NumericAs = 2` undoes dataconn's default: psqlODBC then declares a numeric without
    // precision as NUMERIC(28, 6), and 0.1234567 does not fit it.
    let Some((_hub, conn, _)) = open("scale", "[options]\nNumericAs = \"2\"\n").await else {
        return;
    };
    conn.execute(
        "create table n as select cast(v as numeric) as v from (values (1.5), (0.1234567)) t(v)",
        Params::new(),
    )
    .await
    .unwrap();
    let err = conn.query("select v from n").await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("column `v`") && msg.contains("0.1234567") && msg.contains("DECIMAL(28, 6)"),
        "{msg}"
    );
    // Values that fit the declared scale read exactly.
    let fits = conn.query("select v from n where v = 1.5").await.unwrap();
    assert_eq!(texts(&fits, "v"), [Some("1.500000".to_owned())]);
}
