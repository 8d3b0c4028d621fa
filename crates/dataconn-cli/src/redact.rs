//! Showing secrets without showing secrets.
//!
//! Values are shown only under keys known to hold no secret (`type`, `host`, `port`,
//! `database`, `dialect`...); a `url` is shown with its password masked; every other value,
//! and every value nested under another key, prints as `***`.

use toml::Value;

const PLAIN_KEYS: &[&str] = &[
    "type",
    "connector",
    "dialect",
    "driver",
    "host",
    "port",
    "database",
    "username",
    "user",
    "protocol",
    "account",
    "warehouse",
    "role",
    "schema",
    "region",
    "region_name",
    "endpoint_url",
    "spreadsheet",
    "worksheet",
    "root",
    "bucket",
    "container",
    "max_connections",
    "min_connections",
    "acquire_timeout",
    "idle_timeout",
    "max_lifetime",
    "test_before_acquire",
    "ttl",
    "batch_size",
];

/// A value as it may be shown, given the key it sits under.
pub(crate) fn shown(key: &str, value: &Value) -> String {
    match value {
        Value::String(s) if key == "url" => match dataconn::url_password(s) {
            Some(password) => format!("{:?}", s.replacen(password, "***", 1)),
            None => format!("{s:?}"),
        },
        Value::Table(_) | Value::Array(_) => "***".to_owned(),
        other if PLAIN_KEYS.contains(&key) => other.to_string(),
        _ => "***".to_owned(),
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
    fn only_plain_keys_show_values() {
        assert_eq!(shown("host", &Value::String("db".into())), "\"db\"");
        assert_eq!(shown("password", &Value::String("hunter2".into())), "***");
        assert_eq!(shown("private_key", &Value::String("k".into())), "***");
        assert_eq!(
            shown("url", &Value::String("postgres://me:hunter2@h/db".into())),
            "\"postgres://me:***@h/db\""
        );
    }
}
