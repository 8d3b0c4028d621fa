//! Writes: a [`Table`] in a format, raw bytes. Every write drops the connection's cached reads,
//! and a failed or cancelled write leaves no partial object.
//!
//! Every format goes through one [`Upload`]: bytes are buffered up to [`PART_BYTES`] and sent
//! in one PUT, or, beyond that, as a multipart upload whose parts go up while encoding goes on.
//! On any failure (encoding, a part, the final PUT or the completion) the upload is aborted
//! exactly once; an upload dropped before it finished (the caller's future was cancelled)
//! aborts itself on the runtime, so no multipart parts are left behind on S3.

use std::sync::Arc;

use bytes::Bytes;
use dataconn_core::{Error, ErrorKind, Result, Table};
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};

use crate::format::Format;
use crate::store::{Location, object_error};

/// Parts of this size go up as multipart uploads (a smaller object is one PUT).
pub(crate) const PART_BYTES: usize = 10 * 1024 * 1024;

/// Parts in flight at once, per upload.
const CONCURRENT_PARTS: usize = 4;

fn encode_error(
    url: &str,
    format: Format,
    e: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::new(ErrorKind::Io, format!("could not write {url} as {format}")).with_source(e)
}

/// One object being written; see the module docs.
pub(crate) struct Upload {
    store: Arc<dyn ObjectStore>,
    path: Path,
    url: String,
    buffer: Vec<u8>,
    part_bytes: usize,
    /// Set once the object outgrew one part.
    multipart: Option<Box<dyn MultipartUpload>>,
    parts: tokio::task::JoinSet<object_store::Result<()>>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("url", &self.url)
            .field("multipart", &self.multipart.is_some())
            .finish_non_exhaustive()
    }
}

fn part_failed(e: tokio::task::JoinError) -> object_store::Error {
    object_store::Error::Generic {
        store: "dataconn",
        source: Box::new(e),
    }
}

impl Upload {
    pub(crate) fn new(location: &Location, part_bytes: usize) -> Upload {
        Upload {
            store: Arc::clone(&location.store),
            path: location.path.clone(),
            url: location.url.clone(),
            buffer: Vec::new(),
            part_bytes,
            multipart: None,
            parts: tokio::task::JoinSet::new(),
        }
    }

    /// Append `bytes`; every full part goes up.
    pub(crate) async fn write(&mut self, bytes: &[u8]) -> object_store::Result<()> {
        self.buffer.extend_from_slice(bytes);
        while self.buffer.len() >= self.part_bytes {
            let rest = self.buffer.split_off(self.part_bytes);
            let part = std::mem::replace(&mut self.buffer, rest);
            self.put_part(part).await?;
        }
        Ok(())
    }

    async fn put_part(&mut self, part: Vec<u8>) -> object_store::Result<()> {
        while self.parts.len() >= CONCURRENT_PARTS {
            self.join_one().await?;
        }
        let upload = match &mut self.multipart {
            Some(upload) => upload,
            None => self
                .multipart
                .insert(self.store.put_multipart(&self.path).await?),
        };
        self.parts.spawn(upload.put_part(PutPayload::from(part)));
        Ok(())
    }

    async fn join_one(&mut self) -> object_store::Result<()> {
        match self.parts.join_next().await {
            Some(result) => result.map_err(part_failed)?,
            None => Ok(()),
        }
    }

    /// Send what is buffered and complete the object.
    pub(crate) async fn finish(&mut self) -> object_store::Result<()> {
        if self.multipart.is_none() {
            let bytes = std::mem::take(&mut self.buffer);
            self.store.put(&self.path, bytes.into()).await?;
            return Ok(());
        }
        if !self.buffer.is_empty() {
            let last = std::mem::take(&mut self.buffer);
            self.put_part(last).await?;
        }
        while !self.parts.is_empty() {
            self.join_one().await?;
        }
        if let Some(upload) = &mut self.multipart {
            upload.complete().await?;
        }
        // Completed: nothing for Drop to abort.
        self.multipart = None;
        Ok(())
    }

    /// Stop the parts in flight and abort the multipart upload (once; a later drop does
    /// nothing). A failed abort is logged: the write's own error is what the caller sees.
    pub(crate) async fn abort(&mut self, credentials: &str) {
        self.parts.abort_all();
        self.buffer = Vec::new();
        if let Some(mut upload) = self.multipart.take()
            && let Err(e) = upload.abort().await
        {
            tracing::warn!(url = %self.url, error = %object_error(e, &self.url, credentials), "aborting a failed write failed");
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        let Some(mut upload) = self.multipart.take() else {
            return;
        };
        self.parts.abort_all();
        let url = std::mem::take(&mut self.url);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(e) = upload.abort().await {
                        tracing::warn!(%url, error = %e, "aborting a cancelled write failed");
                    }
                });
            }
            Err(_) => {
                tracing::warn!(%url, "a cancelled write's multipart upload could not be aborted (no async runtime)");
            }
        }
    }
}

/// The Parquet writer's sink: the upload, completed by [`write_table`], not by the writer.
struct ParquetSink<'a>(&'a mut Upload);

impl parquet::arrow::async_writer::AsyncFileWriter for ParquetSink<'_> {
    fn write(&mut self, bytes: Bytes) -> BoxFuture<'_, parquet::errors::Result<()>> {
        async move {
            self.0
                .write(&bytes)
                .await
                .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
        }
        .boxed()
    }

    fn complete(&mut self) -> BoxFuture<'_, parquet::errors::Result<()>> {
        async { Ok(()) }.boxed()
    }
}

/// Encode `table` as `format` into `location`, streaming in parts.
pub(crate) async fn write_table(
    location: &Location,
    table: &Table,
    format: Format,
    credentials: &str,
) -> Result<()> {
    let mut upload = Upload::new(location, PART_BYTES);
    let result = match encode(&mut upload, table, format, &location.url, credentials).await {
        Ok(()) => upload.finish().await.map_err(|e| {
            object_error(e, &location.url, credentials)
                .with_context("while", "finishing the write")
        }),
        Err(e) => Err(e),
    };
    if result.is_err() {
        upload.abort(credentials).await;
    }
    result
}

async fn encode(
    upload: &mut Upload,
    table: &Table,
    format: Format,
    url: &str,
    credentials: &str,
) -> Result<()> {
    match format {
        Format::Parquet => {
            let mut parquet = parquet::arrow::AsyncArrowWriter::try_new(
                ParquetSink(upload),
                table.schema().clone(),
                None,
            )
            .map_err(|e| encode_error(url, format, e))?;
            for batch in table.batches() {
                parquet
                    .write(batch)
                    .await
                    .map_err(|e| encode_error(url, format, e))?;
            }
            parquet
                .close()
                .await
                .map_err(|e| encode_error(url, format, e))?;
        }
        Format::Csv | Format::Tsv | Format::JsonLines | Format::Arrow => {
            // Encode batch by batch into a buffer, and hand each buffer on, so memory stays at
            // about one batch (plus a part) however large the table.
            let mut buffer = Vec::new();
            match format {
                Format::Csv | Format::Tsv => {
                    let delimiter = if format == Format::Tsv { b'\t' } else { b',' };
                    for (i, batch) in table.batches().iter().enumerate() {
                        let mut csv = arrow::csv::WriterBuilder::new()
                            .with_header(i == 0)
                            .with_delimiter(delimiter)
                            .build(&mut buffer);
                        csv.write(batch).map_err(|e| encode_error(url, format, e))?;
                        drop(csv);
                        flush(upload, &mut buffer, url, credentials).await?;
                    }
                    if table.batches().is_empty() {
                        let header: Vec<&str> = table.column_names();
                        buffer.extend(header.join(&(delimiter as char).to_string()).into_bytes());
                        buffer.push(b'\n');
                    }
                }
                Format::JsonLines => {
                    for batch in table.batches() {
                        let mut json = arrow::json::LineDelimitedWriter::new(&mut buffer);
                        json.write(batch)
                            .map_err(|e| encode_error(url, format, e))?;
                        json.finish().map_err(|e| encode_error(url, format, e))?;
                        drop(json);
                        flush(upload, &mut buffer, url, credentials).await?;
                    }
                }
                _ => {
                    // The IPC writer keeps its own offsets: what it wrote so far can go.
                    let mut ipc = arrow::ipc::writer::FileWriter::try_new(Vec::new(), table.schema())
                        .map_err(|e| encode_error(url, format, e))?;
                    for batch in table.batches() {
                        ipc.write(batch).map_err(|e| encode_error(url, format, e))?;
                        flush(upload, ipc.get_mut(), url, credentials).await?;
                    }
                    ipc.finish().map_err(|e| encode_error(url, format, e))?;
                    flush(upload, ipc.get_mut(), url, credentials).await?;
                }
            }
            flush(upload, &mut buffer, url, credentials).await?;
        }
        Format::Json => {
            let mut buffer = Vec::new();
            table.write_json(&mut buffer)?;
            flush(upload, &mut buffer, url, credentials).await?;
        }
        Format::Text => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{url}: a table cannot be written as text; use put_bytes for text"),
            ));
        }
    }
    Ok(())
}

async fn flush(
    upload: &mut Upload,
    buffer: &mut Vec<u8>,
    url: &str,
    credentials: &str,
) -> Result<()> {
    if buffer.is_empty() {
        return Ok(());
    }
    upload
        .write(buffer)
        .await
        .map_err(|e| object_error(e, url, credentials))?;
    buffer.clear();
    Ok(())
}

/// Store `bytes` at `location` in one request.
pub(crate) async fn put_bytes(location: &Location, bytes: Bytes, credentials: &str) -> Result<()> {
    location
        .store
        .put(&location.path, bytes.into())
        .await
        .map(|_| ())
        .map_err(|e| object_error(e, &location.url, credentials))
}
