//! Secrets in connection URLs never reach the logs: sqlx logs an unrecognised URL parameter with
//! its value, so the connector drops such parameters itself and names them only.

use dataconn_core::{Connections, Secrets};
use dataconn_sql::SqlConnection;

use crate::backends::{Kind, backend, registry};

/// Connect to `url` + `query` and run one query with every log event captured.
async fn logs_of_connecting(label: &str, url: &str, query: &str) -> String {
    let capture = dataconn_testkit::logs::CapturedLogs::default();
    let _guard = capture.install();
    let sep = if url.contains('?') { '&' } else { '?' };
    let text = format!("[connections.{label}]\nurl = \"{url}{sep}{query}\"\n");
    let hub = Connections::builder()
        .registry(registry())
        .secrets(Secrets::from_toml("secrets.toml", &text).expect("test secrets parse"))
        .build()
        .expect("a hub");
    let conn = hub
        .connection::<SqlConnection>(label)
        .await
        .expect("connects");
    conn.query("select 1 as one").await.expect("reads");
    capture.text()
}

#[tokio::test]
async fn postgres_url_parameters_never_reach_the_logs_with_their_values() {
    let Some(b) = backend(Kind::Postgres) else {
        return;
    };
    let url = b.url("pg_url_logs").await;
    let logs = logs_of_connecting(
        "pg_url_logs",
        &url,
        "password=pw-in-query-7&sslpassword=ssl-secret-7&pasword=typo-secret-7",
    )
    .await;
    for secret in ["pw-in-query-7", "ssl-secret-7", "typo-secret-7"] {
        assert!(!logs.contains(secret), "{secret} in the logs:\n{logs}");
    }
    assert!(
        logs.contains("sslpassword") && logs.contains("pasword"),
        "dropped parameters are named:\n{logs}"
    );
}

#[tokio::test]
async fn mysql_url_parameters_never_reach_the_logs_with_their_values() {
    let Some(b) = backend(Kind::MySql) else {
        return;
    };
    let url = b.url("my_url_logs").await;
    let logs = logs_of_connecting("my_url_logs", &url, "sslpassword=ssl-secret-8").await;
    assert!(!logs.contains("ssl-secret-8"), "in the logs:\n{logs}");
    assert!(logs.contains("sslpassword"), "named:\n{logs}");
}
