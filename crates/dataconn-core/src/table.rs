//! [`Table`]: a query result as Arrow record batches.
//!
//! A `Table` is a schema plus shared record batches. Cloning one is a few reference-count
//! increments, so a cache hit hands out the very same Arrow buffers, never a copy. It prints as
//! a pretty table, writes CSV and JSON, and can be consumed as a stream of batches.

use std::fmt;
use std::io::Write;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::SchemaRef;
use futures::stream::{self, BoxStream, StreamExt};

use crate::error::{Error, ErrorKind, Result};

/// A query result: an Arrow schema and its record batches.
#[derive(Clone)]
pub struct Table {
    schema: SchemaRef,
    batches: Arc<[RecordBatch]>,
}

impl Table {
    /// A table from batches that all have `schema`.
    ///
    /// # Errors
    /// [`ErrorKind::Internal`] when a batch's schema differs from `schema`.
    pub fn try_new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Result<Table> {
        if let Some(bad) = batches.iter().position(|b| b.schema() != schema) {
            return Err(Error::new(
                ErrorKind::Internal,
                format!(
                    "expected every batch to have the table's schema {schema:?}, found batch {bad} \
                     with {:?}",
                    batches[bad].schema()
                ),
            ));
        }
        Ok(Table {
            schema,
            batches: batches.into(),
        })
    }

    /// An empty table with `schema`.
    pub fn empty(schema: SchemaRef) -> Table {
        Table {
            schema,
            batches: Arc::new([]),
        }
    }

    /// A table of one batch.
    pub fn from_batch(batch: RecordBatch) -> Table {
        Table {
            schema: batch.schema(),
            batches: Arc::new([batch]),
        }
    }

    /// A table of one batch from named columns of equal length.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use arrow::array::{ArrayRef, Int64Array, StringArray};
    ///
    /// let table = dataconn_core::Table::from_columns([
    ///     ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
    ///     ("label", Arc::new(StringArray::from(vec!["one", "two"]))),
    /// ])?;
    /// assert_eq!((table.num_rows(), table.num_columns()), (2, 2));
    /// # Ok::<(), dataconn_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`crate::ErrorKind::TypeConversion`] when the columns differ in length.
    pub fn from_columns<N: AsRef<str>>(
        columns: impl IntoIterator<Item = (N, ArrayRef)>,
    ) -> Result<Table> {
        Ok(Table::from_batch(RecordBatch::try_from_iter(columns)?))
    }

    /// The Arrow schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The record batches.
    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }

    /// Total number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// Number of columns.
    pub fn num_columns(&self) -> usize {
        self.schema.fields().len()
    }

    /// Column names, in order.
    pub fn column_names(&self) -> Vec<&str> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect()
    }

    /// One column as a single array (the batches' pieces concatenated).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] naming the column and the table's columns.
    pub fn column(&self, name: &str) -> Result<ArrayRef> {
        let index = self.schema.index_of(name).map_err(|_| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "expected a column named `{name}`, found only {:?}",
                    self.column_names()
                ),
            )
        })?;
        let pieces: Vec<&dyn arrow::array::Array> = self
            .batches
            .iter()
            .map(|b| b.column(index).as_ref())
            .collect();
        if pieces.is_empty() {
            return Ok(arrow::array::new_empty_array(
                self.schema.field(index).data_type(),
            ));
        }
        Ok(arrow::compute::concat(&pieces)?)
    }

    /// All rows as one record batch.
    ///
    /// # Errors
    /// An Arrow error if the batches cannot be concatenated (they always share a schema).
    pub fn to_record_batch(&self) -> Result<RecordBatch> {
        Ok(arrow::compute::concat_batches(
            &self.schema,
            self.batches.iter(),
        )?)
    }

    /// The first `rows` rows (zero-copy slices of the same buffers).
    pub fn head(&self, rows: usize) -> Table {
        let mut left = rows;
        let mut batches = Vec::new();
        for batch in self.batches.iter() {
            if left == 0 {
                break;
            }
            let take = batch.num_rows().min(left);
            batches.push(batch.slice(0, take));
            left -= take;
        }
        Table {
            schema: self.schema.clone(),
            batches: batches.into(),
        }
    }

    /// Bytes held by the Arrow buffers (what the cache's byte budget counts).
    pub fn byte_size(&self) -> usize {
        self.batches
            .iter()
            .map(RecordBatch::get_array_memory_size)
            .sum()
    }

    /// Write the table as CSV with a header row.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when writing fails.
    pub fn write_csv<W: Write>(&self, out: W) -> Result<()> {
        let mut writer = arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(out);
        for batch in self.batches.iter() {
            writer.write(batch).map_err(io_error)?;
        }
        Ok(())
    }

    /// Write the table as newline-delimited JSON objects.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when writing fails.
    pub fn write_ndjson<W: Write>(&self, out: W) -> Result<()> {
        let mut writer = arrow::json::LineDelimitedWriter::new(out);
        for batch in self.batches.iter() {
            writer.write(batch).map_err(io_error)?;
        }
        writer.finish().map_err(io_error)
    }

    /// Write the table as one JSON array of objects.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when writing fails.
    pub fn write_json<W: Write>(&self, out: W) -> Result<()> {
        let mut writer = arrow::json::ArrayWriter::new(out);
        for batch in self.batches.iter() {
            writer.write(batch).map_err(io_error)?;
        }
        writer.finish().map_err(io_error)
    }

    /// The table as CSV text.
    ///
    /// # Errors
    /// As [`Table::write_csv`].
    pub fn to_csv(&self) -> Result<String> {
        let mut out = Vec::new();
        self.write_csv(&mut out)?;
        String::from_utf8(out)
            .map_err(|e| Error::internal("CSV writer produced invalid UTF-8").with_source(e))
    }

    /// The table as a JSON array of objects.
    ///
    /// # Errors
    /// As [`Table::write_json`].
    pub fn to_json(&self) -> Result<String> {
        let mut out = Vec::new();
        self.write_json(&mut out)?;
        String::from_utf8(out)
            .map_err(|e| Error::internal("JSON writer produced invalid UTF-8").with_source(e))
    }

    /// The table as an Arrow IPC stream (what a shared cache stores; any Arrow library reads it).
    ///
    /// # Errors
    /// An Arrow error if encoding fails.
    pub fn to_ipc_bytes(&self) -> Result<Vec<u8>> {
        self.to_ipc_bytes_with(false)
    }

    /// The table as an Arrow IPC stream, its bodies zstd-compressed when `compress` (readable
    /// by any Arrow implementation with IPC compression).
    ///
    /// # Errors
    /// An Arrow error if encoding fails.
    pub fn to_ipc_bytes_with(&self, compress: bool) -> Result<Vec<u8>> {
        let mut options = arrow::ipc::writer::IpcWriteOptions::default();
        if compress {
            options = options.try_with_compression(Some(arrow::ipc::CompressionType::ZSTD))?;
        }
        let mut out = Vec::new();
        let mut writer = arrow::ipc::writer::StreamWriter::try_new_with_options(
            &mut out,
            &self.schema,
            options,
        )?;
        for batch in self.batches.iter() {
            writer.write(batch)?;
        }
        writer.finish()?;
        drop(writer);
        Ok(out)
    }

    /// A table from Arrow IPC bytes (stream or file format) from outside the process, decoding
    /// to at most [`crate::ipc::DEFAULT_MAX_DECODED_BYTES`].
    ///
    /// # Errors
    /// As [`Table::from_ipc_bytes_limited`].
    pub fn from_ipc_bytes(bytes: &[u8]) -> Result<Table> {
        Table::from_ipc_bytes_limited(
            bytes,
            "Arrow IPC bytes",
            crate::ipc::DEFAULT_MAX_DECODED_BYTES,
        )
    }

    /// A table from untrusted Arrow IPC bytes (stream or file format) named `what` in errors,
    /// decoding to at most `max_decoded_bytes`; a malformed input is an error, never a panic.
    ///
    /// # Errors
    /// [`ErrorKind::TypeConversion`] when the bytes are not Arrow IPC, declare more than the
    /// limit, or do not decode.
    pub fn from_ipc_bytes_limited(
        bytes: &[u8],
        what: &str,
        max_decoded_bytes: u64,
    ) -> Result<Table> {
        let (schema, batches) =
            crate::ipc::decode_untrusted(bytes, what, max_decoded_bytes, |bytes| {
                let cursor = std::io::Cursor::new(bytes);
                if bytes.starts_with(b"ARROW1") {
                    let reader = arrow::ipc::reader::FileReader::try_new(cursor, None)?;
                    let schema = reader.schema();
                    Ok((schema, reader.collect::<std::result::Result<Vec<_>, _>>()?))
                } else {
                    let reader = arrow::ipc::reader::StreamReader::try_new(cursor, None)?;
                    let schema = reader.schema();
                    Ok((schema, reader.collect::<std::result::Result<Vec<_>, _>>()?))
                }
            })?;
        Table::try_new(schema, batches)
    }

    /// The batches as a stream (for code written against streams of results).
    pub fn into_stream(self) -> BoxStream<'static, Result<RecordBatch>> {
        let batches = self.batches;
        stream::iter((0..batches.len()).map(move |i| Ok(batches[i].clone()))).boxed()
    }
}

fn io_error(err: arrow::error::ArrowError) -> Error {
    Error::new(ErrorKind::Io, "could not write the table").with_source(err)
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.batches.is_empty() {
            let empty = RecordBatch::new_empty(self.schema.clone());
            return write!(
                f,
                "{}",
                arrow::util::pretty::pretty_format_batches(&[empty]).map_err(|_| fmt::Error)?
            );
        }
        let shown =
            arrow::util::pretty::pretty_format_batches(&self.batches).map_err(|_| fmt::Error)?;
        write!(f, "{shown}")
    }
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("columns", &self.column_names())
            .field("rows", &self.num_rows())
            .field("batches", &self.batches.len())
            .finish()
    }
}

impl PartialEq for Table {
    fn eq(&self, other: &Self) -> bool {
        self.schema == other.schema
            && match (self.to_record_batch(), other.to_record_batch()) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    fn sample() -> Table {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("pet", DataType::Utf8, true),
        ]));
        let b1 = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2])),
                Arc::new(StringArray::from(vec![Some("fish"), None])),
            ],
        )
        .unwrap();
        let b2 = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![3])),
                Arc::new(StringArray::from(vec!["cat"])),
            ],
        )
        .unwrap();
        Table::try_new(schema, vec![b1, b2]).unwrap()
    }

    #[test]
    fn counts_and_columns_span_batches() {
        let t = sample();
        assert_eq!(t.num_rows(), 3);
        assert_eq!(t.column_names(), ["id", "pet"]);
        let ids = t.column("id").unwrap();
        assert_eq!(ids.len(), 3);
        let err = t.column("owner").unwrap_err();
        assert!(err.message().contains("\"pet\""), "{err}");
    }

    #[test]
    fn head_slices_across_batches() {
        let t = sample();
        assert_eq!(t.head(2).num_rows(), 2);
        assert_eq!(t.head(3).batches().len(), 2);
        assert_eq!(t.head(99).num_rows(), 3);
        assert_eq!(t.head(0).num_rows(), 0);
    }

    #[test]
    fn prints_and_writes_every_format() {
        let t = sample();
        let shown = t.to_string();
        assert!(shown.contains("| fish |"), "{shown}");
        assert_eq!(t.to_csv().unwrap(), "id,pet\n1,fish\n2,\n3,cat\n");
        assert_eq!(
            t.to_json().unwrap(),
            r#"[{"id":1,"pet":"fish"},{"id":2},{"id":3,"pet":"cat"}]"#
        );
        let mut nd = Vec::new();
        t.write_ndjson(&mut nd).unwrap();
        assert_eq!(String::from_utf8(nd).unwrap().lines().count(), 3);
    }

    #[test]
    fn ipc_bytes_round_trip() {
        let t = sample();
        let back = Table::from_ipc_bytes(&t.to_ipc_bytes().unwrap()).unwrap();
        assert_eq!(back, t);
        let back = Table::from_ipc_bytes(&t.to_ipc_bytes_with(true).unwrap()).unwrap();
        assert_eq!(back, t, "zstd-compressed IPC reads back");
        assert!(Table::from_ipc_bytes(b"not arrow").is_err());
    }

    #[tokio::test]
    async fn streams_its_batches() {
        let rows: Vec<usize> = sample()
            .into_stream()
            .map(|b| b.unwrap().num_rows())
            .collect()
            .await;
        assert_eq!(rows, [2, 1]);
    }
}
