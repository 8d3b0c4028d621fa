//! MySQL's and MariaDB's binary-protocol values into Arrow columns.
//!
//! Prepared statements answer in the binary protocol: integers little-endian at their type's
//! width, floats IEEE, DECIMAL as text, dates and times as a length byte and fields. Each column
//! gets a [`MyKind`] (how to read its bytes) and a [`Target`] (the Arrow type) from its type.

use dataconn_core::{Error, ErrorKind, Result, parse_decimal};
use sqlx::TypeInfo;
use sqlx::mysql::MySqlTypeInfo;

use crate::columns::{Column, Datum, Target};

/// How to read one column's binary values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MyKind {
    Signed,
    Unsigned,
    Float,
    Double,
    Decimal,
    Bit,
    Text,
    Bytes,
    Date,
    DateTime,
    Time,
    Null,
}

/// The decoder and Arrow type of a column of type `ty`, or an error naming both.
pub(crate) fn kind_of(column: &str, ty: &MySqlTypeInfo) -> Result<(MyKind, Target)> {
    let name = ty.name();
    Ok(match name {
        "BOOLEAN" | "TINYINT" => (MyKind::Signed, Target::Int8),
        "TINYINT UNSIGNED" => (MyKind::Unsigned, Target::UInt8),
        "SMALLINT" | "YEAR" => (MyKind::Signed, Target::Int16),
        "SMALLINT UNSIGNED" => (MyKind::Unsigned, Target::UInt16),
        "MEDIUMINT" | "INT" => (MyKind::Signed, Target::Int32),
        "MEDIUMINT UNSIGNED" | "INT UNSIGNED" => (MyKind::Unsigned, Target::UInt32),
        "BIGINT" => (MyKind::Signed, Target::Int64),
        "BIGINT UNSIGNED" => (MyKind::Unsigned, Target::UInt64),
        "FLOAT" => (MyKind::Float, Target::Float32),
        "DOUBLE" => (MyKind::Double, Target::Float64),
        "DECIMAL" => (MyKind::Decimal, Target::Decimal { declared: None }),
        "BIT" => (MyKind::Bit, Target::UInt64),
        "VARCHAR" | "CHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET" => {
            (MyKind::Text, Target::Utf8)
        }
        "JSON" => (MyKind::Text, Target::Json),
        "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" | "GEOMETRY" => {
            (MyKind::Bytes, Target::Binary)
        }
        "DATE" => (MyKind::Date, Target::Date32),
        "DATETIME" => (MyKind::DateTime, Target::Timestamp { utc: false }),
        "TIMESTAMP" => (MyKind::DateTime, Target::Timestamp { utc: true }),
        "TIME" => (MyKind::Time, Target::Duration),
        "NULL" => (MyKind::Null, Target::Null),
        other => {
            return Err(Error::new(
                ErrorKind::TypeConversion,
                format!(
                    "column `{column}` has the MySQL type {other}, which has no Arrow mapping; CAST it \
                     in the SQL"
                ),
            ));
        }
    })
}

fn malformed(column: &Column, what: &str) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!(
            "column `{}`: malformed binary {what} value from MySQL",
            column.name()
        ),
    )
}

fn le_signed(b: &[u8]) -> Option<i64> {
    Some(match b.len() {
        1 => i64::from(b[0] as i8),
        2 => i64::from(i16::from_le_bytes(b.try_into().ok()?)),
        4 => i64::from(i32::from_le_bytes(b.try_into().ok()?)),
        8 => i64::from_le_bytes(b.try_into().ok()?),
        _ => return None,
    })
}

fn le_unsigned(b: &[u8]) -> Option<u64> {
    Some(match b.len() {
        1 => u64::from(b[0]),
        2 => u64::from(u16::from_le_bytes(b.try_into().ok()?)),
        4 => u64::from(u32::from_le_bytes(b.try_into().ok()?)),
        8 => u64::from_le_bytes(b.try_into().ok()?),
        _ => return None,
    })
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i32> {
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((date - epoch).num_days()).ok()
}

/// Decode one value (`None` is NULL) into `column`.
pub(crate) fn push(column: &mut Column, kind: MyKind, raw: Option<&[u8]>) -> Result<()> {
    let Some(b) = raw else {
        return column.push(Datum::Null);
    };
    let datum = match kind {
        MyKind::Signed => Datum::I64(le_signed(b).ok_or_else(|| malformed(column, "integer"))?),
        MyKind::Unsigned => Datum::U64(le_unsigned(b).ok_or_else(|| malformed(column, "integer"))?),
        MyKind::Float => Datum::F32(f32::from_le_bytes(
            b.try_into().map_err(|_| malformed(column, "float"))?,
        )),
        MyKind::Double => Datum::F64(f64::from_le_bytes(
            b.try_into().map_err(|_| malformed(column, "double"))?,
        )),
        MyKind::Decimal => {
            let text = std::str::from_utf8(b).map_err(|_| malformed(column, "decimal"))?;
            let (v, s) = parse_decimal(text).ok_or_else(|| {
                Error::new(
                    ErrorKind::TypeConversion,
                    format!(
                        "column `{}` holds the decimal {text}, beyond Decimal128's 38 digits; CAST it to \
                         text in the SQL",
                        column.name()
                    ),
                )
            })?;
            Datum::Decimal(v, s)
        }
        MyKind::Bit => {
            if b.len() > 8 {
                return Err(malformed(column, "bit"));
            }
            Datum::U64(
                b.iter()
                    .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte)),
            )
        }
        MyKind::Text => Datum::Str(std::str::from_utf8(b).map_err(|_| malformed(column, "text"))?),
        MyKind::Bytes => Datum::Bytes(b),
        MyKind::Date | MyKind::DateTime => {
            // A zero date ('0000-00-00') has length 0 and no calendar meaning: NULL.
            let Some((&len, rest)) = b.split_first() else {
                return column.push(Datum::Null);
            };
            if len == 0 {
                return column.push(Datum::Null);
            }
            let field = |i: usize| rest.get(i).copied().map(u32::from);
            let year = rest
                .get(0..2)
                .map(|y| i64::from(u16::from_le_bytes([y[0], y[1]])));
            let (Some(year), Some(month), Some(day)) = (year, field(2), field(3)) else {
                return Err(malformed(column, "date"));
            };
            if year == 0 || month == 0 || day == 0 {
                return column.push(Datum::Null);
            }
            let days =
                days_from_civil(year, month, day).ok_or_else(|| malformed(column, "date"))?;
            if kind == MyKind::Date {
                Datum::Date(days)
            } else {
                let (h, m, s) = (
                    field(4).unwrap_or(0),
                    field(5).unwrap_or(0),
                    field(6).unwrap_or(0),
                );
                let micros = match rest.get(7..11) {
                    Some(u) => i64::from(u32::from_le_bytes([u[0], u[1], u[2], u[3]])),
                    None => 0,
                };
                let seconds = i64::from(days) * 86_400 + i64::from(h * 3600 + m * 60 + s);
                Datum::Timestamp(seconds * 1_000_000 + micros)
            }
        }
        MyKind::Time => {
            let Some((&len, rest)) = b.split_first() else {
                return column.push(Datum::Duration(0));
            };
            if len == 0 {
                return column.push(Datum::Duration(0));
            }
            let negative = rest.first().copied() == Some(1);
            let days = rest
                .get(1..5)
                .map(|d| i64::from(u32::from_le_bytes([d[0], d[1], d[2], d[3]])))
                .ok_or_else(|| malformed(column, "time"))?;
            let hms = |i: usize| rest.get(i).map(|v| i64::from(*v)).unwrap_or(0);
            let micros = match rest.get(8..12) {
                Some(u) => i64::from(u32::from_le_bytes([u[0], u[1], u[2], u[3]])),
                None => 0,
            };
            let total = ((days * 24 + hms(5)) * 3600 + hms(6) * 60 + hms(7)) * 1_000_000 + micros;
            Datum::Duration(if negative { -total } else { total })
        }
        MyKind::Null => Datum::Null,
    };
    column.push(datum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::Assembler;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DurationMicrosecondType, TimestampMicrosecondType};

    #[test]
    fn datetimes_and_times_decode_from_the_binary_protocol() {
        let mut a = Assembler::new(
            vec![
                Column::new("ts", Target::Timestamp { utc: false }),
                Column::new("t", Target::Duration),
            ],
            100,
        );
        // 2024-03-05 06:07:08.000009 and -(1 day 02:03:04.5)
        let ts = [11u8, 0xE8, 0x07, 3, 5, 6, 7, 8, 9, 0, 0, 0];
        let t = [12u8, 1, 1, 0, 0, 0, 2, 3, 4, 0x20, 0xA1, 0x07, 0x00];
        push(&mut a.columns()[0], MyKind::DateTime, Some(&ts)).unwrap();
        push(&mut a.columns()[1], MyKind::Time, Some(&t)).unwrap();
        a.row_done();
        push(&mut a.columns()[0], MyKind::DateTime, Some(&[0u8])).unwrap();
        push(&mut a.columns()[1], MyKind::Time, None).unwrap();
        a.row_done();
        let table = a.finish().unwrap();
        let ts = table.column("ts").unwrap();
        let ts = ts.as_primitive::<TimestampMicrosecondType>();
        assert_eq!(ts.value(0), 1_709_618_828_000_009);
        assert!(ts.is_null(1), "a zero date is NULL");
        let t = table.column("t").unwrap();
        assert_eq!(
            t.as_primitive::<DurationMicrosecondType>().value(0),
            -(93_784_500_000)
        );
    }

    #[test]
    fn bits_are_big_endian() {
        let mut a = Assembler::new(vec![Column::new("b", Target::UInt64)], 100);
        push(&mut a.columns()[0], MyKind::Bit, Some(&[0x01, 0x02])).unwrap();
        a.row_done();
        let b = a.finish().unwrap().column("b").unwrap();
        assert_eq!(
            b.as_primitive::<arrow::datatypes::UInt64Type>().value(0),
            0x0102
        );
    }
}
