//! HTTP: files written into the static server's folder, read back over HTTP in every format.

use dataconn_core::ErrorKind;
use dataconn_files::{FilesConnection, Format};

use crate::round_trips::sample;
use crate::stores::peer;

#[tokio::test]
async fn every_format_reads_over_http() {
    let (Some(url), Some(dir)) = (
        peer("DATACONN_TEST_HTTP_URL", "HTTP"),
        peer("DATACONN_TEST_HTTP_DIR", "HTTP"),
    ) else {
        return;
    };
    // Write the files with a local connection into the server's folder.
    let run = std::process::id().to_string();
    let text = format!(
        "[connections.local]\ntype = \"files\"\nroot = \"{dir}/{run}\"\n\
         [connections.web]\ntype = \"files\"\nroot = \"{url}/{run}\"\n"
    );
    let hub = crate::stores::hub(&text);
    let local = hub.connection::<FilesConnection>("local").await.unwrap();
    let web = hub.connection::<FilesConnection>("web").await.unwrap();
    let table = sample(50);
    for (path, format) in [
        ("t.csv", Format::Csv),
        ("t.parquet", Format::Parquet),
        ("t.jsonl", Format::JsonLines),
        ("t.json", Format::Json),
        ("t.arrow", Format::Arrow),
    ] {
        local.write(path, &table, format).await.unwrap();
        let back = web
            .read(path)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(back.num_rows(), 50, "{path}");
    }
    let t = web
        .read("t.parquet")
        .columns(["name"])
        .limit(7)
        .await
        .unwrap();
    assert_eq!((t.num_rows(), t.column_names()), (7, vec!["name"]));
    let err = web.read("missing.csv").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        err.message().contains(&format!("{url}/{run}/missing.csv")),
        "{err}"
    );
}
