//! The Snowflake connector against fakesnow's server (`scripts/peers.sh` starts it; it speaks
//! Snowflake's driver protocol: Arrow results for queries, JSON for DML).

use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Decimal128Type, Int64Type};
use async_trait::async_trait;
use dataconn_core::{
    Connection, Connections, ErrorKind, Registry, Result, Secrets, Value, downcast, params,
};
use dataconn_snowflake::SnowflakeConnection;
use dataconn_testkit::Harness;
use toml::Table;

fn server() -> Option<(String, u16)> {
    let url = match std::env::var("DATACONN_TEST_SNOWFLAKE_URL") {
        Ok(url) => url,
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "CI=true but DATACONN_TEST_SNOWFLAKE_URL is unset: run scripts/peers.sh (it starts fakesnow)"
            )
        }
        Err(_) => {
            eprintln!(
                "SKIPPING Snowflake tests: DATACONN_TEST_SNOWFLAKE_URL is unset (run scripts/peers.sh)"
            );
            return None;
        }
    };
    let rest = url.trim_start_matches("http://");
    let (host, port) = rest
        .trim_end_matches('/')
        .split_once(':')
        .expect("host:port");
    Some((host.to_owned(), port.parse().expect("a port")))
}

fn registry() -> Registry {
    let r = Registry::new();
    dataconn_snowflake::register(&r);
    r
}

fn options(host: &str, port: u16, database: &str) -> Table {
    toml::from_str(&format!(
        "account = \"fakesnow\"\nuser = \"tester\"\npassword = \"sn0w-secret\"\nhost = \"{host}\"\nport = {port}\n\
         protocol = \"http\"\ndatabase = \"{database}\"\nschema = \"public\"\n\
         session_parameters = {{ FAKESNOW_DB_PATH = \":isolated:\" }}\n"
    ))
    .unwrap()
}

struct Fakesnow {
    host: String,
    port: u16,
}

#[async_trait]
impl Harness for Fakesnow {
    fn registry(&self) -> Registry {
        registry()
    }

    fn connection_type(&self) -> &'static str {
        dataconn_snowflake::TYPE
    }

    async fn options(&self, label: &str) -> Table {
        options(&self.host, self.port, label)
    }

    fn failing_options(&self) -> (Table, Vec<String>) {
        (
            options("127.0.0.1", 1, "nowhere"),
            vec!["sn0w-secret".into()],
        )
    }

    async fn seed(
        &self,
        conn: &Arc<dyn Connection>,
        table: &str,
        rows: &[(i64, &str)],
    ) -> Result<()> {
        let sf = downcast::<SnowflakeConnection>(conn.clone())?;
        sf.execute(
            &format!("create table {table} (id int, label varchar)"),
            params! {},
        )
        .await?;
        for (id, label) in rows {
            sf.execute(
                &format!("insert into {table} values (:id, :label)"),
                params! { id: *id, label: *label },
            )
            .await?;
        }
        Ok(())
    }

    fn select_sql(&self, table: &str) -> String {
        // Snowflake upper-cases unquoted names; the suite reads `id` and `label`.
        format!("select id as \"id\", label as \"label\" from {table} where id >= :min order by id")
    }
}

#[tokio::test]
async fn conformance_suite_on_fakesnow() {
    let Some((host, port)) = server() else { return };
    dataconn_testkit::run_all(&Fakesnow { host, port }).await;
}

/// A hub whose secrets hold one connection, `name`, with `options`.
fn hub_of(name: &str, options: Table) -> Connections {
    let mut connections = Table::new();
    connections.insert(name.into(), toml::Value::Table(options));
    let mut root = Table::new();
    root.insert("connections".into(), toml::Value::Table(connections));
    Connections::builder()
        .registry(registry())
        .secrets(Secrets::from_toml("secrets.toml", &toml::to_string(&root).unwrap()).unwrap())
        .build()
        .unwrap()
}

async fn open(label: &str) -> Option<Arc<SnowflakeConnection>> {
    let (host, port) = server()?;
    let hub = hub_of(label, options(&host, port, label));
    Some(hub.connection::<SnowflakeConnection>(label).await.unwrap())
}

#[tokio::test]
async fn arrow_results_map_snowflake_types_and_dml_reports_rows() {
    let Some(sf) = open("types").await else {
        return;
    };
    sf.execute(
        "create table t (i int, n number(10, 2), r double, s varchar, b boolean, d date, ts timestamp_ntz, bin binary)",
        params! {},
    )
    .await
    .unwrap();
    let inserted = sf
        .execute(
            "insert into t values (1, 12.34, 2.5, 'x', true, '2024-02-29', '2024-02-29 12:34:56.789', to_binary('00ff', 'HEX')), \
             (null, null, null, null, null, null, null, null)",
            params! {},
        )
        .await
        .unwrap();
    assert_eq!(inserted, 2, "DML reports rows affected");
    let t = sf
        .query("select * from t order by i nulls last")
        .await
        .unwrap();
    let ty = |n: &str| t.schema().field_with_name(n).unwrap().data_type().clone();
    assert_eq!(ty("I"), DataType::Int64);
    assert_eq!(ty("N"), DataType::Decimal128(10, 2));
    assert_eq!(ty("R"), DataType::Float64);
    assert_eq!(ty("S"), DataType::Utf8);
    assert_eq!(ty("B"), DataType::Boolean);
    assert_eq!(ty("D"), DataType::Date32);
    assert!(
        matches!(ty("TS"), DataType::Timestamp(_, None)),
        "{:?}",
        ty("TS")
    );
    assert_eq!(ty("BIN"), DataType::Binary);
    let c = |n: &str| t.column(n).unwrap();
    assert_eq!(c("I").as_primitive::<Int64Type>().value(0), 1);
    assert_eq!(c("N").as_primitive::<Decimal128Type>().value(0), 1234);
    assert_eq!(
        c("D")
            .as_primitive::<arrow::datatypes::Date32Type>()
            .value(0),
        19_782
    );
    assert_eq!(c("BIN").as_binary::<i32>().value(0), [0, 255]);
    let ts = arrow::compute::cast(
        c("TS").as_ref(),
        &DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
    )
    .unwrap();
    assert_eq!(
        ts.as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
            .value(0),
        1_709_210_096_789_000
    );
    for name in t.column_names() {
        assert!(c(name).is_null(1), "{name} keeps NULL");
    }
}

#[tokio::test]
async fn named_parameters_bind_as_typed_values_never_spliced() {
    let Some(sf) = open("binds").await else {
        return;
    };
    let t = sf
        .query("select :n + :n as \"twice\", :s as \"s\", :d as \"d\"")
        .param("n", 21)
        .param("s", "it's; drop table x")
        .param("d", Value::decimal("1.25").unwrap())
        .await
        .unwrap();
    let twice =
        arrow::compute::cast(t.column("twice").unwrap().as_ref(), &DataType::Int64).unwrap();
    assert_eq!(twice.as_primitive::<Int64Type>().value(0), 42);
    assert_eq!(
        t.column("s").unwrap().as_string::<i32>().value(0),
        "it's; drop table x"
    );
}

#[tokio::test]
async fn sql_errors_carry_code_sqlstate_and_name_the_connection() {
    let Some(sf) = open("errors").await else {
        return;
    };
    let err = sf.query("select * from no_such_table").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Query);
    let shown = err.to_string();
    assert!(
        shown.contains("002003") && shown.contains("42S02"),
        "{shown}"
    );
    assert!(shown.contains("connection `errors` (snowflake)"), "{shown}");
    let err = sf.query("selec 1 frm").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Query, "a syntax error: {err}");
    assert!(
        err.to_string().contains("query id") || err.to_string().contains("code"),
        "{err}"
    );
    assert!(!err.is_temporary(), "SQL errors are never retried");
}

#[tokio::test]
async fn write_table_round_trips_in_batches_and_drops_cached_reads() {
    use arrow::array::{
        BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, RecordBatch,
        StringArray, TimestampMicrosecondArray,
    };
    use dataconn_snowflake::WriteOptions;
    let Some(sf) = open("writes").await else {
        return;
    };
    let rows = 5;
    let batch = RecordBatch::try_from_iter([
        (
            "ID",
            Arc::new(Int64Array::from_iter_values(1..=rows)) as arrow::array::ArrayRef,
        ),
        (
            "PRICE",
            Arc::new(Float64Array::from_iter_values(
                (1..=rows).map(|i| i as f64 / 4.0),
            )),
        ),
        (
            "NAME",
            Arc::new(StringArray::from_iter(
                (1..=rows).map(|i| (i != 3).then(|| format!("pet's #{i}"))),
            )),
        ),
        (
            "OK",
            Arc::new(BooleanArray::from_iter(
                (1..=rows).map(|i| Some(i % 2 == 0)),
            )),
        ),
        (
            "DAY",
            Arc::new(Date32Array::from_iter_values(
                (1..=rows).map(|i| 19_000 + i as i32),
            )),
        ),
        (
            "AT",
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                (1..=rows).map(|i| 1_700_000_000_000_000 + i * 1_500),
            )),
        ),
        (
            "AMOUNT",
            Arc::new(
                Decimal128Array::from_iter_values((1..=rows).map(|i| i128::from(i) * 101))
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
        ),
    ])
    .unwrap();
    let table = dataconn_core::Table::from_batch(batch);
    let options = WriteOptions::new().create(true).batch_rows(2);
    let written = sf.write_table(&table, "PETS", &options).await.unwrap();
    assert_eq!(written, rows as u64, "three batches of at most two rows");
    let read = sf.query("select * from PETS order by ID").await.unwrap();
    assert_eq!(read.num_rows(), rows as usize);
    let c = |n: &str| read.column(n).unwrap();
    assert_eq!(c("ID").as_primitive::<Int64Type>().value(4), 5);
    assert_eq!(
        c("PRICE")
            .as_primitive::<arrow::datatypes::Float64Type>()
            .value(1),
        0.5
    );
    assert_eq!(c("NAME").as_string::<i32>().value(0), "pet's #1");
    assert!(c("NAME").is_null(2), "a null stays null");
    assert!(c("OK").as_boolean().value(1));
    assert_eq!(
        c("DAY")
            .as_primitive::<arrow::datatypes::Date32Type>()
            .value(0),
        19_001
    );
    let at = arrow::compute::cast(
        c("AT").as_ref(),
        &DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
    )
    .unwrap();
    assert_eq!(
        at.as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
            .value(1),
        1_700_000_000_003_000
    );
    assert_eq!(c("AMOUNT").as_primitive::<Decimal128Type>().value(2), 303);

    // Appending twice the rows; the cached read above is dropped by the write.
    let again = sf
        .write_table(&table, "PETS", &WriteOptions::new())
        .await
        .unwrap();
    assert_eq!(again, rows as u64);
    let count = sf.query("select * from PETS order by ID").await.unwrap();
    assert_eq!(
        count.num_rows(),
        2 * rows as usize,
        "the cached read was dropped"
    );
    // Overwrite empties the table first.
    let options = WriteOptions::new().overwrite(true);
    sf.write_table(&table.head(2), "PETS", &options)
        .await
        .unwrap();
    let count = sf.query("select count(*) as n from PETS").await.unwrap();
    let n = arrow::compute::cast(count.column("N").unwrap().as_ref(), &DataType::Int64).unwrap();
    assert_eq!(n.as_primitive::<Int64Type>().value(0), 2);

    // A missing table without `create` is Snowflake's error, nothing written.
    let err = sf
        .write_table(&table, "NO_SUCH", &WriteOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Query, "{err}");
    assert!(err.to_string().contains("0 of 5"), "{err}");
}

#[tokio::test]
async fn a_failed_overwrite_leaves_the_old_table_as_it_was() {
    use arrow::array::{ArrayRef, Int64Array, RecordBatch, TimestampSecondArray};
    use dataconn_snowflake::WriteOptions;
    let Some(sf) = open("overwrites").await else {
        return;
    };
    sf.execute(
        "create table KEEP (ID int, SEEN timestamp_ntz, LABEL varchar)",
        params! {},
    )
    .await
    .unwrap();
    sf.execute(
        "insert into KEEP (ID, LABEL) values (1, 'one'), (2, 'two'), (3, 'three')",
        params! {},
    )
    .await
    .unwrap();
    // Two batches of two rows: the first is written, the second holds a timestamp beyond
    // what Snowflake's nanosecond bindings carry, so it fails after the first batch went in.
    let batch = RecordBatch::try_from_iter([
        (
            "ID",
            Arc::new(Int64Array::from(vec![10, 11, 12, 13])) as ArrayRef,
        ),
        (
            "SEEN",
            Arc::new(TimestampSecondArray::from(vec![0, 0, 0, i64::MAX])) as ArrayRef,
        ),
    ])
    .unwrap();
    let bad = dataconn_core::Table::from_batch(batch);
    let ids = |sf: Arc<SnowflakeConnection>| async move {
        let t = sf
            .query("select ID as \"id\" from KEEP order by ID")
            .ttl(0)
            .await
            .unwrap();
        let n = arrow::compute::cast(t.column("id").unwrap().as_ref(), &DataType::Int64).unwrap();
        n.as_primitive::<Int64Type>().values().to_vec()
    };
    for options in [
        WriteOptions::new().overwrite(true).batch_rows(2),
        WriteOptions::new()
            .create(true)
            .overwrite(true)
            .batch_rows(2),
    ] {
        let err = sf.write_table(&bad, "KEEP", &options).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TypeConversion, "{options:?}: {err}");
        assert!(
            err.to_string().contains("the table is as it was"),
            "{options:?}: {err}"
        );
        assert_eq!(
            ids(sf.clone()).await,
            vec![1, 2, 3],
            "{options:?}: every old row is still there, none of the new"
        );
    }
    let stages = sf
        .query("select count(*) as n from information_schema.tables where table_name like '%DATACONN_STAGE%'")
        .ttl(0)
        .await
        .unwrap();
    let n = arrow::compute::cast(stages.column("N").unwrap().as_ref(), &DataType::Int64).unwrap();
    assert_eq!(
        n.as_primitive::<Int64Type>().value(0),
        0,
        "no staging table is left"
    );
    // A good overwrite replaces the rows in one go; with `create`, the schema too.
    let good = bad.head(3);
    let written = sf
        .write_table(
            &good,
            "KEEP",
            &WriteOptions::new().overwrite(true).batch_rows(2),
        )
        .await
        .unwrap();
    assert_eq!(written, 3);
    assert_eq!(ids(sf.clone()).await, vec![10, 11, 12]);
    sf.write_table(
        &good.head(1),
        "KEEP",
        &WriteOptions::new().create(true).overwrite(true),
    )
    .await
    .unwrap();
    let t = sf.query("select * from KEEP").ttl(0).await.unwrap();
    assert_eq!(t.num_rows(), 1);
    assert!(
        t.schema().field_with_name("LABEL").is_err(),
        "create + overwrite takes the Arrow schema: {:?}",
        t.schema()
    );
}

#[tokio::test]
async fn raw_post_speaks_the_protocol_with_the_session_token() {
    let Some(sf) = open("raw").await else {
        return;
    };
    let data = sf
        .raw_post(
            "/queries/v1/query-request?requestId=0b7e2f5a-1c44-4d1e-9a53-5a1f0e9d0c11",
            serde_json::json!({ "sqlText": "select 41 + 1 as answer", "sequenceId": 1 }),
        )
        .await
        .unwrap();
    assert!(data["queryId"].is_string(), "{data}");
    let table = dataconn_snowflake::decode_reply_data(data).unwrap();
    let answer =
        arrow::compute::cast(table.column("ANSWER").unwrap().as_ref(), &DataType::Int64).unwrap();
    assert_eq!(answer.as_primitive::<Int64Type>().value(0), 42);
    // The session is deleted behind the connection's back: the next query logs in again.
    sf.raw_post("/session?delete=true", serde_json::json!({}))
        .await
        .unwrap();
    let again = sf.query("select 7 as seven").await.unwrap();
    assert_eq!(
        again.num_rows(),
        1,
        "a gone session (390104) means a new login"
    );
    for path in ["@evil.example/x", "//evil.example/x", "queries"] {
        let err = sf.raw_post(path, serde_json::json!({})).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parameter, "{path}: {err}");
    }
}

#[tokio::test]
async fn query_stream_yields_the_rows_in_batches() {
    use futures::StreamExt;
    let Some(sf) = open("stream").await else {
        return;
    };
    let ids = arrow::array::RecordBatch::try_from_iter([(
        "ID",
        Arc::new(arrow::array::Int64Array::from_iter_values(0..1000)) as arrow::array::ArrayRef,
    )])
    .unwrap();
    let options = dataconn_snowflake::WriteOptions::new().create(true);
    sf.write_table(&dataconn_core::Table::from_batch(ids), "NUMS", &options)
        .await
        .unwrap();
    let mut stream = sf
        .query_stream(
            "select ID from NUMS where ID >= :min order by ID",
            params! { min: 10 },
        )
        .await
        .unwrap();
    let mut seen = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.unwrap();
        let n = arrow::compute::cast(batch.column(0).as_ref(), &DataType::Int64).unwrap();
        seen.extend(n.as_primitive::<Int64Type>().values().iter().copied());
    }
    assert_eq!(seen, (10..1000).collect::<Vec<i64>>());
    let err = sf
        .query_stream("select * from no_such_table", params! {})
        .await
        .err()
        .expect("an error before any row");
    assert_eq!(err.kind(), ErrorKind::Query);
}

/// A small in-repo server for the replies fakesnow never sends: HTTP 503, session expiry
/// (390112), "still running" (333333, polled through `getResultUrl`) and a result chunk, with
/// the JSON shapes of Snowflake's driver protocol.
mod rare_replies {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    #[derive(Default)]
    struct Counters {
        logins: AtomicUsize,
        renewals: AtomicUsize,
        queries: AtomicUsize,
        polls: AtomicUsize,
        aborts: AtomicUsize,
        heartbeats: AtomicUsize,
        chunk_attempts: AtomicUsize,
        long_submits: AtomicUsize,
        forever_polls: AtomicUsize,
    }

    /// A server that only counts the connections it gets: where no request may arrive.
    async fn witness() -> (u16, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                respond(&mut stream, "404 Not Found", "{}").await;
            }
        });
        (port, hits)
    }

    /// The text between the first pair of single quotes of `sql`.
    fn quoted(sql: &str) -> String {
        sql.split('\'').nth(1).unwrap_or_default().to_owned()
    }

    const RUNNING_FOREVER: &str = r#"{"data":{"getResultUrl":"/queries/q4/result","queryId":"q4"},"code":"333333","message":"running","success":true}"#;

    async fn respond_bytes(stream: &mut tokio::net::TcpStream, status: &str, body: &[u8]) {
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(body).await;
    }

    async fn respond(stream: &mut tokio::net::TcpStream, status: &str, body: &str) {
        respond_bytes(stream, status, body.as_bytes()).await;
    }

    fn gzip(text: &str) -> Vec<u8> {
        gzip_bytes(text.as_bytes())
    }

    fn gzip_bytes(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    /// An Arrow IPC stream of one BIGINT column `N`, as Snowflake sends FIXED(18,0).
    fn ipc(values: &[i64]) -> Vec<u8> {
        let batch = arrow::array::RecordBatch::try_from_iter([(
            "N",
            Arc::new(arrow::array::Int64Array::from(values.to_vec())) as arrow::array::ArrayRef,
        )])
        .unwrap();
        let mut out = Vec::new();
        let mut writer =
            arrow::ipc::writer::StreamWriter::try_new(&mut out, &batch.schema()).unwrap();
        writer.write(&batch).unwrap();
        writer.finish().unwrap();
        drop(writer);
        out
    }

    async fn serve(listener: TcpListener, port: u16, counters: Arc<Counters>) {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let counters = counters.clone();
            tokio::spawn(async move {
                let Some(request) = dataconn_testkit::http::read_request(&mut stream).await else {
                    return;
                };
                let line = request.line.clone();
                let head = request.head.clone();
                let token = request
                    .header("authorization")
                    .unwrap_or_default()
                    .to_owned();
                let body = request.body;
                if line.starts_with("POST /queries/v1/query-request")
                    && body.contains("select slow")
                {
                    // A query that never answers: the client must give up and abort it.
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                    return;
                }
                let sql = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["sqlText"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                let running = |url: &str| {
                    format!(
                        r#"{{"data":{{"getResultUrl":"{url}","queryId":"q3"}},"code":"333333","message":"running","success":true}}"#
                    )
                };
                let chunked = |chunk: &str| {
                    format!(
                        r#"{{"data":{{"rowtype":[{{"name":"N","type":"text"}}],"rowset":[],"queryResultFormat":"json","queryId":"qc","chunks":[{{"url":"http://127.0.0.1:{port}/chunk/{chunk}","rowCount":1}}]}},"success":true}}"#
                    )
                };
                if line.starts_with("POST /queries/v1/query-request") {
                    if sql.starts_with("select elsewhere") {
                        // A result URL off the server: the token must not follow it.
                        respond(&mut stream, "200 OK", &running(&quoted(&sql))).await;
                        return;
                    }
                    if sql.starts_with("select redirect") {
                        let head = format!(
                            "HTTP/1.1 307 Temporary Redirect\r\nlocation: {}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                            quoted(&sql)
                        );
                        let _ = stream.write_all(head.as_bytes()).await;
                        return;
                    }
                    if sql.starts_with("select forever") {
                        respond(&mut stream, "200 OK", RUNNING_FOREVER).await;
                        return;
                    }
                    if sql.starts_with("select big") {
                        let rows = vec![r#"["a value of some length"]"#; 1000].join(",");
                        let reply = format!(
                            r#"{{"data":{{"rowtype":[{{"name":"N","type":"text"}}],"rowset":[{rows}],"queryResultFormat":"json","queryId":"qb"}},"success":true}}"#
                        );
                        respond(&mut stream, "200 OK", &reply).await;
                        return;
                    }
                    for chunk in ["bomb", "huge", "stall"] {
                        if sql.starts_with(&format!("select {chunk}chunk")) {
                            respond(&mut stream, "200 OK", &chunked(chunk)).await;
                            return;
                        }
                    }
                }
                if line.starts_with("GET /queries/q4/result") {
                    counters.forever_polls.fetch_add(1, Ordering::SeqCst);
                    respond(&mut stream, "200 OK", RUNNING_FOREVER).await;
                    return;
                }
                if line.starts_with("GET /chunk/bomb") {
                    // 1 KiB on the wire, 1 MiB once gunzipped.
                    respond_bytes(&mut stream, "200 OK", &gzip_bytes(&vec![b' '; 1 << 20])).await;
                    return;
                }
                if line.starts_with("GET /chunk/huge") {
                    // No content-length: the body's size shows only while it is read.
                    let rows = vec![r#"["1"]"#; 10_000].join(",");
                    let head = "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n";
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(rows.as_bytes()).await;
                    return;
                }
                if line.starts_with("GET /chunk/stall") {
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                    return;
                }
                if line.starts_with("POST /session/heartbeat") {
                    assert!(
                        token.contains("tok-"),
                        "a heartbeat carries the session token"
                    );
                    counters.heartbeats.fetch_add(1, Ordering::SeqCst);
                    respond(&mut stream, "200 OK", r#"{"data":null,"success":true}"#).await;
                    return;
                }
                if line.starts_with("POST /queries/v1/abort-request") {
                    counters.aborts.fetch_add(1, Ordering::SeqCst);
                    respond(&mut stream, "200 OK", r#"{"data":null,"success":true}"#).await;
                    return;
                }
                if line.starts_with("POST /session/v1/login-request") {
                    let n = counters.logins.fetch_add(1, Ordering::SeqCst) + 1;
                    respond(
                        &mut stream,
                        "200 OK",
                        &format!(r#"{{"data":{{"token":"tok-{n}","masterToken":"master-{n}"}},"success":true}}"#),
                    )
                    .await;
                } else if line.starts_with("POST /session/token-request") {
                    // Renewal: the master token authorizes it; the old session token is in the body.
                    assert!(
                        token.contains("master-1")
                            && body.contains("RENEW")
                            && body.contains("tok-1")
                    );
                    counters.renewals.fetch_add(1, Ordering::SeqCst);
                    respond(
                        &mut stream,
                        "200 OK",
                        r#"{"data":{"sessionToken":"tok-renewed","masterToken":"master-1"},"success":true}"#,
                    )
                    .await;
                } else if line.starts_with("POST /queries/v1/query-request")
                    && body.contains("select arrow")
                {
                    // An Arrow result: base64 IPC inline, then a gzipped IPC chunk.
                    use base64::Engine;
                    let inline = base64::engine::general_purpose::STANDARD.encode(ipc(&[1, 2]));
                    let reply = format!(
                        r#"{{"data":{{"rowtype":[{{"name":"N","type":"fixed","scale":0,"precision":18}}],"rowsetBase64":"{inline}","queryResultFormat":"arrow","queryId":"qa","chunks":[{{"url":"http://127.0.0.1:{port}/chunk/arrow","rowCount":1}}],"chunkHeaders":{{"x-amz-server-side-encryption-customer-key":"k"}}}},"success":true}}"#
                    );
                    respond(&mut stream, "200 OK", &reply).await;
                } else if line.starts_with("POST /queries/v1/query-request")
                    && body.contains("select long")
                {
                    counters.long_submits.fetch_add(1, Ordering::SeqCst);
                    respond(
                        &mut stream,
                        "200 OK",
                        r#"{"data":{"getResultUrl":"/queries/q2/result","queryId":"q2"},"code":"333333","message":"running","success":true}"#,
                    )
                    .await;
                } else if line.starts_with("GET /queries/q2/result") {
                    // The session expires while the statement runs; the renewed one gets it.
                    if token.contains("tok-1") {
                        respond(&mut stream, "200 OK", r#"{"data":null,"code":"390112","message":"Your session has expired.","success":false}"#).await;
                    } else {
                        respond(
                            &mut stream,
                            "200 OK",
                            r#"{"data":{"rowtype":[{"name":"N","type":"fixed","scale":0,"precision":18}],"rowset":[["9"]],"queryResultFormat":"json","queryId":"q2"},"success":true}"#,
                        )
                        .await;
                    }
                } else if line.starts_with("GET /chunk/arrow") {
                    assert!(
                        head.to_ascii_lowercase()
                            .contains("x-amz-server-side-encryption-customer-key: k"),
                        "a chunk is fetched with its chunk headers"
                    );
                    assert!(token.is_empty(), "a chunk never gets the session token");
                    respond_bytes(&mut stream, "200 OK", &gzip_bytes(&ipc(&[3]))).await;
                } else if line.starts_with("POST /queries/v1/query-request") {
                    match counters.queries.fetch_add(1, Ordering::SeqCst) {
                        0 => respond(&mut stream, "503 Service Unavailable", "{}").await,
                        _ if token.contains("tok-1") => {
                            respond(&mut stream, "200 OK", r#"{"data":null,"code":"390112","message":"Your session has expired.","success":false}"#).await
                        }
                        _ => {
                            respond(
                                &mut stream,
                                "200 OK",
                                r#"{"data":{"getResultUrl":"/queries/q1/result","queryId":"q1"},"code":"333333","message":"running","success":true}"#,
                            )
                            .await
                        }
                    }
                } else if line.starts_with("GET /queries/q1/result") {
                    if counters.polls.fetch_add(1, Ordering::SeqCst) == 0 {
                        respond(
                            &mut stream,
                            "200 OK",
                            r#"{"data":{"getResultUrl":"/queries/q1/result","queryId":"q1"},"code":"333333","message":"running","success":true}"#,
                        )
                        .await;
                    } else {
                        let body = format!(
                            r#"{{"data":{{"rowtype":[{{"name":"N","type":"fixed","scale":0,"precision":38}}],"rowset":[["1"],["2"]],"queryResultFormat":"json","queryId":"q1","chunks":[{{"url":"http://127.0.0.1:{port}/chunk/1","rowCount":2}},{{"url":"http://127.0.0.1:{port}/chunk/2","rowCount":1}}],"qrmk":"k"}},"success":true}}"#
                        );
                        respond(&mut stream, "200 OK", &body).await;
                    }
                } else if line.starts_with("GET /chunk/1") {
                    if counters.chunk_attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                        // The connection drops mid-body: 100 bytes promised, 5 sent.
                        let head = "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n[\"3\"]";
                        let _ = stream.write_all(head.as_bytes()).await;
                        return;
                    }
                    respond(&mut stream, "200 OK", r#"["3"],["4"]"#).await;
                } else if line.starts_with("GET /chunk/2") {
                    respond_bytes(&mut stream, "200 OK", &gzip(r#"["5"]"#)).await;
                } else {
                    respond(&mut stream, "404 Not Found", "{}").await;
                }
            });
        }
    }

    /// A connection to a fresh mock server, with `extra` options.
    async fn connect(
        extra: &[(&str, toml::Value)],
    ) -> (Arc<dataconn_snowflake::SnowflakeConnection>, Arc<Counters>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let counters = Arc::new(Counters::default());
        tokio::spawn(serve(listener, port, counters.clone()));
        let mut options = super::options("127.0.0.1", port, "db");
        for (k, v) in extra {
            options.insert((*k).into(), v.clone());
        }
        let sf = super::hub_of("rare", options)
            .connection::<dataconn_snowflake::SnowflakeConnection>("rare")
            .await
            .unwrap();
        (sf, counters)
    }

    #[tokio::test]
    async fn keep_alive_sends_heartbeats_with_the_session_token() {
        let (_sf, counters) = connect(&[
            ("client_session_keep_alive", toml::Value::Boolean(true)),
            (
                "client_session_keep_alive_heartbeat_frequency",
                toml::Value::Integer(1),
            ),
        ])
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(2_600)).await;
        let beats = counters.heartbeats.load(Ordering::SeqCst);
        assert!(
            (1..=3).contains(&beats),
            "one heartbeat a second, found {beats}"
        );
        let (_quiet, counters) = connect(&[]).await;
        tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
        assert_eq!(
            counters.heartbeats.load(Ordering::SeqCst),
            0,
            "off by default"
        );
    }

    #[tokio::test]
    async fn a_session_expiring_while_a_statement_runs_is_renewed_not_resubmitted() {
        let (sf, counters) = connect(&[]).await;
        let t = sf.query("select long").await.unwrap();
        assert_eq!(
            t.column("N").unwrap().as_primitive::<Int64Type>().value(0),
            9
        );
        assert_eq!(
            counters.long_submits.load(Ordering::SeqCst),
            1,
            "the statement was sent once"
        );
        assert_eq!(counters.renewals.load(Ordering::SeqCst), 1);
        dataconn_core::Connection::close(sf.as_ref()).await.unwrap();
        let err = sf.query("select long, 2").await.unwrap_err();
        assert_eq!(err.kind(), dataconn_core::ErrorKind::Closed, "{err}");
        assert_eq!(
            counters.logins.load(Ordering::SeqCst),
            1,
            "no login after close"
        );
    }

    #[tokio::test]
    async fn durations_that_do_not_parse_are_config_errors() {
        let mut options = super::options("127.0.0.1", 1, "db");
        options.insert(
            "client_session_keep_alive_heartbeat_frequency".into(),
            "0s".into(),
        );
        options.insert("login_timeout".into(), "soon".into());
        let err = super::hub_of("bad", options)
            .connection::<dataconn_snowflake::SnowflakeConnection>("bad")
            .await
            .unwrap_err();
        let shown = err.to_string();
        assert_eq!(err.kind(), dataconn_core::ErrorKind::Config, "{shown}");
        assert!(
            shown.contains("client_session_keep_alive_heartbeat_frequency")
                && shown.contains("login_timeout"),
            "both problems at once: {shown}"
        );
    }

    #[tokio::test]
    async fn a_timed_out_query_is_aborted_on_the_server() {
        let (sf, counters) = connect(&[("network_timeout", toml::Value::Integer(1))]).await;
        let err = sf.query("select slow").await.unwrap_err();
        assert_eq!(err.kind(), dataconn_core::ErrorKind::Timeout, "{err}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(
            counters.aborts.load(Ordering::SeqCst),
            1,
            "abort-request sent"
        );
    }

    #[tokio::test]
    async fn result_urls_and_redirects_off_the_server_are_refused_and_reach_nothing() {
        let (sf, _) = connect(&[]).await;
        let (port, hits) = witness().await;
        for url in [
            format!("@127.0.0.1:{port}/queries/q3/result"),
            format!("http://127.0.0.1:{port}/queries/q3/result"),
            format!("//127.0.0.1:{port}/queries/q3/result"),
            "queries/q3/result".to_owned(),
        ] {
            let err = sf
                .query(format!("select elsewhere '{url}'"))
                .await
                .unwrap_err();
            let shown = err.to_string();
            assert_eq!(
                err.kind(),
                dataconn_core::ErrorKind::Connect,
                "{url}: {shown}"
            );
            assert!(
                shown.contains("result URL") && shown.contains("configured server"),
                "{url}: {shown}"
            );
            assert!(!err.is_temporary(), "{url}: not retried");
        }
        // A statement redirected to another server is not sent there either.
        let err = sf
            .query(format!(
                "select redirect 'http://127.0.0.1:{port}/queries/v1/query-request'"
            ))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("redirect"), "{err}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "the other server received nothing"
        );
    }

    #[tokio::test]
    async fn a_stalled_server_hits_request_timeout_and_the_error_names_it() {
        let (sf, _) = connect(&[("request_timeout", toml::Value::Integer(1))]).await;
        for sql in ["select slow", "select stallchunk"] {
            let started = std::time::Instant::now();
            let err = sf.query(sql).await.unwrap_err();
            let shown = err.to_string();
            assert_eq!(
                err.kind(),
                dataconn_core::ErrorKind::Timeout,
                "{sql}: {shown}"
            );
            assert!(shown.contains("`request_timeout`"), "{sql}: {shown}");
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "{sql}: a few 1 s attempts, found {:?}",
                started.elapsed()
            );
        }
    }

    #[tokio::test]
    async fn a_statement_running_for_ever_ends_at_network_timeout_and_is_aborted() {
        let (sf, counters) = connect(&[("network_timeout", toml::Value::Integer(2))]).await;
        let err = sf.query("select forever").await.unwrap_err();
        let shown = err.to_string();
        assert_eq!(err.kind(), dataconn_core::ErrorKind::Timeout, "{shown}");
        assert!(shown.contains("`network_timeout`"), "{shown}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(
            counters.forever_polls.load(Ordering::SeqCst) >= 1,
            "it was polled"
        );
        assert_eq!(
            counters.aborts.load(Ordering::SeqCst),
            1,
            "abort-request sent"
        );
    }

    #[tokio::test]
    async fn bodies_beyond_max_response_bytes_are_errors_naming_the_limit() {
        let (sf, _) = connect(&[("max_response_bytes", toml::Value::Integer(4096))]).await;
        for (sql, says) in [
            ("select big", "query reply"),
            ("select hugechunk", "result chunk"),
            ("select bombchunk", "once decompressed"),
        ] {
            let err = sf.query(sql).await.unwrap_err();
            let shown = err.to_string();
            assert!(
                shown.contains("`max_response_bytes`")
                    && shown.contains("4096")
                    && shown.contains(says),
                "{sql}: {shown}"
            );
            assert!(!err.is_temporary(), "{sql}: not fetched again");
        }
    }

    #[tokio::test]
    async fn retries_renews_polls_and_downloads_chunks() {
        let (sf, counters) = connect(&[]).await;
        let t = sf.query("select n from t").await.unwrap();
        let n = t.column("N").unwrap();
        assert_eq!(
            n.as_primitive::<Int64Type>().values().to_vec(),
            vec![1, 2, 3, 4, 5],
            "inline rows, then the chunks in order (the second gzipped)"
        );
        assert_eq!(
            (
                counters.logins.load(Ordering::SeqCst),
                counters.renewals.load(Ordering::SeqCst)
            ),
            (1, 1),
            "the expired session was renewed with the master token, not a new login"
        );
        assert_eq!(
            sf.last_query_id().as_deref(),
            Some("q1"),
            "the last statement's query id"
        );
        assert!(
            counters.queries.load(Ordering::SeqCst) >= 3,
            "the 503 was retried"
        );
        assert_eq!(
            counters.polls.load(Ordering::SeqCst),
            2,
            "polled until the result was ready"
        );
        assert_eq!(
            counters.chunk_attempts.load(Ordering::SeqCst),
            2,
            "the chunk whose connection dropped mid-body was fetched again"
        );
        let arrow = sf.query("select arrow").await.unwrap();
        assert_eq!(
            arrow
                .column("N")
                .unwrap()
                .as_primitive::<Int64Type>()
                .values()
                .to_vec(),
            vec![1, 2, 3],
            "Arrow rows inline, then the gzipped Arrow chunk"
        );
        // Streamed, the same result arrives part by part: the inline rows, then each chunk.
        let mut stream = sf
            .query_stream("select n from t", dataconn_core::params! {})
            .await
            .unwrap();
        let mut parts = Vec::new();
        while let Some(batch) = futures::StreamExt::next(&mut stream).await {
            let batch = batch.unwrap();
            parts.push(
                batch
                    .column(0)
                    .as_primitive::<Int64Type>()
                    .values()
                    .to_vec(),
            );
        }
        assert_eq!(parts, vec![vec![1, 2], vec![3, 4], vec![5]]);
    }
}

#[tokio::test]
async fn every_auth_mode_logs_in() {
    let Some((host, port)) = server() else { return };
    let dir = std::env::temp_dir().join(format!("dataconn-sf-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("key.pem");
    let made = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&key)
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        made || std::env::var("CI").is_err(),
        "CI=true needs openssl to make a test key"
    );
    let mut modes = vec![
        (
            "oauth",
            "authenticator = \"oauth\"\ntoken = \"oauth-token-value\"\n".to_owned(),
        ),
        (
            "pat",
            "authenticator = \"programmatic_access_token\"\ntoken = \"pat-value\"\n".to_owned(),
        ),
    ];
    if made {
        modes.push((
            "keypair",
            format!("private_key_file = \"{}\"\n", key.display()),
        ));
    }
    for (label, auth) in modes {
        let text = format!(
            "[connections.{label}]\ntype = \"snowflake\"\naccount = \"fakesnow\"\nuser = \"tester\"\nhost = \"{host}\"\n\
             port = {port}\nprotocol = \"http\"\ndatabase = \"{label}\"\nschema = \"public\"\n{auth}"
        );
        let hub = Connections::builder()
            .registry(registry())
            .secrets(Secrets::from_toml("secrets.toml", &text).unwrap())
            .build()
            .unwrap();
        let sf = hub
            .connection::<SnowflakeConnection>(label)
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        sf.health_check()
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_connection_without_a_section_comes_from_connections_toml() {
    let Some((host, port)) = server() else { return };
    let home = std::env::temp_dir().join(format!("dataconn-sf-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("connections.toml"),
        format!(
            "default_connection_name = \"dev\"\n\n[dev]\naccount = \"fakesnow\"\nuser = \"tester\"\npassword = \"pw\"\n\
             host = \"{host}\"\nport = {port}\nprotocol = \"http\"\ndatabase = \"fromtoml\"\nschema = \"public\"\n"
        ),
    )
    .unwrap();
    // SAFETY: only this test reads SNOWFLAKE_HOME in this process.
    unsafe { std::env::set_var("SNOWFLAKE_HOME", &home) };
    let hub = Connections::builder()
        .registry(registry())
        .secrets(Secrets::from_toml("secrets.toml", "[other]\nx = 1\n").unwrap())
        .build()
        .unwrap();
    let dev = hub.connection::<SnowflakeConnection>("dev").await.unwrap();
    dev.health_check().await.unwrap();
    // The name `snowflake` takes the file's default entry.
    let default = hub
        .connect("snowflake")
        .typed::<SnowflakeConnection>()
        .await
        .unwrap();
    default.health_check().await.unwrap();
    // SNOWFLAKE_CONNECTIONS_<NAME>_<KEY> overrides the entry, or defines one on its own.
    // SAFETY: only this test sets these variables in this process.
    unsafe {
        std::env::set_var("SNOWFLAKE_CONNECTIONS_DEV_DATABASE", "fromenv");
        std::env::set_var("SNOWFLAKE_CONNECTIONS_ENVONLY_ACCOUNT", "fakesnow");
        std::env::set_var("SNOWFLAKE_CONNECTIONS_ENVONLY_USER", "tester");
        std::env::set_var("SNOWFLAKE_CONNECTIONS_ENVONLY_PASSWORD", "pw");
        std::env::set_var("SNOWFLAKE_CONNECTIONS_ENVONLY_HOST", &host);
        std::env::set_var("SNOWFLAKE_CONNECTIONS_ENVONLY_PORT", port.to_string());
        std::env::set_var("SNOWFLAKE_CONNECTIONS_ENVONLY_PROTOCOL", "http");
    }
    let hub = Connections::builder()
        .registry(registry())
        .secrets(Secrets::from_toml("secrets.toml", "[other]\nx = 1\n").unwrap())
        .build()
        .unwrap();
    let dev = hub.connection::<SnowflakeConnection>("dev").await.unwrap();
    let db = dev.query("select current_database() as db").await.unwrap();
    assert_eq!(
        db.column("DB").unwrap().as_string::<i32>().value(0),
        "FROMENV",
        "the environment overrides connections.toml"
    );
    let env_only = hub
        .connect("envonly")
        .connection_type(dataconn_snowflake::TYPE)
        .typed::<SnowflakeConnection>()
        .await
        .unwrap();
    env_only.health_check().await.unwrap();
    let err = hub
        .connect("nope")
        .connection_type(dataconn_snowflake::TYPE)
        .typed::<SnowflakeConnection>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingKey, "{err}");
    let shown = err.to_string();
    assert!(
        shown.contains("connections.toml [nope]") && shown.contains("SNOWFLAKE_CONNECTIONS_NOPE_*"),
        "every source searched: {shown}"
    );
    unsafe {
        for var in ["HOME", "CONNECTIONS_DEV_DATABASE"]
            .iter()
            .map(|v| format!("SNOWFLAKE_{v}"))
            .chain(
                ["ACCOUNT", "USER", "PASSWORD", "HOST", "PORT", "PROTOCOL"]
                    .iter()
                    .map(|k| format!("SNOWFLAKE_CONNECTIONS_ENVONLY_{k}")),
            )
        {
            std::env::remove_var(var);
        }
    }
    let _ = std::fs::remove_dir_all(&home);
}

/// The child half of `a_non_utf8_environment_never_panics_resolving_connections_toml`: it runs
/// only in the child process that test starts (with `DATACONN_SF_CHILD` set), where the
/// environment holds bytes that are not UTF-8.
#[test]
fn child_resolves_connections_toml_in_a_non_utf8_environment() {
    let Ok(mode) = std::env::var("DATACONN_SF_CHILD") else {
        return;
    };
    let hub = Connections::builder()
        .registry(registry())
        .secrets(Secrets::from_toml("secrets.toml", "[other]\nx = 1\n").unwrap())
        .build()
        .unwrap();
    let resolved = hub.resolve("dev", Some(dataconn_snowflake::TYPE), &Table::new());
    match mode.as_str() {
        "theirs" => {
            let config = resolved.expect("another program's variable is skipped");
            assert_eq!(
                config.get("user").and_then(toml::Value::as_str),
                Some("tester")
            );
        }
        "ours" => {
            let err = resolved.expect_err("our variable that is not UTF-8 is an error");
            assert_eq!(err.kind(), ErrorKind::SecretsParse, "{err}");
            let shown = err.to_string();
            assert!(
                shown.contains("SNOWFLAKE_CONNECTIONS_DEV_PASSWORD") && shown.contains("UTF-8"),
                "the error names the variable: {shown}"
            );
        }
        other => panic!("unknown child mode {other}"),
    }
}

#[test]
fn a_non_utf8_environment_never_panics_resolving_connections_toml() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let home = std::env::temp_dir().join(format!("dataconn-sf-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("connections.toml"),
        "[dev]\naccount = \"fakesnow\"\nuser = \"tester\"\npassword = \"pw\"\n",
    )
    .unwrap();
    let junk = OsStr::from_bytes(b"caf\xe9\xff");
    for (mode, var) in [
        ("theirs", OsStr::new("SOME_OTHER_TOOL_SETTING")),
        ("ours", OsStr::new("SNOWFLAKE_CONNECTIONS_DEV_PASSWORD")),
    ] {
        // A child process: the variable is set before it starts, so no thread races on it.
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_resolves_connections_toml_in_a_non_utf8_environment",
                "--nocapture",
            ])
            .env("DATACONN_SF_CHILD", mode)
            .env("SNOWFLAKE_HOME", &home)
            .env(var, junk)
            // A variable whose very name is not UTF-8 is skipped too.
            .env(OsStr::from_bytes(b"JUNK_\xff_NAME"), "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{mode}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "{mode}: the child ran the test"
        );
    }
    let _ = std::fs::remove_dir_all(&home);
}
