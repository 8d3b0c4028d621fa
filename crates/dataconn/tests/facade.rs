//! The facade: the default registry, the process-wide hub, the blocking calls, and a
//! third-party connector passing the conformance suite.

/// The example connector; its `main` is the example's, unused here.
#[path = "../../../examples/custom_connector/main.rs"]
#[allow(dead_code)]
mod memory;

use std::sync::Arc;

use async_trait::async_trait;
use dataconn::reexports::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use dataconn::{Connection, ErrorKind, Registry, SqlConnection, params};
use dataconn_testkit::Harness;
use toml::{Table, Value};

struct MemoryHarness;

#[async_trait]
impl Harness for MemoryHarness {
    fn registry(&self) -> Registry {
        let registry = dataconn::default_registry();
        memory::register(&registry);
        registry
    }

    fn connection_type(&self) -> &'static str {
        memory::TYPE
    }

    async fn options(&self, label: &str) -> Table {
        let mut t = Table::new();
        t.insert("token".into(), Value::String(format!("ok-{label}")));
        t
    }

    fn failing_options(&self) -> (Table, Vec<String>) {
        let mut t = Table::new();
        t.insert("token".into(), Value::String("stolen-token-123".into()));
        (t, vec!["stolen-token-123".into()])
    }

    async fn seed(
        &self,
        conn: &Arc<dyn Connection>,
        table: &str,
        rows: &[(i64, &str)],
    ) -> dataconn::Result<()> {
        let conn = dataconn::downcast::<memory::MemoryConnection>(conn.clone())?;
        let batch = RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(Int64Array::from(
                    rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                )) as ArrayRef,
            ),
            (
                "label",
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                )) as ArrayRef,
            ),
        ])?;
        conn.put(table, dataconn::Table::from_batch(batch))
            .await
            .map(|_| ())
    }

    fn select_sql(&self, table: &str) -> String {
        format!("scan {table} where id >= :min")
    }
}

#[tokio::test]
async fn third_party_connector_passes_the_conformance_suite() {
    dataconn_testkit::run_all(&MemoryHarness).await;
}

#[test]
fn default_registry_has_what_the_features_enable() {
    let registry = dataconn::default_registry();
    let types = registry.types();
    assert!(types.contains(&"sql"), "{types:?}");
    // A connector whose feature is off names the feature (the workspace build turns every
    // feature on through the CLI, so either branch may run).
    if cfg!(feature = "gsheets") {
        assert!(types.contains(&"gsheets"), "{types:?}");
    } else {
        let err = registry
            .get("gsheets")
            .err()
            .expect("gsheets is not in this build");
        assert_eq!(err.kind(), ErrorKind::FeatureDisabled);
        assert!(err.message().contains("feature gsheets"), "{err}");
    }
    let err = registry.get("sqll").err().expect("a typo is unknown");
    assert_eq!(err.kind(), ErrorKind::UnknownType);
    assert!(
        err.message().contains("did you mean `sql`?") && err.message().contains("registered: "),
        "{err}"
    );
}

/// Everything that touches the process-wide hub or the working directory runs in this one
/// test, in order, so that tests running in parallel cannot disturb each other.
#[test]
fn process_wide_hub_and_blocking_calls_work_inside_and_outside_a_runtime() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".streamlit")).unwrap();
    std::fs::write(
        dir.path().join(".streamlit/secrets.toml"),
        "[connections.pets_db]\nurl = \"sqlite:///pets.db\"\n",
    )
    .unwrap();
    std::env::set_current_dir(dir.path()).unwrap();

    // From a plain thread.
    let conn = dataconn::blocking::connection::<SqlConnection>("pets_db").unwrap();
    let c = conn.clone();
    dataconn::blocking::block_on(async move {
        c.execute(
            "create table pet_owners (person text, pet text)",
            params! {},
        )
        .await?;
        c.execute(
            "insert into pet_owners values (:p, :q)",
            params! { p: "barbara", q: "cat" },
        )
        .await
    })
    .unwrap();
    let cats = dataconn::blocking::query(
        &conn,
        "select person from pet_owners where pet = :pet",
        params! { pet: "cat" },
        "10m",
    )
    .unwrap();
    assert_eq!(cats.num_rows(), 1);
    assert!(
        dir.path().join("pets.db").exists(),
        "sqlite:///pets.db is relative to the working directory"
    );

    // From inside a tokio runtime: no "cannot start a runtime from within a runtime" panic.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let again = rt.block_on(async {
        let conn = dataconn::blocking::connection::<SqlConnection>("pets_db").unwrap();
        dataconn::blocking::query(&conn, "select * from pet_owners", params! {}, 0).unwrap()
    });
    assert_eq!(again.num_rows(), 1);

    // The same name gives the same shared connection.
    let same = dataconn::blocking::connection::<SqlConnection>("pets_db").unwrap();
    assert!(Arc::ptr_eq(&conn, &same));

    // An unknown name lists the known ones.
    let err = dataconn::blocking::connection::<SqlConnection>("pets").unwrap_err();
    assert!(err.to_string().contains("did you mean `pets_db`"), "{err}");
}

#[tokio::test]
async fn a_secrets_file_deleted_or_emptied_keeps_the_last_good_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets.toml");
    let db = dir.path().join("a.db");
    std::fs::write(
        &secrets,
        format!("[connections.a]\nurl = \"sqlite:///{}\"\n", db.display()),
    )
    .unwrap();
    let hub = dataconn::Connections::builder()
        .registry(dataconn::default_registry())
        .secrets_sources(vec![dataconn::SecretsSource::from_path(&secrets).unwrap()])
        .build()
        .unwrap();
    let a = hub.connection::<SqlConnection>("a").await.unwrap();
    for damage in ["truncate", "delete"] {
        match damage {
            "truncate" => std::fs::write(&secrets, "").unwrap(),
            _ => std::fs::remove_file(&secrets).unwrap(),
        }
        let err = hub.reload_secrets().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::SecretsParse, "{damage}");
        assert!(
            err.message().contains("deleted or empty"),
            "{damage}: {err}"
        );
        let still = hub.connection::<SqlConnection>("a").await.unwrap();
        assert!(
            Arc::ptr_eq(&a, &still),
            "{damage}: the connection stays open"
        );
        still.health_check().await.unwrap();
    }
}

/// The guide quotes the example: every line of its Rust snippets stands in the example or in
/// this harness, so the guide cannot drift from code that compiles and passes the suite.
#[test]
fn the_connector_guide_quotes_the_compiled_example() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let read = |path: &str| std::fs::read_to_string(format!("{root}/{path}")).unwrap();
    let guide = read("docs/writing-a-connector.md");
    let sources = [
        read("examples/custom_connector/main.rs"),
        read("crates/dataconn/tests/facade.rs"),
    ];
    let known = |line: &str| sources.iter().any(|s| s.lines().any(|l| l.trim() == line));
    let mut snippets = 0;
    for block in guide.split("```rust\n").skip(1) {
        snippets += 1;
        let code = block.split("```").next().unwrap_or_default();
        for line in code.lines().map(str::trim).filter(|l| !l.is_empty()) {
            assert!(
                known(line),
                "the guide's line is not in the example: {line}"
            );
        }
    }
    assert!(
        snippets >= 6,
        "the guide quotes the example ({snippets} snippets)"
    );
    let lines = sources[0].lines().count();
    assert!(
        lines < 100,
        "the example connector stays under 100 lines ({lines})"
    );
}

/// The one connection the inline secrets `text` hold, reached through the default registry
/// without async.
#[cfg(any(feature = "odbc", feature = "duckdb"))]
fn blocking_connection<T: dataconn::TypedConnection>(text: &str) -> Arc<T> {
    let secrets = dataconn::Secrets::from_toml("inline.toml", text).unwrap();
    let name = secrets.connection_names()[0].to_owned();
    let hub = dataconn::Connections::builder()
        .registry(dataconn::default_registry())
        .secrets(secrets)
        .build()
        .unwrap();
    dataconn::blocking::block_on(async move { hub.connection::<T>(&name).await }).unwrap()
}

/// An ODBC driver from a program without async: connect, write and read through `blocking`.
#[cfg(feature = "odbc")]
#[test]
fn blocking_calls_reach_odbc() {
    let driver = match std::env::var("DATACONN_TEST_ODBC_SQLITE_DRIVER") {
        Ok(driver) => driver,
        Err(_) => {
            assert!(
                std::env::var("CI").is_err(),
                "DATACONN_TEST_ODBC_SQLITE_DRIVER is missing and CI=true (scripts/peers.sh installs it)"
            );
            eprintln!("SKIPPING the blocking ODBC test: run scripts/peers.sh");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("odbc.db");
    let lite: Arc<dataconn::OdbcConnection> = blocking_connection(&format!(
        "[connections.lite]\ntype = \"odbc\"\ndriver = {driver:?}\ndatabase = {:?}\n",
        file.display().to_string()
    ));
    let l = lite.clone();
    dataconn::blocking::block_on(async move {
        l.execute("create table t (answer integer)", params! {})
            .await?;
        l.execute("insert into t values (:a)", params! { a: 42 })
            .await
    })
    .unwrap();
    let table = dataconn::blocking::query(&lite, "select answer from t", params! {}, "1m").unwrap();
    assert_eq!(table.num_rows(), 1);
    assert!(table.to_csv().unwrap().contains("42"));
}

/// DuckDB from a program without async: connect, write and read through `blocking`.
#[cfg(feature = "duckdb")]
#[test]
fn blocking_calls_reach_duckdb() {
    let Ok(library) = std::env::var("DATACONN_TEST_DUCKDB_LIBRARY") else {
        assert!(
            std::env::var("CI").is_err(),
            "DATACONN_TEST_DUCKDB_LIBRARY is missing and CI=true (scripts/peers.sh installs it)"
        );
        eprintln!("SKIPPING the blocking DuckDB test: run scripts/peers.sh");
        return;
    };
    let duck: Arc<dataconn::DuckDbConnection> = blocking_connection(&format!(
        "[connections.duck]\ntype = \"duckdb\"\nlibrary = {library:?}\n"
    ));
    let d = duck.clone();
    dataconn::blocking::block_on(async move {
        d.execute("create table t as select 42 as answer", params! {})
            .await
    })
    .unwrap();
    let table = dataconn::blocking::query(&duck, "select answer from t", params! {}, "1m").unwrap();
    assert_eq!(table.num_rows(), 1);
    assert!(table.to_csv().unwrap().contains("42"));
}
