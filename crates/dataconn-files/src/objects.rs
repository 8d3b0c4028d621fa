//! Objects as bytes: read, open, put, delete, test and list them.

use std::sync::Arc;

use bytes::Bytes;
use dataconn_core::{Error, ErrorKind, Params, Result, Table};
use object_store::{ObjectStore, ObjectStoreExt};

use crate::connection::{FilesConnection, ObjectInfo};
use crate::format::Format;
use crate::store::object_error;

impl FilesConnection {
    /// The object's bytes (cached with the connection's TTL, keyed by its ETag).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] naming the full URL.
    pub async fn read_bytes(&self, path: &str) -> Result<Bytes> {
        let table = self
            .cached_bytes(path)
            .await
            .map_err(|e| self.base.masked(e))?;
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
        let bytes = crate::format::decompress(bytes, compression, path, limit)
            .map_err(|e| self.base.masked(e))?;
        String::from_utf8(bytes.to_vec()).map_err(|e| {
            self.base.masked(
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
        let scope = self.base.cache();
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
        let location = self.resolve(path).map_err(|e| self.base.masked(e))?;
        let meta = location.store.head(&location.path).await.map_err(|e| {
            self.base
                .masked(object_error(e, &location.url, &self.credential_source()))
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
        let location = self.resolve(path).map_err(|e| self.base.masked(e))?;
        let result =
            crate::write::write_table(&location, table, format, &self.credential_source()).await;
        self.base.cache().invalidate().await;
        result.map_err(|e| self.base.masked(e))
    }

    /// Store raw bytes at `path`; drops cached reads.
    ///
    /// # Errors
    /// The store's error.
    pub async fn put_bytes(&self, path: &str, bytes: impl Into<Bytes>) -> Result<()> {
        let location = self.resolve(path).map_err(|e| self.base.masked(e))?;
        let result =
            crate::write::put_bytes(&location, bytes.into(), &self.credential_source()).await;
        self.base.cache().invalidate().await;
        result.map_err(|e| self.base.masked(e))
    }

    /// Delete the object at `path`; drops cached reads.
    ///
    /// # Errors
    /// The store's error ([`ErrorKind::NotFound`] is not an error: the object is gone).
    pub async fn delete(&self, path: &str) -> Result<()> {
        let location = self.resolve(path).map_err(|e| self.base.masked(e))?;
        let result = location.store.delete(&location.path).await;
        self.base.cache().invalidate().await;
        match result {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => {
                Err(self
                    .base
                    .masked(object_error(e, &location.url, &self.credential_source())))
            }
        }
    }

    /// Whether an object exists at `path`.
    ///
    /// # Errors
    /// The store's error other than "not found".
    pub async fn exists(&self, path: &str) -> Result<bool> {
        let location = self.resolve(path).map_err(|e| self.base.masked(e))?;
        match location.store.head(&location.path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => {
                Err(self
                    .base
                    .masked(object_error(e, &location.url, &self.credential_source())))
            }
        }
    }

    /// Every object under `prefix` (recursively), sorted by path.
    ///
    /// # Errors
    /// The store's error.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        let location = self.resolve(prefix).map_err(|e| self.base.masked(e))?;
        let listed = self
            .stores()
            .list_all(&location, &self.credential_source())
            .await
            .map_err(|e| self.base.masked(e))?;
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
