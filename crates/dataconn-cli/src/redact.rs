//! Showing secrets without showing secrets.
//!
//! Core decides what is secret (`dataconn::raw::is_secret_key`, the one definition every part
//! uses): a value under a secret key, or anywhere beneath one, prints as `***`; a string
//! prints with the secrets of any URL in it masked (`dataconn::raw::mask_url`); tables and arrays
//! print as `***` in one-line views.

use toml::Value;

/// A value as it may be shown, given the dotted path of keys it sits under.
pub(crate) fn shown(dotted: &str, value: &Value) -> String {
    // A connection's name is not a key: `[connections.secretive]` holds no secret by its name.
    let keys = match dotted.strip_prefix("connections.") {
        Some(rest) => rest.split_once('.').map_or("", |(_, keys)| keys),
        None => dotted,
    };
    if keys.split('.').any(dataconn::raw::is_secret_key) {
        return "***".to_owned();
    }
    match value {
        Value::String(s) => format!("{:?}", dataconn::raw::mask_url(s)),
        Value::Table(_) | Value::Array(_) => "***".to_owned(),
        other => other.to_string(),
    }
}

/// Every leaf of a table as (dotted key, value), depth first, in key order.
pub(crate) fn leaves<'a>(prefix: &str, table: &'a toml::Table, out: &mut Vec<(String, &'a Value)>) {
    for (key, value) in table {
        let dotted = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Table(inner) => leaves(&dotted, inner, out),
            other => out.push((dotted, other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_and_url_passwords_are_masked() {
        let text = |s: &str| Value::String(s.into());
        assert_eq!(shown("host", &text("db")), "\"db\"");
        assert_eq!(shown("password", &text("hunter2")), "***");
        assert_eq!(shown("password", &Value::Integer(123456)), "***");
        assert_eq!(shown("connections.x.private_key", &text("k")), "***");
        assert_eq!(shown("connections.x.credentials.value", &text("v")), "***");
        assert_eq!(
            shown("url", &text("postgresql://admin:admin@h/db")),
            "\"postgresql://admin:***@h/db\""
        );
        assert_eq!(
            shown("url", &text("postgres://me:x@h/db")),
            "\"postgres://me:***@h/db\""
        );
        assert_eq!(
            shown("endpoint_url", &text("http://me:pw@minio:9000")),
            "\"http://me:***@minio:9000\""
        );
        assert_eq!(
            shown("url", &text("mysql://h/db?password=pw")),
            "\"mysql://h/db?password=***\""
        );
    }
}
