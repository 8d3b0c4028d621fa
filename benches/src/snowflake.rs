//! Snowflake into Arrow: dataconn's `query` against the official Python connector's
//! `fetch_arrow_all()` on the same fakesnow server in the same run, and the decoding of a large
//! captured `rowsetBase64` reply against a bare Arrow IPC read of the same bytes.
//!
//! Run: `scripts/bench.sh snowflake` (starts fakesnow; uses the peers' Python, which has the
//! official connector). The table is `ROWS` (default 200,000) × 8 columns: NUMBER, NUMBER,
//! NUMBER(12,2), FLOAT, VARCHAR, DATE, TIMESTAMP_NTZ, BOOLEAN.

use std::process::Command;
use std::time::Instant;

use base64::Engine;
use dataconn::snowflake::SnowflakeConnection;
use dataconn::{Connections, Secrets, Ttl};

fn rows_wanted() -> usize {
    std::env::var("ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

fn python(args: &[&str]) -> Option<String> {
    let python = std::env::var("BENCH_PYTHON").ok()?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/snowflake_peers.py");
    let out = Command::new(python).arg(script).args(args).output().ok()?;
    if !out.status.success() {
        eprintln!("{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn row(name: &str, seconds: Option<f64>, base: f64, rows: usize) {
    match seconds {
        Some(s) => println!(
            "| {name} | {s:.3} s | {:.2} M rows/s | {:.2}× |",
            rows as f64 / s / 1e6,
            s / base
        ),
        None => println!("| {name} | - | - | - |"),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rows = rows_wanted();
    let url = std::env::var("DATACONN_TEST_SNOWFLAKE_URL")
        .expect("DATACONN_TEST_SNOWFLAKE_URL (scripts/bench.sh snowflake starts fakesnow)");
    let (host, port) = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .split_once(':')
        .expect("host:port");
    python(&["setup", host, port, &rows.to_string()]).expect("create the bench table");
    println!("# dataconn Snowflake benchmarks ({rows} rows × 8 columns from fakesnow; best of 3)");

    // End to end: login done, one SELECT into Arrow.
    let secrets = format!(
        "[connections.bench]\ntype = \"snowflake\"\naccount = \"fakesnow\"\nuser = \"bench\"\n\
         password = \"bench\"\nhost = \"{host}\"\nport = {port}\nprotocol = \"http\"\n\
         database = \"BENCH\"\nschema = \"PUBLIC\"\n"
    );
    let hub = Connections::builder()
        .registry(dataconn::default_registry())
        .secrets(Secrets::from_toml("bench-secrets.toml", &secrets).expect("secrets"))
        .build()
        .expect("hub");
    let sf = hub
        .connection::<SnowflakeConnection>("bench")
        .await
        .expect("connect to fakesnow");
    let mut ours = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let table = sf
            .query("select * from wide")
            .ttl(Ttl::NoCache)
            .await
            .expect("query");
        ours = ours.min(started.elapsed().as_secs_f64());
        assert_eq!(table.num_rows(), rows);
    }
    let official: Option<f64> = python(&["arrow-all", host, port]).and_then(|s| s.parse().ok());
    println!(
        "\n## SELECT * into Arrow\n\n| method | time | rate | vs Python |\n|---|---:|---:|---:|"
    );
    let base = official.unwrap_or(ours);
    row("Python connector fetch_arrow_all()", official, base, rows);
    row("dataconn query()", Some(ours), base, rows);

    // Decoding alone: the captured reply's rowsetBase64 into Arrow by logical type, against a
    // bare base64 + Arrow IPC read of the same bytes (the floor).
    let captured = std::env::temp_dir().join("dataconn-bench-snowflake-reply.json");
    python(&["raw-reply", host, port, &captured.display().to_string()])
        .expect("capture a raw reply");
    let data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&captured).expect("read the reply")).expect("json");
    let b64 = data["rowsetBase64"]
        .as_str()
        .expect("an Arrow reply")
        .to_owned();
    let mut floor = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&b64)
            .expect("base64");
        let reader = arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
            .expect("ipc");
        let n: usize = reader.map(|b| b.expect("batch").num_rows()).sum();
        floor = floor.min(started.elapsed().as_secs_f64());
        assert_eq!(n, rows);
    }
    let mut decode = f64::MAX;
    for _ in 0..3 {
        let copy = data.clone();
        let started = Instant::now();
        let table = dataconn::snowflake::decode_reply_data(copy).expect("decode");
        decode = decode.min(started.elapsed().as_secs_f64());
        assert_eq!(table.num_rows(), rows);
    }
    println!(
        "\n## rowsetBase64 decoding ({:.1} MB of base64)\n\n| method | time | rate | vs floor |\n|---|---:|---:|---:|",
        b64.len() as f64 / 1e6
    );
    row("base64 + Arrow IPC read (floor)", Some(floor), floor, rows);
    row("dataconn decode by logical type", Some(decode), floor, rows);
    let _ = std::fs::remove_file(captured);
}
