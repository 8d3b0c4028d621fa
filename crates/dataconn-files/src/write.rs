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
    write_in_parts(location, table, format, credentials, PART_BYTES).await
}

async fn write_in_parts(
    location: &Location,
    table: &Table,
    format: Format,
    credentials: &str,
    part_bytes: usize,
) -> Result<()> {
    let mut upload = Upload::new(location, part_bytes);
    let result = match encode(&mut upload, table, format, &location.url, credentials).await {
        Ok(()) => upload.finish().await.map_err(|e| {
            object_error(e, &location.url, credentials).with_context("while", "finishing the write")
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
                    let mut ipc =
                        arrow::ipc::writer::FileWriter::try_new(Vec::new(), table.schema())
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use async_trait::async_trait;
    use futures::stream::BoxStream;
    use object_store::memory::InMemory;
    use object_store::{
        CopyOptions, GetOptions, GetResult, ListResult, ObjectMeta, PutMultipartOptions,
        PutOptions, PutResult, UploadPart,
    };

    use super::*;

    /// An in-memory store whose last step of a write fails (the single PUT, or the
    /// completion of a multipart upload), whose parts may be slow, and that counts aborts.
    #[derive(Debug, Default)]
    struct FailingFinal {
        inner: InMemory,
        aborts: Arc<AtomicUsize>,
        slow_parts: bool,
    }

    impl std::fmt::Display for FailingFinal {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("FailingFinal")
        }
    }

    fn refused(what: &str) -> object_store::Error {
        object_store::Error::Generic {
            store: "FailingFinal",
            source: format!("{what} refused by the test store").into(),
        }
    }

    #[derive(Debug)]
    struct FailingUpload {
        inner: Box<dyn MultipartUpload>,
        aborts: Arc<AtomicUsize>,
        slow: bool,
    }

    #[async_trait]
    impl MultipartUpload for FailingUpload {
        fn put_part(&mut self, data: PutPayload) -> UploadPart {
            let part = self.inner.put_part(data);
            let slow = self.slow;
            Box::pin(async move {
                if slow {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                part.await
            })
        }
        async fn complete(&mut self) -> object_store::Result<PutResult> {
            Err(refused("the completion"))
        }
        async fn abort(&mut self) -> object_store::Result<()> {
            self.aborts.fetch_add(1, Ordering::SeqCst);
            self.inner.abort().await
        }
    }

    #[async_trait]
    impl ObjectStore for FailingFinal {
        async fn put_opts(
            &self,
            _: &Path,
            _: PutPayload,
            _: PutOptions,
        ) -> object_store::Result<PutResult> {
            Err(refused("the final PUT"))
        }
        async fn put_multipart_opts(
            &self,
            location: &Path,
            opts: PutMultipartOptions,
        ) -> object_store::Result<Box<dyn MultipartUpload>> {
            Ok(Box::new(FailingUpload {
                inner: self.inner.put_multipart_opts(location, opts).await?,
                aborts: self.aborts.clone(),
                slow: self.slow_parts,
            }))
        }
        async fn get_opts(
            &self,
            location: &Path,
            options: GetOptions,
        ) -> object_store::Result<GetResult> {
            self.inner.get_opts(location, options).await
        }
        fn delete_stream(
            &self,
            locations: BoxStream<'static, object_store::Result<Path>>,
        ) -> BoxStream<'static, object_store::Result<Path>> {
            self.inner.delete_stream(locations)
        }
        fn list(
            &self,
            prefix: Option<&Path>,
        ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
            self.inner.list(prefix)
        }
        async fn list_with_delimiter(
            &self,
            prefix: Option<&Path>,
        ) -> object_store::Result<ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }
        async fn copy_opts(
            &self,
            from: &Path,
            to: &Path,
            options: CopyOptions,
        ) -> object_store::Result<()> {
            self.inner.copy_opts(from, to, options).await
        }
    }

    fn table(rows: i64) -> Table {
        Table::from_batch(
            RecordBatch::try_from_iter([
                (
                    "id",
                    Arc::new(Int64Array::from_iter_values(0..rows)) as ArrayRef,
                ),
                (
                    "name",
                    Arc::new(StringArray::from_iter_values(
                        (0..rows).map(|i| format!("name-{i}")),
                    )) as ArrayRef,
                ),
            ])
            .unwrap(),
        )
    }

    fn location(store: &Arc<FailingFinal>, key: &str) -> Location {
        Location {
            store: store.clone(),
            path: Path::from(key),
            url: format!("memory:///{key}"),
        }
    }

    #[tokio::test]
    async fn a_failed_final_put_or_completion_is_an_error_that_leaves_nothing() {
        for format in [
            Format::Parquet,
            Format::Csv,
            Format::JsonLines,
            Format::Json,
            Format::Arrow,
        ] {
            // 20 rows: one PUT; 20 000 rows in 4 KiB parts: a multipart upload.
            for (rows, multipart) in [(20, false), (20_000, true)] {
                let store = Arc::new(FailingFinal::default());
                let at = location(&store, &format!("out.{format}"));
                let err = write_in_parts(&at, &table(rows), format, "none", 4096)
                    .await
                    .expect_err("the final step fails");
                assert!(
                    err.to_string().contains("memory:///out.")
                        && format!("{err:#}").contains("refused by the test store"),
                    "{format} {rows}: {err:#}"
                );
                assert!(
                    matches!(
                        store.head(&at.path).await,
                        Err(object_store::Error::NotFound { .. })
                    ),
                    "{format} {rows}: no object is left"
                );
                assert_eq!(
                    store.aborts.load(Ordering::SeqCst),
                    usize::from(multipart),
                    "{format} {rows}: a multipart upload is aborted exactly once"
                );
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_multipart_write_aborts_its_upload() {
        let store = Arc::new(FailingFinal {
            slow_parts: true,
            ..FailingFinal::default()
        });
        let at = location(&store, "cancelled.csv");
        let big = table(50_000);
        let write = write_in_parts(&at, &big, Format::Csv, "none", 4096);
        // Parts take 200 ms each: the write is still running when it is dropped.
        let cancelled = tokio::time::timeout(std::time::Duration::from_millis(300), write).await;
        assert!(cancelled.is_err(), "the write was cancelled");
        for _ in 0..100 {
            if store.aborts.load(Ordering::SeqCst) > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(
            store.aborts.load(Ordering::SeqCst),
            1,
            "the dropped write aborted its multipart upload once"
        );
        assert!(matches!(
            store.head(&at.path).await,
            Err(object_store::Error::NotFound { .. })
        ));
    }
}
