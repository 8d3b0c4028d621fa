//! Snowflake's own `connections.toml`, as the official connector reads it, for connections
//! that have no `[connections.<name>]` section in the secrets.
//!
//! The file is `$SNOWFLAKE_HOME/connections.toml`, else `~/.snowflake/connections.toml`. A
//! connection named `snowflake` uses the default entry: `$SNOWFLAKE_DEFAULT_CONNECTION_NAME`,
//! else the file's `default_connection_name`, else `[default]`. Any other name is the entry of
//! that name.

use std::path::PathBuf;

use dataconn_core::{Error, ErrorKind, Result};
use toml::{Table, Value};

fn path() -> Option<PathBuf> {
    match std::env::var_os("SNOWFLAKE_HOME") {
        Some(home) => Some(PathBuf::from(home).join("connections.toml")),
        None => std::env::home_dir().map(|h| h.join(".snowflake").join("connections.toml")),
    }
}

/// The options of `name` in `connections.toml`, and where they came from.
pub(crate) fn entry(name: &str) -> Result<Option<(Table, String)>> {
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
    let wanted = if name == "snowflake" {
        std::env::var("SNOWFLAKE_DEFAULT_CONNECTION_NAME")
            .ok()
            .or_else(|| {
                file.get("default_connection_name")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "default".to_owned())
    } else {
        name.to_owned()
    };
    Ok(file
        .get(&wanted)
        .and_then(Value::as_table)
        .map(|t| (t.clone(), format!("{} [{wanted}]", path.display()))))
}
