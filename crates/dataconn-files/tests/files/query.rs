//! `query(sql)` over files: joins across formats and globs on every store (local, memory, S3 on
//! moto, Azure on azurite), the ETags in the cache key, and the errors.

use std::io::Write;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{Float64Type, Int64Type};
use dataconn_core::{ErrorKind, QueryExt, Table, Ttl};
use dataconn_files::{FilesConnection, Format};

use crate::stores::stores;

fn trips(vendor: Vec<i64>, fare: Vec<f64>) -> Table {
    Table::from_batch(
        RecordBatch::try_from_iter([
            ("vendor", Arc::new(Int64Array::from(vendor)) as ArrayRef),
            ("fare", Arc::new(Float64Array::from(fare)) as ArrayRef),
        ])
        .unwrap(),
    )
}

fn int(t: &Table, column: &str, row: usize) -> i64 {
    t.column(column)
        .unwrap()
        .as_primitive::<Int64Type>()
        .value(row)
}

fn text(t: &Table, column: &str, row: usize) -> String {
    t.column(column)
        .unwrap()
        .as_string::<i32>()
        .value(row)
        .to_owned()
}

#[tokio::test]
async fn sql_joins_formats_over_globs_on_every_store() {
    for store in stores() {
        let label = "sql_join";
        let hub = store.hub(label, "tables = { vendors = \"ref/vendors.csv\" }");
        let conn = hub.connection::<FilesConnection>(label).await.unwrap();
        let at = format!("{store:?}");
        conn.write(
            "trips/2024-01.parquet",
            &trips(vec![1, 2, 1], vec![10.0, 0.5, 5.0]),
            Format::Parquet,
        )
        .await
        .unwrap();
        conn.write(
            "trips/2024-02.parquet",
            &trips(vec![2, 2], vec![7.0, 3.0]),
            Format::Parquet,
        )
        .await
        .unwrap();
        conn.put_bytes("ref/vendors.csv", "id,name\n1,acme\n2,zip\n")
            .await
            .unwrap();
        let t = conn
            .query(
                "select v.name, count(*) as n, sum(t.fare) as total \
                 from 'trips/*.parquet' t join vendors v on t.vendor = v.id \
                 where t.fare > :min group by v.name order by v.name",
            )
            .param("min", 1.0)
            .await
            .unwrap_or_else(|e| panic!("{at}: {e}"));
        assert_eq!(t.num_rows(), 2, "{at}");
        assert_eq!(
            (text(&t, "name", 0), int(&t, "n", 0)),
            ("acme".into(), 2),
            "{at}"
        );
        assert_eq!(
            (text(&t, "name", 1), int(&t, "n", 1)),
            ("zip".into(), 2),
            "{at}"
        );
        let total = t.column("total").unwrap();
        let total = total.as_primitive::<Float64Type>();
        assert_eq!((total.value(0), total.value(1)), (15.0, 10.0), "{at}");

        // JSON Lines joined with Arrow IPC.
        conn.put_bytes(
            "events.jsonl",
            "{\"id\": 1, \"kind\": \"open\"}\n{\"id\": 2, \"kind\": \"close\"}\n",
        )
        .await
        .unwrap();
        let snap = Table::from_batch(
            RecordBatch::try_from_iter([
                ("id", Arc::new(Int64Array::from(vec![2, 3])) as ArrayRef),
                (
                    "who",
                    Arc::new(StringArray::from(vec!["bo", "cy"])) as ArrayRef,
                ),
            ])
            .unwrap(),
        );
        conn.write("snap.arrow", &snap, Format::Arrow)
            .await
            .unwrap();
        let t = conn
            .query("select e.kind, s.who from \"events.jsonl\" e join \"snap.arrow\" s using (id)")
            .await
            .unwrap_or_else(|e| panic!("{at}: {e}"));
        assert_eq!(t.num_rows(), 1, "{at}");
        assert_eq!(
            (text(&t, "kind", 0), text(&t, "who", 0)),
            ("close".into(), "bo".into()),
            "{at}"
        );
    }
}

#[tokio::test]
async fn a_file_changed_behind_the_cache_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/a.csv"), "id,qty\n1,5\n2,7\n").unwrap();
    std::fs::write(dir.path().join("data/b.csv"), "id,qty\n3,1\n").unwrap();
    let hub = crate::stores::local(dir.path(), "");
    let conn = hub.connection::<FilesConnection>("lake").await.unwrap();
    let sql = "select count(*) as n, sum(qty) as q from 'data/*.csv'";
    let t = conn.query(sql).ttl(Ttl::Forever).await.unwrap();
    assert_eq!((int(&t, "n", 0), int(&t, "q", 0)), (3, 13));
    let hits = hub.cache().stats().hits;
    let t = conn.query(sql).ttl(Ttl::Forever).await.unwrap();
    assert_eq!(int(&t, "n", 0), 3);
    assert_eq!(
        hub.cache().stats().hits,
        hits + 1,
        "unchanged files: a cache hit"
    );

    // Written by someone else, not through the connection: only the listing can tell.
    std::fs::write(dir.path().join("data/c.csv"), "id,qty\n4,100\n").unwrap();
    let t = conn.query(sql).ttl(Ttl::Forever).await.unwrap();
    assert_eq!(
        (int(&t, "n", 0), int(&t, "q", 0)),
        (4, 113),
        "a new file is seen"
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(dir.path().join("data/a.csv"), "id,qty\n1,50\n2,70\n").unwrap();
    let t = conn.query(sql).ttl(Ttl::Forever).await.unwrap();
    assert_eq!(int(&t, "q", 0), 221, "a changed file is seen");

    // Compressed text is decoded by the connector and queried the same way.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"id,qty\n9,1\n9,2\n").unwrap();
    std::fs::write(dir.path().join("nine.csv.gz"), gz.finish().unwrap()).unwrap();
    let t = conn
        .query("select sum(qty) as q from 'nine.csv.gz' where id = :id")
        .param("id", 9)
        .await
        .unwrap();
    assert_eq!(int(&t, "q", 0), 3);
}

#[tokio::test]
async fn bad_sql_missing_files_and_mismatched_globs_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let hub = crate::stores::local(
        dir.path(),
        "[connections.lake.tables]\ntrips = \"trips/*.parquet\"\nraw = { path = \"raw.txt\", format = \"csv\", delimiter = \"|\" }",
    );
    let conn = hub.connection::<FilesConnection>("lake").await.unwrap();
    conn.write(
        "trips/a.parquet",
        &trips(vec![1], vec![2.0]),
        Format::Parquet,
    )
    .await
    .unwrap();
    conn.put_bytes("raw.txt", "k|v\nx|1\n").await.unwrap();
    let t = conn.query("select v from raw where k = 'x'").await.unwrap();
    assert_eq!(
        int(&t, "v", 0),
        1,
        "a named table with its own format and delimiter"
    );

    let err = conn.query("select * from 'nope.csv'").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("nope.csv"), "{err}");

    let err = conn.query("select * from trip").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("did you mean `trips`"), "{err}");
    assert!(err.to_string().contains("configured: raw, trips"), "{err}");

    let err = conn.query("select * from trips.parquet").await.unwrap_err();
    assert!(
        err.to_string().contains("quote paths: 'trips.parquet'"),
        "{err}"
    );

    let err = conn
        .query("select vendor,\n  sum(fare) as total\nfrom trips group by vendr")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Query, "{err}");
    assert!(err.to_string().contains("vendr"), "{err}");
    assert!(err.to_string().contains("line 3, column 21"), "{err}");

    let err = conn.query("selec 1").await.unwrap_err();
    assert!(err.to_string().contains("line 1, column 1"), "{err}");

    let other = Table::from_batch(
        RecordBatch::try_from_iter([(
            "vendor",
            Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
        )])
        .unwrap(),
    );
    conn.write("trips/b.parquet", &other, Format::Parquet)
        .await
        .unwrap();
    let err = conn.query("select count(*) from trips").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TypeConversion, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("trips/a.parquet") && msg.contains("trips/b.parquet"),
        "{msg}"
    );

    let err = conn
        .query("select * from trips where vendor = :v")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parameter, "{err}");
}
