#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
//! The ADBC and DuckDB connectors of dataconn: any database with an ADBC driver, and DuckDB
//! embedded, with results handed over as Arrow without a copy.
//!
//! ```toml
//! # .streamlit/secrets.toml
//! [connections.warehouse]
//! type = "adbc"
//! driver = "postgresql"              # adbc_driver_postgresql, found as ADBC's manager finds it
//! uri = "postgresql://app:${env:PGPASSWORD}@db.internal:5432/sales"
//!
//! [connections.duck]
//! type = "duckdb"
//! database = "analytics.duckdb"      # or url = "duckdb:///analytics.duckdb", or ":memory:"
//! read_only = true
//! ```
//!
//! # Highlights
//! - `type = "adbc"`: a driver by name (searched as the ADBC driver manager searches: manifests
//!   in `ADBC_DRIVER_PATH`, `~/.config/adbc/drivers`, `/etc/adbc/drivers`, then the system's
//!   library path) or by path; `uri`, `username`, `password`, every `adbc.*` option and a
//!   table of driver-specific `options` passed through; secrets masked.
//! - `type = "duckdb"`: an embedded DuckDB database on a file or in memory, read-only mode,
//!   DuckDB settings (`threads`, `memory_limit`, any other in `settings`). DuckDB is reached
//!   through its own ADBC entry point: loaded from `libduckdb` at run time, or compiled in with
//!   the `duckdb-bundled` feature.
//! - The calls of the SQL connector: cached `query()` with `:name` parameters bound as typed
//!   values, `query_stream`, `execute`, sessions with commit and rollback, `write_table` by
//!   bulk ingest (create, append, replace), `health_check`, `reset`, `close`; a pool of driver
//!   connections sized in config.
//!
//! # Features
//! | feature | enables |
//! |---|---|
//! | `duckdb-bundled` | DuckDB compiled into the program (about half an hour of C++ on two cores) |

mod config;
mod connection;
mod driver;
mod duckdb;
mod error;
mod params;
mod pool;
mod query;
mod session;
mod write;

use std::sync::Arc;

pub use config::AdbcConfig;
pub use connection::{AdbcConnection, AdbcConnector, DuckDbConnection, DuckDbConnector};
use dataconn_core::Registry;
/// What `write_table` does with the target table (core's, shared by every connector).
pub use dataconn_core::WriteMode;
pub use duckdb::DuckDbConfig;
pub use session::Session;

/// The connection type of the ADBC connector.
pub const TYPE: &str = "adbc";

/// The connection type of the DuckDB connector.
pub const DUCKDB_TYPE: &str = "duckdb";

/// Register the ADBC connector (`type = "adbc"`).
pub fn register(registry: &Registry) {
    registry.register(Arc::new(AdbcConnector));
}

/// Register the DuckDB connector (`type = "duckdb"`).
pub fn register_duckdb(registry: &Registry) {
    registry.register(Arc::new(DuckDbConnector));
}
