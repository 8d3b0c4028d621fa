#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
//! The conformance suite every dataconn connector runs, ours and third parties'.
//!
//! Implement [`Harness`] for your connector (how to build a working config, a failing one,
//! and how to put rows in a table), then call [`run_all`] from one test:
//!
//! ```text
//! #[tokio::test]
//! async fn conformance() {
//!     dataconn_testkit::run_all(&MyHarness::new()).await;
//! }
//! ```
//!
//! Each check is also a public function, so a connector can run them one by one. A check
//! panics with a message that says which behaviour broke. Checks that need the query
//! capability skip themselves (with a printed line) for connectors without it.
//!
//! What is checked:
//! - config errors are clear: an unknown key is named, with its file and line and a
//!   suggestion for a near miss;
//! - a query round-trips rows and named parameters;
//! - reset reconnects, close closes;
//! - cache identity is per connection: two connections with different options never share
//!   results, and a repeated query is a cache hit;
//! - errors are not cached;
//! - secrets never appear in errors or `Debug` output.

pub mod http;
pub mod logs;
use std::sync::Arc;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use async_trait::async_trait;
use dataconn_core::{
    Connection, Connections, ErrorKind, Params, QueryExt, Registry, Result, Secrets, Ttl,
};
use toml::{Table, Value};

/// How the suite drives one connector.
#[async_trait]
pub trait Harness: Send + Sync {
    /// A registry holding the connector under test.
    fn registry(&self) -> Registry;

    /// The connector's type, as registered.
    fn connection_type(&self) -> &'static str;

    /// Options of a working connection to a fresh data source of its own, distinct for each
    /// `label` (so two labels never see each other's data).
    async fn options(&self, label: &str) -> Table;

    /// Options whose connect fails, holding secret values; and those values.
    fn failing_options(&self) -> (Table, Vec<String>);

    /// Create `table` with columns `id` (integer) and `label` (text) holding `rows`.
    ///
    /// # Errors
    /// When the data source refuses.
    async fn seed(
        &self,
        conn: &Arc<dyn Connection>,
        table: &str,
        rows: &[(i64, &str)],
    ) -> Result<()>;

    /// The query selecting `id, label` from `table` where `id >= :min`, ordered by `id`.
    fn select_sql(&self, table: &str) -> String {
        format!("select id, label from {table} where id >= :min order by id")
    }
}

/// Run every check.
pub async fn run_all<H: Harness>(h: &H) {
    config_errors_are_clear(h).await;
    query_round_trips(h).await;
    reset_reconnects_and_close_closes(h).await;
    cache_identity_is_per_connection(h).await;
    errors_are_not_cached(h).await;
    secrets_never_leak(h).await;
}

/// A hub whose secrets file holds one `[connections.<name>]` section per entry.
///
/// # Panics
/// When the options do not serialise to TOML (a harness bug).
pub fn hub<H: Harness>(h: &H, sections: &[(&str, &Table)]) -> Connections {
    let mut connections = Table::new();
    for (name, options) in sections {
        let mut section = (*options).clone();
        section.insert("type".into(), Value::String(h.connection_type().into()));
        connections.insert((*name).to_owned(), Value::Table(section));
    }
    let mut root = Table::new();
    root.insert("connections".into(), Value::Table(connections));
    let text = toml::to_string(&root).expect("harness options serialise to TOML");
    let secrets = Secrets::from_toml("testkit/secrets.toml", &text).expect("harness secrets parse");
    Connections::builder()
        .registry(h.registry())
        .secrets(secrets)
        .build()
        .expect("a hub over in-memory secrets builds")
}

/// The table [`Harness::seed`] writes: `id` (Int64) and `label` (Utf8) holding `rows`, for
/// connectors whose seed is their own `write_table`.
///
/// # Errors
/// Never in practice (the two columns have the same length).
pub fn seed_table(rows: &[(i64, &str)]) -> Result<dataconn_core::Table> {
    let ids: arrow::array::ArrayRef = Arc::new(arrow::array::Int64Array::from(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
    ));
    let labels: arrow::array::ArrayRef = Arc::new(arrow::array::StringArray::from(
        rows.iter().map(|r| r.1).collect::<Vec<_>>(),
    ));
    dataconn_core::Table::from_columns([("id", ids), ("label", labels)])
}

/// One column of a table as text, as Arrow prints each value, NULLs as `None`: for comparing
/// results across drivers value by value.
///
/// # Panics
/// When the table has no such column, or it does not cast to text.
pub fn texts(table: &dataconn_core::Table, column: &str) -> Vec<Option<String>> {
    use arrow::array::Array;
    let column = table.column(column).expect("the column exists");
    let column =
        arrow::compute::cast(&column, &arrow::datatypes::DataType::Utf8).expect("casts to text");
    let column = column.as_string::<i32>();
    (0..column.len())
        .map(|i| column.is_valid(i).then(|| column.value(i).to_owned()))
        .collect()
}

fn ids(table: &dataconn_core::Table) -> Vec<i64> {
    let column = table.column("id").expect("the result has an `id` column");
    let column = arrow::compute::cast(&column, &arrow::datatypes::DataType::Int64)
        .expect("`id` casts to Int64");
    let ints = column.as_primitive::<Int64Type>();
    (0..ints.len()).map(|i| ints.value(i)).collect()
}

/// An unknown key fails the connect with a config error naming it, its origin, and the
/// closest known key.
pub async fn config_errors_are_clear<H: Harness>(h: &H) {
    let mut options = h.options("config").await;
    let first_key = options
        .keys()
        .next()
        .cloned()
        .expect("harness options are not empty");
    let typo = format!("{first_key}x");
    options.insert(typo.clone(), Value::Integer(1));
    options.insert("no_such_key_at_all".into(), Value::Boolean(true));
    let hub = hub(h, &[("typo_db", &options)]);
    let err = hub
        .connect("typo_db")
        .await
        .expect_err("unknown keys must fail the connect");
    assert_eq!(
        err.kind(),
        ErrorKind::Config,
        "unknown keys are a config error: {err}"
    );
    let msg = err.to_string();
    for needle in [
        format!("`{typo}`"),
        "`no_such_key_at_all`".to_owned(),
        format!("did you mean `{first_key}`?"),
        "testkit/secrets.toml:".to_owned(),
        "typo_db".to_owned(),
    ] {
        assert!(
            msg.contains(&needle),
            "the error should mention {needle}: {msg}"
        );
    }
}

/// Rows seeded into a table come back through `query` with a named parameter.
pub async fn query_round_trips<H: Harness>(h: &H) {
    let options = h.options("round_trip").await;
    let hub = hub(h, &[("rt", &options)]);
    let conn = hub
        .connect("rt")
        .await
        .expect("the harness options connect");
    let Some(q) = conn.as_query() else {
        println!(
            "testkit: {} has no query capability; query_round_trips skipped",
            h.connection_type()
        );
        return;
    };
    h.seed(
        &conn,
        "kit_round_trip",
        &[(1, "one"), (2, "two"), (3, "three")],
    )
    .await
    .expect("seeding works");
    let table = q
        .query(h.select_sql("kit_round_trip"))
        .param("min", 2)
        .await
        .expect("the select runs");
    assert_eq!(ids(&table), [2, 3]);
    let labels = table.column("label").expect("a `label` column");
    let labels = arrow::compute::cast(&labels, &arrow::datatypes::DataType::Utf8)
        .expect("label casts to text");
    let labels = labels.as_string::<i32>();
    assert_eq!((labels.value(0), labels.value(1)), ("two", "three"));

    let err = q
        .query(h.select_sql("kit_round_trip"))
        .await
        .expect_err("a missing parameter is an error");
    assert_eq!(err.kind(), ErrorKind::Parameter, "{err}");
    assert!(
        err.to_string().contains(":min"),
        "the error names the parameter: {err}"
    );
}

/// After `reset` the connection works again; after `close` it fails with `Closed`.
pub async fn reset_reconnects_and_close_closes<H: Harness>(h: &H) {
    let options = h.options("reset").await;
    let hub = hub(h, &[("reset_db", &options)]);
    let conn = hub
        .connect("reset_db")
        .await
        .expect("the harness options connect");
    conn.health_check()
        .await
        .expect("a fresh connection is healthy");
    conn.reset().await.expect("reset succeeds");
    conn.health_check()
        .await
        .expect("reset reconnects on next use");
    conn.close().await.expect("close succeeds");
    let err = conn
        .health_check()
        .await
        .expect_err("a closed connection fails");
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
}

/// Two connections with different options never share cached results; the same query on one
/// connection is a cache hit.
pub async fn cache_identity_is_per_connection<H: Harness>(h: &H) {
    let a = h.options("identity_a").await;
    let b = h.options("identity_b").await;
    let hub = hub(h, &[("a", &a), ("b", &b)]);
    let ca = hub.connect("a").await.expect("a connects");
    let cb = hub.connect("b").await.expect("b connects");
    let (Some(qa), Some(qb)) = (ca.as_query(), cb.as_query()) else {
        println!(
            "testkit: {} has no query capability; cache identity skipped",
            h.connection_type()
        );
        return;
    };
    h.seed(&ca, "kit_identity", &[(1, "a")])
        .await
        .expect("seed a");
    h.seed(&cb, "kit_identity", &[(2, "b"), (3, "b")])
        .await
        .expect("seed b");
    let sql = h.select_sql("kit_identity");
    let ra = qa.query(&sql).param("min", 0).await.expect("query a");
    let before = hub.cache().stats();
    let rb = qb.query(&sql).param("min", 0).await.expect("query b");
    assert_eq!(ids(&ra), [1], "connection a sees its own rows");
    assert_eq!(
        ids(&rb),
        [2, 3],
        "connection b must not get a's cached result"
    );
    assert_eq!(
        hub.cache().stats().misses,
        before.misses + 1,
        "b's first query runs"
    );

    let again = qa
        .query(&sql)
        .param("min", 0)
        .ttl(Ttl::Forever)
        .await
        .expect("query a again");
    assert_eq!(ids(&again), [1]);
    assert_eq!(
        hub.cache().stats().hits,
        before.hits + 1,
        "the repeated query is a cache hit"
    );

    let same = hub.connect("a").await.expect("a again");
    assert!(
        Arc::ptr_eq(&ca, &same),
        "the same name and config give the same shared connection"
    );
}

/// A failed query is not cached: once the cause is fixed, the same query succeeds.
pub async fn errors_are_not_cached<H: Harness>(h: &H) {
    let options = h.options("errors").await;
    let hub = hub(h, &[("errs", &options)]);
    let conn = hub
        .connect("errs")
        .await
        .expect("the harness options connect");
    let Some(q) = conn.as_query() else {
        println!(
            "testkit: {} has no query capability; errors_are_not_cached skipped",
            h.connection_type()
        );
        return;
    };
    let sql = h.select_sql("kit_later");
    let mut params = Params::new();
    params.insert("min", 0);
    q.query(&sql)
        .params(params.clone())
        .await
        .expect_err("the table does not exist yet");
    h.seed(&conn, "kit_later", &[(5, "five")])
        .await
        .expect("seed");
    let table = q
        .query(&sql)
        .params(params)
        .await
        .expect("the error was not cached");
    assert_eq!(ids(&table), [5]);
}

/// Secret values never appear in a failed connect's error or in `Debug` output.
pub async fn secrets_never_leak<H: Harness>(h: &H) {
    let (failing, secrets) = h.failing_options();
    assert!(
        !secrets.is_empty(),
        "failing_options must name the secret values it holds"
    );
    let hub = hub(h, &[("leaky", &failing)]);
    let err = hub
        .connect("leaky")
        .await
        .expect_err("failing options must fail");
    let shown = format!(
        "{err} || {err:?} || {:?}",
        std::error::Error::source(&err).map(ToString::to_string)
    );
    for secret in &secrets {
        assert!(
            !shown.contains(secret.as_str()),
            "a secret leaked into the error: {shown}"
        );
    }
    let config = hub
        .resolve("leaky", None, &Table::new())
        .expect("the section resolves");
    let debug = format!("{config:?} {:?}", hub.secrets());
    for secret in &secrets {
        assert!(
            !debug.contains(secret.as_str()),
            "a secret leaked into Debug: {debug}"
        );
    }
}
