//! Failures leave nothing behind and show no secret: a cancelled multipart write to S3 (moto)
//! leaves no upload in progress; URLs with credentials never reach logs or errors.

use dataconn_core::QueryExt;
use dataconn_files::{FilesConnection, Format};

use crate::round_trips::sample;
use crate::stores::{Kind, peer, stores};

/// The keys of the multipart uploads in progress under `prefix` (moto needs no signature).
async fn uploads_in_progress(endpoint: &str, prefix: &str) -> Vec<String> {
    let body = reqwest::get(format!("{endpoint}/dataconn-test?uploads&prefix={prefix}"))
        .await
        .expect("ListMultipartUploads")
        .text()
        .await
        .unwrap();
    body.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_multipart_write_leaves_no_upload_on_s3() {
    let Some(store) = stores().into_iter().find(|s| s.kind == Kind::S3) else {
        return;
    };
    let endpoint = peer("DATACONN_TEST_S3_ENDPOINT", "S3 (moto)").unwrap();
    let label = "cancelled";
    let prefix = format!("{}/{label}/", std::process::id());
    let (_hub, conn) = store.open(label).await;
    // About 40 MiB of CSV: several parts.
    let big = sample(1_500_000);
    let writer = conn.clone();
    let write = tokio::spawn(async move { writer.write("big.csv", &big, Format::Csv).await });
    let mut seen = false;
    for _ in 0..3000 {
        if !uploads_in_progress(&endpoint, &prefix).await.is_empty() {
            seen = true;
            break;
        }
        if write.is_finished() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(seen, "the write started a multipart upload");
    write.abort();
    assert!(write.await.unwrap_err().is_cancelled());
    let mut left = Vec::new();
    for _ in 0..200 {
        left = uploads_in_progress(&endpoint, &prefix).await;
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(left.is_empty(), "uploads left in progress: {left:?}");
    assert!(!conn.exists("big.csv").await.unwrap(), "no object either");
}

#[tokio::test]
async fn credentials_in_a_url_never_reach_logs_or_errors() {
    let (Some(url), Some(dir)) = (
        peer("DATACONN_TEST_HTTP_URL", "HTTP"),
        peer("DATACONN_TEST_HTTP_DIR", "HTTP"),
    ) else {
        return;
    };
    const PASSWORD: &str = "pw-S3cr3t-9x";
    let run = format!("masked-{}", std::process::id());
    let with_userinfo = url.replacen("://", &format!("://reader:{PASSWORD}@"), 1);
    let text = format!(
        "[connections.local]\ntype = \"files\"\nroot = \"{dir}/{run}\"\n\
         [connections.web]\ntype = \"files\"\nroot = \"{with_userinfo}/{run}\"\n"
    );
    let hub = crate::stores::hub(&text);
    let local = hub.connection::<FilesConnection>("local").await.unwrap();
    local
        .write("t.parquet", &sample(50), Format::Parquet)
        .await
        .unwrap();

    let logs = dataconn_testkit::logs::CapturedLogs::default();
    let _guard = logs.install();

    let web = hub.connection::<FilesConnection>("web").await.unwrap();
    // Ranged reads that the static server refuses: the fallback is logged with the URL.
    let t = web.read("t.parquet").columns(["id"]).await.unwrap();
    assert_eq!(t.num_rows(), 50);
    let mut shown = vec![format!("{web:?}")];
    for err in [
        web.read("missing.csv").await.unwrap_err(),
        web.put_bytes("x.txt", "x").await.unwrap_err(),
        web.write("y.csv", &sample(3), Format::Csv)
            .await
            .unwrap_err(),
        web.read("http://elsewhere.invalid/x.csv")
            .await
            .unwrap_err(),
    ] {
        shown.push(format!("{err} {err:?}"));
    }
    let logs = logs.text();
    assert!(
        logs.contains("byte ranges") && logs.contains(&format!("{url}/{run}/t.parquet")),
        "the fallback was logged with the URL: {logs}"
    );
    for text in shown.iter().chain([&logs]) {
        assert!(!text.contains(PASSWORD), "a secret shown: {text}");
        assert!(!text.contains("reader:"), "userinfo shown: {text}");
    }
}

#[tokio::test]
async fn malformed_files_are_errors_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[connections.lake]\ntype = \"files\"\nroot = \"{}\"\n",
        dir.path().display()
    );
    let hub = crate::stores::hub(&text);
    let lake = hub.connection::<FilesConnection>("lake").await.unwrap();
    lake.write("good.parquet", &sample(500), Format::Parquet)
        .await
        .unwrap();
    lake.write("good.arrow", &sample(500), Format::Arrow)
        .await
        .unwrap();
    let parquet = std::fs::read(dir.path().join("good.parquet")).unwrap();
    let arrow = std::fs::read(dir.path().join("good.arrow")).unwrap();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, good) in [("p", &parquet), ("a", &arrow)] {
        let ext = if name == "p" { "parquet" } else { "arrow" };
        cases.push((format!("cut.{ext}"), good[..good.len() / 2].to_vec()));
        cases.push((format!("tail.{ext}"), good[good.len() / 2..].to_vec()));
        for at in [
            8,
            good.len() / 3,
            good.len() / 2,
            good.len() - 12,
            good.len() - 6,
        ] {
            let mut bad = good.clone();
            for b in &mut bad[at..(at + 4).min(good.len())] {
                *b = 0xff;
            }
            cases.push((format!("flip{at}.{ext}"), bad));
        }
    }
    cases.push((
        "magic.arrow".into(),
        b"ARROW1\0\0\xff\xff\xff\xffARROW1".to_vec(),
    ));
    cases.push(("ragged.csv".into(), b"a,b\n1,2\n3\n4,5,6\n".to_vec()));
    cases.push((
        "huge.json".into(),
        b"[{\"a\": 1e400}, {\"a\": 99999999999999999999999}]".to_vec(),
    ));
    cases.push((
        "lines.jsonl".into(),
        b"{\"a\": 1}\n{\"a\": [1, {\"b\": 2}]}\nnot json\n".to_vec(),
    ));
    for (name, bytes) in &cases {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    for (name, _) in &cases {
        // Each is an error or a table: a panic fails the test.
        let _ = lake.read(name.as_str()).await;
        let _ = lake.read(name.as_str()).columns(["id"]).await;
        let _ = lake.query(format!("select * from '{name}'")).await;
    }
}
