//! MySQL's and MariaDB's binary-protocol values into Arrow columns.
//!
//! Prepared statements answer in the binary protocol: integers little-endian at their type's
//! width, floats IEEE, DECIMAL as text, dates and times as a length byte and fields. Each column
//! gets a [`MyKind`] (how to read its bytes) and a [`ArrowType`] from its type.

use arrow::datatypes::i256;
use dataconn_core::{Error, ErrorKind, Result};
use sqlx::mysql::MySqlTypeInfo;
use sqlx::{MySql, Type, TypeInfo};

use crate::columns::{ArrowType, Column, Datum};

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
///
/// MySQL flags every column with a binary collation (`utf8mb4_bin`, and MariaDB's `JSON`, which
/// is `LONGTEXT COLLATE utf8mb4_bin`) as binary, and sqlx names those BLOB or VARBINARY; only the
/// `binary` character set (63) means bytes, which sqlx's own `str` compatibility check tells.
pub(crate) fn kind_of(column: &str, ty: &MySqlTypeInfo) -> Result<(MyKind, ArrowType)> {
    let name = ty.name();
    let bytes_named = matches!(
        name,
        "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB"
    );
    if bytes_named && <str as Type<MySql>>::compatible(ty) {
        return Ok((MyKind::Text, ArrowType::Utf8));
    }
    Ok(match name {
        "BOOLEAN" | "TINYINT" => (MyKind::Signed, ArrowType::Int8),
        "TINYINT UNSIGNED" => (MyKind::Unsigned, ArrowType::UInt8),
        "SMALLINT" | "YEAR" => (MyKind::Signed, ArrowType::Int16),
        "SMALLINT UNSIGNED" => (MyKind::Unsigned, ArrowType::UInt16),
        "MEDIUMINT" | "INT" => (MyKind::Signed, ArrowType::Int32),
        "MEDIUMINT UNSIGNED" | "INT UNSIGNED" => (MyKind::Unsigned, ArrowType::UInt32),
        "BIGINT" => (MyKind::Signed, ArrowType::Int64),
        "BIGINT UNSIGNED" => (MyKind::Unsigned, ArrowType::UInt64),
        "FLOAT" => (MyKind::Float, ArrowType::Float32),
        "DOUBLE" => (MyKind::Double, ArrowType::Float64),
        "DECIMAL" => (MyKind::Decimal, ArrowType::Decimal { declared: None }),
        "BIT" => (MyKind::Bit, ArrowType::UInt64),
        "VARCHAR" | "CHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET" => {
            (MyKind::Text, ArrowType::Utf8)
        }
        "JSON" => (MyKind::Text, ArrowType::Json),
        "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" | "GEOMETRY" => {
            (MyKind::Bytes, ArrowType::Binary)
        }
        "DATE" => (MyKind::Date, ArrowType::Date32),
        "DATETIME" => (MyKind::DateTime, ArrowType::Timestamp { utc: false }),
        "TIMESTAMP" => (MyKind::DateTime, ArrowType::Timestamp { utc: true }),
        "TIME" => (MyKind::Time, ArrowType::Duration),
        "NULL" => (MyKind::Null, ArrowType::Null),
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
            decimal(text).map_err(|problem| {
                Error::new(
                    ErrorKind::TypeConversion,
                    format!(
                        "column `{}` holds the decimal {text}: {problem}",
                        column.name()
                    ),
                )
            })?
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
            // The length byte says which fields follow: 4 (date), 7 (+ time), 11 (+ micros).
            let rest = match (len, rest.get(..usize::from(len))) {
                (4 | 7 | 11, Some(fields)) => fields,
                _ => return Err(malformed(column, "date")),
            };
            let field = |i: usize| rest.get(i).copied().map_or(0, u32::from);
            let year = i64::from(u16::from_le_bytes([rest[0], rest[1]]));
            let (month, day) = (field(2), field(3));
            if year == 0 || month == 0 || day == 0 {
                return column.push(Datum::Null);
            }
            let days =
                days_from_civil(year, month, day).ok_or_else(|| malformed(column, "date"))?;
            if kind == MyKind::Date {
                Datum::Date(days)
            } else {
                let (h, m, s) = (field(4), field(5), field(6));
                let micros = match rest.get(7..11) {
                    Some(u) => u32::from_le_bytes([u[0], u[1], u[2], u[3]]),
                    None => 0,
                };
                if h > 23 || m > 59 || s > 59 || micros > 999_999 {
                    return Err(malformed(column, "datetime"));
                }
                let seconds = i64::from(days) * 86_400 + i64::from(h * 3600 + m * 60 + s);
                Datum::Timestamp(
                    seconds
                        .checked_mul(1_000_000)
                        .and_then(|us| us.checked_add(i64::from(micros)))
                        .ok_or_else(|| malformed(column, "datetime"))?,
                )
            }
        }
        MyKind::Time => {
            let Some((&len, rest)) = b.split_first() else {
                return column.push(Datum::Duration(0));
            };
            if len == 0 {
                return column.push(Datum::Duration(0));
            }
            // 8 bytes (sign, days, h, m, s) or 12 (+ micros).
            let rest = match (len, rest.get(..usize::from(len))) {
                (8 | 12, Some(fields)) => fields,
                _ => return Err(malformed(column, "time")),
            };
            let negative = match rest[0] {
                0 => false,
                1 => true,
                _ => return Err(malformed(column, "time")),
            };
            let days = i64::from(u32::from_le_bytes([rest[1], rest[2], rest[3], rest[4]]));
            let (h, m, s) = (i64::from(rest[5]), i64::from(rest[6]), i64::from(rest[7]));
            let micros = match rest.get(8..12) {
                Some(u) => i64::from(u32::from_le_bytes([u[0], u[1], u[2], u[3]])),
                None => 0,
            };
            if h > 23 || m > 59 || s > 59 || micros > 999_999 {
                return Err(malformed(column, "time"));
            }
            // Days come from the wire as a u32: the product can exceed i64, so it is checked.
            let total = days
                .checked_mul(86_400)
                .and_then(|d| d.checked_add(h * 3600 + m * 60 + s))
                .and_then(|secs| secs.checked_mul(1_000_000))
                .and_then(|us| us.checked_add(micros))
                .ok_or_else(|| malformed(column, "time"))?;
            Datum::Duration(if negative { -total } else { total })
        }
        MyKind::Null => Datum::Null,
    };
    column.push(datum)
}

/// MySQL's decimal text (`-123.4500`) as a 128-bit decimal, or 256-bit beyond 38 digits.
fn decimal(text: &str) -> std::result::Result<Datum<'static>, &'static str> {
    const MAX_DIGITS: usize = 76;
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all = || whole.bytes().chain(fraction.bytes());
    if (whole.is_empty() && fraction.is_empty()) || !all().all(|b| b.is_ascii_digit()) {
        return Err("expected decimal digits");
    }
    let significant = all().skip_while(|b| *b == b'0').count();
    if significant > MAX_DIGITS || fraction.len() > MAX_DIGITS {
        return Err("beyond Decimal256's 76 digits; CAST it to text in the SQL");
    }
    // At most 76 digits after the leading zeros: the checked steps cannot fail, but stay
    // checked rather than trusting the count.
    let scale = fraction.len() as u8;
    let too_wide = "beyond Decimal256's 76 digits; CAST it to text in the SQL";
    let mut narrow = Some(0i128);
    for b in all() {
        narrow = narrow.and_then(|v| v.checked_mul(10)?.checked_add(i128::from(b - b'0')));
    }
    if let Some(v) = narrow {
        return Ok(Datum::Decimal(if negative { -v } else { v }, scale));
    }
    let ten = i256::from_i128(10);
    let mut wide = i256::ZERO;
    for b in all() {
        wide = wide
            .checked_mul(ten)
            .and_then(|v| v.checked_add(i256::from_i128(i128::from(b - b'0'))))
            .ok_or(too_wide)?;
    }
    Ok(Datum::Decimal256(
        if negative { wide.wrapping_neg() } else { wide },
        scale,
    ))
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
                Column::new("ts", ArrowType::Timestamp { utc: false }),
                Column::new("t", ArrowType::Duration),
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
    fn forged_times_and_datetimes_are_named_errors_not_overflows() {
        let mut c = Column::new("t", ArrowType::Duration);
        let forged: [&[u8]; 5] = [
            // u32::MAX days: the product overflows i64
            &[8, 0, 0xFF, 0xFF, 0xFF, 0xFF, 23, 59, 59],
            // 200 hours in the hour field
            &[8, 0, 0, 0, 0, 0, 200, 0, 0],
            // a length byte beyond the bytes sent
            &[12, 0, 0, 0, 0, 0, 1, 2, 3],
            // micros of a million or more
            &[12, 0, 0, 0, 0, 0, 1, 2, 3, 0x40, 0x42, 0x0F, 0x00],
            // a sign byte that is neither 0 nor 1
            &[8, 7, 0, 0, 0, 0, 1, 2, 3],
        ];
        for b in forged {
            let err = push(&mut c, MyKind::Time, Some(b)).unwrap_err();
            assert!(err.message().contains("`t`"), "{b:?}: {err}");
        }
        // The largest TIME MySQL has, 838:59:59.999999, still decodes.
        push(
            &mut c,
            MyKind::Time,
            Some(&[12, 0, 34, 0, 0, 0, 22, 59, 59, 0x3F, 0x42, 0x0F, 0x00]),
        )
        .unwrap();
        let mut c = Column::new("ts", ArrowType::Timestamp { utc: false });
        let forged: [&[u8]; 3] = [
            &[7, 0xE8, 0x07, 3, 5, 24, 0, 0],
            &[11, 0xE8, 0x07, 3, 5, 1, 2, 3, 0xFF, 0xFF, 0xFF, 0xFF],
            &[7, 0xE8, 0x07, 3],
        ];
        for b in forged {
            let err = push(&mut c, MyKind::DateTime, Some(b)).unwrap_err();
            assert!(err.message().contains("`ts`"), "{b:?}: {err}");
        }
    }

    #[test]
    fn decimals_beyond_38_digits_are_256_bit_and_exact() {
        let wide = format!("-{}.{}", "9".repeat(35), "1".repeat(30));
        match decimal(&wide).unwrap() {
            Datum::Decimal256(v, s) => {
                assert_eq!(crate::columns::decimal256_text(v, s), wide);
            }
            other => panic!("expected a 256-bit decimal, found {other:?}"),
        }
        assert!(matches!(decimal("0012.50"), Ok(Datum::Decimal(1250, 2))));
        assert!(decimal(&"9".repeat(77)).is_err());
        assert!(decimal("1.2.3").is_err());
        assert!(decimal("").is_err());
        let mut c = Column::new("big", ArrowType::Decimal { declared: None });
        let err = push(&mut c, MyKind::Decimal, Some("9".repeat(80).as_bytes())).unwrap_err();
        assert!(err.message().contains("`big`"), "{err}");
    }

    #[test]
    fn bits_are_big_endian() {
        let mut a = Assembler::new(vec![Column::new("b", ArrowType::UInt64)], 100);
        push(&mut a.columns()[0], MyKind::Bit, Some(&[0x01, 0x02])).unwrap();
        a.row_done();
        let b = a.finish().unwrap().column("b").unwrap();
        assert_eq!(
            b.as_primitive::<arrow::datatypes::UInt64Type>().value(0),
            0x0102
        );
    }
}
