//! The testkit's conformance suite on the ADBC PostgreSQL and SQLite drivers and on DuckDB.

use std::sync::Arc;

use async_trait::async_trait;
use dataconn_adbc::WriteMode;
use dataconn_core::{Connection, Registry, Result};
use dataconn_testkit::Harness;
use toml::{Table, Value};

use crate::peers;

enum Kind {
    /// The driver and the server URL; each label gets a schema of its own.
    Postgres(String, String),
    /// The driver; each label gets a file of its own.
    Sqlite(String),
    /// DuckDB's library; each label gets a file of its own.
    DuckDb(String),
}

struct AdbcHarness {
    kind: Kind,
    dir: tempfile::TempDir,
}

impl AdbcHarness {
    fn new(kind: Kind) -> AdbcHarness {
        AdbcHarness {
            kind,
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }
}

/// Create a schema of its own for `label` on the server (through the driver itself).
pub fn postgres_schema(driver: &str, url: &str, label: &str) -> String {
    use adbc_core::options::{AdbcVersion, OptionDatabase};
    use adbc_core::{Connection as _, Database as _, Driver as _, Statement as _};
    let schema = format!("dct_{}_{label}", std::process::id());
    let mut driver = adbc_driver_manager::ManagedDriver::load_dynamic_from_filename(
        driver,
        None,
        AdbcVersion::V110,
    )
    .expect("the driver loads");
    let database = driver
        .new_database_with_opts([(OptionDatabase::Uri, url.into())])
        .expect("the database opens");
    let mut conn = database.new_connection().expect("a connection");
    let mut statement = conn.new_statement().expect("a statement");
    statement
        .set_sql_query(format!(
            "drop schema if exists {schema} cascade; create schema {schema}"
        ))
        .expect("sql");
    statement.execute_update().expect("the schema is created");
    schema
}

/// `url` whose sessions use `schema` first.
pub fn with_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

#[async_trait]
impl Harness for AdbcHarness {
    fn registry(&self) -> Registry {
        peers::registry()
    }

    fn connection_type(&self) -> &'static str {
        match self.kind {
            Kind::DuckDb(_) => dataconn_adbc::DUCKDB_TYPE,
            _ => dataconn_adbc::TYPE,
        }
    }

    async fn options(&self, label: &str) -> Table {
        let mut t = Table::new();
        match &self.kind {
            Kind::Postgres(driver, url) => {
                let (driver, url, label) = (driver.clone(), url.clone(), label.to_owned());
                let schema = tokio::task::spawn_blocking({
                    let (driver, url) = (driver.clone(), url.clone());
                    move || postgres_schema(&driver, &url, &label)
                })
                .await
                .expect("schema");
                t.insert("driver".into(), Value::String(driver));
                t.insert("uri".into(), Value::String(with_schema(&url, &schema)));
            }
            Kind::Sqlite(driver) => {
                let file = self.dir.path().join(format!("{label}.db"));
                t.insert("driver".into(), Value::String(driver.clone()));
                t.insert(
                    "uri".into(),
                    Value::String(format!("file:{}", file.display())),
                );
            }
            Kind::DuckDb(library) => {
                let file = self.dir.path().join(format!("{label}.duckdb"));
                t.insert("database".into(), Value::String(file.display().to_string()));
                t.insert("library".into(), Value::String(library.clone()));
            }
        }
        t
    }

    fn failing_options(&self) -> (Table, Vec<String>) {
        let secret = "s3cret-pw-4711".to_owned();
        let t = match &self.kind {
            Kind::Postgres(driver, _) => peers::table(&format!(
                "driver = {driver:?}\nuri = \"postgresql://postgres:{secret}@127.0.0.1:1/test\"\n"
            )),
            Kind::Sqlite(driver) => peers::table(&format!(
                "driver = {driver:?}\nuri = \"file:/no/such/dir/x.db\"\npassword = \"{secret}\"\n"
            )),
            Kind::DuckDb(library) => peers::table(&format!(
                "library = {library:?}\ndatabase = \"/no/such/dir/x.duckdb\"\n[settings]\nsecret_token = \"{secret}\"\n"
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
        peers::adbc(conn)
            .write_table(&data, table, WriteMode::Replace)
            .await
            .map(|_| ())
    }
}

#[tokio::test]
async fn the_postgresql_driver_passes_the_conformance_suite() {
    let Some((driver, url)) = peers::postgres() else {
        return;
    };
    dataconn_testkit::run_all(&AdbcHarness::new(Kind::Postgres(driver, url))).await;
}

#[tokio::test]
async fn the_sqlite_driver_passes_the_conformance_suite() {
    let Some(driver) = peers::sqlite() else {
        return;
    };
    dataconn_testkit::run_all(&AdbcHarness::new(Kind::Sqlite(driver))).await;
}

#[tokio::test]
async fn duckdb_passes_the_conformance_suite() {
    let Some(library) = peers::duckdb() else {
        return;
    };
    dataconn_testkit::run_all(&AdbcHarness::new(Kind::DuckDb(library))).await;
}
