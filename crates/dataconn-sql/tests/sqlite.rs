//! SQLite behaviour: the testkit conformance suite, then SQL-specific behaviour.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use async_trait::async_trait;
use dataconn_core::{
    Connection, Connections, ErrorKind, Registry, Result, Secrets, SecretsSource, Ttl, downcast,
    params,
};
use dataconn_sql::SqlConnection;
use dataconn_testkit::Harness;
use toml::{Table, Value};

struct SqliteHarness {
    dir: tempfile::TempDir,
}

impl SqliteHarness {
    fn new() -> Self {
        SqliteHarness {
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    fn url(&self, label: &str) -> String {
        format!(
            "sqlite:///{}",
            self.dir.path().join(format!("{label}.db")).display()
        )
    }
}

fn registry() -> Registry {
    let registry = Registry::new();
    dataconn_sql::register(&registry);
    registry
}

#[async_trait]
impl Harness for SqliteHarness {
    fn registry(&self) -> Registry {
        registry()
    }

    fn connection_type(&self) -> &'static str {
        dataconn_sql::TYPE
    }

    async fn options(&self, label: &str) -> Table {
        let mut t = Table::new();
        t.insert("url".into(), Value::String(self.url(label)));
        t
    }

    fn failing_options(&self) -> (Table, Vec<String>) {
        let mut t = Table::new();
        t.insert("dialect".into(), Value::String("sqlite".into()));
        t.insert("database".into(), Value::String("/no/such/dir/x.db".into()));
        t.insert("password".into(), Value::String("hunter2-sqlite".into()));
        (t, vec!["hunter2-sqlite".into()])
    }

    async fn seed(
        &self,
        conn: &Arc<dyn Connection>,
        table: &str,
        rows: &[(i64, &str)],
    ) -> Result<()> {
        let sql = downcast::<SqlConnection>(conn.clone())?;
        let mut s = sql.session().await?;
        s.execute(
            &format!("create table {table} (id integer, label text)"),
            params! {},
        )
        .await?;
        for (id, label) in rows {
            s.execute(
                &format!("insert into {table} values (:id, :label)"),
                params! { id: *id, label: *label },
            )
            .await?;
        }
        s.commit().await
    }
}

#[tokio::test]
async fn conformance_suite() {
    dataconn_testkit::run_all(&SqliteHarness::new()).await;
}

async fn open(h: &SqliteHarness, label: &str) -> (Connections, Arc<SqlConnection>) {
    let text = format!("[connections.{label}]\nurl = \"{}\"\n", h.url(label));
    let hub = Connections::builder()
        .registry(registry())
        .secrets(Secrets::from_toml("secrets.toml", &text).unwrap())
        .build()
        .unwrap();
    let conn = hub.connection::<SqlConnection>(label).await.unwrap();
    (hub, conn)
}

#[tokio::test]
async fn session_dropped_without_commit_rolls_back() {
    let h = SqliteHarness::new();
    let (_hub, conn) = open(&h, "tx").await;
    conn.execute("create table t (x integer)", params! {})
        .await
        .unwrap();
    {
        let mut s = conn.session().await.unwrap();
        s.execute("insert into t values (:x)", params! { x: 1 })
            .await
            .unwrap();
        let inside = s
            .query("select count(*) as n from t", params! {})
            .await
            .unwrap();
        assert_eq!(
            inside
                .column("n")
                .unwrap()
                .as_primitive::<Int64Type>()
                .value(0),
            1
        );
    }
    let after = conn
        .query("select count(*) as n from t")
        .ttl(0)
        .await
        .unwrap();
    assert_eq!(
        after
            .column("n")
            .unwrap()
            .as_primitive::<Int64Type>()
            .value(0),
        0
    );

    let mut s = conn.session().await.unwrap();
    s.execute("insert into t values (2)", params! {})
        .await
        .unwrap();
    s.rollback().await.unwrap();
    let after = conn
        .query("select count(*) as n from t")
        .ttl(0)
        .await
        .unwrap();
    assert_eq!(
        after
            .column("n")
            .unwrap()
            .as_primitive::<Int64Type>()
            .value(0),
        0
    );
}

#[tokio::test]
async fn writes_invalidate_cached_reads() {
    let h = SqliteHarness::new();
    let (hub, conn) = open(&h, "inv").await;
    conn.execute("create table t (x integer)", params! {})
        .await
        .unwrap();
    let count = || async { conn.query("select count(*) as n from t").await.unwrap() };
    let n = |t: &dataconn_core::Table| t.column("n").unwrap().as_primitive::<Int64Type>().value(0);
    assert_eq!(n(&count().await), 0);
    assert_eq!(n(&count().await), 0);
    let hits = hub.cache().stats().hits;
    assert!(hits >= 1, "the second read is a hit");

    assert_eq!(
        conn.execute("insert into t values (1), (2)", params! {})
            .await
            .unwrap(),
        2
    );
    assert_eq!(n(&count().await), 2, "execute drops cached reads");

    let mut s = conn.session().await.unwrap();
    s.execute("insert into t values (3)", params! {})
        .await
        .unwrap();
    assert_eq!(
        n(&count().await),
        2,
        "uncommitted writes are not visible outside the session"
    );
    s.commit().await.unwrap();
    assert_eq!(n(&count().await), 3, "commit drops cached reads");
}

#[tokio::test]
async fn values_map_by_declared_type_and_actual_values() {
    let h = SqliteHarness::new();
    let (_hub, conn) = open(&h, "types").await;
    conn.execute(
        "create table t (i integer, r real, s text, b blob, n numeric, loose, mixed integer)",
        params! {},
    )
    .await
    .unwrap();
    conn.execute(
        "insert into t values (1, 1.5, 'a', x'00ff', 10, null, 1), (null, null, null, null, null, 'late', 2.5)",
        params! {},
    )
    .await
    .unwrap();
    let t = conn.query("select * from t").await.unwrap();
    let types: Vec<DataType> = t
        .schema()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    assert_eq!(
        types,
        [
            DataType::Int64,
            DataType::Float64,
            DataType::Utf8,
            DataType::Binary,
            DataType::Int64,
            DataType::Utf8,
            DataType::Float64
        ]
    );
    let i = t.column("i").unwrap();
    assert!(i.is_null(1), "NULL kept");
    assert_eq!(
        t.column("b").unwrap().as_binary::<i32>().value(0),
        [0x00, 0xff]
    );
    let loose = t.column("loose").unwrap();
    assert!(loose.is_null(0) && loose.as_string::<i32>().value(1) == "late");
    let mixed = t.column("mixed").unwrap();
    let mixed = mixed.as_primitive::<Float64Type>();
    assert_eq!(
        (mixed.value(0), mixed.value(1)),
        (1.0, 2.5),
        "an int column widened for a real value"
    );

    let empty = conn.query("select * from t where 0").await.unwrap();
    assert_eq!(empty.num_rows(), 0);
    assert_eq!(
        empty.schema().field(0).data_type(),
        &DataType::Int64,
        "declared types survive no rows"
    );
}

#[tokio::test]
async fn results_come_in_batches_of_the_configured_size() {
    let h = SqliteHarness::new();
    let text = format!(
        "[connections.b]\nurl = \"{}\"\nbatch_size = 1000\n",
        h.url("b")
    );
    let hub = Connections::builder()
        .registry(registry())
        .secrets(Secrets::from_toml("secrets.toml", &text).unwrap())
        .build()
        .unwrap();
    let conn = hub.connection::<SqlConnection>("b").await.unwrap();
    let t = conn
        .query("with recursive c(x) as (select 1 union all select x + 1 from c where x < 2500) select x from c")
        .await
        .unwrap();
    let sizes: Vec<usize> = t.batches().iter().map(|b| b.num_rows()).collect();
    assert_eq!(sizes, [1000, 1000, 500]);
}

#[tokio::test]
async fn sixteen_concurrent_cold_queries_execute_once() {
    let h = SqliteHarness::new();
    let (hub, conn) = open(&h, "cold").await;
    let sql = "with recursive c(x) as (select 1 union all select x + 1 from c where x < 200000) select sum(x) as s from c";
    let calls = (0..16).map(|_| {
        let conn = conn.clone();
        tokio::spawn(async move { conn.query(sql).await })
    });
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap().unwrap().num_rows(), 1);
    }
    let stats = hub.cache().stats();
    assert_eq!(
        (stats.misses, stats.hits),
        (1, 15),
        "one execution, fifteen shared results"
    );
}

#[tokio::test]
async fn parameter_mismatch_fails_before_anything_runs() {
    let h = SqliteHarness::new();
    let (_hub, conn) = open(&h, "params").await;
    conn.execute("create table t (x integer)", params! {})
        .await
        .unwrap();
    let err = conn
        .execute("insert into t values (:x)", params! { y: 1 })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parameter);
    assert!(
        err.to_string().contains(":x") && err.to_string().contains(":y"),
        "{err}"
    );
    let n = conn
        .query("select count(*) as n from t")
        .ttl(0)
        .await
        .unwrap();
    assert_eq!(
        n.column("n").unwrap().as_primitive::<Int64Type>().value(0),
        0
    );

    let err = conn.query("select ?").await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Parameter,
        "a bare placeholder is caught: {err}"
    );
}

#[tokio::test]
async fn streamlit_component_keys_and_memory_databases_work() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("parts.db");
    let text = format!(
        "[connections.parts]\ndialect = \"sqlite\"\ndatabase = \"{}\"\n[connections.mem]\nurl = \"sqlite://\"\n",
        file.display()
    );
    let hub = Connections::builder()
        .registry(registry())
        .secrets(Secrets::from_toml("secrets.toml", &text).unwrap())
        .build()
        .unwrap();
    let parts = hub.connection::<SqlConnection>("parts").await.unwrap();
    parts
        .execute("create table t (x)", params! {})
        .await
        .unwrap();
    assert!(file.exists(), "the file database was created");

    let mem = hub.connection::<SqlConnection>("mem").await.unwrap();
    mem.execute("create table t (x)", params! {}).await.unwrap();
    mem.execute("insert into t values (1)", params! {})
        .await
        .unwrap();
    let t = mem.query("select x from t").await.unwrap();
    assert_eq!(
        t.num_rows(),
        1,
        "every use sees the same in-memory database"
    );
}

#[tokio::test]
async fn server_dialects_without_their_feature_name_it() {
    let text = "[connections.pg]\nurl = \"postgresql://me:topsecret@localhost/db\"\n";
    let hub = Connections::builder()
        .registry(registry())
        .secrets(Secrets::from_toml("secrets.toml", text).unwrap())
        .build()
        .unwrap();
    let err = hub.connect("pg").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FeatureDisabled, "{err}");
    assert!(err.to_string().contains("`postgres`"), "{err}");
    assert!(!format!("{err} {err:?}").contains("topsecret"));
}

fn write(path: &PathBuf, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[tokio::test]
async fn changed_secrets_reconfigure_only_the_changed_connection() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join(".streamlit/secrets.toml");
    let db = |n: &str| dir.path().join(n).display().to_string();
    write(
        &secrets,
        &format!(
            "[connections.a]\nurl = \"sqlite:///{}\"\n[connections.b]\nurl = \"sqlite:///{}\"\n",
            db("a1.db"),
            db("b.db")
        ),
    );
    let hub = Connections::builder()
        .registry(registry())
        .secrets_sources(vec![SecretsSource::File(secrets.clone())])
        .build()
        .unwrap();
    let a = hub.connection::<SqlConnection>("a").await.unwrap();
    let b = hub.connection::<SqlConnection>("b").await.unwrap();
    a.execute("create table which (name text)", params! {})
        .await
        .unwrap();
    a.execute("insert into which values ('a1')", params! {})
        .await
        .unwrap();
    assert_eq!(
        a.query("select name from which").await.unwrap().num_rows(),
        1
    );

    write(
        &secrets,
        &format!(
            "[connections.a]\nurl = \"sqlite:///{}\"\n[connections.b]\nurl = \"sqlite:///{}\"\n",
            db("a2.db"),
            db("b.db")
        ),
    );
    let changed = hub.reload_secrets().await.unwrap();
    assert_eq!(changed, ["a"], "only a's section changed");
    let err = a.query("select name from which").await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Query,
        "the same object now points at the new, empty file: {err}"
    );
    let again = hub.connection::<SqlConnection>("a").await.unwrap();
    assert!(
        Arc::ptr_eq(&a, &again),
        "the hub hands out the reconfigured object"
    );
    b.health_check().await.unwrap();

    write(&secrets, "[connections.a\nurl = broken");
    let err = hub.reload_secrets().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SecretsParse);
    assert!(err.to_string().contains("secrets.toml:1:"), "{err}");
    let still = hub.connection::<SqlConnection>("b").await.unwrap();
    assert!(
        Arc::ptr_eq(&b, &still),
        "the last good secrets stay in force"
    );
}

#[tokio::test]
async fn watched_secrets_file_reconfigures_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join(".streamlit/secrets.toml");
    let url = |n: &str| {
        format!(
            "[connections.w]\nurl = \"sqlite:///{}\"\n",
            dir.path().join(n).display()
        )
    };
    write(&secrets, &url("w1.db"));
    let hub = Connections::builder()
        .registry(registry())
        .secrets_sources(vec![SecretsSource::File(secrets.clone())])
        .watch(true)
        .build()
        .unwrap();
    let w = hub.connection::<SqlConnection>("w").await.unwrap();
    w.execute("create table t (x)", params! {}).await.unwrap();
    write(&secrets, &url("w2.db"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Err(err) = w.query("select * from t").ttl(Ttl::NoCache).await {
            assert!(err.to_string().contains("no such table"), "{err}");
            break; // now on w2.db, which has no table t
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the watcher did not pick up the change in 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
