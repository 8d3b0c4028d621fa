//! Files into Arrow: dataconn's `read` against hand-written object_store + parquet/arrow-csv
//! calls and against pandas through fsspec (what `st-files-connection` does), in one run.
//!
//! Run: `scripts/bench.sh files` (starts moto and a Python venv with pandas and s3fs). A
//! deterministic 1,000,000-row table (int, int, float, float, text with NULLs, text timestamp,
//! bool) is written once as Parquet and CSV under `target/bench-data/files/` and uploaded to
//! moto's S3 (`DATACONN_TEST_S3_ENDPOINT`). `ROWS=100000` for a quicker look.

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use dataconn::files::{FilesConnection, Format};
use dataconn::{Connections, Secrets, Ttl};
use dataconn_benches::data::{rows_wanted, table};
use object_store::{ObjectStore, ObjectStoreExt};

fn hub(text: &str) -> Connections {
    Connections::builder()
        .registry(dataconn::default_registry())
        .secrets(Secrets::from_toml("bench-secrets.toml", text).expect("secrets"))
        .build()
        .expect("hub")
}

fn best<F: FnMut() -> f64>(mut run: F) -> f64 {
    (0..3).map(|_| run()).fold(f64::MAX, f64::min)
}

async fn best_async<F, Fut>(mut run: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let rows = run().await;
        assert_eq!(rows, rows_wanted());
        best = best.min(started.elapsed().as_secs_f64());
    }
    best
}

fn python(method: &str, url: &str, endpoint: Option<&str>) -> Option<f64> {
    let python = std::env::var("BENCH_PYTHON").ok()?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/files_peers.py");
    let mut cmd = Command::new(python);
    cmd.args([script, method, url]);
    if let Some(endpoint) = endpoint {
        cmd.arg(endpoint);
    }
    let out = cmd.output().ok()?;
    if !out.status.success() {
        eprintln!("{method} failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn row(name: &str, seconds: Option<f64>, raw: f64) {
    match seconds {
        Some(s) => println!("| {name} | {s:.3} s | {:.2}× |", s / raw),
        None => println!("| {name} | - | - |"),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rows = rows_wanted();
    let dir = dataconn_benches::data::dir();
    let local = hub(&format!(
        "[connections.local]\ntype = \"files\"\nroot = \"{}\"\n",
        dir.display()
    ));
    let local = local
        .connection::<FilesConnection>("local")
        .await
        .expect("local files");
    let parquet = format!("bench-{rows}.parquet");
    let csv = format!("bench-{rows}.csv");
    if !dir.join(&parquet).exists() || !dir.join(&csv).exists() {
        eprintln!("writing {rows} rows as Parquet and CSV");
        let t = table(rows);
        local
            .write(&parquet, &t, Format::Parquet)
            .await
            .expect("write parquet");
        local.write(&csv, &t, Format::Csv).await.expect("write csv");
    }
    println!("# dataconn files benchmarks ({rows} rows × 7 columns; best of 3)");

    // Local Parquet and CSV.
    let raw_parquet = best(|| {
        let started = Instant::now();
        let file = std::fs::File::open(dir.join(&parquet)).expect("open");
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("parquet")
            .with_batch_size(65_536)
            .build()
            .expect("reader");
        // Keep the batches, as a table the caller can use (what `read` returns).
        let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
        assert_eq!(
            batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
            rows
        );
        let took = started.elapsed().as_secs_f64();
        drop(batches);
        took
    });
    let ours_parquet = best_async(|| async {
        local
            .read(&parquet)
            .ttl(Ttl::NoCache)
            .await
            .expect("read")
            .num_rows()
    })
    .await;
    println!("\n## Local Parquet\n\n| method | time | vs raw |\n|---|---:|---:|");
    row(
        "raw: parquet crate on a std::fs::File",
        Some(raw_parquet),
        raw_parquet,
    );
    row(
        "dataconn `read` (the local file read in place)",
        Some(ours_parquet),
        raw_parquet,
    );
    row(
        "pandas.read_parquet through fsspec",
        python(
            "pandas-parquet",
            &dir.join(&parquet).display().to_string(),
            None,
        ),
        raw_parquet,
    );

    let raw_csv = best(|| {
        let started = Instant::now();
        let bytes = std::fs::read(dir.join(&csv)).expect("read csv");
        let format = arrow::csv::reader::Format::default().with_header(true);
        let (schema, _) = format
            .infer_schema(std::io::Cursor::new(&bytes), Some(1000))
            .expect("infer");
        let reader = arrow::csv::ReaderBuilder::new(Arc::new(schema))
            .with_format(format)
            .with_batch_size(65_536)
            .build(std::io::Cursor::new(bytes))
            .expect("csv");
        let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
        assert_eq!(
            batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
            rows
        );
        let took = started.elapsed().as_secs_f64();
        drop(batches);
        took
    });
    let ours_csv = best_async(|| async {
        local
            .read(&csv)
            .ttl(Ttl::NoCache)
            .await
            .expect("read")
            .num_rows()
    })
    .await;
    println!("\n## Local CSV\n\n| method | time | vs raw |\n|---|---:|---:|");
    row(
        "raw: read the file, arrow-csv with inferred schema",
        Some(raw_csv),
        raw_csv,
    );
    row("dataconn `read`", Some(ours_csv), raw_csv);
    row(
        "pandas.read_csv through fsspec",
        python("pandas-csv", &dir.join(&csv).display().to_string(), None),
        raw_csv,
    );

    // Parquet on S3 (moto).
    let Ok(endpoint) = std::env::var("DATACONN_TEST_S3_ENDPOINT") else {
        println!(
            "\n(DATACONN_TEST_S3_ENDPOINT unset: the S3 figures are left out; scripts/bench.sh files starts moto)"
        );
        return;
    };
    let s3 = hub(&format!(
        "[connections.s3]\ntype = \"files\"\nroot = \"s3://dataconn-test/bench\"\nendpoint_url = \"{endpoint}\"\n\
         key = \"test\"\nsecret = \"test\"\nregion_name = \"us-east-1\"\nallow_http = true\n"
    ));
    let s3 = s3
        .connection::<FilesConnection>("s3")
        .await
        .expect("s3 files");
    if !s3.exists(&parquet).await.unwrap_or(false) {
        let bytes = std::fs::read(dir.join(&parquet)).expect("read parquet");
        s3.put_bytes(&parquet, bytes).await.expect("upload");
    }
    let store: Arc<dyn ObjectStore> = s3.store().expect("store");
    let key = object_store::path::Path::from(format!("bench/{parquet}"));
    let mut raw_s3 = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let bytes = store
            .get(&key)
            .await
            .expect("get")
            .bytes()
            .await
            .expect("bytes");
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
            .expect("parquet")
            .with_batch_size(65_536)
            .build()
            .expect("reader");
        let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
        assert_eq!(
            batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
            rows
        );
        raw_s3 = raw_s3.min(started.elapsed().as_secs_f64());
        drop(batches);
    }
    let ours_s3 = best_async(|| async {
        s3.read(&parquet)
            .ttl(Ttl::NoCache)
            .await
            .expect("read")
            .num_rows()
    })
    .await;
    println!(
        "\n## Parquet on S3 (moto on loopback)\n\n| method | time | vs raw |\n|---|---:|---:|"
    );
    row(
        "raw: object_store GET of the whole object + parquet crate",
        Some(raw_s3),
        raw_s3,
    );
    row(
        "dataconn `read` (one GET, as every column is read)",
        Some(ours_s3),
        raw_s3,
    );
    row(
        "pandas.read_parquet through s3fs",
        python(
            "pandas-parquet",
            &format!("s3://dataconn-test/bench/{parquet}"),
            Some(&endpoint),
        ),
        raw_s3,
    );
}
