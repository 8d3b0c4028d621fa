#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
//! Streamlit's `st.connection` for Rust.
//!
//! Name a data source once in `.streamlit/secrets.toml` (the same file a Streamlit app
//! reads), get a pooled, shared, thread-safe connection to it with one call, and get query
//! results back as Apache Arrow, cached with a TTL. `:name` parameters work on every backend.
//!
//! ```toml
//! # .streamlit/secrets.toml
//! [connections.pets_db]
//! url = "sqlite:///pets.db"
//! ```
//!
//! ```no_run
//! use dataconn::{SqlConnection, params};
//!
//! # async fn demo() -> dataconn::Result<()> {
//! let conn = dataconn::connection::<SqlConnection>("pets_db").await?;
//! let mut s = conn.session().await?;
//! s.execute("CREATE TABLE IF NOT EXISTS pet_owners (person TEXT, pet TEXT)", params! {}).await?;
//! s.execute("INSERT INTO pet_owners VALUES (:owner, :pet)", params! { owner: "jerry", pet: "fish" }).await?;
//! s.commit().await?;
//! let df = conn.query("select * from pet_owners").ttl("10m").await?;
//! println!("{df}");
//! # Ok(()) }
//! ```
//!
//! # Where things are
//! - [`connection`] and [`connect`] use a process-wide [`Connections`] hub built from
//!   [`default_registry`] and Streamlit's secrets locations; build your own hub with
//!   [`Connections::builder`] for other files, a shared cache, or your own connectors.
//! - [`blocking`] has the same calls for synchronous programs.
//! - [`raw`] is for connector authors: the base every connection holds, the [`raw::Connector`]
//!   trait, typed configs, cache scopes and the parameter rewriter.
//! - Connector crates: [`sql`] (SQLite, PostgreSQL, MySQL), [`files`] (local, memory, S3,
//!   GCS, Azure, HTTP; CSV, Parquet, JSON, Arrow).
//!
//! # Features
//! | feature | enables |
//! |---|---|
//! | `sqlite` (default) | the SQL connector with bundled SQLite |
//! | `sql` | the same as `sqlite` |
//! | `postgres` | the SQL connector with PostgreSQL (TLS through rustls) |
//! | `mysql` | the SQL connector with MySQL and MariaDB (TLS through rustls) |
//! | `files` | the files connector: local files, memory, HTTP(S) |
//! | `s3`, `gcs`, `azure` | the files connector on S3, Google Cloud Storage, Azure Blob Storage |
//! | `snowflake` | the Snowflake connector |
//! | `gsheets` | the Google Sheets connector |
//! | `redis` | a Redis (or Valkey) tier for the query cache, shared by every replica |
//! | `adbc` | any database with an ADBC driver (PostgreSQL, SQLite, Flight SQL, Snowflake, BigQuery...) |
//! | `duckdb` | DuckDB embedded, through its own library loaded at run time |
//! | `duckdb-bundled` | DuckDB compiled in (nothing to install; about half an hour more of build) |
//! | `odbc` | any database with an ODBC driver (SQL Server, Oracle, Db2...); needs unixODBC |
//! | `query` | `query(sql)` over files and worksheets, on the embedded engine (Apache DataFusion) |

pub mod blocking;
mod cache_config;
mod first_party;

pub use cache_config::cache_from;

use std::sync::{Arc, Mutex};

use dataconn_core::raw::MutexExt;

pub use dataconn_core::{
    CacheLimit, CacheStats, ChosenSource, ConnectRequest, Connection, ConnectionConfig,
    Connections, ConnectionsBuilder, Error, ErrorKind, IntoTtl, OptionValue, Options, Params,
    Query, QueryCache, QueryExt, QueryRequest, ReadTable, Registry, Result, RetryPolicy, Secret,
    Secrets, SecretsSource, Table, Ttl, TypedConnection, Value, WriteMode, downcast,
    parameter_names, params, streamlit_sources,
};

/// The author's kit: what a connector is built from (see `docs/writing-a-connector.md`).
pub use dataconn_core::raw;

/// The crates whose types appear in dataconn's API (Arrow, TOML).
pub use dataconn_core::reexports;

/// The SQL connector: SQLite, PostgreSQL, MySQL/MariaDB.
#[cfg(feature = "_sql")]
pub mod sql {
    pub use dataconn_sql::*;
}

#[cfg(feature = "_sql")]
pub use dataconn_sql::{Isolation, Session, SqlConnection};

/// The files connector: local files, memory, S3, GCS, Azure, HTTP.
#[cfg(feature = "files")]
pub mod files {
    pub use dataconn_files::*;
}

#[cfg(feature = "files")]
pub use dataconn_files::{FilesConnection, Format};

/// The Snowflake connector.
#[cfg(feature = "snowflake")]
pub mod snowflake {
    pub use dataconn_snowflake::*;
}

/// The Google Sheets connector.
#[cfg(feature = "gsheets")]
pub mod gsheets {
    pub use dataconn_gsheets::*;
}

/// The ADBC and DuckDB connectors.
#[cfg(any(feature = "adbc", feature = "duckdb"))]
pub mod adbc {
    pub use dataconn_adbc::*;
}

#[cfg(feature = "adbc")]
pub use dataconn_adbc::AdbcConnection;
#[cfg(feature = "duckdb")]
pub use dataconn_adbc::DuckDbConnection;

/// The ODBC connector.
#[cfg(feature = "odbc")]
pub mod odbc {
    pub use dataconn_odbc::*;
}

#[cfg(feature = "odbc")]
pub use dataconn_odbc::OdbcConnection;

/// The Redis tier of the query cache.
#[cfg(feature = "redis")]
pub mod redis {
    pub use dataconn_redis::*;
}

/// A registry holding every connector this build's features enable; asking for one they
/// leave out names the feature to enable.
pub fn default_registry() -> Registry {
    let registry = Registry::new();
    for (connector, enabled) in first_party::FIRST_PARTY {
        if !enabled {
            registry.register_disabled(*connector);
        }
    }
    #[cfg(feature = "_sql")]
    dataconn_sql::register(&registry);
    #[cfg(feature = "files")]
    dataconn_files::register(&registry);
    #[cfg(feature = "snowflake")]
    dataconn_snowflake::register(&registry);
    #[cfg(feature = "gsheets")]
    dataconn_gsheets::register(&registry);
    #[cfg(feature = "adbc")]
    dataconn_adbc::register(&registry);
    #[cfg(feature = "duckdb")]
    dataconn_adbc::register_duckdb(&registry);
    #[cfg(feature = "odbc")]
    dataconn_odbc::register(&registry);
    registry
}

static DEFAULT: Mutex<Option<Connections>> = Mutex::new(None);

/// The process-wide hub: [`default_registry`], Streamlit's secrets locations
/// (`~/.streamlit/secrets.toml`, then `./.streamlit/secrets.toml`), files watched, and the
/// query cache their `[cache]` section describes (see [`cache_from`]).
///
/// Built on first use; a secrets file that does not parse fails that use, and the next use
/// tries again. Its connections and watcher live on the tokio runtime of that first use, so
/// use one runtime for the life of the program (or the [`blocking`] module, which has its
/// own).
///
/// # Errors
/// [`ErrorKind::SecretsParse`] when a secrets file does not parse.
pub fn connections() -> Result<Connections> {
    let mut slot = DEFAULT.lock_unpoisoned();
    if let Some(hub) = slot.as_ref() {
        return Ok(hub.clone());
    }
    let hub = Connections::builder()
        .registry(default_registry())
        .cache_from_secrets(cache_from)
        .watch(true)
        .build()?;
    *slot = Some(hub.clone());
    Ok(hub)
}

/// Open the named connection as the concrete type `T`, from the process-wide hub.
///
/// # Errors
/// No secrets found, no `[connections.<name>]` section, an unknown type, invalid options, or a
/// failed connect; each names the file and line or the key involved.
pub async fn connection<T: TypedConnection>(name: &str) -> Result<Arc<T>> {
    connections()?.connection::<T>(name).await
}

/// Open the named connection, whatever its type, from the process-wide hub.
///
/// # Errors
/// As [`connection`].
pub async fn connect(name: &str) -> Result<Arc<dyn Connection>> {
    connections()?.connect(name).await
}
