//! A pool of driver connections over one ADBC database (core's [`BlockingPool`]: every call
//! into a driver blocks), and the databases shared within the process.

use std::sync::{Arc, Mutex, Weak};

use adbc_core::options::{OptionConnection, OptionValue};
use adbc_core::{Database, Optionable};
use adbc_driver_manager::{ManagedConnection, ManagedDatabase};
use dataconn_core::raw::{BlockingPool, MutexExt};
use dataconn_core::{Error, ErrorKind, Result};

use crate::config::Settings;
use crate::driver;
use crate::error::adbc_error;

/// Databases shared within the process, by their share key: the options they were opened with
/// and the database while any pool holds it.
type Shared = Vec<(String, String, Weak<ManagedDatabase>)>;
static SHARED: Mutex<Shared> = Mutex::new(Vec::new());

/// The database for `settings`: the one this process already has open under the same share
/// key, or a new one.
fn database(settings: &Settings, what: &str) -> Result<Arc<ManagedDatabase>> {
    let Some(key) = &settings.share_key else {
        let mut driver = driver::load(&settings.driver)?;
        return driver::open_database(&mut driver, &settings.database_options, what).map(Arc::new);
    };
    let options = format!("{:?}", settings.database_options);
    let mut shared = SHARED.lock_unpoisoned();
    shared.retain(|(_, _, db)| db.strong_count() > 0);
    if let Some((_, open_with, db)) = shared.iter().find(|(k, _, _)| k == key)
        && let Some(db) = db.upgrade()
    {
        if *open_with == options {
            return Ok(db);
        }
        return Err(Error::new(
            ErrorKind::Connect,
            format!(
                "expected {key} to be opened with one set of settings in this process, found it \
                 open already with others (by another connection): DuckDB opens a file once \
                 per process, so give every connection to it the same settings, or close the \
                 other first"
            ),
        ));
    }
    let mut driver = driver::load(&settings.driver)?;
    let db = Arc::new(driver::open_database(
        &mut driver,
        &settings.database_options,
        what,
    )?);
    shared.push((key.clone(), options, Arc::downgrade(&db)));
    Ok(db)
}

/// The pool of driver connections over one database.
pub(crate) type Pool = BlockingPool<ManagedConnection>;

/// One leased driver connection.
pub(crate) type Lease = dataconn_core::raw::Lease<ManagedConnection>;

/// Load the driver, open the database and one connection, so that a bad driver, URI or
/// password fails here. Blocking: call it on a blocking thread.
///
/// # Errors
/// The driver not found (with every place searched), or the driver's refusal.
pub(crate) fn open(settings: &Settings) -> Result<Pool> {
    let what = settings.driver.describe();
    let database = database(settings, &what)?;
    let first = database
        .new_connection()
        .map_err(|e| adbc_error(e, &format!("connecting through {what}")))?;
    // The pool holds the database for as long as it may open connections to it.
    Ok(BlockingPool::new(
        settings.max_connections,
        Some(first),
        move || {
            database
                .new_connection()
                .map_err(|e| adbc_error(e, "opening a driver connection"))
        },
    ))
}

/// Turn autocommit off (a transaction starts) or back on. Blocking.
///
/// # Errors
/// The driver's refusal (a driver without transactions says NotImplemented).
pub(crate) fn set_autocommit(lease: &mut Lease, on: bool) -> Result<()> {
    lease
        .connection()?
        .set_option(
            OptionConnection::AutoCommit,
            OptionValue::String(on.to_string()),
        )
        .map_err(|e| adbc_error(e, "switching autocommit"))?;
    lease.set_in_transaction(!on);
    Ok(())
}
