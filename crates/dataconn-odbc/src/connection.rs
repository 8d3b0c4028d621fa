//! The ODBC connector, and [`OdbcConnection`]: its state and what every connection does.

use std::sync::Arc;

use async_trait::async_trait;
use dataconn_core::raw::{
    Base, BlockingPool, ConnectContext, ConnectionBase, Connector, Opened, TypedConnection,
};
use dataconn_core::{Connection, ConnectionConfig, Params, Query, Result, Table, Ttl};

use crate::config::Settings;
use crate::pool::{OdbcHandle, Pool};
use crate::query::Run;

/// Builds [`OdbcConnection`]s for `type = "odbc"`.
#[derive(Debug, Default, Clone, Copy)]
pub struct OdbcConnector;

#[async_trait]
impl Connector for OdbcConnector {
    fn connection_type(&self) -> &'static str {
        crate::TYPE
    }

    /// Streamlit's SQL Server URLs (`mssql+pyodbc://...`) and `dialect = "mssql"` sections
    /// come here.
    fn url_schemes(&self) -> &'static [&'static str] {
        &["mssql"]
    }

    async fn connect(&self, ctx: ConnectContext) -> Result<Arc<dyn Connection>> {
        let settings = Settings::from_config(&ctx.config)?;
        Ok(Arc::new(OdbcConnection::connect(&ctx, settings).await?))
    }
}

/// What a section's options build: its settings, and the pool once open. Replaced whole on
/// reconfigure.
pub(crate) type State = Opened<Settings, Pool>;

/// A pool of ODBC connections through one driver: cached Arrow queries, streams, writes,
/// sessions and `write_table`. Shared and thread-safe.
#[derive(Debug)]
pub struct OdbcConnection {
    pub(crate) base: ConnectionBase<State>,
}

/// Open the pool on a blocking thread (connecting blocks).
async fn open_pool(settings: Arc<Settings>) -> Result<Pool> {
    tokio::task::spawn_blocking(move || Pool::open(settings))
        .await
        .map_err(|e| dataconn_core::Error::internal(format!("connecting did not finish: {e}")))?
}

impl OdbcConnection {
    async fn connect(ctx: &ConnectContext, settings: Arc<Settings>) -> Result<OdbcConnection> {
        let conn = OdbcConnection {
            base: ConnectionBase::new(ctx, Opened::new(settings))
                .mask_with(crate::connection_string::masks, &ctx.config),
        };
        // Connect now, so that a bad driver, server or password fails here.
        conn.pool().await?;
        Ok(conn)
    }

    /// The pool, opened again after a [`Connection::reset`].
    ///
    /// # Errors
    /// [`dataconn_core::ErrorKind::Closed`] after [`Connection::close`]; the driver's error.
    pub(crate) async fn pool(&self) -> Result<Arc<Pool>> {
        self.base.opened(open_pool, Pool::close).await
    }

    /// The pool's connections and how statements run on them.
    pub(crate) async fn pool_and_run(&self) -> Result<(Arc<BlockingPool<OdbcHandle>>, Run)> {
        let pool = self.pool().await?;
        Ok((pool.connections.clone(), pool.run.clone()))
    }

    /// The database's name as its driver reports it (`PostgreSQL`, `Microsoft SQL Server`).
    ///
    /// # Errors
    /// A failed connect.
    pub async fn dbms_name(&self) -> Result<String> {
        Ok(self.pool().await?.run.dbms.clone())
    }

    /// Start a cached query: `.param(..)`, `.ttl(..)`, then `.await`.
    pub fn query(&self, sql: impl Into<String>) -> dataconn_core::QueryRequest<'_, Self> {
        dataconn_core::QueryExt::query(self, sql)
    }
}

impl TypedConnection for OdbcConnection {
    const TYPE: &'static str = crate::TYPE;
}

#[async_trait]
impl Connection for OdbcConnection {
    fn base(&self) -> &dyn Base {
        &self.base
    }

    /// A round trip: `SELECT 1`. A database that refuses that statement (Oracle wants
    /// `FROM dual`) but answers is healthy; a lost link is not.
    async fn health_check(&self) -> Result<()> {
        let (pool, run) = self.pool_and_run().await?;
        let probe = dataconn_core::raw::rewrite("SELECT 1", &Params::new(), run.dialect)?;
        pool.run(
            move |conn| match crate::query::read_table(conn, &probe, &run, Some(1)) {
                Err(e) if e.kind() == dataconn_core::ErrorKind::Query && !e.is_temporary() => {
                    Ok(())
                }
                other => other.map(|_| ()),
            },
        )
        .await
        .map_err(|e| self.base.masked(e))
    }

    async fn reset(&self) -> Result<()> {
        if let Some(pool) = self.base.take_opened() {
            pool.close();
        }
        Ok(())
    }

    async fn reconfigure(&self, config: ConnectionConfig) -> Result<()> {
        let settings = Settings::from_config(&config)?;
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
impl Query for OdbcConnection {
    async fn fetch(&self, sql: &str, params: &Params) -> Result<Table> {
        crate::query::fetch(self, sql, params, None)
            .await
            .map_err(|e| self.base.masked(e))
    }

    async fn fetch_head(&self, sql: &str, params: &Params, limit: usize) -> Result<Table> {
        crate::query::fetch(self, sql, params, Some(limit))
            .await
            .map_err(|e| self.base.masked(e))
    }

    fn default_ttl(&self) -> Ttl {
        self.base.settings().ttl
    }
}
