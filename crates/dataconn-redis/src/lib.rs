#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
//! A Redis (or Valkey) tier for dataconn's query cache, shared by every replica of an app.
//!
//! Streamlit's caches live in one process: ten replicas behind a load balancer run every query
//! ten times, and a write in one leaves the other nine serving stale results. With this tier:
//!
//! - the in-process cache stays the first tier; a local miss asks Redis before running the
//!   query, and a result one replica computed serves all;
//! - values are Arrow IPC streams (any language with Arrow reads them), optionally with Arrow's
//!   own zstd body compression; Redis keeps the TTL (`SET ... PX`);
//! - concurrent identical misses across replicas run once: a short lock per key (`SET NX PX`),
//!   taken over by another replica if its holder dies;
//! - a write bumps the connection's generation (`INCR`, part of every key) and publishes it, so
//!   every replica drops its local entries within milliseconds;
//! - Redis down or slow never fails a query: every call is bounded in time, and the cache
//!   works locally until Redis is back.
//!
//! ```toml
//! # .streamlit/secrets.toml
//! [cache]
//! backend = "redis"
//! url = "redis://127.0.0.1:6379/0"
//! ```
//!
//! In code: `QueryCache::with_shared(limit, Arc::new(RedisTier::connect(RedisConfig::new(url)).await?))`.

mod config;
mod tier;

pub use config::RedisConfig;
pub use tier::RedisTier;
