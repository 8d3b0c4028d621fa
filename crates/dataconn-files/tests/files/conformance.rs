//! The testkit conformance suite on the files connector (local filesystem): every check runs,
//! the query checks through SQL over the seeded CSV files.

use std::sync::Arc;

use async_trait::async_trait;
use dataconn_core::{Connection, Registry, Result, downcast};
use dataconn_files::FilesConnection;
use dataconn_testkit::Harness;
use toml::{Table, Value};

use crate::stores::registry;

struct LocalHarness {
    dir: tempfile::TempDir,
}

#[async_trait]
impl Harness for LocalHarness {
    fn registry(&self) -> Registry {
        registry()
    }

    fn connection_type(&self) -> &'static str {
        dataconn_files::TYPE
    }

    async fn options(&self, label: &str) -> Table {
        let mut t = Table::new();
        t.insert(
            "root".into(),
            Value::String(self.dir.path().join(label).display().to_string()),
        );
        t
    }

    fn failing_options(&self) -> (Table, Vec<String>) {
        let mut t = Table::new();
        t.insert("root".into(), Value::String("s3://bucket/prefix".into()));
        t.insert(
            "endpoint_url".into(),
            Value::String("http://127.0.0.1:1".into()),
        );
        t.insert("allow_http".into(), Value::Boolean(true));
        t.insert("key".into(), Value::String("AKIDTESTKEY".into()));
        t.insert(
            "secret".into(),
            Value::String("wJalrXUtnFEMI-test-secret".into()),
        );
        t.insert("retries".into(), Value::Integer(0));
        (t, vec!["wJalrXUtnFEMI-test-secret".into()])
    }

    async fn seed(
        &self,
        conn: &Arc<dyn Connection>,
        table: &str,
        rows: &[(i64, &str)],
    ) -> Result<()> {
        let files = downcast::<FilesConnection>(conn.clone())?;
        let mut csv = String::from("id,label\n");
        for (id, label) in rows {
            csv.push_str(&format!("{id},{label}\n"));
        }
        files.put_bytes(&format!("{table}.csv"), csv).await?;
        Ok(())
    }

    fn select_sql(&self, table: &str) -> String {
        format!("select id, label from '{table}.csv' where id >= :min order by id")
    }
}

#[tokio::test]
async fn conformance_suite_on_local_files() {
    dataconn_testkit::run_all(&LocalHarness {
        dir: tempfile::tempdir().unwrap(),
    })
    .await;
}
