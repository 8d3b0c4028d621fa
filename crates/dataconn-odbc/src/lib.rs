#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
//! The ODBC connector of dataconn: SQL Server, Oracle, Db2, Databricks, Snowflake and every
//! database with an ODBC driver, read into Arrow in column batches by arrow-odbc.
//!
//! ```toml
//! # .streamlit/secrets.toml
//! [connections.warehouse]
//! type = "odbc"
//! driver = "ODBC Driver 18 for SQL Server"
//! host = "sql.internal"
//! port = 1433
//! database = "sales"
//! username = "app"
//! password = "${env:MSSQL_PASSWORD}"
//! options = { Encrypt = "yes" }
//!
//! # Streamlit's own SQL Server section works unchanged:
//! [connections.mssql]
//! dialect = "mssql"
//! driver = "pyodbc"
//! host = "sql.internal"
//! port = 1433
//! database = "sales"
//! username = "app"
//! password = "..."
//! query = { driver = "ODBC Driver 18 for SQL Server", encrypt = "yes" }
//! ```
//!
//! # Highlights
//! - A connection string given whole (`connection_string`), a `dsn`, a `driver` with the usual
//!   parts, or Streamlit's `url` / `dialect` keys assembled as SQLAlchemy's pyodbc dialect
//!   assembles them; every value escaped; passwords masked wherever they appear.
//! - The calls of the SQL connector: cached `query()` with `:name` parameters bound as typed
//!   ODBC parameters, `query_stream`, `execute`, sessions with commit and rollback,
//!   `write_table` by arrow-odbc's bulk inserter (create, append, replace), `health_check`,
//!   `reset`, `close`; a pool of ODBC connections sized in config; login and query timeouts.
//! - Fetch buffers bounded in config (`batch_size`, `max_batch_bytes`, `max_text_size`): a
//!   value longer than its buffer is an error naming the column, never cut.
//!
//! Needs unixODBC's `libodbc` at build and run time (Debian: `unixodbc-dev`), and a driver for
//! each database (`odbc-postgresql`, `odbc-mariadb`, `libsqliteodbc`, or a vendor's).

mod config;
mod connection;
mod connection_string;
mod decimal;
mod error;
mod params;
mod pool;
mod query;
mod session;
mod write;

use std::sync::Arc;

pub use config::OdbcConfig;
pub use connection::{OdbcConnection, OdbcConnector};
/// What `write_table` does with the target table (core's, shared by every connector).
pub use dataconn_core::WriteMode;
use dataconn_core::{ConnectionConfig, Registry, Result, Secret};
pub use session::Session;

/// The connection type of the ODBC connector.
pub const TYPE: &str = "odbc";

/// The ODBC connection string a `type = "odbc"` section describes, exactly as it is sent to
/// the driver manager (a [`Secret`]: it holds the password). Shows how Streamlit's `url` and
/// `dialect` keys map, without connecting.
///
/// ```
/// # use dataconn_core::ConnectionConfig;
/// let section = toml::from_str(r#"
///     dialect = "mssql"
///     driver = "pyodbc"
///     host = "sql.internal"
///     port = 1433
///     database = "sales"
///     username = "app"
///     password = "pw"
///     query = { driver = "ODBC Driver 18 for SQL Server", encrypt = "yes" }
/// "#)?;
/// let config = ConnectionConfig::new("mssql", "odbc", section);
/// assert_eq!(
///     dataconn_odbc::connection_string(&config)?.expose(),
///     "DRIVER={ODBC Driver 18 for SQL Server};Server=sql.internal,1433;Database=sales;UID=app;PWD=pw;encrypt=yes",
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`dataconn_core::ErrorKind::Config`] naming every problem of the section.
pub fn connection_string(config: &ConnectionConfig) -> Result<Secret> {
    config::Settings::from_config(config).map(|s| Secret::new(s.target.text.clone()))
}

/// Register the ODBC connector (`type = "odbc"`).
pub fn register(registry: &Registry) {
    registry.register(Arc::new(OdbcConnector));
}
