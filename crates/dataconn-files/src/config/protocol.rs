//! [`Protocol`]: where a connection's files live, from its `protocol`, name or root.

use dataconn_core::{ConnectionConfig, Error, Result};

use super::{scheme_of, value_text};

/// Where files live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// The local filesystem.
    File,
    /// An in-process store (tests, scratch data).
    Memory,
    /// Amazon S3 and S3-compatible stores (`s3://bucket/key`).
    S3,
    /// Google Cloud Storage (`gs://bucket/key`).
    Gcs,
    /// Azure Blob Storage (`az://container/key`).
    Azure,
    /// HTTP(S) servers (`https://host/path`).
    Http,
}

impl Protocol {
    /// The protocol a scheme or name stands for (`s3`, `gs`, `gcs`, `az`, `abfs`, `file`...).
    pub fn from_name(name: &str) -> Option<Protocol> {
        Some(match name.to_ascii_lowercase().as_str() {
            "file" | "local" => Protocol::File,
            "memory" | "mem" => Protocol::Memory,
            "s3" | "s3a" => Protocol::S3,
            "gs" | "gcs" => Protocol::Gcs,
            "az" | "abfs" | "abfss" | "azure" | "adl" => Protocol::Azure,
            "http" | "https" => Protocol::Http,
            _ => return None,
        })
    }

    /// The canonical URL scheme.
    pub fn scheme(self) -> &'static str {
        match self {
            Protocol::File => "file",
            Protocol::Memory => "memory",
            Protocol::S3 => "s3",
            Protocol::Gcs => "gs",
            Protocol::Azure => "az",
            Protocol::Http => "https",
        }
    }

    /// The cargo feature that compiles this protocol in, if it needs one.
    pub(crate) fn feature(self) -> Option<&'static str> {
        match self {
            Protocol::File | Protocol::Memory => None,
            Protocol::S3 => Some("s3"),
            Protocol::Gcs => Some("gcs"),
            Protocol::Azure => Some("azure"),
            Protocol::Http => Some("files"),
        }
    }
}

/// Protocol: the `protocol` key, else the connection's name when it is a scheme, else the
/// scheme of `root`/`url`, else the local filesystem.
pub(crate) fn protocol(config: &ConnectionConfig) -> Result<Protocol> {
    if let Some(value) = config.get("protocol") {
        let name = value_text(value);
        return Protocol::from_name(&name).ok_or_else(|| {
            Error::config(format!(
                "expected `protocol` to be one of file, memory, s3, gs, az, https; found {name:?} ({})",
                config.origin("protocol")
            ))
        });
    }
    if let Some(p) = Protocol::from_name(config.name()) {
        return Ok(p);
    }
    let root = config
        .get("root")
        .or_else(|| config.get("url"))
        .map(value_text);
    if let Some(scheme) = root.as_deref().and_then(scheme_of) {
        return Protocol::from_name(scheme).ok_or_else(|| {
            Error::config(format!(
                "expected the root to start with file://, memory://, s3://, gs://, az:// or https://; found {scheme}://"
            ))
        });
    }
    Ok(Protocol::File)
}
