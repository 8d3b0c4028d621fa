//! PostgreSQL's binary value format into Arrow columns.
//!
//! Rows read through sqlx and rows read through `COPY ... (FORMAT binary)` carry the same binary
//! encoding per value, so both paths share this decoder. Each column gets a [`PgKind`] (how to
//! read its bytes) and a [`ArrowType`], chosen once from its type.

use arrow::datatypes::{IntervalMonthDayNano, i256};
use dataconn_core::{Error, ErrorKind, Result};
use sqlx::TypeInfo;
use sqlx::postgres::{PgTypeInfo, PgTypeKind};

use crate::columns::{ArrowType, Column, Datum};

/// Microseconds between 1970-01-01 and PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days between 1970-01-01 and 2000-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;

/// How to read one column's binary values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PgKind {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    /// UTF-8 text as is: text, varchar, char, name, json, xml, enums, citext.
    Text,
    /// `jsonb`: a version byte, then the text.
    Jsonb,
    /// The one-byte `"char"` type.
    Char,
    Bytea,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Interval,
    Uuid,
    /// `inet` and `cidr`, shown as PostgreSQL prints them.
    Inet {
        cidr: bool,
    },
    /// A function returning nothing.
    Void,
    Array(Box<PgKind>),
}

/// The decoder and Arrow type of a column of type `ty`, or an error naming both.
pub(crate) fn kind_of(column: &str, ty: &PgTypeInfo) -> Result<(PgKind, ArrowType)> {
    match ty.kind() {
        PgTypeKind::Enum(_) => return Ok((PgKind::Text, ArrowType::Utf8)),
        PgTypeKind::Domain(base) => return kind_of(column, base),
        PgTypeKind::Array(item) => {
            let (kind, arrow_type) = kind_of(column, item)?;
            if matches!(kind, PgKind::Array(_)) {
                return Err(unmapped(column, ty.name()));
            }
            return Ok((
                PgKind::Array(Box::new(kind)),
                ArrowType::List(Box::new(arrow_type)),
            ));
        }
        _ => {}
    }
    let name = ty.name().to_ascii_uppercase();
    Ok(match name.as_str() {
        "BOOL" => (PgKind::Bool, ArrowType::Bool),
        "INT2" => (PgKind::Int2, ArrowType::Int16),
        "INT4" => (PgKind::Int4, ArrowType::Int32),
        "INT8" => (PgKind::Int8, ArrowType::Int64),
        "OID" => (PgKind::Oid, ArrowType::UInt32),
        "FLOAT4" => (PgKind::Float4, ArrowType::Float32),
        "FLOAT8" => (PgKind::Float8, ArrowType::Float64),
        "NUMERIC" => (PgKind::Numeric, ArrowType::Decimal { declared: None }),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "XML" | "CITEXT" | "UNKNOWN" => {
            (PgKind::Text, ArrowType::Utf8)
        }
        "\"CHAR\"" | "CHAR" => (PgKind::Char, ArrowType::Utf8),
        "JSON" => (PgKind::Text, ArrowType::Json),
        "JSONB" => (PgKind::Jsonb, ArrowType::Json),
        "BYTEA" => (PgKind::Bytea, ArrowType::Binary),
        "DATE" => (PgKind::Date, ArrowType::Date32),
        "TIME" => (PgKind::Time, ArrowType::Time64),
        "TIMESTAMP" => (PgKind::Timestamp, ArrowType::Timestamp { utc: false }),
        "TIMESTAMPTZ" => (PgKind::TimestampTz, ArrowType::Timestamp { utc: true }),
        "INTERVAL" => (PgKind::Interval, ArrowType::Interval),
        "UUID" => (PgKind::Uuid, ArrowType::Uuid),
        "INET" => (PgKind::Inet { cidr: false }, ArrowType::Utf8),
        "CIDR" => (PgKind::Inet { cidr: true }, ArrowType::Utf8),
        "VOID" => (PgKind::Void, ArrowType::Null),
        _ => return Err(unmapped(column, ty.name())),
    })
}

fn unmapped(column: &str, ty: &str) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!(
            "column `{column}` has the PostgreSQL type {ty}, which has no Arrow mapping; CAST it in \
             the SQL (to text, for example)"
        ),
    )
}

fn malformed(column: &Column, what: &str) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!(
            "column `{}`: malformed binary {what} value from PostgreSQL",
            column.name()
        ),
    )
}

fn fixed<const N: usize>(column: &Column, bytes: &[u8], what: &str) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| malformed(column, what))
}

fn text<'a>(column: &Column, bytes: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|_| malformed(column, "text"))
}

fn infinite(column: &Column, what: &str) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!(
            "column `{}` holds an infinite {what}, which Arrow cannot represent",
            column.name()
        ),
    )
}

fn finite(column: &Column, value: i64, what: &str) -> Result<i64> {
    if value == i64::MAX || value == i64::MIN {
        return Err(Error::new(
            ErrorKind::TypeConversion,
            format!(
                "column `{}` holds an infinite {what}, which Arrow cannot represent",
                column.name()
            ),
        ));
    }
    Ok(value)
}

/// Decode one value (`None` is NULL) into `column`.
pub(crate) fn push(column: &mut Column, kind: &PgKind, raw: Option<&[u8]>) -> Result<()> {
    let Some(b) = raw else {
        return column.push(Datum::Null);
    };
    let datum = match kind {
        PgKind::Bool => Datum::Bool(fixed::<1>(column, b, "bool")?[0] != 0),
        PgKind::Int2 => Datum::I64(i16::from_be_bytes(fixed(column, b, "int2")?).into()),
        PgKind::Int4 => Datum::I64(i32::from_be_bytes(fixed(column, b, "int4")?).into()),
        PgKind::Int8 => Datum::I64(i64::from_be_bytes(fixed(column, b, "int8")?)),
        PgKind::Oid => Datum::U64(u32::from_be_bytes(fixed(column, b, "oid")?).into()),
        PgKind::Float4 => Datum::F32(f32::from_be_bytes(fixed(column, b, "float4")?)),
        PgKind::Float8 => Datum::F64(f64::from_be_bytes(fixed(column, b, "float8")?)),
        PgKind::Numeric => numeric(b).map_err(|problem| {
            Error::new(
                ErrorKind::TypeConversion,
                format!("column `{}`: {problem}", column.name()),
            )
        })?,
        PgKind::Text => Datum::Str(text(column, b)?),
        PgKind::Jsonb => match b.split_first() {
            Some((1, rest)) => Datum::Str(text(column, rest)?),
            _ => return Err(malformed(column, "jsonb")),
        },
        PgKind::Char => Datum::Str(text(column, b)?),
        PgKind::Bytea => Datum::Bytes(b),
        PgKind::Date => {
            // PostgreSQL's infinite dates are the extremes of i32.
            let days = i32::from_be_bytes(fixed(column, b, "date")?);
            if days == i32::MAX || days == i32::MIN {
                return Err(infinite(column, "date"));
            }
            Datum::Date(
                days.checked_add(PG_EPOCH_DAYS)
                    .ok_or_else(|| malformed(column, "date"))?,
            )
        }
        PgKind::Time => {
            let micros = i64::from_be_bytes(fixed(column, b, "time")?);
            // 24:00:00 is a valid PostgreSQL time; anything outside a day is not.
            if !(0..=86_400_000_000).contains(&micros) {
                return Err(malformed(column, "time"));
            }
            Datum::Time(micros)
        }
        PgKind::Timestamp | PgKind::TimestampTz => {
            let micros = finite(
                column,
                i64::from_be_bytes(fixed(column, b, "timestamp")?),
                "timestamp",
            )?;
            Datum::Timestamp(
                micros
                    .checked_add(PG_EPOCH_MICROS)
                    .ok_or_else(|| malformed(column, "timestamp"))?,
            )
        }
        PgKind::Interval => {
            let b: [u8; 16] = fixed(column, b, "interval")?;
            let micros = i64::from_be_bytes(b[0..8].try_into().unwrap_or_default());
            let days = i32::from_be_bytes(b[8..12].try_into().unwrap_or_default());
            let months = i32::from_be_bytes(b[12..16].try_into().unwrap_or_default());
            let nanos = micros
                .checked_mul(1000)
                .ok_or_else(|| malformed(column, "interval"))?;
            Datum::Interval(IntervalMonthDayNano::new(months, days, nanos))
        }
        PgKind::Uuid => {
            fixed::<16>(column, b, "uuid")?;
            Datum::Uuid(b)
        }
        PgKind::Inet { cidr } => {
            let shown = inet(b, *cidr).ok_or_else(|| malformed(column, "inet"))?;
            return column.push(Datum::Str(&shown));
        }
        PgKind::Void => Datum::Null,
        PgKind::Array(item) => return array(column, item, b),
    };
    column.push(datum)
}

/// A one-dimensional array: header, then each element's length and bytes.
fn array(column: &mut Column, item: &PgKind, b: &[u8]) -> Result<()> {
    let read_i32 = |at: usize| -> Option<i32> {
        Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let dims = read_i32(0).ok_or_else(|| malformed(column, "array"))?;
    if dims == 0 {
        column.list_child()?;
        return column.end_list(0);
    }
    if dims != 1 {
        return Err(Error::new(
            ErrorKind::TypeConversion,
            format!(
                "column `{}` holds a {dims}-dimensional array; only one-dimensional arrays map to Arrow lists",
                column.name()
            ),
        ));
    }
    let count = read_i32(12).ok_or_else(|| malformed(column, "array"))?;
    let count = usize::try_from(count).map_err(|_| malformed(column, "array"))?;
    // Each element takes at least its 4-byte length: a count beyond that is forged.
    if count > b.len().saturating_sub(20) / 4 {
        return Err(malformed(column, "array"));
    }
    let mut at = 20;
    for _ in 0..count {
        let len = read_i32(at).ok_or_else(|| malformed(column, "array"))?;
        at += 4;
        let value = match len {
            -1 => None,
            len => {
                let len = usize::try_from(len).map_err(|_| malformed(column, "array"))?;
                let end = at
                    .checked_add(len)
                    .ok_or_else(|| malformed(column, "array"))?;
                let v = b.get(at..end).ok_or_else(|| malformed(column, "array"))?;
                at = end;
                Some(v)
            }
        };
        push(column.list_child()?, item, value)?;
    }
    if at != b.len() {
        return Err(malformed(column, "array"));
    }
    column.end_list(count)
}

/// Most digits after the point a decimal can have (Decimal256's precision).
const MAX_SCALE: u16 = 76;

/// PostgreSQL's binary numeric: digit count, weight, sign, display scale, then base-10000
/// digits, digit `i` worth `10000^(weight - i)`. Every field is checked, since a forged value
/// must be an error and never a panic or a wrong number: the length must match the digit
/// count, each digit must be below 10000, and no digit may reach beyond the display scale.
/// Values beyond 38 digits come back as 256-bit decimals, beyond 76 as an error.
pub(crate) fn numeric(b: &[u8]) -> std::result::Result<Datum<'static>, String> {
    let bad = || "malformed binary numeric value from PostgreSQL".to_owned();
    let word = |i: usize| -> Option<u16> {
        b.get(i * 2..i * 2 + 2)
            .map(|w| u16::from_be_bytes([w[0], w[1]]))
    };
    let (Some(ndigits), Some(weight), Some(sign), Some(dscale)) =
        (word(0), word(1), word(2), word(3))
    else {
        return Err(bad());
    };
    let ndigits = usize::from(ndigits);
    let weight = i64::from(weight as i16);
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Err("holds NaN, which a decimal cannot represent".to_owned()),
        0xD000 | 0xF000 => {
            return Err("holds an infinite numeric, which a decimal cannot represent".to_owned());
        }
        _ => return Err(bad()),
    }
    if b.len() != 8 + 2 * ndigits {
        return Err(bad());
    }
    if dscale > MAX_SCALE {
        return Err(format!(
            "holds a numeric with {dscale} digits after the point, beyond Decimal256's \
             {MAX_SCALE}; CAST it to text in the SQL"
        ));
    }
    let scale = dscale as u8;
    let too_wide = || {
        "holds a numeric with more than 76 digits, beyond Decimal256; CAST it to text in the SQL"
            .to_owned()
    };
    // Digit i as a whole number times 10^exponent at `scale`, checked; None for a zero digit.
    let term = |i: usize| -> std::result::Result<Option<(u16, u32)>, String> {
        let digit = word(4 + i).ok_or_else(bad)?;
        if digit >= 10_000 {
            return Err(bad());
        }
        if digit == 0 {
            return Ok(None);
        }
        // No overflow: |weight| and i are below 2^16.
        let exponent = 4 * (weight - i as i64) + i64::from(scale);
        if exponent > 76 {
            // 10^77 and beyond never fits Decimal256 (the digit is at least 1).
            return Err(too_wide());
        }
        if exponent >= 0 {
            return Ok(Some((digit, exponent as u32)));
        }
        // The digit reaches past the display scale: the places it drops must be zeros.
        let factor = match exponent {
            -1 => 10,
            -2 => 100,
            -3 => 1000,
            _ => return Err(bad()),
        };
        if digit % factor != 0 {
            return Err(bad());
        }
        Ok(Some((digit / factor, 0)))
    };
    let negative = sign == 0x4000;
    // 128 bits when the value fits, else 256.
    let mut narrow = Some(0i128);
    for i in 0..ndigits {
        if let Some((d, e)) = term(i)? {
            narrow = narrow.and_then(|acc| {
                10i128
                    .checked_pow(e)
                    .and_then(|p| p.checked_mul(i128::from(d)))
                    .and_then(|t| acc.checked_add(t))
            });
        }
    }
    if let Some(v) = narrow {
        return Ok(Datum::Decimal(if negative { -v } else { v }, scale));
    }
    let ten = i256::from_i128(10);
    let mut value = i256::ZERO;
    for i in 0..ndigits {
        if let Some((d, e)) = term(i)? {
            let t = ten
                .checked_pow(e)
                .and_then(|p| p.checked_mul(i256::from_i128(i128::from(d))))
                .ok_or_else(too_wide)?;
            value = value.checked_add(t).ok_or_else(too_wide)?;
        }
    }
    if crate::columns::decimal::digits256(value) > 76 {
        return Err(too_wide());
    }
    Ok(Datum::Decimal256(
        if negative {
            value.wrapping_neg()
        } else {
            value
        },
        scale,
    ))
}

/// `inet`/`cidr` as PostgreSQL prints them: the prefix length is shown for a cidr, and for an
/// inet only when it is not the full address length.
fn inet(b: &[u8], cidr: bool) -> Option<String> {
    let (&family, rest) = b.split_first()?;
    let (&bits, rest) = rest.split_first()?;
    let (_is_cidr, rest) = rest.split_first()?;
    let (&len, addr) = rest.split_first()?;
    let addr = addr.get(..usize::from(len))?;
    let (shown, full) = match family {
        2 => (
            std::net::Ipv4Addr::from(<[u8; 4]>::try_from(addr).ok()?).to_string(),
            32,
        ),
        3 => (
            std::net::Ipv6Addr::from(<[u8; 16]>::try_from(addr).ok()?).to_string(),
            128,
        ),
        _ => return None,
    };
    if bits > full {
        return None;
    }
    Some(if cidr || bits != full {
        format!("{shown}/{bits}")
    } else {
        shown
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [ndigits, weight as u16, sign, dscale] {
            b.extend(w.to_be_bytes());
        }
        for d in digits {
            b.extend(d.to_be_bytes());
        }
        b
    }

    /// A decoded numeric as exact text.
    fn shown(d: std::result::Result<Datum<'static>, String>) -> String {
        match d {
            Ok(Datum::Decimal(v, s)) => crate::decimal_text(v, s),
            Ok(Datum::Decimal256(v, s)) => {
                format!("wide {}", crate::columns::decimal256_text(v, s))
            }
            Ok(other) => panic!("not a decimal: {other:?}"),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn numeric_decodes_exactly() {
        // 12345.678 = [1, 2345, 6780] weight 1, scale 3
        assert_eq!(
            shown(numeric(&numeric_bytes(3, 1, 0, 3, &[1, 2345, 6780]))),
            "12345.678"
        );
        // -0.05 = [500] weight -1, scale 2
        assert_eq!(
            shown(numeric(&numeric_bytes(1, -1, 0x4000, 2, &[500]))),
            "-0.05"
        );
        assert_eq!(shown(numeric(&numeric_bytes(0, 0, 0, 2, &[]))), "0.00");
        // 10000000 = [1000] weight 1 (trailing zero groups dropped)
        assert_eq!(
            shown(numeric(&numeric_bytes(1, 1, 0, 0, &[1000]))),
            "10000000"
        );
        assert!(shown(numeric(&numeric_bytes(0, 0, 0xC000, 0, &[]))).contains("NaN"));
        assert!(shown(numeric(&numeric_bytes(0, 0, 0xD000, 0, &[]))).contains("infinite"));
    }

    #[test]
    fn numerics_beyond_38_digits_are_256_bit_and_exact() {
        // 1 followed by 48 zeros and .5: [1, 0 x 12, 5000] weight 12, scale 1
        let mut digits = vec![1u16];
        digits.extend([0; 12]);
        digits.push(5000);
        let text = shown(numeric(&numeric_bytes(14, 12, 0x4000, 1, &digits)));
        assert_eq!(text, format!("wide -1{}.5", "0".repeat(48)));
        // 77 digits is beyond Decimal256.
        let text = shown(numeric(&numeric_bytes(1, 19, 0, 0, &[10])));
        assert!(text.contains("more than 76 digits"), "{text}");
    }

    #[test]
    fn forged_numerics_are_errors_not_panics_or_wrong_values() {
        let cases = [
            // weight far below the point: a huge negative exponent
            numeric_bytes(1, i16::MIN, 0, 2, &[1]),
            // weight far above it
            numeric_bytes(1, i16::MAX, 0, 0, &[1]),
            // more digits declared than sent, and fewer
            numeric_bytes(3, 0, 0, 0, &[1]),
            numeric_bytes(1, 0, 0, 0, &[1, 2]),
            // a base-10000 digit of 10000 or more
            numeric_bytes(1, 0, 0, 0, &[12345]),
            // digits past the display scale: 0.1234 shown with 2 places
            numeric_bytes(1, -1, 0, 2, &[1234]),
            // a display scale beyond Decimal256's 76 places
            numeric_bytes(1, 0, 0, 16383, &[1]),
            // an unknown sign
            numeric_bytes(1, 0, 0x1234, 0, &[1]),
        ];
        for case in cases {
            let text = shown(numeric(&case));
            assert!(text.starts_with("error: "), "{case:?}: {text}");
        }
        assert!(shown(numeric(&[0, 1])).starts_with("error: "));
        // Through `push`, the error names the column.
        let mut c = Column::new("amount", ArrowType::Decimal { declared: None });
        let err = push(
            &mut c,
            &PgKind::Numeric,
            Some(&numeric_bytes(1, i16::MIN, 0, 2, &[1])),
        )
        .unwrap_err();
        assert!(err.message().contains("`amount`"), "{err}");
    }

    #[test]
    fn forged_dates_times_arrays_and_inets_are_named_errors() {
        let mut c = Column::new("d", ArrowType::Date32);
        for days in [i32::MAX, i32::MIN] {
            let err = push(&mut c, &PgKind::Date, Some(&days.to_be_bytes())).unwrap_err();
            assert!(err.message().contains("infinite date"), "{err}");
        }
        let mut c = Column::new("t", ArrowType::Time64);
        for micros in [-1i64, 86_400_000_001, i64::MAX] {
            let err = push(&mut c, &PgKind::Time, Some(&micros.to_be_bytes())).unwrap_err();
            assert!(err.message().contains("`t`"), "{err}");
        }
        let array = |count: i32, elements: &[u8]| {
            let mut b = Vec::new();
            for v in [1i32, 0, 23, count, 1] {
                b.extend(v.to_be_bytes());
            }
            b.extend(elements);
            b
        };
        let mut c = Column::new("a", ArrowType::List(Box::new(ArrowType::Int32)));
        let forged = [
            array(i32::MAX, &[]),
            array(-1, &[]),
            array(1, &(-5i32).to_be_bytes()),
            array(1, &[0, 0, 0, 4, 0, 0]),
            [array(1, &[0, 0, 0, 4, 0, 0, 0, 1]), vec![9]].concat(),
        ];
        for b in forged {
            let err = push(&mut c, &PgKind::Array(Box::new(PgKind::Int4)), Some(&b)).unwrap_err();
            assert!(err.message().contains("`a`"), "{err}");
        }
        assert_eq!(inet(&[2, 33, 0, 4, 10, 0, 0, 1], false), None);
    }

    #[test]
    fn inet_prints_like_postgres() {
        assert_eq!(
            inet(&[2, 32, 0, 4, 10, 0, 0, 1], false).unwrap(),
            "10.0.0.1"
        );
        assert_eq!(
            inet(&[2, 24, 1, 4, 10, 0, 0, 0], true).unwrap(),
            "10.0.0.0/24"
        );
        let mut v6 = vec![3, 128, 0, 16];
        v6.extend([0u8; 15]);
        v6.push(1);
        assert_eq!(inet(&v6, false).unwrap(), "::1");
    }
}
