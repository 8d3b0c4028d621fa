//! Building a [`FilesConnection`], and the operations that are not reads of tables.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use bytes::Bytes;
use dataconn_core::{
    CacheScope, ConnectContext, Connection, ConnectionConfig, Connector, Error, ErrorKind, Params,
    ReadTable, Result, Table, Ttl, TypedConnection,
};
use futures::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::config::{Protocol, settings};
use crate::format::Format;
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

struct State {
    stores: Arc<Stores>,
    cache: CacheScope,
    /// The SQL engine of `query()`, with its Parquet metadata cache and the section's limits.
    #[cfg(feature = "query")]
    engine: dataconn_engine::Engine,
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
    name: String,
    state: RwLock<State>,
    closed: AtomicBool,
}

impl std::fmt::Debug for FilesConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilesConnection")
            .field("name", &self.name)
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
        let name = ctx.config.name().to_owned();
        let stores = Arc::new(
            Stores::new(settings(&ctx.config)?)
                .map_err(|e| e.with_connection(&name, crate::TYPE))?,
        );
        let conn = FilesConnection {
            name,
            state: RwLock::new(State {
                #[cfg(feature = "query")]
                engine: engine_for(stores.settings()),
                stores,
                cache: ctx.cache,
            }),
            closed: AtomicBool::new(false),
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

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read_unpoisoned()
    }

    pub(crate) fn stores(&self) -> Arc<Stores> {
        self.read_state().stores.clone()
    }

    pub(crate) fn scope(&self) -> CacheScope {
        self.read_state().cache.clone()
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
        self.read_state().engine.clone()
    }

    pub(crate) fn credential_source(&self) -> String {
        self.stores().settings().credential_source.clone()
    }

    /// Name this connection in an error and mask its secrets.
    pub(crate) fn fail(&self, err: Error) -> Error {
        let sensitive = self.stores().settings().sensitive.clone();
        // One value at a time, longest first (see `config::sensitive_values`).
        sensitive.iter().fold(
            err.with_connection(&self.name, crate::TYPE),
            |err, secret| err.scrub(std::slice::from_ref(secret)),
        )
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(self.fail(Error::new(
                ErrorKind::Closed,
                "expected an open connection, found it closed; get it again with connection(name)",
            )));
        }
        Ok(())
    }

    pub(crate) fn resolve(&self, path: &str) -> Result<Location> {
        self.resolve_as(path, path)
    }

    /// [`FilesConnection::resolve`], naming `shown` when the path is refused.
    pub(crate) fn resolve_as(&self, path: &str, shown: &str) -> Result<Location> {
        self.check_open()?;
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

    /// The object's bytes (cached with the connection's TTL, keyed by its ETag).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] naming the full URL.
    pub async fn read_bytes(&self, path: &str) -> Result<Bytes> {
        let table = self.cached_bytes(path).await.map_err(|e| self.fail(e))?;
        let column = table.column("bytes")?;
        let bytes = arrow::array::AsArray::as_binary::<i64>(&column);
        Ok(Bytes::copy_from_slice(bytes.value(0)))
    }

    /// The object's text, decompressed for `.gz`/`.zst` names (cached like `read_bytes`).
    ///
    /// # Errors
    /// As [`FilesConnection::read_bytes`], and [`ErrorKind::TypeConversion`] for bytes that are
    /// not UTF-8.
    pub async fn read_text(&self, path: &str) -> Result<String> {
        let bytes = self.read_bytes(path).await?;
        let compression = Format::infer(path)
            .map(|(_, c)| c)
            .unwrap_or(crate::format::Compression::None);
        let limit = self.stores().settings().limits.max_decompressed_bytes;
        let bytes =
            crate::format::decompress(bytes, compression, path, limit).map_err(|e| self.fail(e))?;
        String::from_utf8(bytes.to_vec()).map_err(|e| {
            self.fail(
                Error::new(
                    ErrorKind::TypeConversion,
                    format!("{path} is not UTF-8 text"),
                )
                .with_source(e),
            )
        })
    }

    async fn cached_bytes(&self, path: &str) -> Result<Table> {
        let credentials = self.credential_source();
        let limit = self.stores().settings().limits.max_object_bytes;
        let location = self.resolve(path)?;
        let meta = location
            .store
            .head(&location.path)
            .await
            .map_err(|e| object_error(e, &location.url, &credentials))?;
        let key_options = format!(
            "{:?}|{}|{}",
            meta.e_tag,
            meta.last_modified.timestamp_nanos_opt().unwrap_or_default(),
            meta.size
        );
        let scope = self.scope();
        let key = scope.key(
            "read_bytes",
            &location.url,
            &Params::new(),
            key_options.as_bytes(),
        );
        scope
            .get_or_load(key, self.default_ttl(), || async {
                let bytes = crate::store::get_bounded(&location, limit, &credentials).await?;
                let array = arrow::array::LargeBinaryArray::from_vec(vec![bytes.as_ref()]);
                let batch = arrow::array::RecordBatch::try_from_iter([(
                    "bytes",
                    Arc::new(array) as arrow::array::ArrayRef,
                )])?;
                Ok(Table::from_batch(batch))
            })
            .await
    }

    /// An async reader over the object, for streaming large objects (not cached).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] naming the full URL.
    pub async fn open(&self, path: &str) -> Result<object_store::buffered::BufReader> {
        let location = self.resolve(path).map_err(|e| self.fail(e))?;
        let meta =
            location.store.head(&location.path).await.map_err(|e| {
                self.fail(object_error(e, &location.url, &self.credential_source()))
            })?;
        Ok(object_store::buffered::BufReader::new(
            location.store.clone(),
            &meta,
        ))
    }

    /// Write `table` to `path` as `format` (multipart for large objects); drops cached reads.
    ///
    /// # Errors
    /// The store's error; nothing is left behind on failure.
    pub async fn write(&self, path: &str, table: &Table, format: Format) -> Result<()> {
        let location = self.resolve(path).map_err(|e| self.fail(e))?;
        let result =
            crate::write::write_table(&location, table, format, &self.credential_source()).await;
        self.scope().invalidate().await;
        result.map_err(|e| self.fail(e))
    }

    /// Store raw bytes at `path`; drops cached reads.
    ///
    /// # Errors
    /// The store's error.
    pub async fn put_bytes(&self, path: &str, bytes: impl Into<Bytes>) -> Result<()> {
        let location = self.resolve(path).map_err(|e| self.fail(e))?;
        let result =
            crate::write::put_bytes(&location, bytes.into(), &self.credential_source()).await;
        self.scope().invalidate().await;
        result.map_err(|e| self.fail(e))
    }

    /// Delete the object at `path`; drops cached reads.
    ///
    /// # Errors
    /// The store's error ([`ErrorKind::NotFound`] is not an error: the object is gone).
    pub async fn delete(&self, path: &str) -> Result<()> {
        let location = self.resolve(path).map_err(|e| self.fail(e))?;
        let result = location.store.delete(&location.path).await;
        self.scope().invalidate().await;
        match result {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.fail(object_error(e, &location.url, &self.credential_source()))),
        }
    }

    /// Whether an object exists at `path`.
    ///
    /// # Errors
    /// The store's error other than "not found".
    pub async fn exists(&self, path: &str) -> Result<bool> {
        let location = self.resolve(path).map_err(|e| self.fail(e))?;
        match location.store.head(&location.path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.fail(object_error(e, &location.url, &self.credential_source()))),
        }
    }

    /// Every object under `prefix` (recursively), sorted by path.
    ///
    /// # Errors
    /// The store's error.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        let location = self.resolve(prefix).map_err(|e| self.fail(e))?;
        let listed = self
            .stores()
            .list_all(&location, &self.credential_source())
            .await
            .map_err(|e| self.fail(e))?;
        let mut out: Vec<ObjectInfo> = listed
            .into_iter()
            .map(|(_, m)| ObjectInfo {
                path: m.location.to_string(),
                size: m.size,
                last_modified: m.last_modified,
                e_tag: m.e_tag,
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// The object store of the root's bucket (or the filesystem, memory, the HTTP origin), for
    /// anything else.
    ///
    /// # Errors
    /// When the store cannot be built.
    pub fn store(&self) -> Result<Arc<dyn ObjectStore>> {
        Ok(self.resolve("")?.store)
    }
}

impl TypedConnection for FilesConnection {
    const TYPE: &'static str = crate::TYPE;
}

#[async_trait]
impl Connection for FilesConnection {
    fn name(&self) -> &str {
        &self.name
    }

    fn connection_type(&self) -> &str {
        crate::TYPE
    }

    async fn health_check(&self) -> Result<()> {
        let location = self.resolve("").map_err(|e| self.fail(e))?;
        if self.protocol() == Protocol::Http {
            return Ok(());
        }
        let prefix = (!location.path.as_ref().is_empty()).then_some(&location.path);
        let first = location.store.list(prefix).try_next().await;
        first
            .map(|_| ())
            .map_err(|e| self.fail(object_error(e, &location.url, &self.credential_source())))
    }

    async fn reset(&self) -> Result<()> {
        self.check_open()?;
        let settings = self.stores().settings().clone();
        let fresh = Arc::new(Stores::new(settings)?);
        self.state
            .write_unpoisoned()
            .stores = fresh;
        Ok(())
    }

    async fn reconfigure(&self, config: ConnectionConfig) -> Result<()> {
        let stores = Arc::new(Stores::new(settings(&config)?)?);
        let mut state = self
            .state
            .write_unpoisoned();
        state.cache.invalidate_in_background();
        state.cache = state.cache.rescope(&config.identity());
        #[cfg(feature = "query")]
        {
            state.engine = engine_for(stores.settings());
        }
        state.stores = stores;
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        Ok(())
    }

    fn clear_cache(&self) {
        self.scope().invalidate_in_background();
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
            request = request.format(format.parse().map_err(|e| self.fail(e))?);
        }
        request.await
    }
}
