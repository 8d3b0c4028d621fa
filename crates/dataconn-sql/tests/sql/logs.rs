//! Secrets in connection URLs never reach the logs: sqlx logs an unrecognised URL parameter with
//! its value, so the connector drops such parameters itself and names them only.

use std::sync::{Arc, Mutex};

use dataconn_core::{Connections, Secrets};
use dataconn_sql::SqlConnection;

use crate::backends::{Kind, backend, registry};

/// Everything a `fmt` subscriber writes, kept in memory.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

/// Connect to `url` + `query` and run one query with every log event captured.
async fn logs_of_connecting(label: &str, url: &str, query: &str) -> String {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
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
