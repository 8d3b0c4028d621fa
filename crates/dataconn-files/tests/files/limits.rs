//! Bounded resources: decompression, whole-object bodies, listings and globs, the SQL engine's
//! memory and time; each limit named in its error.

use std::io::Write;

use dataconn_core::{ErrorKind, QueryExt};
use dataconn_files::FilesConnection;

use crate::stores::peer;

/// A CSV header, then `members` copies of one compressed member of 1 MiB of digits: a few KiB
/// that expand to `members` MiB.
fn bomb(members: usize, zstd: bool) -> Vec<u8> {
    let mut block = Vec::with_capacity(1 << 20);
    while block.len() < 1 << 20 {
        block.extend_from_slice(b"1\n");
    }
    let member = if zstd {
        zstd::encode_all(block.as_slice(), 19).unwrap()
    } else {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&block).unwrap();
        gz.finish().unwrap()
    };
    let mut header = if zstd {
        zstd::encode_all(&b"a\n"[..], 3).unwrap()
    } else {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(b"a\n").unwrap();
        gz.finish().unwrap()
    };
    for _ in 0..members {
        header.extend_from_slice(&member);
    }
    header
}

#[tokio::test]
async fn a_compression_bomb_stops_at_max_decompressed_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // 8 GiB expanded: reading it whole would exhaust this machine's memory.
    std::fs::write(dir.path().join("bomb.csv.gz"), bomb(8192, false)).unwrap();
    std::fs::write(dir.path().join("bomb.csv.zst"), bomb(8192, true)).unwrap();
    std::fs::write(dir.path().join("small.csv.gz"), bomb(2, false)).unwrap();
    let hub = crate::stores::local(dir.path(), "max_decompressed_bytes = \"4MiB\"");
    let conn = hub.connection::<FilesConnection>("lake").await.unwrap();
    let started = std::time::Instant::now();
    for path in ["bomb.csv.gz", "bomb.csv.zst"] {
        let err = conn.read(path).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("max_decompressed_bytes") && msg.contains("4194304") && msg.contains(path),
            "{msg}"
        );
        let err = conn.read_text(path).await.unwrap_err();
        assert!(err.to_string().contains("max_decompressed_bytes"), "{err}");
        let err = conn
            .query(format!("select count(*) from '{path}'"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("max_decompressed_bytes"), "{err}");
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "stopped early, not after expanding 8 GiB"
    );
    let t = conn.read("small.csv.gz").await.unwrap();
    assert_eq!(t.num_rows(), 2 * (1 << 19), "below the limit it reads");
}

#[tokio::test]
async fn objects_beyond_max_object_bytes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.csv"), "a\n".repeat(10_000)).unwrap();
    std::fs::write(dir.path().join("ok.csv"), "a\n1\n").unwrap();
    let hub = crate::stores::local(dir.path(), "max_object_bytes = 1000");
    let conn = hub.connection::<FilesConnection>("lake").await.unwrap();
    for err in [
        conn.read("big.csv").await.unwrap_err(),
        conn.read_bytes("big.csv").await.unwrap_err(),
    ] {
        let msg = err.to_string();
        assert!(
            msg.contains("max_object_bytes") && msg.contains("1000") && msg.contains("big.csv"),
            "{msg}"
        );
    }
    assert_eq!(conn.read("ok.csv").await.unwrap().num_rows(), 1);

    // Over HTTP, the body is counted as it arrives.
    let (Some(url), Some(http_dir)) = (
        peer("DATACONN_TEST_HTTP_URL", "HTTP"),
        peer("DATACONN_TEST_HTTP_DIR", "HTTP"),
    ) else {
        return;
    };
    let run = format!("limits-{}", std::process::id());
    std::fs::create_dir_all(format!("{http_dir}/{run}")).unwrap();
    std::fs::write(format!("{http_dir}/{run}/big.csv"), "a\n".repeat(10_000)).unwrap();
    let text = format!(
        "[connections.web]\ntype = \"files\"\nroot = \"{url}/{run}\"\nmax_object_bytes = \"1k\"\n"
    );
    let hub = crate::stores::hub(&text);
    let web = hub.connection::<FilesConnection>("web").await.unwrap();
    let err = web.read("big.csv").await.unwrap_err();
    assert!(err.to_string().contains("max_object_bytes"), "{err}");
}

#[tokio::test]
async fn a_glob_lists_only_as_deep_as_it_can_match() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("top.csv"), "a\n1\n").unwrap();
    std::fs::create_dir_all(dir.path().join("2024/01")).unwrap();
    std::fs::write(dir.path().join("2024/01/x.csv"), "a\n2\n").unwrap();
    // A deep tree beside them, far larger than the listing cap.
    for i in 0..30 {
        let deep = dir.path().join(format!("archive/{i}/a/b"));
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("old.csv"), "a\n0\n").unwrap();
    }
    let hub = crate::stores::local(dir.path(), "max_list_objects = 10");
    let conn = hub.connection::<FilesConnection>("lake").await.unwrap();
    let t = conn.read("*.csv").await.unwrap();
    assert_eq!(t.num_rows(), 1, "only the top level is listed");
    let t = conn.read("2024/*/x.csv").await.unwrap();
    assert_eq!(t.num_rows(), 1);
    let t = conn
        .query("select count(*) as n from '*.csv'")
        .await
        .unwrap();
    assert_eq!(t.num_rows(), 1);

    for err in [
        conn.read("archive/**/*.csv").await.unwrap_err(),
        conn.read("archive/*/a/b/old.csv").await.unwrap_err(),
        conn.list("archive").await.unwrap_err(),
    ] {
        let msg = err.to_string();
        assert!(
            msg.contains("max_list_objects") && msg.contains("10") && msg.contains("archive"),
            "{msg}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_are_bounded_by_query_memory_limit_and_query_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("k,v\n");
    for i in 0..200_000 {
        csv.push_str(&format!("{i},{}\n", i % 7));
    }
    std::fs::write(dir.path().join("t.csv"), csv).unwrap();
    std::fs::write(
        dir.path().join("s.csv"),
        format!("k\n1\n{}", "2\n".repeat(5_000)),
    )
    .unwrap();
    let hub = crate::stores::local(dir.path(), "query_memory_limit = \"256KiB\"");
    let conn = hub.connection::<FilesConnection>("lake").await.unwrap();
    let err = conn
        .query("select a.k, b.v from 't.csv' a join 't.csv' b on a.k = b.k")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("query_memory_limit") && err.to_string().contains("262144"),
        "{err}"
    );

    let hub = crate::stores::local(dir.path(), "query_timeout = \"200ms\"");
    let conn = hub.connection::<FilesConnection>("lake").await.unwrap();
    let started = std::time::Instant::now();
    let err = conn
        .query("select count(*) from 't.csv' a cross join 's.csv' b")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("query_timeout"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[tokio::test]
async fn bad_limit_values_are_config_errors_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, key) in [
        ("max_object_bytes = \"lots\"", "max_object_bytes"),
        ("max_decompressed_bytes = -1", "max_decompressed_bytes"),
        ("max_list_objects = 0", "max_list_objects"),
        (
            "query_memory_limit = \"99999999999TiB\"",
            "query_memory_limit",
        ),
        ("query_timeout = \"soon\"", "query_timeout"),
        ("allow_outside_root = \"yes\"", "allow_outside_root"),
    ] {
        let err = crate::stores::local(dir.path(), extra)
            .connect("lake")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{extra}: {err}");
        assert!(
            err.to_string().contains(key) && err.to_string().contains("secrets.toml:4"),
            "{extra}: {err}"
        );
    }
}
