//! The traits every connector implements: [`Connector`] builds, [`Connection`] is built.
//!
//! [`Connection`] is the small required core: a name, a type, a health check, reset and close.
//! Connectors that answer SQL also implement [`Query`] (one required method: run SQL with
//! bound parameters and return a [`Table`]); every such connection then gets the cached,
//! traced [`QueryExt::query`] for free, and generic code (the CLI, the testkit) reaches it from
//! an `Arc<dyn Connection>` through [`Connection::as_query`].

use std::any::Any;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::base::Base;
use crate::cache::{CacheScope, hex};
use crate::config::{ConnectionConfig, Options};
use crate::error::{Error, ErrorKind, Result};
use crate::params::{Params, Value};
use crate::table::Table;
use crate::ttl::{IntoTtl, Ttl};

/// A live connection to one data source. Shared (`Arc`) and safe to use from many tasks.
///
/// A connector implements one method, [`Connection::base`], returning the
/// [`ConnectionBase`](crate::raw::ConnectionBase) its connection holds; the rest come from the
/// base and are overridden where the source does more (a health check that asks the server, a
/// reset that drops a pool).
#[async_trait]
pub trait Connection: Any + Send + Sync + fmt::Debug {
    /// The parts every connection has: name, type, cache scope, secret masks, closed flag.
    fn base(&self) -> &dyn Base;

    /// The connection's name (its secrets section).
    fn name(&self) -> &str {
        self.base().name()
    }

    /// The connector type, such as `"sql"`.
    fn connection_type(&self) -> &str {
        self.base().connection_type()
    }

    /// Check that the data source answers. The default checks only that the connection is
    /// open.
    ///
    /// # Errors
    /// Why it does not; [`ErrorKind::Closed`] after [`Connection::close`].
    async fn health_check(&self) -> Result<()> {
        self.base().check_open()
    }

    /// Drop the underlying client; the next use connects again. The default checks only that
    /// the connection is open.
    ///
    /// # Errors
    /// When reconnecting eagerly fails; [`ErrorKind::Closed`] after [`Connection::close`].
    async fn reset(&self) -> Result<()> {
        self.base().check_open()
    }

    /// Take new options (after the secrets changed) and reconnect with them.
    ///
    /// The default says the connector cannot; the hub then replaces the connection instead.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] by default; a connect error when the new options fail.
    async fn reconfigure(&self, _config: ConnectionConfig) -> Result<()> {
        Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "the {} connector cannot be reconfigured in place",
                self.connection_type()
            ),
        ))
    }

    /// Close the connection; later calls fail with [`ErrorKind::Closed`]. The default marks
    /// the base closed; a connector that holds a pool or a session closes it too.
    ///
    /// # Errors
    /// When closing the underlying client fails.
    async fn close(&self) -> Result<()> {
        self.base().close();
        Ok(())
    }

    /// Drop this connection's cached results.
    fn clear_cache(&self) {
        self.base().cache().invalidate_in_background();
    }

    /// The query capability, for connectors that answer SQL.
    fn as_query(&self) -> Option<&dyn Query> {
        None
    }

    /// The read capability, for connectors that read tables by path (files, sheets).
    fn as_read(&self) -> Option<&dyn ReadTable> {
        None
    }
}

/// The read capability: a table by path (a file, a glob, a worksheet), cached by the connector.
#[async_trait]
pub trait ReadTable: Connection {
    /// Read the table at `path`; `format` overrides what the connector infers (`csv`,
    /// `parquet`...).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for a missing path; the connector's own errors otherwise.
    async fn read_table(&self, path: &str, format: Option<&str>) -> Result<Table>;
}

/// A connection type with a fixed connector type name, reachable by
/// `connection::<MyConnection>("name")`.
pub trait TypedConnection: Connection {
    /// The connector type this connection belongs to.
    const TYPE: &'static str;
}

/// Turn a shared `dyn Connection` into its concrete type.
///
/// # Errors
/// [`ErrorKind::Config`] naming both types when the connection is not a `T`.
pub fn downcast<T: Connection>(conn: Arc<dyn Connection>) -> Result<Arc<T>> {
    let name = conn.name().to_owned();
    let ty = conn.connection_type().to_owned();
    let any: Arc<dyn Any + Send + Sync> = conn;
    any.downcast::<T>().map_err(|_| {
        Error::config(format!(
            "expected a {}, found a connection of type `{ty}`",
            std::any::type_name::<T>()
        ))
        .with_connection(name, ty)
    })
}

/// What a connector needs to build a connection.
#[derive(Debug, Clone)]
pub struct ConnectContext {
    /// The merged options and their origins.
    pub config: ConnectionConfig,
    /// The connection's view of the shared query cache.
    pub cache: CacheScope,
}

/// Builds connections of one type; registered in a [`crate::Registry`].
#[async_trait]
pub trait Connector: Send + Sync + 'static {
    /// The type name, such as `"sql"`.
    fn connection_type(&self) -> &'static str;

    /// Other names for the type, such as `"sqlalchemy"`.
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }

    /// URL schemes whose `url` implies this type, such as `"sqlite"`.
    fn url_schemes(&self) -> &'static [&'static str] {
        &[]
    }

    /// Options for `name` from the connector's own configuration files, used when the secrets
    /// have no `[connections.<name>]` section (Snowflake's `connections.toml`, for example).
    /// Returns the options and where they came from, for messages.
    ///
    /// # Errors
    /// When such a file exists but cannot be read or parsed.
    fn fallback_options(&self, _name: &str) -> Result<Option<(Options, String)>> {
        Ok(None)
    }

    /// Where [`Connector::fallback_options`] looks for `name`, named in the error when the
    /// connection is found nowhere.
    fn fallback_searched(&self, _name: &str) -> Vec<String> {
        Vec::new()
    }

    /// Parse the options and connect eagerly, so that bad config fails here.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for bad options, [`ErrorKind::Connect`] when the source does not
    /// answer. Secrets never appear in the error.
    async fn connect(&self, ctx: ConnectContext) -> Result<Arc<dyn Connection>>;
}

/// A [`Connector`] made of a type name and a connect function, for connectors with no
/// aliases, URL schemes or fallback files: `registry.register(connector("mine", connect))`.
pub fn connector<F, Fut>(connection_type: &'static str, connect: F) -> Arc<dyn Connector>
where
    F: Fn(ConnectContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Arc<dyn Connection>>> + Send + 'static,
{
    Arc::new(FnConnector {
        connection_type,
        connect,
    })
}

struct FnConnector<F> {
    connection_type: &'static str,
    connect: F,
}

#[async_trait]
impl<F, Fut> Connector for FnConnector<F>
where
    F: Fn(ConnectContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Arc<dyn Connection>>> + Send + 'static,
{
    fn connection_type(&self) -> &'static str {
        self.connection_type
    }

    async fn connect(&self, ctx: ConnectContext) -> Result<Arc<dyn Connection>> {
        (self.connect)(ctx).await
    }
}

/// The SQL capability: run SQL with bound named parameters, get an Arrow [`Table`].
#[async_trait]
pub trait Query: Connection {
    /// Run `sql` with `params` against the source, uncached.
    ///
    /// # Errors
    /// [`ErrorKind::Parameter`] when the parameters do not match the SQL, else the source's
    /// error as [`ErrorKind::Query`].
    async fn fetch(&self, sql: &str, params: &Params) -> Result<Table>;

    /// Run `sql` with `params` and keep only its first `limit` rows, uncached, stopping the
    /// source early where the connector can (a stream dropped after `limit` rows). The default
    /// runs [`Query::fetch`] and keeps the head.
    ///
    /// # Errors
    /// As [`Query::fetch`].
    async fn fetch_head(&self, sql: &str, params: &Params, limit: usize) -> Result<Table> {
        Ok(self.fetch(sql, params).await?.head(limit))
    }

    /// The cache scope of this connection (a cheap handle); the base's by default.
    fn cache_scope(&self) -> CacheScope {
        self.base().cache()
    }

    /// The TTL used when a query gives none.
    fn default_ttl(&self) -> Ttl {
        Ttl::Forever
    }

    /// Bytes naming the version of the data `sql` reads (the ETags of the files it scans, for
    /// example), asked before the cache on every query and made part of its key: when the data
    /// changes, the key changes and the cached result is never served. The default is empty:
    /// the TTL alone decides.
    ///
    /// # Errors
    /// As [`Query::fetch`]: a missing source or bad parameters fail here, before the cache.
    async fn data_version(&self, _sql: &str, _params: &Params) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }
}

/// The cached, traced `query` builder for every [`Query`] connection. Do not implement this;
/// it comes with `Query`.
pub trait QueryExt: Query {
    /// Start a query; add `.param(..)`, `.params(..)`, `.ttl(..)`, then `.await` it.
    fn query(&self, sql: impl Into<String>) -> QueryRequest<'_, Self> {
        QueryRequest {
            conn: self,
            sql: sql.into(),
            params: Params::new(),
            ttl: None,
            limit: None,
        }
    }
}

impl<T: Query + ?Sized> QueryExt for T {}

/// A query being built; `.await` runs it through the cache.
#[must_use = "a query does nothing until it is awaited"]
pub struct QueryRequest<'a, C: ?Sized> {
    conn: &'a C,
    sql: String,
    params: Params,
    ttl: Option<Result<Ttl>>,
    limit: Option<usize>,
}

impl<C: ?Sized> fmt::Debug for QueryRequest<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryRequest")
            .field("sql", &sql_fingerprint(&self.sql))
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl<'a, C: Query + ?Sized> QueryRequest<'a, C> {
    /// Bind one named parameter.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.params.insert(name, value);
        self
    }

    /// Bind named parameters (replacing those with the same names).
    pub fn params(mut self, params: Params) -> Self {
        for (name, value) in params.iter() {
            self.params.insert(name, value.clone());
        }
        self
    }

    /// How long the result may be served from the cache: `"10m"`, a `Duration`, seconds,
    /// `Ttl::Forever`, or `0` for no caching.
    pub fn ttl(mut self, ttl: impl IntoTtl) -> Self {
        self.ttl = Some(ttl.into_ttl());
        self
    }

    /// Keep only the first `rows` rows; the source stops early where it can
    /// ([`Query::fetch_head`]). The limit is part of the cache key.
    pub fn limit(mut self, rows: usize) -> Self {
        self.limit = Some(rows);
        self
    }

    async fn run(self) -> Result<Table> {
        let conn = self.conn;
        let ttl = match self.ttl {
            Some(ttl) => ttl.map_err(|e| e.with_connection(conn.name(), conn.connection_type()))?,
            None => conn.default_ttl(),
        };
        let span = tracing::info_span!(
            "dataconn.query",
            connection = conn.name(),
            r#type = conn.connection_type(),
            sql = %sql_fingerprint(&self.sql),
            rows = tracing::field::Empty,
            bytes = tracing::field::Empty,
            cache = tracing::field::Empty,
            retries = tracing::field::Empty,
            duration_us = tracing::field::Empty,
        );
        async move {
            let started = Instant::now();
            // A closed connection answers nothing, not even from the cache.
            conn.base().check_open()?;
            let scope = conn.cache_scope();
            let version = conn.data_version(&self.sql, &self.params).await?;
            let result = match self.limit {
                None => {
                    let key = scope.key("query", &self.sql, &self.params, &version);
                    scope
                        .get_or_load(key, ttl, || conn.fetch(&self.sql, &self.params))
                        .await
                }
                Some(limit) => {
                    let mut args = version;
                    args.extend_from_slice(&(limit as u64).to_le_bytes());
                    let key = scope.key("query_head", &self.sql, &self.params, &args);
                    scope
                        .get_or_load(key, ttl, || conn.fetch_head(&self.sql, &self.params, limit))
                        .await
                }
            };
            let span = tracing::Span::current();
            span.record("duration_us", started.elapsed().as_micros() as u64);
            if let Ok(table) = &result {
                span.record("rows", table.num_rows());
                span.record("bytes", table.byte_size());
            }
            result
        }
        .instrument(span)
        .await
    }
}

impl<'a, C: Query + ?Sized> IntoFuture for QueryRequest<'a, C> {
    type Output = Result<Table>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Table>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// A short digest of a SQL text, safe to log (it never reveals literals).
pub fn sql_fingerprint(sql: &str) -> String {
    hex(&Sha256::digest(sql.as_bytes())[..8])
}
