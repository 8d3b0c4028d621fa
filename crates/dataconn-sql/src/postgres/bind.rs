//! Named-parameter values into PostgreSQL bindings.
//!
//! Each [`Value`] binds as the PostgreSQL type that holds it exactly: `Int` as int8, `Float` as
//! float8, `Decimal` as numeric (binary, exact), `Text` as text, dates and times through
//! chrono, `Uuid` as uuid, `Json` as jsonb, `List` as an array of its items' type. NULL binds
//! with no declared type, so the server infers it from where it is used.

use dataconn_core::{Error, ErrorKind, Result, Value};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgArguments, PgTypeInfo};
use sqlx::types::Json;
use sqlx::{Encode, Postgres, Type};

pub(crate) type PgQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// A NULL without a declared type (OID 0): the server infers it from its context.
struct UntypedNull;

impl Type<Postgres> for UntypedNull {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(sqlx::postgres::types::Oid(0))
    }
}

impl Encode<'_, Postgres> for UntypedNull {
    fn encode_by_ref(
        &self,
        _buf: &mut PgArgumentBuffer,
    ) -> std::result::Result<IsNull, BoxDynError> {
        Ok(IsNull::Yes)
    }
}

/// An exact decimal in PostgreSQL's binary numeric format.
pub(crate) struct Numeric {
    unscaled: i128,
    scale: u8,
}

impl Type<Postgres> for Numeric {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("numeric")
    }
}

impl Encode<'_, Postgres> for Numeric {
    fn encode_by_ref(
        &self,
        buf: &mut PgArgumentBuffer,
    ) -> std::result::Result<IsNull, BoxDynError> {
        buf.extend(numeric_bytes(self.unscaled, self.scale));
        Ok(IsNull::No)
    }
}

/// `unscaled × 10^-scale` as ndigits, weight, sign, dscale and base-10000 digits.
pub(crate) fn numeric_bytes(unscaled: i128, scale: u8) -> Vec<u8> {
    let negative = unscaled < 0;
    // Align the decimal point to a base-10000 group boundary.
    let pad = (4 - u32::from(scale) % 4) % 4;
    let mut magnitude = unscaled.unsigned_abs() * 10u128.pow(pad);
    let fraction_groups = (u32::from(scale) + pad) / 4;
    let mut groups = Vec::new(); // least significant first
    while magnitude > 0 {
        groups.push((magnitude % 10_000) as u16);
        magnitude /= 10_000;
    }
    let weight = groups.len() as i32 - fraction_groups as i32 - 1;
    groups.reverse(); // most significant first
    while groups.last() == Some(&0) {
        groups.pop();
    }
    let mut out = Vec::with_capacity(8 + 2 * groups.len());
    let (ndigits, weight) = if groups.is_empty() {
        (0u16, 0i16)
    } else {
        (groups.len() as u16, weight as i16)
    };
    out.extend(ndigits.to_be_bytes());
    out.extend(weight.to_be_bytes());
    out.extend(
        (if negative && ndigits > 0 {
            0x4000u16
        } else {
            0
        })
        .to_be_bytes(),
    );
    out.extend(u16::from(scale).to_be_bytes());
    for g in groups {
        out.extend(g.to_be_bytes());
    }
    out
}

fn unbindable(name: &str, value: &Value, why: &str) -> Error {
    Error::new(
        ErrorKind::Parameter,
        format!(
            "parameter :{name} ({}) cannot be bound for PostgreSQL: {why}",
            value.type_name()
        ),
    )
}

/// A value checked for PostgreSQL: it knows its type (for preparing) and binds itself.
pub(crate) enum PgBind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Numeric(Numeric),
    Text(String),
    Bytes(Vec<u8>),
    Date(chrono::NaiveDate),
    Time(chrono::NaiveTime),
    Timestamp(chrono::NaiveDateTime),
    TimestampTz(chrono::DateTime<chrono::Utc>),
    Uuid(uuid::Uuid),
    Json(serde_json::Value),
    Bools(Vec<Option<bool>>),
    Ints(Vec<Option<i64>>),
    Floats(Vec<Option<f64>>),
    Texts(Vec<Option<String>>),
    Dates(Vec<Option<chrono::NaiveDate>>),
    Timestamps(Vec<Option<chrono::NaiveDateTime>>),
    TimestampTzs(Vec<Option<chrono::DateTime<chrono::Utc>>>),
    Uuids(Vec<Option<uuid::Uuid>>),
}

impl PgBind {
    /// Check `value` (named `name`, for messages) for PostgreSQL.
    pub(crate) fn new(value: Value, name: &str) -> Result<PgBind> {
        Ok(match value {
            Value::Null => PgBind::Null,
            Value::Bool(b) => PgBind::Bool(b),
            Value::Int(i) => PgBind::Int(i),
            Value::UInt(u) => match i64::try_from(u) {
                Ok(i) => PgBind::Int(i),
                Err(_) => PgBind::Numeric(Numeric {
                    unscaled: i128::from(u),
                    scale: 0,
                }),
            },
            Value::Float(f) => PgBind::Float(f),
            Value::Decimal { unscaled, scale } => PgBind::Numeric(Numeric { unscaled, scale }),
            Value::Text(s) => PgBind::Text(s),
            Value::Bytes(b) => PgBind::Bytes(b),
            Value::Date(d) => PgBind::Date(d),
            Value::Time(t) => PgBind::Time(t),
            Value::Timestamp(t) => PgBind::Timestamp(t),
            Value::TimestampTz(t) => PgBind::TimestampTz(t),
            Value::Uuid(u) => PgBind::Uuid(u),
            Value::Json(j) => PgBind::Json(j),
            Value::List(items) => list(items, name)?,
            other => return Err(unbindable(name, &other, "no PostgreSQL type holds it")),
        })
    }

    /// The PostgreSQL type this value binds as (NULL: none, the server infers it).
    pub(crate) fn type_info(&self) -> PgTypeInfo {
        use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
        fn ty<T: Type<Postgres>>() -> PgTypeInfo {
            T::type_info()
        }
        match self {
            PgBind::Null => ty::<UntypedNull>(),
            PgBind::Bool(_) => ty::<bool>(),
            PgBind::Int(_) => ty::<i64>(),
            PgBind::Float(_) => ty::<f64>(),
            PgBind::Numeric(_) => ty::<Numeric>(),
            PgBind::Text(_) => ty::<String>(),
            PgBind::Bytes(_) => ty::<Vec<u8>>(),
            PgBind::Date(_) => ty::<NaiveDate>(),
            PgBind::Time(_) => ty::<NaiveTime>(),
            PgBind::Timestamp(_) => ty::<NaiveDateTime>(),
            PgBind::TimestampTz(_) => ty::<DateTime<Utc>>(),
            PgBind::Uuid(_) => ty::<uuid::Uuid>(),
            PgBind::Json(_) => ty::<Json<serde_json::Value>>(),
            PgBind::Bools(_) => ty::<Vec<Option<bool>>>(),
            PgBind::Ints(_) => ty::<Vec<Option<i64>>>(),
            PgBind::Floats(_) => ty::<Vec<Option<f64>>>(),
            PgBind::Texts(_) => ty::<Vec<Option<String>>>(),
            PgBind::Dates(_) => ty::<Vec<Option<NaiveDate>>>(),
            PgBind::Timestamps(_) => ty::<Vec<Option<NaiveDateTime>>>(),
            PgBind::TimestampTzs(_) => ty::<Vec<Option<DateTime<Utc>>>>(),
            PgBind::Uuids(_) => ty::<Vec<Option<uuid::Uuid>>>(),
        }
    }

    /// Bind onto `query`.
    pub(crate) fn bind<'q>(self, query: PgQuery<'q>) -> PgQuery<'q> {
        match self {
            PgBind::Null => query.bind(UntypedNull),
            PgBind::Bool(v) => query.bind(v),
            PgBind::Int(v) => query.bind(v),
            PgBind::Float(v) => query.bind(v),
            PgBind::Numeric(v) => query.bind(v),
            PgBind::Text(v) => query.bind(v),
            PgBind::Bytes(v) => query.bind(v),
            PgBind::Date(v) => query.bind(v),
            PgBind::Time(v) => query.bind(v),
            PgBind::Timestamp(v) => query.bind(v),
            PgBind::TimestampTz(v) => query.bind(v),
            PgBind::Uuid(v) => query.bind(v),
            PgBind::Json(v) => query.bind(Json(v)),
            PgBind::Bools(v) => query.bind(v),
            PgBind::Ints(v) => query.bind(v),
            PgBind::Floats(v) => query.bind(v),
            PgBind::Texts(v) => query.bind(v),
            PgBind::Dates(v) => query.bind(v),
            PgBind::Timestamps(v) => query.bind(v),
            PgBind::TimestampTzs(v) => query.bind(v),
            PgBind::Uuids(v) => query.bind(v),
        }
    }
}

/// Check every value; `names` name them in messages.
pub(crate) fn checked(values: Vec<Value>, names: &[&str]) -> Result<Vec<PgBind>> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| PgBind::new(v, names.get(i).copied().unwrap_or("?")))
        .collect()
}

fn list(items: Vec<Value>, name: &str) -> Result<PgBind> {
    macro_rules! list {
        ($variant:ident, $out:ident) => {{
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::Null => out.push(None),
                    Value::$variant(v) => out.push(Some(v)),
                    other => {
                        return Err(unbindable(
                            name,
                            &other,
                            "a list's items must all have one type",
                        ));
                    }
                }
            }
            PgBind::$out(out)
        }};
    }
    let first = items.iter().find(|v| !matches!(v, Value::Null)).cloned();
    Ok(match first {
        None => PgBind::Texts(items.iter().map(|_| None).collect()),
        Some(Value::Bool(_)) => list!(Bool, Bools),
        Some(Value::Int(_)) => list!(Int, Ints),
        Some(Value::Float(_)) => list!(Float, Floats),
        Some(Value::Text(_)) => list!(Text, Texts),
        Some(Value::Date(_)) => list!(Date, Dates),
        Some(Value::Timestamp(_)) => list!(Timestamp, Timestamps),
        Some(Value::TimestampTz(_)) => list!(TimestampTz, TimestampTzs),
        Some(Value::Uuid(_)) => list!(Uuid, Uuids),
        Some(other) => {
            return Err(unbindable(
                name,
                &other,
                "lists of this type are not supported",
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postgres::decode::numeric;

    #[test]
    fn numeric_round_trips_through_the_binary_format() {
        for (v, s) in [
            (12_345_678i128, 3u8),
            (-5, 2),
            (0, 2),
            (10_000_000, 0),
            (1, 9),
            (-99_999_999_999_999_999_999, 4),
        ] {
            let decoded = match numeric(&numeric_bytes(v, s)).unwrap() {
                crate::columns::Datum::Decimal(v, s) => (v, s),
                other => panic!("not a 128-bit decimal: {other:?}"),
            };
            assert_eq!(decoded, (v, s), "{v} scale {s}");
        }
    }

    #[test]
    fn mixed_lists_are_refused_with_the_parameter_name() {
        let err = PgBind::new(
            Value::List(vec![Value::Int(1), Value::Text("x".into())]),
            "ids",
        )
        .err()
        .unwrap();
        assert!(err.message().contains(":ids"), "{err}");
    }
}
