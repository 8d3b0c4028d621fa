//! PostgreSQL's binary value format into Arrow columns.
//!
//! Rows read through sqlx and rows read through `COPY ... (FORMAT binary)` carry the same binary
//! encoding per value, so both paths share this decoder. Each column gets a [`PgKind`] (how to
//! read its bytes) and a [`Target`] (the Arrow type), chosen once from its type.

use arrow::datatypes::IntervalMonthDayNano;
use dataconn_core::{Error, ErrorKind, Result};
use sqlx::TypeInfo;
use sqlx::postgres::{PgTypeInfo, PgTypeKind};

use crate::columns::{Column, Datum, Target};

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
pub(crate) fn kind_of(column: &str, ty: &PgTypeInfo) -> Result<(PgKind, Target)> {
    match ty.kind() {
        PgTypeKind::Enum(_) => return Ok((PgKind::Text, Target::Utf8)),
        PgTypeKind::Domain(base) => return kind_of(column, base),
        PgTypeKind::Array(item) => {
            let (kind, target) = kind_of(column, item)?;
            if matches!(kind, PgKind::Array(_)) {
                return Err(unmapped(column, ty.name()));
            }
            return Ok((
                PgKind::Array(Box::new(kind)),
                Target::List(Box::new(target)),
            ));
        }
        _ => {}
    }
    let name = ty.name().to_ascii_uppercase();
    Ok(match name.as_str() {
        "BOOL" => (PgKind::Bool, Target::Bool),
        "INT2" => (PgKind::Int2, Target::Int16),
        "INT4" => (PgKind::Int4, Target::Int32),
        "INT8" => (PgKind::Int8, Target::Int64),
        "OID" => (PgKind::Oid, Target::UInt32),
        "FLOAT4" => (PgKind::Float4, Target::Float32),
        "FLOAT8" => (PgKind::Float8, Target::Float64),
        "NUMERIC" => (PgKind::Numeric, Target::Decimal { declared: None }),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "XML" | "CITEXT" | "UNKNOWN" => {
            (PgKind::Text, Target::Utf8)
        }
        "\"CHAR\"" | "CHAR" => (PgKind::Char, Target::Utf8),
        "JSON" => (PgKind::Text, Target::Json),
        "JSONB" => (PgKind::Jsonb, Target::Json),
        "BYTEA" => (PgKind::Bytea, Target::Binary),
        "DATE" => (PgKind::Date, Target::Date32),
        "TIME" => (PgKind::Time, Target::Time64),
        "TIMESTAMP" => (PgKind::Timestamp, Target::Timestamp { utc: false }),
        "TIMESTAMPTZ" => (PgKind::TimestampTz, Target::Timestamp { utc: true }),
        "INTERVAL" => (PgKind::Interval, Target::Interval),
        "UUID" => (PgKind::Uuid, Target::Uuid),
        "INET" => (PgKind::Inet { cidr: false }, Target::Utf8),
        "CIDR" => (PgKind::Inet { cidr: true }, Target::Utf8),
        "VOID" => (PgKind::Void, Target::Null),
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
        PgKind::Numeric => {
            let (v, s) = numeric(b).map_err(|problem| {
                Error::new(
                    ErrorKind::TypeConversion,
                    format!("column `{}`: {problem}", column.name()),
                )
            })?;
            Datum::Decimal(v, s)
        }
        PgKind::Text => Datum::Str(text(column, b)?),
        PgKind::Jsonb => match b.split_first() {
            Some((1, rest)) => Datum::Str(text(column, rest)?),
            _ => return Err(malformed(column, "jsonb")),
        },
        PgKind::Char => Datum::Str(text(column, b)?),
        PgKind::Bytea => Datum::Bytes(b),
        PgKind::Date => {
            let days = i32::from_be_bytes(fixed(column, b, "date")?);
            let days = finite(column, days.into(), "date")?;
            Datum::Date(
                (days as i32)
                    .checked_add(PG_EPOCH_DAYS)
                    .ok_or_else(|| malformed(column, "date"))?,
            )
        }
        PgKind::Time => Datum::Time(i64::from_be_bytes(fixed(column, b, "time")?)),
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
    let mut at = 20;
    for _ in 0..count {
        let len = read_i32(at).ok_or_else(|| malformed(column, "array"))?;
        at += 4;
        let value = if len < 0 {
            None
        } else {
            let end = at + len as usize;
            let v = b.get(at..end).ok_or_else(|| malformed(column, "array"))?;
            at = end;
            Some(v)
        };
        push(column.list_child()?, item, value)?;
    }
    column.end_list(count)
}

/// PostgreSQL's binary numeric: digit count, weight, sign, display scale, base-10000 digits.
pub(crate) fn numeric(b: &[u8]) -> std::result::Result<(i128, u8), String> {
    let word = |i: usize| -> std::result::Result<u16, String> {
        b.get(i * 2..i * 2 + 2)
            .map(|w| u16::from_be_bytes([w[0], w[1]]))
            .ok_or_else(|| "malformed binary numeric value from PostgreSQL".to_owned())
    };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(1)? as i16);
    let sign = word(2)?;
    let dscale = word(3)?;
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Err("holds NaN, which a decimal cannot represent".to_owned()),
        _ => return Err("holds an infinite numeric, which a decimal cannot represent".to_owned()),
    }
    let scale = u8::try_from(dscale)
        .map_err(|_| format!("holds a numeric with scale {dscale}, above 255"))?;
    let overflow = || {
        "holds a numeric with more than 38 digits, beyond Decimal128; CAST it to text".to_owned()
    };
    let mut value: i128 = 0;
    for i in 0..ndigits {
        let digit = i128::from(word(4 + i)?);
        // Digit i is worth 10000^(weight - i); at `scale` that is 10^(4 * (weight - i) + scale).
        let exponent = 4 * (weight - i as i32) + i32::from(scale);
        let term = if exponent >= 0 {
            10i128
                .checked_pow(exponent as u32)
                .and_then(|p| digit.checked_mul(p))
                .ok_or_else(overflow)?
        } else {
            digit / 10i128.pow((-exponent) as u32)
        };
        value = value.checked_add(term).ok_or_else(overflow)?;
    }
    Ok((if sign == 0x4000 { -value } else { value }, scale))
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

    #[test]
    fn numeric_decodes_exactly() {
        // 12345.678 = [1, 2345, 6780] weight 1, scale 3
        assert_eq!(
            numeric(&numeric_bytes(3, 1, 0, 3, &[1, 2345, 6780])).unwrap(),
            (12_345_678, 3)
        );
        // -0.05 = [500] weight -1, scale 2
        assert_eq!(
            numeric(&numeric_bytes(1, -1, 0x4000, 2, &[500])).unwrap(),
            (-5, 2)
        );
        // 0 with scale 2
        assert_eq!(numeric(&numeric_bytes(0, 0, 0, 2, &[])).unwrap(), (0, 2));
        // 10000000 = [1000] weight 1 (trailing zero groups dropped)
        assert_eq!(
            numeric(&numeric_bytes(1, 1, 0, 0, &[1000])).unwrap(),
            (10_000_000, 0)
        );
        assert!(
            numeric(&numeric_bytes(0, 0, 0xC000, 0, &[]))
                .unwrap_err()
                .contains("NaN")
        );
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
