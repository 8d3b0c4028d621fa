//! The process's ODBC environment, connecting through it, and the pool of ODBC connections a
//! dataconn connection holds (core's [`BlockingPool`]: every ODBC call blocks).

use arrow_odbc::odbc_api;
use std::sync::Arc;

use dataconn_core::raw::BlockingPool;
use dataconn_core::{Error, ErrorKind, Result};
use odbc_api::{Connection, ConnectionOptions, Environment};

use crate::config::Settings;
use crate::error::{odbc_error, sqlstate};
use crate::query::Run;

/// An ODBC connection that lives as long as the process's environment.
pub(crate) type OdbcHandle = Connection<'static>;

/// One leased ODBC connection.
pub(crate) type Lease = dataconn_core::raw::Lease<OdbcHandle>;

/// The process's one ODBC environment (unixODBC's driver manager), made on first use.
fn environment() -> Result<&'static Environment> {
    odbc_api::environment().map_err(|e| {
        odbc_error(e, "starting the ODBC driver manager").with_context(
            "hint",
            "install unixODBC (Debian: apt-get install unixodbc) and a driver",
        )
    })
}

/// The drivers and data sources the driver manager knows, for a message.
fn known_drivers(env: &Environment) -> String {
    let drivers: Vec<String> = env
        .drivers()
        .map(|d| d.into_iter().map(|d| d.description).collect())
        .unwrap_or_default();
    let sources: Vec<String> = env
        .data_sources()
        .map(|d| d.into_iter().map(|d| d.server_name).collect())
        .unwrap_or_default();
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    };
    format!(
        "drivers unixODBC knows: {}; data sources: {} (`odbcinst -q -d` and `odbcinst -q -s` \
         list them; Debian's odbc-postgresql, odbc-mariadb and libsqliteodbc packages, or a \
         vendor's driver, add more)",
        list(&drivers),
        list(&sources)
    )
}

/// Open one ODBC connection with the settings' connection string. Blocking.
///
/// # Errors
/// [`ErrorKind::Connect`] naming the server and user (never the password) with the driver's
/// SQLSTATE; for a driver or data source the driver manager does not know, the ones it does.
pub(crate) fn connect(settings: &Settings) -> Result<OdbcHandle> {
    let env = environment()?;
    let options = ConnectionOptions {
        login_timeout_sec: settings.login_timeout,
        ..ConnectionOptions::default()
    };
    // A closing `;`: MariaDB Connector/ODBC 3.1 reads the last attribute's value past its end
    // without one (seen here as `Access denied for user 'root\007Fo'`).
    let mut text = settings.target.text.clone();
    if !text.ends_with(';') {
        text.push(';');
    }
    env.connect_with_connection_string(&text, options)
        .map_err(|e| {
            let unknown_driver =
                sqlstate(&e) == Some("IM002") || e.to_string().contains("Can't open lib");
            let mut err = odbc_error(e, &format!("connecting to {}", settings.target.describe()));
            if unknown_driver {
                err = Error::new(
                    ErrorKind::Connect,
                    format!(
                        "{}; expected a driver or data source the driver manager knows, {}",
                        err.message(),
                        known_drivers(env)
                    ),
                )
                .with_context("sqlstate", "IM002");
            }
            err
        })
}

/// The connections of one dataconn connection, and what the database calls itself.
#[derive(Debug)]
pub(crate) struct Pool {
    /// The connections.
    pub(crate) connections: Arc<BlockingPool<OdbcHandle>>,
    /// How statements run on them: worked out once, from the settings and the database's
    /// name as its driver reports it (`PostgreSQL`, `Microsoft SQL Server`).
    pub(crate) run: Run,
}

impl Pool {
    /// Connect once (so that a bad driver, server or password fails here) and keep that
    /// connection as the first of the pool. Blocking.
    ///
    /// # Errors
    /// As [`connect`].
    pub(crate) fn open(settings: Arc<Settings>) -> Result<Pool> {
        let first = connect(&settings)?;
        let dbms = first.database_management_system_name().unwrap_or_default();
        let run = Run::new(&settings, &dbms);
        let max = settings.max_connections;
        let connections = BlockingPool::new(max, Some(first), move || connect(&settings));
        Ok(Pool {
            connections: Arc::new(connections),
            run,
        })
    }

    /// Refuse new leases and close idle connections.
    pub(crate) fn close(&self) {
        self.connections.close();
    }
}
