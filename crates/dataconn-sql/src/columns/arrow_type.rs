//! [`ArrowType`]: the Arrow type a server column is built as, chosen once from the database's
//! type.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, TimeUnit};

use super::decimal::{DECIMAL128_DIGITS, DECIMAL256_DIGITS, DecimalSpec};

/// The Arrow type a column is built as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ArrowType {
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
    List(Box<ArrowType>),
}

impl ArrowType {
    /// The Arrow type; for an undeclared decimal, as `spec` says.
    pub(super) fn data_type(&self, spec: DecimalSpec) -> DataType {
        match self {
            ArrowType::Null => DataType::Null,
            ArrowType::Bool => DataType::Boolean,
            ArrowType::Int8 => DataType::Int8,
            ArrowType::Int16 => DataType::Int16,
            ArrowType::Int32 => DataType::Int32,
            ArrowType::Int64 => DataType::Int64,
            ArrowType::UInt8 => DataType::UInt8,
            ArrowType::UInt16 => DataType::UInt16,
            ArrowType::UInt32 => DataType::UInt32,
            ArrowType::UInt64 => DataType::UInt64,
            ArrowType::Float32 => DataType::Float32,
            ArrowType::Float64 => DataType::Float64,
            ArrowType::Utf8 | ArrowType::Json => DataType::Utf8,
            ArrowType::Binary => DataType::Binary,
            ArrowType::Date32 => DataType::Date32,
            ArrowType::Time64 => DataType::Time64(TimeUnit::Microsecond),
            ArrowType::Timestamp { utc } => {
                DataType::Timestamp(TimeUnit::Microsecond, utc.then(|| Arc::from("UTC")))
            }
            ArrowType::Duration => DataType::Duration(TimeUnit::Microsecond),
            ArrowType::Interval => DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano),
            ArrowType::Uuid => DataType::FixedSizeBinary(16),
            ArrowType::Decimal {
                declared: Some((p, s)),
            } => {
                if u32::from(*p) <= DECIMAL128_DIGITS {
                    DataType::Decimal128(*p, *s)
                } else {
                    DataType::Decimal256(*p, *s)
                }
            }
            ArrowType::Decimal { declared: None } => {
                if spec.wide {
                    DataType::Decimal256(DECIMAL256_DIGITS as u8, spec.scale)
                } else {
                    DataType::Decimal128(DECIMAL128_DIGITS as u8, spec.scale)
                }
            }
            ArrowType::List(item) => DataType::List(Arc::new(item.field("item", spec))),
        }
    }

    /// The field of a column named `name`, with extension metadata for JSON and UUIDs.
    pub(super) fn field(&self, name: &str, spec: DecimalSpec) -> Field {
        let field = Field::new(name, self.data_type(spec), true);
        let extension = match self {
            ArrowType::Json => "arrow.json",
            ArrowType::Uuid => "arrow.uuid",
            _ => return field,
        };
        let metadata: std::collections::HashMap<String, String> =
            [("ARROW:extension:name".to_owned(), extension.to_owned())].into();
        field.with_metadata(metadata)
    }
}
