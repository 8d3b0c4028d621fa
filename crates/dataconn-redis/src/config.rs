//! The `[cache]` section: which backend, and the Redis options.

use std::time::Duration;

use dataconn_core::{Error, Result, Secret, Ttl, closest};
use toml::{Table, Value};

/// Options of the Redis tier.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port/db` (or `rediss://` for TLS).
    pub url: Secret,
    /// Prefix of every key and of the invalidation channel. Default `dataconn:`.
    pub prefix: String,
    /// Values larger than this are not stored (logged instead). Default 16 MiB.
    pub max_value_bytes: usize,
    /// Compress stored values with Arrow IPC's zstd body compression. Default true.
    pub compress: bool,
    /// The longest one Redis call may take. Default 250 ms.
    pub timeout: Duration,
    /// How long a replica running a query holds its key's lock. Default 30 s.
    pub lock_ttl: Duration,
    /// A secret shared by every replica (not by Redis): with it, connections that differ only
    /// in a secret value get scopes of their own in Redis, named by a keyed digest nobody
    /// without the key can check a password guess against. Without it they share one scope.
    /// Default none.
    pub key: Option<Secret>,
    /// The largest value read back from Redis; larger ones are ignored (and logged) rather
    /// than decoded. Default: `max_value_bytes`.
    pub max_read_bytes: usize,
}

const KEYS: &[&str] = &[
    "backend",
    "url",
    "prefix",
    "max_value_bytes",
    "compress",
    "timeout",
    "lock_ttl",
    "key",
    // The in-process tier's bounds, read by the facade.
    "max_bytes",
    "max_entries",
];

impl RedisConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: Secret::new(url),
            prefix: "dataconn:".to_owned(),
            max_value_bytes: 16 * 1024 * 1024,
            compress: true,
            timeout: Duration::from_millis(250),
            lock_ttl: Duration::from_secs(30),
            key: None,
            max_read_bytes: 16 * 1024 * 1024,
        }
    }

    /// The options of a `[cache]` table whose `backend = "redis"`; `None` for another backend.
    ///
    /// # Errors
    /// [`dataconn_core::ErrorKind::Config`] naming every unknown key (with a suggestion) and
    /// every bad value.
    pub fn from_table(table: &Table) -> Result<Option<RedisConfig>> {
        match table.get("backend").and_then(Value::as_str) {
            Some(b) if b.eq_ignore_ascii_case("redis") || b.eq_ignore_ascii_case("valkey") => {}
            _ => return Ok(None),
        }
        let mut problems = Vec::new();
        for key in table.keys() {
            if !KEYS.contains(&key.as_str()) {
                let hint = closest(key, KEYS)
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                problems.push(format!("unknown key `{key}` in [cache]{hint}"));
            }
        }
        let Some(url) = table.get("url").and_then(Value::as_str) else {
            problems
                .push("expected `url = \"redis://host:port\"` in [cache], found none".to_owned());
            return Err(problem(problems));
        };
        let mut config = RedisConfig::new(url);
        if let Some(v) = table.get("prefix") {
            match v.as_str() {
                Some(p) => config.prefix = p.to_owned(),
                None => problems.push(format!("expected `prefix` to be text, found {v}")),
            }
        }
        if let Some(v) = table.get("key") {
            match v.as_str() {
                Some(k) if !k.is_empty() => config.key = Some(Secret::new(k)),
                _ => problems.push("expected `key` to be non-empty text".to_owned()),
            }
        }
        if let Some(v) = table.get("max_value_bytes") {
            match v.as_integer().and_then(|n| usize::try_from(n).ok()) {
                Some(n) => {
                    config.max_value_bytes = n;
                    config.max_read_bytes = n;
                }
                None => problems.push(format!(
                    "expected `max_value_bytes` to be a byte count, found {v}"
                )),
            }
        }
        if let Some(v) = table.get("compress") {
            match v.as_bool() {
                Some(b) => config.compress = b,
                None => problems.push(format!(
                    "expected `compress` to be true or false, found {v}"
                )),
            }
        }
        for (key, slot) in [
            ("timeout", &mut config.timeout),
            ("lock_ttl", &mut config.lock_ttl),
        ] {
            if let Some(v) = table.get(key) {
                let parsed = match v {
                    Value::String(s) => Ttl::parse(s).ok().and_then(Ttl::duration),
                    Value::Integer(n) if *n > 0 => Some(Duration::from_secs(*n as u64)),
                    _ => None,
                };
                match parsed.filter(|d| !d.is_zero()) {
                    Some(d) => *slot = d,
                    None => problems.push(format!(
                        "expected `{key}` to be a duration such as \"250ms\", found {v}"
                    )),
                }
            }
        }
        if problems.is_empty() {
            Ok(Some(config))
        } else {
            Err(problem(problems))
        }
    }
}

fn problem(problems: Vec<String>) -> Error {
    Error::config(format!(
        "invalid [cache] section:\n  - {}",
        problems.join("\n  - ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_section_becomes_options_and_mistakes_are_named() {
        let t: Table = toml::from_str(
            "backend = \"redis\"\nurl = \"redis://h:1\"\ntimeout = \"1s\"\ncompress = false\n",
        )
        .unwrap();
        let c = RedisConfig::from_table(&t).unwrap().unwrap();
        assert_eq!(
            (c.timeout, c.compress, c.url.expose()),
            (Duration::from_secs(1), false, "redis://h:1")
        );
        let t: Table = toml::from_str("backend = \"memory\"\n").unwrap();
        assert!(RedisConfig::from_table(&t).unwrap().is_none());
        let t: Table =
            toml::from_str("backend = \"redis\"\nurl = \"redis://h\"\nprefx = \"x\"\n").unwrap();
        let err = RedisConfig::from_table(&t).unwrap_err();
        assert!(err.message().contains("did you mean `prefix`?"), "{err}");
    }
}
