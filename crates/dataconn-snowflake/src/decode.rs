//! Snowflake results into Arrow: the JSON `rowset` and the base64 Arrow IPC `rowsetBase64`,
//! both mapped to the same Arrow types from Snowflake's logical types.
//!
//! | Snowflake | Arrow |
//! |---|---|
//! | FIXED, scale 0 | Int64 (a value beyond Int64 is an error naming the column) |
//! | FIXED, scale s > 0 | Decimal128(precision, s) |
//! | REAL | Float64 |
//! | TEXT, VARIANT, OBJECT, ARRAY | Utf8 |
//! | BOOLEAN | Boolean |
//! | DATE | Date32 |
//! | TIME | Time64(ns) |
//! | TIMESTAMP_NTZ | Timestamp(ns) |
//! | TIMESTAMP_LTZ, TIMESTAMP_TZ | Timestamp(ns, "UTC") (the instant) |
//! | BINARY | Binary |

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder,
    Float64Builder, Int64Builder, RecordBatch, StringBuilder, Time64NanosecondBuilder,
    TimestampNanosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use dataconn_core::{Error, ErrorKind, Result, Table, parse_decimal};
use serde::Deserialize;

/// One column of a result, as Snowflake describes it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RowType {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) scale: Option<i64>,
    pub(crate) precision: Option<i64>,
}

fn target(column: &RowType) -> DataType {
    let scale = column.scale.unwrap_or(0);
    match column.kind.to_ascii_lowercase().as_str() {
        "fixed" if scale > 0 => DataType::Decimal128(
            column.precision.unwrap_or(38).clamp(1, 38) as u8,
            scale as i8,
        ),
        "fixed" => DataType::Int64,
        "real" => DataType::Float64,
        "boolean" => DataType::Boolean,
        "date" => DataType::Date32,
        "time" => DataType::Time64(TimeUnit::Nanosecond),
        "timestamp_ntz" => DataType::Timestamp(TimeUnit::Nanosecond, None),
        "timestamp_ltz" | "timestamp_tz" => {
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
        }
        "binary" => DataType::Binary,
        _ => DataType::Utf8,
    }
}

fn bad(column: &str, value: &str, what: &str) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!("column `{column}`: expected a {what} from Snowflake, found {value:?}"),
    )
}

/// `"<seconds>.<fraction>"` as nanoseconds.
fn seconds_to_nanos(column: &str, text: &str) -> Result<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let seconds: i64 = whole
        .parse()
        .map_err(|_| bad(column, text, "number of seconds"))?;
    let mut digits = fraction.to_owned();
    digits.truncate(9);
    while digits.len() < 9 {
        digits.push('0');
    }
    let nanos: i64 = digits
        .parse()
        .map_err(|_| bad(column, text, "fraction of a second"))?;
    let nanos = if seconds < 0 || whole.starts_with('-') {
        -nanos
    } else {
        nanos
    };
    seconds
        .checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(nanos))
        .ok_or_else(|| out_of_range(column, text))
}

/// A timestamp or time beyond what nanoseconds since 1970 hold (years 1677 to 2262).
fn out_of_range(column: &str, value: &str) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!(
            "column `{column}`: expected a timestamp between the years 1677 and 2262 (Arrow \
             nanoseconds), found {value:?}"
        ),
    )
}

fn hex(column: &str, text: &str) -> Result<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(text.get(i..i + 2).unwrap_or("x"), 16)
                .map_err(|_| bad(column, text, "hex string"))
        })
        .collect()
}

/// A JSON `rowset` (every cell a string or null) as a table.
pub(crate) fn from_json(rowtype: &[RowType], rows: &[Vec<Option<String>>]) -> Result<Table> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(rowtype.len());
    for (i, column) in rowtype.iter().enumerate() {
        let cells = rows.iter().map(|r| r.get(i).and_then(|c| c.as_deref()));
        let name = column.name.as_str();
        let array: ArrayRef = match target(column) {
            DataType::Int64 => {
                let mut b = Int64Builder::new();
                for c in cells {
                    b.append_option(
                        c.map(|v| v.parse::<i64>().map_err(|_| bad(name, v, "integer")))
                            .transpose()?,
                    );
                }
                Arc::new(b.finish())
            }
            DataType::Decimal128(p, s) => {
                let mut b = Decimal128Builder::new().with_precision_and_scale(p, s)?;
                for c in cells {
                    match c {
                        None => b.append_null(),
                        Some(v) => {
                            let (unscaled, scale) =
                                parse_decimal(v).ok_or_else(|| bad(name, v, "decimal"))?;
                            // Rescale to the column's scale; never drop digits silently.
                            let want = s as u32;
                            let have = u32::from(scale);
                            let value = if have <= want {
                                unscaled.checked_mul(10i128.pow(want - have))
                            } else {
                                let factor = 10i128.pow(have - want);
                                (unscaled % factor == 0).then(|| unscaled / factor)
                            }
                            .ok_or_else(|| bad(name, v, &format!("decimal with scale {s}")))?;
                            b.append_value(value);
                        }
                    }
                }
                Arc::new(b.finish())
            }
            DataType::Float64 => {
                let mut b = Float64Builder::new();
                for c in cells {
                    b.append_option(
                        c.map(|v| v.parse::<f64>().map_err(|_| bad(name, v, "float")))
                            .transpose()?,
                    );
                }
                Arc::new(b.finish())
            }
            DataType::Boolean => {
                let mut b = BooleanBuilder::new();
                for c in cells {
                    b.append_option(match c {
                        None => None,
                        Some("1" | "true" | "TRUE") => Some(true),
                        Some("0" | "false" | "FALSE") => Some(false),
                        Some(v) => return Err(bad(name, v, "boolean")),
                    });
                }
                Arc::new(b.finish())
            }
            DataType::Date32 => {
                let mut b = Date32Builder::new();
                for c in cells {
                    b.append_option(
                        c.map(|v| v.parse::<i32>().map_err(|_| bad(name, v, "day number")))
                            .transpose()?,
                    );
                }
                Arc::new(b.finish())
            }
            DataType::Time64(_) => {
                let mut b = Time64NanosecondBuilder::new();
                for c in cells {
                    b.append_option(c.map(|v| seconds_to_nanos(name, v)).transpose()?);
                }
                Arc::new(b.finish())
            }
            DataType::Timestamp(_, tz) => {
                let mut b = TimestampNanosecondBuilder::new();
                for c in cells {
                    // TIMESTAMP_TZ adds " <offset minutes + 1440>" after the UTC epoch.
                    b.append_option(
                        c.map(|v| seconds_to_nanos(name, v.split(' ').next().unwrap_or(v)))
                            .transpose()?,
                    );
                }
                Arc::new(b.finish().with_timezone_opt(tz))
            }
            DataType::Binary => {
                let mut b = BinaryBuilder::new();
                for c in cells {
                    match c {
                        None => b.append_null(),
                        Some(v) => b.append_value(hex(name, v)?),
                    }
                }
                Arc::new(b.finish())
            }
            _ => {
                let mut b = StringBuilder::new();
                for c in cells {
                    b.append_option(c);
                }
                Arc::new(b.finish())
            }
        };
        columns.push(array);
    }
    assemble(rowtype, columns, rows.len())
}

fn assemble(rowtype: &[RowType], columns: Vec<ArrayRef>, rows: usize) -> Result<Table> {
    let fields: Vec<Field> = rowtype
        .iter()
        .zip(&columns)
        .map(|(c, a)| Field::new(&c.name, a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(rows));
    let batch = RecordBatch::try_new_with_options(schema.clone(), columns, &options)?;
    Table::try_new(schema, if rows == 0 { vec![] } else { vec![batch] })
}

fn scale_of(field: &Field) -> i64 {
    field
        .metadata()
        .get("scale")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// One Arrow column as Snowflake packs it, into the logical type's Arrow type.
fn convert(column: &RowType, field: &Field, array: &ArrayRef) -> Result<ArrayRef> {
    let want = target(column);
    let scale = scale_of(field).max(column.scale.unwrap_or(0));
    let name = column.name.as_str();
    let logical = column.kind.to_ascii_lowercase();
    match logical.as_str() {
        "fixed" => {
            // Packed as Int8..Int64 (scaled) or Decimal128.
            let as_i64 = || arrow::compute::cast(array, &DataType::Int64);
            match (&want, array.data_type()) {
                (DataType::Int64, DataType::Decimal128(..)) => {
                    // Wide integers come as Decimal128; they stay Int64 (one type per column
                    // across chunks), and a value beyond Int64 is an error, never a silent null.
                    let options = arrow::compute::CastOptions {
                        safe: false,
                        ..Default::default()
                    };
                    arrow::compute::cast_with_options(array, &DataType::Int64, &options).map_err(|_| {
                        Error::new(
                            ErrorKind::TypeConversion,
                            format!("column `{name}` holds an integer beyond Int64; CAST it to VARCHAR or NUMBER(38, 0) text in the SQL"),
                        )
                    })
                }
                (DataType::Int64, _) => Ok(as_i64()?),
                (DataType::Decimal128(p, s), DataType::Decimal128(..)) => {
                    Ok(arrow::compute::cast(array, &DataType::Decimal128(*p, *s))?)
                }
                (DataType::Decimal128(p, s), _) => {
                    let ints = as_i64()?;
                    let ints = ints.as_primitive::<arrow::datatypes::Int64Type>();
                    let mut b = Decimal128Builder::new().with_precision_and_scale(*p, *s)?;
                    for v in ints.iter() {
                        b.append_option(v.map(i128::from));
                    }
                    Ok(Arc::new(b.finish()))
                }
                _ => Ok(as_i64()?),
            }
        }
        "time" => {
            let ints = arrow::compute::cast(array, &DataType::Int64)?;
            let ints = ints.as_primitive::<arrow::datatypes::Int64Type>();
            let factor = 10i64.pow((9 - scale.clamp(0, 9)) as u32);
            let mut b = Time64NanosecondBuilder::new();
            for v in ints.iter() {
                b.append_option(v.map(|v| v * factor));
            }
            Ok(Arc::new(b.finish()))
        }
        "timestamp_ntz" | "timestamp_ltz" | "timestamp_tz" => {
            let tz = match &want {
                DataType::Timestamp(_, tz) => tz.clone(),
                _ => None,
            };
            let mut b = TimestampNanosecondBuilder::new();
            match array.data_type() {
                DataType::Struct(_) => {
                    let s = array.as_struct();
                    let epoch = s
                        .column_by_name("epoch")
                        .ok_or_else(|| bad(name, "struct", "timestamp struct with an epoch"))?;
                    let epoch = arrow::compute::cast(epoch, &DataType::Int64)?;
                    let epoch = epoch.as_primitive::<arrow::datatypes::Int64Type>();
                    let fraction = match s.column_by_name("fraction") {
                        Some(f) => Some(arrow::compute::cast(f, &DataType::Int64)?),
                        None => None,
                    };
                    for i in 0..s.len() {
                        // A null parent, or (from some servers) a null epoch under a valid one.
                        if s.is_null(i) || epoch.is_null(i) {
                            b.append_null();
                            continue;
                        }
                        let nanos = fraction
                            .as_ref()
                            .map(|f| f.as_primitive::<arrow::datatypes::Int64Type>().value(i))
                            .unwrap_or(0);
                        // With a fraction column, epoch is seconds; alone, it is scaled.
                        let value = if fraction.is_some() {
                            epoch
                                .value(i)
                                .checked_mul(1_000_000_000)
                                .and_then(|n| n.checked_add(nanos))
                        } else {
                            epoch
                                .value(i)
                                .checked_mul(10i64.pow((9 - scale.clamp(0, 9)) as u32))
                        };
                        let value =
                            value.ok_or_else(|| out_of_range(name, &epoch.value(i).to_string()))?;
                        b.append_value(value);
                    }
                }
                _ => {
                    let ints = arrow::compute::cast(array, &DataType::Int64)?;
                    let factor = 10i64.pow((9 - scale.clamp(0, 9)) as u32);
                    for v in ints.as_primitive::<arrow::datatypes::Int64Type>().iter() {
                        b.append_option(
                            v.map(|v| {
                                v.checked_mul(factor)
                                    .ok_or_else(|| out_of_range(name, &v.to_string()))
                            })
                            .transpose()?,
                        );
                    }
                }
            }
            Ok(Arc::new(b.finish().with_timezone_opt(tz)))
        }
        _ if array.data_type() == &want => Ok(array.clone()),
        _ => Ok(arrow::compute::cast(array, &want)?),
    }
}

type Decoded = (arrow::datatypes::SchemaRef, Vec<RecordBatch>);

fn read_ipc(bytes: &[u8], lenient: bool) -> std::result::Result<Decoded, arrow::error::ArrowError> {
    let mut reader = arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)?;
    if lenient {
        // SAFETY: every batch read this way goes through `validate` (layout, buffer sizes,
        // children) and `validate_values` (offsets, UTF-8, dictionary keys) below; only the
        // nullability of non-nullable children is left unchecked, which is not a memory-safety
        // property.
        reader = unsafe { reader.with_skip_validation(true) };
    }
    let schema = reader.schema();
    let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
    if lenient {
        for batch in &batches {
            for column in batch.columns() {
                let data = column.to_data();
                data.validate()?;
                data.validate_values()?;
            }
        }
    }
    Ok((schema, batches))
}

/// Arrow IPC stream bytes (base64-decoded `rowsetBase64`, or an Arrow chunk) as a table.
pub(crate) fn from_arrow(rowtype: &[RowType], bytes: &[u8]) -> Result<Table> {
    if bytes.is_empty() {
        return assemble(
            rowtype,
            rowtype
                .iter()
                .map(|c| arrow::array::new_empty_array(&target(c)))
                .collect(),
            0,
        );
    }
    let decoded = match read_ipc(bytes, false) {
        // Some servers (fakesnow) mark a TIMESTAMP struct's children non-nullable yet put
        // nulls in them. That breaks a declared constraint, not memory safety: read again
        // without Arrow's checks, then run every check but that one ourselves.
        Err(e) if e.to_string().contains("unmasked nulls") => read_ipc(bytes, true)?,
        other => other?,
    };
    let (source, decoded) = decoded;
    let mut batches = Vec::new();
    let mut schema = None;
    for batch in decoded {
        let columns = rowtype
            .iter()
            .enumerate()
            .map(|(i, c)| convert(c, source.field(i), batch.column(i)))
            .collect::<Result<Vec<_>>>()?;
        let table = assemble(rowtype, columns, batch.num_rows())?;
        schema.get_or_insert_with(|| table.schema().clone());
        batches.extend(table.batches().iter().cloned());
    }
    match schema {
        Some(schema) => Table::try_new(schema, batches),
        None => assemble(
            rowtype,
            rowtype
                .iter()
                .map(|c| arrow::array::new_empty_array(&target(c)))
                .collect(),
            0,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, kind: &str, scale: i64, precision: i64) -> RowType {
        RowType {
            name: name.into(),
            kind: kind.into(),
            scale: Some(scale),
            precision: Some(precision),
        }
    }

    #[test]
    fn decimals_rescale_exactly_and_out_of_range_timestamps_are_errors() {
        let rowtype = [col("d", "fixed", 2, 10)];
        let rows = vec![vec![Some("1.500".to_owned())], vec![Some("-2".to_owned())]];
        let t = from_json(&rowtype, &rows).unwrap();
        let d = t.column("d").unwrap();
        let d = d.as_primitive::<arrow::datatypes::Decimal128Type>();
        assert_eq!((d.value(0), d.value(1)), (150, -200));
        let err = from_json(&rowtype, &[vec![Some("1.505".to_owned())]]).unwrap_err();
        assert!(err.to_string().contains("column `d`"), "{err}");
        let rowtype = [col("t", "timestamp_ntz", 9, 0)];
        let err =
            from_json(&rowtype, &[vec![Some("253402214400.000000000".to_owned())]]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TypeConversion);
        assert!(
            err.to_string().contains("column `t`") && err.to_string().contains("2262"),
            "{err}"
        );
    }

    #[test]
    fn json_rowsets_map_every_logical_type() {
        let rowtype = [
            col("i", "fixed", 0, 38),
            col("d", "fixed", 2, 10),
            col("r", "real", 0, 0),
            col("b", "boolean", 0, 0),
            col("day", "date", 0, 0),
            col("t", "time", 9, 0),
            col("ts", "timestamp_tz", 9, 0),
            col("bin", "binary", 0, 0),
            col("v", "variant", 0, 0),
        ];
        let row = |v: &[Option<&str>]| v.iter().map(|c| c.map(str::to_owned)).collect::<Vec<_>>();
        let rows = vec![
            row(&[
                Some("42"),
                Some("1.5"),
                Some("2.25"),
                Some("1"),
                Some("19782"),
                Some("3723.5"),
                Some("1709210096.789000000 1560"),
                Some("00ff"),
                Some("{\"a\":1}"),
            ]),
            row(&[None, None, None, None, None, None, None, None, None]),
        ];
        let t = from_json(&rowtype, &rows).unwrap();
        let c = |n: &str| t.column(n).unwrap();
        assert_eq!(
            c("i")
                .as_primitive::<arrow::datatypes::Int64Type>()
                .value(0),
            42
        );
        assert_eq!(c("d").data_type(), &DataType::Decimal128(10, 2));
        assert_eq!(
            c("d")
                .as_primitive::<arrow::datatypes::Decimal128Type>()
                .value(0),
            150
        );
        assert!(c("b").as_boolean().value(0));
        assert_eq!(
            c("t")
                .as_primitive::<arrow::datatypes::Time64NanosecondType>()
                .value(0),
            3_723_500_000_000
        );
        assert_eq!(
            c("ts")
                .as_primitive::<arrow::datatypes::TimestampNanosecondType>()
                .value(0),
            1_709_210_096_789_000_000
        );
        assert_eq!(c("bin").as_binary::<i32>().value(0), [0, 255]);
        for name in t.column_names() {
            assert!(c(name).is_null(1), "{name}");
        }
    }
}
