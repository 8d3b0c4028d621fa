//! The `[cache]` section of the secrets: the process-wide query cache's bounds and backend.
//!
//! ```toml
//! [cache]
//! max_bytes = 1073741824          # or max_entries = 10000; default 512 MiB of results
//! backend = "redis"               # default "memory"; "redis" needs the `redis` feature
//! url = "redis://127.0.0.1:6379/0"
//! ```

use dataconn_core::{CacheLimit, Error, QueryCache, Result, Secrets, closest};
use toml::Value;

const MEMORY_KEYS: &[&str] = &["backend", "max_bytes", "max_entries"];

/// The query cache the secrets' `[cache]` section describes: its bounds (`max_bytes` or
/// `max_entries`) and its backend (`memory`, the default, or `redis`/`valkey` for a tier
/// shared by every replica). No section means the default cache.
///
/// # Errors
/// [`ErrorKind::Config`] naming the key and its `file:line` for a bad value or an unknown key;
/// [`ErrorKind::FeatureDisabled`] for `backend = "redis"` in a build without the `redis`
/// feature.
pub fn cache_from(secrets: &Secrets) -> Result<QueryCache> {
    let Some(section) = secrets.table("cache") else {
        return Ok(QueryCache::default());
    };
    let at = |key: &str| {
        secrets
            .origin(&format!("cache.{key}"))
            .map_or_else(|| "[cache]".to_owned(), ToString::to_string)
    };
    let count = |key: &str| -> Result<Option<u64>> {
        match section.get(key) {
            None => Ok(None),
            Some(Value::Integer(n)) if *n > 0 => Ok(Some(*n as u64)),
            Some(other) => Err(Error::config(format!(
                "expected `{key}` in [cache] to be a positive whole number, found {other} ({})",
                at(key)
            ))),
        }
    };
    let limit = match (count("max_bytes")?, count("max_entries")?) {
        (Some(_), Some(_)) => {
            return Err(Error::config(format!(
                "expected one of `max_bytes` and `max_entries` in [cache], found both ({})",
                at("max_entries")
            )));
        }
        (Some(bytes), None) => CacheLimit::Bytes(bytes),
        (None, Some(entries)) => CacheLimit::Entries(entries),
        (None, None) => CacheLimit::default(),
    };
    let backend = match section.get("backend") {
        None => "memory".to_owned(),
        Some(Value::String(b)) => b.to_ascii_lowercase(),
        Some(other) => {
            return Err(Error::config(format!(
                "expected `backend` in [cache] to be \"memory\" or \"redis\", found {other} ({})",
                at("backend")
            )));
        }
    };
    match backend.as_str() {
        "memory" => {
            if let Some(key) = section.keys().find(|k| !MEMORY_KEYS.contains(&k.as_str())) {
                let hint = closest(key, MEMORY_KEYS)
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                return Err(Error::config(format!(
                    "unknown key `{key}` in [cache] ({}){hint}; the memory backend takes {}",
                    at(key),
                    MEMORY_KEYS.join(", ")
                )));
            }
            Ok(QueryCache::new(limit))
        }
        "redis" | "valkey" => shared_cache(section, limit),
        other => Err(Error::config(format!(
            "expected `backend` in [cache] to be \"memory\" or \"redis\", found {other:?} ({})",
            at("backend")
        ))),
    }
}

#[cfg(feature = "redis")]
fn shared_cache(section: &toml::Table, limit: CacheLimit) -> Result<QueryCache> {
    let Some(config) = dataconn_redis::RedisConfig::from_table(section)? else {
        return Ok(QueryCache::new(limit));
    };
    let tier = dataconn_redis::RedisTier::connect(config)?;
    Ok(QueryCache::with_shared(limit, std::sync::Arc::new(tier)))
}

#[cfg(not(feature = "redis"))]
fn shared_cache(_section: &toml::Table, _limit: CacheLimit) -> Result<QueryCache> {
    Err(Error::new(
        dataconn_core::ErrorKind::FeatureDisabled,
        "expected a build with the `redis` feature of dataconn for `backend = \"redis\"` in \
         [cache], found it off (enable it in Cargo.toml: dataconn = { features = [\"redis\"] })",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataconn_core::ErrorKind;

    fn secrets(text: &str) -> Secrets {
        Secrets::from_toml("/app/.streamlit/secrets.toml", text).unwrap()
    }

    #[test]
    fn the_cache_section_sets_the_bounds() {
        let cache = cache_from(&secrets("[cache]\nmax_entries = 3\n")).unwrap();
        let scope = cache.scope("t");
        for i in 0..10 {
            let key = scope.key(
                "query",
                &format!("select {i}"),
                &dataconn_core::params! {},
                &[],
            );
            let table = dataconn_core::Table::empty(std::sync::Arc::new(
                dataconn_core::reexports::arrow::datatypes::Schema::empty(),
            ));
            run(scope.get_or_load(key, dataconn_core::Ttl::Forever, || async { Ok(table) }))
                .unwrap();
        }
        run(cache.sync());
        assert!(cache.stats().entries <= 3, "{:?}", cache.stats());
    }

    #[test]
    fn mistakes_in_the_cache_section_name_the_key_and_line() {
        let err = cache_from(&secrets("[cache]\nmax_byte = 10\n")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("did you mean `max_bytes`?"), "{err}");
        assert!(err.message().contains("secrets.toml:2"), "{err}");
        let err = cache_from(&secrets("[cache]\nmax_bytes = -1\n")).unwrap_err();
        assert!(err.message().contains("positive whole number"), "{err}");
        let err = cache_from(&secrets("[cache]\nbackend = \"memcached\"\n")).unwrap_err();
        assert!(err.message().contains("memcached"), "{err}");
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }
}
