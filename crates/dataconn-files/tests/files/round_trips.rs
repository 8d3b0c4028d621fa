//! Behaviour every store shares: one test body, run on each store in turn.

use std::io::Write;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{Float64Type, Int64Type};
use dataconn_core::{ErrorKind, Table, Ttl};
use dataconn_files::Format;

use crate::stores::{Kind, stores};

/// `n` rows: id = i, score = i / 2, name = "n{i}" (NULL every 5th).
pub fn sample(n: i64) -> Table {
    let batch = RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(0..n)) as ArrayRef,
        ),
        (
            "score",
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|i| i as f64 / 2.0),
            )) as ArrayRef,
        ),
        (
            "name",
            Arc::new(StringArray::from_iter(
                (0..n).map(|i| (i % 5 != 0).then(|| format!("n{i}"))),
            )) as ArrayRef,
        ),
    ])
    .unwrap();
    Table::from_batch(batch)
}

fn ids(t: &Table) -> Vec<i64> {
    let c =
        arrow::compute::cast(&t.column("id").unwrap(), &arrow::datatypes::DataType::Int64).unwrap();
    c.as_primitive::<Int64Type>().values().to_vec()
}

#[tokio::test]
async fn every_format_round_trips() {
    for store in stores() {
        let (_hub, conn) = store.open("formats").await;
        let table = sample(100);
        for (path, format) in [
            ("t.csv", Format::Csv),
            ("t.tsv", Format::Tsv),
            ("t.parquet", Format::Parquet),
            ("t.jsonl", Format::JsonLines),
            ("t.json", Format::Json),
            ("t.arrow", Format::Arrow),
        ] {
            conn.write(path, &table, format)
                .await
                .unwrap_or_else(|e| panic!("{store:?} write {path}: {e}"));
            let back = conn
                .read(path)
                .await
                .unwrap_or_else(|e| panic!("{store:?} read {path}: {e}"));
            assert_eq!(ids(&back), (0..100).collect::<Vec<_>>(), "{store:?} {path}");
            let names = back.column("name").unwrap();
            assert!(
                names.is_null(0) && names.as_string::<i32>().value(1) == "n1",
                "{store:?} {path}: NULLs kept"
            );
            let scores = arrow::compute::cast(
                &back.column("score").unwrap(),
                &arrow::datatypes::DataType::Float64,
            )
            .unwrap();
            assert_eq!(
                scores.as_primitive::<Float64Type>().value(3),
                1.5,
                "{store:?} {path}"
            );
        }
    }
}

#[tokio::test]
async fn compressed_text_formats_are_read() {
    for store in stores() {
        let (_hub, conn) = store.open("compressed").await;
        let csv = sample(10).to_csv().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(csv.as_bytes()).unwrap();
        conn.put_bytes("c.csv.gz", gz.finish().unwrap())
            .await
            .unwrap();
        conn.put_bytes("c.csv.zst", zstd::encode_all(csv.as_bytes(), 3).unwrap())
            .await
            .unwrap();
        for path in ["c.csv.gz", "c.csv.zst"] {
            let t = conn
                .read(path)
                .await
                .unwrap_or_else(|e| panic!("{store:?} {path}: {e}"));
            assert_eq!(t.num_rows(), 10, "{store:?} {path}");
        }
        assert_eq!(
            conn.read_text("c.csv.gz").await.unwrap(),
            csv,
            "{store:?}: read_text decompresses"
        );
    }
}

#[tokio::test]
async fn globs_stack_files_and_conflicting_schemas_are_named() {
    for store in stores() {
        let (_hub, conn) = store.open("globs").await;
        for (i, part) in ["2024-01", "2024-02", "2025-01"].iter().enumerate() {
            let t = sample(10 * (i as i64 + 1));
            conn.write(&format!("data/{part}.parquet"), &t, Format::Parquet)
                .await
                .unwrap();
        }
        let t = conn.read("data/2024-*.parquet").await.unwrap();
        assert_eq!(t.num_rows(), 30, "{store:?}: two of three files match");
        let t = conn
            .read("data/*.parquet")
            .columns(["id"])
            .limit(25)
            .await
            .unwrap();
        assert_eq!(
            (t.num_rows(), t.column_names()),
            (25, vec!["id"]),
            "{store:?}"
        );

        let other = RecordBatch::try_from_iter([(
            "id",
            Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
        )])
        .unwrap();
        conn.write(
            "data/2024-99.parquet",
            &Table::from_batch(other),
            Format::Parquet,
        )
        .await
        .unwrap();
        let err = conn.read("data/2024-*.parquet").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TypeConversion, "{store:?}");
        assert!(
            err.message().contains("2024-01.parquet") && err.message().contains("2024-99.parquet"),
            "{store:?}: {err}"
        );

        let err = conn.read("data/1999-*.csv").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{store:?}");
    }
}

#[tokio::test]
async fn list_exists_delete_and_bytes() {
    for store in stores() {
        let (_hub, conn) = store.open("ops").await;
        conn.put_bytes("a/one.txt", &b"one"[..]).await.unwrap();
        conn.put_bytes("a/b/two.txt", &b"two"[..]).await.unwrap();
        let listed: Vec<String> = conn
            .list("a")
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.path)
            .collect();
        assert_eq!(listed.len(), 2, "{store:?}: {listed:?}");
        assert!(
            listed[0].ends_with("a/b/two.txt") && listed[1].ends_with("a/one.txt"),
            "{store:?}: {listed:?}"
        );
        assert!(conn.exists("a/one.txt").await.unwrap(), "{store:?}");
        assert_eq!(
            &conn.read_bytes("a/one.txt").await.unwrap()[..],
            b"one",
            "{store:?}"
        );
        conn.delete("a/one.txt").await.unwrap();
        assert!(!conn.exists("a/one.txt").await.unwrap(), "{store:?}");
        conn.delete("a/one.txt").await.unwrap();
    }
}

#[tokio::test]
async fn a_missing_object_names_its_full_url() {
    for store in stores() {
        let (_hub, conn) = store.open("missing").await;
        let err = conn.read("nope/none.csv").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{store:?}: {err}");
        assert!(
            err.message().contains("nope/none.csv") && err.message().contains("://"),
            "{store:?}: {err}"
        );
    }
}

#[tokio::test]
async fn a_changed_file_is_never_served_stale() {
    for store in stores() {
        let (hub, conn) = store.open("etag").await;
        conn.put_bytes("t.csv", "id\n1\n").await.unwrap();
        assert_eq!(
            ids(&conn.read("t.csv").ttl(Ttl::Forever).await.unwrap()),
            [1]
        );
        let hits = hub.cache().stats().hits;
        assert_eq!(
            ids(&conn.read("t.csv").ttl(Ttl::Forever).await.unwrap()),
            [1]
        );
        assert_eq!(
            hub.cache().stats().hits,
            hits + 1,
            "{store:?}: an unchanged file is a hit"
        );

        // Change the object behind the connection's back (another writer), not through it.
        let raw = conn.store().unwrap();
        let listed = conn.list("").await.unwrap();
        let path = &listed
            .iter()
            .find(|o| o.path.ends_with("t.csv"))
            .expect("t.csv is listed")
            .path;
        let location = object_store::path::Path::parse(path).unwrap();
        object_store::ObjectStoreExt::put(raw.as_ref(), &location, "id\n1\n2\n".into())
            .await
            .unwrap();
        assert_eq!(
            ids(&conn.read("t.csv").ttl(Ttl::Forever).await.unwrap()),
            [1, 2],
            "{store:?}: the new ETag makes a new key, whatever the TTL"
        );
    }
}

#[tokio::test]
async fn writes_through_the_connection_drop_cached_reads() {
    for store in stores() {
        let (_hub, conn) = store.open("invalidate").await;
        conn.write("t.parquet", &sample(3), Format::Parquet)
            .await
            .unwrap();
        assert_eq!(conn.read("t.parquet").await.unwrap().num_rows(), 3);
        conn.write("t.parquet", &sample(5), Format::Parquet)
            .await
            .unwrap();
        assert_eq!(
            conn.read("t.parquet").await.unwrap().num_rows(),
            5,
            "{store:?}"
        );
    }
}

#[tokio::test]
async fn wrong_and_unknown_formats_say_what_was_assumed() {
    for store in stores() {
        let (_hub, conn) = store.open("formats_bad").await;
        conn.put_bytes("data.bin", &b"\x00\x01"[..]).await.unwrap();
        let err = conn.read("data.bin").await.unwrap_err();
        assert!(
            err.message().contains("data.bin") && err.message().contains("pass the format"),
            "{store:?}: {err}"
        );
        conn.put_bytes("fake.parquet", "id\n1\n").await.unwrap();
        let err = conn.read("fake.parquet").await.unwrap_err();
        assert!(
            err.message().contains("as parquet")
                && err.message().contains("inferred from the name"),
            "{store:?}: {err}"
        );
        conn.put_bytes("bad.csv", "a,b\n1,2\n3\n").await.unwrap();
        let err = conn.read("bad.csv").await.unwrap_err();
        assert!(
            err.to_string().contains("bad.csv") && err.to_string().contains("line"),
            "{store:?}: {err}"
        );
        conn.put_bytes("bad.json", "[{\"a\": 1},\n {\"a\": }]")
            .await
            .unwrap();
        let err = conn.read("bad.json").await.unwrap_err();
        assert!(err.message().contains("line 2"), "{store:?}: {err}");
    }
}

#[tokio::test]
async fn large_parquet_goes_up_in_parts_and_reads_back_by_ranges() {
    for store in stores()
        .into_iter()
        .filter(|s| matches!(s.kind, Kind::S3 | Kind::Azure | Kind::Local))
    {
        let (_hub, conn) = store.open("multipart").await;
        // Random-looking text compresses badly, so the file is well above the 10 MiB part size.
        let n = 400_000i64;
        let batch = RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(Int64Array::from_iter_values(0..n)) as ArrayRef,
            ),
            (
                "blob",
                Arc::new(StringArray::from_iter_values((0..n).map(|i| {
                    format!("{:x}", (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
                }))) as ArrayRef,
            ),
        ])
        .unwrap();
        conn.write("big.parquet", &Table::from_batch(batch), Format::Parquet)
            .await
            .unwrap();
        let listed = conn.list("").await.unwrap();
        let size = listed
            .iter()
            .find(|o| o.path.ends_with("big.parquet"))
            .expect("big.parquet is listed")
            .size;
        assert!(
            size > 10 * 1024 * 1024,
            "{store:?}: the file is {size} bytes"
        );
        let t = conn.read("big.parquet").columns(["id"]).await.unwrap();
        assert_eq!(
            (t.num_rows(), t.num_columns()),
            (n as usize, 1),
            "{store:?}"
        );
    }
}

#[tokio::test]
async fn refused_credentials_say_where_they_came_from_never_what_they_are() {
    let Some(store) = stores().into_iter().find(|s| s.kind == Kind::Azure) else {
        return;
    };
    let wrong = "d3Jvbmcta2V5LW5vdC10aGUtZW11bGF0b3JzLWtleS0xMjM0NTY3ODkwMTIzNDU2Nzg5MA==";
    let section = store
        .section("badcreds")
        .replace(crate::stores::AZURITE_KEY, wrong);
    let text = format!("[connections.badcreds]\ntype = \"files\"\nretries = 0\n{section}");
    let hub = crate::stores::hub(&text);
    let err = hub.connect("badcreds").await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(
        shown.contains("account_key"),
        "the credential source is named: {shown}"
    );
    assert!(!shown.contains(wrong), "the key never shows: {shown}");
}
