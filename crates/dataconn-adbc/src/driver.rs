//! Finding and loading an ADBC driver, and opening its database.
//!
//! A name is searched the way the ADBC driver manager searches (and by it): for each folder in
//! `ADBC_DRIVER_PATH`, the section's `search_paths`, `$XDG_CONFIG_HOME/adbc/drivers` (or
//! `~/.config/adbc/drivers`) and `/etc/adbc/drivers`, a manifest `<name>.toml`, then a library
//! `lib<name>.so`; last, `lib<name>.so` on the system's library path. A short name such as
//! `postgresql` is also tried as `adbc_driver_postgresql`, the name of the Apache Arrow
//! drivers. A path (with a `/` or an extension) is loaded as it is. When nothing is found, the
//! error lists every place searched and how to install a driver.

use std::path::{Path, PathBuf};

use adbc_core::options::{AdbcVersion, OptionDatabase, OptionValue};
use adbc_core::{Driver, LOAD_FLAG_DEFAULT};
use adbc_driver_manager::{ManagedDatabase, ManagedDriver};
use dataconn_core::{Error, ErrorKind, Result};

use crate::error::{adbc_error, is_not_found};

/// Where a connection's driver comes from.
#[derive(Debug, Clone)]
pub(crate) enum DriverSource {
    /// A name or a path, searched as the ADBC driver manager does.
    Named {
        /// The name or path as written.
        name: String,
        /// The init function, when it is not the one the file name implies.
        entrypoint: Option<String>,
        /// More folders to search.
        search_paths: Vec<PathBuf>,
    },
    /// DuckDB compiled into the program.
    #[cfg(feature = "duckdb-bundled")]
    BundledDuckDb,
}

impl DriverSource {
    /// A short description for messages: the name or path, or "DuckDB (compiled in)".
    pub(crate) fn describe(&self) -> String {
        match self {
            DriverSource::Named { name, .. } => name.clone(),
            #[cfg(feature = "duckdb-bundled")]
            DriverSource::BundledDuckDb => "DuckDB (compiled in)".to_owned(),
        }
    }
}

/// Whether `name` is a path rather than a name to search for.
fn is_path(name: &str) -> bool {
    name.contains('/') || name.contains('\\') || Path::new(name).extension().is_some()
}

/// The names to search for: the name, and for a short name the Arrow project's own.
fn candidates(name: &str) -> Vec<String> {
    let mut out = vec![name.to_owned()];
    if !is_path(name) && !name.starts_with("adbc_driver_") {
        out.push(format!("adbc_driver_{name}"));
    }
    out
}

/// The folders the driver manager searches for a name, in its order.
fn search_folders(extra: &[PathBuf]) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::env::var_os("ADBC_DRIVER_PATH")
        .map(|paths| std::env::split_paths(&paths).collect())
        .unwrap_or_default();
    folders.extend(extra.iter().cloned());
    let user = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")));
    folders.extend(user.map(|config| config.join("adbc/drivers")));
    folders.push(PathBuf::from("/etc/adbc/drivers"));
    folders
}

/// Every place a name was looked for, for the error when none held a driver.
fn searched(name: &str, extra: &[PathBuf]) -> Vec<String> {
    let mut out = Vec::new();
    for candidate in candidates(name) {
        for folder in search_folders(extra) {
            out.push(
                folder
                    .join(format!("{candidate}.toml"))
                    .display()
                    .to_string(),
            );
            out.push(
                folder
                    .join(format!("lib{candidate}.so"))
                    .display()
                    .to_string(),
            );
        }
        out.push(format!("lib{candidate}.so on the system library path"));
    }
    out
}

/// Load the driver.
///
/// # Errors
/// [`ErrorKind::NotFound`] listing every place searched and how to install a driver; the
/// driver's own error (status, SQLSTATE, vendor code) when it loads but fails to start.
pub(crate) fn load(source: &DriverSource) -> Result<ManagedDriver> {
    match source {
        DriverSource::Named {
            name,
            entrypoint,
            search_paths,
        } => {
            if is_path(name) && !Path::new(name).exists() {
                return Err(not_found(name, search_paths));
            }
            let entrypoint = entrypoint.as_deref().map(str::as_bytes);
            let mut first_failure = None;
            for candidate in candidates(name) {
                match ManagedDriver::load_from_name(
                    &candidate,
                    entrypoint,
                    AdbcVersion::V110,
                    LOAD_FLAG_DEFAULT,
                    Some(search_paths.clone()),
                ) {
                    Ok(driver) => return Ok(driver),
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => {
                        first_failure.get_or_insert(adbc_error(
                            e,
                            &format!("loading the ADBC driver {candidate}"),
                        ));
                    }
                }
            }
            Err(first_failure.unwrap_or_else(|| not_found(name, search_paths)))
        }
        #[cfg(feature = "duckdb-bundled")]
        DriverSource::BundledDuckDb => crate::duckdb::bundled_driver(),
    }
}

fn not_found(name: &str, extra: &[PathBuf]) -> Error {
    let places = searched(name, extra);
    let install = if is_path(name) {
        "check the path, or give a driver name".to_owned()
    } else {
        format!(
            "install one: `pip install adbc-driver-{short}` ships \
             adbc_driver_{short}/libadbc_driver_{short}.so (give its path as `driver`, or put it \
             in one of the folders above), or `dbc install {short}` writes a manifest into \
             ~/.config/adbc/drivers",
            short = name.trim_start_matches("adbc_driver_")
        )
    };
    Error::new(
        ErrorKind::NotFound,
        format!(
            "expected an ADBC driver `{name}`, found none; searched: {}; {install}",
            places.join(", ")
        ),
    )
}

/// Open the database with its options (a blocking call: it may connect).
///
/// # Errors
/// The driver's refusal of an option or of the database, with its status and SQLSTATE.
pub(crate) fn open_database(
    driver: &mut ManagedDriver,
    options: &[(String, OptionValue)],
    what: &str,
) -> Result<ManagedDatabase> {
    let options = options.iter().map(|(key, value)| {
        let key = match key.as_str() {
            "uri" => OptionDatabase::Uri,
            "username" => OptionDatabase::Username,
            "password" => OptionDatabase::Password,
            other => OptionDatabase::Other(other.to_owned()),
        };
        (key, value.clone())
    });
    driver
        .new_database_with_opts(options)
        .map_err(|e| adbc_error(e, &format!("opening the database of {what}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_driver_lists_every_place_searched_and_how_to_install() {
        let dir = std::env::temp_dir().join("dataconn-no-drivers-here");
        let source = DriverSource::Named {
            name: "nosuchdb".into(),
            entrypoint: None,
            search_paths: vec![dir.clone()],
        };
        let err = load(&source).expect_err("no such driver");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        let msg = err.to_string();
        for needle in [
            format!("{}/nosuchdb.toml", dir.display()),
            format!("{}/libadbc_driver_nosuchdb.so", dir.display()),
            "/etc/adbc/drivers/nosuchdb.toml".to_owned(),
            "libnosuchdb.so on the system library path".to_owned(),
            "pip install adbc-driver-nosuchdb".to_owned(),
        ] {
            assert!(msg.contains(&needle), "{needle}: {msg}");
        }
    }

    #[test]
    fn a_path_is_not_searched_for() {
        assert_eq!(candidates("/opt/x/libdriver.so"), ["/opt/x/libdriver.so"]);
        assert_eq!(
            candidates("postgresql"),
            ["postgresql", "adbc_driver_postgresql"]
        );
        assert_eq!(candidates("adbc_driver_sqlite"), ["adbc_driver_sqlite"]);
    }
}
