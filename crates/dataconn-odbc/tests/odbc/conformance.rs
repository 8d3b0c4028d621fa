//! The testkit's conformance suite on the PostgreSQL, MariaDB and SQLite ODBC drivers.

use std::sync::Arc;

use async_trait::async_trait;
use dataconn_core::{Connection, Registry, Result};
use dataconn_odbc::{OdbcConnection, WriteMode};
use dataconn_testkit::Harness;
use toml::{Table, Value};

use crate::peers::{self, Server};

enum Kind {
    /// Each label gets a schema of its own.
    Postgres(Server),
    /// Each label gets a database of its own.
    MariaDb(Server),
    /// Each label gets a file of its own.
    Sqlite(String),
}

struct OdbcHarness {
    kind: Kind,
    dir: tempfile::TempDir,
}

/// A fresh schema (PostgreSQL) or database (MariaDB) for `label`, made through ODBC itself.
pub fn fresh_namespace(server: &Server, label: &str, mariadb: bool) -> String {
    let name = format!("dco_{}_{label}", std::process::id());
    if mariadb {
        server.admin(&[
            &format!("drop database if exists {name}"),
            &format!("create database {name}"),
        ]);
    } else {
        server.admin(&[
            &format!("drop schema if exists {name} cascade"),
            &format!("create schema {name}"),
        ]);
    }
    name
}

/// The section of a PostgreSQL connection whose sessions use `schema` first.
pub fn postgres_section(server: &Server, schema: &str) -> Table {
    let mut section = server.section();
    let mut options = Table::new();
    options.insert(
        "ConnSettings".into(),
        Value::String(format!("set search_path to {schema}")),
    );
    section.insert("options".into(), Value::Table(options));
    section
}

/// The section of a MariaDB connection to `database`.
pub fn mariadb_section(server: &Server, database: &str) -> Table {
    let mut section = server.section();
    section.insert("database".into(), Value::String(database.into()));
    section
}

#[async_trait]
impl Harness for OdbcHarness {
    fn registry(&self) -> Registry {
        peers::registry()
    }

    fn connection_type(&self) -> &'static str {
        dataconn_odbc::TYPE
    }

    async fn options(&self, label: &str) -> Table {
        match &self.kind {
            Kind::Postgres(server) => {
                let (server, label) = (server.clone(), label.to_owned());
                tokio::task::spawn_blocking(move || {
                    let schema = fresh_namespace(&server, &label, false);
                    postgres_section(&server, &schema)
                })
                .await
                .expect("a schema")
            }
            Kind::MariaDb(server) => {
                let (server, label) = (server.clone(), label.to_owned());
                tokio::task::spawn_blocking(move || {
                    let database = fresh_namespace(&server, &label, true);
                    mariadb_section(&server, &database)
                })
                .await
                .expect("a database")
            }
            Kind::Sqlite(driver) => {
                let file = self.dir.path().join(format!("{label}.db"));
                peers::table(&format!(
                    "driver = {driver:?}\ndatabase = {:?}\n",
                    file.display().to_string()
                ))
            }
        }
    }

    fn failing_options(&self) -> (Table, Vec<String>) {
        let secret = "s3cret-pw-4711".to_owned();
        let t = match &self.kind {
            Kind::Postgres(server) | Kind::MariaDb(server) => {
                let mut t = server.section();
                t.insert("port".into(), Value::Integer(1));
                t.insert("password".into(), Value::String(secret.clone()));
                t
            }
            Kind::Sqlite(driver) => peers::table(&format!(
                "connection_string = \"Driver={{{driver}}};Database=/no/such/dir/x.db;NoCreat=1;PWD={secret}\"\n"
            )),
        };
        (t, vec![secret])
    }

    async fn seed(
        &self,
        conn: &Arc<dyn Connection>,
        table: &str,
        rows: &[(i64, &str)],
    ) -> Result<()> {
        let data = dataconn_testkit::seed_table(rows)?;
        let any: &dyn std::any::Any = conn.as_ref();
        any.downcast_ref::<OdbcConnection>()
            .expect("an ODBC connection")
            .write_table(&data, table, WriteMode::Replace)
            .await
            .map(|_| ())
    }
}

fn harness(kind: Kind) -> OdbcHarness {
    OdbcHarness {
        kind,
        dir: tempfile::tempdir().expect("a temp dir"),
    }
}

#[tokio::test]
async fn the_postgresql_driver_passes_the_conformance_suite() {
    let Some(server) = peers::postgres() else {
        return;
    };
    dataconn_testkit::run_all(&harness(Kind::Postgres(server))).await;
}

#[tokio::test]
async fn the_mariadb_driver_passes_the_conformance_suite() {
    let Some(server) = peers::mariadb() else {
        return;
    };
    dataconn_testkit::run_all(&harness(Kind::MariaDb(server))).await;
}

#[tokio::test]
async fn the_sqlite_driver_passes_the_conformance_suite() {
    let Some(driver) = peers::sqlite() else {
        return;
    };
    dataconn_testkit::run_all(&harness(Kind::Sqlite(driver))).await;
}
