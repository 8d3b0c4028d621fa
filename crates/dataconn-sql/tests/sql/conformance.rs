//! The testkit conformance suite, once per backend.

use std::sync::Arc;

use async_trait::async_trait;
use dataconn_core::{Connection, Registry, Result, downcast, params};
use dataconn_sql::SqlConnection;
use dataconn_testkit::Harness;
use toml::{Table, Value};

use crate::backends::{Backend, Kind, backends, registry};

struct SqlHarness {
    backend: Backend,
}

#[async_trait]
impl Harness for SqlHarness {
    fn registry(&self) -> Registry {
        registry()
    }

    fn connection_type(&self) -> &'static str {
        dataconn_sql::TYPE
    }

    async fn options(&self, label: &str) -> Table {
        let mut t = Table::new();
        t.insert(
            "url".into(),
            Value::String(self.backend.url(&format!("kit_{label}")).await),
        );
        t
    }

    fn failing_options(&self) -> (Table, Vec<String>) {
        let mut t = Table::new();
        let secret = "hunter2-never-shown";
        match self.backend.kind {
            Kind::Sqlite => {
                t.insert("dialect".into(), Value::String("sqlite".into()));
                t.insert("database".into(), Value::String("/no/such/dir/x.db".into()));
                t.insert("password".into(), Value::String(secret.into()));
            }
            Kind::Postgres => {
                t.insert(
                    "url".into(),
                    Value::String(format!("postgresql://app:{secret}@127.0.0.1:1/db")),
                );
            }
            Kind::MySql => {
                t.insert("dialect".into(), Value::String("mysql".into()));
                t.insert("username".into(), Value::String("app".into()));
                t.insert("password".into(), Value::String(secret.into()));
                t.insert("host".into(), Value::String("127.0.0.1".into()));
                t.insert("port".into(), Value::Integer(1));
            }
        }
        t.insert("acquire_timeout".into(), Value::String("3s".into()));
        (t, vec![secret.into()])
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
            &format!("create table {table} (id integer, label varchar(50))"),
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
async fn conformance_suite_on_every_backend() {
    for backend in backends() {
        eprintln!("conformance on {backend:?}");
        dataconn_testkit::run_all(&SqlHarness { backend }).await;
    }
}
