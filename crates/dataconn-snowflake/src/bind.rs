//! Named-parameter values into Snowflake's typed, positional bindings (never spliced into SQL).

use dataconn_core::{Error, ErrorKind, Result, Value};
use serde_json::{Map, json};

/// Nanoseconds since 1970 as binding text; a timestamp outside 1677–2262 is an error naming the
/// parameter, never a silent 1970.
fn nanos(value: Option<i64>, names: &[String], i: usize) -> Result<String> {
    value.map(|n| n.to_string()).ok_or_else(|| {
        let name = names.get(i).map_or("?", String::as_str);
        Error::new(
            ErrorKind::Parameter,
            format!(
                "parameter `{name}`: expected a timestamp between the years 1677 and 2262, found \
                 one outside"
            ),
        )
    })
}

/// `{"1": {"type": "FIXED", "value": "10"}, ...}` for the rewritten SQL's `?` placeholders.
pub(crate) fn bindings(values: &[Value], names: &[String]) -> Result<serde_json::Value> {
    let mut out = Map::new();
    for (i, value) in values.iter().enumerate() {
        let (kind, text): (&str, Option<String>) = match value {
            Value::Null => ("ANY", None),
            Value::Bool(b) => ("BOOLEAN", Some(b.to_string())),
            Value::Int(v) => ("FIXED", Some(v.to_string())),
            Value::UInt(v) => ("FIXED", Some(v.to_string())),
            Value::Float(v) => ("REAL", Some(v.to_string())),
            // An exact decimal goes as text: Snowflake converts it exactly where a number is
            // expected (FIXED bindings carry integers).
            Value::Decimal { unscaled, scale: 0 } => ("FIXED", Some(unscaled.to_string())),
            Value::Decimal { unscaled, scale } => (
                "TEXT",
                Some(dataconn_core::raw::decimal_text(*unscaled, *scale)),
            ),
            Value::Text(s) => ("TEXT", Some(s.clone())),
            Value::Bytes(b) => (
                "BINARY",
                Some(b.iter().map(|x| format!("{x:02x}")).collect()),
            ),
            Value::Date(d) => (
                "DATE",
                Some(
                    (d.and_hms_opt(0, 0, 0)
                        .unwrap_or_default()
                        .and_utc()
                        .timestamp_millis())
                    .to_string(),
                ),
            ),
            Value::Time(t) => {
                let nanos = i64::from(chrono::Timelike::num_seconds_from_midnight(t))
                    * 1_000_000_000
                    + i64::from(chrono::Timelike::nanosecond(t));
                ("TIME", Some(nanos.to_string()))
            }
            Value::Timestamp(t) => (
                "TIMESTAMP_NTZ",
                Some(nanos(t.and_utc().timestamp_nanos_opt(), names, i)?),
            ),
            Value::TimestampTz(t) => (
                "TIMESTAMP_LTZ",
                Some(nanos(t.timestamp_nanos_opt(), names, i)?),
            ),
            Value::Uuid(u) => ("TEXT", Some(u.hyphenated().to_string())),
            Value::Json(j) => ("TEXT", Some(j.to_string())),
            other => {
                let name = names.get(i).map_or("?", String::as_str);
                return Err(Error::new(
                    ErrorKind::Parameter,
                    format!(
                        "parameter :{name} ({}) cannot be bound for Snowflake",
                        other.type_name()
                    ),
                ));
            }
        };
        out.insert((i + 1).to_string(), json!({ "type": kind, "value": text }));
    }
    Ok(serde_json::Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamp_outside_nanoseconds_is_a_parameter_error() {
        let far = chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let err = bindings(&[Value::Timestamp(far)], &["until".to_owned()]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parameter);
        assert!(err.to_string().contains("`until`"), "{err}");
    }

    #[test]
    fn values_bind_as_typed_strings() {
        let b = bindings(
            &[
                Value::Int(7),
                Value::Text("x".into()),
                Value::Null,
                Value::decimal("-1.05").unwrap(),
                Value::Bytes(vec![0, 255]),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(b["1"], json!({"type": "FIXED", "value": "7"}));
        assert_eq!(b["2"], json!({"type": "TEXT", "value": "x"}));
        assert_eq!(b["3"], json!({"type": "ANY", "value": null}));
        assert_eq!(b["4"]["value"], "-1.05");
        assert_eq!(b["5"], json!({"type": "BINARY", "value": "00ff"}));
    }
}
