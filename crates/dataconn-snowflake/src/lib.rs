#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
//! The Snowflake connector of dataconn: Streamlit's `SnowflakeConnection` without a vendor SDK,
//! over Snowflake's HTTP driver protocol (the one the official connectors speak).
//!
//! ```toml
//! # .streamlit/secrets.toml
//! [connections.snowflake]
//! account = "myorg-myaccount"
//! user = "analyst"
//! password = "${env:SNOWFLAKE_PASSWORD}"
//! warehouse = "COMPUTE_WH"
//! database = "SALES"
//! schema = "PUBLIC"
//! ```
//!
//! Password, key-pair (JWT), OAuth and programmatic-access-token logins; queries whose results
//! come as JSON rowsets or base64 Arrow IPC, decoded into Arrow by Snowflake's logical types;
//! result chunks in parallel; "in progress" replies polled; sessions renewed on expiry and kept
//! alive with heartbeats when asked; typed bindings for `:name` parameters; HTTP 429/5xx
//! retried with backoff; SQL errors with code, SQLSTATE and query id; `query_stream`;
//! `write_table` with array bindings. See `docs/connectors/snowflake.md`.

mod bind;
mod client;
mod config;
mod connection;
mod connections_toml;
mod decode;
mod keypair;
mod write;

use std::sync::Arc;

pub use config::SnowflakeConfig;
pub use connection::{SnowflakeConnection, SnowflakeConnector};
use dataconn_core::Registry;
pub use write::WriteOptions;

/// The connection type of this connector.
pub const TYPE: &str = "snowflake";

/// Register the Snowflake connector.
pub fn register(registry: &Registry) {
    registry.register(Arc::new(SnowflakeConnector));
}

/// Decode the inline result of a raw `query-request` reply's `data` object (its `rowtype` with
/// `rowsetBase64` or `rowset`) the way queries are decoded. For benchmarks and tools that hold
/// a captured reply; chunks are not fetched.
///
/// # Errors
/// A reply that is not a query result, or whose rows do not match its row types.
#[doc(hidden)]
pub fn decode_reply_data(data: serde_json::Value) -> dataconn_core::Result<dataconn_core::Table> {
    let data: client::QueryData = serde_json::from_value(data).map_err(|e| {
        dataconn_core::Error::new(
            dataconn_core::ErrorKind::TypeConversion,
            "expected a query result's data, found another shape",
        )
        .with_source(e)
    })?;
    client::decode_inline(&data)
}
