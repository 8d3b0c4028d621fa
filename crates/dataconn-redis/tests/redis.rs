//! Two hubs in one process, standing in for two replicas of an app, sharing one Redis.
//!
//! Redis runs on 127.0.0.1:6379 on the project's machines (`DATACONN_TEST_REDIS_URL` overrides
//! it; `scripts/peers.sh` starts one where none answers). The outage test starts a second
//! redis-server of its own on its own port, kills it and starts it again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use dataconn_core::{CacheLimit, Connections, QueryCache, Secrets, Ttl, params};
use dataconn_redis::{RedisConfig, RedisTier};
use dataconn_sql::SqlConnection;

fn redis_url() -> Option<String> {
    let url = std::env::var("DATACONN_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    let addr = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    if std::net::TcpStream::connect(&addr).is_ok() {
        return Some(url);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("Redis does not answer at {url} and CI=true: run scripts/peers.sh");
    }
    eprintln!("SKIPPING Redis tests: nothing answers at {url} (run scripts/peers.sh)");
    None
}

/// A replica: its own hub and in-process cache, sharing Redis under `prefix`.
fn replica(url: &str, prefix: &str, db: &std::path::Path, max_value_bytes: usize) -> Connections {
    let mut config = RedisConfig::new(url);
    config.prefix = prefix.to_owned();
    config.max_value_bytes = max_value_bytes;
    let tier = Arc::new(RedisTier::connect(config).expect("a Redis URL"));
    let cache = QueryCache::with_shared(CacheLimit::default(), tier);
    let text = format!("[connections.shop]\nurl = \"sqlite:///{}\"\n", db.display());
    Connections::builder()
        .registry({
            let r = dataconn_core::Registry::new();
            dataconn_sql::register(&r);
            r
        })
        .secrets(Secrets::from_toml("secrets.toml", &text).unwrap())
        .cache(cache)
        .build()
        .unwrap()
}

struct Pair {
    a: Connections,
    b: Connections,
    _dir: tempfile::TempDir,
}

async fn pair(url: &str, test: &str, max_value_bytes: usize) -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let prefix = format!("dataconn-test:{}:{test}:", std::process::id());
    let a = replica(url, &prefix, &db, max_value_bytes);
    let b = replica(url, &prefix, &db, max_value_bytes);
    let conn = a.connection::<SqlConnection>("shop").await.unwrap();
    conn.execute("create table orders (id integer)", params! {})
        .await
        .unwrap();
    conn.execute("insert into orders values (1), (2), (3)", params! {})
        .await
        .unwrap();
    Pair { a, b, _dir: dir }
}

async fn count(hub: &Connections, ttl: Ttl) -> i64 {
    let conn = hub.connection::<SqlConnection>("shop").await.unwrap();
    let t = conn
        .query("select count(*) as n from orders")
        .ttl(ttl)
        .await
        .unwrap();
    t.column("n").unwrap().as_primitive::<Int64Type>().value(0)
}

fn executions(p: &Pair) -> u64 {
    p.a.cache().stats().misses + p.b.cache().stats().misses
}

#[tokio::test]
async fn a_miss_in_one_replica_is_a_hit_in_the_other() {
    let Some(url) = redis_url() else { return };
    let p = pair(&url, "share", 1 << 20).await;
    assert_eq!(count(&p.a, Ttl::Forever).await, 3);
    assert_eq!(count(&p.b, Ttl::Forever).await, 3);
    assert_eq!(executions(&p), 1, "b was served from Redis");
    assert_eq!(p.b.cache().stats().remote_hits, 1);
    assert_eq!(count(&p.b, Ttl::Forever).await, 3);
    assert_eq!(
        p.b.cache().stats().hits,
        1,
        "and then from its own local tier"
    );
}

#[tokio::test]
async fn a_write_in_one_replica_invalidates_the_others() {
    let Some(url) = redis_url() else { return };
    let p = pair(&url, "invalidate", 1 << 20).await;
    assert_eq!(count(&p.a, Ttl::Forever).await, 3);
    assert_eq!(count(&p.b, Ttl::Forever).await, 3);
    let conn = p.a.connection::<SqlConnection>("shop").await.unwrap();
    conn.execute("insert into orders values (4)", params! {})
        .await
        .unwrap();
    assert_eq!(
        count(&p.a, Ttl::Forever).await,
        4,
        "the writer sees its write at once"
    );
    // The other replica hears the bump over pub/sub within milliseconds.
    let deadline = Instant::now() + Duration::from_secs(5);
    while count(&p.b, Ttl::Forever).await != 4 {
        assert!(
            Instant::now() < deadline,
            "replica b still serves the old count after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn redis_keeps_the_ttl() {
    let Some(url) = redis_url() else { return };
    let p = pair(&url, "ttl", 1 << 20).await;
    let ttl = Ttl::For(Duration::from_millis(300));
    assert_eq!(count(&p.a, ttl).await, 3);
    assert_eq!(count(&p.b, ttl).await, 3);
    assert_eq!(executions(&p), 1);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(count(&p.b, ttl).await, 3);
    assert_eq!(
        executions(&p),
        2,
        "the value expired in Redis and locally: b ran the query"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_misses_across_replicas_run_once() {
    let Some(url) = redis_url() else { return };
    let p = pair(&url, "stampede", 1 << 20).await;
    let slow = "with recursive c(x) as (select 1 union all select x + 1 from c where x < 300000) select count(*) as n from c";
    let mut calls = Vec::new();
    for i in 0..32 {
        let hub = if i % 2 == 0 { p.a.clone() } else { p.b.clone() };
        calls.push(tokio::spawn(async move {
            let conn = hub.connection::<SqlConnection>("shop").await.unwrap();
            conn.query(slow).await.unwrap().num_rows()
        }));
    }
    for call in calls {
        assert_eq!(call.await.unwrap(), 1);
    }
    assert_eq!(
        executions(&p),
        1,
        "one execution for 32 calls over two replicas"
    );
}

#[tokio::test]
async fn a_value_above_the_maximum_is_not_stored_and_the_log_says_so() {
    let Some(url) = redis_url() else { return };
    let captured = dataconn_testkit::logs::CapturedLogs::default();
    let _guard = captured.install();
    let p = pair(&url, "toolarge", 64).await;
    assert_eq!(count(&p.a, Ttl::Forever).await, 3);
    assert_eq!(count(&p.b, Ttl::Forever).await, 3);
    assert_eq!(
        executions(&p),
        2,
        "nothing was stored, so b ran the query too"
    );
    let log = captured.text();
    assert!(log.contains("larger than the maximum value size"), "{log}");
}

struct OwnRedis {
    child: std::process::Child,
}

impl OwnRedis {
    fn start(port: u16) -> OwnRedis {
        let server = std::env::var("DATACONN_TEST_REDIS_SERVER")
            .unwrap_or_else(|_| "redis-server".to_owned());
        let child = std::process::Command::new(server)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server starts (scripts/peers.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not come up on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        OwnRedis { child }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_keep_working_while_redis_is_down_and_sharing_returns_with_it() {
    let Some(_) = redis_url() else { return };
    let port = 6391;
    let redis = OwnRedis::start(port);
    let url = format!("redis://127.0.0.1:{port}/");
    let p = pair(&url, "outage", 1 << 20).await;
    assert_eq!(count(&p.a, Ttl::Forever).await, 3);
    assert_eq!(count(&p.b, Ttl::Forever).await, 3);
    assert_eq!(executions(&p), 1);

    drop(redis);
    let conn = p.a.connection::<SqlConnection>("shop").await.unwrap();
    conn.execute("insert into orders values (4)", params! {})
        .await
        .unwrap();
    assert_eq!(
        count(&p.a, Ttl::Forever).await,
        4,
        "with Redis down, queries still run"
    );
    let t = conn.query("select max(id) as m from orders").await.unwrap();
    assert_eq!(
        t.column("m").unwrap().as_primitive::<Int64Type>().value(0),
        4
    );

    let _redis = OwnRedis::start(port);
    // Once Redis is back, a result one replica computes serves the other again.
    let deadline = Instant::now() + Duration::from_secs(10);
    for i in 0.. {
        let sql = format!("select count(*) + {i} - {i} as n from orders");
        let a = p.a.connection::<SqlConnection>("shop").await.unwrap();
        let b = p.b.connection::<SqlConnection>("shop").await.unwrap();
        a.query(sql.as_str()).await.unwrap();
        let before = p.b.cache().stats().remote_hits;
        b.query(sql.as_str()).await.unwrap();
        if p.b.cache().stats().remote_hits > before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sharing did not come back within 10 s of Redis returning"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn keys_under(url: &str, prefix: &str) -> Vec<String> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn nothing_in_redis_lets_a_reader_check_a_password_guess() {
    let Some(url) = redis_url() else { return };
    let p = pair(&url, "hidden", 16 * 1024 * 1024).await;
    assert_eq!(count(&p.a, Ttl::Forever).await, 3);
    let config = p.a.resolve("shop", None, &toml::Table::new()).unwrap();
    let private = &config.fingerprint()[..16];
    let prefix = format!("dataconn-test:{}:hidden:", std::process::id());
    let keys = keys_under(&url, &prefix).await;
    assert!(keys.iter().any(|k| k.contains("gen:")), "{keys:?}");
    for key in &keys {
        assert!(
            !key.contains(private),
            "{key} carries the config's full fingerprint"
        );
    }
}

#[tokio::test]
async fn with_a_key_secret_only_differences_get_their_own_hidden_scopes() {
    let mut config = RedisConfig::new("redis://127.0.0.1:1/");
    config.key = Some(dataconn_core::Secret::new("replica-shared-key"));
    let tier = RedisTier::connect(config).unwrap();
    let a = dataconn_core::SharedTier::shared_scope(
        &tier,
        "sql:shop:0123456789abcdef#aaaaaaaaaaaaaaaa",
    );
    let b = dataconn_core::SharedTier::shared_scope(
        &tier,
        "sql:shop:0123456789abcdef#bbbbbbbbbbbbbbbb",
    );
    assert_ne!(a, b);
    assert!(
        a.starts_with("sql:shop:0123456789abcdef~") && !a.contains("aaaa"),
        "{a}"
    );
    let keyless = RedisTier::connect(RedisConfig::new("redis://127.0.0.1:1/")).unwrap();
    assert_eq!(
        dataconn_core::SharedTier::shared_scope(
            &keyless,
            "sql:shop:0123456789abcdef#aaaaaaaaaaaaaaaa"
        ),
        "sql:shop:0123456789abcdef"
    );
}

#[tokio::test]
async fn an_oversized_or_forged_value_in_redis_is_never_read_into_memory_or_trusted() {
    let Some(url) = redis_url() else { return };
    let prefix = format!("dataconn-test:{}:bounded:", std::process::id());
    let mut config = RedisConfig::new(&url);
    config.prefix = prefix.clone();
    config.max_read_bytes = 64;
    let tier = RedisTier::connect(config).unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}v:big"))
        .arg(vec![7u8; 4096])
        .query_async(&mut conn)
        .await
        .unwrap();
    let got = dataconn_core::SharedTier::get(&tier, "big").await.unwrap();
    assert!(
        got.is_none(),
        "a 4 KiB value must not come back under a 64-byte limit"
    );
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}v:small"))
        .arg(b"ok".to_vec())
        .query_async(&mut conn)
        .await
        .unwrap();
    let got = dataconn_core::SharedTier::get(&tier, "small")
        .await
        .unwrap();
    assert_eq!(got.as_deref(), Some(&b"ok"[..]));
}
