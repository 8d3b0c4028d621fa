//! MariaDB Connector/ODBC against the machine's MariaDB: results checked value by value against
//! the native SQL connector, typed parameters, and `write_table` round trips.

use std::sync::Arc;

use dataconn_core::{Connections, Params, params};
use dataconn_odbc::{OdbcConnection, WriteMode};

use crate::conformance::{fresh_namespace, mariadb_section};
use crate::peers::{self, Server, texts};
use crate::postgres::{all_texts, sample};

/// A connection to a database of its own for `label`.
async fn open(label: &str) -> Option<(Connections, Arc<OdbcConnection>, Server, String)> {
    let server = peers::mariadb()?;
    let (section, database) = {
        let (server, label) = (server.clone(), label.to_owned());
        tokio::task::spawn_blocking(move || {
            let database = fresh_namespace(&server, &label, true);
            (mariadb_section(&server, &database), database)
        })
        .await
        .unwrap()
    };
    let hub = peers::hub("maria", &section);
    let conn = hub
        .connection::<OdbcConnection>("maria")
        .await
        .expect("connects");
    Some((hub, conn, server, database))
}

#[tokio::test]
async fn results_match_the_native_connector_value_by_value() {
    let Some((_hub, conn, server, database)) = open("native").await else {
        return;
    };
    conn.execute(
        "create table t (id bigint primary key, score double, name varchar(40), day date, \
         at datetime(6), amount decimal(12, 2), big bigint unsigned)",
        Params::new(),
    )
    .await
    .unwrap();
    conn.execute(
        "insert into t \
         with recursive g(n) as (select 0 union all select n + 1 from g where n < 999) \
         select n, n * 1.5, if(n % 5 = 0, null, concat('n', n, ' ü€ \\\\ ''')), \
         date_add('2024-01-01', interval n day), \
         timestamp('2024-01-01 00:00:00.123456') + interval n minute, \
         if(n % 7 = 0, null, n + 0.25), 18446744073709551000 + (n % 10) from g",
        Params::new(),
    )
    .await
    .unwrap();
    let sql = "select id, score, name, day, at, amount, big from t order by id";
    let through_odbc = conn.query(sql).await.expect("odbc reads");
    let native = peers::native(&format!(
        "mysql://{}@{}:{}/{database}",
        server.user, server.host, server.port
    ))
    .await;
    let through_sqlx = native.query(sql).await.expect("the native connector reads");
    assert_eq!(through_odbc.num_rows(), 1000);
    for column in ["id", "score", "name", "day", "at", "amount", "big"] {
        assert_eq!(
            texts(&through_odbc, column),
            texts(&through_sqlx, column),
            "column {column}"
        );
    }
}

#[tokio::test]
async fn parameters_are_typed_and_writes_round_trip() {
    let Some((_hub, conn, _, _)) = open("write").await else {
        return;
    };
    let echo = conn
        .query("select :t as t, :i + 1 as i, :d as d, :n as n")
        .params(params! { t: "a'b\\c; ü", i: 9_007_199_254_740_993_i64, d: dataconn_core::Value::decimal("-0.05").unwrap(), n: dataconn_core::Value::Null })
        .await
        .unwrap();
    assert_eq!(texts(&echo, "t")[0].as_deref(), Some("a'b\\c; ü"));
    assert_eq!(texts(&echo, "i")[0].as_deref(), Some("9007199254740994"));
    assert_eq!(texts(&echo, "n")[0], None);

    let data = sample(&(0..25).collect::<Vec<_>>());
    conn.write_table(&data, "written", WriteMode::Create)
        .await
        .unwrap();
    conn.write_table(&data, "written", WriteMode::CreateAppend)
        .await
        .unwrap();
    let back = conn
        .query("select distinct id, x, s, b, d, ts, m from written order by id")
        .await
        .unwrap();
    let (got, mut want) = (all_texts(&back), all_texts(&data));
    // MariaDB's BOOLEAN is TINYINT(1): it reads back as 1 and 0.
    let as_digit = |v: &Option<String>| {
        v.as_deref()
            .map(|b| if b == "true" { "1" } else { "0" }.to_owned())
    };
    want[3] = want[3].iter().map(as_digit).collect();
    assert_eq!(got, want);
    let count = conn
        .query("select count(*) as n from written")
        .await
        .unwrap();
    assert_eq!(texts(&count, "n"), [Some("50".to_owned())]);
}

#[tokio::test]
async fn a_driver_given_by_path_still_finds_parameters_by_the_servers_rules() {
    let Some(server) = peers::mariadb() else {
        return;
    };
    // The library path says nothing about MariaDB; the server does, so a backslash escape in
    // a string is read as MariaDB reads it and `:b` inside the string stays text.
    let library = "/usr/lib/x86_64-linux-gnu/odbc/libmaodbc.so";
    if !std::path::Path::new(library).is_file() {
        eprintln!("SKIPPING: {library} is not where Debian puts it");
        return;
    }
    let mut section = server.section();
    section.insert("driver".into(), toml::Value::String(library.into()));
    let hub = peers::hub("maria_path", &section);
    let conn = hub
        .connection::<OdbcConnection>("maria_path")
        .await
        .expect("connects through the library path");
    let table = conn
        .query("select 'it\\'s :b' as s, :b as b")
        .params(params! { b: "bound" })
        .await
        .expect("one parameter outside the string");
    assert_eq!(texts(&table, "s")[0].as_deref(), Some("it's :b"));
    assert_eq!(texts(&table, "b")[0].as_deref(), Some("bound"));
}
