//! Parameter values as DataFusion scalars.
//!
//! The scalar keeps the value's own type; DataFusion coerces it where it is used
//! (`qty > $min` compares as `qty`'s type), as it does for a literal.

use dataconn_core::{Error, ErrorKind, Result, Value};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

/// `value`, bound to the parameter `name`, as a scalar.
pub(crate) fn scalar(name: &str, value: &Value) -> Result<ScalarValue> {
    Ok(match value {
        Value::Null => ScalarValue::Null,
        Value::Bool(b) => ScalarValue::Boolean(Some(*b)),
        Value::Int(i) => ScalarValue::Int64(Some(*i)),
        Value::UInt(u) => ScalarValue::UInt64(Some(*u)),
        Value::Float(f) => ScalarValue::Float64(Some(*f)),
        Value::Decimal { unscaled, scale } => {
            let digits = unscaled
                .unsigned_abs()
                .to_string()
                .len()
                .max(*scale as usize + 1);
            if digits > 38 {
                return Err(refused(name, value, "more than 38 digits"));
            }
            ScalarValue::Decimal128(Some(*unscaled), 38, *scale as i8)
        }
        Value::Text(s) => ScalarValue::Utf8(Some(s.clone())),
        Value::Bytes(b) => ScalarValue::Binary(Some(b.clone())),
        Value::Date(d) => {
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");
            let days = i32::try_from(d.signed_duration_since(epoch).num_days())
                .map_err(|_| refused(name, value, "a date beyond Date32"))?;
            ScalarValue::Date32(Some(days))
        }
        Value::Time(t) => {
            use chrono::Timelike;
            let nanos = i64::from(t.num_seconds_from_midnight()) * 1_000_000_000
                + i64::from(t.nanosecond());
            ScalarValue::Time64Nanosecond(Some(nanos))
        }
        Value::Timestamp(ts) => {
            ScalarValue::TimestampMicrosecond(Some(ts.and_utc().timestamp_micros()), None)
        }
        Value::TimestampTz(ts) => {
            ScalarValue::TimestampMicrosecond(Some(ts.timestamp_micros()), Some("UTC".into()))
        }
        Value::Uuid(u) => ScalarValue::Utf8(Some(u.to_string())),
        Value::Json(j) => ScalarValue::Utf8(Some(j.to_string())),
        Value::List(items) => {
            let scalars = items
                .iter()
                .map(|item| scalar(name, item))
                .collect::<Result<Vec<_>>>()?;
            let item_type = scalars
                .iter()
                .map(ScalarValue::data_type)
                .find(|t| *t != DataType::Null)
                .unwrap_or(DataType::Null);
            if let Some(other) = scalars
                .iter()
                .map(ScalarValue::data_type)
                .find(|t| *t != DataType::Null && *t != item_type)
            {
                return Err(refused(
                    name,
                    value,
                    &format!("items of two types ({item_type} and {other})"),
                ));
            }
            let scalars = scalars
                .into_iter()
                .map(|s| {
                    if s.is_null() {
                        ScalarValue::try_from(&item_type).unwrap_or(ScalarValue::Null)
                    } else {
                        s
                    }
                })
                .collect::<Vec<_>>();
            ScalarValue::List(ScalarValue::new_list_nullable(&scalars, &item_type))
        }
        other => {
            return Err(refused(name, other, "a type the engine has no literal for"));
        }
    })
}

fn refused(name: &str, value: &Value, why: &str) -> Error {
    Error::new(
        ErrorKind::Parameter,
        format!(
            "expected :{name} to be a value the SQL engine can bind, found a {} with {why}",
            value.type_name()
        ),
    )
}
