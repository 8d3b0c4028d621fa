//! Arrow columns for the server databases: a [`Target`] type per column, [`Datum`]s pushed into
//! it, and an [`Assembler`] that cuts record batches.
//!
//! Each backend decodes its wire values into `Datum`s (borrowing, never allocating for text or
//! bytes) and pushes them into the column's builder; lists nest a child column. Decimals are
//! gathered with their own scale and built at the column's declared scale, or, when the
//! database does not say, at the largest scale the result holds, so no digit is lost.

use std::sync::Arc;

use arrow::array::NullBufferBuilder;
use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Array,
    DurationMicrosecondBuilder, FixedSizeBinaryBuilder, Float32Builder, Float64Builder,
    Int8Builder, Int16Builder, Int32Builder, Int64Builder, IntervalMonthDayNanoBuilder, ListArray,
    NullArray, RecordBatch, StringBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
    UInt8Builder, UInt16Builder, UInt32Builder, UInt64Builder,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, IntervalMonthDayNano, Schema, SchemaRef, TimeUnit};
use dataconn_core::{Error, ErrorKind, Result, Table};

/// The Arrow type a column is built as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Null,
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Float32,
    Float64,
    Utf8,
    /// Text that holds JSON (tagged with Arrow's `arrow.json` extension).
    Json,
    Binary,
    Date32,
    Time64,
    /// Microseconds; `utc` marks an instant (time zone "UTC").
    Timestamp {
        utc: bool,
    },
    Duration,
    Interval,
    /// Sixteen bytes, tagged with Arrow's `arrow.uuid` extension.
    Uuid,
    /// Precision and scale when the database declares them.
    Decimal {
        declared: Option<(u8, i8)>,
    },
    List(Box<Target>),
}

impl Target {
    /// The Arrow type; for an undeclared decimal, at `scale`.
    fn data_type(&self, scale: i8) -> DataType {
        match self {
            Target::Null => DataType::Null,
            Target::Bool => DataType::Boolean,
            Target::Int8 => DataType::Int8,
            Target::Int16 => DataType::Int16,
            Target::Int32 => DataType::Int32,
            Target::Int64 => DataType::Int64,
            Target::UInt8 => DataType::UInt8,
            Target::UInt16 => DataType::UInt16,
            Target::UInt32 => DataType::UInt32,
            Target::UInt64 => DataType::UInt64,
            Target::Float32 => DataType::Float32,
            Target::Float64 => DataType::Float64,
            Target::Utf8 | Target::Json => DataType::Utf8,
            Target::Binary => DataType::Binary,
            Target::Date32 => DataType::Date32,
            Target::Time64 => DataType::Time64(TimeUnit::Microsecond),
            Target::Timestamp { utc } => {
                DataType::Timestamp(TimeUnit::Microsecond, utc.then(|| Arc::from("UTC")))
            }
            Target::Duration => DataType::Duration(TimeUnit::Microsecond),
            Target::Interval => DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano),
            Target::Uuid => DataType::FixedSizeBinary(16),
            Target::Decimal { declared } => {
                let (p, s) = declared.unwrap_or((38, scale));
                DataType::Decimal128(p, s)
            }
            Target::List(item) => DataType::List(Arc::new(item.field("item", scale))),
        }
    }

    /// The field of a column named `name`, with extension metadata for JSON and UUIDs.
    pub(crate) fn field(&self, name: &str, scale: i8) -> Field {
        let field = Field::new(name, self.data_type(scale), true);
        let extension = match self {
            Target::Json => "arrow.json",
            Target::Uuid => "arrow.uuid",
            _ => return field,
        };
        let metadata: std::collections::HashMap<String, String> =
            [("ARROW:extension:name".to_owned(), extension.to_owned())].into();
        field.with_metadata(metadata)
    }
}

/// One decoded value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Datum<'a> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F32(f32),
    F64(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since midnight.
    Time(i64),
    /// Microseconds since 1970-01-01 00:00.
    Timestamp(i64),
    /// Microseconds.
    Duration(i64),
    Interval(IntervalMonthDayNano),
    Uuid(&'a [u8]),
    /// Unscaled value and scale.
    Decimal(i128, u8),
}

struct DecimalColumn {
    declared: Option<(u8, i8)>,
    values: Vec<i128>,
    scales: Vec<u8>,
    validity: NullBufferBuilder,
}

struct ListColumn {
    child: Column,
    offsets: Vec<i32>,
    validity: NullBufferBuilder,
}

enum Builder {
    Null(usize),
    Bool(BooleanBuilder),
    I8(Int8Builder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    U8(UInt8Builder),
    U16(UInt16Builder),
    U32(UInt32Builder),
    U64(UInt64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Date32(Date32Builder),
    Time64(Time64MicrosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Duration(DurationMicrosecondBuilder),
    Interval(IntervalMonthDayNanoBuilder),
    Uuid(FixedSizeBinaryBuilder),
    Decimal(DecimalColumn),
    List(Box<ListColumn>),
}

/// A column being built.
pub(crate) struct Column {
    name: String,
    target: Target,
    builder: Builder,
}

fn out_of_range(column: &str, value: impl std::fmt::Display, target: &Target) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!("column `{column}`: the value {value} does not fit its Arrow type {target:?}"),
    )
}

impl Column {
    pub(crate) fn new(name: impl Into<String>, target: Target) -> Column {
        let builder = match &target {
            Target::Null => Builder::Null(0),
            Target::Bool => Builder::Bool(BooleanBuilder::new()),
            Target::Int8 => Builder::I8(Int8Builder::new()),
            Target::Int16 => Builder::I16(Int16Builder::new()),
            Target::Int32 => Builder::I32(Int32Builder::new()),
            Target::Int64 => Builder::I64(Int64Builder::new()),
            Target::UInt8 => Builder::U8(UInt8Builder::new()),
            Target::UInt16 => Builder::U16(UInt16Builder::new()),
            Target::UInt32 => Builder::U32(UInt32Builder::new()),
            Target::UInt64 => Builder::U64(UInt64Builder::new()),
            Target::Float32 => Builder::F32(Float32Builder::new()),
            Target::Float64 => Builder::F64(Float64Builder::new()),
            Target::Utf8 | Target::Json => Builder::Utf8(StringBuilder::new()),
            Target::Binary => Builder::Binary(BinaryBuilder::new()),
            Target::Date32 => Builder::Date32(Date32Builder::new()),
            Target::Time64 => Builder::Time64(Time64MicrosecondBuilder::new()),
            Target::Timestamp { .. } => Builder::Timestamp(TimestampMicrosecondBuilder::new()),
            Target::Duration => Builder::Duration(DurationMicrosecondBuilder::new()),
            Target::Interval => Builder::Interval(IntervalMonthDayNanoBuilder::new()),
            Target::Uuid => Builder::Uuid(FixedSizeBinaryBuilder::new(16)),
            Target::Decimal { declared } => Builder::Decimal(DecimalColumn {
                declared: *declared,
                values: Vec::new(),
                scales: Vec::new(),
                validity: NullBufferBuilder::new(0),
            }),
            Target::List(item) => Builder::List(Box::new(ListColumn {
                child: Column::new("item", (**item).clone()),
                offsets: vec![0],
                validity: NullBufferBuilder::new(0),
            })),
        };
        Column {
            name: name.into(),
            target,
            builder,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// Append one value, converting within the column's type family.
    #[inline]
    pub(crate) fn push(&mut self, datum: Datum<'_>) -> Result<()> {
        macro_rules! int {
            ($b:expr, $v:expr) => {
                $b.append_value(
                    $v.try_into()
                        .map_err(|_| out_of_range(&self.name, $v, &self.target))?,
                )
            };
        }
        match (&mut self.builder, datum) {
            (Builder::Null(n), _) => *n += 1,
            (Builder::Decimal(d), Datum::Null) => {
                d.values.push(0);
                d.scales.push(0);
                d.validity.append_null();
            }
            (Builder::Decimal(d), Datum::Decimal(v, s)) => {
                d.values.push(v);
                d.scales.push(s);
                d.validity.append_non_null();
            }
            (Builder::List(l), Datum::Null) => {
                l.offsets.push(*l.offsets.last().unwrap_or(&0));
                l.validity.append_null();
            }
            (b, Datum::Null) => match b {
                Builder::Bool(b) => b.append_null(),
                Builder::I8(b) => b.append_null(),
                Builder::I16(b) => b.append_null(),
                Builder::I32(b) => b.append_null(),
                Builder::I64(b) => b.append_null(),
                Builder::U8(b) => b.append_null(),
                Builder::U16(b) => b.append_null(),
                Builder::U32(b) => b.append_null(),
                Builder::U64(b) => b.append_null(),
                Builder::F32(b) => b.append_null(),
                Builder::F64(b) => b.append_null(),
                Builder::Utf8(b) => b.append_null(),
                Builder::Binary(b) => b.append_null(),
                Builder::Date32(b) => b.append_null(),
                Builder::Time64(b) => b.append_null(),
                Builder::Timestamp(b) => b.append_null(),
                Builder::Duration(b) => b.append_null(),
                Builder::Interval(b) => b.append_null(),
                Builder::Uuid(b) => b.append_null(),
                Builder::Null(_) | Builder::Decimal(_) | Builder::List(_) => {}
            },
            (Builder::Bool(b), Datum::Bool(v)) => b.append_value(v),
            (Builder::I8(b), Datum::I64(v)) => int!(b, v),
            (Builder::I16(b), Datum::I64(v)) => int!(b, v),
            (Builder::I32(b), Datum::I64(v)) => int!(b, v),
            (Builder::I64(b), Datum::I64(v)) => b.append_value(v),
            (Builder::U8(b), Datum::U64(v)) => int!(b, v),
            (Builder::U16(b), Datum::U64(v)) => int!(b, v),
            (Builder::U32(b), Datum::U64(v)) => int!(b, v),
            (Builder::U64(b), Datum::U64(v)) => b.append_value(v),
            (Builder::F32(b), Datum::F32(v)) => b.append_value(v),
            (Builder::F64(b), Datum::F64(v)) => b.append_value(v),
            (Builder::F64(b), Datum::F32(v)) => b.append_value(f64::from(v)),
            (Builder::Utf8(b), Datum::Str(v)) => b.append_value(v),
            (Builder::Binary(b), Datum::Bytes(v)) => b.append_value(v),
            (Builder::Date32(b), Datum::Date(v)) => b.append_value(v),
            (Builder::Time64(b), Datum::Time(v)) => b.append_value(v),
            (Builder::Timestamp(b), Datum::Timestamp(v)) => b.append_value(v),
            (Builder::Duration(b), Datum::Duration(v)) => b.append_value(v),
            (Builder::Interval(b), Datum::Interval(v)) => b.append_value(v),
            (Builder::Uuid(b), Datum::Uuid(v)) => b.append_value(v)?,
            (_, other) => {
                return Err(Error::internal(format!(
                    "column `{}`: a {other:?} value cannot go into a {:?} column",
                    self.name, self.target
                )));
            }
        }
        Ok(())
    }

    /// Start a non-NULL list value; push its items with [`Column::list_item`], then
    /// [`Column::end_list`].
    pub(crate) fn list_child(&mut self) -> Result<&mut Column> {
        match &mut self.builder {
            Builder::List(l) => Ok(&mut l.child),
            _ => Err(Error::internal(format!(
                "column `{}` is not a list",
                self.name
            ))),
        }
    }

    /// Close the list value whose items were pushed into [`Column::list_child`].
    pub(crate) fn end_list(&mut self, items: usize) -> Result<()> {
        match &mut self.builder {
            Builder::List(l) => {
                let last = *l.offsets.last().unwrap_or(&0);
                let next = i32::try_from(items)
                    .ok()
                    .and_then(|n| last.checked_add(n))
                    .ok_or_else(|| out_of_range(&self.name, items, &self.target))?;
                l.offsets.push(next);
                l.validity.append_non_null();
                Ok(())
            }
            _ => Err(Error::internal(format!(
                "column `{}` is not a list",
                self.name
            ))),
        }
    }

    /// The scale this column's decimals need (0 when it holds none).
    fn needed_scale(&self) -> i8 {
        match &self.builder {
            Builder::Decimal(d) => match d.declared {
                Some((_, s)) => s,
                None => d.scales.iter().copied().max().map_or(0, |s| s as i8),
            },
            Builder::List(l) => l.child.needed_scale(),
            _ => 0,
        }
    }

    /// The column built so far, at `scale` for undeclared decimals; the builder is reset.
    fn finish(&mut self, scale: i8) -> Result<ArrayRef> {
        Ok(match &mut self.builder {
            Builder::Null(n) => Arc::new(NullArray::new(std::mem::take(n))),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::I8(b) => Arc::new(b.finish()),
            Builder::I16(b) => Arc::new(b.finish()),
            Builder::I32(b) => Arc::new(b.finish()),
            Builder::I64(b) => Arc::new(b.finish()),
            Builder::U8(b) => Arc::new(b.finish()),
            Builder::U16(b) => Arc::new(b.finish()),
            Builder::U32(b) => Arc::new(b.finish()),
            Builder::U64(b) => Arc::new(b.finish()),
            Builder::F32(b) => Arc::new(b.finish()),
            Builder::F64(b) => Arc::new(b.finish()),
            Builder::Utf8(b) => Arc::new(b.finish()),
            Builder::Binary(b) => Arc::new(b.finish()),
            Builder::Date32(b) => Arc::new(b.finish()),
            Builder::Time64(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => {
                let array = b.finish();
                match self.target {
                    Target::Timestamp { utc: true } => Arc::new(array.with_timezone("UTC")),
                    _ => Arc::new(array),
                }
            }
            Builder::Duration(b) => Arc::new(b.finish()),
            Builder::Interval(b) => Arc::new(b.finish()),
            Builder::Uuid(b) => Arc::new(b.finish()),
            Builder::Decimal(d) => {
                let (precision, scale) = d.declared.unwrap_or((38, scale));
                let values = std::mem::take(&mut d.values);
                let scales = std::mem::take(&mut d.scales);
                let mut rescaled = Vec::with_capacity(values.len());
                for (v, s) in values.into_iter().zip(scales) {
                    rescaled.push(
                        rescale(v, s, scale)
                            .ok_or_else(|| out_of_range(&self.name, v, &self.target))?,
                    );
                }
                let nulls = d.validity.finish();
                Arc::new(
                    Decimal128Array::try_new(rescaled.into(), nulls)?
                        .with_precision_and_scale(precision, scale)?,
                )
            }
            Builder::List(l) => {
                let child_scale = l.child.needed_scale().max(scale);
                let values = l.child.finish(child_scale)?;
                let item = match &self.target {
                    Target::List(item) => item.field("item", child_scale),
                    _ => return Err(Error::internal("a list builder without a list target")),
                };
                let offsets = OffsetBuffer::new(std::mem::replace(&mut l.offsets, vec![0]).into());
                Arc::new(ListArray::try_new(
                    Arc::new(item),
                    offsets,
                    values,
                    l.validity.finish(),
                )?)
            }
        })
    }
}

/// `value × 10^-from` at scale `to`; `None` when it would lose digits or overflow.
fn rescale(value: i128, from: u8, to: i8) -> Option<i128> {
    let to = u8::try_from(to).ok()?;
    if to >= from {
        value.checked_mul(10i128.checked_pow(u32::from(to - from))?)
    } else {
        let factor = 10i128.checked_pow(u32::from(from - to))?;
        (value % factor == 0).then(|| value / factor)
    }
}

/// Rows of decoded columns, cut into record batches.
pub(crate) struct Assembler {
    columns: Vec<Column>,
    batch_rows: usize,
    in_batch: usize,
    /// Fixed after the first batch when streaming, so every batch has one schema.
    schema: Option<SchemaRef>,
    batches: Vec<RecordBatch>,
}

impl Assembler {
    pub(crate) fn new(columns: Vec<Column>, batch_rows: usize) -> Assembler {
        Assembler {
            columns,
            batch_rows,
            in_batch: 0,
            schema: None,
            batches: Vec::new(),
        }
    }

    pub(crate) fn columns(&mut self) -> &mut [Column] {
        &mut self.columns
    }

    /// Count a finished row; returns true when a batch is full.
    #[inline]
    pub(crate) fn row_done(&mut self) -> bool {
        self.in_batch += 1;
        self.in_batch >= self.batch_rows
    }

    /// Cut the rows so far into a batch with its own schema (decimals at their needed scale).
    pub(crate) fn cut(&mut self) -> Result<RecordBatch> {
        let scales: Vec<i8> = match &self.schema {
            Some(schema) => schema
                .fields()
                .iter()
                .map(|f| scale_of(f.data_type()))
                .collect(),
            None => self.columns.iter().map(Column::needed_scale).collect(),
        };
        let fields: Vec<Field> = self
            .columns
            .iter()
            .zip(&scales)
            .map(|(c, s)| c.target().field(c.name(), *s))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let arrays = self
            .columns
            .iter_mut()
            .zip(&scales)
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

    /// The whole result: batches unified to one schema (the widest decimal scale wins).
    pub(crate) fn finish(mut self) -> Result<Table> {
        if self.in_batch > 0 || self.batches.is_empty() {
            self.cut_and_keep()?;
        }
        let widest: Vec<Field> = (0..self.columns.len())
            .map(|i| {
                let scale = self
                    .batches
                    .iter()
                    .map(|b| scale_of(b.schema().field(i).data_type()))
                    .max()
                    .unwrap_or(0);
                self.columns[i]
                    .target()
                    .field(self.columns[i].name(), scale)
            })
            .collect();
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

fn scale_of(data_type: &DataType) -> i8 {
    match data_type {
        DataType::Decimal128(_, s) => *s,
        DataType::List(item) => scale_of(item.data_type()),
        _ => 0,
    }
}

/// Cast a batch's columns to `schema` (only undeclared decimal scales ever differ).
pub(crate) fn conform(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
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
                Ok(arrow::compute::cast(c, f.data_type())?)
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};

    #[test]
    fn undeclared_decimals_take_the_largest_scale_across_batches() {
        let mut a = Assembler::new(
            vec![Column::new("d", Target::Decimal { declared: None })],
            2,
        );
        for (v, s) in [(15, 1), (2, 0)] {
            a.columns()[0].push(Datum::Decimal(v, s)).unwrap();
            if a.row_done() {
                a.cut_and_keep().unwrap();
            }
        }
        a.columns()[0].push(Datum::Decimal(-12345, 3)).unwrap();
        a.row_done();
        let t = a.finish().unwrap();
        assert_eq!(
            t.schema().field(0).data_type(),
            &DataType::Decimal128(38, 3)
        );
        let d = t.column("d").unwrap();
        let d = d.as_primitive::<arrow::datatypes::Decimal128Type>();
        assert_eq!(d.values().to_vec(), vec![1500, 2000, -12345]);
    }

    #[test]
    fn lists_nest_a_child_column_and_keep_nulls() {
        let mut c = Column::new("l", Target::List(Box::new(Target::Int32)));
        for v in [1, 2] {
            c.list_child().unwrap().push(Datum::I64(v)).unwrap();
        }
        c.end_list(2).unwrap();
        c.push(Datum::Null).unwrap();
        c.end_list(0).unwrap();
        let a = c.finish(0).unwrap();
        let l = a.as_list::<i32>();
        assert_eq!(
            (l.len(), l.value_length(0), l.is_null(1), l.value_length(2)),
            (3, 2, true, 0)
        );
    }

    #[test]
    fn out_of_range_integers_are_named_errors() {
        let mut c = Column::new("small", Target::Int8);
        let err = c.push(Datum::I64(300)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TypeConversion);
        assert!(err.message().contains("`small`"), "{err}");
    }

    #[test]
    fn rescale_is_exact_or_refuses() {
        assert_eq!(rescale(15, 1, 3), Some(1500));
        assert_eq!(rescale(1500, 3, 1), Some(15));
        assert_eq!(rescale(1501, 3, 1), None);
    }
}
