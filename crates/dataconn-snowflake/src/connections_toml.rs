//! Snowflake's own `connections.toml`, as the official connector reads it, for connections
//! that have no `[connections.<name>]` section in the secrets.
//!
//! The file is `$SNOWFLAKE_HOME/connections.toml`, else `~/.snowflake/connections.toml`. A
//! connection named `snowflake` uses the default entry: `$SNOWFLAKE_DEFAULT_CONNECTION_NAME`,
//! else the file's `default_connection_name`, else `[default]`. Any other name is the entry of
//! that name. `SNOWFLAKE_CONNECTIONS_<ENTRY>_<KEY>` variables override the entry's keys, and for
//! the default connection plain `SNOWFLAKE_<KEY>` variables (`SNOWFLAKE_ACCOUNT`, ...) fill in
//! keys still missing.

use std::path::PathBuf;

use dataconn_core::{Error, ErrorKind, Result};
use toml::{Table, Value};

fn path() -> Option<PathBuf> {
    match std::env::var_os("SNOWFLAKE_HOME") {
        Some(home) => Some(PathBuf::from(home).join("connections.toml")),
        None => std::env::home_dir().map(|h| h.join(".snowflake").join("connections.toml")),
    }
}

/// Keys also read from plain `SNOWFLAKE_<KEY>` variables for the default connection.
const PLAIN_KEYS: &[&str] = &[
    "account",
    "user",
    "password",
    "authenticator",
    "token",
    "private_key_file",
    "private_key_file_pwd",
    "role",
    "warehouse",
    "database",
    "schema",
    "host",
    "port",
    "protocol",
];

fn read_file() -> Result<Option<(Table, PathBuf)>> {
    let Some(path) = path() else { return Ok(None) };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::new(
                ErrorKind::SecretsParse,
                format!("could not read {}", path.display()),
            )
            .with_source(e));
        }
    };
    let file: Table = toml::from_str(&text).map_err(|e| {
        Error::new(
            ErrorKind::SecretsParse,
            format!(
                "expected valid TOML in {}, found an error: {}",
                path.display(),
                e.message()
            ),
        )
    })?;
    Ok(Some((file, path)))
}

/// The entry a connection name stands for: `snowflake` is the default entry.
fn wanted(name: &str, file: Option<&Table>) -> Result<String> {
    if name != "snowflake" {
        return Ok(name.to_owned());
    }
    if let Some(name) = env_text("SNOWFLAKE_DEFAULT_CONNECTION_NAME")? {
        return Ok(name);
    }
    Ok(file
        .and_then(|f| f.get("default_connection_name"))
        .and_then(Value::as_str)
        .map_or_else(|| "default".to_owned(), str::to_owned))
}

/// An environment variable we read, as text; `None` when unset. A value that is not UTF-8 is
/// an error naming the variable (never its value, which may be a password).
fn env_text(var: &str) -> Result<Option<String>> {
    match std::env::var_os(var) {
        None => Ok(None),
        Some(value) => value.into_string().map(Some).map_err(|_| not_utf8(var)),
    }
}

fn not_utf8(var: &str) -> Error {
    Error::new(
        ErrorKind::SecretsParse,
        format!("expected UTF-8 text in the environment variable {var}, found other bytes"),
    )
}

/// The `<prefix><KEY>` variables of the environment, as (lower-case key, value). Variables of
/// other programs that are not UTF-8 are skipped; one of ours (its name starting with `prefix`)
/// that is not UTF-8 is an error naming it.
fn prefixed_vars(prefix: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (var, value) in std::env::vars_os() {
        let Some(name) = var.to_str() else {
            let lossy = var.to_string_lossy();
            if lossy.starts_with(prefix) {
                return Err(Error::new(
                    ErrorKind::SecretsParse,
                    format!(
                        "expected a UTF-8 name for the environment variable {lossy}, found \
                         other bytes"
                    ),
                ));
            }
            continue;
        };
        let Some(key) = name.strip_prefix(prefix) else {
            continue;
        };
        let value = value.into_string().map_err(|_| not_utf8(name))?;
        out.push((key.to_ascii_lowercase(), value));
    }
    Ok(out)
}

/// An environment value as TOML: a port as a number, true/false as booleans.
fn env_value(key: &str, text: String) -> Value {
    match (key, text.as_str()) {
        ("port", t) if t.parse::<i64>().is_ok() => Value::Integer(t.parse().unwrap_or_default()),
        (_, "true" | "True" | "TRUE") => Value::Boolean(true),
        (_, "false" | "False" | "FALSE") => Value::Boolean(false),
        _ => Value::String(text),
    }
}

/// Where a connection without a secrets section is looked for, for the "not found" error.
pub(crate) fn searched(name: &str) -> Vec<String> {
    let file = read_file().ok().flatten();
    let wanted = wanted(name, file.as_ref().map(|(f, _)| f)).unwrap_or_else(|_| name.to_owned());
    let mut places = vec![match path() {
        Some(p) => format!("{} [{wanted}]", p.display()),
        None => "connections.toml (no home directory)".to_owned(),
    }];
    places.push(format!(
        "environment SNOWFLAKE_CONNECTIONS_{}_*",
        wanted.to_ascii_uppercase()
    ));
    if name == "snowflake" {
        places.push("environment SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, ...".to_owned());
    }
    places
}

/// The options of `name` from Snowflake's own configuration, and where they came from: the
/// `connections.toml` entry, overridden by `SNOWFLAKE_CONNECTIONS_<ENTRY>_<KEY>` variables (as
/// the official connector does), and for the default connection completed by plain
/// `SNOWFLAKE_<KEY>` variables.
pub(crate) fn entry(name: &str) -> Result<Option<(Table, String)>> {
    let file = read_file()?;
    let wanted = wanted(name, file.as_ref().map(|(f, _)| f))?;
    let mut sources = Vec::new();
    let mut options = Table::new();
    if let Some((file, path)) = &file
        && let Some(entry) = file.get(&wanted).and_then(Value::as_table)
    {
        options = entry.clone();
        sources.push(format!("{} [{wanted}]", path.display()));
    }
    let prefix = format!("SNOWFLAKE_CONNECTIONS_{}_", wanted.to_ascii_uppercase());
    let mut from_env = false;
    for (key, text) in prefixed_vars(&prefix)? {
        options.insert(key.clone(), env_value(&key, text));
        from_env = true;
    }
    if from_env {
        sources.push(format!("environment {prefix}*"));
    }
    if name == "snowflake" {
        let mut plain = false;
        for key in PLAIN_KEYS {
            if !options.contains_key(*key)
                && let Some(text) = env_text(&format!("SNOWFLAKE_{}", key.to_ascii_uppercase()))?
            {
                options.insert((*key).to_owned(), env_value(key, text));
                plain = true;
            }
        }
        if plain {
            sources.push("environment SNOWFLAKE_<KEY>".to_owned());
        }
    }
    Ok((!sources.is_empty()).then(|| (options, sources.join(" + "))))
}
