//! SQLite only: dynamic typing into Arrow, Streamlit's component keys, in-memory databases,
//! and secrets that change while connections are live.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type};
use dataconn_core::{Connection, Connections, ErrorKind, Secrets, SecretsSource, Ttl, params};
use dataconn_sql::SqlConnection;

use crate::backends::{Kind, backend, registry};

async fn open(label: &str) -> (Connections, Arc<SqlConnection>) {
    let b = backend(Kind::Sqlite).expect("SQLite is always there");
    let hub = b.hub(label, "").await;
    let conn = hub
        .connection::<SqlConnection>(label)
        .await
        .expect("connects");
    (hub, conn)
}

#[tokio::test]
async fn values_map_by_declared_type_and_actual_values() {
    let (_hub, conn) = open("types").await;
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

fn write(path: &PathBuf, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
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

#[tokio::test]
async fn a_limited_query_stops_reading_before_the_end_of_the_result() {
    let (_hub, conn) = open("head").await;
    // Row 2,500,000 overflows; a read that stops after a few batches never gets there.
    let sql = "with recursive n(i) as (select 1 union all select i + 1 from n where i < 3000000) \
               select i, case when i = 2500000 then abs(-9223372036854775808) else i end as v from n";
    let head = conn.query(sql).limit(5).await.unwrap();
    assert_eq!(head.num_rows(), 5);
    let column = head.column("i").unwrap();
    let first = column.as_primitive::<arrow::datatypes::Int64Type>();
    assert_eq!(first.values().to_vec(), vec![1, 2, 3, 4, 5]);
    let none = conn
        .query("select 1 as one where 0")
        .limit(0)
        .await
        .unwrap();
    assert_eq!((none.num_rows(), none.schema().fields().len()), (0, 1));
    let err = conn.query(sql).ttl(0).await.unwrap_err();
    assert!(
        err.to_string().contains("overflow"),
        "the whole read reaches row 2.5M: {err}"
    );
}

#[tokio::test]
async fn a_url_the_driver_cannot_read_is_named_with_its_line() {
    let hub = Connections::builder()
        .registry(registry())
        .secrets(
            Secrets::from_toml(
                "/app/secrets.toml",
                "[connections.pg]\n\nurl = \"postgres://u:pw-9f3@[::1/db\"\n",
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let err = hub.connect("pg").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("/app/secrets.toml:3"), "{err}");
    assert!(!err.to_string().contains("pw-9f3"), "{err}");
}
