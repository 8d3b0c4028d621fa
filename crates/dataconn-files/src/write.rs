//! Writes: a [`Table`] in a format, raw bytes, deletes. Every write drops the connection's cached
//! reads, and a failed write leaves no partial object (multipart uploads are aborted; the local
//! filesystem writes to a staging file and renames).

use std::sync::Arc;

use bytes::Bytes;
use dataconn_core::{Error, ErrorKind, Result, Table};
use object_store::ObjectStoreExt;
use object_store::buffered::BufWriter;
use tokio::io::AsyncWriteExt;

use crate::format::Format;
use crate::store::{Location, object_error};

/// Parts above this size go up as multipart uploads.
const PART_BYTES: usize = 10 * 1024 * 1024;

fn encode_error(
    url: &str,
    format: Format,
    e: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::new(ErrorKind::Io, format!("could not write {url} as {format}")).with_source(e)
}

/// Encode `table` as `format` into `location`, streaming in parts.
pub(crate) async fn write_table(
    location: &Location,
    table: &Table,
    format: Format,
    credentials: &str,
) -> Result<()> {
    let mut writer = BufWriter::with_capacity(
        Arc::clone(&location.store),
        location.path.clone(),
        PART_BYTES,
    );
    let result = encode(&mut writer, table, format, &location.url).await;
    match result {
        // Parquet's writer completes the upload itself when it writes the footer.
        Ok(()) if format == Format::Parquet => Ok(()),
        Ok(()) => writer.shutdown().await.map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("could not finish writing {}", location.url),
            )
            .with_source(e)
        }),
        Err(e) => {
            // Leave nothing behind: abort the multipart upload (or drop the staged file).
            if let Err(abort) = writer.abort().await {
                tracing::warn!(url = %location.url, error = %object_error(abort, &location.url, credentials), "aborting a failed write failed");
            }
            Err(e)
        }
    }
}

async fn encode(writer: &mut BufWriter, table: &Table, format: Format, url: &str) -> Result<()> {
    match format {
        Format::Parquet => {
            let mut parquet = parquet::arrow::AsyncArrowWriter::try_new(
                &mut *writer,
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
                .finish()
                .await
                .map_err(|e| encode_error(url, format, e))?;
        }
        Format::Csv | Format::Tsv | Format::JsonLines | Format::Arrow => {
            // Encode batch by batch into a buffer, and hand each buffer on, so memory stays at
            // about one batch however large the table.
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
                        flush(writer, &mut buffer, url).await?;
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
                        flush(writer, &mut buffer, url).await?;
                    }
                }
                _ => {
                    let mut ipc =
                        arrow::ipc::writer::FileWriter::try_new(&mut buffer, table.schema())?;
                    for batch in table.batches() {
                        ipc.write(batch)?;
                    }
                    ipc.finish()?;
                }
            }
            flush(writer, &mut buffer, url).await?;
        }
        Format::Json => {
            let mut buffer = Vec::new();
            table.write_json(&mut buffer)?;
            flush(writer, &mut buffer, url).await?;
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

async fn flush(writer: &mut BufWriter, buffer: &mut Vec<u8>, url: &str) -> Result<()> {
    if buffer.is_empty() {
        return Ok(());
    }
    writer
        .write_all(buffer)
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("could not write {url}")).with_source(e))?;
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
