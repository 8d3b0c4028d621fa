//! Building a [`SqlConnection`]: the connector, the connection and its driver.

use std::sync::Arc;

use async_trait::async_trait;
use dataconn_core::raw::{Base, ConnectContext, ConnectionBase, Connector};
use dataconn_core::{
    Connection, ConnectionConfig, Error, ErrorKind, Query, Result, TypedConnection,
};

use crate::driver::{Driver, Pool};
use crate::settings::Settings;

/// Builds [`SqlConnection`]s; registered under [`crate::TYPE`].
#[derive(Debug, Default, Clone, Copy)]
pub struct SqlConnector;

#[async_trait]
impl Connector for SqlConnector {
    fn connection_type(&self) -> &'static str {
        crate::TYPE
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["sqlalchemy"]
    }

    fn url_schemes(&self) -> &'static [&'static str] {
        &["sqlite", "postgres", "postgresql", "mysql", "mariadb"]
    }

    async fn connect(&self, ctx: ConnectContext) -> Result<Arc<dyn Connection>> {
        let conn = SqlConnection::connect(ctx).await?;
        Ok(Arc::new(conn))
    }
}

/// What a section's options build: its settings, and the driver once its pool is open.
/// Replaced whole on reconfigure.
pub(crate) struct State {
    settings: Arc<Settings>,
    driver: Option<Arc<dyn Driver>>,
}

impl State {
    fn new(settings: Arc<Settings>) -> State {
        State {
            settings,
            driver: None,
        }
    }
}

/// A pooled SQL connection: cached Arrow queries, writes, sessions. Shared and thread-safe.
///
/// Get one by name with `dataconn::connection::<SqlConnection>("name")`.
pub struct SqlConnection {
    pub(crate) base: ConnectionBase<State>,
}

impl std::fmt::Debug for SqlConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.base.state();
        f.debug_struct("SqlConnection")
            .field("name", &self.base.name())
            .field("dialect", &state.settings.address.dialect_name())
            .field("connected", &state.driver.is_some())
            .field("closed", &self.base.is_closed())
            .finish()
    }
}

impl SqlConnection {
    async fn connect(ctx: ConnectContext) -> Result<SqlConnection> {
        let settings = Arc::new(Settings::from_config(&ctx.config)?);
        let conn = SqlConnection {
            base: ConnectionBase::new(&ctx, State::new(settings.clone())),
        };
        let driver = crate::drivers::open(&settings).await.map_err(|e| {
            // A URL the driver cannot read is named with the file and line it came from.
            let e = match e.kind() {
                ErrorKind::Config if ctx.config.get("url").is_some() => {
                    e.with_context("url", ctx.config.origin("url"))
                }
                _ => e,
            };
            conn.base.masked(e)
        })?;
        conn.base.state_mut().driver = Some(driver);
        Ok(conn)
    }

    pub(crate) fn settings(&self) -> Arc<Settings> {
        self.base.state().settings.clone()
    }

    /// The driver, opening its pool again (with retries) after a [`Connection::reset`].
    ///
    /// # Errors
    /// [`ErrorKind::Closed`] after [`Connection::close`]; the connect error otherwise.
    pub(crate) async fn driver(&self) -> Result<Arc<dyn Driver>> {
        self.base.check_open()?;
        loop {
            let settings = {
                let state = self.base.state();
                if let Some(driver) = &state.driver {
                    return Ok(driver.clone());
                }
                state.settings.clone()
            };
            let driver = settings
                .retry
                .run(|| crate::drivers::open(&settings), Error::is_temporary)
                .await
                .map_err(|e| self.base.masked(e))?;
            let stale = {
                let mut state = self.base.state_mut();
                if Arc::ptr_eq(&state.settings, &settings) {
                    return Ok(state.driver.get_or_insert(driver).clone());
                }
                driver
            };
            // A reconfigure came while this pool opened: it is for the old options.
            stale.close().await;
        }
    }

    /// The pool, connecting again after a [`Connection::reset`].
    ///
    /// # Errors
    /// [`ErrorKind::Closed`] after [`Connection::close`]; the connect error otherwise.
    pub async fn pool(&self) -> Result<Pool> {
        Ok(self.driver().await?.pool())
    }

    /// The SQLite pool, for direct use of sqlx.
    ///
    /// # Errors
    /// As [`SqlConnection::pool`].
    #[cfg(feature = "sqlite")]
    pub async fn sqlite_pool(&self) -> Result<sqlx::SqlitePool> {
        match self.pool().await? {
            Pool::Sqlite(pool) => Ok(pool),
            #[allow(unreachable_patterns)]
            _ => Err(self.not_dialect("sqlite")),
        }
    }

    /// The PostgreSQL pool, for direct use of sqlx.
    ///
    /// # Errors
    /// As [`SqlConnection::pool`], or [`ErrorKind::Unsupported`] for another dialect.
    #[cfg(feature = "postgres")]
    pub async fn postgres_pool(&self) -> Result<sqlx::PgPool> {
        match self.pool().await? {
            Pool::Postgres(pool) => Ok(pool),
            #[allow(unreachable_patterns)]
            _ => Err(self.not_dialect("postgresql")),
        }
    }

    /// The MySQL pool, for direct use of sqlx.
    ///
    /// # Errors
    /// As [`SqlConnection::pool`], or [`ErrorKind::Unsupported`] for another dialect.
    #[cfg(feature = "mysql")]
    pub async fn mysql_pool(&self) -> Result<sqlx::MySqlPool> {
        match self.pool().await? {
            Pool::MySql(pool) => Ok(pool),
            #[allow(unreachable_patterns)]
            _ => Err(self.not_dialect("mysql")),
        }
    }

    fn not_dialect(&self, wanted: &str) -> Error {
        self.base.error(
            ErrorKind::Unsupported,
            format!("expected a {wanted} connection, found {}", self.dialect()),
        )
    }

    /// The dialect: `sqlite`, `postgresql` or `mysql`.
    pub fn dialect(&self) -> &'static str {
        self.base.state().settings.address.dialect_name()
    }

    /// Drop every cached read of this connection, in this process and in every process
    /// sharing the cache (writes do this by themselves).
    pub async fn invalidate(&self) {
        self.base.cache().invalidate().await;
    }
}

impl TypedConnection for SqlConnection {
    const TYPE: &'static str = crate::TYPE;
}

#[async_trait]
impl Connection for SqlConnection {
    fn base(&self) -> &dyn Base {
        &self.base
    }

    async fn health_check(&self) -> Result<()> {
        self.fetch("select 1", &dataconn_core::Params::new())
            .await
            .map(|_| ())
    }

    /// Close the pool; the next use opens a new one.
    async fn reset(&self) -> Result<()> {
        let old = self.base.state_mut().driver.take();
        if let Some(driver) = old {
            driver.close().await;
        }
        Ok(())
    }

    async fn reconfigure(&self, config: ConnectionConfig) -> Result<()> {
        let settings = Arc::new(Settings::from_config(&config)?);
        let old = self.base.reconfigure(&config, State::new(settings));
        if let Some(driver) = old.driver {
            driver.close().await;
        }
        self.driver().await.map(|_| ())
    }

    async fn close(&self) -> Result<()> {
        self.base.close();
        self.reset().await
    }

    fn as_query(&self) -> Option<&dyn Query> {
        Some(self)
    }
}
