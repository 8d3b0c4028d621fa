//! Object stores per protocol and bucket, and turning a user's path into a [`Location`].
//!
//! A connection holds one store per bucket (or container, or HTTP origin), built on first use
//! from the section's options and the environment. Paths are relative to the connection's
//! `root` unless they carry their own scheme (`s3://other-bucket/key`).

use std::collections::HashMap;
use std::path::Path as FsPath;
use std::sync::{Arc, Mutex};

use dataconn_core::{Error, ErrorKind, Result};
use object_store::ObjectStore;
use object_store::path::Path;

use crate::config::{Protocol, Settings, local_root};

/// Whether `key` is a config key object_store knows for `protocol`.
pub(crate) fn valid_key(protocol: Protocol, key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    match protocol {
        #[cfg(feature = "s3")]
        Protocol::S3 => key.parse::<object_store::aws::AmazonS3ConfigKey>().is_ok(),
        #[cfg(feature = "gcs")]
        Protocol::Gcs => key.parse::<object_store::gcp::GoogleConfigKey>().is_ok(),
        #[cfg(feature = "azure")]
        Protocol::Azure => key.parse::<object_store::azure::AzureConfigKey>().is_ok(),
        #[cfg(feature = "http")]
        Protocol::Http => key.parse::<object_store::ClientConfigKey>().is_ok(),
        // Without the protocol's feature nothing is known; the connect says which feature.
        _ => true,
    }
}

/// A resolved place: the store, the path inside it, and the full URL for messages.
#[derive(Debug, Clone)]
pub(crate) struct Location {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) path: Path,
    pub(crate) url: String,
}

/// The stores of one connection.
pub(crate) struct Stores {
    settings: Settings,
    /// Bucket, container or origin → store (the local filesystem and memory use "").
    built: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field("protocol", &self.settings.protocol)
            .finish_non_exhaustive()
    }
}

fn store_error(protocol: Protocol, bucket: &str, err: object_store::Error) -> Error {
    Error::new(
        ErrorKind::Config,
        format!("could not set up the {protocol:?} store for {bucket}"),
    )
    .with_source(err)
}

impl Stores {
    pub(crate) fn new(settings: Settings) -> Result<Stores> {
        if let Some(feature) = settings.protocol.feature()
            && !compiled(settings.protocol)
        {
            return Err(Error::new(
                ErrorKind::FeatureDisabled,
                format!(
                    "the {:?} protocol is not in this build; enable the dataconn cargo feature `{feature}`",
                    settings.protocol
                ),
            ));
        }
        Ok(Stores {
            settings,
            built: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store for `bucket` (ignored for the local filesystem and memory).
    pub(crate) fn store(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>> {
        let mut built = self
            .built
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(store) = built.get(bucket) {
            return Ok(store.clone());
        }
        let store = build(&self.settings, bucket)?;
        built.insert(bucket.to_owned(), store.clone());
        Ok(store)
    }

    /// Resolve a user's path (relative to the root, absolute, or a full URL).
    pub(crate) fn resolve(&self, path: &str) -> Result<Location> {
        let protocol = self.settings.protocol;
        if let Some((scheme, rest)) = path.split_once("://") {
            let Some(given) = Protocol::from_name(scheme) else {
                return Err(Error::config(format!(
                    "expected a path or a {}:// URL, found {path:?}",
                    protocol.scheme()
                )));
            };
            if given != protocol {
                return Err(Error::config(format!(
                    "this connection reads {protocol:?} paths; {path:?} is a {given:?} URL (use a connection of that protocol)"
                )));
            }
            return self.locate_url(scheme, rest);
        }
        match protocol {
            Protocol::File => {
                let full = if FsPath::new(path).is_absolute() {
                    FsPath::new(path).to_path_buf()
                } else {
                    local_root(self.settings.root.as_deref())?.join(path)
                };
                let display = full.display().to_string();
                let object = Path::from_absolute_path(&full).map_err(|e| {
                    Error::config(format!("expected a usable file path, found {display:?}"))
                        .with_source(e)
                })?;
                Ok(Location {
                    store: self.store("")?,
                    path: object,
                    url: format!("file://{display}"),
                })
            }
            Protocol::Memory => {
                let prefix = self
                    .settings
                    .root
                    .as_deref()
                    .map(|r| r.trim_start_matches("memory://"))
                    .unwrap_or("");
                let joined = join(prefix, path);
                Ok(Location {
                    store: self.store("")?,
                    path: Path::parse(&joined)
                        .map_err(|e| Error::config(format!("bad path {path:?}")).with_source(e))?,
                    url: format!("memory:///{joined}"),
                })
            }
            _ => {
                let Some(root) = self.settings.root.as_deref() else {
                    return Err(Error::config(format!(
                        "expected a full {}:// URL (this connection has no `root`), found {path:?}",
                        protocol.scheme()
                    )));
                };
                let (scheme, rest) = root.split_once("://").unwrap_or((protocol.scheme(), root));
                let rest = join(rest, path);
                self.locate_url(scheme, &rest)
            }
        }
    }

    fn locate_url(&self, scheme: &str, rest: &str) -> Result<Location> {
        match self.settings.protocol {
            Protocol::File => {
                let fs = FsPath::new(if rest.starts_with('/') {
                    rest
                } else {
                    return Err(Error::config("file:// URLs must be absolute"));
                });
                let object = Path::from_absolute_path(fs)
                    .map_err(|e| Error::config("bad file path").with_source(e))?;
                Ok(Location {
                    store: self.store("")?,
                    path: object,
                    url: format!("file://{rest}"),
                })
            }
            Protocol::Memory => {
                let key = rest.trim_start_matches('/');
                Ok(Location {
                    store: self.store("")?,
                    path: Path::parse(key).map_err(|e| Error::config("bad path").with_source(e))?,
                    url: format!("memory:///{key}"),
                })
            }
            Protocol::Http => {
                // The origin names the store; the rest is the path on that server.
                let (origin, key) = rest.split_once('/').unwrap_or((rest, ""));
                let base = format!("{scheme}://{origin}");
                Ok(Location {
                    store: self.store(&base)?,
                    path: Path::parse(key).map_err(|e| Error::config("bad path").with_source(e))?,
                    url: format!("{base}/{key}"),
                })
            }
            _ => {
                let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(Error::config(format!(
                        "expected a bucket in {scheme}://{rest}, found none"
                    )));
                }
                Ok(Location {
                    store: self.store(bucket)?,
                    path: Path::parse(key)
                        .map_err(|e| Error::config(format!("bad path {key:?}")).with_source(e))?,
                    url: format!("{scheme}://{bucket}/{key}"),
                })
            }
        }
    }
}

fn join(prefix: &str, path: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    let path = path.trim_start_matches('/');
    if prefix.is_empty() {
        path.to_owned()
    } else {
        format!("{prefix}/{path}")
    }
}

fn compiled(protocol: Protocol) -> bool {
    match protocol {
        Protocol::File | Protocol::Memory => true,
        Protocol::S3 => cfg!(feature = "s3"),
        Protocol::Gcs => cfg!(feature = "gcs"),
        Protocol::Azure => cfg!(feature = "azure"),
        Protocol::Http => cfg!(feature = "http"),
    }
}

/// Apply the validated options to an object_store builder (each key parses; see `valid_key`).
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http"))]
macro_rules! configured {
    ($builder:expr, $options:expr) => {{
        let mut b = $builder;
        for (k, v) in $options {
            if let Ok(key) = k.parse() {
                b = b.with_config(key, v);
            }
        }
        b
    }};
}

#[allow(unused_variables)]
fn build(settings: &Settings, bucket: &str) -> Result<Arc<dyn ObjectStore>> {
    let protocol = settings.protocol;
    let options = &settings.options;
    #[cfg(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http"))]
    let retry = object_store::RetryConfig {
        max_retries: settings.retries,
        retry_timeout: settings.retry_timeout,
        ..object_store::RetryConfig::default()
    };
    Ok(match protocol {
        Protocol::File => Arc::new(object_store::local::LocalFileSystem::new()),
        Protocol::Memory => Arc::new(object_store::memory::InMemory::new()),
        #[cfg(feature = "s3")]
        Protocol::S3 => {
            let b = configured!(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_retry(retry),
                options
            );
            Arc::new(b.build().map_err(|e| store_error(protocol, bucket, e))?)
        }
        #[cfg(feature = "gcs")]
        Protocol::Gcs => {
            let b = configured!(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name(bucket)
                    .with_retry(retry),
                options
            );
            Arc::new(b.build().map_err(|e| store_error(protocol, bucket, e))?)
        }
        #[cfg(feature = "azure")]
        Protocol::Azure => {
            let b = configured!(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_container_name(bucket)
                    .with_retry(retry),
                options
            );
            Arc::new(b.build().map_err(|e| store_error(protocol, bucket, e))?)
        }
        #[cfg(feature = "http")]
        Protocol::Http => {
            let mut b = object_store::http::HttpBuilder::new()
                .with_url(bucket)
                .with_retry(retry);
            if bucket.starts_with("http://") {
                b = b.with_config(object_store::ClientConfigKey::AllowHttp, "true");
            }
            let b = configured!(b, options);
            Arc::new(b.build().map_err(|e| store_error(protocol, bucket, e))?)
        }
        #[allow(unreachable_patterns)]
        other => {
            return Err(Error::new(
                ErrorKind::FeatureDisabled,
                format!("the {other:?} protocol is not in this build"),
            ));
        }
    })
}

/// An object_store error as dataconn's, naming the URL and, for credential failures, the
/// credential source (never its values).
pub(crate) fn object_error(err: object_store::Error, url: &str, credentials: &str) -> Error {
    // Some stores report refused credentials as a generic HTTP 401/403 failure.
    let refused = matches!(err, object_store::Error::Generic { .. }) && {
        let text = err.to_string();
        text.contains("401 Unauthorized") || text.contains("403 Forbidden")
    };
    if refused {
        return Error::new(
            ErrorKind::Connect,
            format!(
                "the store refused the credentials for {url}; credentials came from {credentials}"
            ),
        )
        .set_temporary(false)
        .with_source(err);
    }
    match &err {
        object_store::Error::NotFound { .. } => Error::new(
            ErrorKind::NotFound,
            format!("expected an object at {url}, found none"),
        )
        .with_source(err),
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => Error::new(
            ErrorKind::Connect,
            format!(
                "the store refused the credentials for {url}; credentials came from {credentials}"
            ),
        )
        .set_temporary(false)
        .with_source(err),
        object_store::Error::NotSupported { .. } | object_store::Error::NotImplemented { .. } => {
            Error::new(
                ErrorKind::Unsupported,
                format!("the store cannot do this for {url}"),
            )
            .with_source(err)
        }
        object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. } => {
            Error::new(
                ErrorKind::Query,
                format!("the store refused the write to {url}"),
            )
            .with_source(err)
        }
        _ => Error::new(ErrorKind::Io, format!("the store failed for {url}"))
            .set_temporary(true)
            .with_source(err),
    }
}
