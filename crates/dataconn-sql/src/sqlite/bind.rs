//! Named-parameter values into SQLite's storage classes.
//!
//! SQLite has five storage classes; every [`Value`] maps onto one: booleans as 0/1, unsigned
//! integers that fit as integers, decimals as their exact text (a NUMERIC column converts it),
//! dates and times as ISO-8601 text (what SQLite's date functions read), UUIDs and JSON as
//! text. Lists have no SQLite form and are refused.

use std::borrow::Cow;

use dataconn_core::{Error, ErrorKind, Result, Value};
use sqlx::sqlite::SqliteArguments;

/// One value as a SQLite storage class.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(Cow<'a, str>),
    Blob(&'a [u8]),
}

/// `value`, named `name` for messages, as a SQLite storage class.
pub(crate) fn scalar<'a>(value: &'a Value, name: &str) -> Result<Scalar<'a>> {
    let refuse = |why: &str| {
        Error::new(
            ErrorKind::Parameter,
            format!(
                "parameter :{name} ({}) cannot be bound for SQLite: {why}",
                value.type_name()
            ),
        )
    };
    Ok(match value {
        Value::Null => Scalar::Null,
        Value::Bool(b) => Scalar::Integer(i64::from(*b)),
        Value::Int(i) => Scalar::Integer(*i),
        Value::UInt(u) => Scalar::Integer(
            i64::try_from(*u).map_err(|_| refuse("it is above SQLite's largest integer"))?,
        ),
        Value::Float(f) => Scalar::Real(*f),
        Value::Decimal { unscaled, scale } => {
            Scalar::Text(Cow::Owned(crate::decimal_text(*unscaled, *scale)))
        }
        Value::Text(s) => Scalar::Text(Cow::Borrowed(s)),
        Value::Bytes(b) => Scalar::Blob(b),
        Value::Date(d) => Scalar::Text(Cow::Owned(d.to_string())),
        Value::Time(t) => Scalar::Text(Cow::Owned(t.to_string())),
        Value::Timestamp(t) => Scalar::Text(Cow::Owned(t.to_string())),
        Value::TimestampTz(t) => Scalar::Text(Cow::Owned(
            t.format("%Y-%m-%d %H:%M:%S%.f+00:00").to_string(),
        )),
        Value::Uuid(u) => Scalar::Text(Cow::Owned(u.hyphenated().to_string())),
        Value::Json(j) => Scalar::Text(Cow::Owned(j.to_string())),
        _ => return Err(refuse("SQLite has no such type")),
    })
}

/// Bind `values` onto a sqlx SQLite query.
pub(crate) fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Sqlite, SqliteArguments>,
    values: &[Value],
    names: &[&str],
) -> Result<sqlx::query::Query<'q, sqlx::Sqlite, SqliteArguments>> {
    for (i, value) in values.iter().enumerate() {
        query = match scalar(value, names.get(i).copied().unwrap_or("?"))? {
            Scalar::Null => query.bind(None::<i64>),
            Scalar::Integer(v) => query.bind(v),
            Scalar::Real(v) => query.bind(v),
            Scalar::Text(v) => query.bind(v.into_owned()),
            Scalar::Blob(v) => query.bind(v.to_vec()),
        };
    }
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_has_a_storage_class_or_a_named_refusal() {
        let d = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(
            scalar(&Value::Date(d), "d").unwrap(),
            Scalar::Text("2024-02-29".into())
        );
        assert_eq!(scalar(&Value::Bool(true), "b").unwrap(), Scalar::Integer(1));
        assert_eq!(
            scalar(
                &Value::Decimal {
                    unscaled: -105,
                    scale: 2
                },
                "x"
            )
            .unwrap(),
            Scalar::Text("-1.05".into())
        );
        let err = scalar(&Value::UInt(u64::MAX), "big").unwrap_err();
        assert!(err.message().contains(":big"), "{err}");
        let err = scalar(&Value::List(vec![]), "l").unwrap_err();
        assert!(err.message().contains("SQLite has no such type"), "{err}");
    }
}
