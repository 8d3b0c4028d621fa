//! DuckDB through its own library: files and memory, read-only mode, DuckDB's Parquet and CSV
//! readers on files pyarrow wrote, concurrent readers, and a file another process holds.

use std::sync::Arc;

use dataconn_adbc::DuckDbConnection;
use dataconn_core::{ErrorKind, Params};

use crate::peers::{self, texts};

fn hub(library: &str, extra: &str) -> dataconn_core::Connections {
    peers::hub(
        "duck",
        "duckdb",
        &peers::table(&format!("library = {library:?}\n{extra}")),
    )
}

#[tokio::test]
async fn a_file_database_keeps_its_rows_and_read_only_refuses_writes() {
    let Some(library) = peers::duckdb() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.duckdb");
    {
        let hub = hub(
            &library,
            &format!("url = \"duckdb:///{}\"\n", file.display()),
        );
        let duck = hub.connection::<DuckDbConnection>("duck").await.unwrap();
        duck.execute(
            "create table t as select range as i from range(10)",
            Params::new(),
        )
        .await
        .unwrap();
        let big = duck
            .query("from t select count(*) as n where i >= :min")
            .param("min", 5)
            .await
            .unwrap();
        assert_eq!(texts(&big, "n"), [Some("5".to_owned())]);
        hub.close_all().await;
    }
    let hub = hub(
        &library,
        &format!(
            "database = {:?}\nread_only = true\nthreads = 2\n",
            file.display()
        ),
    );
    let duck = hub.connection::<DuckDbConnection>("duck").await.unwrap();
    let all = duck
        .query("select count(*) as n, current_setting('threads') as threads from t")
        .await
        .unwrap();
    assert_eq!(
        texts(&all, "n"),
        [Some("10".to_owned())],
        "the rows outlive the first connection"
    );
    assert_eq!(
        texts(&all, "threads"),
        [Some("2".to_owned())],
        "settings reach DuckDB"
    );
    let err = duck
        .execute("insert into t values (99)", Params::new())
        .await
        .unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("read-only"),
        "{err}"
    );
}

#[tokio::test]
async fn duckdb_reads_parquet_and_csv_that_pyarrow_wrote() {
    let Some(library) = peers::duckdb() else {
        return;
    };
    let Some(dir) = std::env::var("DATACONN_TEST_INTEROP_DIR").ok() else {
        assert!(
            std::env::var("CI").is_err(),
            "DATACONN_TEST_INTEROP_DIR is missing in CI"
        );
        eprintln!("SKIPPING the DuckDB interop test: run scripts/peers.sh");
        return;
    };
    let hub = hub(&library, "");
    let duck = hub.connection::<DuckDbConnection>("duck").await.unwrap();
    for file in ["pyarrow_zstd.parquet", "pyarrow.csv"] {
        let reader = if file.ends_with(".csv") {
            "read_csv"
        } else {
            "read_parquet"
        };
        let table = duck
            .query(format!(
                "select id, score, name from {reader}(:path) where id % 250 = 0 order by id"
            ))
            .param("path", format!("{dir}/{file}"))
            .await
            .unwrap();
        // interop.py's formulas: score = id * 1.5, name NULL when id % 5 == 0.
        assert_eq!(
            texts(&table, "id"),
            ["0", "250", "500", "750"].map(|s| Some(s.to_owned())),
            "{file}"
        );
        let scores: Vec<f64> = texts(&table, "score")
            .iter()
            .map(|s| s.as_deref().unwrap().parse().unwrap())
            .collect();
        assert_eq!(scores, [0.0, 375.0, 750.0, 1125.0], "{file}");
        assert_eq!(texts(&table, "name"), [None, None, None, None], "{file}");
    }
}

#[tokio::test]
async fn concurrent_readers_share_the_pool() {
    let Some(library) = peers::duckdb() else {
        return;
    };
    let hub = hub(&library, "max_connections = 3\n");
    let duck = hub.connection::<DuckDbConnection>("duck").await.unwrap();
    duck.execute(
        "create table n as select range as i from range(100000)",
        Params::new(),
    )
    .await
    .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|k| {
            let duck = duck.clone();
            tokio::spawn(async move {
                let t = duck
                    .query("select sum(i) as s from n where i % 16 = :k")
                    .param("k", k)
                    .await
                    .unwrap();
                texts(&t, "s").remove(0).unwrap().parse::<i64>().unwrap()
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    assert_eq!(total, (0..100_000i64).sum::<i64>());
}

#[tokio::test]
async fn a_file_another_process_holds_says_it_is_locked() {
    let Some(library) = peers::duckdb() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("held.duckdb");
    // Another process opens the file for writing and keeps it until its stdin closes.
    let script = format!(
        "import ctypes, sys\nlib = ctypes.CDLL({library:?})\ndb = ctypes.c_void_p()\n\
         assert lib.duckdb_open({:?}.encode(), ctypes.byref(db)) == 0\nprint('held', flush=True)\nsys.stdin.read()\n",
        file.display().to_string()
    );
    let mut holder = std::process::Command::new("python3")
        .args(["-c", &script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "held");

    let hub = hub(&library, &format!("database = {:?}\n", file.display()));
    let err = hub.connect("duck").await.unwrap_err();
    drop(holder.stdin.take());
    holder.wait().unwrap();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("locked by another process"), "{msg}");
    assert!(msg.contains("held.duckdb"), "{msg}");
}

#[tokio::test]
async fn connections_to_one_file_share_one_database_in_the_process() {
    let Some(library) = peers::duckdb() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shared.duckdb");
    let section = format!(
        "type = \"duckdb\"\nlibrary = {library:?}\ndatabase = {:?}\n",
        file.display()
    );
    let secrets = format!(
        "[connections.a]\n{section}\n[connections.b]\n{section}\n[connections.c]\n{section}threads = 1\n"
    );
    let hub = dataconn_core::Connections::builder()
        .registry(peers::registry())
        .secrets(dataconn_core::Secrets::from_toml("tests/secrets.toml", &secrets).unwrap())
        .build()
        .unwrap();
    let a = hub.connection::<DuckDbConnection>("a").await.unwrap();
    let b = hub.connection::<DuckDbConnection>("b").await.unwrap();
    a.execute("create table t as select 1 as x", Params::new())
        .await
        .unwrap();
    let seen = b.query("select count(*) as n from t").await.unwrap();
    assert_eq!(
        texts(&seen, "n"),
        [Some("1".to_owned())],
        "b sees a's write: one database"
    );
    let err = hub.connect("c").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    assert!(
        err.to_string().contains("other settings") || err.to_string().contains("with others"),
        "{err}"
    );
}

#[tokio::test]
async fn an_in_memory_database_is_shared_by_the_pool_and_ingests() {
    let Some(library) = peers::duckdb() else {
        return;
    };
    let hub = hub(&library, "database = \":memory:\"\nmax_connections = 2\n");
    let duck: Arc<DuckDbConnection> = hub.connection("duck").await.unwrap();
    // One connection holds a stream open while the other writes: both see one database.
    let mut held = duck
        .query_stream("select * from range(3)", Params::new())
        .await
        .unwrap();
    duck.execute("create table seen as select 7 as x", Params::new())
        .await
        .unwrap();
    let mut session = duck.session().await.unwrap();
    let inside = session
        .query("select x from seen", Params::new())
        .await
        .unwrap();
    assert_eq!(texts(&inside, "x"), [Some("7".to_owned())]);
    session.rollback().await.unwrap();
    drop(futures::StreamExt::next(&mut held).await);
    let data = duck
        .query("select range as id, 'x' || range as label from range(5)")
        .await
        .unwrap();
    duck.write_table(&data, "copy", dataconn_adbc::WriteMode::Create)
        .await
        .unwrap();
    let back = duck
        .query("select count(*) as n from copy where label like :p")
        .param("p", "x%")
        .await
        .unwrap();
    assert_eq!(texts(&back, "n"), [Some("5".to_owned())]);
}
