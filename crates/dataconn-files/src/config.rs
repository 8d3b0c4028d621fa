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

use std::collections::BTreeMap;
use std::path::PathBuf;

use dataconn_core::{ConnectionConfig, Error, ErrorKind, Result, Ttl, closest};
use toml::{Table, Value};

use crate::format::Format;

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

/// Default of `max_object_bytes`: the most one object read whole may hold (2 GiB).
pub(crate) const DEFAULT_MAX_OBJECT_BYTES: u64 = 2 << 30;
/// Default of `max_decompressed_bytes`: the most a `.gz`/`.zst` object may expand to (2 GiB).
pub(crate) const DEFAULT_MAX_DECOMPRESSED_BYTES: u64 = 2 << 30;
/// Default of `max_list_objects`: the most entries one listing or glob may visit.
pub(crate) const DEFAULT_MAX_LIST_OBJECTS: usize = 100_000;
/// Default of `query_memory_limit`: the SQL engine's memory pool (2 GiB).
pub(crate) const DEFAULT_QUERY_MEMORY_LIMIT: u64 = 2 << 30;
/// Default of `query_timeout`: how long one SQL query may run (5 minutes).
pub(crate) const DEFAULT_QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Bounds on what one operation may take: each names its config key in its error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// `max_object_bytes`: the most bytes one object read whole (or one HTTP body) may hold.
    pub(crate) max_object_bytes: u64,
    /// `max_decompressed_bytes`: the most bytes a compressed object may expand to.
    pub(crate) max_decompressed_bytes: u64,
    /// `max_list_objects`: the most entries one listing or glob may visit.
    pub(crate) max_list_objects: usize,
    /// `query_memory_limit`: the SQL engine's memory pool, in bytes.
    pub(crate) query_memory_limit: u64,
    /// `query_timeout`: how long one SQL query may run (None: no limit).
    pub(crate) query_timeout: Option<std::time::Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_object_bytes: DEFAULT_MAX_OBJECT_BYTES,
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
            max_list_objects: DEFAULT_MAX_LIST_OBJECTS,
            query_memory_limit: DEFAULT_QUERY_MEMORY_LIMIT,
            query_timeout: Some(DEFAULT_QUERY_TIMEOUT),
        }
    }
}

/// A size: a count of bytes (`1048576`) or a number with a unit (`"64MiB"`, `"2 GB"`, `"512k"`).
pub(crate) fn parse_size(value: &Value) -> Option<u64> {
    match value {
        Value::Integer(n) => u64::try_from(*n).ok(),
        Value::String(text) => {
            let text = text.trim();
            let split = text
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(text.len());
            let number: u64 = text[..split].parse().ok()?;
            let unit: u64 = match text[split..].trim().to_ascii_lowercase().as_str() {
                "" | "b" => 1,
                "k" | "kb" => 1_000,
                "m" | "mb" => 1_000_000,
                "g" | "gb" => 1_000_000_000,
                "t" | "tb" => 1_000_000_000_000,
                "kib" => 1 << 10,
                "mib" => 1 << 20,
                "gib" => 1 << 30,
                "tib" => 1 << 40,
                _ => return None,
            };
            number.checked_mul(unit)
        }
        _ => None,
    }
}

/// Keys of one entry of `tables` written as a table.
const TABLE_KEYS: &[&str] = &["path", "format", "delimiter", "header"];

/// A table named in `[connections.<name>.tables]`, for `query()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamedTable {
    /// A path or glob, relative to the root like any other.
    pub(crate) path: String,
    /// The format, when the names do not say it.
    pub(crate) format: Option<Format>,
    /// The CSV delimiter.
    pub(crate) delimiter: Option<u8>,
    /// Whether CSV files have a header row.
    pub(crate) has_header: bool,
}

/// `tables = { trips = "trips/*.parquet", raw = { path = "raw/*.txt", format = "csv",
/// delimiter = "|" } }`, every problem added to `problems`.
fn named_tables(
    config: &ConnectionConfig,
    problems: &mut Vec<String>,
) -> Vec<(String, NamedTable)> {
    let Some(value) = config.get("tables") else {
        return Vec::new();
    };
    let origin = config.origin("tables");
    let Some(entries) = value.as_table() else {
        problems.push(format!(
            "expected `tables` to be a table of name = \"path\" ({origin}), found {}",
            value.type_str()
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, entry) in entries {
        let mut table = NamedTable {
            path: String::new(),
            format: None,
            delimiter: None,
            has_header: true,
        };
        match entry {
            Value::String(path) => table.path = path.clone(),
            Value::Table(keys) => {
                for (key, v) in keys {
                    match (key.as_str(), v) {
                        ("path", Value::String(p)) => table.path = p.clone(),
                        ("format", Value::String(f)) => match Format::from_name(f) {
                            Some(Format::Text) | None => problems.push(format!(
                                "expected `tables.{name}.format` to be csv, tsv, parquet, json, jsonl or arrow ({origin}), found {f:?}"
                            )),
                            Some(format) => table.format = Some(format),
                        },
                        ("delimiter", Value::String(d)) if d.len() == 1 => {
                            table.delimiter = Some(d.as_bytes()[0]);
                        }
                        ("header", Value::Boolean(b)) => table.has_header = *b,
                        (known, other) if TABLE_KEYS.contains(&known) => problems.push(format!(
                            "expected `tables.{name}.{known}` to be {} ({origin}), found {other}",
                            match known {
                                "delimiter" => "one character such as \"|\"",
                                "header" => "true or false",
                                _ => "a string",
                            }
                        )),
                        (unknown, _) => problems.push(format!(
                            "unknown key `tables.{name}.{unknown}` ({origin}){}",
                            closest(unknown, TABLE_KEYS)
                                .map(|k| format!("; did you mean `{k}`?"))
                                .unwrap_or_default()
                        )),
                    }
                }
            }
            other => problems.push(format!(
                "expected `tables.{name}` to be a path or a table with `path` ({origin}), found {}",
                other.type_str()
            )),
        }
        if table.path.is_empty() && matches!(entry, Value::String(_) | Value::Table(_)) {
            problems.push(format!(
                "expected `tables.{name}` to name a path ({origin}), found none"
            ));
            continue;
        }
        out.push((name.clone(), table));
    }
    out
}

/// fsspec spellings, shown in suggestions with object_store's names.
const KNOWN_ALIASES: &[&str] = &[
    "key",
    "secret",
    "token",
    "endpoint_url",
    "region_name",
    "client_kwargs",
    "anon",
    "use_ssl",
    "allow_http",
    "account_name",
    "account_key",
    "sas_token",
    "connection_string",
    "use_emulator",
    "service_account_path",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_endpoint",
    "aws_region",
    "google_service_account",
    "google_service_account_key",
    "azure_storage_account_name",
    "azure_storage_account_key",
];

/// The fields of a Google service-account key, as Streamlit users put them in the section.
const SERVICE_ACCOUNT_FIELDS: &[&str] = &[
    "type",
    "project_id",
    "private_key_id",
    "private_key",
    "client_email",
    "client_id",
    "auth_uri",
    "token_uri",
    "auth_provider_x509_cert_url",
    "client_x509_cert_url",
    "universe_domain",
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

/// Parse a connection's options into settings, reporting every problem at once.
pub(crate) fn settings(config: &ConnectionConfig) -> Result<Settings> {
    let protocol = protocol(config)?;
    let mut problems = Vec::new();
    let root = match (config.get("root"), config.get("url")) {
        (Some(_), Some(_)) => {
            problems.push("give `root` or `url`, not both (they mean the same)".to_owned());
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
    let tables = named_tables(config, &mut problems);
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
    let limits = limits(config, &mut problems);
    let store_keys: Table = config
        .options()
        .iter()
        .filter(|(k, _)| !OWN_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let (options, credential_source) = match store_options(protocol, &store_keys) {
        Ok(options) => options,
        Err(mut unknown) => {
            for key in &mut unknown {
                let suggestion = closest(key, KNOWN_ALIASES)
                    .or_else(|| closest(key, OWN_KEYS))
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                *key = format!(
                    "unknown key `{key}` for the {protocol:?} protocol ({}){suggestion}",
                    config.origin(key)
                );
            }
            problems.extend(unknown);
            (Vec::new(), String::new())
        }
    };
    if !problems.is_empty() {
        return Err(Error::config(format!(
            "invalid configuration for [connections.{}] ({} problem{}):\n  - {}\nsources: {}",
            config.name(),
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            problems.join("\n  - "),
            config.sources()
        ))
        .with_connection(config.name(), crate::TYPE)
        .scrub(&sensitive_values(config)));
    }
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

/// The userinfo (`user:password`) of a URL-valued string, if any.
fn url_userinfo(text: &str) -> Option<&str> {
    let rest = text.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    (!userinfo.is_empty()).then_some(userinfo)
}

/// Every value to mask: the core's list (secret keys, URL passwords) and the whole userinfo of
/// any URL in the section (`root = "https://user:pw@host/..."`); `Error::scrub` masks the
/// longest first.
pub(crate) fn sensitive_values(config: &ConnectionConfig) -> Vec<String> {
    fn urls(table: &Table, out: &mut Vec<String>) {
        for value in table.values() {
            match value {
                Value::String(s) => out.extend(url_userinfo(s).map(str::to_owned)),
                Value::Table(inner) => urls(inner, out),
                _ => {}
            }
        }
    }
    let mut out = config.sensitive_values();
    urls(config.options(), &mut out);
    out.retain(|s| !s.is_empty());
    out.sort();
    out.dedup();
    out
}

/// The limit keys, each problem added to `problems`.
fn limits(config: &ConnectionConfig, problems: &mut Vec<String>) -> Limits {
    let mut limits = Limits::default();
    let mut size = |key: &str, at_least: u64, out: &mut u64| {
        if let Some(value) = config.get(key) {
            match parse_size(value).filter(|n| *n >= at_least) {
                Some(n) => *out = n,
                None => problems.push(format!(
                    "expected `{key}` to be a size of at least {at_least} bytes such as \"64MiB\" or 1048576, found {value} ({})",
                    config.origin(key)
                )),
            }
        }
    };
    size("max_object_bytes", 1, &mut limits.max_object_bytes);
    size(
        "max_decompressed_bytes",
        1,
        &mut limits.max_decompressed_bytes,
    );
    size("query_memory_limit", 1, &mut limits.query_memory_limit);
    match config.get("max_list_objects") {
        None => {}
        Some(Value::Integer(n)) if *n > 0 => {
            limits.max_list_objects = usize::try_from(*n).unwrap_or(usize::MAX);
        }
        Some(other) => problems.push(format!(
            "expected `max_list_objects` to be a count above zero such as 100000, found {other} ({})",
            config.origin("max_list_objects")
        )),
    }
    if let Some(value) = config.get("query_timeout") {
        let parsed = match value {
            Value::Integer(n) if *n > 0 => Some(Some(std::time::Duration::from_secs(*n as u64))),
            Value::String(text) => Ttl::parse(text).ok().map(Ttl::duration),
            _ => None,
        };
        match parsed {
            Some(Some(d)) if d.is_zero() => problems.push(format!(
                "expected `query_timeout` to be a duration above zero such as \"30s\" (or \"none\"), found {value} ({})",
                config.origin("query_timeout")
            )),
            Some(timeout) => limits.query_timeout = timeout,
            None => problems.push(format!(
                "expected `query_timeout` to be a duration such as \"30s\" (or \"none\"), found {value} ({})",
                config.origin("query_timeout")
            )),
        }
    }
    limits
}

/// object_store options and a description of where the credentials come from.
type StoreOptions = (Vec<(String, String)>, String);

/// Translate fsspec spellings and validate object_store keys. Returns the options and a
/// description of the credential source, or the keys nobody knows.
fn store_options(
    protocol: Protocol,
    keys: &Table,
) -> std::result::Result<StoreOptions, Vec<String>> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut unknown = Vec::new();
    let mut put = |k: &str, v: String| {
        out.insert(k.to_owned(), v);
    };
    match protocol {
        Protocol::File | Protocol::Memory => {
            unknown.extend(keys.keys().cloned());
        }
        Protocol::S3 => {
            for (key, value) in keys {
                match key.as_str() {
                    "key" => put("aws_access_key_id", value_text(value)),
                    "secret" => put("aws_secret_access_key", value_text(value)),
                    "token" => put("aws_session_token", value_text(value)),
                    "endpoint_url" => put("aws_endpoint", value_text(value)),
                    "region_name" => put("aws_region", value_text(value)),
                    "anon" => put("aws_skip_signature", value_text(value)),
                    "use_ssl" => put(
                        "aws_allow_http",
                        (value.as_bool() == Some(false)).to_string(),
                    ),
                    "allow_http" => put("aws_allow_http", value_text(value)),
                    "client_kwargs" => match value.as_table() {
                        Some(kwargs) => {
                            for (k, v) in kwargs {
                                match k.as_str() {
                                    "region_name" => put("aws_region", value_text(v)),
                                    "endpoint_url" => put("aws_endpoint", value_text(v)),
                                    other => unknown.push(format!("client_kwargs.{other}")),
                                }
                            }
                        }
                        None => unknown.push(key.clone()),
                    },
                    other if crate::store::valid_key(protocol, other) => {
                        put(other, value_text(value))
                    }
                    _ => unknown.push(key.clone()),
                }
            }
        }
        Protocol::Gcs => {
            let mut account = serde_json::Map::new();
            for (key, value) in keys {
                match key.as_str() {
                    field if SERVICE_ACCOUNT_FIELDS.contains(&field) => {
                        account.insert(
                            field.to_owned(),
                            serde_json::Value::String(value_text(value)),
                        );
                    }
                    "token" | "service_account_path" => match value {
                        Value::Table(t) => {
                            let json = serde_json::to_string(t).unwrap_or_default();
                            put("google_service_account_key", json);
                        }
                        other => put("google_service_account", value_text(other)),
                    },
                    other if crate::store::valid_key(protocol, other) => {
                        put(other, value_text(value))
                    }
                    _ => unknown.push(key.clone()),
                }
            }
            if !account.is_empty() {
                put(
                    "google_service_account_key",
                    serde_json::Value::Object(account).to_string(),
                );
            }
        }
        Protocol::Azure => {
            for (key, value) in keys {
                match key.as_str() {
                    "connection_string" => {
                        for part in value_text(value).split(';').filter(|p| !p.is_empty()) {
                            let Some((k, v)) = part.split_once('=') else {
                                continue;
                            };
                            match k.to_ascii_lowercase().as_str() {
                                "accountname" => put("azure_storage_account_name", v.to_owned()),
                                "accountkey" => put("azure_storage_account_key", v.to_owned()),
                                "sharedaccesssignature" => {
                                    put("azure_storage_sas_key", v.to_owned())
                                }
                                "blobendpoint" => put("azure_storage_endpoint", v.to_owned()),
                                "usedevelopmentstorage" => {
                                    put("azure_storage_use_emulator", v.to_owned())
                                }
                                _ => {}
                            }
                        }
                    }
                    "allow_http" => put("azure_allow_http", value_text(value)),
                    other if crate::store::valid_key(protocol, other) => {
                        put(other, value_text(value))
                    }
                    _ => unknown.push(key.clone()),
                }
            }
        }
        Protocol::Http => {
            for (key, value) in keys {
                if crate::store::valid_key(protocol, key) {
                    put(key, value_text(value));
                } else {
                    unknown.push(key.clone());
                }
            }
        }
    }
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let credential_keys: Vec<&str> = keys
        .keys()
        .map(String::as_str)
        // Secret keys by core's one rule, plus the keys that name whose credentials they are.
        .filter(|k| {
            dataconn_core::is_secret_key(k) || k.contains("account") || k.contains("service")
        })
        .collect();
    let source = if credential_keys.is_empty() {
        match protocol {
            Protocol::S3 => {
                "the environment (AWS_* variables, profile or instance role)".to_owned()
            }
            Protocol::Gcs => {
                "the environment (GOOGLE_* variables or application default credentials)".to_owned()
            }
            Protocol::Azure => "the environment (AZURE_* variables)".to_owned(),
            _ => "none".to_owned(),
        }
    } else {
        format!("the secrets section (keys: {})", credential_keys.join(", "))
    };
    Ok((out.into_iter().collect(), source))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsspec_spellings_become_object_store_keys() {
        let keys: Table = toml::from_str(
            "key = \"AK\"\nsecret = \"SK\"\nendpoint_url = \"http://h\"\nanon = false\n\
             client_kwargs = { region_name = \"eu-west-1\" }\naws_virtual_hosted_style_request = true\n",
        )
        .unwrap();
        let (options, source) = store_options(Protocol::S3, &keys).unwrap();
        let get = |k: &str| {
            options
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("aws_access_key_id"), Some("AK"));
        assert_eq!(get("aws_secret_access_key"), Some("SK"));
        assert_eq!(get("aws_endpoint"), Some("http://h"));
        assert_eq!(get("aws_region"), Some("eu-west-1"));
        assert_eq!(get("aws_virtual_hosted_style_request"), Some("true"));
        assert!(
            source.contains("key, secret") && !source.contains("AK"),
            "{source}"
        );
    }

    #[test]
    fn a_service_account_section_becomes_one_json_key() {
        let keys: Table = toml::from_str(
            "type = \"service_account\"\nproject_id = \"p\"\nclient_email = \"sa@p\"\nprivate_key = \"PK\"\n",
        )
        .unwrap();
        let (options, _) = store_options(Protocol::Gcs, &keys).unwrap();
        let (key, json) = &options[0];
        assert_eq!(key, "google_service_account_key");
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            (v["client_email"].as_str(), v["type"].as_str()),
            (Some("sa@p"), Some("service_account"))
        );
    }

    #[test]
    fn an_azure_connection_string_is_split_into_keys() {
        let keys: Table = toml::from_str(
            "connection_string = \"DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=c2VjcmV0;BlobEndpoint=http://127.0.0.1:1/acct;\"\n",
        )
        .unwrap();
        let (options, _) = store_options(Protocol::Azure, &keys).unwrap();
        let get = |k: &str| {
            options
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("azure_storage_account_name"), Some("acct"));
        assert_eq!(get("azure_storage_account_key"), Some("c2VjcmV0"));
        assert_eq!(
            get("azure_storage_endpoint"),
            Some("http://127.0.0.1:1/acct")
        );
    }
}
