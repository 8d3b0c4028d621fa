//! [`Settings`]: everything a connection derives from its options, parsed once per connect or
//! reconfigure.

use std::time::Duration;

use dataconn_core::{ConnectionConfig, Result, RetryPolicy, Ttl};

use crate::address::Address;
use crate::config::{PoolSettings, SqlConfig};

/// What one config says, after defaults. Its `Debug` shows no secret (a server URL prints as
/// masked).
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) address: Address,
    pub(crate) pool: PoolSettings,
    pub(crate) ttl: Ttl,
    pub(crate) batch_rows: usize,
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    pub(crate) statement_timeout: Option<Duration>,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) use_copy: bool,
    pub(crate) retry: RetryPolicy,
}

impl Settings {
    /// Parse `config`; an address error names the connection and masks its secrets.
    pub(crate) fn from_config(config: &ConnectionConfig) -> Result<Settings> {
        let parsed: SqlConfig = config.parse()?;
        let address = Address::from_config(&parsed).map_err(|e| {
            e.with_connection(config.name(), crate::TYPE)
                .scrub(&config.sensitive_values())
        })?;
        Ok(Settings {
            address,
            pool: parsed.pool_settings(),
            ttl: parsed.default_ttl(),
            batch_rows: parsed.batch_rows(),
            statement_timeout: parsed.statement_timeout(),
            use_copy: parsed.copy.unwrap_or(true),
            retry: parsed.retry_policy(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_debug_shows_no_secret() {
        let options: toml::Table =
            toml::from_str("url = \"postgresql://u:hunter2-secret@h/db\"").unwrap();
        let config = ConnectionConfig::new("c", "sql", options);
        assert!(!config.sensitive_values().is_empty());
        let settings = Settings::from_config(&config).unwrap();
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("masked"), "{shown}");
    }
}
