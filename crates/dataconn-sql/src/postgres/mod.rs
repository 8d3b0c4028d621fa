//! PostgreSQL through sqlx's own driver, TLS through rustls.
//!
//! `sslmode`, `sslrootcert` and the other libpq URL parameters are read by sqlx from the URL
//! (or from the `query` table). A `statement_timeout` from the config is set on every pooled
//! connection.

pub(crate) mod bind;
pub(crate) mod copy;
pub(crate) mod decode;
pub(crate) mod read;

use std::str::FromStr;
use std::time::Duration;

use dataconn_core::{Error, Result, Secret};
use sqlx::postgres::{PgConnectOptions, PgPool};

use crate::config::PoolSettings;

/// Open a pool on `url`, connecting once so that a bad address fails here.
pub(crate) async fn connect(
    url: &Secret,
    pool: &PoolSettings,
    statement_timeout: Option<Duration>,
) -> Result<PgPool> {
    let mut options = PgConnectOptions::from_str(url.expose())
        .map_err(|e| Error::config("expected a valid postgresql:// URL").with_source(e))?
        .application_name("dataconn");
    if let Some(timeout) = statement_timeout {
        options = options.options([("statement_timeout", format!("{}ms", timeout.as_millis()))]);
    }
    crate::pool_options::<sqlx::Postgres>(pool)
        .connect_with(options)
        .await
        .map_err(|e| crate::connect_error(e, "PostgreSQL"))
}
