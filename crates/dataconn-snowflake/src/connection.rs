//! Building a [`SnowflakeConnection`].

use std::sync::Arc;
use std::time::Duration;

use arrow::array::RecordBatch;
use async_trait::async_trait;
use dataconn_core::raw::{Base, ConnectContext, ConnectionBase, Connector, Dialect, rewrite};
use dataconn_core::{
    Connection, ConnectionConfig, Error, ErrorKind, Params, Query, Result, Table, Ttl,
    TypedConnection,
};

use futures::stream::{BoxStream, StreamExt};

use crate::client::Client;
use crate::config::SnowflakeConfig;

/// Builds [`SnowflakeConnection`]s; registered under [`crate::TYPE`].
#[derive(Debug, Default, Clone, Copy)]
pub struct SnowflakeConnector;

#[async_trait]
impl Connector for SnowflakeConnector {
    fn connection_type(&self) -> &'static str {
        crate::TYPE
    }

    fn url_schemes(&self) -> &'static [&'static str] {
        &["snowflake"]
    }

    fn fallback_options(&self, name: &str) -> Result<Option<(toml::Table, String)>> {
        crate::connections_toml::entry(name)
    }

    fn fallback_searched(&self, name: &str) -> Vec<String> {
        crate::connections_toml::searched(name)
    }

    async fn connect(&self, ctx: ConnectContext) -> Result<Arc<dyn Connection>> {
        Ok(Arc::new(SnowflakeConnection::connect(ctx).await?))
    }
}

/// A validated duration option, or `default` when it is not given.
fn duration(value: Option<&toml::Value>, default: Option<Duration>) -> Option<Duration> {
    value.and_then(crate::config::positive_duration).or(default)
}

/// What a section's options build; replaced whole on reconfigure.
pub(crate) struct State {
    client: Arc<Client>,
    ttl: Ttl,
    query_timeout: Duration,
}

/// A Snowflake session: cached Arrow queries, writes, named parameters as typed bindings.
#[derive(Debug)]
pub struct SnowflakeConnection {
    pub(crate) base: ConnectionBase<State>,
}

/// `network_timeout` when not given: a query (with its polls) may take an hour.
pub(crate) const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(3600);
/// `request_timeout` when not given.
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// `login_timeout` when not given.
pub(crate) const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(60);
/// `max_response_bytes` when not given: 1 GiB.
pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1 << 30;

fn build(config: &ConnectionConfig) -> Result<(Client, Ttl, Duration)> {
    let parsed: SnowflakeConfig = config.parse()?;
    // Checked by `validate`.
    let ttl = parsed
        .ttl
        .as_ref()
        .and_then(crate::config::ttl)
        .unwrap_or(Ttl::Forever);
    let or = |value: Option<&toml::Value>, default: Duration| {
        duration(value, Some(default)).unwrap_or(default)
    };
    let limits = crate::client::Limits {
        login_timeout: or(parsed.login_timeout.as_ref(), DEFAULT_LOGIN_TIMEOUT),
        request_timeout: or(parsed.request_timeout.as_ref(), DEFAULT_REQUEST_TIMEOUT),
        max_response_bytes: parsed
            .max_response_bytes
            .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
    };
    let query_timeout = or(parsed.network_timeout.as_ref(), DEFAULT_QUERY_TIMEOUT);
    let heartbeat = match parsed.client_session_keep_alive {
        Some(true) => duration(
            parsed
                .client_session_keep_alive_heartbeat_frequency
                .as_ref(),
            Some(Duration::from_secs(3600)),
        ),
        _ => None,
    };
    let client = Client::new(parsed, limits, heartbeat)?;
    Ok((client, ttl, query_timeout))
}

impl SnowflakeConnection {
    async fn connect(ctx: ConnectContext) -> Result<SnowflakeConnection> {
        let (client, ttl, query_timeout) = build(&ctx.config)?;
        let conn = SnowflakeConnection {
            base: ConnectionBase::new(
                &ctx,
                State {
                    client: client.start(),
                    ttl,
                    query_timeout,
                },
            ),
        };
        // Log in now, so that bad credentials fail here.
        conn.client()?
            .session()
            .await
            .map_err(|e| conn.base.masked(e))?;
        Ok(conn)
    }

    pub(crate) fn client(&self) -> Result<Arc<Client>> {
        self.base.check_open()?;
        Ok(self.base.state().client.clone())
    }

    pub(crate) async fn run(&self, sql: &str, params: &Params) -> Result<crate::client::QueryData> {
        let rewritten = rewrite(sql, params, Dialect::Snowflake)?;
        let bindings = crate::bind::bindings(&rewritten.values, &rewritten.names)?;
        self.run_bound(&rewritten.sql, bindings).await
    }

    /// Run SQL with Snowflake bindings already made, within the query timeout.
    pub(crate) async fn run_bound(
        &self,
        sql: &str,
        bindings: serde_json::Value,
    ) -> Result<crate::client::QueryData> {
        let client = self.client()?;
        self.within(
            client.query(sql, bindings),
            "the statement (sent, then polled while Snowflake runs it)",
        )
        .await
    }

    /// `work` bounded by `network_timeout`; past it, `work` is dropped, which sends an
    /// `abort-request` for a statement still running.
    async fn within<T>(
        &self,
        work: impl std::future::Future<Output = Result<T>>,
        what: &str,
    ) -> Result<T> {
        let timeout = self.base.state().query_timeout;
        tokio::time::timeout(timeout, work).await.map_err(|_| {
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "expected {what} to finish within {timeout:?} (`network_timeout`), found it \
                     still running; it was cancelled"
                ),
            )
            .set_temporary(false)
        })?
    }

    /// Run a statement that changes data; returns the rows affected and drops cached reads.
    ///
    /// # Errors
    /// Parameter errors before anything runs; Snowflake's error with its code, SQLSTATE and
    /// query id.
    pub async fn execute(&self, sql: &str, params: Params) -> Result<u64> {
        let result = self.run(sql, &params).await;
        self.base.cache().invalidate().await;
        let data = result.map_err(|e| self.base.masked(e))?;
        self.affected(data).await
    }

    /// The rows a statement changed: DML answers one row of counts ("number of rows
    /// inserted", ...), DDL a status text (0).
    pub(crate) async fn affected(&self, data: crate::client::QueryData) -> Result<u64> {
        let dml = data
            .statement_type_id
            .is_some_and(|t| (12_288..16_384).contains(&t));
        let table = self
            .client()?
            .table(data)
            .await
            .map_err(|e| self.base.masked(e))?;
        let mut affected = 0u64;
        if dml && let Some(batch) = table.batches().first() {
            for column in batch.columns() {
                if let Ok(n) = arrow::compute::cast(column, &arrow::datatypes::DataType::UInt64) {
                    let n = arrow::array::AsArray::as_primitive::<arrow::datatypes::UInt64Type>(&n);
                    // Counts from the server: saturate rather than overflow on forged ones.
                    let sum = n.iter().flatten().fold(0u64, u64::saturating_add);
                    affected = affected.saturating_add(sum);
                }
            }
        }
        Ok(affected)
    }

    /// Stream a query's result as record batches as its chunks arrive, without holding the
    /// whole result (uncached). Chunks download in parallel, a few at a time, in order.
    ///
    /// # Errors
    /// Parameter errors and Snowflake's error for the statement at once; a failed chunk
    /// download as the stream's item.
    pub async fn query_stream(
        &self,
        sql: &str,
        params: Params,
    ) -> Result<BoxStream<'static, Result<RecordBatch>>> {
        let data = self
            .run(sql, &params)
            .await
            .map_err(|e| self.base.masked(e))?;
        let fail = self.base.masker();
        let parts = self.client()?.parts(data);
        Ok(parts
            .map(move |part| match part {
                Ok(table) => futures::stream::iter(table.batches().to_vec().into_iter().map(Ok))
                    .left_stream(),
                Err(e) => {
                    futures::stream::once(futures::future::ready(Err(fail(e)))).right_stream()
                }
            })
            .flatten()
            .boxed())
    }

    /// Raw access to the driver protocol for what this connection does not wrap: POST `body`
    /// to `path` on the server (e.g. `/queries/v1/query-request?requestId=...`) with this
    /// session's token, retried like every request; returns the reply's `data`. The token
    /// never leaves the configured server.
    ///
    /// # Errors
    /// A path not starting with `/`; Snowflake's error (`success: false`) with its code.
    pub async fn raw_post(&self, path: &str, body: serde_json::Value) -> Result<serde_json::Value> {
        self.client()?
            .raw_post(path, &body)
            .await
            .map_err(|e| self.base.masked(e))
    }

    /// The query id of the last statement this connection ran (for Snowflake's query history);
    /// a cached result runs nothing.
    pub fn last_query_id(&self) -> Option<String> {
        self.base.state().client.last_query_id()
    }

    /// Start a cached query: `.param(..)`, `.ttl(..)`, then `.await`.
    pub fn query(&self, sql: impl Into<String>) -> dataconn_core::QueryRequest<'_, Self> {
        dataconn_core::QueryExt::query(self, sql)
    }
}

impl TypedConnection for SnowflakeConnection {
    const TYPE: &'static str = crate::TYPE;
}

#[async_trait]
impl Connection for SnowflakeConnection {
    fn base(&self) -> &dyn Base {
        &self.base
    }

    async fn health_check(&self) -> Result<()> {
        self.fetch("select 1", &Params::new()).await.map(|_| ())
    }

    async fn reset(&self) -> Result<()> {
        let client = self.client()?;
        client.logout().await;
        Ok(())
    }

    async fn reconfigure(&self, config: ConnectionConfig) -> Result<()> {
        let (client, ttl, query_timeout) = build(&config)?;
        let state = State {
            client: client.start(),
            ttl,
            query_timeout,
        };
        let old = self.base.reconfigure(&config, state);
        old.client.close().await;
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        self.base.close();
        let client = self.base.state().client.clone();
        client.close().await;
        Ok(())
    }

    fn as_query(&self) -> Option<&dyn Query> {
        Some(self)
    }
}

#[async_trait]
impl Query for SnowflakeConnection {
    async fn fetch(&self, sql: &str, params: &Params) -> Result<Table> {
        let data = self
            .run(sql, params)
            .await
            .map_err(|e| self.base.masked(e))?;
        tracing::debug!(query_id = ?data.query_id, "snowflake query finished");
        // The result's chunks are downloaded within the same `network_timeout`.
        let client = self.client()?;
        self.within(client.table(data), "the download of the result's chunks")
            .await
            .map_err(|e| self.base.masked(e))
    }

    fn default_ttl(&self) -> Ttl {
        self.base.state().ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> ConnectionConfig {
        let options: toml::Table = toml::from_str(&format!(
            "account = \"acme\"\nuser = \"u\"\npassword = \"pw-secret-1\"\n{extra}"
        ))
        .unwrap();
        ConnectionConfig::new("sf", crate::TYPE, options)
    }

    #[test]
    fn every_network_call_is_bounded_by_default() {
        let (client, _, query_timeout) = build(&config("")).unwrap();
        assert_eq!(query_timeout, DEFAULT_QUERY_TIMEOUT, "network_timeout");
        let shown = format!("{client:?}");
        assert!(
            shown.contains("request_timeout: 300s")
                && shown.contains("login_timeout: 60s")
                && shown.contains("max_response_bytes: 1073741824"),
            "{shown}"
        );
        let (_, _, query_timeout) = build(&config("network_timeout = \"1m\"")).unwrap();
        assert_eq!(query_timeout, Duration::from_secs(60));
    }

    #[test]
    fn hosts_that_would_redirect_requests_and_zero_limits_are_config_errors() {
        for (extra, key) in [
            ("host = \"evil.example/x?\"", "`host`"),
            ("host = \"user@evil.example\"", "`host`"),
            ("host = \"a b\"", "`host`"),
            ("max_response_bytes = 0", "`max_response_bytes`"),
            ("request_timeout = \"never\"", "`request_timeout`"),
        ] {
            let err = build(&config(extra)).expect_err(extra);
            assert_eq!(err.kind(), ErrorKind::Config, "{extra}: {err}");
            assert!(err.to_string().contains(key), "{extra}: {err}");
        }
        let err = build(&config("")).map(|_| ());
        assert!(err.is_ok(), "a plain account makes a host: {err:?}");
        let odd: toml::Table =
            toml::from_str("account = \"acme/x#\"\nuser = \"u\"\npassword = \"pw-secret-1\"")
                .unwrap();
        let err = build(&ConnectionConfig::new("sf", crate::TYPE, odd))
            .expect_err("an account that is no host name");
        assert!(err.to_string().contains("`account`"), "{err}");
    }
}
