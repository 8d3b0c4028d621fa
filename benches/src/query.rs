//! SQL over a Parquet file: dataconn's `query()` (DataFusion, through the files connection)
//! against DuckDB's Python package on the same file, in one run.
//!
//! Run: `scripts/bench.sh query` (a Python venv with duckdb from PyPI). The file is the files
//! benchmark's deterministic table, 1,000,000 rows × 7 columns, written once under
//! `target/bench-data/files/`. Each query runs uncached (`ttl = 0`); the figure is the best of
//! five. DuckDB's time is measured inside Python (no interpreter start-up), with its result
//! fetched as Arrow, as ours is. `ROWS=100000` for a quicker look.

use std::process::Command;
use std::time::Instant;

use dataconn::files::{FilesConnection, Format};
use dataconn::{Connections, QueryExt, Secrets, Ttl};
use dataconn_benches::data::{dir, rows_wanted, table};

const QUERIES: &[(&str, &str)] = &[
    (
        "group-by (100 groups, 3 aggregates)",
        "select qty % 100 as bucket, count(*) as n, avg(price) as avg_price, max(ratio) as top \
         from {t} group by qty % 100 order by bucket",
    ),
    (
        "group-by on text (≈100,000 groups)",
        "select name, count(*) as n, sum(price) as total from {t} group by name",
    ),
    (
        "filtered scan (≈0.5% of rows, 3 columns)",
        "select id, name, price from {t} where price > 995 and flag",
    ),
];

fn duckdb(sql: &str, path: &str) -> Option<(f64, usize)> {
    let python = std::env::var("BENCH_PYTHON").ok()?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/query_peers.py");
    let out = Command::new(python)
        .args([script, sql, path])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("duckdb failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (seconds, rows) = text.trim().split_once(' ')?;
    Some((seconds.parse().ok()?, rows.parse().ok()?))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rows = rows_wanted();
    let dir = dir();
    let parquet = format!("bench-{rows}.parquet");
    let hub = Connections::builder()
        .registry(dataconn::default_registry())
        .secrets(
            Secrets::from_toml(
                "bench-secrets.toml",
                &format!(
                    "[connections.local]\ntype = \"files\"\nroot = \"{}\"\n",
                    dir.display()
                ),
            )
            .expect("secrets"),
        )
        .build()
        .expect("hub");
    let local = hub
        .connection::<FilesConnection>("local")
        .await
        .expect("local files");
    if !dir.join(&parquet).exists() {
        eprintln!("writing {rows} rows as Parquet");
        local
            .write(&parquet, &table(rows), Format::Parquet)
            .await
            .expect("write parquet");
    }
    let path = dir.join(&parquet).display().to_string();
    println!("# SQL over Parquet ({rows} rows × 7 columns, local file; best of 5, uncached)\n");
    println!("| query | dataconn (DataFusion) | DuckDB (Python) | dataconn / DuckDB |");
    println!("|---|---:|---:|---:|");
    for (name, sql) in QUERIES {
        let ours_sql = sql.replace("{t}", &format!("'{parquet}'"));
        let mut best = f64::MAX;
        let mut ours_rows = 0;
        for _ in 0..5 {
            let started = Instant::now();
            let t = local
                .query(ours_sql.as_str())
                .ttl(Ttl::NoCache)
                .await
                .expect("query");
            best = best.min(started.elapsed().as_secs_f64());
            ours_rows = t.num_rows();
        }
        match duckdb(sql, &path) {
            Some((theirs, their_rows)) => {
                assert_eq!(
                    ours_rows, their_rows,
                    "{name}: both engines return the same rows"
                );
                println!(
                    "| {name} | {best:.3} s | {theirs:.3} s | {:.2}× |",
                    best / theirs
                );
            }
            None => println!("| {name} | {best:.3} s | - | - |"),
        }
    }
}
