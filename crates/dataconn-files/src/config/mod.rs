//! The `[connections.<name>]` keys of the files connector, and the object_store options they
//! become.
//!
//! Our own keys: `protocol`, `root` (alias `url`), `ttl`, `retries`, `retry_timeout`,
//! `tables` (names for paths in `query()`), `allow_outside_root` (the root is a boundary
//! unless true), and the limits `max_object_bytes`, `max_decompressed_bytes`,
//! `max_list_objects`, `query_memory_limit`, `query_timeout`. Every other key configures the
//! object store and may be written the way fsspec users already have it (`key`, `secret`,
//! `endpoint_url`, `client_kwargs.region_name`, `anon`; a GCS service account as the section
//! itself or as `token`; an Azure `connection_string`) or with object_store's own names
//! (`aws_access_key_id`, `azure_storage_account_name`, `google_service_account`...). A key
//! neither knows is an error with the closest suggestion. Without credential keys, each
//! store's environment variables apply (`AWS_*`, `GOOGLE_*`, `AZURE_*`).

mod limits;
mod masks;
mod protocol;
mod store_keys;
mod tables;

use std::path::PathBuf;

use dataconn_core::raw::Problems;
use dataconn_core::{ConnectionConfig, Error, ErrorKind, Result, Ttl, closest};
use toml::{Table, Value};

pub(crate) use limits::{DEFAULT_MAX_DECOMPRESSED_BYTES, Limits};
pub(crate) use masks::sensitive_values;
pub use protocol::Protocol;
pub(crate) use protocol::protocol;
use store_keys::{KNOWN_ALIASES, store_options};
pub(crate) use tables::NamedTable;

/// Keys the connector itself reads.
const OWN_KEYS: &[&str] = &[
    "protocol",
    "root",
    "url",
    "ttl",
    "retries",
    "retry_timeout",
    "tables",
    "allow_outside_root",
    "max_object_bytes",
    "max_decompressed_bytes",
    "max_list_objects",
    "query_memory_limit",
    "query_timeout",
];

/// Everything derived from a files connection's config.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) protocol: Protocol,
    /// The root as given (a URL or a path), for resolving relative paths.
    pub(crate) root: Option<String>,
    /// object_store config keys and values, validated for the protocol.
    pub(crate) options: Vec<(String, String)>,
    /// Where credentials come from, for messages (never their values).
    pub(crate) credential_source: String,
    pub(crate) ttl: Ttl,
    /// Retries of a failed request to a cloud store or HTTP server (object_store's retry).
    pub(crate) retries: usize,
    /// No retry starts after this long since the first attempt.
    pub(crate) retry_timeout: std::time::Duration,
    /// Tables named for `query()`.
    pub(crate) tables: Vec<(String, NamedTable)>,
    /// `allow_outside_root`: paths may leave the root (default false: the root is a boundary).
    pub(crate) allow_outside_root: bool,
    /// Size, listing and engine limits.
    pub(crate) limits: Limits,
}

// By hand: the options hold credentials, which no Debug output may show.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("protocol", &self.protocol)
            .field("root", &self.root.as_deref().map(crate::store::display_url))
            .field(
                "options",
                &self.options.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("credential_source", &self.credential_source)
            .field("ttl", &self.ttl)
            .field("allow_outside_root", &self.allow_outside_root)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn scheme_of(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    Some(scheme)
}

/// Parse a connection's options into settings, reporting every problem at once.
pub(crate) fn settings(config: &ConnectionConfig) -> Result<Settings> {
    let protocol = protocol(config)?;
    let mut problems = Problems::new(config);
    let root = match (config.get("root"), config.get("url")) {
        (Some(_), Some(_)) => {
            problems.push("give `root` or `url`, not both (they mean the same)");
            None
        }
        (Some(v), None) | (None, Some(v)) => Some(value_text(v)),
        (None, None) => None,
    };
    if let (Some(root), Protocol::File) = (&root, protocol)
        && scheme_of(root).is_some_and(|s| s != "file")
    {
        problems.push(format!("the root {root:?} is not a local path"));
    }
    let ttl = match config.get("ttl").map(Ttl::from_toml) {
        None => Ttl::Forever,
        Some(Ok(ttl)) => ttl,
        Some(Err(e)) => {
            problems.push(format!("`ttl` ({}): {}", config.origin("ttl"), e.message()));
            Ttl::Forever
        }
    };

    // Endpoints and proxies must be http(s) URLs with a host: object_store would otherwise
    // ignore a value such as "/x" and talk to the default endpoint instead.
    let client_kwargs = config.get("client_kwargs").and_then(Value::as_table);
    let endpoints = config
        .options()
        .iter()
        .chain(client_kwargs.into_iter().flatten())
        .filter(|(k, _)| {
            k.ends_with("endpoint") || k.ends_with("endpoint_url") || k.ends_with("proxy_url")
        });
    for (key, value) in endpoints {
        if let Some(text) = value.as_str()
            && let Err(problem) = dataconn_core::http_url(key, &config.origin(key), text)
        {
            problems.push(problem);
        }
    }

    let retries = match config.get("retries") {
        None => 3,
        Some(Value::Integer(n)) if *n >= 0 => *n as usize,
        Some(other) => {
            problems.push(format!(
                "expected `retries` to be a count such as 3, found {other} ({})",
                config.origin("retries")
            ));
            3
        }
    };
    let retry_timeout = match config.get("retry_timeout").map(value_text) {
        None => std::time::Duration::from_secs(30),
        Some(text) => match Ttl::parse(&text).map(Ttl::duration) {
            Ok(Some(d)) => d,
            _ => {
                problems.push(format!(
                    "expected `retry_timeout` to be a duration such as \"30s\", found {text:?} ({})",
                    config.origin("retry_timeout")
                ));
                std::time::Duration::from_secs(30)
            }
        },
    };
    let tables = tables::named_tables(config, &mut problems);
    let allow_outside_root = match config.get("allow_outside_root") {
        None => false,
        Some(Value::Boolean(b)) => *b,
        Some(other) => {
            problems.push(format!(
                "expected `allow_outside_root` to be true or false, found {other} ({})",
                config.origin("allow_outside_root")
            ));
            false
        }
    };
    let limits = limits::limits(config, &mut problems);
    let store_keys: Table = config
        .options()
        .iter()
        .filter(|(k, _)| !OWN_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let (options, credential_source) = match store_options(protocol, &store_keys) {
        Ok(options) => options,
        Err(unknown) => {
            for key in unknown {
                let suggestion = closest(&key, KNOWN_ALIASES)
                    .or_else(|| closest(&key, OWN_KEYS))
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                problems.push(format!(
                    "unknown key `{key}` for the {protocol:?} protocol ({}){suggestion}",
                    config.origin(&key)
                ));
            }
            (Vec::new(), String::new())
        }
    };
    // The key set is open (object_store's keys per protocol): no list of accepted keys.
    problems
        .finish(None)
        .map_err(|e| e.scrub(&sensitive_values(config)))?;
    Ok(Settings {
        protocol,
        root,
        options,
        credential_source,
        ttl,
        retries,
        retry_timeout,
        tables,
        allow_outside_root,
        limits,
    })
}

/// The local root directory: the `root` path (relative to the working directory), or the
/// working directory.
pub(crate) fn local_root(root: Option<&str>) -> Result<PathBuf> {
    let cwd = std::env::current_dir().map_err(|e| {
        Error::new(ErrorKind::Io, "could not read the working directory").with_source(e)
    })?;
    Ok(match root {
        None => cwd,
        Some(r) => {
            let r = r.strip_prefix("file://").unwrap_or(r);
            let path = PathBuf::from(r);
            if path.is_absolute() {
                path
            } else {
                cwd.join(path)
            }
        }
    })
}
