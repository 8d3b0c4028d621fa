//! The drivers the tests connect through, by the registered names `scripts/peers.sh` exports,
//! and the servers they reach. A driver that is not there is skipped with a message on a
//! developer's machine and fails the run in CI.

use std::sync::Arc;

use arrow_odbc::odbc_api::{self, ConnectionOptions};
use dataconn_core::{Connections, Registry, Secrets};
use toml::Value;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The registered driver name in `var`, when unixODBC knows it.
fn driver(var: &str, what: &str) -> Option<String> {
    let known: Vec<String> = odbc_api::environment()
        .and_then(|env| env.drivers())
        .map(|d| d.into_iter().map(|d| d.description).collect())
        .unwrap_or_default();
    match std::env::var(var) {
        Ok(name) if known.contains(&name) => Some(name),
        found => {
            assert!(
                !in_ci(),
                "{what} is missing ({var} = {found:?}; unixODBC knows {known:?}) and CI=true: a \
                 missing driver fails the run (scripts/peers.sh installs it)"
            );
            eprintln!("SKIPPING {what} tests: set {var} or run scripts/peers.sh");
            None
        }
    }
}

/// Host, port, user and database of a server URL in `var` (or `default`).
fn address(var: &str, default: &str) -> (String, u16, String, String) {
    let url = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    let url = url::Url::parse(&url).expect("a server URL");
    (
        url.host_str().unwrap_or("127.0.0.1").to_owned(),
        url.port().unwrap_or(0),
        url.username().to_owned(),
        url.path().trim_start_matches('/').to_owned(),
    )
}

/// A PostgreSQL driver section (without a schema).
#[derive(Debug, Clone)]
pub struct Server {
    pub driver: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
}

impl Server {
    /// The section's keys: driver, host, port, database, username.
    pub fn section(&self) -> toml::Table {
        table(&format!(
            "driver = {:?}\nhost = {:?}\nport = {}\ndatabase = {:?}\nusername = {:?}\n",
            self.driver, self.host, self.port, self.database, self.user
        ))
    }

    /// The same as a connection string.
    pub fn connection_string(&self) -> String {
        format!(
            "Driver={{{}}};Server={};Port={};Database={};UID={};",
            self.driver, self.host, self.port, self.database, self.user
        )
    }

    /// Run statements straight through ODBC, outside dataconn (to set up and inspect).
    pub fn admin(&self, statements: &[&str]) {
        let env = odbc_api::environment().expect("an ODBC environment");
        let conn = env
            .connect_with_connection_string(&self.connection_string(), ConnectionOptions::default())
            .expect("the admin connection");
        for sql in statements {
            conn.execute(sql, (), None)
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }
}

/// The PostgreSQL ODBC driver and the machine's PostgreSQL.
pub fn postgres() -> Option<Server> {
    let driver = driver(
        "DATACONN_TEST_ODBC_POSTGRES_DRIVER",
        "the PostgreSQL ODBC driver",
    )?;
    let (host, port, user, database) = address(
        "DATACONN_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    Some(Server {
        driver,
        host,
        port,
        user,
        database,
    })
}

/// The MariaDB ODBC driver and the machine's MariaDB (database `test`).
pub fn mariadb() -> Option<Server> {
    let driver = driver(
        "DATACONN_TEST_ODBC_MARIADB_DRIVER",
        "the MariaDB ODBC driver",
    )?;
    let (host, port, user, database) = address(
        "DATACONN_TEST_MYSQL_URL",
        "mysql://root@127.0.0.1:3306/test",
    );
    Some(Server {
        driver,
        host,
        port,
        user,
        database: if database.is_empty() {
            "test".to_owned()
        } else {
            database
        },
    })
}

/// The SQLite ODBC driver's registered name.
pub fn sqlite() -> Option<String> {
    driver("DATACONN_TEST_ODBC_SQLITE_DRIVER", "the SQLite ODBC driver")
}

pub fn registry() -> Registry {
    let registry = Registry::new();
    dataconn_odbc::register(&registry);
    registry
}

/// A hub whose secrets hold `[connections.<name>]` = `options` with `type = "odbc"`.
pub fn hub(name: &str, options: &toml::Table) -> Connections {
    let mut section = options.clone();
    section.insert("type".into(), Value::String("odbc".into()));
    hub_of(registry(), &[(name, section)])
}

/// A hub over `registry` whose secrets hold the given sections as written.
pub fn hub_of(registry: Registry, sections: &[(&str, toml::Table)]) -> Connections {
    let connections: toml::Table = sections
        .iter()
        .map(|(name, section)| ((*name).to_owned(), Value::Table(section.clone())))
        .collect();
    let mut root = toml::Table::new();
    root.insert("connections".into(), Value::Table(connections));
    let text = toml::to_string(&root).expect("options serialise");
    Connections::builder()
        .registry(registry)
        .secrets(Secrets::from_toml("tests/secrets.toml", &text).expect("secrets parse"))
        .build()
        .expect("a hub builds")
}

/// A TOML table from `key = value` text.
pub fn table(text: &str) -> toml::Table {
    toml::from_str(text).expect("test TOML")
}

pub use dataconn_testkit::texts;

/// The native SQL connector on `url`, for comparisons.
pub async fn native(url: &str) -> Arc<dataconn_sql::SqlConnection> {
    let registry = Registry::new();
    dataconn_sql::register(&registry);
    let hub = hub_of(registry, &[("native", table(&format!("url = {url:?}\n")))]);
    hub.connection::<dataconn_sql::SqlConnection>("native")
        .await
        .expect("the native connector connects")
}
