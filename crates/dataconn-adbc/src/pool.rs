//! A pool of driver connections over one ADBC database.
//!
//! ADBC connections are not meant to be used from two threads at once, and every call into a
//! driver blocks. So each use leases one connection for itself (waiting when all
//! `max_connections` are out) and runs on a blocking thread; the lease goes with the work, so
//! a caller that stops waiting never hands a connection still in use back to the pool. A
//! connection that failed at the transport level, or is left inside a transaction, is closed
//! instead of reused.

use std::sync::{Arc, Mutex, Weak};

use adbc_core::options::{OptionConnection, OptionValue};
use adbc_core::{Database, Optionable};
use adbc_driver_manager::{ManagedConnection, ManagedDatabase};
use dataconn_core::raw::MutexExt;
use dataconn_core::{Error, ErrorKind, Result};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

/// The database and its idle connections.
pub(crate) struct Pool {
    database: Arc<ManagedDatabase>,
    idle: Mutex<Vec<ManagedConnection>>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("idle", &self.idle.lock_unpoisoned().len())
            .field("available", &self.permits.available_permits())
            .finish()
    }
}

impl Pool {
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
        Ok(Pool {
            database,
            idle: Mutex::new(vec![first]),
            permits: Arc::new(Semaphore::new(settings.max_connections)),
        })
    }

    /// Wait for a free connection.
    ///
    /// # Errors
    /// [`ErrorKind::Closed`] once the pool is closed.
    pub(crate) async fn lease(self: &Arc<Self>) -> Result<Lease> {
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| {
            Error::new(
                ErrorKind::Closed,
                "expected an open pool of driver connections, found it closed",
            )
        })?;
        Ok(Lease {
            pool: self.clone(),
            conn: None,
            in_transaction: false,
            broken: false,
            _permit: permit,
        })
    }

    /// Lease a connection and run `work` with it on a blocking thread.
    ///
    /// # Errors
    /// As [`Pool::lease`], and what `work` returns.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut ManagedConnection) -> Result<T> + Send + 'static,
    {
        let mut lease = self.lease().await?;
        // The lease is dropped on the blocking thread too: returning a connection may release
        // a driver connection, which blocks.
        tokio::task::spawn_blocking(move || {
            let out = lease.connection().and_then(work);
            if out.as_ref().is_err_and(Error::is_temporary) {
                lease.discard();
            }
            out
        })
        .await
        .map_err(|e| Error::internal(format!("the driver call did not finish: {e}")))?
    }

    /// Refuse new leases and let idle connections go (leased ones close when returned).
    pub(crate) fn close(&self) {
        self.permits.close();
        self.idle.lock_unpoisoned().clear();
    }
}

/// Run `work` with the lease on a blocking thread; the lease comes back with the result (it
/// returns to the pool when dropped).
///
/// # Errors
/// [`ErrorKind::Internal`] when the blocking thread panicked (the lease is then dropped).
pub(crate) async fn on_blocking_thread<T, F>(
    mut lease: Lease,
    work: F,
) -> Result<(Lease, Result<T>)>
where
    T: Send + 'static,
    F: FnOnce(&mut Lease) -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let out = work(&mut lease);
        // A transport failure leaves the connection unusable; a refused statement does not.
        if out.as_ref().is_err_and(Error::is_temporary) {
            lease.discard();
        }
        (lease, out)
    })
    .await
    .map_err(|e| Error::internal(format!("the driver call did not finish: {e}")))
}

/// One connection of the pool, for one use.
pub(crate) struct Lease {
    pool: Arc<Pool>,
    conn: Option<ManagedConnection>,
    in_transaction: bool,
    broken: bool,
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    /// The connection: an idle one, or a new one. Blocking.
    ///
    /// # Errors
    /// The driver's refusal of a new connection.
    pub(crate) fn connection(&mut self) -> Result<&mut ManagedConnection> {
        if self.conn.is_none() {
            let idle = self.pool.idle.lock_unpoisoned().pop();
            let conn = match idle {
                Some(conn) => conn,
                None => self
                    .pool
                    .database
                    .new_connection()
                    .map_err(|e| adbc_error(e, "opening a driver connection"))?,
            };
            self.conn = Some(conn);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| Error::internal("a lease without its connection"))
    }

    /// Close the connection instead of reusing it (a result left unread, a broken link).
    pub(crate) fn discard(&mut self) {
        self.broken = true;
    }

    /// Turn autocommit off (a transaction starts) or back on. Blocking.
    ///
    /// # Errors
    /// The driver's refusal (a driver without transactions says NotImplemented).
    pub(crate) fn set_autocommit(&mut self, on: bool) -> Result<()> {
        let conn = self.connection()?;
        conn.set_option(
            OptionConnection::AutoCommit,
            OptionValue::String(on.to_string()),
        )
        .map_err(|e| adbc_error(e, "switching autocommit"))?;
        self.in_transaction = !on;
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && !self.broken
            && !self.in_transaction
        {
            self.pool.idle.lock_unpoisoned().push(conn);
        }
    }
}
