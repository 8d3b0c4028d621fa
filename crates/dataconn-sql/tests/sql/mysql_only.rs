//! MySQL and MariaDB: the Arrow type table and zero dates.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, DurationMicrosecondType, Float32Type, Int8Type,
    Int16Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType, UInt8Type, UInt64Type,
};
use dataconn_core::Params;
use dataconn_sql::SqlConnection;

use crate::backends::{Kind, backend, texts};

async fn open(label: &str) -> Option<std::sync::Arc<SqlConnection>> {
    let b = backend(Kind::MySql)?;
    let hub = b.hub(label, "").await;
    Some(
        hub.connection::<SqlConnection>(label)
            .await
            .expect("connects"),
    )
}

const CREATE: &str = "
    create table every_type (
        ti tinyint, tu tinyint unsigned, si smallint, mi mediumint, i int, bi bigint, bu bigint unsigned,
        f float, d double, dec_ decimal(12, 2), bt bit(12), c char(3), vc varchar(20), tx text,
        bn binary(2), vb varbinary(4), bl blob, dt date, dtm datetime(6), ts timestamp(6) null,
        tm time(6), yr year, js json, en enum('a', 'b'), st set('x', 'y')
    );
    insert into every_type values (
        -8, 200, -300, -70000, -2000000000, -9000000000, 18000000000000000000,
        1.5, 2.25, 1234567890.12, b'101010101010', 'abc', 'varchar', 'text',
        x'00ff', x'01', x'02', '2024-02-29', '2024-02-29 12:34:56.789', '2024-02-29 12:34:56.789',
        '-26:03:04.5', 2024, '{\"a\": 1}', 'b', 'x,y'
    );
    insert into every_type () values ()
";

#[tokio::test]
async fn every_mapped_type_reads_as_documented() {
    let Some(conn) = open("my_types").await else {
        return;
    };
    for statement in CREATE.split(';').filter(|s| !s.trim().is_empty()) {
        conn.execute(statement, Params::new()).await.unwrap();
    }
    let t = conn
        .query("select * from every_type order by i is null")
        .await
        .unwrap();
    let ty = |name: &str| {
        t.schema()
            .field_with_name(name)
            .unwrap()
            .data_type()
            .clone()
    };
    assert_eq!(ty("ti"), DataType::Int8);
    assert_eq!(ty("tu"), DataType::UInt8);
    assert_eq!(ty("si"), DataType::Int16);
    assert_eq!(ty("mi"), DataType::Int32);
    assert_eq!(ty("i"), DataType::Int32);
    assert_eq!(ty("bi"), DataType::Int64);
    assert_eq!(ty("bu"), DataType::UInt64);
    assert_eq!(ty("f"), DataType::Float32);
    assert_eq!(ty("d"), DataType::Float64);
    assert_eq!(ty("dec_"), DataType::Decimal128(38, 2));
    assert_eq!(ty("bt"), DataType::UInt64);
    for text in ["c", "vc", "tx", "en", "st"] {
        assert_eq!(ty(text), DataType::Utf8, "{text}");
    }
    for bytes in ["bn", "vb", "bl"] {
        assert_eq!(ty(bytes), DataType::Binary, "{bytes}");
    }
    assert_eq!(ty("dt"), DataType::Date32);
    assert_eq!(ty("dtm"), DataType::Timestamp(TimeUnit::Microsecond, None));
    assert_eq!(
        ty("ts"),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(ty("tm"), DataType::Duration(TimeUnit::Microsecond));
    assert_eq!(ty("yr"), DataType::Int16);

    let col = |name: &str| t.column(name).unwrap();
    assert_eq!(col("ti").as_primitive::<Int8Type>().value(0), -8);
    assert_eq!(col("tu").as_primitive::<UInt8Type>().value(0), 200);
    assert_eq!(col("si").as_primitive::<Int16Type>().value(0), -300);
    assert_eq!(col("mi").as_primitive::<Int32Type>().value(0), -70000);
    assert_eq!(
        col("bi").as_primitive::<Int64Type>().value(0),
        -9_000_000_000
    );
    assert_eq!(
        col("bu").as_primitive::<UInt64Type>().value(0),
        18_000_000_000_000_000_000
    );
    assert_eq!(col("f").as_primitive::<Float32Type>().value(0), 1.5);
    assert_eq!(
        col("dec_").as_primitive::<Decimal128Type>().value(0),
        123_456_789_012
    );
    assert_eq!(
        col("bt").as_primitive::<UInt64Type>().value(0),
        0b1010_1010_1010
    );
    assert_eq!(col("bn").as_binary::<i32>().value(0), [0, 255]);
    assert_eq!(col("dt").as_primitive::<Date32Type>().value(0), 19_782);
    assert_eq!(
        col("dtm")
            .as_primitive::<TimestampMicrosecondType>()
            .value(0),
        1_709_210_096_789_000
    );
    assert_eq!(
        col("ts")
            .as_primitive::<TimestampMicrosecondType>()
            .value(0),
        1_709_210_096_789_000
    );
    assert_eq!(
        col("tm").as_primitive::<DurationMicrosecondType>().value(0),
        -93_784_500_000
    );
    assert_eq!(col("yr").as_primitive::<Int16Type>().value(0), 2024);
    assert_eq!(col("st").as_string::<i32>().value(0), "x,y");
    for name in t.column_names() {
        assert!(col(name).is_null(1), "{name} keeps NULL");
    }
}

#[tokio::test]
async fn zero_dates_read_as_null() {
    let Some(conn) = open("my_zero").await else {
        return;
    };
    // One session, so that the relaxed sql_mode applies to every statement.
    let mut s = conn.session().await.unwrap();
    s.execute("set session sql_mode = ''", Params::new())
        .await
        .unwrap();
    s.execute("create table z (d date, dt datetime)", Params::new())
        .await
        .unwrap();
    s.execute("insert into z values ('0000-00-00', '0000-00-00 00:00:00'), ('2024-01-02', '2024-01-02 03:04:05')", Params::new())
        .await
        .unwrap();
    let t = s
        .query("select d, dt from z order by d", Params::new())
        .await
        .unwrap();
    let (d, dt) = (t.column("d").unwrap(), t.column("dt").unwrap());
    assert!(
        d.is_null(0) && dt.is_null(0),
        "a zero date has no calendar meaning: NULL"
    );
    assert!(!d.is_null(1) && !dt.is_null(1));
}

#[tokio::test]
async fn geometry_reads_as_its_binary_form() {
    let Some(conn) = open("my_unmapped").await else {
        return;
    };
    conn.execute("create table g (p point)", Params::new())
        .await
        .unwrap();
    conn.execute("insert into g values (point(1, 2))", Params::new())
        .await
        .unwrap();
    // GEOMETRY reads as its binary form.
    let t = conn.query("select p from g").await.unwrap();
    assert_eq!(t.schema().field(0).data_type(), &DataType::Binary);
}

#[tokio::test]
async fn decimals_beyond_38_digits_read_exactly_as_decimal256() {
    let Some(conn) = open("my_wide_decimal").await else {
        return;
    };
    conn.execute(
        "create table w (k int, d decimal(65, 30), s decimal(12, 2))",
        Params::new(),
    )
    .await
    .unwrap();
    conn.execute(
        "insert into w values \
         (1, '12345678901234567890123456789012345.123456789012345678901234567890', 1.5), \
         (2, '-0.000000000000000000000000000001', null), (3, null, -2.25)",
        Params::new(),
    )
    .await
    .unwrap();
    let t = conn.query("select * from w order by k").await.unwrap();
    assert_eq!(
        t.schema().field_with_name("d").unwrap().data_type(),
        &DataType::Decimal256(76, 30),
        "65 digits need 256 bits"
    );
    assert_eq!(
        t.schema().field_with_name("s").unwrap().data_type(),
        &DataType::Decimal128(38, 2)
    );
    let server = conn
        .query(
            "select coalesce(cast(d as char), 'NULL') as d, coalesce(cast(s as char), 'NULL') as s \
             from w order by k",
        )
        .await
        .unwrap();
    for column in ["d", "s"] {
        assert_eq!(texts(&t, column), texts(&server, column), "{column}");
    }
    // The same column with values that fit 38 digits stays Decimal128(38, 30).
    let small = conn.query("select d from w where k = 2").await.unwrap();
    assert_eq!(
        small.schema().field(0).data_type(),
        &DataType::Decimal128(38, 30)
    );
}

#[tokio::test]
async fn only_the_binary_character_set_reads_as_bytes() {
    let Some(conn) = open("my_collations").await else {
        return;
    };
    conn.execute(
        "create table c (bn binary(2), vb varbinary(4), bl blob, \
         vcb varchar(10) collate utf8mb4_bin, txb text collate utf8mb4_bin, js json, \
         vc varchar(10), tx text)",
        Params::new(),
    )
    .await
    .unwrap();
    conn.execute(
        "insert into c values (x'00ff', x'01', x'02', 'abc', 'déf', '{\"a\": 1}', 'plain', 'text')",
        Params::new(),
    )
    .await
    .unwrap();
    let t = conn.query("select * from c").await.unwrap();
    // What the server says: binary types have the `binary` character set or none.
    let server = conn
        .query(
            "select column_name as name, coalesce(character_set_name, \
             case when data_type = 'json' then 'utf8mb4' else 'binary' end) as charset \
             from information_schema.columns where table_schema = database() and table_name = 'c'",
        )
        .await
        .unwrap();
    let names = texts(&server, "name");
    let charsets = texts(&server, "charset");
    assert_eq!(names.len(), 8);
    for (name, charset) in names.iter().zip(&charsets) {
        let ty = t
            .schema()
            .field_with_name(name)
            .unwrap()
            .data_type()
            .clone();
        let want = if charset == "binary" {
            DataType::Binary
        } else {
            DataType::Utf8
        };
        assert_eq!(ty, want, "{name} ({charset})");
    }
    for bytes in ["bn", "vb", "bl"] {
        assert!(charsets[names.iter().position(|n| n == bytes).unwrap()] == "binary");
    }
    let text = |name: &str| {
        t.column(name)
            .unwrap()
            .as_string::<i32>()
            .value(0)
            .to_owned()
    };
    assert_eq!(
        (text("vcb"), text("txb"), text("js"), text("vc")),
        (
            "abc".into(),
            "déf".into(),
            "{\"a\": 1}".into(),
            "plain".into()
        )
    );
    assert_eq!(
        t.column("bn").unwrap().as_binary::<i32>().value(0),
        [0, 255]
    );
    // Expressions too: a string literal is text, a binary cast is bytes.
    let e = conn
        .query("select 'x' collate utf8mb4_bin as t, cast('x' as binary) as b")
        .await
        .unwrap();
    assert_eq!(e.schema().field(0).data_type(), &DataType::Utf8);
    assert_eq!(e.schema().field(1).data_type(), &DataType::Binary);
}
