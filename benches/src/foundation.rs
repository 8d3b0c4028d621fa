//! Foundation benchmarks: each figure is printed beside a baseline measured in the same run.
//!
//! Run: `scripts/bench.sh foundation` (a release build; about 15 minutes cold on 2 cores,
//! then under a minute). Sizes can be lowered for a quick look: `ROWS=100000`.
//!
//! 1. Cache hit: median latency of a cached `query()` at 1, 1,000 and 1,000,000 rows, against
//!    running the same query uncached; and hits per second on 2 threads.
//! 2. 16 concurrent identical cold queries: how many executions reach the database.
//! 3. SQLite, ROWS × 7 columns into Arrow: our `query` against a plain SQLite step loop into
//!    Arrow builders (the floor) and sqlx's own row stream (`fetch`); connections are opened
//!    before timing in every case.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Float64Builder, Int64Builder, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use dataconn::{Connections, Secrets, SqlConnection, Table, Ttl};
use futures::TryStreamExt;
use sqlx::Row;

const COLUMNS: &str = "id, qty, price, ratio, name, created, flag";

fn rows_wanted() -> usize {
    std::env::var("ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// Deterministic rows: ints, floats, text with NULLs (every 7th), timestamps as text.
fn generate(path: &Path, rows: usize) {
    let conn = rusqlite::Connection::open(path).expect("open the bench database");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;
         DROP TABLE IF EXISTS t;
         CREATE TABLE t (id INTEGER, qty INTEGER, price REAL, ratio REAL, name TEXT, created TEXT, flag INTEGER);",
    )
    .expect("create the bench table");
    conn.execute_batch("BEGIN").expect("begin");
    {
        let mut insert = conn
            .prepare("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .expect("prepare insert");
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for i in 0..rows as i64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let name = (i % 7 != 0).then(|| format!("customer-{}", state % 100_000));
            let created = format!(
                "2024-{:02}-{:02} {:02}:{:02}:{:02}",
                1 + state % 12,
                1 + (state >> 8) % 28,
                (state >> 16) % 24,
                (state >> 24) % 60,
                (state >> 32) % 60
            );
            insert
                .execute(rusqlite::params![
                    i,
                    (state % 1000) as i64,
                    (state % 100_000) as f64 / 100.0,
                    (state % 1_000_003) as f64 / 1_000_003.0,
                    name,
                    created,
                    (state & 1) as i64
                ])
                .expect("insert");
        }
    }
    conn.execute_batch("COMMIT").expect("commit");
}

fn bench_db(rows: usize) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench data dir");
    let path = dir.join(format!("foundation-{rows}.db"));
    if !path.exists() {
        eprintln!("generating {rows} rows into {}", path.display());
        generate(&path, rows);
    }
    path
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("qty", DataType::Int64, true),
        Field::new("price", DataType::Float64, true),
        Field::new("ratio", DataType::Float64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("created", DataType::Utf8, true),
        Field::new("flag", DataType::Int64, true),
    ]))
}

struct Builders {
    ints: [Int64Builder; 3],
    floats: [Float64Builder; 2],
    texts: [StringBuilder; 2],
}

impl Builders {
    fn new() -> Self {
        Builders {
            ints: [
                Int64Builder::new(),
                Int64Builder::new(),
                Int64Builder::new(),
            ],
            floats: [Float64Builder::new(), Float64Builder::new()],
            texts: [StringBuilder::new(), StringBuilder::new()],
        }
    }

    fn finish(mut self) -> RecordBatch {
        let [id, qty, flag] = &mut self.ints;
        let [price, ratio] = &mut self.floats;
        let [name, created] = &mut self.texts;
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(id.finish()),
                Arc::new(qty.finish()),
                Arc::new(price.finish()),
                Arc::new(ratio.finish()),
                Arc::new(name.finish()),
                Arc::new(created.finish()),
                Arc::new(flag.finish()),
            ],
        )
        .expect("bench batch")
    }
}

/// The floor: step the statement with plain rusqlite into typed Arrow builders.
fn plain_step_loop(conn: &rusqlite::Connection) -> RecordBatch {
    let mut stmt = conn
        .prepare(&format!("select {COLUMNS} from t"))
        .expect("prepare");
    let mut rows = stmt.raw_query();
    let mut b = Builders::new();
    use rusqlite::types::ValueRef;
    let int = |v: ValueRef<'_>| match v {
        ValueRef::Integer(i) => Some(i),
        _ => None,
    };
    let float = |v: ValueRef<'_>| match v {
        ValueRef::Real(f) => Some(f),
        ValueRef::Integer(i) => Some(i as f64),
        _ => None,
    };
    while let Some(row) = rows.next().expect("step") {
        let get = |i: usize| row.get_ref(i).expect("column");
        b.ints[0].append_option(int(get(0)));
        b.ints[1].append_option(int(get(1)));
        b.floats[0].append_option(float(get(2)));
        b.floats[1].append_option(float(get(3)));
        for (slot, column) in [(0, 4), (1, 5)] {
            match get(column) {
                ValueRef::Text(t) => {
                    b.texts[slot].append_value(std::str::from_utf8(t).expect("utf8"))
                }
                _ => b.texts[slot].append_null(),
            }
        }
        b.ints[2].append_option(int(get(6)));
    }
    b.finish()
}

/// sqlx's own row stream into the same builders.
async fn sqlx_fetch(pool: &sqlx::SqlitePool) -> RecordBatch {
    let mut b = Builders::new();
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(format!("select {COLUMNS} from t"))).fetch(pool);
    while let Some(row) = rows.try_next().await.expect("row") {
        b.ints[0].append_option(row.try_get::<Option<i64>, _>(0).expect("id"));
        b.ints[1].append_option(row.try_get::<Option<i64>, _>(1).expect("qty"));
        b.floats[0].append_option(row.try_get::<Option<f64>, _>(2).expect("price"));
        b.floats[1].append_option(row.try_get::<Option<f64>, _>(3).expect("ratio"));
        b.texts[0].append_option(row.try_get::<Option<&str>, _>(4).expect("name"));
        b.texts[1].append_option(row.try_get::<Option<&str>, _>(5).expect("created"));
        b.ints[2].append_option(row.try_get::<Option<i64>, _>(6).expect("flag"));
    }
    drop(rows);
    b.finish()
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn fmt(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.2} µs", s * 1e6)
    }
}

async fn hub(path: &Path) -> Connections {
    let text = format!(
        "[connections.bench]\nurl = \"sqlite:///{}\"\n",
        path.display()
    );
    Connections::builder()
        .registry(dataconn::default_registry())
        .secrets(Secrets::from_toml("bench-secrets.toml", &text).expect("secrets"))
        .build()
        .expect("hub")
}

async fn cache_hits(conn: &Arc<SqlConnection>, rows: usize) {
    println!("\n## 1. Cache hit latency (median of many hits) vs the same query uncached\n");
    println!("| result rows | cached query() | uncached query() | ratio |");
    println!("|---:|---:|---:|---:|");
    for n in [1usize, 1_000, rows] {
        let sql = format!("select {COLUMNS} from t limit {n}");
        let warm: Table = conn.query(&sql).await.expect("warm");
        assert_eq!(warm.num_rows(), n);
        let mut hits = Vec::with_capacity(2000);
        for _ in 0..2000 {
            let t = Instant::now();
            let table = conn.query(&sql).await.expect("hit");
            hits.push(t.elapsed());
            std::hint::black_box(table);
        }
        let repeats = if n >= 100_000 { 3 } else { 50 };
        let mut misses = Vec::new();
        for _ in 0..repeats {
            let t = Instant::now();
            let table = conn.query(&sql).ttl(Ttl::NoCache).await.expect("miss");
            misses.push(t.elapsed());
            std::hint::black_box(table);
        }
        let (hit, miss) = (median(hits), median(misses));
        println!(
            "| {n} | {} | {} | {:.0}× faster |",
            fmt(hit),
            fmt(miss),
            miss.as_secs_f64() / hit.as_secs_f64()
        );
    }

    let sql = format!("select {COLUMNS} from t limit 1000");
    let per_thread = 200_000;
    let started = Instant::now();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let conn = conn.clone();
            let sql = sql.clone();
            tokio::spawn(async move {
                for _ in 0..per_thread {
                    std::hint::black_box(conn.query(&sql).await.expect("hit"));
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
    let rate = (2 * per_thread) as f64 / started.elapsed().as_secs_f64();
    println!("\nHits per second on 2 threads (1,000-row result): {rate:.0}");
}

async fn cold_stampede(path: &Path) {
    println!("\n## 2. 16 concurrent identical cold queries\n");
    let hub = hub(path).await;
    let conn = hub
        .connection::<SqlConnection>("bench")
        .await
        .expect("connect");
    let sql = "select count(*) as n, sum(price) as s from t where qty < 500".to_owned();
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let conn = conn.clone();
            let sql = sql.clone();
            tokio::spawn(async move { conn.query(sql).await })
        })
        .collect();
    for c in calls {
        c.await.expect("task").expect("query");
    }
    let stats = hub.cache().stats();
    println!(
        "executions reaching SQLite: {} (served from the shared result: {})",
        stats.misses, stats.hits
    );
}

async fn big_read(path: &Path, conn: &Arc<SqlConnection>, rows: usize) {
    println!("\n## 3. SQLite, {rows} rows × 7 columns into Arrow (best of 3)\n");
    let best = |xs: &[Duration]| *xs.iter().min().expect("runs");
    let mut ours = Vec::new();
    let mut floor = Vec::new();
    let mut sqlx_rows = Vec::new();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("pool");
    for _ in 0..3 {
        let t = Instant::now();
        let table = conn
            .query(format!("select {COLUMNS} from t"))
            .ttl(Ttl::NoCache)
            .await
            .expect("ours");
        ours.push(t.elapsed());
        assert_eq!(table.num_rows(), rows);

        let p = path.to_path_buf();
        let (n, took) = tokio::task::spawn_blocking(move || {
            let conn = rusqlite::Connection::open(&p).expect("open");
            let t = Instant::now();
            let n = plain_step_loop(&conn).num_rows();
            (n, t.elapsed())
        })
        .await
        .expect("floor");
        floor.push(took);
        assert_eq!(n, rows);

        let t = Instant::now();
        assert_eq!(sqlx_fetch(&pool).await.num_rows(), rows);
        sqlx_rows.push(t.elapsed());
    }
    pool.close().await;
    let (o, f, s) = (best(&ours), best(&floor), best(&sqlx_rows));
    println!("| path | time | vs floor |");
    println!("|---|---:|---:|");
    println!(
        "| plain SQLite step loop into Arrow builders (floor) | {} | 1.00× |",
        fmt(f)
    );
    println!(
        "| dataconn `query()` (uncached) | {} | {:.2}× |",
        fmt(o),
        o.as_secs_f64() / f.as_secs_f64()
    );
    println!(
        "| sqlx `fetch` row stream into Arrow builders | {} | {:.2}× |",
        fmt(s),
        s.as_secs_f64() / f.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rows = rows_wanted();
    let path = bench_db(rows);
    println!("# dataconn foundation benchmarks ({rows} rows)");
    let hub = hub(&path).await;
    let conn = hub
        .connection::<SqlConnection>("bench")
        .await
        .expect("connect");
    cache_hits(&conn, rows).await;
    cold_stampede(&path).await;
    big_read(&path, &conn, rows).await;
}
