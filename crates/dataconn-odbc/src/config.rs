//! The `[connections.<name>]` keys of `type = "odbc"`, and the settings a connection runs on.
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `connection_string` (alias `odbc_connect`) | a whole ODBC connection string, used as written | none |
//! | `dsn` | a data source name from `odbc.ini` | none |
//! | `driver` | the ODBC driver's registered name (`PostgreSQL Unicode`, `ODBC Driver 18 for SQL Server`) or a path to its library; with `dialect`, SQLAlchemy's driver (`pyodbc`) | none |
//! | `host` (alias `server`), `port`, `database` | where the database is | none |
//! | `username` (aliases `user`, `uid`), `password` (alias `pwd`) | credentials | none |
//! | `url` | a SQLAlchemy URL, as Streamlit takes it: `mssql+pyodbc://user:pass@host:1433/db?driver=ODBC+Driver+18+for+SQL+Server` | none |
//! | `dialect` | Streamlit's SQL dialect (`mssql`, ...): the parts are assembled as SQLAlchemy's pyodbc dialect does | none |
//! | `query` | Streamlit's URL query table: `driver`, `encrypt`, `TrustServerCertificate`, `odbc_connect`... | none |
//! | `options` | more connection-string attributes, as `key = "value"` | none |
//! | `max_connections` (alias `pool_size`) | ODBC connections kept open | 4 |
//! | `login_timeout` | how long connecting may take (`"15s"`, or seconds) | the driver's |
//! | `query_timeout` | how long one statement may run | none |
//! | `batch_size` | rows fetched per round trip (and per Arrow batch) | 65535 |
//! | `max_batch_bytes` | the most memory one fetch buffer may take | 64 MiB |
//! | `max_text_size` | bytes buffered per value of a text column without a declared size (`VARCHAR(MAX)`, `TEXT`) | 65536 |
//! | `max_binary_size` | the same for binary columns | 65536 |
//! | `text_encoding` | `utf8` (narrow calls) or `utf16` (wide calls, for drivers whose narrow encoding is not UTF-8) | `utf8` |
//! | `ttl` | default cache lifetime of `query()` results | forever |

use std::sync::Arc;
use std::time::Duration;

use dataconn_core::raw::{ConnectorConfig, Dialect};
use dataconn_core::{ConnectionConfig, Result, Secret, Ttl};
use serde::Deserialize;
use toml::Value;

use crate::connection_string::{self, Assembled};

/// The default rows per fetch: arrow-odbc's, `u16::MAX` (some drivers count rows in 16 bits).
const DEFAULT_BATCH_SIZE: usize = 65_535;
/// The default bound of one fetch buffer.
const DEFAULT_MAX_BATCH_BYTES: usize = 64 << 20;
/// The default bound of one text or binary value of a column without a declared size.
const DEFAULT_MAX_VALUE_SIZE: usize = 65_536;

/// The keys of `type = "odbc"` (see the module docs for each).
#[derive(Deserialize, Default)]
#[non_exhaustive]
pub struct OdbcConfig {
    /// A whole connection string.
    #[serde(default, alias = "odbc_connect")]
    pub connection_string: Option<Secret>,
    /// A data source name.
    #[serde(default)]
    pub dsn: Option<String>,
    /// The ODBC driver (or, with `dialect`, SQLAlchemy's driver such as `pyodbc`).
    #[serde(default)]
    pub driver: Option<String>,
    /// Streamlit's SQL dialect.
    #[serde(default)]
    pub dialect: Option<String>,
    /// A SQLAlchemy URL.
    #[serde(default)]
    pub url: Option<String>,
    /// The server's host.
    #[serde(default, alias = "server")]
    pub host: Option<String>,
    /// The server's port.
    #[serde(default)]
    pub port: Option<Value>,
    /// The database.
    #[serde(default)]
    pub database: Option<String>,
    /// The user.
    #[serde(default, alias = "user", alias = "uid")]
    pub username: Option<String>,
    /// The password.
    #[serde(default, alias = "pwd")]
    pub password: Option<Secret>,
    /// Streamlit's URL query table.
    #[serde(default)]
    pub query: toml::Table,
    /// More connection-string attributes.
    #[serde(default)]
    pub options: toml::Table,
    /// ODBC connections kept open.
    #[serde(default, alias = "pool_size")]
    pub max_connections: Option<i64>,
    /// How long connecting may take.
    #[serde(default)]
    pub login_timeout: Option<Value>,
    /// How long one statement may run.
    #[serde(default)]
    pub query_timeout: Option<Value>,
    /// Rows per fetch.
    #[serde(default)]
    pub batch_size: Option<i64>,
    /// The most memory one fetch buffer may take.
    #[serde(default)]
    pub max_batch_bytes: Option<i64>,
    /// Bytes buffered per value of an unbounded text column.
    #[serde(default)]
    pub max_text_size: Option<i64>,
    /// Bytes buffered per value of an unbounded binary column.
    #[serde(default)]
    pub max_binary_size: Option<i64>,
    /// `utf8` or `utf16`.
    #[serde(default)]
    pub text_encoding: Option<String>,
    /// Default cache lifetime of `query()` results.
    #[serde(default)]
    pub ttl: Option<Value>,
}

/// By hand: the connection string, URL and password are secrets.
impl std::fmt::Debug for OdbcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OdbcConfig")
            .field("dsn", &self.dsn)
            .field("driver", &self.driver)
            .field("dialect", &self.dialect)
            .field("host", &self.host)
            .field("database", &self.database)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl ConnectorConfig for OdbcConfig {
    const KEYS: &'static [&'static str] = &[
        "connection_string",
        "odbc_connect",
        "dsn",
        "driver",
        "dialect",
        "url",
        "host",
        "server",
        "port",
        "database",
        "username",
        "user",
        "uid",
        "password",
        "pwd",
        "query",
        "options",
        "max_connections",
        "pool_size",
        "login_timeout",
        "query_timeout",
        "batch_size",
        "max_batch_bytes",
        "max_text_size",
        "max_binary_size",
        "text_encoding",
        "ttl",
    ];

    fn validate(&self, config: &ConnectionConfig) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(problem) = connection_string::assemble(self, config) {
            problems.push(problem);
        }
        let counts = [
            ("max_connections", self.max_connections, 1, 1024),
            ("batch_size", self.batch_size, 1, 1 << 20),
            ("max_batch_bytes", self.max_batch_bytes, 1 << 10, 1 << 34),
            ("max_text_size", self.max_text_size, 1, 1 << 30),
            ("max_binary_size", self.max_binary_size, 1, 1 << 30),
        ];
        for (key, value, low, high) in counts {
            if let Some(n) = value
                && !(low..=high).contains(&n)
            {
                let key = shown_key(config, key);
                problems.push(format!(
                    "expected `{key}` to be a count from {low} to {high} ({}), found {n}",
                    config.origin(key)
                ));
            }
        }
        for (key, value) in [
            ("login_timeout", &self.login_timeout),
            ("query_timeout", &self.query_timeout),
            ("ttl", &self.ttl),
        ] {
            if let Some(Err(e)) = value.as_ref().map(Ttl::from_toml) {
                problems.push(format!("`{key}` ({}): {}", config.origin(key), e.message()));
            }
        }
        if let Some(encoding) = &self.text_encoding
            && text_encoding(encoding).is_none()
        {
            problems.push(format!(
                "expected `text_encoding` to be utf8 or utf16 ({}), found {encoding:?}",
                config.origin("text_encoding")
            ));
        }
        problems
    }
}

/// `key`, or its alias when the section wrote that one.
fn shown_key<'a>(config: &ConnectionConfig, key: &'a str) -> &'a str {
    match key {
        "max_connections" if config.get("pool_size").is_some() => "pool_size",
        _ => key,
    }
}

/// Whether text is read through wide (UTF-16) calls, by the `text_encoding` value.
fn text_encoding(name: &str) -> Option<bool> {
    match name.to_ascii_lowercase().replace('-', "").as_str() {
        "utf8" => Some(false),
        "utf16" | "wide" => Some(true),
        _ => None,
    }
}

/// A timeout key in whole seconds, rounded up; `None` for none (absent, `0`, forever).
fn seconds(value: Option<&Value>) -> Option<usize> {
    let duration: Duration = value.map(Ttl::from_toml)?.ok()?.duration()?;
    let secs = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    (secs > 0).then(|| usize::try_from(secs).unwrap_or(usize::MAX))
}

/// A validated count, or its default.
fn count(value: Option<i64>, default: usize) -> usize {
    value
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(default)
}

/// What a connection runs on; parsed once per connect.
pub(crate) struct Settings {
    /// The connection string and what it names, for messages.
    pub(crate) target: Assembled,
    /// ODBC connections kept open.
    pub(crate) max_connections: usize,
    /// Seconds connecting may take.
    pub(crate) login_timeout: Option<u32>,
    /// Seconds one statement may run.
    pub(crate) query_timeout: Option<usize>,
    /// How results are read.
    pub(crate) read: ReadLimits,
    /// Default cache lifetime of `query()` results.
    pub(crate) ttl: Ttl,
}

/// The bounds arrow-odbc needs to allocate its fetch buffers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadLimits {
    /// Rows per fetch.
    pub(crate) batch_size: usize,
    /// The most memory one fetch buffer may take.
    pub(crate) max_batch_bytes: usize,
    /// Bytes per value of an unbounded text column.
    pub(crate) max_text_size: usize,
    /// Bytes per value of an unbounded binary column.
    pub(crate) max_binary_size: usize,
    /// Text through wide (UTF-16) calls.
    pub(crate) wide_text: bool,
}

/// By hand: the connection string holds credentials.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("target", &self.target)
            .field("max_connections", &self.max_connections)
            .field("login_timeout", &self.login_timeout)
            .field("query_timeout", &self.query_timeout)
            .field("read", &self.read)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl Settings {
    /// The settings of a `type = "odbc"` section.
    ///
    /// # Errors
    /// [`dataconn_core::ErrorKind::Config`] naming every problem with its file and line.
    pub(crate) fn from_config(config: &ConnectionConfig) -> Result<Arc<Settings>> {
        let parsed: OdbcConfig = config.parse()?;
        // Checked by `validate` (called by `parse`).
        let target =
            connection_string::assemble(&parsed, config).map_err(dataconn_core::Error::config)?;
        Ok(Arc::new(Settings {
            max_connections: count(parsed.max_connections, 4),
            login_timeout: seconds(parsed.login_timeout.as_ref())
                .map(|s| u32::try_from(s).unwrap_or(u32::MAX)),
            query_timeout: seconds(parsed.query_timeout.as_ref()),
            read: ReadLimits {
                batch_size: count(parsed.batch_size, DEFAULT_BATCH_SIZE),
                max_batch_bytes: count(parsed.max_batch_bytes, DEFAULT_MAX_BATCH_BYTES),
                max_text_size: count(parsed.max_text_size, DEFAULT_MAX_VALUE_SIZE),
                max_binary_size: count(parsed.max_binary_size, DEFAULT_MAX_VALUE_SIZE),
                wide_text: parsed
                    .text_encoding
                    .as_deref()
                    .and_then(text_encoding)
                    .unwrap_or(false),
            },
            ttl: parsed
                .ttl
                .as_ref()
                .map(Ttl::from_toml)
                .and_then(Result::ok)
                .unwrap_or(Ttl::Forever),
            target,
        }))
    }
}

/// How `:name` parameters are found in SQL for a database, by its name (its quoting rules;
/// ODBC's placeholders are `?` for every database).
pub(crate) fn parameter_dialect(dbms: &str) -> Dialect {
    let dbms = dbms.to_ascii_lowercase();
    if dbms.contains("mysql") || dbms.contains("mariadb") {
        Dialect::MySql
    } else if dbms.contains("snowflake") {
        Dialect::Snowflake
    } else {
        // Standard SQL quoting: SQL Server, Oracle, Db2, PostgreSQL, SQLite...
        Dialect::Sqlite
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> ConnectionConfig {
        ConnectionConfig::new("db", crate::TYPE, toml::from_str(text).unwrap())
    }

    #[test]
    fn defaults_bound_every_buffer() {
        let settings =
            Settings::from_config(&config("driver = \"SQLite3\"\ndatabase = \"a.db\"\n")).unwrap();
        assert_eq!(settings.read.batch_size, 65_535);
        assert_eq!(settings.read.max_text_size, 65_536);
        assert_eq!(settings.max_connections, 4);
        assert_eq!(settings.query_timeout, None);
        assert!(!settings.read.wide_text);
    }

    #[test]
    fn timeouts_round_up_to_whole_seconds() {
        let settings = Settings::from_config(&config(
            "dsn = \"x\"\nlogin_timeout = \"1500ms\"\nquery_timeout = 30\n",
        ))
        .unwrap();
        assert_eq!(settings.login_timeout, Some(2));
        assert_eq!(settings.query_timeout, Some(30));
    }

    #[test]
    fn every_bad_value_is_named_at_once() {
        let err = Settings::from_config(&config(
            "dsn = \"x\"\npool_size = 0\nbatch_size = -1\nquery_timeout = \"soon\"\ntext_encoding = \"latin1\"\n",
        ))
        .unwrap_err();
        let msg = err.to_string();
        for needle in [
            "4 problems",
            "`pool_size`",
            "`batch_size`",
            "`query_timeout`",
            "`text_encoding`",
        ] {
            assert!(msg.contains(needle), "{needle}: {msg}");
        }
    }

    #[test]
    fn the_parameter_dialect_follows_the_database() {
        assert_eq!(parameter_dialect("MariaDB Unicode"), Dialect::MySql);
        assert_eq!(parameter_dialect("mssql"), Dialect::Sqlite);
    }
}
