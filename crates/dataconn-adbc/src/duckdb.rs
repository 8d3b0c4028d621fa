//! The `[connections.<name>]` keys of `type = "duckdb"`, and where DuckDB comes from.
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `database` (alias `path`) | the database file (relative to the working directory), or `:memory:` | `:memory:` |
//! | `url` | `duckdb:///app.duckdb` (relative), `duckdb:////abs/app.duckdb`, `duckdb:///:memory:`, as `duckdb_engine` users write it; `?key=value` pairs become settings | none |
//! | `read_only` | open the file read-only (other processes may read it too) | false |
//! | `threads`, `memory_limit` | DuckDB's settings of those names | DuckDB's |
//! | `settings` | a table of any other DuckDB settings (`temp_directory`, `default_order`...) | none |
//! | `library` | DuckDB's shared library: a path, or a name searched as ADBC drivers are (`duckdb`: `libduckdb.so`) | compiled in with `duckdb-bundled`, else `duckdb` |
//! | `search_paths` | more folders to search for `library` | none |
//! | `max_connections` (alias `pool_size`) | connections kept open to the database | 4 |
//! | `ttl` | default cache lifetime of `query()` results | forever |
//!
//! DuckDB is reached through its own ADBC entry point, `duckdb_adbc_init`: one code path with
//! the `adbc` connector, results in the workspace's one Arrow without conversion.

use std::path::PathBuf;
use std::sync::Arc;

use adbc_core::options::OptionValue;
use dataconn_core::raw::{ConnectorConfig, Dialect};
use dataconn_core::{ConnectionConfig, Result};
use serde::Deserialize;
use toml::Value;

use crate::config::{Settings, common_problems, option_value, pool_and_ttl};
use crate::driver::DriverSource;

/// The keys of `type = "duckdb"` (see the module docs for each).
#[derive(Deserialize)]
#[non_exhaustive]
pub struct DuckDbConfig {
    /// The database file, or `:memory:`.
    #[serde(default, alias = "path")]
    pub database: Option<String>,
    /// A `duckdb:///...` URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Open read-only.
    #[serde(default)]
    pub read_only: bool,
    /// DuckDB's `threads` setting.
    #[serde(default)]
    pub threads: Option<i64>,
    /// DuckDB's `memory_limit` setting (`"4GB"`).
    #[serde(default)]
    pub memory_limit: Option<String>,
    /// Any other DuckDB settings.
    #[serde(default)]
    pub settings: toml::Table,
    /// DuckDB's shared library, by path or name.
    #[serde(default)]
    pub library: Option<String>,
    /// More folders to search for `library`.
    #[serde(default)]
    pub search_paths: Vec<String>,
    /// Connections kept open.
    #[serde(default, alias = "pool_size")]
    pub max_connections: Option<i64>,
    /// Default cache lifetime of `query()` results.
    #[serde(default)]
    pub ttl: Option<Value>,
}

/// By hand: settings and URL parameters may hold credentials (`s3_secret_access_key`).
impl std::fmt::Debug for DuckDbConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuckDbConfig")
            .field("database", &self.database)
            .field("read_only", &self.read_only)
            .field("settings", &self.settings.keys().collect::<Vec<_>>())
            .field("library", &self.library)
            .finish_non_exhaustive()
    }
}

impl ConnectorConfig for DuckDbConfig {
    const KEYS: &'static [&'static str] = &[
        "database",
        "path",
        "url",
        "read_only",
        "threads",
        "memory_limit",
        "settings",
        "library",
        "search_paths",
        "max_connections",
        "pool_size",
        "ttl",
    ];

    fn validate(&self, config: &ConnectionConfig) -> Vec<String> {
        let mut problems = common_problems(config, self.max_connections, self.ttl.as_ref());
        if self.database.is_some() && self.url.is_some() {
            problems.push("give `database` or `url`, not both (they say the same)".to_owned());
        }
        if let Some(url) = &self.url
            && url_path(url).is_none()
        {
            problems.push(format!(
                "expected `url` to start with duckdb:/// ({}), found {url:?}",
                config.origin("url")
            ));
        }
        if let Some(threads) = self.threads
            && threads < 1
        {
            problems.push(format!(
                "expected `threads` to be 1 or more ({}), found {threads}",
                config.origin("threads")
            ));
        }
        for (key, value) in &self.settings {
            if option_value(value).is_none() {
                problems.push(format!(
                    "expected setting `{key}` to be a string, a number or true/false ({}), found {}",
                    config.origin("settings"),
                    value.type_str()
                ));
            }
        }
        problems
    }
}

/// The path of a `duckdb:///path?settings` URL, and its settings.
fn url_path(url: &str) -> Option<(String, Vec<(String, String)>)> {
    let rest = url.strip_prefix("duckdb:///")?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let settings = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key.to_owned(), value.to_owned())
        })
        .collect();
    Some((path.to_owned(), settings))
}

/// The settings of a `type = "duckdb"` section.
pub(crate) fn settings(config: &ConnectionConfig) -> Result<Arc<Settings>> {
    let parsed: DuckDbConfig = config.parse()?;
    let (path, url_settings) = match parsed.url.as_deref().and_then(url_path) {
        Some((path, settings)) => (path, settings),
        None => (parsed.database.unwrap_or_default(), Vec::new()),
    };
    let path = match path.as_str() {
        "" | ":memory:" => ":memory:".to_owned(),
        _ => path,
    };
    // A file is opened once per process (DuckDB does not guard against a second instance on
    // the same file); memory databases are each connection's own.
    let share_key = (path != ":memory:").then(|| {
        let file = std::path::Path::new(&path);
        let absolute = std::fs::canonicalize(file).unwrap_or_else(|_| {
            std::env::current_dir().map_or_else(|_| file.to_path_buf(), |cwd| cwd.join(file))
        });
        absolute.display().to_string()
    });
    let mut options = vec![("path".to_owned(), OptionValue::String(path))];
    if parsed.read_only {
        options.push(("access_mode".to_owned(), "READ_ONLY".into()));
    }
    if let Some(threads) = parsed.threads {
        options.push((
            "threads".to_owned(),
            OptionValue::String(threads.to_string()),
        ));
    }
    if let Some(limit) = parsed.memory_limit {
        options.push(("memory_limit".to_owned(), OptionValue::String(limit)));
    }
    for (key, value) in url_settings {
        options.push((key, OptionValue::String(value)));
    }
    for (key, value) in &parsed.settings {
        // Checked by `validate`.
        if let Some(value) = option_value(value) {
            options.push((key.clone(), value));
        }
    }
    let (max_connections, ttl) = pool_and_ttl(parsed.max_connections, parsed.ttl.as_ref());
    Ok(Arc::new(Settings {
        driver: driver_source(parsed.library, parsed.search_paths),
        database_options: options,
        // DuckDB takes `$1` (and `?`); `$n` keeps a repeated name one value.
        dialect: Dialect::Postgres,
        max_connections,
        ttl,
        share_key,
    }))
}

/// DuckDB's own library when `library` names one; compiled in when the build has it.
fn driver_source(library: Option<String>, search_paths: Vec<String>) -> DriverSource {
    #[cfg(feature = "duckdb-bundled")]
    if library.is_none() {
        return DriverSource::BundledDuckDb;
    }
    DriverSource::Named {
        name: library.unwrap_or_else(|| "duckdb".to_owned()),
        entrypoint: Some("duckdb_adbc_init".to_owned()),
        search_paths: search_paths.into_iter().map(PathBuf::from).collect(),
    }
}

/// DuckDB compiled into the program, through its ADBC entry point.
#[cfg(feature = "duckdb-bundled")]
pub(crate) fn bundled_driver() -> Result<adbc_driver_manager::ManagedDriver> {
    use adbc_core::options::AdbcVersion;
    // Links the bundled static library, which holds the entry point below.
    use libduckdb_sys as _;
    unsafe extern "C" {
        fn duckdb_adbc_init(
            version: std::ffi::c_int,
            driver: *mut std::ffi::c_void,
            error: *mut adbc_ffi::FFI_AdbcError,
        ) -> u8;
    }
    let init: adbc_ffi::FFI_AdbcDriverInitFunc = duckdb_adbc_init;
    adbc_driver_manager::ManagedDriver::load_static(&init, AdbcVersion::V110)
        .map_err(|e| crate::error::adbc_error(e, "starting the compiled-in DuckDB"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> ConnectionConfig {
        ConnectionConfig::new("duck", crate::DUCKDB_TYPE, toml::from_str(text).unwrap())
    }

    fn options(text: &str) -> Vec<(String, String)> {
        settings(&config(text))
            .unwrap()
            .database_options
            .iter()
            .map(|(k, v)| match v {
                OptionValue::String(s) => (k.clone(), s.clone()),
                other => (k.clone(), format!("{other:?}")),
            })
            .collect()
    }

    #[test]
    fn duckdb_engine_urls_and_settings_become_duckdb_options() {
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            options("url = \"duckdb:///app.duckdb?threads=2\"\nread_only = true"),
            pairs(&[
                ("path", "app.duckdb"),
                ("access_mode", "READ_ONLY"),
                ("threads", "2")
            ])
        );
        assert_eq!(
            options("url = \"duckdb:////srv/a.duckdb\""),
            pairs(&[("path", "/srv/a.duckdb")])
        );
        assert_eq!(options(""), pairs(&[("path", ":memory:")]));
        assert_eq!(
            options(
                "database = \"x.duckdb\"\nmemory_limit = \"1GB\"\n[settings]\ndefault_order = \"desc\""
            ),
            pairs(&[
                ("path", "x.duckdb"),
                ("memory_limit", "1GB"),
                ("default_order", "desc")
            ])
        );
    }

    /// The compiled-in DuckDB answers through its ADBC entry point (built only with the
    /// `duckdb-bundled` feature: its C++ takes about half an hour).
    #[cfg(feature = "duckdb-bundled")]
    #[test]
    fn the_compiled_in_duckdb_answers() {
        use adbc_core::{Connection as _, Database as _, Statement as _};
        let settings = settings(&config("")).unwrap();
        assert!(matches!(settings.driver, DriverSource::BundledDuckDb));
        let mut driver = crate::driver::load(&settings.driver).unwrap();
        let database =
            crate::driver::open_database(&mut driver, &settings.database_options, "duckdb")
                .unwrap();
        let mut conn = database.new_connection().unwrap();
        let mut statement = conn.new_statement().unwrap();
        statement.set_sql_query("select 40 + 2 as answer").unwrap();
        let batches: Vec<_> = statement
            .execute()
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let table = dataconn_core::Table::try_new(batches[0].schema(), batches).unwrap();
        assert_eq!(table.to_csv().unwrap(), "answer\n42\n");
    }

    #[test]
    fn conflicting_and_bad_keys_are_named_at_once() {
        let err = settings(&config(
            "database = \"a\"\nurl = \"sqlite:///b\"\nthreads = 0\npool_size = 0\n",
        ))
        .unwrap_err();
        let msg = err.to_string();
        for needle in [
            "4 problems",
            "not both",
            "duckdb:///",
            "`threads`",
            "`pool_size`",
        ] {
            assert!(msg.contains(needle), "{needle}: {msg}");
        }
    }
}
