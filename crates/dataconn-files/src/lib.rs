#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
//! The files connector of dataconn: Streamlit's `st-files-connection`, in Rust, done right.
//!
//! ```toml
//! # .streamlit/secrets.toml
//! [connections.lake]
//! type = "files"
//! root = "s3://my-bucket/data"
//! key = "${env:AWS_ACCESS_KEY_ID}"
//! secret = "${env:AWS_SECRET_ACCESS_KEY}"
//! client_kwargs = { region_name = "eu-west-1" }
//! ```
//!
//! # Highlights
//! - One connection type for the local filesystem, memory, S3, GCS, Azure and HTTP, on
//!   object_store; credentials as fsspec users write them, or object_store's own keys, or the
//!   environment.
//! - `read(path)` into a cached Arrow [`dataconn_core::Table`]: CSV, TSV, Parquet, JSON, JSON
//!   Lines and Arrow IPC, `.gz`/`.zst` for the text formats; globs stack many files into one
//!   table. Parquet is read with ranged requests, only the columns asked for.
//! - The cache key holds each object's ETag: a changed file is never served stale.
//! - `write`, `put_bytes`, `delete`, `exists`, `list`, `open`, `read_text`, `read_bytes`; a write
//!   drops cached reads and never leaves a partial object.
//! - `query(sql)` (feature `query`): SQL over the files on the embedded engine (DataFusion):
//!   `select vendor, avg(fare) from 'trips/*.parquet' group by vendor`, or names from
//!   `[connections.<name>.tables]`; `:params` bound, results cached, keyed by the files' ETags.
//!
//! # Features
//! | feature | enables |
//! |---|---|
//! | `http` (default) | HTTP(S) servers |
//! | `s3` | Amazon S3 and S3-compatible stores |
//! | `gcs` | Google Cloud Storage |
//! | `azure` | Azure Blob Storage |
//! | `query` | `query(sql)` on the embedded SQL engine (Apache DataFusion) |

mod config;
mod connection;
mod decode;
mod format;
mod objects;
mod query;
mod read;
mod store;
mod write;

use std::sync::Arc;

pub use config::Protocol;
pub use connection::{FilesConnection, FilesConnector, ObjectInfo};
use dataconn_core::Registry;
pub use format::{Compression, Format};
pub use read::{ReadOptions, ReadRequest};

/// The connection type of this connector.
pub const TYPE: &str = "files";

/// Register the files connector.
pub fn register(registry: &Registry) {
    registry.register(Arc::new(FilesConnector));
}
