//! Building a [`SqlConnection`]: the connector, the connection and its pool.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use dataconn_core::{
    CacheScope, ConnectContext, Connection, ConnectionConfig, Connector, Error, ErrorKind, Query,
    Result, Ttl, TypedConnection,
};

use crate::address::{Target, target};
use crate::config::{PoolSettings, SqlConfig};

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

/// Everything derived from one config: parsed once per connect or reconfigure.
pub(crate) struct Settings {
    pub(crate) target: Target,
    pub(crate) pool: PoolSettings,
    pub(crate) ttl: Ttl,
    pub(crate) batch_rows: usize,
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    pub(crate) statement_timeout: Option<std::time::Duration>,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) use_copy: bool,
    pub(crate) retry: dataconn_core::RetryPolicy,
    pub(crate) sensitive: Vec<String>,
}

/// Written by hand so that the secrets kept for masking are never printed.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("target", &self.target)
            .field("pool", &self.pool)
            .field("ttl", &self.ttl)
            .field("batch_rows", &self.batch_rows)
            .field("statement_timeout", &self.statement_timeout)
            .field("use_copy", &self.use_copy)
            .field("retry", &self.retry)
            .field(
                "sensitive",
                &format_args!("[{} masked]", self.sensitive.len()),
            )
            .finish()
    }
}

impl Settings {
    fn from_config(config: &ConnectionConfig) -> Result<Settings> {
        let parsed: SqlConfig = config.parse()?;
        let target = target(&parsed).map_err(|e| {
            e.with_connection(config.name(), crate::TYPE)
                .scrub(&config.sensitive_values())
        })?;
        Ok(Settings {
            target,
            pool: parsed.pool_settings(),
            ttl: parsed.default_ttl(),
            batch_rows: parsed.batch_rows(),
            statement_timeout: parsed.statement_timeout(),
            use_copy: parsed.copy.unwrap_or(true),
            retry: parsed.retry_policy(),
            sensitive: config.sensitive_values(),
        })
    }
}

/// A pool of one of the compiled-in drivers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Pool {
    /// A SQLite pool.
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    /// A PostgreSQL pool.
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    /// A MySQL or MariaDB pool.
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

impl Pool {
    async fn open(settings: &Settings) -> Result<Pool> {
        match &settings.target {
            #[cfg(feature = "sqlite")]
            Target::Sqlite { path, read_only } => {
                crate::sqlite::connect(path.as_deref(), *read_only, &settings.pool)
                    .await
                    .map(Pool::Sqlite)
            }
            #[cfg(feature = "postgres")]
            Target::Postgres(url) => {
                crate::postgres::connect(url, &settings.pool, settings.statement_timeout)
                    .await
                    .map(Pool::Postgres)
            }
            #[cfg(feature = "mysql")]
            Target::MySql(url) => {
                crate::mysql::connect(url, &settings.pool, settings.statement_timeout)
                    .await
                    .map(Pool::MySql)
            }
            #[allow(unreachable_patterns)]
            other => Err(Error::new(
                ErrorKind::FeatureDisabled,
                format!(
                    "the {} driver is not in this build; enable the dataconn cargo feature `{}`",
                    other.dialect_name(),
                    match other {
                        Target::Sqlite { .. } => "sqlite",
                        Target::Postgres(_) => "postgres",
                        Target::MySql(_) => "mysql",
                    }
                ),
            )),
        }
    }

    async fn close(&self) {
        match self {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => pool.close().await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => pool.close().await,
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => pool.close().await,
        }
    }
}

struct State {
    settings: Arc<Settings>,
    pool: Option<Pool>,
    cache: CacheScope,
}

/// A pooled SQL connection: cached Arrow queries, writes, sessions. Shared and thread-safe.
///
/// Get one by name with `dataconn::connection::<SqlConnection>("name")`.
pub struct SqlConnection {
    name: String,
    state: RwLock<State>,
    closed: AtomicBool,
}

impl std::fmt::Debug for SqlConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.read_state();
        f.debug_struct("SqlConnection")
            .field("name", &self.name)
            .field("dialect", &state.settings.target.dialect_name())
            .field("connected", &state.pool.is_some())
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish()
    }
}

impl SqlConnection {
    async fn connect(ctx: ConnectContext) -> Result<SqlConnection> {
        let settings = Arc::new(Settings::from_config(&ctx.config)?);
        let name = ctx.config.name().to_owned();
        let pool = Pool::open(&settings).await.map_err(|e| {
            // A URL the driver cannot read is named with the file and line it came from.
            let e = match e.kind() {
                ErrorKind::Config if ctx.config.get("url").is_some() => {
                    e.with_context("url", ctx.config.origin("url"))
                }
                _ => e,
            };
            e.with_connection(&name, crate::TYPE)
                .scrub(&settings.sensitive)
        })?;
        Ok(SqlConnection {
            name,
            state: RwLock::new(State {
                settings,
                pool: Some(pool),
                cache: ctx.cache,
            }),
            closed: AtomicBool::new(false),
        })
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read_unpoisoned()
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state
            .write_unpoisoned()
    }

    pub(crate) fn settings(&self) -> Arc<Settings> {
        self.read_state().settings.clone()
    }

    /// Name this connection in an error and mask its secrets.
    pub(crate) fn fail(&self, err: Error) -> Error {
        let sensitive = self.read_state().settings.sensitive.clone();
        err.with_connection(&self.name, crate::TYPE)
            .scrub(&sensitive)
    }

    /// A function that names this connection in an error and masks its secrets, for tasks
    /// that outlive a borrow of the connection.
    pub(crate) fn failer(&self) -> impl Fn(Error) -> Error + Send + Sync + 'static {
        let name = self.name.clone();
        let sensitive = self.read_state().settings.sensitive.clone();
        move |err: Error| err.with_connection(&name, crate::TYPE).scrub(&sensitive)
    }

    /// The pool, connecting again after a [`Connection::reset`].
    ///
    /// # Errors
    /// [`ErrorKind::Closed`] after [`Connection::close`]; the connect error otherwise.
    pub async fn pool(&self) -> Result<Pool> {
        if self.closed.load(Ordering::Acquire) {
            return Err(self.fail(Error::new(
                ErrorKind::Closed,
                "expected an open connection, found it closed (its secrets changed or close() \
                 was called); get it again with connection(name)",
            )));
        }
        let settings = {
            let state = self.read_state();
            if let Some(pool) = &state.pool {
                return Ok(pool.clone());
            }
            state.settings.clone()
        };
        let pool = settings
            .retry
            .run(|| Pool::open(&settings), dataconn_core::Error::is_temporary)
            .await
            .map_err(|e| self.fail(e))?;
        let mut state = self.write_state();
        Ok(state.pool.get_or_insert(pool).clone())
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

    #[allow(dead_code)]
    fn not_dialect(&self, wanted: &str) -> Error {
        self.fail(Error::new(
            ErrorKind::Unsupported,
            format!("expected a {wanted} connection, found {}", self.dialect()),
        ))
    }

    /// The dialect: `sqlite`, `postgresql` or `mysql`.
    pub fn dialect(&self) -> &'static str {
        self.read_state().settings.target.dialect_name()
    }

    /// Drop every cached read of this connection, in this process and in every process
    /// sharing the cache (writes do this by themselves).
    pub async fn invalidate(&self) {
        let scope = self.read_state().cache.clone();
        scope.invalidate().await;
    }
}

impl TypedConnection for SqlConnection {
    const TYPE: &'static str = crate::TYPE;
}

#[async_trait]
impl Connection for SqlConnection {
    fn name(&self) -> &str {
        &self.name
    }

    fn connection_type(&self) -> &str {
        crate::TYPE
    }

    async fn health_check(&self) -> Result<()> {
        self.fetch("select 1", &dataconn_core::Params::new())
            .await
            .map(|_| ())
    }

    async fn reset(&self) -> Result<()> {
        let old = self.write_state().pool.take();
        if let Some(pool) = old {
            pool.close().await;
        }
        Ok(())
    }

    async fn reconfigure(&self, config: ConnectionConfig) -> Result<()> {
        let settings = Arc::new(Settings::from_config(&config)?);
        let old = {
            let mut state = self.write_state();
            state.cache.invalidate_in_background();
            state.cache = state.cache.rescope(&config.identity());
            state.settings = settings;
            state.pool.take()
        };
        if let Some(pool) = old {
            pool.close().await;
        }
        self.pool().await.map(|_| ())
    }

    async fn close(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        self.reset().await
    }

    fn clear_cache(&self) {
        self.read_state().cache.invalidate_in_background();
    }

    fn as_query(&self) -> Option<&dyn Query> {
        Some(self)
    }
}

#[async_trait]
impl Query for SqlConnection {
    async fn fetch(
        &self,
        sql: &str,
        params: &dataconn_core::Params,
    ) -> Result<dataconn_core::Table> {
        crate::query::fetch(self, sql, params).await
    }

    /// Reads the stream only until `limit` rows have come, then drops it, which stops the
    /// server (or SQLite's stepping) a batch or two later instead of at the end.
    async fn fetch_head(
        &self,
        sql: &str,
        params: &dataconn_core::Params,
        limit: usize,
    ) -> Result<dataconn_core::Table> {
        use futures::StreamExt;
        let mut stream = self.query_stream(sql, params.clone()).await?;
        let mut batches = Vec::new();
        let mut rows = 0;
        // One batch at least, for the schema, even when `limit` is 0.
        while rows < limit || batches.is_empty() {
            match stream.next().await {
                Some(batch) => {
                    let batch = batch?;
                    rows += batch.num_rows();
                    batches.push(batch);
                }
                None => break,
            }
        }
        drop(stream);
        let table = match batches.first() {
            Some(first) => dataconn_core::Table::try_new(first.schema(), batches)?,
            // No batch at all: the plain read gives the empty result with its schema.
            None => self.fetch(sql, params).await?,
        };
        Ok(table.head(limit))
    }

    fn cache_scope(&self) -> CacheScope {
        self.read_state().cache.clone()
    }

    fn default_ttl(&self) -> Ttl {
        self.read_state().settings.ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_debug_shows_no_secret() {
        let options: toml::Table =
            toml::from_str("url = \"postgresql://u:hunter2-secret@h/db\"").unwrap();
        let config = ConnectionConfig::new("c", "sql", options);
        assert!(!config.sensitive_values().is_empty());
        let settings = Settings::from_config(&config).unwrap();
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("masked"), "{shown}");
    }
}
