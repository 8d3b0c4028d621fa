//! Named-parameter values into MySQL bindings.
//!
//! Integers, floats, text, bytes, dates and times bind as themselves; a `Decimal` binds as its
//! exact text (MySQL converts it exactly); a `Uuid` as its hyphenated text; `Json` as JSON.

use dataconn_core::{Error, ErrorKind, Result, Value};
use sqlx::MySql;
use sqlx::mysql::MySqlArguments;
use sqlx::types::Json;

pub(crate) type MyQuery<'q> = sqlx::query::Query<'q, MySql, MySqlArguments>;

/// Bind `values` (named by `names`, for messages) onto `query`.
pub(crate) fn bind_all<'q>(
    mut query: MyQuery<'q>,
    values: Vec<Value>,
    names: &[&str],
) -> Result<MyQuery<'q>> {
    for (i, value) in values.into_iter().enumerate() {
        query = match value {
            Value::Null => query.bind(None::<i64>),
            Value::Bool(b) => query.bind(b),
            Value::Int(v) => query.bind(v),
            Value::UInt(v) => query.bind(v),
            Value::Float(v) => query.bind(v),
            Value::Decimal { unscaled, scale } => query.bind(crate::decimal_text(unscaled, scale)),
            Value::Text(v) => query.bind(v),
            Value::Bytes(v) => query.bind(v),
            Value::Date(v) => query.bind(v),
            Value::Time(v) => query.bind(v),
            Value::Timestamp(v) => query.bind(v),
            Value::TimestampTz(v) => query.bind(v),
            Value::Uuid(v) => query.bind(v.hyphenated().to_string()),
            Value::Json(v) => query.bind(Json(v)),
            other => {
                let name = names.get(i).copied().unwrap_or("?");
                return Err(Error::new(
                    ErrorKind::Parameter,
                    format!(
                        "parameter :{name} ({}) cannot be bound for MySQL, which has no such type",
                        other.type_name()
                    ),
                ));
            }
        };
    }
    Ok(query)
}
