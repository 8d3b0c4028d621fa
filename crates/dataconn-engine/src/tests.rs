//! The engine on an in-memory store: formats, parameters, schema checks and error positions.

use std::sync::Arc;

use arrow::array::{AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::Int64Type;
use dataconn_core::{ErrorKind, Params, Table, params};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::{Engine, FileFormat, FileSource};

async fn put(store: &Arc<dyn ObjectStore>, key: &str, bytes: Vec<u8>) -> FileSource {
    let path = Path::from(key);
    store.put(&path, bytes.into()).await.expect("put");
    FileSource {
        url: format!("memory:///{key}"),
        store: store.clone(),
        meta: store.head(&path).await.expect("head"),
    }
}

fn parquet_bytes(batch: &RecordBatch) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).expect("writer");
    writer.write(batch).expect("write");
    writer.close().expect("close");
    out
}

const CSV: FileFormat = FileFormat::Csv {
    delimiter: b',',
    has_header: true,
};

fn ints(table: &Table, column: &str) -> Vec<i64> {
    let col = table.column(column).expect("column");
    col.as_primitive::<Int64Type>().values().to_vec()
}

#[tokio::test]
async fn joins_csv_with_parquet_and_binds_parameters() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let orders = put(&store, "orders.csv", b"id,qty\n1,5\n2,12\n3,30\n".to_vec()).await;
    let names = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as _),
        (
            "name",
            Arc::new(StringArray::from(vec!["a", "b", "c"])) as _,
        ),
    ])
    .unwrap();
    let names = put(&store, "names.parquet", parquet_bytes(&names)).await;

    let engine = Engine::new();
    let sql = "select o.id, n.name from \"orders.csv\" o join 'names.parquet' n on o.id = n.id \
               where o.qty > :min and n.name <> :skip order by o.id";
    let prepared = engine
        .prepare(sql, &params! { min: 10, skip: "c" })
        .unwrap();
    let mut tables: Vec<String> = prepared.tables().iter().map(|t| t.name()).collect();
    tables.sort();
    assert_eq!(tables, ["names.parquet", "orders.csv"]);
    for table in prepared.tables().to_vec() {
        let (file, format) = match table.name().as_str() {
            "orders.csv" => (orders.clone(), CSV),
            _ => (names.clone(), FileFormat::Parquet),
        };
        prepared
            .register_files(&table, vec![file], format)
            .await
            .unwrap();
    }
    let table = prepared.run().await.unwrap();
    assert_eq!(ints(&table, "id"), [2]);
    let name = table.column("name").unwrap();
    assert_eq!(name.data_type(), &arrow::datatypes::DataType::Utf8);
    assert_eq!(
        name.as_string::<i32>().value(0),
        "b",
        "text comes back as Utf8"
    );
}

#[tokio::test]
async fn files_of_one_table_must_agree() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let a = put(&store, "a.csv", b"x,y\n1,2\n".to_vec()).await;
    let b = put(&store, "b.csv", b"x,y\n1.5,2\n".to_vec()).await;
    let c = put(&store, "c.csv", b"x,z\n1,2\n".to_vec()).await;

    let engine = Engine::new();
    let prepared = engine
        .prepare("select sum(x) as s from t", &Params::new())
        .unwrap();
    let t = prepared.tables()[0].clone();
    prepared
        .register_files(&t, vec![a.clone(), b], CSV)
        .await
        .expect("an integer and a float column widen to float");
    let table = prepared.run().await.unwrap();
    let s = table.column("s").unwrap();
    assert_eq!(
        s.as_primitive::<arrow::datatypes::Float64Type>().value(0),
        2.5
    );

    let prepared = engine.prepare("select * from t", &Params::new()).unwrap();
    let t = prepared.tables()[0].clone();
    let err = prepared
        .register_files(&t, vec![a, c], CSV)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TypeConversion);
    let msg = err.to_string();
    assert!(
        msg.contains("memory:///a.csv") && msg.contains("memory:///c.csv"),
        "both files are named: {msg}"
    );
    assert!(msg.contains("x, y vs x, z"), "{msg}");
}

#[tokio::test]
async fn errors_point_at_the_sql() {
    let engine = Engine::new();
    let err = engine
        .prepare("select a,\n  b frm t", &Params::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Query);
    let msg = err.to_string();
    assert!(msg.contains("line 2, column"), "{msg}");
    assert!(msg.contains("\n    b frm t\n"), "the line is shown: {msg}");

    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let f = put(&store, "t.csv", b"id,qty\n1,5\n".to_vec()).await;
    let prepared = engine
        .prepare(
            "select id,\n       quantity from t where id > :min",
            &params! { min: 0 },
        )
        .unwrap();
    let t = prepared.tables()[0].clone();
    prepared.register_files(&t, vec![f], CSV).await.unwrap();
    let err = prepared.run().await.unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(msg.contains("quantity"), "{msg}");
    assert!(msg.contains("line 2, column 8"), "{msg}");
    assert!(
        msg.contains("\n         ^"),
        "a caret under the column: {msg}"
    );

    let err = engine
        .prepare("select * from t where id > :min", &Params::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parameter);
}

#[tokio::test]
async fn parameters_of_every_kind_bind() {
    let engine = Engine::new();
    let prepared = engine
        .prepare(
            "select :i + 1 as i, :f * 2 as f, :s || '!' as s, :d + interval '1 day' as d, \
             :b as b, cardinality(:l) as l, :n is null as n",
            &params! {
                i: 41,
                f: 1.25,
                s: "hi",
                d: chrono::NaiveDate::from_ymd_opt(2024, 2, 28).unwrap(),
                b: true,
                l: dataconn_core::Value::list([1, 2, 3]),
                n: None::<i64>,
            },
        )
        .unwrap();
    let table = prepared.run().await.unwrap();
    let batch = table.to_record_batch().unwrap();
    let shown = arrow::util::pretty::pretty_format_batches(&[batch])
        .unwrap()
        .to_string();
    for expected in ["42", "2.5", "hi!", "2024-02-29", "true", "3"] {
        assert!(shown.contains(expected), "{expected} in\n{shown}");
    }
    assert!(
        table.column("n").unwrap().as_boolean().value(0),
        "a NULL parameter is NULL"
    );
}

#[tokio::test]
async fn arrow_ipc_files_are_read_from_a_store() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2])) as _),
        ("who", Arc::new(StringArray::from(vec!["a", "b"])) as _),
    ])
    .unwrap();
    let mut bytes = Vec::new();
    let mut writer = arrow::ipc::writer::FileWriter::try_new(&mut bytes, &batch.schema()).unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    drop(writer);
    let file = put(&store, "snap.arrow", bytes).await;
    let prepared = Engine::new()
        .prepare("select sum(id) as s from 'snap.arrow'", &Params::new())
        .unwrap();
    let t = prepared.tables()[0].clone();
    prepared
        .register_files(&t, vec![file], FileFormat::Arrow)
        .await
        .unwrap();
    let table = prepared.run().await.unwrap();
    assert_eq!(ints(&table, "s"), [3]);
}

#[tokio::test]
async fn only_reads_run() {
    let dir = std::env::temp_dir().join(format!("dataconn-engine-copy-{}", std::process::id()));
    let engine = Engine::new();
    for sql in [
        format!("copy (select 1 as a) to '{}/out.csv'", dir.display()),
        format!(
            "create external table t stored as csv location '{}/'",
            dir.display()
        ),
        "set datafusion.execution.batch_size = 1".to_owned(),
    ] {
        let err = engine
            .prepare(&sql, &Params::new())
            .unwrap()
            .run()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{sql}: {err}");
        assert!(
            err.to_string().contains("expected a query that reads"),
            "{err}"
        );
    }
    assert!(!dir.exists(), "nothing was written");
}

fn numbers(n: i64) -> Table {
    Table::from_batch(
        RecordBatch::try_from_iter([(
            "x",
            Arc::new(Int64Array::from_iter_values(0..n)) as arrow::array::ArrayRef,
        )])
        .unwrap(),
    )
}

#[tokio::test]
async fn a_query_beyond_the_memory_pool_fails_naming_query_memory_limit() {
    let engine = Engine::with_limits(crate::EngineLimits::new(64 * 1024, None));
    let prepared = engine
        .prepare("select a.x from t a join t b on a.x = b.x", &Params::new())
        .unwrap();
    let t = prepared.tables()[0].clone();
    prepared.register_table(&t, numbers(300_000)).unwrap();
    let err = prepared.run().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Query, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("query_memory_limit") && msg.contains("65536"),
        "{msg}"
    );

    // The same query within the default pool.
    let prepared = Engine::new()
        .prepare(
            "select count(*) as n from t a join t b on a.x = b.x",
            &Params::new(),
        )
        .unwrap();
    let t = prepared.tables()[0].clone();
    prepared.register_table(&t, numbers(300_000)).unwrap();
    assert_eq!(ints(&prepared.run().await.unwrap(), "n"), [300_000]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_query_stops_at_query_timeout() {
    let timeout = std::time::Duration::from_millis(100);
    let engine = Engine::with_limits(crate::EngineLimits::new(1 << 30, Some(timeout)));
    let prepared = engine
        .prepare(
            "select count(*) from t a cross join t b where a.x + b.x = -1",
            &Params::new(),
        )
        .unwrap();
    let t = prepared.tables()[0].clone();
    prepared.register_table(&t, numbers(15_000)).unwrap();
    let started = std::time::Instant::now();
    let err = prepared.run().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("query_timeout"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
