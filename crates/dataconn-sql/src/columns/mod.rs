//! Arrow columns for the server databases: an [`ArrowType`] per column, [`Datum`]s pushed
//! into its [`Column`], and an [`Assembler`] that cuts record batches.
//!
//! Each backend decodes its wire values into `Datum`s (borrowing, never allocating for text or
//! bytes) and pushes them into the column's builder; lists nest a child column; decimals are
//! built as [`decimal`] explains. A text or binary value that would overflow Arrow's 32-bit
//! offsets is an error, never a panic.

mod arrow_type;
mod assembler;
pub(crate) mod decimal;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, DurationMicrosecondBuilder,
    FixedSizeBinaryBuilder, Float32Builder, Float64Builder, Int8Builder, Int16Builder,
    Int32Builder, Int64Builder, IntervalMonthDayNanoBuilder, ListArray, NullArray,
    NullBufferBuilder, StringBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
    UInt8Builder, UInt16Builder, UInt32Builder, UInt64Builder,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{IntervalMonthDayNano, i256};
use dataconn_core::{Error, ErrorKind, Result};

pub(crate) use arrow_type::ArrowType;
pub(crate) use assembler::Assembler;
#[cfg(test)]
pub(crate) use decimal::decimal256_text;
use decimal::{DecimalColumn, DecimalSpec};

use crate::MAX_ARRAY_BYTES;

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
    /// Unscaled value and scale, for values beyond 38 digits.
    Decimal256(i256, u8),
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
    arrow_type: ArrowType,
    builder: Builder,
    /// Most bytes a text or binary builder may hold ([`MAX_ARRAY_BYTES`]; lower in tests).
    max_bytes: usize,
}

fn out_of_range(column: &str, value: impl std::fmt::Display, arrow_type: &ArrowType) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!("column `{column}`: the value {value} does not fit its Arrow type {arrow_type:?}"),
    )
}

impl Column {
    pub(crate) fn new(name: impl Into<String>, arrow_type: ArrowType) -> Column {
        let builder = match &arrow_type {
            ArrowType::Null => Builder::Null(0),
            ArrowType::Bool => Builder::Bool(BooleanBuilder::new()),
            ArrowType::Int8 => Builder::I8(Int8Builder::new()),
            ArrowType::Int16 => Builder::I16(Int16Builder::new()),
            ArrowType::Int32 => Builder::I32(Int32Builder::new()),
            ArrowType::Int64 => Builder::I64(Int64Builder::new()),
            ArrowType::UInt8 => Builder::U8(UInt8Builder::new()),
            ArrowType::UInt16 => Builder::U16(UInt16Builder::new()),
            ArrowType::UInt32 => Builder::U32(UInt32Builder::new()),
            ArrowType::UInt64 => Builder::U64(UInt64Builder::new()),
            ArrowType::Float32 => Builder::F32(Float32Builder::new()),
            ArrowType::Float64 => Builder::F64(Float64Builder::new()),
            ArrowType::Utf8 | ArrowType::Json => Builder::Utf8(StringBuilder::new()),
            ArrowType::Binary => Builder::Binary(BinaryBuilder::new()),
            ArrowType::Date32 => Builder::Date32(Date32Builder::new()),
            ArrowType::Time64 => Builder::Time64(Time64MicrosecondBuilder::new()),
            ArrowType::Timestamp { .. } => Builder::Timestamp(TimestampMicrosecondBuilder::new()),
            ArrowType::Duration => Builder::Duration(DurationMicrosecondBuilder::new()),
            ArrowType::Interval => Builder::Interval(IntervalMonthDayNanoBuilder::new()),
            ArrowType::Uuid => Builder::Uuid(FixedSizeBinaryBuilder::new(16)),
            ArrowType::Decimal { declared } => Builder::Decimal(DecimalColumn::new(*declared)),
            ArrowType::List(item) => Builder::List(Box::new(ListColumn {
                child: Column::new("item", (**item).clone()),
                offsets: vec![0],
                validity: NullBufferBuilder::new(0),
            })),
        };
        Column {
            name: name.into(),
            arrow_type,
            builder,
            max_bytes: MAX_ARRAY_BYTES,
        }
    }

    /// Lower the byte limit of text and binary builders (tests only: 2 GiB is a lot to allocate).
    #[cfg(test)]
    pub(crate) fn with_max_bytes(mut self, max_bytes: usize) -> Column {
        self.max_bytes = max_bytes;
        if let Builder::List(l) = &mut self.builder {
            l.child.max_bytes = max_bytes;
        }
        self
    }

    /// Bytes held by this column's text or binary builder (its list items' for a list).
    pub(crate) fn var_bytes(&self) -> usize {
        match &self.builder {
            Builder::Utf8(b) => b.values_slice().len(),
            Builder::Binary(b) => b.values_slice().len(),
            Builder::List(l) => l.child.var_bytes(),
            _ => 0,
        }
    }

    /// Whether values of this column are variable-width bytes (text, binary, lists of them).
    fn is_var_width(&self) -> bool {
        match &self.builder {
            Builder::Utf8(_) | Builder::Binary(_) => true,
            Builder::List(l) => l.child.is_var_width(),
            _ => false,
        }
    }

    fn too_many_bytes(&self, adding: usize) -> Error {
        Error::new(
            ErrorKind::TypeConversion,
            format!(
                "column `{}`: a batch would hold more than {} bytes of text or binary data with \
                 a value of {adding} bytes, beyond what Arrow's 32-bit offsets address; lower \
                 `batch_size`",
                self.name, self.max_bytes
            ),
        )
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn arrow_type(&self) -> &ArrowType {
        &self.arrow_type
    }

    /// Append one value, converting within the column's type family.
    #[inline]
    pub(crate) fn push(&mut self, datum: Datum<'_>) -> Result<()> {
        macro_rules! int {
            ($b:expr, $v:expr) => {
                $b.append_value(
                    $v.try_into()
                        .map_err(|_| out_of_range(&self.name, $v, &self.arrow_type))?,
                )
            };
        }
        match (&mut self.builder, datum) {
            (Builder::Null(n), _) => *n += 1,
            (Builder::Decimal(d), Datum::Null) => d.push_null(),
            (Builder::Decimal(d), Datum::Decimal(v, s)) => {
                d.push_value(i256::from_i128(v), Some(v), s)
            }
            (Builder::Decimal(d), Datum::Decimal256(v, s)) => d.push_value(v, v.to_i128(), s),
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
            (Builder::Utf8(b), Datum::Str(v)) => {
                if b.values_slice().len() + v.len() > self.max_bytes {
                    return Err(self.too_many_bytes(v.len()));
                }
                b.append_value(v)
            }
            (Builder::Binary(b), Datum::Bytes(v)) => {
                if b.values_slice().len() + v.len() > self.max_bytes {
                    return Err(self.too_many_bytes(v.len()));
                }
                b.append_value(v)
            }
            (Builder::Date32(b), Datum::Date(v)) => b.append_value(v),
            (Builder::Time64(b), Datum::Time(v)) => b.append_value(v),
            (Builder::Timestamp(b), Datum::Timestamp(v)) => b.append_value(v),
            (Builder::Duration(b), Datum::Duration(v)) => b.append_value(v),
            (Builder::Interval(b), Datum::Interval(v)) => b.append_value(v),
            (Builder::Uuid(b), Datum::Uuid(v)) => b.append_value(v)?,
            (_, other) => {
                return Err(Error::internal(format!(
                    "column `{}`: a {other:?} value cannot go into a {:?} column",
                    self.name, self.arrow_type
                )));
            }
        }
        Ok(())
    }

    /// Start a non-NULL list value: push its items into the column returned, then
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
                    .ok_or_else(|| out_of_range(&self.name, items, &self.arrow_type))?;
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

    /// The type this column's undeclared decimals need: for the batch so far, or with `total`
    /// for every value of the read.
    ///
    /// # Errors
    /// When they need more than 76 digits.
    fn needed(&self, total: bool) -> Result<DecimalSpec> {
        match &self.builder {
            Builder::Decimal(d) => d.spec(&self.name, total),
            Builder::List(l) => l.child.needed(total),
            _ => Ok(DecimalSpec::default()),
        }
    }

    /// The column built so far, with undeclared decimals as `spec` says; the builder is reset.
    fn finish(&mut self, spec: DecimalSpec) -> Result<ArrayRef> {
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
                match self.arrow_type {
                    ArrowType::Timestamp { utc: true } => Arc::new(array.with_timezone("UTC")),
                    _ => Arc::new(array),
                }
            }
            Builder::Duration(b) => Arc::new(b.finish()),
            Builder::Interval(b) => Arc::new(b.finish()),
            Builder::Uuid(b) => Arc::new(b.finish()),
            Builder::Decimal(d) => d.finish(&self.name, self.arrow_type.data_type(spec))?,
            Builder::List(l) => {
                let child_spec = l.child.needed(false)?.max(spec);
                let values = l.child.finish(child_spec)?;
                let item = match &self.arrow_type {
                    ArrowType::List(item) => item.field("item", child_spec),
                    _ => return Err(Error::internal("a list builder without a list type")),
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
