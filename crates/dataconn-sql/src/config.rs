//! The `[connections.<name>]` keys of the SQL connector.
//!
//! The same keys as Streamlit's `SQLConnection` (`url`, or `dialect`, `driver`, `username`,
//! `password`, `host`, `port`, `database`, `query`), plus pool options, a default TTL and the
//! Arrow batch size. `create_engine_kwargs` is accepted for the pool settings SQLAlchemy users
//! already have (`pool_size`, `pool_pre_ping`, `pool_recycle`, `pool_timeout`).

use std::collections::BTreeMap;
use std::time::Duration;

use dataconn_core::{ConnectionConfig, ConnectorConfig, RetryPolicy, Secret, Ttl};
use serde::Deserialize;
use toml::Value;

/// The SQL connector's options. Every field is optional; see each for its default.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SqlConfig {
    /// The database URL, SQLAlchemy style: `sqlite:///relative.db`, `sqlite:////abs.db`,
    /// `sqlite://` (memory), `postgresql+psycopg2://user:pw@host/db`, `mysql://...`.
    /// When given, the component keys below are ignored (as in Streamlit).
    pub url: Option<Secret>,
    /// `sqlite`, `postgresql` or `mysql` (also `postgres`, `mariadb`). Required without `url`.
    pub dialect: Option<String>,
    /// The Python driver name (`psycopg2`, `pymysql`...). Accepted and ignored: dataconn uses
    /// its own drivers.
    pub driver: Option<String>,
    /// User name. Required without `url` for server databases.
    #[serde(alias = "user")]
    pub username: Option<String>,
    /// Password.
    pub password: Option<Secret>,
    /// Host. Required without `url` for server databases.
    pub host: Option<String>,
    /// Port; the dialect's default when absent.
    pub port: Option<u16>,
    /// Database name, or the SQLite file path.
    pub database: Option<String>,
    /// Extra URL query parameters, such as `{ sslmode = "require" }`.
    pub query: Option<BTreeMap<String, String>>,
    /// Most connections in the pool. Default: 10 (1 for an in-memory SQLite database).
    pub max_connections: Option<u32>,
    /// Connections kept open when idle. Default: 0.
    pub min_connections: Option<u32>,
    /// How long to wait for a pooled connection (`"30s"` or seconds). Default: 30 s.
    pub acquire_timeout: Option<Value>,
    /// Close connections idle this long. Default: 10 minutes.
    pub idle_timeout: Option<Value>,
    /// Close connections older than this. Default: 30 minutes.
    pub max_lifetime: Option<Value>,
    /// Ping a connection before handing it out. Default: true.
    pub test_before_acquire: Option<bool>,
    /// Default TTL of `query()` results (`"10m"`, seconds, `0` for none). Default: forever.
    pub ttl: Option<Value>,
    /// Rows per Arrow record batch. Default: 65,536.
    pub batch_size: Option<usize>,
    /// Cancel statements running longer than this (PostgreSQL `statement_timeout`, MariaDB
    /// `max_statement_time`, MySQL `max_execution_time`). Default: none.
    pub statement_timeout: Option<Value>,
    /// Read PostgreSQL results without parameters through binary `COPY`. Default: true.
    pub copy: Option<bool>,
    /// Retries of a temporary failure after the first attempt. Default: 3.
    pub retries: Option<u32>,
    /// Backoff ceiling of the first retry, doubling after each. Default: `100ms`.
    pub retry_backoff: Option<Value>,
    /// Largest backoff ceiling. Default: `2s`.
    pub retry_max_backoff: Option<Value>,
    /// No retry starts after this long since the first attempt. Default: `30s`.
    pub retry_budget: Option<Value>,
    /// SQLAlchemy's engine options; `pool_size`, `max_overflow`, `pool_pre_ping`,
    /// `pool_recycle` and `pool_timeout` map onto the pool options above.
    pub create_engine_kwargs: Option<toml::Table>,
}

impl ConnectorConfig for SqlConfig {
    const KEYS: &'static [&'static str] = &[
        "url",
        "dialect",
        "driver",
        "username",
        "user",
        "password",
        "host",
        "port",
        "database",
        "query",
        "max_connections",
        "min_connections",
        "acquire_timeout",
        "idle_timeout",
        "max_lifetime",
        "test_before_acquire",
        "ttl",
        "batch_size",
        "statement_timeout",
        "copy",
        "retries",
        "retry_backoff",
        "retry_max_backoff",
        "retry_budget",
        "create_engine_kwargs",
    ];

    fn validate(&self, config: &ConnectionConfig) -> Vec<String> {
        let mut problems = Vec::new();
        if self.url.is_none() {
            match self.dialect.as_deref() {
                None => problems.push(
                    "expected `url`, or `dialect` with the other parts of the address, found \
                     neither"
                        .to_owned(),
                ),
                Some(d) if !is_sqlite(d) => {
                    for (key, present) in [
                        ("username", self.username.is_some()),
                        ("host", self.host.is_some()),
                    ] {
                        if !present {
                            problems.push(format!(
                                "expected `{key}` for the {d} dialect (no `url` given), found none"
                            ));
                        }
                    }
                }
                Some(_) => {}
            }
        }
        for (key, value) in [
            ("acquire_timeout", &self.acquire_timeout),
            ("idle_timeout", &self.idle_timeout),
            ("max_lifetime", &self.max_lifetime),
            ("ttl", &self.ttl),
            ("statement_timeout", &self.statement_timeout),
            ("retry_backoff", &self.retry_backoff),
            ("retry_max_backoff", &self.retry_max_backoff),
            ("retry_budget", &self.retry_budget),
        ] {
            if let Some(value) = value
                && let Err(problem) = duration_value(value)
            {
                problems.push(format!("`{key}` ({}): {problem}", config.origin(key)));
            }
        }
        if self.batch_size == Some(0) {
            problems.push(format!(
                "expected `batch_size` above 0, found 0 ({})",
                config.origin("batch_size")
            ));
        }
        if let Some(kwargs) = &self.create_engine_kwargs {
            for key in kwargs.keys() {
                if !ENGINE_KWARGS.contains(&key.as_str()) {
                    problems.push(format!(
                        "`create_engine_kwargs.{key}` has no equivalent here; supported: {}",
                        ENGINE_KWARGS.join(", ")
                    ));
                }
            }
        }
        problems
    }
}

const ENGINE_KWARGS: &[&str] = &[
    "pool_size",
    "max_overflow",
    "pool_pre_ping",
    "pool_recycle",
    "pool_timeout",
    "echo",
];

pub(crate) fn is_sqlite(dialect: &str) -> bool {
    dialect
        .split('+')
        .next()
        .is_some_and(|d| d.eq_ignore_ascii_case("sqlite"))
}

/// A TTL-style value as a TTL: a number of seconds or a string such as `"10m"`.
pub(crate) fn ttl_value(value: &Value) -> Result<Ttl, String> {
    Ttl::from_toml(value).map_err(|e| e.message().to_owned())
}

fn duration_value(value: &Value) -> Result<Option<Duration>, String> {
    ttl_value(value).map(Ttl::duration)
}

/// Pool settings after defaults and `create_engine_kwargs`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PoolSettings {
    pub(crate) max_connections: u32,
    pub(crate) min_connections: u32,
    pub(crate) acquire_timeout: Duration,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) test_before_acquire: bool,
}

impl PoolSettings {
    /// sqlx's pool options with these settings, for any driver.
    pub(crate) fn options<DB: sqlx::Database>(&self) -> sqlx::pool::PoolOptions<DB> {
        sqlx::pool::PoolOptions::<DB>::new()
            .max_connections(self.max_connections)
            .min_connections(self.min_connections.min(self.max_connections))
            .acquire_timeout(self.acquire_timeout)
            .idle_timeout(self.idle_timeout)
            .max_lifetime(self.max_lifetime)
            .test_before_acquire(self.test_before_acquire)
    }
}

impl SqlConfig {
    /// The default TTL of `query()` results.
    pub(crate) fn default_ttl(&self) -> Ttl {
        self.ttl
            .as_ref()
            .and_then(|v| ttl_value(v).ok())
            .unwrap_or(Ttl::Forever)
    }

    pub(crate) fn statement_timeout(&self) -> Option<Duration> {
        self.statement_timeout
            .as_ref()
            .and_then(|v| duration_value(v).ok().flatten())
            .filter(|d| !d.is_zero())
    }

    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        let default = RetryPolicy::default();
        let or = |v: &Option<Value>, d: Duration| {
            v.as_ref()
                .and_then(|v| duration_value(v).ok().flatten())
                .unwrap_or(d)
        };
        RetryPolicy {
            retries: self.retries.unwrap_or(default.retries),
            initial_backoff: or(&self.retry_backoff, default.initial_backoff),
            max_backoff: or(&self.retry_max_backoff, default.max_backoff),
            budget: or(&self.retry_budget, default.budget),
        }
    }

    pub(crate) fn batch_rows(&self) -> usize {
        self.batch_size.unwrap_or(65_536)
    }

    pub(crate) fn pool_settings(&self) -> PoolSettings {
        let kwargs = self.create_engine_kwargs.clone().unwrap_or_default();
        let kw_int = |k: &str| kwargs.get(k).and_then(Value::as_integer);
        let kw_duration = |k: &str| kwargs.get(k).and_then(|v| duration_value(v).ok().flatten());
        let engine_max =
            kw_int("pool_size").map(|size| size + kw_int("max_overflow").unwrap_or(10));
        let own = |v: &Option<Value>| v.as_ref().and_then(|v| duration_value(v).ok().flatten());
        PoolSettings {
            max_connections: self
                .max_connections
                .or(engine_max.and_then(|n| u32::try_from(n).ok()))
                .unwrap_or(10)
                .max(1),
            min_connections: self.min_connections.unwrap_or(0),
            acquire_timeout: own(&self.acquire_timeout)
                .or(kw_duration("pool_timeout"))
                .unwrap_or(Duration::from_secs(30)),
            idle_timeout: own(&self.idle_timeout).or(Some(Duration::from_secs(600))),
            max_lifetime: own(&self.max_lifetime)
                .or(kw_duration("pool_recycle"))
                .or(Some(Duration::from_secs(1800))),
            test_before_acquire: self
                .test_before_acquire
                .or(kwargs.get("pool_pre_ping").and_then(Value::as_bool))
                .unwrap_or(true),
        }
    }
}
