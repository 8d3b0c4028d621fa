//! `:name` parameter values as ODBC input parameters, one per `?` placeholder, each bound with
//! its own SQL type (integers as BIGINT, decimals as exact text typed NUMERIC, instants as
//! TIMESTAMP...), so that the driver binds typed values and nothing is spliced into the SQL.

use arrow_odbc::odbc_api;
use dataconn_core::raw::decimal_text;
use dataconn_core::{Error, ErrorKind, Result, Value};
use odbc_api::parameter::{InputParameter, VarBinaryBox, VarCharBox, WithDataType};
use odbc_api::{Bit, DataType, Nullable};

/// One bound value.
pub(crate) type Parameter = Box<dyn InputParameter>;

/// Text bound as a value of SQL type `data_type` (the driver converts it exactly).
fn typed_text(text: String, data_type: DataType) -> Parameter {
    Box::new(WithDataType {
        value: VarCharBox::from_string(text),
        data_type,
    })
}

/// The parameters binding `values` (named `names`, for messages) in placeholder order.
///
/// # Errors
/// [`ErrorKind::Parameter`] for a value ODBC cannot bind as one value (a list), naming it.
pub(crate) fn parameters(values: &[Value], names: &[String]) -> Result<Vec<Parameter>> {
    values
        .iter()
        .enumerate()
        .map(|(i, value)| {
            parameter(value).ok_or_else(|| {
                let name = names.get(i).map_or("?", String::as_str);
                Error::new(
                    ErrorKind::Parameter,
                    format!(
                        "expected :{name} to be a scalar value (ODBC binds one value per \
                         placeholder), found a {}",
                        value.type_name()
                    ),
                )
            })
        })
        .collect()
}

/// One value as a parameter, or `None` for a list.
fn parameter(value: &Value) -> Option<Parameter> {
    Some(match value {
        Value::Null => Box::new(VarCharBox::null()),
        Value::Bool(b) => Box::new(Bit::from_bool(*b)),
        Value::Int(n) => Box::new(Nullable::new(*n)),
        Value::UInt(n) => match i64::try_from(*n) {
            Ok(n) => Box::new(Nullable::new(n)),
            Err(_) => typed_text(
                n.to_string(),
                DataType::Decimal {
                    precision: 20,
                    scale: 0,
                },
            ),
        },
        Value::Float(x) => Box::new(Nullable::new(*x)),
        Value::Decimal { unscaled, scale } => {
            let text = decimal_text(*unscaled, *scale);
            let digits = text.chars().filter(char::is_ascii_digit).count();
            typed_text(
                text,
                DataType::Decimal {
                    precision: digits,
                    scale: i16::from(*scale),
                },
            )
        }
        Value::Text(s) => Box::new(VarCharBox::from_string(s.clone())),
        Value::Bytes(b) => Box::new(VarBinaryBox::from_vec(b.clone())),
        Value::Date(d) => typed_text(d.format("%Y-%m-%d").to_string(), DataType::Date),
        Value::Time(t) => typed_text(
            t.format("%H:%M:%S%.6f").to_string(),
            DataType::Time { precision: 6 },
        ),
        Value::Timestamp(ts) => typed_text(
            ts.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
            DataType::Timestamp { precision: 6 },
        ),
        // An instant is sent as its UTC wall time (ODBC has no zoned timestamp).
        Value::TimestampTz(ts) => typed_text(
            ts.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
            DataType::Timestamp { precision: 6 },
        ),
        Value::Uuid(u) => Box::new(VarCharBox::from_string(u.to_string())),
        Value::Json(j) => Box::new(VarCharBox::from_string(j.to_string())),
        // Lists, and kinds of value added later, have no one value here.
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_refused_by_name() {
        let Err(err) = parameters(&[Value::List(vec![Value::Int(1)])], &["ids".into()]) else {
            panic!("a list was bound");
        };
        assert_eq!(err.kind(), ErrorKind::Parameter);
        assert!(err.message().contains(":ids"), "{err}");
    }

    #[test]
    fn each_value_binds_with_its_own_sql_type() {
        let values = [
            Value::Int(-7),
            Value::decimal("-12.50").unwrap(),
            Value::Text("x".into()),
            Value::Null,
        ];
        let names = ["a", "b", "c", "d"].map(String::from);
        let bound = parameters(&values, &names).unwrap();
        let types: Vec<DataType> = bound.iter().map(|p| p.data_type()).collect();
        assert_eq!(types[0], DataType::BigInt);
        assert_eq!(
            types[1],
            DataType::Decimal {
                precision: 4,
                scale: 2
            }
        );
        assert!(matches!(types[2], DataType::Varchar { .. }), "{types:?}");
    }
}
