//! The Snowflake ADBC driver (Go, from the `adbc-driver-snowflake` wheel) against fakesnow, the
//! Snowflake protocol server the Snowflake connector's tests use: options passed through,
//! `?` placeholders, writes and reads, Snowflake's errors.

use dataconn_adbc::AdbcConnection;
use dataconn_core::{ErrorKind, Params, params};

use crate::peers::{self, texts};

#[tokio::test]
async fn the_snowflake_driver_reads_and_writes_through_fakesnow() {
    let Some(driver) = peers::driver(
        "DATACONN_TEST_ADBC_SNOWFLAKE_DRIVER",
        "the ADBC Snowflake driver",
    ) else {
        return;
    };
    let Some(server) = peers::server("DATACONN_TEST_SNOWFLAKE_URL", "fakesnow") else {
        return;
    };
    let (host, port) = server
        .trim_start_matches("http://")
        .split_once(':')
        .expect("host:port");
    let db = format!("dct_{}", std::process::id());
    let hub = peers::hub(
        "sf",
        "adbc",
        &peers::table(&format!(
            "driver = {driver:?}\nusername = \"svc\"\npassword = \"sf-secret-pw\"\n\
             \"adbc.snowflake.sql.account\" = \"acme\"\n\
             \"adbc.snowflake.sql.uri.protocol\" = \"http\"\n\
             \"adbc.snowflake.sql.uri.host\" = {host:?}\n\
             \"adbc.snowflake.sql.uri.port\" = {port:?}\n"
        )),
    );
    let sf = hub
        .connection::<AdbcConnection>("sf")
        .await
        .expect("connects");
    for sql in [
        format!("create database if not exists {db}"),
        format!("create schema if not exists {db}.kit"),
        format!("create or replace table {db}.kit.pets (id int, name varchar)"),
    ] {
        sf.execute(&sql, Params::new()).await.expect(&sql);
    }
    let pets = format!("{db}.kit.pets");
    for (id, name) in [(1, "cat"), (2, "dog"), (3, "it's")] {
        sf.execute(
            &format!("insert into {pets} values (:id, :name)"),
            params! { id: id, name: name },
        )
        .await
        .unwrap();
    }
    let some = sf
        .query(format!(
            "select name from {pets} where id >= :min order by id"
        ))
        .param("min", 2)
        .await
        .unwrap();
    assert_eq!(
        texts(&some, "NAME"),
        [Some("dog".to_owned()), Some("it's".to_owned())]
    );

    let err = sf
        .query(format!("select nope from {pets}"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Query, "{err}");
    assert!(err.to_string().contains("ADBC status"), "{err}");
    assert!(!err.to_string().contains("sf-secret-pw"), "{err}");
}
