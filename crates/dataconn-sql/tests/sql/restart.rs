//! A server killed and restarted mid-run: the same connection object recovers on its own, by
//! retrying with backoff, and no committed row is lost. The same private server has TLS on, so
//! the test first proves the driver's rustls path (one crypto provider, no panic at first use).
//!
//! Runs against the private PostgreSQL that `scripts/peers.sh` starts for it
//! (`DATACONN_TEST_PG_RESTART_URL`, `DATACONN_TEST_PG_RESTART_CTL`), never the shared one.

use std::time::Duration;

use dataconn_core::{Connections, Secrets, Ttl, params};
use dataconn_sql::SqlConnection;

fn control(ctl: &str, action: &str) {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{ctl} {action}"))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("pg_ctl runs");
    assert!(status.success(), "pg_ctl {action} failed");
}

#[tokio::test]
async fn a_restarted_server_is_reconnected_and_no_committed_row_is_lost() {
    let (Ok(url), Ok(ctl)) = (
        std::env::var("DATACONN_TEST_PG_RESTART_URL"),
        std::env::var("DATACONN_TEST_PG_RESTART_CTL"),
    ) else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but the restartable PostgreSQL is not set up: run scripts/peers.sh");
        }
        eprintln!(
            "SKIPPING the server-restart test: run scripts/peers.sh to start its private PostgreSQL"
        );
        return;
    };
    let text = format!(
        "[connections.tls]\nurl = \"{url}?sslmode=require\"\n\
         [connections.restart]\nurl = \"{url}\"\nretries = 20\nretry_backoff = \"200ms\"\nretry_max_backoff = \"1s\"\n\
         retry_budget = \"60s\"\nacquire_timeout = \"2s\"\n"
    );
    let hub = Connections::builder()
        .registry(crate::backends::registry())
        .secrets(Secrets::from_toml("secrets.toml", &text).unwrap())
        .build()
        .unwrap();
    let tls = hub.connection::<SqlConnection>("tls").await.unwrap();
    let encrypted = tls
        .query("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
        .await
        .unwrap();
    let encrypted = encrypted.column("ssl").unwrap();
    assert!(
        arrow::array::AsArray::as_boolean(&encrypted).value(0),
        "sslmode=require gives an encrypted connection through rustls"
    );

    let conn = hub.connection::<SqlConnection>("restart").await.unwrap();
    conn.execute("drop table if exists kept", params! {})
        .await
        .unwrap();
    conn.execute("create table kept (x int)", params! {})
        .await
        .unwrap();
    let inserted = conn
        .execute_many(
            "insert into kept values (:x)",
            (0..100).map(|x| params! { x: x }),
        )
        .await
        .unwrap();
    assert_eq!(inserted, 100);

    // Kill the server as a crash would, and bring it back a second later.
    let stop = ctl.clone();
    tokio::task::spawn_blocking(move || control(&stop, "stop -m immediate"))
        .await
        .unwrap();
    let start = ctl.clone();
    let restarted = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        tokio::task::spawn_blocking(move || control(&start, "start -w"))
            .await
            .unwrap();
    });

    // The same connection object: the first attempts fail while the server is down, and the
    // retries carry the query through once it is back.
    let t = conn
        .query("select count(*) as n from kept")
        .ttl(Ttl::NoCache)
        .await
        .unwrap();
    restarted.await.unwrap();
    let n = arrow::compute::cast(
        t.column("n").unwrap().as_ref(),
        &arrow::datatypes::DataType::Int64,
    )
    .unwrap();
    assert_eq!(
        arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(&n).value(0),
        100,
        "every committed row survived the crash"
    );
    conn.execute("insert into kept values (100)", params! {})
        .await
        .unwrap();
}
