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

/// The Arrow type of a column, from its logical type; a scale or precision outside what the
/// type allows (a forged or garbled row type) is an error naming the column.
fn target(column: &RowType) -> Result<DataType> {
    let scale = column.scale.unwrap_or(0);
    let kind = column.kind.to_ascii_lowercase();
    let invalid = |what: &str, found: i64| {
        Error::new(
            ErrorKind::TypeConversion,
            format!(
                "column `{}`: expected a {kind} {what} from Snowflake, found {found}",
                column.name
            ),
        )
    };
    Ok(match kind.as_str() {
        "fixed" => {
            if !(0..=38).contains(&scale) {
                return Err(invalid("scale between 0 and 38", scale));
            }
            if scale == 0 {
                DataType::Int64
            } else {
                let precision = column.precision.unwrap_or(38);
                if !(scale..=38).contains(&precision) {
                    return Err(invalid(
                        &format!("precision between its scale {scale} and 38"),
                        precision,
                    ));
                }
                // In range: both checked just above.
                DataType::Decimal128(precision as u8, scale as i8)
            }
        }
        "time" | "timestamp_ntz" | "timestamp_ltz" | "timestamp_tz"
            if !(0..=9).contains(&scale) =>
        {
            return Err(invalid("scale (digits of a second) between 0 and 9", scale));
        }
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
    })
}

/// An Arrow error met while converting a column, naming it.
fn in_column(column: &str, err: arrow::error::ArrowError) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!("column `{column}`: could not convert Snowflake's Arrow data: {err}"),
    )
}

/// A decimal column whose values must fit its declared precision.
fn check_precision(
    column: &str,
    array: arrow::array::Decimal128Array,
    precision: u8,
) -> Result<ArrayRef> {
    array.validate_decimal_precision(precision).map_err(|_| {
        Error::new(
            ErrorKind::TypeConversion,
            format!(
                "column `{column}`: expected values of at most {precision} digits, as its row \
                 type says, found a longer one"
            ),
        )
    })?;
    Ok(Arc::new(array))
}

/// The row types and the data disagree on the number of columns: never guess which is which.
fn column_count(found: usize, expected: usize, where_: &str) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!(
            "expected {expected} columns in {where_}, as the result's row types say, found {found}"
        ),
    )
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
    // Digits only (also keeps `truncate` below on a character boundary).
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(column, text, "fraction of a second"));
    }
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
    if let Some((n, row)) = rows
        .iter()
        .enumerate()
        .find(|(_, r)| r.len() != rowtype.len())
    {
        return Err(column_count(
            row.len(),
            rowtype.len(),
            &format!("row {}", n + 1),
        ));
    }
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(rowtype.len());
    for (i, column) in rowtype.iter().enumerate() {
        let cells = rows.iter().map(|r| r.get(i).and_then(|c| c.as_deref()));
        let name = column.name.as_str();
        let array: ArrayRef = match target(column)? {
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
                            // Any number of digits may come: every power is checked.
                            let value = if have <= want {
                                10i128
                                    .checked_pow(want - have)
                                    .and_then(|f| unscaled.checked_mul(f))
                            } else {
                                match 10i128.checked_pow(have - want) {
                                    Some(factor) => {
                                        (unscaled % factor == 0).then(|| unscaled / factor)
                                    }
                                    // More than 38 extra digits of scale: exact only for 0.
                                    None => (unscaled == 0).then_some(0),
                                }
                            }
                            .ok_or_else(|| bad(name, v, &format!("decimal with scale {s}")))?;
                            b.append_value(value);
                        }
                    }
                }
                check_precision(name, b.finish(), p)?
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
                    b.append_option(
                        c.map(|v| {
                            time_of_day(name, seconds_to_nanos(name, v).ok(), &|| v.to_owned())
                        })
                        .transpose()?,
                    );
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

/// The scale in a field's Snowflake metadata, when it has one.
fn scale_of(field: &Field) -> Option<i64> {
    field.metadata().get("scale").and_then(|s| s.parse().ok())
}

/// Casts that fail on a value that does not fit, never turning it into a null.
const EXACT: arrow::compute::CastOptions<'static> = arrow::compute::CastOptions {
    safe: false,
    format_options: arrow::util::display::FormatOptions::new(),
};

/// Integers of any width as Int64, exactly; another physical type is an error naming the column.
fn integers(name: &str, logical: &str, array: &ArrayRef) -> Result<ArrayRef> {
    if !array.data_type().is_integer() {
        return Err(Error::new(
            ErrorKind::TypeConversion,
            format!(
                "column `{name}`: expected {logical} packed as integers, found Arrow {}",
                array.data_type()
            ),
        ));
    }
    arrow::compute::cast_with_options(array, &DataType::Int64, &EXACT)
        .map_err(|e| in_column(name, e))
}

/// `10^(9 - scale)`: what turns a value of `scale` digits of a second into nanoseconds.
fn nanos_factor(scale: i64) -> i64 {
    // `target` and `convert` keep the scale within 0..=9.
    10i64.pow((9 - scale.clamp(0, 9)) as u32)
}

const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// A time of day in nanoseconds, or an error naming the column.
fn time_of_day(name: &str, nanos: Option<i64>, shown: &dyn Fn() -> String) -> Result<i64> {
    nanos
        .filter(|n| (0..NANOS_PER_DAY).contains(n))
        .ok_or_else(|| bad(name, &shown(), "time of day (0 to 24 hours)"))
}

/// One Arrow column as Snowflake packs it, into the logical type's Arrow type.
fn convert(column: &RowType, field: &Field, array: &ArrayRef) -> Result<ArrayRef> {
    let want = target(column)?;
    let name = column.name.as_str();
    let logical = column.kind.to_ascii_lowercase();
    // The data's own scale wins, as in the official connectors; else the row type's.
    let scale = scale_of(field).or(column.scale).unwrap_or(0);
    let mismatch = || {
        Error::new(
            ErrorKind::TypeConversion,
            format!(
                "column `{name}`: expected the Arrow data's scale to be the row type's {}, \
                 found {scale}",
                column.scale.unwrap_or(0)
            ),
        )
    };
    match logical.as_str() {
        "fixed" => {
            if scale != column.scale.unwrap_or(0) {
                return Err(mismatch());
            }
            match (&want, array.data_type()) {
                (_, DataType::Decimal128(_, from_scale)) if i64::from(*from_scale) != scale => {
                    Err(mismatch())
                }
                (DataType::Int64, DataType::Decimal128(..)) => {
                    // Wide integers come as Decimal128; they stay Int64 (one type per column
                    // across chunks), and a value beyond Int64 is an error, never a silent null.
                    arrow::compute::cast_with_options(array, &DataType::Int64, &EXACT).map_err(|_| {
                        Error::new(
                            ErrorKind::TypeConversion,
                            format!("column `{name}` holds an integer beyond Int64; CAST it to VARCHAR or NUMBER(38, 0) text in the SQL"),
                        )
                    })
                }
                (DataType::Int64, _) => integers(name, "FIXED", array),
                (DataType::Decimal128(p, s), DataType::Decimal128(..)) => {
                    let cast = arrow::compute::cast_with_options(
                        array,
                        &DataType::Decimal128(*p, *s),
                        &EXACT,
                    )
                    .map_err(|e| in_column(name, e))?;
                    check_precision(name, cast.as_primitive().clone(), *p)
                }
                (DataType::Decimal128(p, s), _) => {
                    let ints = integers(name, "FIXED", array)?;
                    let ints = ints.as_primitive::<arrow::datatypes::Int64Type>();
                    let mut b = Decimal128Builder::new().with_precision_and_scale(*p, *s)?;
                    for v in ints.iter() {
                        b.append_option(v.map(i128::from));
                    }
                    check_precision(name, b.finish(), *p)
                }
                _ => integers(name, "FIXED", array),
            }
        }
        "time" | "timestamp_ntz" | "timestamp_ltz" | "timestamp_tz"
            if !(0..=9).contains(&scale) =>
        {
            Err(bad(
                name,
                &scale.to_string(),
                "scale (digits of a second) between 0 and 9",
            ))
        }
        "time" => {
            let ints = integers(name, "TIME", array)?;
            let ints = ints.as_primitive::<arrow::datatypes::Int64Type>();
            let factor = nanos_factor(scale);
            let mut b = Time64NanosecondBuilder::new();
            for v in ints.iter() {
                b.append_option(
                    v.map(|v| time_of_day(name, v.checked_mul(factor), &|| v.to_string()))
                        .transpose()?,
                );
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
                    let epoch = integers(name, "a timestamp's epoch", epoch)?;
                    let epoch = epoch.as_primitive::<arrow::datatypes::Int64Type>();
                    let fraction = match s.column_by_name("fraction") {
                        Some(f) => Some(integers(name, "a timestamp's fraction", f)?),
                        None => None,
                    };
                    let fraction = fraction
                        .as_ref()
                        .map(|f| f.as_primitive::<arrow::datatypes::Int64Type>());
                    for i in 0..s.len() {
                        // A null parent, or (from some servers) a null epoch under a valid one.
                        if s.is_null(i) || epoch.is_null(i) {
                            b.append_null();
                            continue;
                        }
                        // With a fraction column, epoch is seconds; alone, it is scaled.
                        let value = match fraction {
                            Some(f) => {
                                let nanos = if f.is_null(i) { 0 } else { f.value(i) };
                                if !(0..1_000_000_000).contains(&nanos) {
                                    return Err(bad(
                                        name,
                                        &nanos.to_string(),
                                        "fraction of a second in nanoseconds",
                                    ));
                                }
                                epoch
                                    .value(i)
                                    .checked_mul(1_000_000_000)
                                    .and_then(|n| n.checked_add(nanos))
                            }
                            None => epoch.value(i).checked_mul(nanos_factor(scale)),
                        };
                        let value =
                            value.ok_or_else(|| out_of_range(name, &epoch.value(i).to_string()))?;
                        b.append_value(value);
                    }
                }
                _ => {
                    let ints = integers(name, "a timestamp", array)?;
                    let factor = nanos_factor(scale);
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
        _ => {
            arrow::compute::cast_with_options(array, &want, &EXACT).map_err(|e| in_column(name, e))
        }
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
                .map(|c| target(c).map(|t| arrow::array::new_empty_array(&t)))
                .collect::<Result<Vec<_>>>()?,
            0,
        );
    }
    // The bytes come from the server: sizes are checked and a decoder panic is an error.
    let decoded = dataconn_core::ipc::decode_untrusted(
        bytes,
        "a Snowflake result",
        dataconn_core::ipc::DEFAULT_MAX_DECODED_BYTES,
        |bytes| match read_ipc(bytes, false) {
            // Some servers (fakesnow) mark a TIMESTAMP struct's children non-nullable yet put
            // nulls in them. That breaks a declared constraint, not memory safety: read again
            // without Arrow's checks, then run every check but that one ourselves.
            Err(e) if e.to_string().contains("unmasked nulls") => read_ipc(bytes, true),
            other => other,
        },
    )?;
    let (source, decoded) = decoded;
    if source.fields().len() != rowtype.len() {
        return Err(column_count(
            source.fields().len(),
            rowtype.len(),
            "the Arrow data",
        ));
    }
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
                .map(|c| target(c).map(|t| arrow::array::new_empty_array(&t)))
                .collect::<Result<Vec<_>>>()?,
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
    /// An Arrow IPC stream of one column with Snowflake's field metadata.
    fn ipc(array: ArrayRef, scale: Option<i64>) -> Vec<u8> {
        let mut field = Field::new("c", array.data_type().clone(), true);
        if let Some(scale) = scale {
            field = field.with_metadata([("scale".to_owned(), scale.to_string())].into());
        }
        let schema = Arc::new(Schema::new(vec![field]));
        let batch = RecordBatch::try_new(schema.clone(), vec![array]).unwrap();
        let mut out = Vec::new();
        let mut writer = arrow::ipc::writer::StreamWriter::try_new(&mut out, &schema).unwrap();
        writer.write(&batch).unwrap();
        writer.finish().unwrap();
        drop(writer);
        out
    }

    fn conversion_error(result: Result<Table>, column: &str, says: &str) {
        let err = result.expect_err("a forged reply is an error");
        assert_eq!(err.kind(), ErrorKind::TypeConversion, "{err}");
        let shown = err.to_string();
        assert!(
            shown.contains(&format!("`{column}`")) && shown.contains(says),
            "names the column and says {says:?}: {shown}"
        );
    }

    fn ints(values: Vec<i64>) -> ArrayRef {
        Arc::new(arrow::array::Int64Array::from(values))
    }

    #[test]
    fn forged_scales_and_precisions_are_errors_naming_the_column() {
        let one = [vec![Some("1".to_owned())]];
        for (scale, precision, says) in [
            (128, 38, "scale between 0 and 38"),
            (39, 38, "scale between 0 and 38"),
            (-1, 38, "scale between 0 and 38"),
            (2, 0, "precision between its scale 2 and 38"),
            (2, 39, "precision between its scale 2 and 38"),
            (5, 3, "precision between its scale 5 and 38"),
        ] {
            let rowtype = [col("n", "fixed", scale, precision)];
            conversion_error(from_json(&rowtype, &one), "n", says);
            conversion_error(
                from_arrow(&rowtype, &ipc(ints(vec![1]), Some(scale))),
                "n",
                says,
            );
        }
        for kind in ["time", "timestamp_ntz", "timestamp_tz"] {
            conversion_error(
                from_json(&[col("t", kind, 10, 0)], &one),
                "t",
                "between 0 and 9",
            );
            conversion_error(
                from_arrow(&[col("t", kind, 9, 0)], &ipc(ints(vec![1]), Some(200))),
                "t",
                "between 0 and 9",
            );
        }
        // Empty results check the row types too.
        conversion_error(from_json(&[col("n", "fixed", 128, 38)], &[]), "n", "scale");
        conversion_error(from_arrow(&[col("n", "fixed", 128, 38)], &[]), "n", "scale");
    }

    #[test]
    fn rows_and_row_types_of_different_widths_are_errors() {
        let rowtype = [col("a", "fixed", 0, 38), col("b", "text", 0, 0)];
        let short = vec![
            vec![Some("1".to_owned()), Some("x".to_owned())],
            vec![Some("2".to_owned())],
        ];
        let err = from_json(&rowtype, &short).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TypeConversion);
        assert!(
            err.to_string().contains("expected 2 columns in row 2"),
            "{err}"
        );
        let long = vec![vec![Some("1".to_owned()), None, Some("extra".to_owned())]];
        assert!(
            from_json(&rowtype, &long).is_err(),
            "an extra cell is not dropped"
        );
        let one_column = ipc(ints(vec![1]), Some(0));
        let err = from_arrow(&rowtype, &one_column).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.contains("expected 2 columns in the Arrow data") && shown.contains("found 1"),
            "{shown}"
        );
        let err = from_arrow(&rowtype[..0], &one_column).unwrap_err();
        assert!(err.to_string().contains("expected 0 columns"), "{err}");
    }

    #[test]
    fn forged_values_are_errors_never_panics_or_wrong_values() {
        let decimal = [col("d", "fixed", 2, 10)];
        // More digits than a Decimal128 holds, and digits the column's scale would drop.
        let long = format!("1.{}", "0".repeat(60));
        conversion_error(from_json(&decimal, &[vec![Some(long)]]), "d", "decimal");
        let drops = vec![vec![Some("0.001".to_owned())]];
        conversion_error(from_json(&decimal, &drops), "d", "scale 2");
        // A value wider than its declared precision.
        let wide = vec![vec![Some("123456789012.5".to_owned())]];
        conversion_error(from_json(&decimal, &wide), "d", "at most 10 digits");
        conversion_error(
            from_arrow(&decimal, &ipc(ints(vec![i64::MAX]), Some(2))),
            "d",
            "at most 10 digits",
        );
        // A fraction of a second with a multi-byte character where it would be cut.
        let time = [col("t", "time", 9, 0)];
        let odd = vec![vec![Some("1.1234567\u{e9}".to_owned())]];
        conversion_error(from_json(&time, &odd), "t", "time of day");
        let late = vec![vec![Some("90000".to_owned())]];
        conversion_error(from_json(&time, &late), "t", "time of day");
        // Arrow times that overflow nanoseconds, or lie beyond a day.
        for v in [i64::MAX, 86_400] {
            conversion_error(
                from_arrow(&[col("t", "time", 0, 0)], &ipc(ints(vec![v]), Some(0))),
                "t",
                "time of day",
            );
        }
        // FIXED packed as floats: not integers, never truncated.
        let floats: ArrayRef = Arc::new(arrow::array::Float64Array::from(vec![1.5]));
        conversion_error(
            from_arrow(&[col("i", "fixed", 0, 38)], &ipc(floats, Some(0))),
            "i",
            "integers",
        );
        // A Decimal128 whose scale is not the row type's.
        let dec: ArrayRef = Arc::new(
            arrow::array::Decimal128Array::from(vec![12345])
                .with_precision_and_scale(38, 4)
                .unwrap(),
        );
        conversion_error(from_arrow(&decimal, &ipc(dec.clone(), None)), "d", "scale");
        conversion_error(
            from_arrow(&[col("i", "fixed", 0, 38)], &ipc(dec, None)),
            "i",
            "scale",
        );
        // Text that is no boolean is an error, not a null.
        let text: ArrayRef = Arc::new(arrow::array::StringArray::from(vec!["maybe"]));
        conversion_error(
            from_arrow(&[col("b", "boolean", 0, 0)], &ipc(text, None)),
            "b",
            "convert",
        );
        // A timestamp fraction outside a second.
        let fields = arrow::datatypes::Fields::from(vec![
            Field::new("epoch", DataType::Int64, true),
            Field::new("fraction", DataType::Int32, true),
        ]);
        let parts: Vec<ArrayRef> = vec![
            ints(vec![1]),
            Arc::new(arrow::array::Int32Array::from(vec![2_000_000_000])),
        ];
        let ts: ArrayRef = Arc::new(arrow::array::StructArray::new(fields, parts, None));
        conversion_error(
            from_arrow(&[col("ts", "timestamp_ntz", 9, 0)], &ipc(ts, Some(9))),
            "ts",
            "fraction of a second",
        );
    }
}
