//! `tables`: names for paths and globs in `query()`, with their format options.

use dataconn_core::raw::Problems;
use dataconn_core::{ConnectionConfig, closest};
use toml::Value;

use crate::format::Format;

/// Keys of one entry of `tables` written as a table.
const TABLE_KEYS: &[&str] = &["path", "format", "delimiter", "header"];

/// A table named in `[connections.<name>.tables]`, for `query()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamedTable {
    /// A path or glob, relative to the root like any other.
    pub(crate) path: String,
    /// The format, when the names do not say it.
    pub(crate) format: Option<Format>,
    /// The CSV delimiter.
    pub(crate) delimiter: Option<u8>,
    /// Whether CSV files have a header row.
    pub(crate) has_header: bool,
}

/// `tables = { trips = "trips/*.parquet", raw = { path = "raw/*.txt", format = "csv",
/// delimiter = "|" } }`, every problem added to `problems`.
pub(super) fn named_tables(
    config: &ConnectionConfig,
    problems: &mut Problems<'_>,
) -> Vec<(String, NamedTable)> {
    let Some(value) = config.get("tables") else {
        return Vec::new();
    };
    let origin = config.origin("tables");
    let Some(entries) = value.as_table() else {
        problems.push(format!(
            "expected `tables` to be a table of name = \"path\" ({origin}), found {}",
            value.type_str()
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, entry) in entries {
        let mut table = NamedTable {
            path: String::new(),
            format: None,
            delimiter: None,
            has_header: true,
        };
        match entry {
            Value::String(path) => table.path = path.clone(),
            Value::Table(keys) => {
                for (key, v) in keys {
                    match (key.as_str(), v) {
                        ("path", Value::String(p)) => table.path = p.clone(),
                        ("format", Value::String(f)) => match Format::from_name(f) {
                            Some(Format::Text) | None => problems.push(format!(
                                "expected `tables.{name}.format` to be csv, tsv, parquet, json, jsonl or arrow ({origin}), found {f:?}"
                            )),
                            Some(format) => table.format = Some(format),
                        },
                        ("delimiter", Value::String(d)) if d.len() == 1 => {
                            table.delimiter = Some(d.as_bytes()[0]);
                        }
                        ("header", Value::Boolean(b)) => table.has_header = *b,
                        (known, other) if TABLE_KEYS.contains(&known) => problems.push(format!(
                            "expected `tables.{name}.{known}` to be {} ({origin}), found {other}",
                            match known {
                                "delimiter" => "one character such as \"|\"",
                                "header" => "true or false",
                                _ => "a string",
                            }
                        )),
                        (unknown, _) => problems.push(format!(
                            "unknown key `tables.{name}.{unknown}` ({origin}){}",
                            closest(unknown, TABLE_KEYS)
                                .map(|k| format!("; did you mean `{k}`?"))
                                .unwrap_or_default()
                        )),
                    }
                }
            }
            other => problems.push(format!(
                "expected `tables.{name}` to be a path or a table with `path` ({origin}), found {}",
                other.type_str()
            )),
        }
        if table.path.is_empty() && matches!(entry, Value::String(_) | Value::Table(_)) {
            problems.push(format!(
                "expected `tables.{name}` to name a path ({origin}), found none"
            ));
            continue;
        }
        out.push((name.clone(), table));
    }
    out
}
