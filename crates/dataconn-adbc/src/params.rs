//! `:name` parameter values as the one-row Arrow batch ADBC binds: one column per placeholder,
//! each typed as its value (integers as Int64, decimals as Decimal128, instants as UTC
//! microsecond timestamps...), so that the driver binds typed values and nothing is spliced
//! into the SQL.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array,
    NullArray, RecordBatch, StringArray, Time64MicrosecondArray, TimestampMicrosecondArray,
    UInt64Array,
};
use arrow::datatypes::{Field, Schema};
use dataconn_core::{Error, ErrorKind, Result, Value};

/// The batch binding `values` (named `names`, for messages) to placeholders `$1`, `$2`...
///
/// # Errors
/// [`ErrorKind::Parameter`] for a value ADBC drivers cannot take (a list), naming it.
pub(crate) fn bind_batch(values: &[Value], names: &[String]) -> Result<RecordBatch> {
    let mut fields = Vec::with_capacity(values.len());
    let mut columns = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        let name = names.get(i).map_or("?", String::as_str);
        let column = column(value).ok_or_else(|| {
            Error::new(
                ErrorKind::Parameter,
                format!(
                    "expected :{name} to be a scalar value (ADBC binds one value per \
                     placeholder), found a {}",
                    value.type_name()
                ),
            )
        })?;
        fields.push(Field::new(
            format!("{}", i + 1),
            column.data_type().clone(),
            true,
        ));
        columns.push(column);
    }
    let schema = Arc::new(Schema::new(fields));
    Ok(RecordBatch::try_new_with_options(
        schema,
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(1)),
    )?)
}

/// One value as a one-element array, or `None` for a list.
fn column(value: &Value) -> Option<ArrayRef> {
    const MICROS_PER_DAY: i64 = 86_400_000_000;
    Some(match value {
        Value::Null => Arc::new(NullArray::new(1)),
        Value::Bool(b) => Arc::new(BooleanArray::from(vec![*b])),
        Value::Int(n) => Arc::new(Int64Array::from(vec![*n])),
        Value::UInt(n) => Arc::new(UInt64Array::from(vec![*n])),
        Value::Float(x) => Arc::new(Float64Array::from(vec![*x])),
        Value::Decimal { unscaled, scale } => Arc::new(
            Decimal128Array::from(vec![*unscaled])
                .with_precision_and_scale(38, i8::try_from(*scale).unwrap_or(i8::MAX))
                .ok()?,
        ),
        Value::Text(s) => Arc::new(StringArray::from(vec![s.as_str()])),
        Value::Bytes(b) => Arc::new(BinaryArray::from(vec![b.as_slice()])),
        Value::Date(d) => {
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
            let days = i32::try_from(d.signed_duration_since(epoch).num_days()).ok()?;
            Arc::new(Date32Array::from(vec![days]))
        }
        Value::Time(t) => {
            let micros = t
                .signed_duration_since(chrono::NaiveTime::MIN)
                .num_microseconds()?;
            Arc::new(Time64MicrosecondArray::from(vec![
                micros.rem_euclid(MICROS_PER_DAY),
            ]))
        }
        Value::Timestamp(ts) => Arc::new(TimestampMicrosecondArray::from(vec![
            ts.and_utc().timestamp_micros(),
        ])),
        Value::TimestampTz(ts) => Arc::new(
            TimestampMicrosecondArray::from(vec![ts.timestamp_micros()]).with_timezone("UTC"),
        ),
        Value::Uuid(u) => Arc::new(StringArray::from(vec![u.to_string()])),
        Value::Json(j) => Arc::new(StringArray::from(vec![j.to_string()])),
        // Lists, and kinds of value added later, have no one-element column here.
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::DataType;

    #[test]
    fn each_value_binds_as_its_own_type_in_placeholder_order() {
        let values = [
            Value::Int(-7),
            Value::Text("x".into()),
            Value::Null,
            Value::decimal("12.50").unwrap(),
        ];
        let names = ["a", "b", "c", "d"].map(String::from);
        let batch = bind_batch(&values, &names).unwrap();
        assert_eq!(batch.num_rows(), 1);
        let types: Vec<DataType> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            [
                DataType::Int64,
                DataType::Utf8,
                DataType::Null,
                DataType::Decimal128(38, 2)
            ]
        );
    }

    #[test]
    fn no_parameters_is_an_empty_row() {
        assert_eq!(bind_batch(&[], &[]).unwrap().num_columns(), 0);
    }

    #[test]
    fn a_list_is_refused_by_name() {
        let err = bind_batch(&[Value::List(vec![Value::Int(1)])], &["ids".into()]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parameter);
        assert!(err.message().contains(":ids"), "{err}");
    }
}
