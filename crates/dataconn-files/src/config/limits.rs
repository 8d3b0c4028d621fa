//! The limit keys (`max_object_bytes`, `max_decompressed_bytes`, `max_list_objects`,
//! `query_memory_limit`, `query_timeout`): what one operation may take.

use dataconn_core::raw::Problems;
use dataconn_core::{ConnectionConfig, Ttl};
use toml::Value;

/// Default of `max_object_bytes`: the most one object read whole may hold (2 GiB).
const DEFAULT_MAX_OBJECT_BYTES: u64 = 2 << 30;
/// Default of `max_decompressed_bytes`: the most a `.gz`/`.zst` object may expand to (2 GiB).
pub(crate) const DEFAULT_MAX_DECOMPRESSED_BYTES: u64 = 2 << 30;
/// Default of `max_list_objects`: the most entries one listing or glob may visit.
const DEFAULT_MAX_LIST_OBJECTS: usize = 100_000;
/// Default of `query_memory_limit`: the SQL engine's memory pool (2 GiB).
const DEFAULT_QUERY_MEMORY_LIMIT: u64 = 2 << 30;
/// Default of `query_timeout`: how long one SQL query may run (5 minutes).
const DEFAULT_QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

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
fn parse_size(value: &Value) -> Option<u64> {
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

/// The limit keys, each problem added to `problems`.
pub(super) fn limits(config: &ConnectionConfig, problems: &mut Problems<'_>) -> Limits {
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
