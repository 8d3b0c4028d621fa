//! MySQL and MariaDB: the Arrow type table and zero dates.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, DurationMicrosecondType, Float32Type, Int8Type,
    Int16Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType, UInt8Type, UInt64Type,
};
use dataconn_core::{ErrorKind, Params};
use dataconn_sql::SqlConnection;

use crate::backends::{Kind, backend};

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
async fn unmapped_types_are_named_errors() {
    let Some(conn) = open("my_unmapped").await else {
        return;
    };
    conn.execute("create table g (p point)", Params::new())
        .await
        .unwrap();
    conn.execute("insert into g values (point(1, 2))", Params::new())
        .await
        .unwrap();
    // GEOMETRY reads as its binary form; a decimal beyond 38 digits is refused by name.
    let t = conn.query("select p from g").await.unwrap();
    assert_eq!(t.schema().field(0).data_type(), &DataType::Binary);
    let err = conn
        .query("select cast('123456789012345678901234567890123456789.5' as decimal(65, 1)) as big")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TypeConversion);
    assert!(err.message().contains("`big`"), "{err}");
}
