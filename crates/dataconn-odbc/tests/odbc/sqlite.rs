//! The SQLite ODBC driver on a file the native SQL connector wrote: results value by value,
//! and `write_table` back.

use dataconn_core::Params;
use dataconn_odbc::{OdbcConnection, WriteMode};

use crate::peers::{self, texts};
use crate::postgres::sample;

#[tokio::test]
async fn a_file_the_native_connector_wrote_reads_the_same_through_odbc() {
    let Some(driver) = peers::sqlite() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shared.db");
    let native = peers::native(&format!("sqlite:///{}", file.display())).await;
    native
        .execute(
            "create table t (id integer primary key, big bigint, score real, name text)",
            Params::new(),
        )
        .await
        .unwrap();
    native
        .execute(
            "with recursive g(n) as (select 1 union all select n + 1 from g where n < 500) \
             insert into t select n, n * 4294967296 + n, n / 3.0, \
             case when n % 4 = 0 then null else 'n' || n || ' ü€' end from g",
            Params::new(),
        )
        .await
        .unwrap();
    let hub = peers::hub(
        "lite",
        &peers::table(&format!(
            "driver = {driver:?}\ndatabase = {:?}\n",
            file.display().to_string()
        )),
    );
    let conn = hub.connection::<OdbcConnection>("lite").await.unwrap();
    let sql = "select id, big, score, name from t order by id";
    let odbc = conn.query(sql).await.unwrap();
    let sqlx = native.query(sql).await.unwrap();
    assert_eq!(odbc.num_rows(), 500);
    for column in ["id", "big", "name"] {
        assert_eq!(
            texts(&odbc, column),
            texts(&sqlx, column),
            "column {column}"
        );
    }
    // sqliteodbc hands REAL values over as text with 15 significant digits (its own
    // `%.15g`), so they match to that precision, not to the last bit (docs/connectors/odbc.md).
    let close = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => {
            let (a, b): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
            (a - b).abs() <= b.abs() * 1e-14
        }
        (a, b) => a == b,
    };
    let (ours, theirs) = (texts(&odbc, "score"), texts(&sqlx, "score"));
    assert_eq!(ours.len(), 500);
    assert!(
        ours.iter().zip(&theirs).all(|(a, b)| close(a, b)),
        "{ours:?} vs {theirs:?}"
    );

    let data = sample(&[1, 2, 3]);
    conn.write_table(&data, "written", WriteMode::Replace)
        .await
        .unwrap();
    let back = native
        .query("select id, s, m from written order by id")
        .await
        .unwrap();
    assert_eq!(texts(&back, "id"), texts(&data, "id"));
    assert_eq!(texts(&back, "s"), texts(&data, "s"));
}
