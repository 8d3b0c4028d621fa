//! PostgreSQL through sqlx's own driver, TLS through rustls.
//!
//! `sslmode`, `sslrootcert` and the other URL parameters sqlx knows are read by sqlx from the
//! URL (or from the `query` table); any other parameter is dropped with a warning that names it
//! but never shows its value. A `statement_timeout` from the config is set on every pooled
//! connection.

mod bind;
mod copy;
mod decode;
mod driver;
mod read;

use std::str::FromStr;
use std::sync::Arc;

use dataconn_core::{Error, Result, Secret};
use sqlx::postgres::PgConnectOptions;

use crate::settings::Settings;

/// The URL parameters sqlx's PostgreSQL driver reads (`PgConnectOptions::parse_from_url`).
fn known_parameter(key: &str) -> bool {
    matches!(
        key,
        "sslmode"
            | "ssl-mode"
            | "sslrootcert"
            | "ssl-root-cert"
            | "ssl-ca"
            | "sslcert"
            | "ssl-cert"
            | "sslkey"
            | "ssl-key"
            | "statement-cache-capacity"
            | "host"
            | "hostaddr"
            | "port"
            | "dbname"
            | "user"
            | "password"
            | "application_name"
            | "options"
    ) || (key.starts_with("options[") && key.ends_with(']'))
}

/// Open a pool on `url`, connecting once so that a bad address fails here.
pub(crate) async fn open(
    url: &Secret,
    settings: &Settings,
) -> Result<Arc<dyn crate::driver::Driver>> {
    let url = crate::server_url::driver_url(url.expose(), known_parameter, &[]);
    for parameter in &url.dropped {
        tracing::warn!(
            %parameter,
            "ignoring a PostgreSQL URL parameter that the driver does not read (value not shown)"
        );
    }
    let mut options = PgConnectOptions::from_str(&url.url)
        .map_err(|e| Error::config("expected a valid postgresql:// URL").with_source(e))?
        .application_name("dataconn");
    if let Some(timeout) = settings.statement_timeout {
        options = options.options([("statement_timeout", format!("{}ms", timeout.as_millis()))]);
    }
    let pool = settings
        .pool
        .options::<sqlx::Postgres>()
        .connect_with(options)
        .await
        .map_err(|e| crate::error::connect_error(e, "PostgreSQL"))?;
    Ok(Arc::new(driver::PgDriver {
        pool,
        use_copy: settings.use_copy,
    }))
}
