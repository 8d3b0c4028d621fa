//! PostgreSQL: the Arrow type table, COPY and row paths agreeing, parameters in PostgreSQL's
//! own syntax, timeouts.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Int16Type, Int32Type, Int64Type,
    IntervalMonthDayNanoType, IntervalUnit, Time64MicrosecondType, TimeUnit,
    TimestampMicrosecondType,
};
use dataconn_core::{ErrorKind, Params, Ttl, params};
use dataconn_sql::SqlConnection;
use futures::StreamExt;

use crate::backends::{Kind, backend, texts};

async fn open(label: &str, extra: &str) -> Option<std::sync::Arc<SqlConnection>> {
    let b = backend(Kind::Postgres)?;
    let hub = b.hub(label, extra).await;
    Some(
        hub.connection::<SqlConnection>(label)
            .await
            .expect("connects"),
    )
}

const CREATE: &str = "
    create type mood as enum ('sad', 'ok', 'happy');
    create table every_type (
        i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric(12, 2), nu numeric,
        b bool, t text, vc varchar(20), c char(3), nm name, by bytea, d date, tm time,
        ts timestamp, tz timestamptz, iv interval, u uuid, j json, jb jsonb, ip inet, cidr_ cidr,
        ai int4[], at text[], m mood
    );
    insert into every_type values (
        -2, 4, 8000000000, 1.5, 2.25, 1234567890.12, 3.14159265358979323846,
        true, 'text', 'varchar', 'abc', 'pg_name', '\\x00ff', '2024-02-29', '12:34:56.789',
        '2024-02-29 12:34:56.789', '2024-02-29 12:34:56.789+02', '1 year 2 days 3 seconds',
        '00000000-0000-0000-0000-000000001234', '{\"a\": 1}', '{\"b\": [2]}', '10.0.0.1', '10.0.0.0/24',
        '{1,NULL,3}', '{x,y}', 'happy'
    );
    insert into every_type default values;
";

#[tokio::test]
async fn every_mapped_type_reads_as_documented() {
    let Some(conn) = open("pg_types", "").await else {
        return;
    };
    for statement in CREATE.split(';').filter(|s| !s.trim().is_empty()) {
        conn.execute(statement, Params::new()).await.unwrap();
    }
    // Once through COPY (no parameters), once through the row path (a parameter).
    let copied = conn
        .query("select * from every_type order by i4 nulls last")
        .await
        .unwrap();
    let rows = conn
        .query("select * from every_type where :all or true order by i4 nulls last")
        .param("all", true)
        .await
        .unwrap();
    assert_eq!(copied, rows, "COPY and the row path decode alike");

    let t = copied;
    let ty = |name: &str| {
        t.schema()
            .field_with_name(name)
            .unwrap()
            .data_type()
            .clone()
    };
    assert_eq!(ty("i2"), DataType::Int16);
    assert_eq!(ty("i4"), DataType::Int32);
    assert_eq!(ty("i8"), DataType::Int64);
    assert_eq!(ty("f4"), DataType::Float32);
    assert_eq!(
        ty("n"),
        DataType::Decimal128(12, 2),
        "a declared numeric keeps precision and scale"
    );
    assert_eq!(
        ty("nu"),
        DataType::Decimal128(38, 20),
        "an unconstrained numeric takes the largest scale"
    );
    assert_eq!(ty("b"), DataType::Boolean);
    for text in ["t", "vc", "c", "nm", "ip", "cidr_", "m", "j", "jb"] {
        assert_eq!(ty(text), DataType::Utf8, "{text}");
    }
    assert_eq!(ty("by"), DataType::Binary);
    assert_eq!(ty("d"), DataType::Date32);
    assert_eq!(ty("tm"), DataType::Time64(TimeUnit::Microsecond));
    assert_eq!(ty("ts"), DataType::Timestamp(TimeUnit::Microsecond, None));
    assert_eq!(
        ty("tz"),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(ty("iv"), DataType::Interval(IntervalUnit::MonthDayNano));
    assert_eq!(ty("u"), DataType::FixedSizeBinary(16));
    assert!(matches!(ty("ai"), DataType::List(f) if f.data_type() == &DataType::Int32));
    let json_field = t.schema().field_with_name("jb").unwrap();
    assert_eq!(
        json_field
            .metadata()
            .get("ARROW:extension:name")
            .map(String::as_str),
        Some("arrow.json")
    );

    let col = |name: &str| t.column(name).unwrap();
    assert_eq!(col("i2").as_primitive::<Int16Type>().value(0), -2);
    assert_eq!(
        col("i8").as_primitive::<Int64Type>().value(0),
        8_000_000_000
    );
    assert_eq!(col("f4").as_primitive::<Float32Type>().value(0), 1.5);
    assert_eq!(
        col("n").as_primitive::<Decimal128Type>().value(0),
        123_456_789_012
    );
    assert_eq!(
        col("nu").as_primitive::<Decimal128Type>().value(0),
        314_159_265_358_979_323_846
    );
    assert_eq!(col("c").as_string::<i32>().value(0), "abc");
    assert_eq!(col("by").as_binary::<i32>().value(0), [0, 255]);
    assert_eq!(col("d").as_primitive::<Date32Type>().value(0), 19_782);
    assert_eq!(
        col("tm").as_primitive::<Time64MicrosecondType>().value(0),
        45_296_789_000
    );
    assert_eq!(
        col("ts")
            .as_primitive::<TimestampMicrosecondType>()
            .value(0),
        1_709_210_096_789_000
    );
    assert_eq!(
        col("tz")
            .as_primitive::<TimestampMicrosecondType>()
            .value(0),
        1_709_210_096_789_000 - 2 * 3_600_000_000,
        "timestamptz is the UTC instant"
    );
    let iv = col("iv")
        .as_primitive::<IntervalMonthDayNanoType>()
        .value(0);
    assert_eq!((iv.months, iv.days, iv.nanoseconds), (12, 2, 3_000_000_000));
    assert_eq!(col("u").as_fixed_size_binary().value(0)[15], 0x34);
    assert_eq!(col("jb").as_string::<i32>().value(0), "{\"b\": [2]}");
    assert_eq!(col("ip").as_string::<i32>().value(0), "10.0.0.1");
    assert_eq!(col("cidr_").as_string::<i32>().value(0), "10.0.0.0/24");
    assert_eq!(col("m").as_string::<i32>().value(0), "happy");
    let ai = col("ai");
    let ai = ai.as_list::<i32>().value(0);
    let ai = ai.as_primitive::<Int32Type>();
    assert_eq!(
        (ai.len(), ai.value(0), ai.is_null(1), ai.value(2)),
        (3, 1, true, 3)
    );

    for name in t.column_names() {
        assert!(col(name).is_null(1), "{name} keeps NULL");
    }
}

#[tokio::test]
async fn casts_dollar_quotes_and_arrays_work_with_named_parameters() {
    let Some(conn) = open("pg_syntax", "").await else {
        return;
    };
    let t = conn
        .query(
            "select :n::int2 + 1 as n, $$ :not_a_param $$ as lit, :ids::int8[] as ids, 'a:b' as s",
        )
        .param("n", 41)
        .param("ids", dataconn_core::Value::list([1i64, 2, 3]))
        .await
        .unwrap();
    assert_eq!(
        t.column("n").unwrap().as_primitive::<Int32Type>().value(0),
        42,
        "int2 + int4 is int4"
    );
    assert_eq!(
        t.column("lit").unwrap().as_string::<i32>().value(0),
        " :not_a_param "
    );
    assert_eq!(t.column("ids").unwrap().as_list::<i32>().value(0).len(), 3);
}

#[tokio::test]
async fn same_sql_with_other_parameter_types_still_binds_right() {
    let Some(conn) = open("pg_retype", "").await else {
        return;
    };
    let sql = "select :v::text as v";
    let as_int = conn.query(sql).param("v", 7).ttl(0).await.unwrap();
    let as_text = conn.query(sql).param("v", "seven").ttl(0).await.unwrap();
    let as_float = conn.query(sql).param("v", 7.5).ttl(0).await.unwrap();
    let v = |t: &dataconn_core::Table| {
        t.column("v")
            .unwrap()
            .as_string::<i32>()
            .value(0)
            .to_owned()
    };
    assert_eq!(
        (v(&as_int), v(&as_text), v(&as_float)),
        ("7".into(), "seven".into(), "7.5".into())
    );
}

#[tokio::test]
async fn unmapped_types_and_infinities_are_named_errors() {
    let Some(conn) = open("pg_unmapped", "").await else {
        return;
    };
    let err = conn.query("select point(1, 2) as p").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TypeConversion);
    assert!(
        err.message().contains("`p`") && err.message().contains("POINT"),
        "{err}"
    );
    let err = conn
        .query("select 'infinity'::timestamp as t")
        .await
        .unwrap_err();
    assert!(
        err.message().contains("`t`") && err.message().contains("infinite"),
        "{err}"
    );
    let err = conn.query("select 'NaN'::numeric as n").await.unwrap_err();
    assert!(err.message().contains("NaN"), "{err}");
}

#[tokio::test]
async fn statement_timeout_cancels_slow_statements() {
    let Some(conn) = open("pg_timeout", "statement_timeout = \"200ms\"\nretries = 0").await else {
        return;
    };
    let err = conn
        .query("select pg_sleep(5)")
        .ttl(Ttl::NoCache)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Query, "{err}");
    assert!(err.to_string().contains("statement timeout"), "{err}");
}

#[tokio::test]
async fn copy_streams_large_results_in_batches() {
    let Some(conn) = open("pg_copy_stream", "batch_size = 4096").await else {
        return;
    };
    let mut stream = conn
        .query_stream(
            "select g, g::text as s from generate_series(1, 20000) g",
            Params::new(),
        )
        .await
        .unwrap();
    let mut rows = 0;
    let mut batches = 0;
    while let Some(batch) = stream.next().await {
        let batch = batch.unwrap();
        assert!(batch.num_rows() <= 4096);
        rows += batch.num_rows();
        batches += 1;
    }
    assert_eq!((rows, batches), (20000, 5));
    // The connection is still good afterwards.
    let one = conn.query("select 1 as one").ttl(0).await.unwrap();
    assert_eq!(
        one.column("one")
            .unwrap()
            .as_primitive::<Int32Type>()
            .value(0),
        1
    );
}

#[tokio::test]
async fn a_trailing_line_comment_does_not_break_the_copy_path() {
    let Some(conn) = open("pg_copy_comment", "").await else {
        return;
    };
    let t = conn.query("select 7 as seven -- the answer").await.unwrap();
    assert_eq!(
        t.column("seven")
            .unwrap()
            .as_primitive::<Int32Type>()
            .value(0),
        7
    );
}

#[tokio::test]
async fn execute_reports_rows_and_runs_outside_transactions() {
    let Some(conn) = open("pg_exec", "").await else {
        return;
    };
    conn.execute("create table t (x int)", params! {})
        .await
        .unwrap();
    assert_eq!(
        conn.execute("insert into t select generate_series(1, 10)", params! {})
            .await
            .unwrap(),
        10
    );
    assert_eq!(
        conn.execute("delete from t where x > :k", params! { k: 4 })
            .await
            .unwrap(),
        6
    );
    // VACUUM cannot run inside a transaction block: execute must not open one.
    conn.execute("vacuum t", params! {}).await.unwrap();
}

#[tokio::test]
async fn numerics_beyond_38_digits_read_exactly_as_decimal256() {
    let Some(conn) = open("pg_wide_numeric", "").await else {
        return;
    };
    conn.execute(
        "create table w (k int, d numeric(60, 10), u numeric, small numeric(10, 2))",
        Params::new(),
    )
    .await
    .unwrap();
    conn.execute(
        "insert into w values \
         (1, '12345678901234567890123456789012345678901234567890.0123456789', \
             ('1' || repeat('0', 45) || '.5')::numeric, 1.5), \
         (2, '-0.0000000001', 0.25, null), \
         (3, null, '-98765432109876543210987654321098765432109876543210', -2.25)",
        Params::new(),
    )
    .await
    .unwrap();
    // Once through COPY, once through the row path.
    let copied = conn.query("select * from w order by k").await.unwrap();
    let rows = conn
        .query("select * from w where :all order by k")
        .param("all", true)
        .await
        .unwrap();
    assert_eq!(copied, rows, "COPY and the row path decode alike");
    let ty = |name: &str| {
        copied
            .schema()
            .field_with_name(name)
            .unwrap()
            .data_type()
            .clone()
    };
    assert_eq!(ty("d"), DataType::Decimal256(60, 10), "declared precision");
    assert_eq!(
        ty("u"),
        DataType::Decimal256(76, 2),
        "unconstrained: 50 digits before the point and 2 after need 256 bits"
    );
    assert_eq!(ty("small"), DataType::Decimal128(10, 2));
    // The server's own text at the same scales.
    let server = conn
        .query(
            "select coalesce(d::text, 'NULL') as d, coalesce(round(u, 2)::text, 'NULL') as u, \
             coalesce(small::text, 'NULL') as small from w order by k",
        )
        .await
        .unwrap();
    for column in ["d", "u", "small"] {
        assert_eq!(texts(&copied, column), texts(&server, column), "{column}");
    }
    // Narrow values of an unconstrained numeric stay Decimal128(38, s).
    let narrow = conn.query("select 1.25::numeric as n").await.unwrap();
    assert_eq!(
        narrow.schema().field(0).data_type(),
        &DataType::Decimal128(38, 2)
    );
    // Beyond 76 digits: an error naming the column.
    let err = conn
        .query("select ('1' || repeat('0', 80))::numeric as huge")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TypeConversion);
    assert!(
        err.message().contains("`huge`") && err.message().contains("76"),
        "{err}"
    );
}
