#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
//! The core of dataconn: what every connector builds on.
//!
//! dataconn brings Streamlit's `st.connection` to Rust. A data source is named once in a
//! `secrets.toml` (the same file a Streamlit app reads); one call gives a pooled, shared,
//! thread-safe connection to it; queries come back as Apache Arrow, cached with a TTL; named
//! `:param` parameters work on every backend.
//!
//! Most programs use the `dataconn` facade crate. This crate is for connector authors and for
//! programs that want to assemble the parts themselves.
//!
//! # The parts
//!
//! | part | what it does |
//! |---|---|
//! | [`Secrets`] | loads `~/.streamlit/secrets.toml` and `./.streamlit/secrets.toml` (or given files and Kubernetes secret folders), merges them deeply, expands `${env:VAR}`, remembers each key's file and line |
//! | [`Registry`] | the factory of [`Connector`]s keyed by `type` (case-insensitive, with aliases and URL schemes) |
//! | [`Connections`] | the hub: a name in, a shared `Arc<dyn Connection>` out; keyed by name, type and config fingerprint; watches the secrets files |
//! | [`ConnectionConfig`] | one connection's merged options; [`ConnectionConfig::parse`] turns them into a connector's typed config, reporting every problem at once |
//! | [`Connection`], [`Query`], [`QueryExt`] | what a connection is, and the cached `query(sql).param(..).ttl(..)` every SQL-like connection gets |
//! | [`Table`] | a result: an Arrow schema and shared record batches; prints as a table |
//! | [`QueryCache`] | results cached on moka with per-entry TTL, coalesced misses, no cached errors, invalidation on writes |
//! | [`rewrite`] | `:name` parameters to each driver's placeholders, by a SQL-aware lexer |
//! | [`Error`] | one error type with a stable kebab-case id per kind; secrets never appear in it |
//!
//! # Writing a connector
//!
//! Everything an author needs is in [`raw`], kept apart from what apps use: implement
//! [`raw::Connector`] (parse the options with [`ConnectionConfig::parse`], connect eagerly)
//! and [`Connection`] on a struct holding a [`raw::ConnectionBase`] (plus [`raw::Query`] if it
//! answers SQL); export a `TYPE` constant and a `register(&Registry)` function. Run the
//! `dataconn-testkit` suite against it. The repository's `docs/writing-a-connector.md` walks
//! through one.

mod base;
mod blocking_pool;
mod cache;
mod config;
mod connection;
mod error;
mod fields;
mod hub;
pub mod ipc;
mod lock;
mod opened;
mod params;
mod problems;
mod read_only;
mod redact;
mod registry;
mod retry;
mod secrets;
mod shared;
mod shared_load;
mod sql_scan;
mod streamlit_config;
mod table;
mod ttl;
mod url_check;
mod write_mode;

pub use cache::{CacheKey, CacheLimit, CacheScope, CacheStats, QueryCache};
pub use config::{ConnectionConfig, ConnectorConfig, OptionValue, Options, closest, public_scope};
pub use connection::{
    ConnectContext, Connection, Connector, Query, QueryExt, QueryRequest, ReadTable,
    TypedConnection, downcast, sql_fingerprint,
};
pub use error::{Error, ErrorKind, Result};
pub use hub::{ConnectRequest, Connections, ConnectionsBuilder};
pub use params::{Dialect, Params, Rewritten, Value, parameter_names, parse_decimal, rewrite};
pub use redact::{is_secret_key, mask_url, url_secrets};
pub use registry::{DisabledConnector, Registry};
pub use retry::RetryPolicy;
pub use secrets::{Origin, Secret, Secrets, SecretsSource, merge};
pub use shared::{GenerationBump, SharedTier};
pub use streamlit_config::{ChosenSource, streamlit_sources};
pub use table::Table;
pub use ttl::{IntoTtl, Ttl};
pub use url_check::{http_url, url_for_messages};
pub use write_mode::WriteMode;

/// The author's kit: what a connector is built from, kept apart from what apps use.
///
/// A connection holds a [`ConnectionBase`](raw::ConnectionBase) (name, type, cache scope,
/// secret masks, closed flag and its own state) and returns it from
/// [`Connection::base`]; the base gives `check_open`, masked errors, state access,
/// reconfigure with a new cache scope, close and clear_cache, so a connector writes only what
/// is about its source.
pub mod raw {
    pub use crate::base::{Base, ConnectionBase, MaskRule};
    pub use crate::blocking_pool::{BlockingPool, Lease, on_blocking_thread};
    pub use crate::cache::{CacheKey, CacheScope};
    pub use crate::config::{ConnectionConfig, ConnectorConfig, closest, public_scope};
    pub use crate::connection::{
        ConnectContext, Connector, Query, ReadTable, TypedConnection, connector, sql_fingerprint,
    };
    pub use crate::ipc;
    pub use crate::lock::{LockExt, MutexExt};
    pub use crate::opened::Opened;
    pub use crate::params::{Dialect, Rewritten, decimal_text, parse_decimal, rewrite};
    pub use crate::problems::Problems;
    pub use crate::read_only::{ensure_no_transaction_control, ensure_read};
    pub use crate::redact::{is_secret_key, mask_url, url_secrets};
    pub use crate::shared::{GenerationBump, SharedTier};
    pub use crate::url_check::{http_url, url_for_messages};
    pub use async_trait::async_trait;
}

/// Re-exports of the crates whose types appear in dataconn's API.
pub mod reexports {
    pub use arrow;
    pub use async_trait::async_trait;
    pub use toml;
    pub use url;
}
