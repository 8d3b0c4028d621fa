//! DuckDB into Arrow: dataconn's DuckDB connector (DuckDB's ADBC entry point, loaded from
//! libduckdb) against DuckDB's own Python package fetching Arrow, on the same file, in one run.
//!
//! Run: `scripts/bench.sh duckdb`. The files benchmark's deterministic table (1,000,000 rows ×
//! 7 columns) is loaded once into `target/bench-data/files/bench-<rows>.duckdb`; both sides
//! then open that file read-only and run `select * from t` five times, uncached; the figure is
//! the best. Python's time is measured inside Python (no interpreter start-up), both ways:
//! `.fetch_arrow_table()` (DuckDB's parallel collector, a few large batches) and its streaming
//! reader at 2,048 rows a batch, which is what DuckDB's ADBC entry point streams. Both are
//! DuckDB 1.5.6 (the npm library and `duckdb==1.5.6` from PyPI).
//! `ROWS=100000` for a quicker look.

use std::process::Command;
use std::time::Instant;

use dataconn::files::{FilesConnection, Format};
use dataconn::{Connections, DuckDbConnection, QueryExt, Secrets, Ttl, params};
use dataconn_benches::data::{dir, rows_wanted, table};

const QUERIES: &[(&str, &str)] = &[
    ("whole table (`select * from t`)", "select * from t"),
    (
        "group-by (100 groups, 3 aggregates)",
        "select qty % 100 as bucket, count(*) as n, avg(price) as avg_price, max(ratio) as top \
         from t group by qty % 100 order by bucket",
    ),
];

fn hub(text: String) -> Connections {
    Connections::builder()
        .registry(dataconn::default_registry())
        .secrets(Secrets::from_toml("bench-secrets.toml", &text).expect("secrets"))
        .build()
        .expect("hub")
}

fn python(sql: &str, path: &str) -> Option<(f64, usize, f64)> {
    let python = std::env::var("BENCH_PYTHON").ok()?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/query_peers.py");
    let out = Command::new(python)
        .args([script, sql, path])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "duckdb (Python) failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    let mut next = || words.next()?.parse::<f64>().ok();
    let (seconds, rows, streamed) = (next()?, next()?, next()?);
    Some((seconds, rows as usize, streamed))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let library = std::env::var("DATACONN_TEST_DUCKDB_LIBRARY")
        .expect("DuckDB's library: scripts/bench.sh duckdb installs it");
    let rows = rows_wanted();
    let dir = dir();
    let parquet = dir.join(format!("bench-{rows}.parquet"));
    let database = dir.join(format!("bench-{rows}.duckdb"));
    if !database.exists() {
        let files = hub(format!(
            "[connections.local]\ntype = \"files\"\nroot = {:?}\n",
            dir.display().to_string()
        ));
        let local = files
            .connection::<FilesConnection>("local")
            .await
            .expect("files");
        if !parquet.exists() {
            eprintln!("writing {rows} rows as Parquet");
            let name = format!("bench-{rows}.parquet");
            local
                .write(&name, &table(rows), Format::Parquet)
                .await
                .expect("write");
        }
        eprintln!("loading {rows} rows into {}", database.display());
        let writer = hub(format!(
            "[connections.duck]\ntype = \"duckdb\"\nlibrary = {library:?}\ndatabase = {:?}\n",
            database.display().to_string()
        ));
        let duck = writer
            .connection::<DuckDbConnection>("duck")
            .await
            .expect("duckdb");
        duck.execute(
            "create table t as select * from read_parquet(:path)",
            params! { path: parquet.display().to_string() },
        )
        .await
        .expect("load");
        writer.close_all().await;
    }
    let reader = hub(format!(
        "[connections.duck]\ntype = \"duckdb\"\nlibrary = {library:?}\ndatabase = {:?}\nread_only = true\n",
        database.display().to_string()
    ));
    let duck = reader
        .connection::<DuckDbConnection>("duck")
        .await
        .expect("duckdb");
    let path = database.display().to_string();
    println!(
        "# DuckDB into Arrow ({rows} rows × 7 columns, one file, read-only; best of 5, uncached)\n"
    );
    println!(
        "| query | dataconn (ADBC, libduckdb) | DuckDB Python `.fetch_arrow_table()` | ratio | \
         DuckDB Python reader, 2,048 rows a batch | ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, sql) in QUERIES {
        let mut best = f64::MAX;
        let mut ours_rows = 0;
        for _ in 0..5 {
            let started = Instant::now();
            let t = duck.query(*sql).ttl(Ttl::NoCache).await.expect("query");
            best = best.min(started.elapsed().as_secs_f64());
            ours_rows = t.num_rows();
        }
        match python(sql, &path) {
            Some((theirs, their_rows, streamed)) => {
                assert_eq!(ours_rows, their_rows, "{name}: both return the same rows");
                println!(
                    "| {name} | {best:.3} s | {theirs:.3} s | {:.2}× | {streamed:.3} s | {:.2}× |",
                    best / theirs,
                    best / streamed
                );
            }
            None => println!("| {name} | {best:.3} s | - | - | - | - |"),
        }
    }
}
