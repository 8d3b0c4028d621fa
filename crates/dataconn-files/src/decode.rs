//! Bytes of one object into an Arrow [`Table`], per format; Parquet straight from the store.

use std::io::Cursor;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{RecordBatch, RecordBatchReader};
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use dataconn_core::{Error, ErrorKind, Result, Table};
use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

use crate::config::Limits;
use crate::format::Format;
use crate::read::ReadOptions;
use crate::store::{Location, get_bounded};

fn bad(url: &str, format: Format, why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!("{url} could not be read as {format} (the format was {why})"),
    )
}

/// Decode a whole object's bytes (already decompressed).
pub(crate) fn decode(
    bytes: Bytes,
    format: Format,
    options: &ReadOptions,
    url: &str,
    why: &str,
) -> Result<Table> {
    let table = match format {
        Format::Csv | Format::Tsv => csv(bytes, format, options, url, why)?,
        Format::JsonLines => json_lines(bytes, options, url, why)?,
        Format::Json => json_array(bytes, options, url, why)?,
        Format::Arrow => arrow_ipc(bytes, url, why)?,
        Format::Parquet => parquet_sync(bytes, options, url, why)?,
        Format::Text => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{url} is text, not a table: read it with read_text"),
            ));
        }
    };
    finish(table, format, options, url)
}

/// Decode Parquet from anything the sync reader can read by ranges: bytes in memory, or a
/// local file (read with positioned reads, no copy of the whole file).
pub(crate) fn parquet_sync<R: parquet::file::reader::ChunkReader + 'static>(
    source: R,
    options: &ReadOptions,
    url: &str,
    why: &str,
) -> Result<Table> {
    let format = Format::Parquet;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(source)
        .map_err(|e| bad(url, format, why).with_source(e))?;
    let mask = projection(reader.parquet_schema(), reader.schema(), options, url)?;
    let mut builder = reader
        .with_projection(mask)
        .with_batch_size(options.batch_rows);
    if let Some(limit) = options.limit {
        builder = builder.with_limit(limit);
    }
    let reader = builder
        .build()
        .map_err(|e| bad(url, format, why).with_source(e))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(url, format, why).with_source(e))?;
    Table::try_new(schema, batches)
}

/// Apply the column selection and row limit to formats that cannot push them down.
fn finish(table: Table, format: Format, options: &ReadOptions, url: &str) -> Result<Table> {
    let table = match (&options.columns, format) {
        (Some(columns), Format::JsonLines | Format::Json | Format::Arrow) => {
            select(&table, columns, url)?
        }
        _ => table,
    };
    Ok(match options.limit {
        Some(limit) if table.num_rows() > limit => table.head(limit),
        _ => table,
    })
}

fn missing_columns(url: &str, wanted: &[String], have: &[&str]) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("expected the columns {wanted:?} in {url}, found only {have:?}"),
    )
}

fn select(table: &Table, columns: &[String], url: &str) -> Result<Table> {
    let indices = columns
        .iter()
        .map(|c| {
            table
                .schema()
                .index_of(c)
                .map_err(|_| missing_columns(url, columns, &table.column_names()))
        })
        .collect::<Result<Vec<_>>>()?;
    let schema = Arc::new(table.schema().project(&indices)?);
    let batches = table
        .batches()
        .iter()
        .map(|b| b.project(&indices))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Table::try_new(schema, batches)
}

fn csv(bytes: Bytes, format: Format, options: &ReadOptions, url: &str, why: &str) -> Result<Table> {
    let delimiter = options
        .delimiter
        .unwrap_or(if format == Format::Tsv { b'\t' } else { b',' });
    let csv_format = arrow::csv::reader::Format::default()
        .with_header(options.has_header)
        .with_delimiter(delimiter);
    let (schema, _) = csv_format
        .infer_schema(Cursor::new(&bytes), Some(options.infer_rows))
        .map_err(|e| bad(url, format, why).with_source(e))?;
    let schema = Arc::new(schema);
    let mut builder = arrow::csv::ReaderBuilder::new(schema.clone())
        .with_format(csv_format)
        .with_batch_size(options.batch_rows);
    if let Some(columns) = &options.columns {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let indices = columns
            .iter()
            .map(|c| {
                schema
                    .index_of(c)
                    .map_err(|_| missing_columns(url, columns, &names))
            })
            .collect::<Result<Vec<_>>>()?;
        builder = builder.with_projection(indices);
    }
    if let Some(limit) = options.limit {
        builder = builder.with_bounds(0, limit);
    }
    let reader = builder
        .build(Cursor::new(bytes))
        .map_err(|e| bad(url, format, why).with_source(e))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::new(
                ErrorKind::TypeConversion,
                format!("malformed CSV in {url}: {e}"),
            )
        })?;
    Table::try_new(schema, batches)
}

fn json_lines(bytes: Bytes, options: &ReadOptions, url: &str, why: &str) -> Result<Table> {
    let (schema, _) =
        arrow::json::reader::infer_json_schema(Cursor::new(&bytes), Some(options.infer_rows))
            .map_err(|e| {
                Error::new(
                    ErrorKind::TypeConversion,
                    format!("malformed JSON Lines in {url}: {e}"),
                )
            })?;
    let schema: SchemaRef = Arc::new(schema);
    let reader = arrow::json::ReaderBuilder::new(schema.clone())
        .with_batch_size(options.batch_rows)
        .build(Cursor::new(bytes))
        .map_err(|e| bad(url, Format::JsonLines, why).with_source(e))?;
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::new(
                ErrorKind::TypeConversion,
                format!("malformed JSON Lines in {url}: {e}"),
            )
        })?;
    Table::try_new(schema, batches)
}

fn json_array(bytes: Bytes, options: &ReadOptions, url: &str, why: &str) -> Result<Table> {
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::new(
            ErrorKind::TypeConversion,
            format!(
                "malformed JSON in {url} at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let serde_json::Value::Array(records) = value else {
        return Err(Error::new(
            ErrorKind::TypeConversion,
            format!(
                "expected {url} to hold a JSON array of records (the format was {why}), found a single \
                 value; for one record per line use the jsonl format"
            ),
        ));
    };
    if let Some(i) = records.iter().position(|r| !r.is_object()) {
        return Err(Error::new(
            ErrorKind::TypeConversion,
            format!(
                "expected every item of the JSON array in {url} to be an object, found item {i} is not"
            ),
        ));
    }
    let schema = arrow::json::reader::infer_json_schema_from_iterator(
        records
            .iter()
            .take(options.infer_rows)
            .map(|r| Ok(r.clone())),
    )
    .map_err(|e| Error::new(ErrorKind::TypeConversion, format!("JSON in {url}: {e}")))?;
    let schema: SchemaRef = Arc::new(schema);
    let mut decoder = arrow::json::ReaderBuilder::new(schema.clone())
        .with_batch_size(options.batch_rows)
        .build_decoder()?;
    let mut batches = Vec::new();
    for chunk in records.chunks(options.batch_rows.max(1)) {
        decoder
            .serialize(chunk)
            .map_err(|e| Error::new(ErrorKind::TypeConversion, format!("JSON in {url}: {e}")))?;
        if let Some(batch) = decoder.flush()? {
            batches.push(batch);
        }
    }
    Table::try_new(schema, batches)
}

/// An Arrow IPC file or stream from the store, decoded as untrusted input (core's
/// [`Table::from_ipc_bytes_limited`]: the sizes it declares are checked before anything is
/// allocated, a decoder panic is an error), to at most what a compressed file may expand to.
fn arrow_ipc(bytes: Bytes, url: &str, why: &str) -> Result<Table> {
    Table::from_ipc_bytes_limited(&bytes, url, crate::config::DEFAULT_MAX_DECOMPRESSED_BYTES)
        .map_err(|e| bad(url, Format::Arrow, why).with_source(e))
}

fn projection(
    parquet_schema: &parquet::schema::types::SchemaDescriptor,
    arrow_schema: &SchemaRef,
    options: &ReadOptions,
    url: &str,
) -> Result<ProjectionMask> {
    let Some(columns) = &options.columns else {
        return Ok(ProjectionMask::all());
    };
    let names: Vec<&str> = arrow_schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let indices = columns
        .iter()
        .map(|c| {
            names
                .iter()
                .position(|n| n == c)
                .ok_or_else(|| missing_columns(url, columns, &names))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ProjectionMask::roots(parquet_schema, indices))
}

/// A Parquet file read through ranged GETs: the footer first, then only the column chunks the
/// projection needs.
struct ObjectReader {
    store: Arc<dyn ObjectStore>,
    meta: ObjectMeta,
    /// Set when the server cannot serve byte ranges (a plain static HTTP server).
    ranges_unsupported: Arc<std::sync::atomic::AtomicBool>,
}

impl ObjectReader {
    fn note(&self, err: object_store::Error) -> parquet::errors::ParquetError {
        if matches!(err, object_store::Error::NotSupported { .. }) {
            self.ranges_unsupported
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        parquet::errors::ParquetError::External(Box::new(err))
    }
}

impl AsyncFileReader for ObjectReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            self.store
                .get_range(&self.meta.location, range)
                .await
                .map_err(|e| self.note(e))
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.meta.location, &ranges)
                .await
                .map_err(|e| self.note(e))
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.meta.size;
            let metadata = ParquetMetaDataReader::new()
                .with_prefetch_hint(Some(64 * 1024))
                .load_and_finish(&mut *self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// Read a Parquet object with ranged reads, projection and limit pushed down. A server that
/// cannot serve ranges gets one whole GET instead (at most `max_object_bytes`).
pub(crate) async fn parquet_from_store(
    location: &Location,
    meta: ObjectMeta,
    options: &ReadOptions,
    why: &str,
    limits: &Limits,
    credentials: &str,
) -> Result<Table> {
    let url = location.url.as_str();
    let unsupported = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Decoded on this task (not a blocking thread): a decoder that panics on a malformed file
    // is an error naming the file, not a crash.
    let ranged = std::panic::AssertUnwindSafe(parquet_ranged(
        location.store.clone(),
        meta,
        options,
        url,
        why,
        unsupported.clone(),
    ))
    .catch_unwind()
    .await
    .unwrap_or_else(|_| {
        Err(bad(url, Format::Parquet, why).with_context("while", "decoding malformed bytes"))
    });
    match ranged {
        Err(_) if unsupported.load(std::sync::atomic::Ordering::Relaxed) => {
            tracing::debug!(%url, "the server cannot serve byte ranges; reading the whole Parquet file");
            let bytes = get_bounded(location, limits.max_object_bytes, credentials).await?;
            decode(bytes, Format::Parquet, options, url, why)
        }
        other => other,
    }
}

async fn parquet_ranged(
    store: Arc<dyn ObjectStore>,
    meta: ObjectMeta,
    options: &ReadOptions,
    url: &str,
    why: &str,
    ranges_unsupported: Arc<std::sync::atomic::AtomicBool>,
) -> Result<Table> {
    let fail = |e: parquet::errors::ParquetError| bad(url, Format::Parquet, why).with_source(e);
    let reader = ObjectReader {
        store,
        meta,
        ranges_unsupported,
    };
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(fail)?;
    let mask = projection(builder.parquet_schema(), builder.schema(), options, url)?;
    let mut builder = builder
        .with_projection(mask)
        .with_batch_size(options.batch_rows);
    if let Some(limit) = options.limit {
        builder = builder.with_limit(limit);
    }
    let stream = builder.build().map_err(fail)?;
    let schema = stream.schema().clone();
    let batches: Vec<RecordBatch> = stream.try_collect().await.map_err(fail)?;
    Table::try_new(schema, batches)
}
