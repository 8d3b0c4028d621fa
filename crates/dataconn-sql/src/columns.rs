//! Arrow columns for the server databases: a [`Target`] type per column, [`Datum`]s pushed into
//! it, and an [`Assembler`] that cuts record batches.
//!
//! Each backend decodes its wire values into `Datum`s (borrowing, never allocating for text or
//! bytes) and pushes them into the column's builder; lists nest a child column. Decimals are
//! gathered with their own scale and built at the column's declared precision and scale, or,
//! when the database does not say, at the largest scale the result holds, so no digit is lost:
//! as `Decimal128(38, s)` when every value fits in 38 digits at that scale, else as
//! `Decimal256(76, s)`; beyond 76 digits the read fails naming the column.
//!
//! Text and binary columns use 32-bit offsets, so one array holds at most 2 GiB of bytes: a
//! batch is cut early once a variable-width column holds [`BATCH_BYTES`], whatever its row
//! count, and a value that would overflow the offsets anyway is an error, never a panic.
//!
//! [`BATCH_BYTES`]: crate::BATCH_BYTES

use std::sync::Arc;

use arrow::array::NullBufferBuilder;
use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Array, Decimal256Array,
    DurationMicrosecondBuilder, FixedSizeBinaryBuilder, Float32Builder, Float64Builder,
    Int8Builder, Int16Builder, Int32Builder, Int64Builder, IntervalMonthDayNanoBuilder, ListArray,
    NullArray, RecordBatch, StringBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
    UInt8Builder, UInt16Builder, UInt32Builder, UInt64Builder,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, IntervalMonthDayNano, Schema, SchemaRef, TimeUnit, i256};
use dataconn_core::{Error, ErrorKind, Result, Table};

use crate::{BATCH_BYTES, MAX_ARRAY_BYTES};

/// Digits of `Decimal128` and `Decimal256`.
const DECIMAL128_DIGITS: u32 = 38;
const DECIMAL256_DIGITS: u32 = 76;

/// The Arrow type of an undeclared decimal column: its scale, and whether it needs 256 bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DecimalSpec {
    pub(crate) scale: i8,
    pub(crate) wide: bool,
}

impl DecimalSpec {
    fn of(data_type: &DataType) -> DecimalSpec {
        match data_type {
            DataType::Decimal128(_, s) => DecimalSpec {
                scale: *s,
                wide: false,
            },
            DataType::Decimal256(_, s) => DecimalSpec {
                scale: *s,
                wide: true,
            },
            DataType::List(item) => DecimalSpec::of(item.data_type()),
            _ => DecimalSpec::default(),
        }
    }

    fn max(self, other: DecimalSpec) -> DecimalSpec {
        DecimalSpec {
            scale: self.scale.max(other.scale),
            wide: self.wide || other.wide,
        }
    }
}

/// The most digits before and after the point that a column's decimals have needed.
#[derive(Debug, Clone, Copy, Default)]
struct Digits {
    whole: u32,
    scale: u8,
}

impl Digits {
    fn add(&mut self, digits: u32, scale: u8) {
        self.whole = self.whole.max(digits.saturating_sub(u32::from(scale)));
        self.scale = self.scale.max(scale);
    }
}

/// Decimal digits of `|v|` (0 for 0).
pub(crate) fn digits128(v: i128) -> u32 {
    v.unsigned_abs().checked_ilog10().map_or(0, |d| d + 1)
}

/// Decimal digits of `|v|` (0 for 0); `i256::MIN` counts as 77.
pub(crate) fn digits256(v: i256) -> u32 {
    match v.checked_abs() {
        Some(a) => a.checked_ilog10().map_or(0, |d| d + 1),
        None => DECIMAL256_DIGITS + 1,
    }
}

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
    /// The Arrow type; for an undeclared decimal, as `spec` says.
    fn data_type(&self, spec: DecimalSpec) -> DataType {
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
            Target::Decimal {
                declared: Some((p, s)),
            } => {
                if u32::from(*p) <= DECIMAL128_DIGITS {
                    DataType::Decimal128(*p, *s)
                } else {
                    DataType::Decimal256(*p, *s)
                }
            }
            Target::Decimal { declared: None } => {
                if spec.wide {
                    DataType::Decimal256(DECIMAL256_DIGITS as u8, spec.scale)
                } else {
                    DataType::Decimal128(DECIMAL128_DIGITS as u8, spec.scale)
                }
            }
            Target::List(item) => DataType::List(Arc::new(item.field("item", spec))),
        }
    }

    /// The field of a column named `name`, with extension metadata for JSON and UUIDs.
    pub(crate) fn field(&self, name: &str, spec: DecimalSpec) -> Field {
        let field = Field::new(name, self.data_type(spec), true);
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
    /// Unscaled value and scale, for values beyond 38 digits.
    Decimal256(i256, u8),
}

/// Unscaled decimals as they came: 128-bit until a value needs more.
enum DecimalValues {
    Narrow(Vec<i128>),
    Wide(Vec<i256>),
}

struct DecimalColumn {
    declared: Option<(u8, i8)>,
    values: DecimalValues,
    scales: Vec<u8>,
    validity: NullBufferBuilder,
    /// Digits needed by this batch's values.
    batch: Digits,
    /// Digits needed by every value of the read (never reset), for the whole result's type.
    total: Digits,
}

impl DecimalColumn {
    fn push(&mut self, value: i256, narrow: Option<i128>, scale: u8) {
        match (&mut self.values, narrow) {
            (DecimalValues::Narrow(values), Some(v)) => values.push(v),
            (DecimalValues::Wide(values), _) => values.push(value),
            (DecimalValues::Narrow(values), None) => {
                let mut wide: Vec<i256> = values.iter().map(|v| i256::from_i128(*v)).collect();
                wide.push(value);
                self.values = DecimalValues::Wide(wide);
            }
        }
        let digits = narrow.map_or_else(|| digits256(value), digits128);
        self.batch.add(digits, scale);
        self.total.add(digits, scale);
        self.scales.push(scale);
    }

    /// The type this batch (or, with `total`, the whole read) needs when undeclared.
    fn spec(&self, column: &str, total: bool) -> Result<DecimalSpec> {
        if let Some((_, s)) = self.declared {
            return Ok(DecimalSpec {
                scale: s,
                wide: false,
            });
        }
        let d = if total { self.total } else { self.batch };
        let needed = d.whole + u32::from(d.scale);
        if needed > DECIMAL256_DIGITS {
            return Err(Error::new(
                ErrorKind::TypeConversion,
                format!(
                    "column `{column}` holds decimals that need {needed} digits at one scale ({} \
                     before the point, {} after), beyond Decimal256's {DECIMAL256_DIGITS}; CAST it \
                     to text in the SQL",
                    d.whole, d.scale
                ),
            ));
        }
        Ok(DecimalSpec {
            scale: d.scale as i8,
            wide: needed > DECIMAL128_DIGITS,
        })
    }
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
    /// Most bytes a text or binary builder may hold ([`MAX_ARRAY_BYTES`]; lower in tests).
    max_bytes: usize,
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
                values: DecimalValues::Narrow(Vec::new()),
                scales: Vec::new(),
                validity: NullBufferBuilder::new(0),
                batch: Digits::default(),
                total: Digits::default(),
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
                d.push(i256::ZERO, Some(0), 0);
                d.validity.append_null();
            }
            (Builder::Decimal(d), Datum::Decimal(v, s)) => {
                d.push(i256::from_i128(v), Some(v), s);
                d.validity.append_non_null();
            }
            (Builder::Decimal(d), Datum::Decimal256(v, s)) => {
                d.push(v, v.to_i128(), s);
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
                match self.target {
                    Target::Timestamp { utc: true } => Arc::new(array.with_timezone("UTC")),
                    _ => Arc::new(array),
                }
            }
            Builder::Duration(b) => Arc::new(b.finish()),
            Builder::Interval(b) => Arc::new(b.finish()),
            Builder::Uuid(b) => Arc::new(b.finish()),
            Builder::Decimal(d) => {
                let data_type = self.target.data_type(spec);
                let values = std::mem::replace(&mut d.values, DecimalValues::Narrow(Vec::new()));
                let scales = std::mem::take(&mut d.scales);
                d.batch = Digits::default();
                let nulls = d.validity.finish();
                let name = &self.name;
                match data_type {
                    DataType::Decimal128(precision, scale) => {
                        let limit = 10i128.pow(u32::from(precision));
                        let mut rescaled = Vec::with_capacity(scales.len());
                        let mut put = |v: Option<i128>, s: u8, shown: &dyn Fn() -> String| match v
                            .and_then(|v| rescale(v, s, scale))
                        {
                            Some(r) if r.unsigned_abs() < limit.unsigned_abs() => {
                                rescaled.push(r);
                                Ok(())
                            }
                            _ => Err(decimal_misfit(name, &shown(), &data_type)),
                        };
                        match values {
                            DecimalValues::Narrow(values) => {
                                for (v, s) in values.into_iter().zip(scales) {
                                    put(Some(v), s, &|| crate::decimal_text(v, s))?;
                                }
                            }
                            DecimalValues::Wide(values) => {
                                for (v, s) in values.into_iter().zip(scales) {
                                    put(v.to_i128(), s, &|| decimal256_text(v, s))?;
                                }
                            }
                        }
                        Arc::new(
                            Decimal128Array::try_new(rescaled.into(), nulls)?
                                .with_precision_and_scale(precision, scale)?,
                        )
                    }
                    DataType::Decimal256(precision, scale) => {
                        let limit = i256::from_i128(10)
                            .checked_pow(u32::from(precision))
                            .unwrap_or(i256::MAX);
                        let wide: Vec<i256> = match values {
                            DecimalValues::Narrow(values) => {
                                values.into_iter().map(i256::from_i128).collect()
                            }
                            DecimalValues::Wide(values) => values,
                        };
                        let mut rescaled = Vec::with_capacity(wide.len());
                        for (v, s) in wide.into_iter().zip(scales) {
                            match rescale256(v, s, scale) {
                                Some(r) if r.checked_abs().is_some_and(|a| a < limit) => {
                                    rescaled.push(r)
                                }
                                _ => {
                                    return Err(decimal_misfit(
                                        name,
                                        &decimal256_text(v, s),
                                        &data_type,
                                    ));
                                }
                            }
                        }
                        Arc::new(
                            Decimal256Array::try_new(rescaled.into(), nulls)?
                                .with_precision_and_scale(precision, scale)?,
                        )
                    }
                    other => {
                        return Err(Error::internal(format!(
                            "column `{name}`: a decimal builder for the type {other}"
                        )));
                    }
                }
            }
            Builder::List(l) => {
                let child_spec = l.child.needed(false)?.max(spec);
                let values = l.child.finish(child_spec)?;
                let item = match &self.target {
                    Target::List(item) => item.field("item", child_spec),
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

fn decimal_misfit(column: &str, shown: &str, data_type: &DataType) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!(
            "column `{column}`: the decimal {shown} does not fit the column's Arrow type \
             {data_type} (a stream's first batch fixes the type of undeclared decimals); CAST it \
             to a numeric/decimal of fixed precision and scale in the SQL"
        ),
    )
}

/// `unscaled × 10^-scale` as text, for 256-bit decimals.
pub(crate) fn decimal256_text(unscaled: i256, scale: u8) -> String {
    let text = unscaled.to_string();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let scale = usize::from(scale);
    if scale == 0 {
        return text;
    }
    let padded = format!(
        "{}{digits}",
        "0".repeat((scale + 1).saturating_sub(digits.len()))
    );
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// `value × 10^-from` at scale `to`, in 256 bits; `None` when it would lose digits or overflow.
fn rescale256(value: i256, from: u8, to: i8) -> Option<i256> {
    let to = u8::try_from(to).ok()?;
    let ten = i256::from_i128(10);
    if to >= from {
        value.checked_mul(ten.checked_pow(u32::from(to - from))?)
    } else {
        let factor = ten.checked_pow(u32::from(from - to))?;
        (value.checked_rem(factor)? == i256::ZERO).then(|| value.checked_div(factor))?
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
            .map(|(c, s)| c.target().field(c.name(), *s))
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
            .map(|c| Ok(c.target().field(c.name(), c.needed(true)?)))
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
        assert_eq!(t.batches().len(), 2);
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
        let a = c.finish(DecimalSpec::default()).unwrap();
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
    fn text_batches_are_cut_before_their_offsets_overflow() {
        let mut a = Assembler::new(
            vec![
                Column::new("n", Target::Int64),
                Column::new("t", Target::Utf8),
                Column::new("l", Target::List(Box::new(Target::Binary))),
            ],
            1000,
        )
        .with_batch_bytes(10);
        let mut cuts = 0;
        for i in 0..10i64 {
            a.columns()[0].push(Datum::I64(i)).unwrap();
            a.columns()[1].push(Datum::Str("abcd")).unwrap();
            a.columns()[2]
                .list_child()
                .unwrap()
                .push(Datum::Bytes(b"x"))
                .unwrap();
            a.columns()[2].end_list(1).unwrap();
            if a.row_done() {
                a.cut_and_keep().unwrap();
                cuts += 1;
            }
        }
        assert_eq!(cuts, 3, "cut after every 3 rows (12 bytes of text)");
        let t = a.finish().unwrap();
        assert_eq!(t.schema().field(1).data_type(), &DataType::Utf8);
        assert_eq!(t.batches().len(), 4);
        let mut n = Vec::new();
        for b in t.batches() {
            assert!(b.num_rows() <= 3);
            let ints = b.column(0).as_primitive::<arrow::datatypes::Int64Type>();
            n.extend(ints.values().iter().copied());
            assert!(
                b.column(1)
                    .as_string::<i32>()
                    .iter()
                    .all(|v| v == Some("abcd"))
            );
        }
        assert_eq!(n, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_value_past_the_offset_limit_is_a_named_error_not_a_panic() {
        let mut c = Column::new("t", Target::Utf8).with_max_bytes(8);
        c.push(Datum::Str("12345")).unwrap();
        let err = c.push(Datum::Str("12345")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TypeConversion);
        assert!(err.message().contains("`t`"), "{err}");
        let mut c = Column::new("l", Target::List(Box::new(Target::Binary))).with_max_bytes(4);
        let err = c
            .list_child()
            .unwrap()
            .push(Datum::Bytes(b"12345"))
            .unwrap_err();
        assert!(err.message().contains("bytes"), "{err}");
    }

    fn decimals(values: &[Datum<'static>], batch_rows: usize) -> Result<Table> {
        let mut a = Assembler::new(
            vec![Column::new("d", Target::Decimal { declared: None })],
            batch_rows,
        );
        for v in values {
            a.columns()[0].push(*v)?;
            if a.row_done() {
                a.cut_and_keep()?;
            }
        }
        a.finish()
    }

    fn big(text: &str) -> i256 {
        i256::from_string(text).unwrap()
    }

    #[test]
    fn wide_undeclared_decimals_become_decimal256_exactly_across_batches() {
        // A narrow batch, then one whose value needs 51 digits at scale 2.
        let t = decimals(
            &[
                Datum::Decimal(-15, 1),
                Datum::Null,
                Datum::Decimal256(big(&format!("1{}", "0".repeat(50))), 2),
            ],
            2,
        )
        .unwrap();
        assert_eq!(
            t.schema().field(0).data_type(),
            &DataType::Decimal256(76, 2)
        );
        let d = t.column("d").unwrap();
        let d = d.as_primitive::<arrow::datatypes::Decimal256Type>();
        assert_eq!(d.value_as_string(0), "-1.50");
        assert!(d.is_null(1));
        assert_eq!(d.value_as_string(2), format!("1{}.00", "0".repeat(48)));
        // 30 digits before the point and 10 after need 40: wide, though each fits 128 bits.
        let t = decimals(
            &[Datum::Decimal(10i128.pow(29), 0), Datum::Decimal(1, 10)],
            10,
        )
        .unwrap();
        assert_eq!(
            t.schema().field(0).data_type(),
            &DataType::Decimal256(76, 10)
        );
        // Within 38 digits it stays Decimal128.
        let t = decimals(
            &[Datum::Decimal(10i128.pow(27), 0), Datum::Decimal(1, 10)],
            10,
        )
        .unwrap();
        assert_eq!(
            t.schema().field(0).data_type(),
            &DataType::Decimal128(38, 10)
        );
    }

    #[test]
    fn decimals_needing_more_than_76_digits_are_named_errors() {
        let err = decimals(
            &[
                Datum::Decimal256(big(&format!("1{}", "0".repeat(60))), 0),
                Datum::Decimal(1, 20),
            ],
            10,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TypeConversion);
        assert!(
            err.message().contains("`d`") && err.message().contains("81"),
            "{err}"
        );
    }

    #[test]
    fn declared_wide_decimals_are_decimal256_at_their_precision() {
        let mut a = Assembler::new(
            vec![Column::new(
                "d",
                Target::Decimal {
                    declared: Some((65, 30)),
                },
            )],
            10,
        );
        a.columns()[0].push(Datum::Decimal(12, 1)).unwrap();
        a.row_done();
        let t = a.finish().unwrap();
        assert_eq!(
            t.schema().field(0).data_type(),
            &DataType::Decimal256(65, 30)
        );
        let d = t.column("d").unwrap();
        let d = d.as_primitive::<arrow::datatypes::Decimal256Type>();
        assert_eq!(d.value_as_string(0), format!("1.2{}", "0".repeat(29)));
    }

    #[test]
    fn a_decimal_that_outgrows_a_streams_first_batch_is_an_error_not_a_null() {
        let mut a = Assembler::new(
            vec![Column::new("d", Target::Decimal { declared: None })],
            1,
        );
        a.columns()[0].push(Datum::Decimal(1, 0)).unwrap();
        a.row_done();
        a.cut_for_stream().unwrap();
        a.columns()[0]
            .push(Datum::Decimal256(big(&"9".repeat(60)), 0))
            .unwrap();
        a.row_done();
        let err = a.cut_for_stream().unwrap_err();
        assert!(err.message().contains("`d`"), "{err}");
    }

    #[test]
    fn rescale_is_exact_or_refuses() {
        assert_eq!(rescale(15, 1, 3), Some(1500));
        assert_eq!(rescale(1500, 3, 1), Some(15));
        assert_eq!(rescale(1501, 3, 1), None);
    }
}
