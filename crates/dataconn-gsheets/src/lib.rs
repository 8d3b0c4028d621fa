#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
//! The Google Sheets connector of dataconn: Streamlit's `GSheetsConnection`
//! (st-gsheets-connection) in Rust, worksheets read as Arrow tables.
//!
//! ```toml
//! # .streamlit/secrets.toml
//! [connections.gsheets]
//! spreadsheet = "https://docs.google.com/spreadsheets/d/1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms/edit#gid=0"
//! ```
//!
//! Public sheets are read through the CSV export URL (no credentials); with a service account
//! the Sheets v4 REST API reads and writes (`update`, `append`, `clear`, `create`). Every HTTP
//! call has a total timeout (`request_timeout`) and a cap on its reply (`max_response_bytes`).
//! Reads take a header row, `usecols`, `nrows`, `skiprows` and a render option, infer a type
//! per column and are cached (one hour by default). `query(sql)` (cargo feature `query`) runs
//! SQL over worksheets on the embedded engine (`select * from "Orders" where qty > :min`).
//! See `docs/connectors/gsheets.md`.

mod auth;
mod config;
mod connection;
mod http;
mod infer;
mod public;
mod query;
mod read;
mod service;
mod spreadsheet;
mod write;

use std::sync::Arc;

pub use config::GSheetsConfig;
pub use connection::{GSheetsConnection, GSheetsConnector};
use dataconn_core::Registry;
pub use read::{ReadRequest, Render, UseCols};
pub use spreadsheet::{SpreadsheetRef, WorksheetRef};

/// The connection type of this connector.
pub const TYPE: &str = "gsheets";

/// Register the Google Sheets connector.
pub fn register(registry: &Registry) {
    registry.register(Arc::new(GSheetsConnector));
}
