//! The drivers the tests load, from the paths `scripts/peers.sh` exports. A driver that is not
//! there is skipped with a message on a developer's machine and fails the run in CI.

use std::sync::Arc;

use dataconn_core::{Connection, Connections, Registry, Secrets};
use toml::Value;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The path in `var`, when the file is there.
pub fn driver(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(path) if std::path::Path::new(&path).is_file() => Some(path),
        found => {
            assert!(
                !in_ci(),
                "{what} is missing ({var} = {found:?}) and CI=true: a missing driver fails the run (scripts/peers.sh installs it)"
            );
            eprintln!("SKIPPING {what} tests: set {var} or run scripts/peers.sh");
            None
        }
    }
}

/// The URL in `var` when something answers there.
pub fn server(var: &str, what: &str) -> Option<String> {
    let found = std::env::var(var).ok().filter(|url| {
        let authority = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
        let authority = authority.split('/').next().unwrap_or_default();
        authority.parse().ok().is_some_and(|addr| {
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).is_ok()
        })
    });
    if found.is_none() {
        assert!(
            !in_ci(),
            "{what} does not answer ({var}) and CI=true (scripts/peers.sh starts it)"
        );
        eprintln!("SKIPPING {what} tests: set {var} or run scripts/peers.sh");
    }
    found
}

/// The PostgreSQL ADBC driver and the URI of the machine's server.
pub fn postgres() -> Option<(String, String)> {
    let driver = driver(
        "DATACONN_TEST_ADBC_POSTGRESQL_DRIVER",
        "the ADBC PostgreSQL driver",
    )?;
    let url = std::env::var("DATACONN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    // libpq takes postgresql:// and postgres:// alike.
    Some((driver, url))
}

/// The SQLite ADBC driver.
pub fn sqlite() -> Option<String> {
    driver("DATACONN_TEST_ADBC_SQLITE_DRIVER", "the ADBC SQLite driver")
}

/// DuckDB's shared library.
pub fn duckdb() -> Option<String> {
    driver("DATACONN_TEST_DUCKDB_LIBRARY", "DuckDB's library")
}

pub fn registry() -> Registry {
    let registry = Registry::new();
    dataconn_adbc::register(&registry);
    dataconn_adbc::register_duckdb(&registry);
    registry
}

/// A hub whose secrets hold `[connections.<name>]` = `options` with `type = ty`.
pub fn hub(name: &str, ty: &str, options: &toml::Table) -> Connections {
    let mut section = options.clone();
    section.insert("type".into(), Value::String(ty.into()));
    let mut connections = toml::Table::new();
    connections.insert(name.into(), Value::Table(section));
    let mut root = toml::Table::new();
    root.insert("connections".into(), Value::Table(connections));
    let text = toml::to_string(&root).expect("options serialise");
    Connections::builder()
        .registry(registry())
        .secrets(Secrets::from_toml("tests/secrets.toml", &text).expect("secrets parse"))
        .build()
        .expect("a hub builds")
}

/// A TOML table from `key = value` text.
pub fn table(text: &str) -> toml::Table {
    toml::from_str(text).expect("test TOML")
}

/// The `AdbcConnection` inside a connection of either type.
pub fn adbc(conn: &Arc<dyn Connection>) -> &dataconn_adbc::AdbcConnection {
    let any: &dyn std::any::Any = conn.as_ref();
    if let Some(duck) = any.downcast_ref::<dataconn_adbc::DuckDbConnection>() {
        return duck;
    }
    any.downcast_ref::<dataconn_adbc::AdbcConnection>()
        .expect("an ADBC or DuckDB connection")
}

pub use dataconn_testkit::texts;

/// The native SQL connector on the same database, for comparisons.
pub async fn native_postgres(url: &str) -> Arc<dataconn_sql::SqlConnection> {
    let registry = Registry::new();
    dataconn_sql::register(&registry);
    let mut options = toml::Table::new();
    options.insert("url".into(), Value::String(url.to_owned()));
    let text = toml::to_string(&toml::Table::from_iter([(
        "connections".to_owned(),
        Value::Table(toml::Table::from_iter([(
            "native".to_owned(),
            Value::Table(options),
        )])),
    )]))
    .expect("serialises");
    let hub = Connections::builder()
        .registry(registry)
        .secrets(Secrets::from_toml("tests/native.toml", &text).expect("parses"))
        .build()
        .expect("builds");
    hub.connection::<dataconn_sql::SqlConnection>("native")
        .await
        .expect("the native connector connects")
}
