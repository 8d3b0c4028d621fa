//! The ADBC SQLite driver: `?` placeholders, ingest, and a file of its own per test.

use dataconn_adbc::AdbcConnection;
use dataconn_core::{ErrorKind, Params, params};

use crate::peers::{self, texts};

#[tokio::test]
async fn parameters_writes_and_reads_through_the_sqlite_driver() {
    let Some(driver) = peers::sqlite() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("file:{}", dir.path().join("a.db").display());
    let hub = peers::hub(
        "lite",
        "adbc",
        &peers::table(&format!("driver = {driver:?}\nuri = {uri:?}\n")),
    );
    let conn = hub.connection::<AdbcConnection>("lite").await.unwrap();
    conn.execute("create table pets (name text, legs integer)", Params::new())
        .await
        .unwrap();
    for (name, legs) in [("cat", 4), ("bird", 2), ("snake", 0)] {
        conn.execute(
            "insert into pets values (:name, :legs)",
            params! { name: name, legs: legs },
        )
        .await
        .unwrap();
    }
    let some = conn
        .query("select name from pets where legs >= :min and name <> ':min' order by name")
        .param("min", 2)
        .await
        .unwrap();
    assert_eq!(
        texts(&some, "name"),
        [Some("bird".to_owned()), Some("cat".to_owned())]
    );

    let err = conn.query("update pets set legs = 1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    let err = conn.query("select * from no_such_table").await.unwrap_err();
    assert!(err.to_string().contains("no_such_table"), "{err}");
    assert!(err.to_string().contains("ADBC status"), "{err}");
}

#[tokio::test]
async fn a_driver_path_that_is_not_there_is_named() {
    let hub = peers::hub(
        "x",
        "adbc",
        &peers::table("driver = \"/no/such/libadbc_driver_x.so\"\n"),
    );
    let err = hub.connect("x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        err.to_string().contains("/no/such/libadbc_driver_x.so"),
        "{err}"
    );
}
