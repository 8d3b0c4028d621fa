//! The files connector, and [`FilesConnection`]: its state, and what every connection does.

use std::sync::Arc;

use async_trait::async_trait;
use dataconn_core::raw::{Base, ConnectContext, ConnectionBase, Connector};
use dataconn_core::{
    Connection, ConnectionConfig, Error, ReadTable, Result, Table, Ttl, TypedConnection,
};
use futures::TryStreamExt;

use crate::config::{Protocol, sensitive_values, settings};
use crate::read::ReadRequest;
use crate::store::{Location, Stores, object_error};

/// Builds [`FilesConnection`]s; registered under [`crate::TYPE`].
#[derive(Debug, Default, Clone, Copy)]
pub struct FilesConnector;

#[async_trait]
impl Connector for FilesConnector {
    fn connection_type(&self) -> &'static str {
        crate::TYPE
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["fs", "filesystem", "st_files_connection.filesconnection"]
    }

    fn url_schemes(&self) -> &'static [&'static str] {
        &[
            "file", "memory", "s3", "s3a", "gs", "gcs", "az", "abfs", "abfss",
        ]
    }

    async fn connect(&self, ctx: ConnectContext) -> Result<Arc<dyn Connection>> {
        let conn = FilesConnection::connect(ctx).await?;
        Ok(Arc::new(conn))
    }
}

/// What a section's options build; replaced whole on reset and reconfigure.
pub(crate) struct State {
    stores: Arc<Stores>,
    /// The SQL engine of `query()`, with its Parquet metadata cache and the section's limits.
    #[cfg(feature = "query")]
    engine: dataconn_engine::Engine,
}

impl State {
    fn new(stores: Stores) -> State {
        State {
            #[cfg(feature = "query")]
            engine: engine_for(stores.settings()),
            stores: Arc::new(stores),
        }
    }
}

/// The engine for a section's limits.
#[cfg(feature = "query")]
fn engine_for(settings: &crate::config::Settings) -> dataconn_engine::Engine {
    let limits = settings.limits;
    dataconn_engine::Engine::with_limits(dataconn_engine::EngineLimits::new(
        usize::try_from(limits.query_memory_limit).unwrap_or(usize::MAX),
        limits.query_timeout,
    ))
}

/// Files on the local filesystem, in memory, on S3, GCS, Azure or an HTTP server: read as
/// cached Arrow tables, written from tables, listed and deleted. Shared and thread-safe.
pub struct FilesConnection {
    pub(crate) base: ConnectionBase<State>,
}

impl std::fmt::Debug for FilesConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilesConnection")
            .field("name", &self.base.name())
            .field("protocol", &self.protocol())
            .finish()
    }
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectInfo {
    /// The path inside the store.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification.
    pub last_modified: chrono::DateTime<chrono::Utc>,
    /// The ETag, when the store has one.
    pub e_tag: Option<String>,
}

impl FilesConnection {
    async fn connect(ctx: ConnectContext) -> Result<FilesConnection> {
        let masked = |e: Error| {
            e.with_connection(ctx.config.name(), crate::TYPE)
                .scrub(&sensitive_values(&ctx.config))
        };
        let stores = Stores::new(settings(&ctx.config)?).map_err(masked)?;
        let conn = FilesConnection {
            base: ConnectionBase::new(&ctx, State::new(stores))
                .mask_with(sensitive_values, &ctx.config),
        };
        // Cloud stores are checked now, so that bad credentials or a missing bucket fail here.
        if matches!(
            conn.protocol(),
            Protocol::S3 | Protocol::Gcs | Protocol::Azure
        ) && conn.stores().settings().root.is_some()
        {
            conn.health_check().await?;
        }
        Ok(conn)
    }

    pub(crate) fn stores(&self) -> Arc<Stores> {
        self.base.state().stores.clone()
    }

    pub(crate) fn default_ttl(&self) -> Ttl {
        self.stores().settings().ttl
    }

    /// The tables named in the section, for `query()`.
    #[cfg_attr(not(feature = "query"), allow(dead_code))]
    pub(crate) fn named_tables(&self) -> Vec<(String, crate::config::NamedTable)> {
        self.stores().settings().tables.clone()
    }

    #[cfg(feature = "query")]
    pub(crate) fn engine(&self) -> dataconn_engine::Engine {
        self.base.state().engine.clone()
    }

    pub(crate) fn credential_source(&self) -> String {
        self.stores().settings().credential_source.clone()
    }

    pub(crate) fn resolve(&self, path: &str) -> Result<Location> {
        self.resolve_as(path, path)
    }

    /// [`FilesConnection::resolve`], naming `shown` when the path is refused.
    pub(crate) fn resolve_as(&self, path: &str, shown: &str) -> Result<Location> {
        self.base.check_open()?;
        self.stores().resolve_as(path, shown)
    }

    /// The protocol of this connection.
    pub fn protocol(&self) -> Protocol {
        self.stores().settings().protocol
    }

    /// Read a table (cached): `.format(..)`, `.columns(..)`, `.limit(..)`, `.ttl(..)`, then
    /// `.await`. `path` is relative to the root, absolute, a full URL, or a glob
    /// (`data/2024-*.parquet`) whose files are stacked into one table.
    pub fn read(&self, path: impl Into<String>) -> ReadRequest<'_> {
        ReadRequest::new(self, path.into())
    }
}

impl TypedConnection for FilesConnection {
    const TYPE: &'static str = crate::TYPE;
}

#[async_trait]
impl Connection for FilesConnection {
    fn base(&self) -> &dyn Base {
        &self.base
    }

    async fn health_check(&self) -> Result<()> {
        let location = self.resolve("").map_err(|e| self.base.masked(e))?;
        if self.protocol() == Protocol::Http {
            return Ok(());
        }
        let prefix = (!location.path.as_ref().is_empty()).then_some(&location.path);
        let first = location.store.list(prefix).try_next().await;
        first.map(|_| ()).map_err(|e| {
            self.base
                .masked(object_error(e, &location.url, &self.credential_source()))
        })
    }

    async fn reset(&self) -> Result<()> {
        self.base.check_open()?;
        let settings = self.stores().settings().clone();
        self.base.state_mut().stores = Arc::new(Stores::new(settings)?);
        Ok(())
    }

    async fn reconfigure(&self, config: ConnectionConfig) -> Result<()> {
        let stores = Stores::new(settings(&config)?)?;
        self.base.reconfigure(&config, State::new(stores));
        Ok(())
    }

    fn as_read(&self) -> Option<&dyn ReadTable> {
        Some(self)
    }

    fn as_query(&self) -> Option<&dyn dataconn_core::Query> {
        Some(self)
    }
}

#[async_trait]
impl ReadTable for FilesConnection {
    async fn read_table(&self, path: &str, format: Option<&str>) -> Result<Table> {
        let mut request = self.read(path);
        if let Some(format) = format {
            request = request.format(format.parse().map_err(|e| self.base.masked(e))?);
        }
        request.await
    }
}
