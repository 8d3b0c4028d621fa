//! MySQL and MariaDB through sqlx's MySQL driver, TLS through rustls.
//!
//! `ssl-mode`, `ssl-ca` and the other URL parameters sqlx knows are read by sqlx from the URL
//! (or from the `query` table); `user` and `password` parameters are honoured as for
//! PostgreSQL, and any other parameter is dropped with a warning that names it but never shows
//! its value. Sessions run in UTC (`time_zone = '+00:00'`), so TIMESTAMP values are
//! instants. A `statement_timeout` sets MariaDB's `max_statement_time` or MySQL's
//! `max_execution_time` on every pooled connection.

mod bind;
mod decode;
mod driver;
mod read;

use std::str::FromStr;
use std::sync::Arc;

use dataconn_core::{Error, Result, Secret};
use sqlx::Executor;
use sqlx::mysql::MySqlConnectOptions;

use crate::settings::Settings;

/// The URL parameters sqlx's MySQL driver reads (`MySqlConnectOptions::parse_from_url`).
fn known_parameter(key: &str) -> bool {
    matches!(
        key,
        "sslmode"
            | "ssl-mode"
            | "sslca"
            | "ssl-ca"
            | "charset"
            | "collation"
            | "sslcert"
            | "ssl-cert"
            | "sslkey"
            | "ssl-key"
            | "statement-cache-capacity"
            | "socket"
            | "timezone"
            | "time-zone"
    )
}

/// Open a pool on `url`, connecting once so that a bad address fails here.
pub(crate) async fn open(
    url: &Secret,
    settings: &Settings,
) -> Result<Arc<dyn crate::driver::Driver>> {
    let statement_timeout = settings.statement_timeout;
    let url = crate::server_url::driver_url(url.expose(), known_parameter, &["user", "password"]);
    for parameter in &url.dropped {
        tracing::warn!(
            %parameter,
            "ignoring a MySQL URL parameter that the driver does not read (value not shown)"
        );
    }
    let mut options = MySqlConnectOptions::from_str(&url.url)
        .map_err(|e| Error::config("expected a valid mysql:// URL").with_source(e))?
        .timezone(Some("+00:00".to_owned()));
    for (key, value) in &url.taken {
        options = match key.as_str() {
            "user" => options.username(value),
            _ => options.password(value),
        };
    }
    let pool = settings
        .pool
        .options::<sqlx::MySql>()
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if let Some(timeout) = statement_timeout {
                    // MariaDB names it max_statement_time (seconds), MySQL max_execution_time (ms).
                    let mariadb =
                        format!("SET SESSION max_statement_time = {}", timeout.as_secs_f64());
                    if conn
                        .execute(crate::driver::safe_sql(mariadb))
                        .await
                        .is_err()
                    {
                        let mysql =
                            format!("SET SESSION max_execution_time = {}", timeout.as_millis());
                        conn.execute(crate::driver::safe_sql(mysql)).await?;
                    }
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(|e| crate::error::connect_error(e, "MySQL"))?;
    Ok(Arc::new(driver::MySqlDriver { pool }))
}
