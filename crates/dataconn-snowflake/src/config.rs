//! The `[connections.<name>]` keys of the Snowflake connector, as Streamlit's
//! `SnowflakeConnection` (and the official connector's `connect()`) take them.

use std::collections::BTreeMap;

use dataconn_core::{ConnectionConfig, ConnectorConfig, Secret};
use serde::Deserialize;
use toml::Value;

/// The Snowflake connector's options.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SnowflakeConfig {
    /// The account identifier (`myorg-myaccount`, or a locator such as `xy12345.eu-west-1`).
    pub account: Option<String>,
    /// The login name.
    #[serde(alias = "username")]
    pub user: Option<String>,
    /// The password (authenticator `snowflake`, the default).
    pub password: Option<Secret>,
    /// `snowflake` (password), `snowflake_jwt` (key pair), `oauth` (token),
    /// `programmatic_access_token` (token). Default: key pair when a private key is given, else
    /// password.
    pub authenticator: Option<String>,
    /// The OAuth access token or programmatic access token.
    pub token: Option<Secret>,
    /// A PKCS#8 RSA private key (PEM, or a bare base64 body) for key-pair authentication.
    pub private_key: Option<Secret>,
    /// A file holding the PKCS#8 RSA private key (PEM, optionally encrypted).
    #[serde(alias = "private_key_path")]
    pub private_key_file: Option<String>,
    /// The passphrase of an encrypted private key.
    pub private_key_file_pwd: Option<Secret>,
    /// The role to use.
    pub role: Option<String>,
    /// The warehouse to use.
    pub warehouse: Option<String>,
    /// The database to use.
    pub database: Option<String>,
    /// The schema to use.
    pub schema: Option<String>,
    /// The server host. Default: `<account>.snowflakecomputing.com`.
    pub host: Option<String>,
    /// The server port. Default: 443 (80 for `protocol = "http"`).
    pub port: Option<u16>,
    /// `https` (default) or `http` (a local test server).
    pub protocol: Option<String>,
    /// Session parameters sent at login (`{ QUERY_TAG = "app" }`).
    pub session_parameters: Option<BTreeMap<String, Value>>,
    /// Send a heartbeat periodically so the session does not expire while idle. Default off
    /// (an expired session is renewed or re-created on the next query either way).
    pub client_session_keep_alive: Option<bool>,
    /// The heartbeat period (`"15m"` or seconds). Default 3600 s.
    pub client_session_keep_alive_heartbeat_frequency: Option<Value>,
    /// How long a login and the other session calls (renewal, heartbeat, logout) may take,
    /// and how long connecting may take (`"60s"` or seconds). Default 60 s.
    pub login_timeout: Option<Value>,
    /// How long a query may take, from sending it through every "still running" poll (and,
    /// for `query()`, then again for downloading its result chunks), before it is cancelled
    /// with `abort-request` (`"10m"` or seconds). Default 3600 s.
    pub network_timeout: Option<Value>,
    /// How long any single request other than the session calls may take, its whole body
    /// included: a statement's POST, each poll, each result chunk (`"5m"` or seconds).
    /// Default 300 s.
    pub request_timeout: Option<Value>,
    /// The most bytes one reply or one result chunk may hold, also once decompressed.
    /// Default 1 GiB (1073741824).
    pub max_response_bytes: Option<u64>,
    /// Default TTL of `query()` results. Default: forever.
    pub ttl: Option<Value>,
}

impl ConnectorConfig for SnowflakeConfig {
    const KEYS: &'static [&'static str] = &[
        "account",
        "user",
        "username",
        "password",
        "authenticator",
        "token",
        "private_key",
        "private_key_file",
        "private_key_path",
        "private_key_file_pwd",
        "role",
        "warehouse",
        "database",
        "schema",
        "host",
        "port",
        "protocol",
        "session_parameters",
        "client_session_keep_alive",
        "client_session_keep_alive_heartbeat_frequency",
        "login_timeout",
        "network_timeout",
        "request_timeout",
        "max_response_bytes",
        "ttl",
    ];

    fn validate(&self, config: &ConnectionConfig) -> Vec<String> {
        let mut problems = Vec::new();
        if self.account.is_none() && self.host.is_none() {
            problems.push("expected `account` (or `host`), found neither".to_owned());
        }
        if self.user.is_none() {
            problems.push("expected `user`, found none".to_owned());
        }
        let _ = config;
        match self.authenticator().as_str() {
            "SNOWFLAKE" if self.password.is_none() => {
                problems.push("expected `password` for the snowflake authenticator, found none".to_owned())
            }
            "OAUTH" | "PROGRAMMATIC_ACCESS_TOKEN" if self.token.is_none() => {
                problems.push("expected `token` for this authenticator, found none".to_owned())
            }
            "SNOWFLAKE_JWT" if self.private_key.is_none() && self.private_key_file.is_none() => {
                problems.push("expected `private_key` or `private_key_file` for key-pair authentication, found neither".to_owned())
            }
            "SNOWFLAKE" | "OAUTH" | "PROGRAMMATIC_ACCESS_TOKEN" | "SNOWFLAKE_JWT" => {}
            other => problems.push(format!(
                "expected `authenticator` to be snowflake, snowflake_jwt, oauth or programmatic_access_token, found {other:?}"
            )),
        }
        for (key, value) in [
            ("login_timeout", &self.login_timeout),
            ("network_timeout", &self.network_timeout),
            ("request_timeout", &self.request_timeout),
            (
                "client_session_keep_alive_heartbeat_frequency",
                &self.client_session_keep_alive_heartbeat_frequency,
            ),
        ] {
            if let Some(v) = value
                && positive_duration(v).is_none()
            {
                problems.push(format!(
                    "expected `{key}` as a positive number of seconds or text like \"30s\", found {v}"
                ));
            }
        }
        if let Some(v) = &self.ttl
            && ttl(v).is_none()
        {
            problems.push(format!(
                "expected `ttl` as seconds (0 for no cache) or text like \"10m\", found {v}"
            ));
        }
        if self.max_response_bytes == Some(0) {
            problems.push(
                "expected `max_response_bytes` as a positive number of bytes, found 0".to_owned(),
            );
        }
        if let Some(p) = &self.protocol
            && p != "https"
            && p != "http"
        {
            problems.push(format!(
                "expected `protocol` to be https or http, found {p:?}"
            ));
        } else if let Some(problem) = self.host_problem() {
            problems.push(problem);
        }
        problems
    }
}

impl SnowflakeConfig {
    /// The authenticator: as given, else key pair when a private key is given, else password.
    pub(crate) fn authenticator(&self) -> String {
        match &self.authenticator {
            Some(a) => a.to_ascii_uppercase(),
            None if self.private_key.is_some() || self.private_key_file.is_some() => {
                "SNOWFLAKE_JWT".to_owned()
            }
            None => "SNOWFLAKE".to_owned(),
        }
    }

    /// `protocol://host:port` of the server.
    pub(crate) fn base_url(&self) -> String {
        let protocol = self.protocol.as_deref().unwrap_or("https");
        let host = match (&self.host, &self.account) {
            (Some(h), _) => h.clone(),
            (None, Some(a)) => format!("{a}.snowflakecomputing.com"),
            (None, None) => "localhost".to_owned(),
        };
        let port = self
            .port
            .unwrap_or(if protocol == "http" { 80 } else { 443 });
        format!("{protocol}://{host}:{port}")
    }

    /// Why `host` (or the host made from `account`) is not a plain host name, if it is not:
    /// text such as `evil.example/x?` or `user@evil.example` would change where requests go.
    fn host_problem(&self) -> Option<String> {
        let host = match (&self.host, &self.account) {
            (Some(h), _) => h.clone(),
            (None, Some(a)) => format!("{a}.snowflakecomputing.com"),
            (None, None) => return None,
        };
        let key = if self.host.is_some() {
            "host"
        } else {
            "account"
        };
        let plain = reqwest::Url::parse(&self.base_url()).is_ok_and(|url| {
            url.host_str()
                .is_some_and(|h| h.eq_ignore_ascii_case(&host))
                && url.username().is_empty()
                && url.path() == "/"
                && url.query().is_none()
                && url.fragment().is_none()
        });
        (!plain).then(|| {
            format!(
                "expected `{key}` to make a plain host name (letters, digits, `-` and `.`), \
                 found {host:?}"
            )
        })
    }

    /// The account name sent at login: the part before the first dot.
    pub(crate) fn account_name(&self) -> String {
        let account = self
            .account
            .clone()
            .or_else(|| self.host.clone())
            .unwrap_or_default();
        account
            .split('.')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase()
    }
}

/// The longest duration taken (about 100 years): longer ones mean "no bound" and are capped,
/// so that no deadline computed from them overflows.
const LONGEST: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 24 * 3600);

/// A positive duration from seconds or text like `"30s"`; `None` for anything else.
pub(crate) fn positive_duration(value: &Value) -> Option<std::time::Duration> {
    ttl(value)
        .and_then(dataconn_core::Ttl::duration)
        .filter(|d| !d.is_zero())
        .map(|d| d.min(LONGEST))
}

/// The `ttl` option: seconds (0 for no cache) or text (`"10m"`, `"forever"`).
pub(crate) fn ttl(value: &Value) -> Option<dataconn_core::Ttl> {
    dataconn_core::Ttl::from_toml(value).ok()
}
