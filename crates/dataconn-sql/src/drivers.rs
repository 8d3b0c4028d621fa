//! The drivers in this build: the one place where an address picks its driver.
//!
//! A new backend is a folder that implements [`crate::driver::Driver`] with an `open`
//! function, a line here, and a variant of the public [`crate::Pool`].

use std::sync::Arc;

use dataconn_core::{Error, ErrorKind, Result};

use crate::address::Address;
use crate::driver::Driver;
use crate::settings::Settings;

/// Open a pool for `settings`' address with the driver it names.
///
/// # Errors
/// [`ErrorKind::FeatureDisabled`] naming the cargo feature when that driver is not in this
/// build; the driver's connect error otherwise.
pub(crate) async fn open(settings: &Settings) -> Result<Arc<dyn Driver>> {
    match &settings.address {
        #[cfg(feature = "sqlite")]
        Address::Sqlite { path, read_only } => {
            crate::sqlite::open(path.as_deref(), *read_only, settings).await
        }
        #[cfg(feature = "postgres")]
        Address::Postgres(url) => crate::postgres::open(url, settings).await,
        #[cfg(feature = "mysql")]
        Address::MySql(url) => crate::mysql::open(url, settings).await,
        #[allow(unreachable_patterns)]
        other => Err(Error::new(
            ErrorKind::FeatureDisabled,
            format!(
                "the {} driver is not in this build; enable the dataconn cargo feature `{}`",
                other.dialect_name(),
                other.feature()
            ),
        )),
    }
}
