//! The `[connections.<name>]` keys of `type = "adbc"`, and the settings both connectors run on.
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `driver` | a driver name (`postgresql`, `sqlite`, `adbc_driver_flightsql`, a manifest name) or a path to a shared library or a `.toml` manifest | required |
//! | `entrypoint` | the driver's init function | derived from the file name, else `AdbcDriverInit` |
//! | `search_paths` | more folders to search for a named driver | none |
//! | `uri` (alias `url`) | the database URI the driver takes | none |
//! | `username`, `password` | credentials, for drivers that take them as options | none |
//! | `adbc.*` | any ADBC option, passed to the driver as written | none |
//! | `options` | a table of other driver-specific database options | none |
//! | `dialect` | how `:name` parameters become placeholders: `postgresql` (`$1`), `sqlite`, `mysql`, `snowflake` (`?`) | from the driver's name, else `?` |
//! | `max_connections` (alias `pool_size`) | driver connections kept open | 4 |
//! | `ttl` | default cache lifetime of `query()` results | forever |

use std::path::PathBuf;
use std::sync::Arc;

use adbc_core::options::OptionValue;
use dataconn_core::raw::{ConnectorConfig, Dialect};
use dataconn_core::{ConnectionConfig, Result, Secret, Ttl};
use serde::Deserialize;
use toml::Value;

use crate::driver::DriverSource;

/// The keys of `type = "adbc"` (see the module docs for each).
#[derive(Deserialize)]
#[non_exhaustive]
pub struct AdbcConfig {
    /// A driver name or path.
    pub driver: String,
    /// The driver's init function.
    #[serde(default)]
    pub entrypoint: Option<String>,
    /// More folders to search for a named driver.
    #[serde(default)]
    pub search_paths: Vec<String>,
    /// The database URI.
    #[serde(default, alias = "url")]
    pub uri: Option<String>,
    /// The user, for drivers that take it as an option.
    #[serde(default)]
    pub username: Option<String>,
    /// The password, for drivers that take it as an option.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Other driver-specific database options.
    #[serde(default)]
    pub options: toml::Table,
    /// How `:name` parameters become placeholders.
    #[serde(default)]
    pub dialect: Option<String>,
    /// Driver connections kept open.
    #[serde(default, alias = "pool_size")]
    pub max_connections: Option<i64>,
    /// Default cache lifetime of `query()` results.
    #[serde(default)]
    pub ttl: Option<Value>,
    /// Every `adbc.*` key of the section.
    #[serde(flatten)]
    pub adbc_options: toml::Table,
}

impl std::fmt::Debug for AdbcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdbcConfig")
            .field("driver", &self.driver)
            .field("uri", &self.uri.as_ref().map(|_| "***"))
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .field(
                "adbc_options",
                &self.adbc_options.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl ConnectorConfig for AdbcConfig {
    const KEYS: &'static [&'static str] = &[
        "driver",
        "entrypoint",
        "search_paths",
        "uri",
        "url",
        "username",
        "password",
        "options",
        "dialect",
        "max_connections",
        "pool_size",
        "ttl",
    ];

    fn accepts(key: &str) -> bool {
        key.starts_with("adbc.")
    }

    fn validate(&self, config: &ConnectionConfig) -> Vec<String> {
        let mut problems = Vec::new();
        if self.driver.trim().is_empty() {
            problems.push(format!(
                "expected `driver` to name an ADBC driver or a path to one ({}), found an empty string",
                config.origin("driver")
            ));
        }
        if let Some(name) = &self.dialect
            && dialect_named(name).is_none()
        {
            problems.push(format!(
                "expected `dialect` to be postgresql, sqlite, mysql or snowflake ({}), found {name:?}",
                config.origin("dialect")
            ));
        }
        problems.extend(common_problems(
            config,
            self.max_connections,
            self.ttl.as_ref(),
        ));
        for (key, value) in self.options.iter().chain(&self.adbc_options) {
            if option_value(value).is_none() {
                problems.push(format!(
                    "expected option `{key}` to be a string, a number or true/false ({}), found {}",
                    config.origin(key),
                    value.type_str()
                ));
            }
        }
        problems
    }
}

/// Problems of the keys both connectors share: the pool size and the TTL.
pub(crate) fn common_problems(
    config: &ConnectionConfig,
    max_connections: Option<i64>,
    ttl: Option<&Value>,
) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(n) = max_connections
        && !(1..=1024).contains(&n)
    {
        let key = ["max_connections", "pool_size"]
            .into_iter()
            .find(|k| config.get(k).is_some())
            .unwrap_or("max_connections");
        problems.push(format!(
            "expected `{key}` to be a count from 1 to 1024 ({}), found {n}",
            config.origin(key)
        ));
    }
    if let Some(Err(e)) = ttl.map(Ttl::from_toml) {
        problems.push(format!("`ttl` ({}): {}", config.origin("ttl"), e.message()));
    }
    problems
}

/// The dialect a `dialect` value names.
fn dialect_named(name: &str) -> Option<Dialect> {
    Some(match name.to_ascii_lowercase().as_str() {
        "postgresql" | "postgres" | "duckdb" => Dialect::Postgres,
        "sqlite" => Dialect::Sqlite,
        "mysql" | "mariadb" => Dialect::MySql,
        "snowflake" => Dialect::Snowflake,
        _ => return None,
    })
}

/// The dialect a driver's name suggests: `$1` for PostgreSQL and DuckDB, `?` otherwise.
fn dialect_of_driver(driver: &str) -> Dialect {
    let driver = driver.to_ascii_lowercase();
    if driver.contains("postgres") || driver.contains("duckdb") {
        Dialect::Postgres
    } else if driver.contains("snowflake") {
        Dialect::Snowflake
    } else if driver.contains("mysql") {
        Dialect::MySql
    } else {
        Dialect::Sqlite
    }
}

/// An ADBC option value from a TOML value, as text: every driver takes string options, and
/// several (the Go drivers, PostgreSQL's) refuse integer ones they do not know. Tables and
/// arrays have none.
pub(crate) fn option_value(value: &Value) -> Option<OptionValue> {
    Some(OptionValue::String(match value {
        Value::String(s) => s.clone(),
        Value::Integer(n) => n.to_string(),
        Value::Float(x) => x.to_string(),
        Value::Boolean(b) => b.to_string(),
        _ => return None,
    }))
}

/// What a connection runs on, from either connector's keys; parsed once per connect.
pub(crate) struct Settings {
    /// Where the driver comes from.
    pub(crate) driver: DriverSource,
    /// Database options, in the order they are set.
    pub(crate) database_options: Vec<(String, OptionValue)>,
    /// How `:name` parameters are rewritten.
    pub(crate) dialect: Dialect,
    /// Driver connections kept open.
    pub(crate) max_connections: usize,
    /// Default cache lifetime of `query()` results.
    pub(crate) ttl: Ttl,
    /// What identifies the database for sharing it within the process (a DuckDB file, which
    /// must not be opened twice in one process); `None` for databases opened per connection.
    pub(crate) share_key: Option<String>,
}

/// By hand: the options hold credentials.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("driver", &self.driver)
            .field(
                "database_options",
                &self
                    .database_options
                    .iter()
                    .map(|(k, _)| k)
                    .collect::<Vec<_>>(),
            )
            .field("dialect", &self.dialect)
            .field("max_connections", &self.max_connections)
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// The pool size and TTL both connectors read the same way (already validated).
pub(crate) fn pool_and_ttl(max_connections: Option<i64>, ttl: Option<&Value>) -> (usize, Ttl) {
    let size = max_connections
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(4);
    let ttl = ttl
        .map(Ttl::from_toml)
        .and_then(Result::ok)
        .unwrap_or(Ttl::Forever);
    (size, ttl)
}

impl Settings {
    /// The settings of a `type = "adbc"` section.
    pub(crate) fn adbc(config: &ConnectionConfig) -> Result<Arc<Settings>> {
        let parsed: AdbcConfig = config.parse()?;
        let mut database_options = Vec::new();
        if let Some(uri) = parsed.uri {
            database_options.push(("uri".to_owned(), OptionValue::String(uri)));
        }
        if let Some(user) = parsed.username {
            database_options.push(("username".to_owned(), OptionValue::String(user)));
        }
        if let Some(password) = parsed.password {
            database_options.push((
                "password".to_owned(),
                OptionValue::String(password.expose().to_owned()),
            ));
        }
        for (key, value) in parsed.adbc_options.iter().chain(&parsed.options) {
            // Checked by `validate`.
            if let Some(value) = option_value(value) {
                database_options.push((key.clone(), value));
            }
        }
        let dialect = parsed
            .dialect
            .as_deref()
            .and_then(dialect_named)
            .unwrap_or_else(|| dialect_of_driver(&parsed.driver));
        let (max_connections, ttl) = pool_and_ttl(parsed.max_connections, parsed.ttl.as_ref());
        Ok(Arc::new(Settings {
            driver: DriverSource::Named {
                name: parsed.driver,
                entrypoint: parsed.entrypoint,
                search_paths: parsed.search_paths.into_iter().map(PathBuf::from).collect(),
            },
            database_options,
            dialect,
            max_connections,
            ttl,
            share_key: None,
        }))
    }
}

/// The values to mask for an ADBC section: core's, and the password of a URI written without a
/// scheme (`user:password@account/db`, as the Snowflake and Flight SQL drivers take it).
pub(crate) fn masks(config: &ConnectionConfig) -> Vec<String> {
    let mut out = config.sensitive_values();
    for key in ["uri", "url"] {
        if let Some(Value::String(uri)) = config.get(key)
            && !uri.contains("://")
            && let Some((userinfo, _)) = uri.rsplit_once('@')
            && let Some((_, password)) = userinfo.split_once(':')
            && !password.is_empty()
        {
            out.push(password.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> ConnectionConfig {
        ConnectionConfig::new("w", crate::TYPE, toml::from_str(text).unwrap())
    }

    #[test]
    fn adbc_keys_and_options_pass_through_and_typos_do_not() {
        let settings = Settings::adbc(&config(
            "driver = \"postgresql\"\nuri = \"postgresql://u:pw@h/db\"\n\"adbc.postgresql.batch_size_hint_bytes\" = 1024\n[options]\nsome_flag = true\n",
        ))
        .unwrap();
        let keys: Vec<&str> = settings
            .database_options
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(
            keys,
            ["uri", "adbc.postgresql.batch_size_hint_bytes", "some_flag"]
        );
        assert_eq!(settings.dialect, Dialect::Postgres);
        assert_eq!(settings.max_connections, 4);
        assert!(!format!("{settings:?}").contains("pw"), "{settings:?}");

        let err = Settings::adbc(&config("driver = \"sqlite\"\nurii = \"x\"\n")).unwrap_err();
        assert!(err.message().contains("did you mean `uri`?"), "{err}");
    }

    #[test]
    fn a_password_in_a_uri_without_a_scheme_is_masked() {
        let c = config("driver = \"snowflake\"\nuri = \"svc:pa55-word@acme/db/public\"\n");
        assert!(masks(&c).contains(&"pa55-word".to_owned()));
    }

    #[test]
    fn bad_values_are_named_at_once() {
        let err = Settings::adbc(&config(
            "driver = \"\"\ndialect = \"oracle\"\nmax_connections = 0\nttl = \"soon\"\n[options]\nlist = [1]\n",
        ))
        .unwrap_err();
        let msg = err.to_string();
        for needle in [
            "5 problems",
            "`driver`",
            "`dialect`",
            "`max_connections`",
            "`ttl`",
            "`list`",
        ] {
            assert!(msg.contains(needle), "{needle}: {msg}");
        }
    }

    #[test]
    fn the_dialect_follows_the_driver_unless_given() {
        let dialect = |text: &str| Settings::adbc(&config(text)).unwrap().dialect;
        assert_eq!(dialect("driver = \"adbc_driver_sqlite\""), Dialect::Sqlite);
        assert_eq!(
            dialect("driver = \"/opt/libadbc_driver_postgresql.so\""),
            Dialect::Postgres
        );
        assert_eq!(
            dialect("driver = \"flightsql\"\ndialect = \"postgresql\""),
            Dialect::Postgres
        );
    }
}
