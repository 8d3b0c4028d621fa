//! [`Assembler`]: rows of decoded columns, cut into record batches.
//!
//! Text and binary columns use 32-bit offsets, so one array holds at most 2 GiB of bytes: a
//! batch is cut early once a variable-width column holds [`BATCH_BYTES`], whatever its row
//! count.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use dataconn_core::{Result, Table};

use super::Column;
use super::decimal::DecimalSpec;
use crate::BATCH_BYTES;

/// Rows of decoded columns, cut into record batches.
pub(crate) struct Assembler {
    columns: Vec<Column>,
    batch_rows: usize,
    /// Bytes a text or binary column may hold before the batch is cut ([`BATCH_BYTES`]).
    batch_bytes: usize,
    /// The columns that hold text or binary data, checked against `batch_bytes` after a row.
    var_width: Vec<usize>,
    in_batch: usize,
    /// Fixed after the first batch when streaming, so every batch has one schema.
    schema: Option<SchemaRef>,
    batches: Vec<RecordBatch>,
}

impl Assembler {
    pub(crate) fn new(columns: Vec<Column>, batch_rows: usize) -> Assembler {
        let var_width = (0..columns.len())
            .filter(|i| columns[*i].is_var_width())
            .collect();
        Assembler {
            columns,
            batch_rows,
            batch_bytes: BATCH_BYTES,
            var_width,
            in_batch: 0,
            schema: None,
            batches: Vec::new(),
        }
    }

    pub(crate) fn columns(&mut self) -> &mut [Column] {
        &mut self.columns
    }

    /// Cut batches once a text or binary column holds `bytes` (tests lower it).
    #[cfg(test)]
    pub(crate) fn with_batch_bytes(mut self, bytes: usize) -> Assembler {
        self.batch_bytes = bytes;
        self
    }

    /// Count a finished row; returns true when a batch is full: `batch_rows` rows, or a text
    /// or binary column holding `batch_bytes`.
    #[inline]
    pub(crate) fn row_done(&mut self) -> bool {
        self.in_batch += 1;
        self.in_batch >= self.batch_rows
            || self
                .var_width
                .iter()
                .any(|i| self.columns[*i].var_bytes() >= self.batch_bytes)
    }

    /// Cut the rows so far into a batch with its own schema (decimals as their values need).
    pub(crate) fn cut(&mut self) -> Result<RecordBatch> {
        let specs: Vec<DecimalSpec> = match &self.schema {
            Some(schema) => schema
                .fields()
                .iter()
                .map(|f| DecimalSpec::of(f.data_type()))
                .collect(),
            None => self
                .columns
                .iter()
                .map(|c| c.needed(false))
                .collect::<Result<_>>()?,
        };
        let fields: Vec<Field> = self
            .columns
            .iter()
            .zip(&specs)
            .map(|(c, s)| c.arrow_type().field(c.name(), *s))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let arrays = self
            .columns
            .iter_mut()
            .zip(&specs)
            .map(|(c, s)| c.finish(*s))
            .collect::<Result<Vec<_>>>()?;
        let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(self.in_batch));
        self.in_batch = 0;
        Ok(RecordBatch::try_new_with_options(schema, arrays, &options)?)
    }

    /// Cut and keep the batch (for a whole-result read).
    pub(crate) fn cut_and_keep(&mut self) -> Result<()> {
        let batch = self.cut()?;
        self.batches.push(batch);
        Ok(())
    }

    /// Cut a batch for a stream: the first batch fixes the schema for all that follow.
    pub(crate) fn cut_for_stream(&mut self) -> Result<RecordBatch> {
        let batch = self.cut()?;
        if self.schema.is_none() {
            self.schema = Some(batch.schema());
        }
        Ok(batch)
    }

    pub(crate) fn pending_rows(&self) -> usize {
        self.in_batch
    }

    /// The whole result: batches unified to one schema (decimals as all their values need).
    pub(crate) fn finish(mut self) -> Result<Table> {
        if self.in_batch > 0 || self.batches.is_empty() {
            self.cut_and_keep()?;
        }
        let widest: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Ok(c.arrow_type().field(c.name(), c.needed(true)?)))
            .collect::<Result<_>>()?;
        let schema = Arc::new(Schema::new(widest));
        let batches = self
            .batches
            .into_iter()
            .filter(|b| b.num_rows() > 0)
            .map(|b| conform(b, &schema))
            .collect::<Result<Vec<_>>>()?;
        Table::try_new(schema, batches)
    }
}

/// Cast a batch's columns to `schema` (only undeclared decimal scales ever differ).
fn conform(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    if batch.schema() == *schema {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                // Not `safe`: a value that does not fit is an error, never a NULL.
                let options = arrow::compute::CastOptions {
                    safe: false,
                    ..Default::default()
                };
                Ok(arrow::compute::cast_with_options(
                    c,
                    f.data_type(),
                    &options,
                )?)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &options,
    )?)
}
