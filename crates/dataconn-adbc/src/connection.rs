//! The ADBC and DuckDB connectors, and [`AdbcConnection`]: its state and what every connection
//! does.

use std::sync::Arc;

use async_trait::async_trait;
use dataconn_core::raw::{
    Base, ConnectContext, ConnectionBase, Connector, Opened, TypedConnection,
};
use dataconn_core::{Connection, ConnectionConfig, Params, Query, Result, Table, Ttl};

use crate::config::Settings;
use crate::pool::Pool;

/// Builds [`AdbcConnection`]s for `type = "adbc"`.
#[derive(Debug, Default, Clone, Copy)]
pub struct AdbcConnector;

#[async_trait]
impl Connector for AdbcConnector {
    fn connection_type(&self) -> &'static str {
        crate::TYPE
    }

    async fn connect(&self, ctx: ConnectContext) -> Result<Arc<dyn Connection>> {
        let settings = Settings::adbc(&ctx.config)?;
        Ok(Arc::new(AdbcConnection::connect(&ctx, settings).await?))
    }
}

/// Builds [`DuckDbConnection`]s for `type = "duckdb"`.
#[derive(Debug, Default, Clone, Copy)]
pub struct DuckDbConnector;

#[async_trait]
impl Connector for DuckDbConnector {
    fn connection_type(&self) -> &'static str {
        crate::DUCKDB_TYPE
    }

    fn url_schemes(&self) -> &'static [&'static str] {
        &["duckdb"]
    }

    async fn connect(&self, ctx: ConnectContext) -> Result<Arc<dyn Connection>> {
        let settings = crate::duckdb::settings(&ctx.config)?;
        let inner = AdbcConnection::connect(&ctx, settings).await?;
        Ok(Arc::new(DuckDbConnection(inner)))
    }
}

/// What a section's options build: its settings, and the pool once open. Replaced whole on
/// reconfigure.
pub(crate) type State = Opened<Settings, Pool>;

/// A pool of connections through an ADBC driver: cached Arrow queries, streams, writes,
/// sessions and bulk ingest. Shared and thread-safe.
#[derive(Debug)]
pub struct AdbcConnection {
    pub(crate) base: ConnectionBase<State>,
}

/// Open the pool on a blocking thread (loading a driver and connecting block).
async fn open_pool(settings: Arc<Settings>) -> Result<Pool> {
    tokio::task::spawn_blocking(move || crate::pool::open(&settings))
        .await
        .map_err(|e| dataconn_core::Error::internal(format!("opening the driver failed: {e}")))?
}

impl AdbcConnection {
    async fn connect(ctx: &ConnectContext, settings: Arc<Settings>) -> Result<AdbcConnection> {
        let conn = AdbcConnection {
            base: ConnectionBase::new(ctx, Opened::new(settings))
                .mask_with(crate::config::masks, &ctx.config),
        };
        // Connect now, so that a bad driver, URI or password fails here.
        conn.pool().await?;
        Ok(conn)
    }

    pub(crate) fn settings(&self) -> Arc<Settings> {
        self.base.settings()
    }

    /// The pool, opened again after a [`Connection::reset`].
    ///
    /// # Errors
    /// [`dataconn_core::ErrorKind::Closed`] after [`Connection::close`]; the driver's error.
    pub(crate) async fn pool(&self) -> Result<Arc<Pool>> {
        self.base.opened(open_pool, Pool::close).await
    }

    /// Start a cached query: `.param(..)`, `.ttl(..)`, then `.await`.
    pub fn query(&self, sql: impl Into<String>) -> dataconn_core::QueryRequest<'_, Self> {
        dataconn_core::QueryExt::query(self, sql)
    }
}

impl TypedConnection for AdbcConnection {
    const TYPE: &'static str = crate::TYPE;
}

#[async_trait]
impl Connection for AdbcConnection {
    fn base(&self) -> &dyn Base {
        &self.base
    }

    async fn health_check(&self) -> Result<()> {
        self.fetch("select 1", &Params::new()).await.map(|_| ())
    }

    async fn reset(&self) -> Result<()> {
        if let Some(pool) = self.base.take_opened() {
            pool.close();
        }
        Ok(())
    }

    async fn reconfigure(&self, config: ConnectionConfig) -> Result<()> {
        let settings = match config.connection_type() {
            crate::DUCKDB_TYPE => crate::duckdb::settings(&config)?,
            _ => Settings::adbc(&config)?,
        };
        let old = self.base.reconfigure(&config, Opened::new(settings));
        if let Some(pool) = old.into_opened() {
            pool.close();
        }
        self.pool().await.map(|_| ())
    }

    async fn close(&self) -> Result<()> {
        self.base.close();
        self.reset().await
    }

    fn as_query(&self) -> Option<&dyn Query> {
        Some(self)
    }
}

#[async_trait]
impl Query for AdbcConnection {
    async fn fetch(&self, sql: &str, params: &Params) -> Result<Table> {
        crate::query::fetch(self, sql, params)
            .await
            .map_err(|e| self.base.masked(e))
    }

    async fn fetch_head(&self, sql: &str, params: &Params, limit: usize) -> Result<Table> {
        crate::query::fetch_head(self, sql, params, limit)
            .await
            .map_err(|e| self.base.masked(e))
    }

    fn default_ttl(&self) -> Ttl {
        self.base.settings().ttl
    }
}

/// An embedded DuckDB database (`type = "duckdb"`): an [`AdbcConnection`] on DuckDB's own ADBC
/// entry point, with every call of one.
#[derive(Debug)]
pub struct DuckDbConnection(AdbcConnection);

impl std::ops::Deref for DuckDbConnection {
    type Target = AdbcConnection;

    fn deref(&self) -> &AdbcConnection {
        &self.0
    }
}

impl TypedConnection for DuckDbConnection {
    const TYPE: &'static str = crate::DUCKDB_TYPE;
}

#[async_trait]
impl Connection for DuckDbConnection {
    fn base(&self) -> &dyn Base {
        &self.0.base
    }

    async fn health_check(&self) -> Result<()> {
        self.0.health_check().await
    }

    async fn reset(&self) -> Result<()> {
        self.0.reset().await
    }

    async fn reconfigure(&self, config: ConnectionConfig) -> Result<()> {
        self.0.reconfigure(config).await
    }

    async fn close(&self) -> Result<()> {
        self.0.close().await
    }

    fn as_query(&self) -> Option<&dyn Query> {
        Some(self)
    }
}

#[async_trait]
impl Query for DuckDbConnection {
    async fn fetch(&self, sql: &str, params: &Params) -> Result<Table> {
        self.0.fetch(sql, params).await
    }

    async fn fetch_head(&self, sql: &str, params: &Params, limit: usize) -> Result<Table> {
        self.0.fetch_head(sql, params, limit).await
    }

    fn default_ttl(&self) -> Ttl {
        self.0.default_ttl()
    }
}
