//! `read(path)`: one object or a glob of them into a cached [`Table`].
//!
//! Before the cache is asked, each object's metadata is fetched (one HEAD, or one listing for a
//! glob), and its ETag, last-modified time and size go into the cache key: a changed file is
//! never served from the cache, however long the TTL.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use dataconn_core::{Error, ErrorKind, IntoTtl, Params, Result, Table, Ttl};
use object_store::{ObjectMeta, ObjectStoreExt};

use crate::config::Limits;
use crate::connection::FilesConnection;
use crate::decode;
use crate::format::{Compression, Format, decompress};
use crate::store::{Location, get_bounded, object_error};

/// How to read a table: format, CSV details, column selection and row limit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    pub(crate) format: Option<Format>,
    pub(crate) compression: Option<Compression>,
    pub(crate) delimiter: Option<u8>,
    pub(crate) has_header: bool,
    pub(crate) infer_rows: usize,
    pub(crate) columns: Option<Vec<String>>,
    pub(crate) limit: Option<usize>,
    pub(crate) batch_rows: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            compression: None,
            delimiter: None,
            has_header: true,
            infer_rows: 1000,
            columns: None,
            limit: None,
            batch_rows: 65_536,
        }
    }
}

impl ReadOptions {
    /// Every option that changes the result, for the cache key.
    fn key_bytes(&self) -> Vec<u8> {
        format!(
            "{:?}|{:?}|{:?}|{}|{}|{:?}|{:?}|{}",
            self.format,
            self.compression,
            self.delimiter,
            self.has_header,
            self.infer_rows,
            self.columns,
            self.limit,
            self.batch_rows
        )
        .into_bytes()
    }
}

/// Whether a path is a glob (`*`, `?`, `[`).
pub(crate) fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// The objects a path names, with their metadata: one, or every match of a glob.
pub(crate) async fn objects(
    conn: &FilesConnection,
    path: &str,
) -> Result<Vec<(Location, ObjectMeta)>> {
    let credentials = conn.credential_source();
    if !is_glob(path) {
        let location = conn.resolve(path)?;
        let meta = location
            .store
            .head(&location.path)
            .await
            .map_err(|e| object_error(e, &location.url, &credentials))?;
        return Ok(vec![(location, meta)]);
    }
    let glob_at = path.find(['*', '?', '[']).unwrap_or(path.len());
    let (dir, pattern) = match path[..glob_at].rfind('/') {
        Some(slash) => (&path[..slash], &path[slash + 1..]),
        None => ("", path),
    };
    // `/*.csv`: the folder is the top (of the root, or of the filesystem).
    let dir = if dir.is_empty() && path.starts_with('/') {
        "/"
    } else {
        dir
    };
    let base = conn.resolve_as(dir, path)?;
    let mut found = conn.stores().glob(&base, pattern, &credentials).await?;
    found.sort_by(|a, b| a.1.location.cmp(&b.1.location));
    if found.is_empty() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "expected objects matching {path:?} under {}, found none",
                base.url
            ),
        ));
    }
    Ok(found)
}

/// Read one object into a table.
async fn read_object(
    location: &Location,
    meta: &ObjectMeta,
    options: &ReadOptions,
    credentials: &str,
    limits: &Limits,
) -> Result<Table> {
    let (format, compression, why) = match options.format {
        Some(format) => (
            format,
            options.compression.unwrap_or(Compression::None),
            "given explicitly".to_owned(),
        ),
        None => {
            let (format, compression) = Format::infer(&location.url)?;
            (
                format,
                compression,
                format!("inferred from the name {}", location.url),
            )
        }
    };
    // A local Parquet file is read in place, by positioned reads, on a blocking thread.
    if format == Format::Parquet
        && compression == Compression::None
        && let Some(path) = location.url.strip_prefix("file://")
    {
        let (options, url, path) = (options.clone(), location.url.clone(), path.to_owned());
        return tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&path).map_err(|e| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("expected a file at {url}, found none"),
                )
                .with_source(e)
            })?;
            decode::parquet_sync(file, &options, &url, &why)
        })
        .await
        .map_err(|e| decoder_failed(&location.url, format, e))?;
    }
    // Ranged reads pay off when only some columns or rows are wanted, or the file is huge;
    // for a whole file one GET and an in-memory decode is faster.
    let partial = options.columns.is_some() || options.limit.is_some();
    if format == Format::Parquet
        && compression == Compression::None
        && (partial || meta.size > WHOLE_OBJECT_BYTES)
    {
        return decode::parquet_from_store(
            location,
            meta.clone(),
            options,
            &why,
            limits,
            credentials,
        )
        .await;
    }
    let bytes = get_bounded(location, limits.max_object_bytes, credentials).await?;
    // Decompressing and decoding are CPU work: keep them off the async workers.
    let (options, url) = (options.clone(), location.url.clone());
    let expand = limits.max_decompressed_bytes;
    tokio::task::spawn_blocking(move || {
        let bytes = decompress(bytes, compression, &url, expand)?;
        decode::decode(bytes, format, &options, &url, &why)
    })
    .await
    .map_err(|e| decoder_failed(&location.url, format, e))?
}

/// A decode thread that panicked (a decoder meeting malformed bytes) as an error naming the
/// object; the process goes on.
fn decoder_failed(url: &str, format: Format, e: tokio::task::JoinError) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!("{url} could not be read as {format}: its decoder failed on malformed bytes"),
    )
    .with_source(e)
}

/// Parquet files up to this size are read with one GET when every column is wanted.
const WHOLE_OBJECT_BYTES: u64 = 512 * 1024 * 1024;

/// Read every object and stack them into one table with one schema.
async fn read_all(
    objects: &[(Location, ObjectMeta)],
    options: &ReadOptions,
    credentials: &str,
    limits: &Limits,
) -> Result<Table> {
    let mut tables = Vec::with_capacity(objects.len());
    for (location, meta) in objects {
        tables.push((
            location.url.clone(),
            read_object(location, meta, options, credentials, limits).await?,
        ));
    }
    let (first_url, first) = tables
        .first()
        .cloned()
        .ok_or_else(|| Error::internal("no objects to read"))?;
    if tables.len() == 1 {
        return Ok(first);
    }
    let schema = first.schema().clone();
    let mut batches = Vec::new();
    for (url, table) in &tables {
        if table.schema().fields() != schema.fields() {
            let differs = schema
                .fields()
                .iter()
                .zip(table.schema().fields().iter())
                .find(|(a, b)| a != b)
                .map(|(a, b)| {
                    format!(
                        "{} {} vs {} {}",
                        a.name(),
                        a.data_type(),
                        b.name(),
                        b.data_type()
                    )
                })
                .unwrap_or_else(|| {
                    format!(
                        "{} vs {} columns",
                        schema.fields().len(),
                        table.schema().fields().len()
                    )
                });
            return Err(Error::new(
                ErrorKind::TypeConversion,
                format!(
                    "expected the globbed files to share one schema; {first_url} and {url} differ ({differs})"
                ),
            ));
        }
        batches.extend(table.batches().iter().cloned());
    }
    let table = Table::try_new(schema, batches)?;
    match options.limit {
        Some(limit) if table.num_rows() > limit => Ok(table.head(limit)),
        _ => Ok(table),
    }
}

/// An object's URL, ETag, modification time and size: what a cache key holds so that a changed
/// object is never answered from the cache.
pub(crate) fn object_version(location: &Location, meta: &ObjectMeta) -> String {
    format!(
        "{}|{:?}|{}|{}",
        location.url,
        meta.e_tag,
        meta.last_modified.timestamp_nanos_opt().unwrap_or_default(),
        meta.size
    )
}

/// The cached read behind [`FilesConnection::read`].
pub(crate) async fn read_table(
    conn: &FilesConnection,
    path: &str,
    options: ReadOptions,
    ttl: Ttl,
) -> Result<Table> {
    let credentials = conn.credential_source();
    let limits = conn.stores().settings().limits;
    let objects = objects(conn, path).await?;
    let mut key_options = options.key_bytes();
    for (location, meta) in &objects {
        key_options.push(b'|');
        key_options.extend(object_version(location, meta).into_bytes());
    }
    let scope = conn.base.cache();
    let key = scope.key("read", path, &Params::new(), &key_options);
    scope
        .get_or_load(key, ttl, || {
            read_all(&objects, &options, &credentials, &limits)
        })
        .await
}

/// A read being built; `.await` it.
#[must_use = "a read does nothing until it is awaited"]
#[derive(Debug)]
pub struct ReadRequest<'a> {
    conn: &'a FilesConnection,
    path: String,
    options: ReadOptions,
    ttl: Option<Result<Ttl>>,
}

impl<'a> ReadRequest<'a> {
    pub(crate) fn new(conn: &'a FilesConnection, path: String) -> Self {
        ReadRequest {
            conn,
            path,
            options: ReadOptions::default(),
            ttl: None,
        }
    }

    /// The format, instead of inferring it from the name.
    pub fn format(mut self, format: Format) -> Self {
        self.options.format = Some(format);
        self
    }

    /// The compression around a text format given with [`ReadRequest::format`].
    pub fn compression(mut self, compression: Compression) -> Self {
        self.options.compression = Some(compression);
        self
    }

    /// The CSV delimiter (default `,`, or tab for TSV).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.options.delimiter = Some(delimiter);
        self
    }

    /// Whether the CSV has a header row (default true).
    pub fn header(mut self, has_header: bool) -> Self {
        self.options.has_header = has_header;
        self
    }

    /// How many records schema inference reads (CSV, JSON; default 1000).
    pub fn infer_rows(mut self, rows: usize) -> Self {
        self.options.infer_rows = rows.max(1);
        self
    }

    /// Read only these columns (pushed down into Parquet and CSV).
    pub fn columns<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.options.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Read at most this many rows.
    pub fn limit(mut self, rows: usize) -> Self {
        self.options.limit = Some(rows);
        self
    }

    /// How long the result may be served from the cache (a changed file is re-read anyway).
    pub fn ttl(mut self, ttl: impl IntoTtl) -> Self {
        self.ttl = Some(ttl.into_ttl());
        self
    }
}

impl<'a> IntoFuture for ReadRequest<'a> {
    type Output = Result<Table>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Table>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let conn = self.conn;
            let ttl = match self.ttl {
                Some(ttl) => ttl,
                None => Ok(conn.default_ttl()),
            };
            let span = tracing::info_span!(
                "dataconn.read",
                connection = dataconn_core::Connection::name(conn),
                rows = tracing::field::Empty,
                cache = tracing::field::Empty,
            );
            let result = match ttl {
                Ok(ttl) => {
                    tracing::Instrument::instrument(
                        read_table(conn, &self.path, self.options, ttl),
                        span.clone(),
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            if let Ok(t) = &result {
                span.record("rows", t.num_rows());
            }
            result.map_err(|e| conn.base.masked(e))
        })
    }
}
