//! Server databases into Arrow: dataconn against the floor, ConnectorX and pandas, in one run.
//!
//! Run: `scripts/bench.sh sql` (it starts the servers and a Python venv with ConnectorX and
//! pandas). The same deterministic 1,000,000-row table (int, bigint, float, numeric(12,2), text
//! with NULLs, timestamp, bool) is loaded into PostgreSQL and MariaDB once, then each method
//! reads `select * from bench` in its own process, so that peak RSS is its own:
//!
//! - PostgreSQL floor: draining `COPY (select * from bench) TO STDOUT (FORMAT binary)` without
//!   decoding. MySQL floor: the `mariadb` client dumping the query to /dev/null.
//! - dataconn `query()` (uncached), and for PostgreSQL also with `copy = false` (the row path)
//!   and through the ADBC connector with the Apache Arrow PostgreSQL driver
//!   (`DATACONN_TEST_ADBC_POSTGRESQL_DRIVER`, installed by `scripts/peers.sh`).
//! - The ODBC connector through psqlODBC (`--features odbc`, which `scripts/bench.sh sql` sets),
//!   and pyodbc + pandas on the same driver (what a Streamlit app on SQL Server runs).
//! - ConnectorX `read_sql(..., return_type="arrow")` and pandas `read_sql` over SQLAlchemy (what
//!   Streamlit's `SQLConnection.query` runs), from `benches/python/sql_peers.py`.
//!
//! `ROWS=100000` for a quicker look.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dataconn::{Connections, Secrets, SqlConnection, Ttl, params};
use futures::TryStreamExt;
use sqlx::Executor;

fn rows_wanted() -> u64 {
    std::env::var("ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// One method's figures, as printed by a child process.
#[derive(Debug, Clone)]
struct Figures {
    method: String,
    seconds: f64,
    rows: u64,
    peak_rss_kb: u64,
    arrow_bytes: u64,
}

impl Figures {
    fn to_line(&self) -> String {
        format!(
            "FIGURES {} {} {} {} {}",
            self.method, self.seconds, self.rows, self.peak_rss_kb, self.arrow_bytes
        )
    }

    fn parse(method: &str, text: &str) -> Option<Figures> {
        if let Some(line) = text.lines().find(|l| l.starts_with("FIGURES ")) {
            let f: Vec<&str> = line.split_whitespace().collect();
            return Some(Figures {
                method: f[1].to_owned(),
                seconds: f[2].parse().ok()?,
                rows: f[3].parse().ok()?,
                peak_rss_kb: f[4].parse().ok()?,
                arrow_bytes: f[5].parse().ok()?,
            });
        }
        // The Python peers print JSON.
        let json = text.lines().find(|l| l.starts_with('{'))?;
        let field = |name: &str| -> Option<f64> {
            let at = json.find(&format!("\"{name}\": "))? + name.len() + 4;
            json[at..].split([',', '}']).next()?.trim().parse().ok()
        };
        Some(Figures {
            method: method.to_owned(),
            seconds: field("seconds")?,
            rows: field("rows")? as u64,
            peak_rss_kb: field("peak_rss_kb")? as u64,
            arrow_bytes: 0,
        })
    }
}

const QUERY: &str = "select * from bench";

async fn hub(url: &str, extra: &str) -> Connections {
    let text = format!("[connections.bench]\nurl = \"{url}\"\n{extra}\n");
    Connections::builder()
        .registry(dataconn::default_registry())
        .secrets(Secrets::from_toml("bench-secrets.toml", &text).expect("secrets"))
        .build()
        .expect("hub")
}

fn with_database(server: &str, database: &str) -> String {
    let (scheme, rest) = server.split_once("://").expect("a URL");
    let authority = rest.split('/').next().unwrap_or_default();
    format!("{scheme}://{authority}/{database}")
}

/// Load the bench table into database `dataconn_bench` unless it already holds `rows` rows.
async fn load(kind: &str, server: &str, rows: u64) -> String {
    let url = with_database(server, "dataconn_bench");
    let admin = hub(server, "").await;
    let admin = admin
        .connection::<SqlConnection>("bench")
        .await
        .expect("admin connect");
    let exists = match kind {
        "postgres" => "select count(*) from pg_database where datname = 'dataconn_bench'",
        _ => {
            "select count(*) from information_schema.schemata where schema_name = 'dataconn_bench'"
        }
    };
    let t = admin
        .query(exists)
        .ttl(0)
        .await
        .expect("look up the bench database");
    let n = arrow::compute::cast(t.batches()[0].column(0), &arrow::datatypes::DataType::Int64)
        .expect("count");
    if arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(&n).value(0) == 0 {
        admin
            .execute("create database dataconn_bench", params! {})
            .await
            .expect("create the bench database");
    }
    let hub = hub(&url, "").await;
    let conn = hub
        .connection::<SqlConnection>("bench")
        .await
        .expect("bench connect");
    let have = conn.query("select count(*) from bench").ttl(0).await;
    let have = have
        .ok()
        .and_then(|t| {
            arrow::compute::cast(t.batches()[0].column(0), &arrow::datatypes::DataType::Int64).ok()
        })
        .map(|a| {
            arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(&a).value(0) as u64
        });
    if have == Some(rows) {
        return url;
    }
    eprintln!("loading {rows} rows into {kind}");
    let statements: Vec<String> = match kind {
        "postgres" => vec![
            "drop table if exists bench".into(),
            "create table bench (id int, big bigint, f double precision, amount numeric(12, 2), \
             name text, created timestamp, flag bool)"
                .into(),
            format!(
                "insert into bench select g, g::bigint * 1000, g * 1.5, (g % 100000) / 100.0, \
                 case when g % 7 = 0 then null else 'customer-' || (g % 100000) end, \
                 timestamp '2024-01-01' + g * interval '1 second', g % 2 = 0 \
                 from generate_series(1, {rows}) g"
            ),
        ],
        _ => {
            let digits = "(select 0 as x union all select 1 union all select 2 union all select 3 union all \
                          select 4 union all select 5 union all select 6 union all select 7 union all \
                          select 8 union all select 9)";
            vec![
                "drop table if exists bench".into(),
                "create table bench (id int, big bigint, f double, amount decimal(12, 2), name text, \
                 created datetime, flag bool)"
                    .into(),
                format!(
                    "insert into bench select n, n * 1000, n * 1.5, (n % 100000) / 100, \
                     if(n % 7 = 0, null, concat('customer-', n % 100000)), \
                     timestamp('2024-01-01') + interval n second, n % 2 = 0 from (\
                     select a.x + 10 * b.x + 100 * c.x + 1000 * d.x + 10000 * e.x + 100000 * f.x + 1 as n \
                     from {digits} a, {digits} b, {digits} c, {digits} d, {digits} e, {digits} f) nums \
                     where n <= {rows}"
                ),
            ]
        }
    };
    for statement in statements {
        conn.execute(&statement, params! {})
            .await
            .expect("load the bench table");
    }
    url
}

/// Best of three uncached `query()` runs of [`QUERY`] on `conn`, freeing each result before the
/// next so that peak RSS is for one result.
async fn query_figures<C: dataconn::Query>(method: &str, conn: &C) -> Figures {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..3 {
        drop(last.take());
        let started = Instant::now();
        let t = dataconn::QueryExt::query(conn, QUERY)
            .ttl(Ttl::NoCache)
            .await
            .expect("query");
        best = best.min(started.elapsed());
        last = Some(t);
    }
    let t = last.expect("three runs");
    Figures {
        method: method.into(),
        seconds: best.as_secs_f64(),
        rows: t.num_rows() as u64,
        peak_rss_kb: peak_rss_kb(),
        arrow_bytes: t.byte_size() as u64,
    }
}

/// The connection `[connections.bench]` = `section` describes, through the default registry.
async fn bench_connection<T: dataconn::TypedConnection>(section: &str) -> Arc<T> {
    let text = format!("[connections.bench]\n{section}");
    let hub = Connections::builder()
        .registry(dataconn::default_registry())
        .secrets(Secrets::from_toml("bench-secrets.toml", &text).expect("secrets"))
        .build()
        .expect("hub");
    hub.connection::<T>("bench").await.expect("connect")
}

/// A child process: run one method and print its figures.
async fn child(method: &str, url: &str) {
    let best = |times: &[Duration]| {
        times
            .iter()
            .min()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
    };
    let figures = match method {
        "dataconn" | "dataconn-rows" => {
            let extra = if method == "dataconn-rows" {
                "copy = false"
            } else {
                ""
            };
            let hub = hub(url, extra).await;
            let conn = hub
                .connection::<SqlConnection>("bench")
                .await
                .expect("connect");
            query_figures(method, &*conn).await
        }
        "dataconn-adbc" => {
            let driver = std::env::var("DATACONN_TEST_ADBC_POSTGRESQL_DRIVER")
                .expect("the ADBC PostgreSQL driver (scripts/peers.sh)");
            let conn: Arc<dataconn::AdbcConnection> = bench_connection(&format!(
                "type = \"adbc\"\ndriver = {driver:?}\nuri = {:?}\n",
                url.replacen("postgres://", "postgresql://", 1)
            ))
            .await;
            query_figures(method, &*conn).await
        }
        #[cfg(feature = "odbc")]
        "dataconn-odbc" => {
            let conn: Arc<dataconn::OdbcConnection> = bench_connection(&format!(
                "type = \"odbc\"\nconnection_string = {:?}\n",
                odbc_connection_string(url)
            ))
            .await;
            query_figures(method, &*conn).await
        }
        "copy-floor" => {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
                .await
                .expect("connect");
            let mut times = Vec::new();
            let mut bytes = 0u64;
            for _ in 0..3 {
                let started = Instant::now();
                let mut stream = conn
                    .copy_out_raw(&format!("COPY ({QUERY}) TO STDOUT (FORMAT binary)"))
                    .await
                    .expect("copy");
                bytes = 0;
                while let Some(chunk) = stream.try_next().await.expect("chunk") {
                    bytes += chunk.len() as u64;
                }
                times.push(started.elapsed());
            }
            conn.execute("select 1")
                .await
                .expect("the connection is reusable");
            Figures {
                method: method.into(),
                seconds: best(&times),
                rows: rows_wanted(),
                peak_rss_kb: peak_rss_kb(),
                arrow_bytes: bytes,
            }
        }
        other => panic!("unknown method {other}"),
    };
    println!("{}", figures.to_line());
}

fn run_child(method: &str, url: &str) -> Option<Figures> {
    let me = std::env::current_exe().expect("own path");
    let out = Command::new(me)
        .args(["--child", method, url])
        .output()
        .expect("child runs");
    if !out.status.success() {
        eprintln!("{method} failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Figures::parse(method, &String::from_utf8_lossy(&out.stdout))
}

/// The psqlODBC connection string for a `postgres://user@host:port/db` URL.
fn odbc_connection_string(url: &str) -> String {
    let driver = std::env::var("DATACONN_TEST_ODBC_POSTGRES_DRIVER")
        .unwrap_or_else(|_| "PostgreSQL Unicode".to_owned());
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (user, rest) = rest.split_once('@').unwrap_or(("postgres", rest));
    let (host_port, database) = rest.split_once('/').unwrap_or((rest, "postgres"));
    let (host, port) = host_port.split_once(':').unwrap_or((host_port, "5432"));
    format!("Driver={{{driver}}};Server={host};Port={port};Database={database};UID={user};")
}

fn run_python(method: &str, url: &str) -> Option<Figures> {
    let python = std::env::var("BENCH_PYTHON").ok()?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/sql_peers.py");
    let out = Command::new(python)
        .args([script, method, url, QUERY])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("{method} failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Figures::parse(method, &String::from_utf8_lossy(&out.stdout))
}

fn mysql_client_floor(url: &str) -> Option<Figures> {
    let rest = url.split_once("://")?.1;
    let (authority, database) = rest.split_once('/')?;
    let (user, host_port) = authority.split_once('@')?;
    let (host, port) = host_port.split_once(':').unwrap_or((host_port, "3306"));
    let mut best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let status = Command::new("mariadb")
            .args([
                "-h", host, "-P", port, "-u", user, "--quick", "--batch", "-e", QUERY, database,
            ])
            .stdout(std::process::Stdio::null())
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    Some(Figures {
        method: "client-floor".into(),
        seconds: best,
        rows: rows_wanted(),
        peak_rss_kb: 0,
        arrow_bytes: 0,
    })
}

/// The ODBC connector's figure, when this build has it and psqlODBC is installed.
fn odbc_method(url: &str) -> Option<Figures> {
    if !cfg!(feature = "odbc") {
        println!("\n(built without the `odbc` feature: the ODBC connector is left out)");
        return None;
    }
    run_child("dataconn-odbc", url)
}

/// `method`'s time as a ratio of each of `baselines` (same run), as one line.
fn ratios(results: &[Option<Figures>], method: &str, baselines: &[&str]) -> Option<String> {
    let all: Vec<&Figures> = results.iter().flatten().collect();
    let ours = all.iter().find(|f| f.method == method)?;
    let parts: Vec<String> = baselines
        .iter()
        .filter_map(|b| all.iter().find(|f| f.method == *b))
        .map(|b| format!("{:.2}× {}", ours.seconds / b.seconds, b.method))
        .collect();
    Some(format!("{method} time as a ratio of: {}", parts.join(", ")))
}

fn report(title: &str, floor: &Option<Figures>, rows: Vec<Option<Figures>>) {
    println!("\n## {title}\n");
    println!("| method | best time | rows/s | peak RSS | vs floor | vs ConnectorX |");
    println!("|---|---:|---:|---:|---:|---:|");
    let all: Vec<Figures> = floor
        .iter()
        .cloned()
        .chain(rows.into_iter().flatten())
        .collect();
    let cx = all
        .iter()
        .find(|f| f.method == "connectorx")
        .map(|f| f.seconds);
    for f in &all {
        let ratio =
            |base: Option<f64>| base.map_or("-".to_owned(), |b| format!("{:.2}×", f.seconds / b));
        let rss = if f.peak_rss_kb > 0 {
            format!("{} MiB", f.peak_rss_kb / 1024)
        } else {
            "-".into()
        };
        println!(
            "| {} | {:.3} s | {:.0} | {rss} | {} | {} |",
            f.method,
            f.seconds,
            f.rows as f64 / f.seconds,
            ratio(floor.as_ref().map(|f| f.seconds)),
            ratio(cx)
        );
    }
    if let Some(ours) = all
        .iter()
        .find(|f| f.method == "dataconn" && f.arrow_bytes > 0)
    {
        println!(
            "\nArrow result: {} MiB; dataconn peak RSS / result size: {:.2}",
            ours.arrow_bytes / (1024 * 1024),
            (ours.peak_rss_kb * 1024) as f64 / ours.arrow_bytes as f64
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child(&args[2], &args[3]).await;
        return;
    }
    let rows = rows_wanted();
    println!("# dataconn SQL benchmarks ({rows} rows × 7 columns, `{QUERY}`)");
    if std::env::var("BENCH_PYTHON").is_err() {
        println!(
            "\n(BENCH_PYTHON is not set: ConnectorX and pandas are left out; scripts/bench.sh sql sets it)"
        );
    }
    if let Ok(server) = std::env::var("DATACONN_TEST_POSTGRES_URL") {
        let url = load("postgres", &server, rows).await;
        let floor = run_child("copy-floor", &url);
        let results = vec![
            run_child("dataconn", &url),
            run_child("dataconn-rows", &url),
            std::env::var("DATACONN_TEST_ADBC_POSTGRESQL_DRIVER")
                .ok()
                .and_then(|_| run_child("dataconn-adbc", &url)),
            odbc_method(&url),
            run_python("connectorx", &url.replace("postgres://", "postgresql://")),
            run_python("pandas", &url.replace("postgres://", "postgresql://")),
            // pyodbc + pandas on the same driver as the ODBC connector: the path a Streamlit
            // app on SQL Server takes.
            run_python("pyodbc", &odbc_connection_string(&url)),
        ];
        let odbc_ratios = ratios(
            &results,
            "dataconn-odbc",
            &["dataconn", "pyodbc", "connectorx"],
        );
        report("PostgreSQL → Arrow", &floor, results);
        if let Some(line) = odbc_ratios {
            println!("\n{line}");
        }
    }
    if let Ok(server) = std::env::var("DATACONN_TEST_MYSQL_URL") {
        let url = load("mysql", &server, rows).await;
        let floor = mysql_client_floor(&url);
        let results = vec![
            run_child("dataconn", &url),
            run_python("connectorx", &url),
            run_python("pandas", &url),
        ];
        report("MariaDB → Arrow", &floor, results);
    }
}
