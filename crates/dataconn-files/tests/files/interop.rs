//! Parquet and CSV written by pyarrow and pandas (several compressions and types) read back
//! with the values the generator's formulas give (see scripts/python/interop.py).

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Date32Type, Decimal128Type, Float64Type, Int64Type};
use dataconn_core::Table;
use dataconn_files::FilesConnection;

use crate::stores::peer;

fn check(t: &Table, what: &str, decimals: bool, dates: bool) {
    assert_eq!(t.num_rows(), 1000, "{what}");
    let id = arrow::compute::cast(&t.column("id").unwrap(), &DataType::Int64).unwrap();
    let id = id.as_primitive::<Int64Type>();
    let score = arrow::compute::cast(&t.column("score").unwrap(), &DataType::Float64).unwrap();
    let score = score.as_primitive::<Float64Type>();
    let name = arrow::compute::cast(&t.column("name").unwrap(), &DataType::Utf8).unwrap();
    let name = name.as_string::<i32>();
    let flag = t.column("flag").unwrap();
    for i in [0usize, 1, 7, 999] {
        assert_eq!(id.value(i), i as i64, "{what} id {i}");
        assert_eq!(score.value(i), i as f64 * 1.5, "{what} score {i}");
        if i % 5 == 0 {
            assert!(name.is_null(i), "{what} name {i} is NULL");
        } else {
            assert_eq!(name.value(i), format!("n{i}"), "{what} name {i}");
        }
        assert_eq!(flag.as_boolean().value(i), i % 2 == 0, "{what} flag {i}");
    }
    if dates {
        let day = t.column("day").unwrap();
        assert_eq!(
            day.as_primitive::<Date32Type>().value(10),
            19_723 + 10,
            "{what} day"
        );
    }
    if decimals {
        let amount = t.column("amount").unwrap();
        assert_eq!(amount.data_type(), &DataType::Decimal128(10, 2), "{what}");
        assert_eq!(
            amount.as_primitive::<Decimal128Type>().value(3),
            325,
            "{what} amount"
        );
    }
}

#[tokio::test]
async fn files_from_pyarrow_and_pandas_read_back_equal() {
    let Some(dir) = peer(
        "DATACONN_TEST_INTEROP_DIR",
        "interop files (pyarrow/pandas)",
    ) else {
        return;
    };
    let text = format!("[connections.interop]\ntype = \"files\"\nroot = \"{dir}\"\n");
    let hub = crate::stores::hub(&text);
    let conn = hub.connection::<FilesConnection>("interop").await.unwrap();
    for codec in ["none", "snappy", "gzip", "zstd"] {
        let path = format!("pyarrow_{codec}.parquet");
        let t = conn
            .read(&path)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        check(&t, &path, true, true);
    }
    check(
        &conn.read("pyarrow.csv").await.unwrap(),
        "pyarrow.csv",
        false,
        true,
    );
    check(
        &conn.read("pandas.csv.gz").await.unwrap(),
        "pandas.csv.gz",
        false,
        false,
    );
    check(
        &conn.read("pandas.parquet").await.unwrap(),
        "pandas.parquet",
        false,
        false,
    );
}
