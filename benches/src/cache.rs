//! Cache hit latency by tier, against re-running the query, in one run.
//!
//! Run: `scripts/bench.sh cache` (starts Redis and PostgreSQL when none answers). For 1,000 and
//! 100,000-row results (three columns: int, float, text): the median latency of a local-tier hit,
//! of a Redis-tier hit (the local tier emptied before each call, so Redis answers and the Arrow
//! IPC value is decoded), and of running the query again on SQLite and on PostgreSQL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dataconn::{CacheLimit, Connections, QueryCache, Secrets, SqlConnection, Ttl, params};

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn fmt(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}

fn hub(text: &str, cache: QueryCache) -> Connections {
    Connections::builder()
        .registry(dataconn::default_registry())
        .secrets(Secrets::from_toml("bench-secrets.toml", text).expect("secrets"))
        .cache(cache)
        .build()
        .expect("hub")
}

async fn time_runs<F, Fut>(runs: usize, mut call: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        call().await;
        times.push(started.elapsed());
    }
    median(times)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let db = dir.canonicalize().expect("path").join("cache.db");
    let redis = std::env::var("DATACONN_TEST_REDIS_URL")
        .expect("DATACONN_TEST_REDIS_URL (scripts/bench.sh cache sets it)");
    let pg = std::env::var("DATACONN_TEST_POSTGRES_URL").ok();

    let mut text = format!("[connections.lite]\nurl = \"sqlite:///{}\"\n", db.display());
    if let Some(pg) = &pg {
        text.push_str(&format!("[connections.pg]\nurl = \"{pg}\"\n"));
    }
    let local = hub(&text, QueryCache::default());
    let tier = |prefix: &str| {
        let mut config = dataconn_redis_config(&redis);
        config.prefix = prefix.to_owned();
        Arc::new(dataconn::redis::RedisTier::connect(config).expect("redis"))
    };
    let prefix = format!("dataconn-bench:{}:", std::process::id());
    let replica_a = hub(
        &text,
        QueryCache::with_shared(CacheLimit::default(), tier(&prefix)),
    );
    let replica_b = hub(
        &text,
        QueryCache::with_shared(CacheLimit::default(), tier(&prefix)),
    );

    let lite = local
        .connection::<SqlConnection>("lite")
        .await
        .expect("sqlite");
    lite.execute("drop table if exists t", params! {})
        .await
        .expect("drop");
    lite.execute(
        "create table t as with recursive c(x) as (select 1 union all select x + 1 from c where x < 100000) \
         select x, x * 1.5 as f, 'name-' || x as s from c",
        params! {},
    )
    .await
    .expect("create");
    let pg_conn = match &pg {
        Some(_) => {
            let c = local
                .connection::<SqlConnection>("pg")
                .await
                .expect("postgres");
            c.execute("drop table if exists dataconn_bench_cache", params! {})
                .await
                .expect("drop");
            c.execute(
                "create table dataconn_bench_cache as select g as x, g * 1.5 as f, 'name-' || g as s \
                 from generate_series(1, 100000) g",
                params! {},
            )
            .await
            .expect("create");
            Some(c)
        }
        None => None,
    };

    println!("# Cache hit latency by tier (median)\n");
    println!(
        "| result rows | local-tier hit | Redis-tier hit | re-run on SQLite | re-run on PostgreSQL |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for rows in [1_000usize, 100_000] {
        let sql = format!("select x, f, s from t where x <= {rows}");
        let a = replica_a
            .connection::<SqlConnection>("lite")
            .await
            .expect("a");
        let b = replica_b
            .connection::<SqlConnection>("lite")
            .await
            .expect("b");
        a.query(sql.as_str()).await.expect("warm a");
        let local_hit = time_runs(2000, || async {
            std::hint::black_box(a.query(sql.as_str()).await.expect("hit"));
        })
        .await;
        let remote_hit = time_runs(50, || async {
            replica_b.cache().clear_all();
            replica_b.cache().sync().await;
            std::hint::black_box(b.query(sql.as_str()).await.expect("remote hit"));
        })
        .await;
        let before = replica_b.cache().stats();
        assert!(
            before.remote_hits >= 50,
            "the Redis tier answered: {before:?}"
        );
        let sqlite = time_runs(20, || async {
            std::hint::black_box(
                lite.query(sql.as_str())
                    .ttl(Ttl::NoCache)
                    .await
                    .expect("sqlite"),
            );
        })
        .await;
        let postgres = match &pg_conn {
            Some(c) => {
                let sql = format!("select x, f, s from dataconn_bench_cache where x <= {rows}");
                fmt(time_runs(20, || async {
                    std::hint::black_box(
                        c.query(sql.as_str()).ttl(Ttl::NoCache).await.expect("pg"),
                    );
                })
                .await)
            }
            None => "-".to_owned(),
        };
        println!(
            "| {rows} | {} | {} | {} | {postgres} |",
            fmt(local_hit),
            fmt(remote_hit),
            fmt(sqlite)
        );
    }
}

fn dataconn_redis_config(url: &str) -> dataconn::redis::RedisConfig {
    dataconn::redis::RedisConfig::new(url)
}
