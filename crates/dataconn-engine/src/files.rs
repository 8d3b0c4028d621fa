//! Files as tables: the connector's own object store and the exact objects it listed.
//!
//! The connector lists the objects a path or glob names (their ETags go into its cache key)
//! and hands them over with its store; the table scans exactly those objects, through that
//! store, so S3, Azure or an HTTP server are read by ranges rather than downloaded whole.
//! Every file's schema is read: files whose columns differ are refused naming both.

use std::sync::Arc;

use dataconn_core::{Error, ErrorKind, Result};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::file_format::FileFormat as DataFusionFormat;
use datafusion::datasource::file_format::arrow::ArrowFormat;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::SessionState;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::{ObjectMeta, ObjectStore};
use url::Url;

use crate::error::engine_error;
use crate::{Prepared, TableName};

/// How a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileFormat {
    /// Delimited text.
    Csv {
        /// The field delimiter (`b','`, `b'\t'`...).
        delimiter: u8,
        /// Whether the first line names the columns.
        has_header: bool,
    },
    /// Apache Parquet.
    Parquet,
    /// One JSON array of records.
    Json,
    /// One JSON record per line.
    JsonLines,
    /// Arrow IPC, file or stream.
    Arrow,
}

impl FileFormat {
    /// Whether files carry their own types (else types are inferred and may be widened
    /// across files: integers and floats to floats, anything and text to text).
    fn self_describing(self) -> bool {
        matches!(self, FileFormat::Parquet | FileFormat::Arrow)
    }

    fn datafusion(self, state: &SessionState) -> Arc<dyn DataFusionFormat> {
        match self {
            FileFormat::Csv {
                delimiter,
                has_header,
            } => Arc::new(
                CsvFormat::default()
                    .with_delimiter(delimiter)
                    .with_has_header(has_header),
            ),
            // The session's Parquet options (no view types), not the format's own defaults.
            FileFormat::Parquet => Arc::new(
                ParquetFormat::default().with_options(state.table_options().parquet.clone()),
            ),
            FileFormat::Json => Arc::new(JsonFormat::default().with_newline_delimited(false)),
            FileFormat::JsonLines => Arc::new(JsonFormat::default()),
            FileFormat::Arrow => Arc::new(ArrowFormat),
        }
    }
}

/// One object to scan.
#[derive(Debug, Clone)]
pub struct FileSource {
    /// The object's URL as the connector names it (`s3://bucket/key`, `file:///abs/path`);
    /// its scheme and authority name the store in the engine.
    pub url: String,
    /// The store holding it.
    pub store: Arc<dyn ObjectStore>,
    /// Its metadata, from the connector's listing.
    pub meta: ObjectMeta,
}

impl FileSource {
    /// The store's URL (`s3://bucket`) and the object's URL built from its path.
    fn urls(&self) -> Result<(Url, ListingTableUrl)> {
        let bad = |why: &str| {
            Error::new(
                ErrorKind::Internal,
                format!("expected an object URL, found {:?} ({why})", self.url),
            )
        };
        let parsed = Url::parse(&self.url).map_err(|_| bad("not a URL"))?;
        let base = format!(
            "{}://{}",
            parsed.scheme(),
            &parsed[url::Position::BeforeUsername..url::Position::BeforePath]
        );
        let store_url = Url::parse(&base).map_err(|_| bad("no authority"))?;
        let mut object_url = store_url.clone();
        object_url
            .path_segments_mut()
            .map_err(|()| bad("no path"))?
            .clear()
            .extend(self.meta.location.parts().map(|p| p.as_ref().to_owned()));
        let listing = ListingTableUrl::try_new(object_url, None)
            .map_err(|e| bad("not a table URL").with_source(e))?;
        Ok((store_url, listing))
    }
}

impl Prepared {
    /// Register `files` (one or more, all of one format) as the table `name`.
    ///
    /// # Errors
    /// [`ErrorKind::TypeConversion`] naming two files whose columns differ, or a file that is
    /// not in `format`; the store's error for a file that cannot be read.
    pub async fn register_files(
        &self,
        name: &TableName,
        files: Vec<FileSource>,
        format: FileFormat,
    ) -> Result<()> {
        if files.is_empty() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("expected files for the table {}, found none", name.name()),
            ));
        }
        let state = self.ctx().state();
        let reader = format.datafusion(&state);
        let mut urls = Vec::with_capacity(files.len());
        for file in &files {
            let (store_url, listing) = file.urls()?;
            self.ctx()
                .register_object_store(&store_url, file.store.clone());
            urls.push(listing);
        }
        // Boxed first, so that the stream's future is Send for any caller.
        let reads: Vec<BoxFuture<'_, Result<SchemaRef>>> = files
            .iter()
            .map(|file| file_schema(&state, reader.as_ref(), file, format, &self.sql).boxed())
            .collect();
        let schemas: Vec<SchemaRef> = futures::stream::iter(reads)
            .buffered(16)
            .try_collect()
            .await?;
        let schema = unify(&files, &schemas, format)?;
        let options = ListingOptions::new(reader).with_file_extension("");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(schema);
        let table = ListingTable::try_new(config).map_err(|e| engine_error(e, &self.sql))?;
        self.ctx()
            .register_table(name.reference.clone(), Arc::new(table))
            .map_err(|e| engine_error(e, &self.sql))?;
        Ok(())
    }
}

/// The schema of one file, as `format` reads it.
async fn file_schema(
    state: &SessionState,
    reader: &dyn DataFusionFormat,
    file: &FileSource,
    format: FileFormat,
    sql: &str,
) -> Result<SchemaRef> {
    let unreadable = |why: String| {
        Error::new(
            ErrorKind::TypeConversion,
            format!("{} could not be read as {format:?}: {why}", file.url),
        )
    };
    // A decoder that panics on a malformed file is an error naming the file, not a crash.
    let read = async {
        if format == FileFormat::Arrow {
            // DataFusion 55 cannot read an IPC file's schema from a streamed GET (anything but
            // the local filesystem): read it from the file's footer ourselves.
            return arrow_schema(file).await.map_err(unreadable);
        }
        reader
            .infer_schema(state, &file.store, std::slice::from_ref(&file.meta))
            .await
            .map_err(|e| unreadable(engine_error(e, sql).message().to_owned()))
    };
    std::panic::AssertUnwindSafe(read)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            Err(unreadable(
                "its decoder failed on malformed bytes".to_owned(),
            ))
        })
}

/// The most bytes read from the head of an Arrow IPC stream for its schema.
const STREAM_SCHEMA_BYTES: u64 = 16 << 20;

/// The schema of an Arrow IPC object: from the footer of the file format (two ranged reads),
/// else from the first message of the stream format.
async fn arrow_schema(file: &FileSource) -> std::result::Result<SchemaRef, String> {
    use object_store::ObjectStoreExt;
    const MAGIC: &[u8] = b"ARROW1";
    let (store, path, size) = (&file.store, &file.meta.location, file.meta.size);
    if size >= 18 {
        let tail = store
            .get_range(path, size - 10..size)
            .await
            .map_err(|e| e.to_string())?;
        // A server may answer a range with fewer bytes than asked for.
        if tail.len() == 10 && &tail[4..] == MAGIC {
            let footer_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
            let start = (size - 10)
                .checked_sub(footer_len)
                .ok_or("the footer is longer than the file")?;
            let footer = store
                .get_range(path, start..size - 10)
                .await
                .map_err(|e| e.to_string())?
                .to_vec();
            let footer = arrow::ipc::root_as_footer(&footer).map_err(|e| e.to_string())?;
            let schema = footer.schema().ok_or("the footer holds no schema")?;
            return Ok(Arc::new(arrow::ipc::convert::fb_to_schema(schema)));
        }
    }
    // The schema is the stream's first message: its head is enough, and a huge (or hostile)
    // object is never read whole for it.
    let bytes = store
        .get_range(path, 0..size.min(STREAM_SCHEMA_BYTES))
        .await
        .map_err(|e| e.to_string())?;
    let reader = arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
        .map_err(|e| e.to_string())?;
    Ok(reader.schema())
}

/// One schema for every file: the same column names in the same order; the same types, or
/// for inferred formats types one widens to.
fn unify(files: &[FileSource], schemas: &[SchemaRef], format: FileFormat) -> Result<SchemaRef> {
    let first = &schemas[0];
    let mut fields: Vec<Field> = first.fields().iter().map(|f| f.as_ref().clone()).collect();
    for (file, schema) in files.iter().zip(schemas).skip(1) {
        let names = |s: &Schema| {
            s.fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if names(first) != names(schema) {
            return Err(mismatch(
                &files[0].url,
                &file.url,
                format!("columns {} vs {}", names(first), names(schema)),
            ));
        }
        for (field, other) in fields.iter_mut().zip(schema.fields()) {
            if field.data_type() == other.data_type() {
                continue;
            }
            let widened = (!format.self_describing())
                .then(|| widen(field.data_type(), other.data_type()))
                .flatten();
            match widened {
                Some(t) => *field = field.clone().with_data_type(t),
                None => {
                    return Err(mismatch(
                        &files[0].url,
                        &file.url,
                        format!(
                            "{} is {} vs {}",
                            field.name(),
                            field.data_type(),
                            other.data_type()
                        ),
                    ));
                }
            }
        }
    }
    let fields: Vec<Field> = fields.into_iter().map(|f| f.with_nullable(true)).collect();
    Ok(Arc::new(Schema::new(fields)))
}

fn widen(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::{Float64, Int64, Null, Utf8};
    Some(match (a, b) {
        (Null, t) | (t, Null) => t.clone(),
        (Int64, Float64) | (Float64, Int64) => Float64,
        (Utf8, _) | (_, Utf8) => Utf8,
        _ => return None,
    })
}

fn mismatch(first: &str, other: &str, what: String) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!(
            "expected the files of one table to share one schema; {first} and {other} differ ({what})"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inferred_types_widen_and_others_do_not() {
        assert_eq!(
            widen(&DataType::Int64, &DataType::Float64),
            Some(DataType::Float64)
        );
        assert_eq!(
            widen(&DataType::Boolean, &DataType::Utf8),
            Some(DataType::Utf8)
        );
        assert_eq!(
            widen(&DataType::Null, &DataType::Date32),
            Some(DataType::Date32)
        );
        assert_eq!(widen(&DataType::Boolean, &DataType::Int64), None);
    }
}
