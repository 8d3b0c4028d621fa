//! [`RedisTier`]: the [`SharedTier`] on Redis.
//!
//! Keys (all under the prefix, `dataconn:` by default):
//! - `v:<digest>`: a result, an Arrow IPC stream, with Redis's own TTL;
//! - `lock:<digest>`: the lock of a query being run, with a token and a TTL;
//! - `gen:<scope>`: a connection's generation, part of every digest;
//! - channel `invalidate`: `"<generation> <scope>"` after every bump.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use dataconn_core::{Error, ErrorKind, GenerationBump, Result, SharedTier, url_secrets};
use futures::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::RedisConfig;

/// A Redis (or Valkey) server as the shared tier of a query cache.
pub struct RedisTier {
    config: RedisConfig,
    client: redis::Client,
    conn: ConnectionManager,
    tokens: AtomicU64,
}

impl std::fmt::Debug for RedisTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTier")
            .field("prefix", &self.config.prefix)
            .finish_non_exhaustive()
    }
}

const UNLOCK: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/// GET, unless the value is longer than ARGV[1] bytes: then its length, as a number, so that an
/// oversized value (written by anyone with access to Redis) is never sent to us.
const BOUNDED_GET: &str = "local n = redis.call('strlen', KEYS[1]) if n > tonumber(ARGV[1]) then return n end return redis.call('get', KEYS[1])";

impl RedisTier {
    /// A tier on `config.url`. The connection is made on first use and remade after Redis
    /// restarts, so this succeeds while Redis is down (the cache then works locally).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for a URL that is not a Redis URL.
    pub fn connect(config: RedisConfig) -> Result<RedisTier> {
        let client = redis::Client::open(config.url.expose()).map_err(|e| {
            Error::config("expected a redis:// URL in [cache]")
                .with_source(e)
                .scrub(&secrets(&config))
        })?;
        let manager = ConnectionManagerConfig::new()
            .set_response_timeout(Some(config.timeout))
            .set_connection_timeout(Some(config.timeout))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), manager)
            .map_err(|e| redis_error(e, &config))?;
        Ok(RedisTier {
            config,
            client,
            conn,
            tokens: AtomicU64::new(0),
        })
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.config.prefix)
    }

    fn channel(&self) -> String {
        format!("{}invalidate", self.config.prefix)
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T> {
        let mut conn = self.conn.clone();
        self.bounded(cmd.query_async::<T>(&mut conn)).await
    }

    /// Run a Lua script with one key and one argument, bounded like every call.
    async fn script<T: redis::FromRedisValue>(
        &self,
        source: &str,
        key: String,
        arg: impl redis::ToRedisArgs,
    ) -> Result<T> {
        let mut conn = self.conn.clone();
        let script = redis::Script::new(source);
        let mut invocation = script.key(key);
        invocation.arg(arg);
        self.bounded(invocation.invoke_async::<T>(&mut conn)).await
    }

    /// A Redis call bounded by `timeout`, its error as dataconn's (secrets masked).
    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T> {
        tokio::time::timeout(self.config.timeout, call)
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::Timeout,
                    format!("Redis did not answer within {:?}", self.config.timeout),
                )
            })?
            .map_err(|e| redis_error(e, &self.config))
    }
}

fn secrets(config: &RedisConfig) -> Vec<String> {
    url_secrets(config.url.expose())
}

fn redis_error(err: redis::RedisError, config: &RedisConfig) -> Error {
    let temporary = err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal();
    Error::new(ErrorKind::Io, "Redis failed")
        .set_temporary(temporary)
        .with_source(err)
        .scrub(&secrets(config))
}

#[async_trait]
impl SharedTier for RedisTier {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let reply: redis::Value = self
            .script(BOUNDED_GET, self.key("v", key), self.config.max_read_bytes)
            .await?;
        match reply {
            redis::Value::BulkString(bytes) => Ok(Some(bytes)),
            redis::Value::Int(n) if n > 0 => {
                tracing::warn!(
                    bytes = n,
                    limit = self.config.max_read_bytes,
                    "shared cache: a stored value is larger than `max_value_bytes`; ignoring it"
                );
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<()> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key("v", key)).arg(value);
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(ttl.as_millis().max(1) as u64);
        }
        self.run::<()>(&cmd).await
    }

    async fn generation(&self, scope: &str) -> Result<u64> {
        let g: Option<u64> = self
            .run(redis::cmd("GET").arg(self.key("gen", scope)))
            .await?;
        Ok(g.unwrap_or(0))
    }

    async fn bump_generation(&self, scope: &str) -> Result<u64> {
        let g: u64 = self
            .run(redis::cmd("INCR").arg(self.key("gen", scope)))
            .await?;
        self.run::<i64>(
            redis::cmd("PUBLISH")
                .arg(self.channel())
                .arg(format!("{g} {scope}")),
        )
        .await?;
        Ok(g)
    }

    async fn try_lock(&self, key: &str, ttl: Duration) -> Result<Option<String>> {
        let token = format!(
            "{}-{}",
            std::process::id(),
            self.tokens.fetch_add(1, Ordering::Relaxed)
        );
        let taken: Option<String> = self
            .run(
                redis::cmd("SET")
                    .arg(self.key("lock", key))
                    .arg(&token)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl.as_millis().max(1) as u64),
            )
            .await?;
        Ok(taken.map(|_| token))
    }

    async fn unlock(&self, key: &str, token: &str) -> Result<()> {
        self.script::<i64>(UNLOCK, self.key("lock", key), token)
            .await
            .map(|_| ())
    }

    async fn listen(&self) -> Result<Option<tokio::sync::mpsc::Receiver<GenerationBump>>> {
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let client = self.client.clone();
        let channel = self.channel();
        let config = self.config.clone();
        tokio::spawn(async move {
            let mut first = true;
            loop {
                if tx.is_closed() {
                    break;
                }
                match client.get_async_pubsub().await {
                    Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                        Ok(()) => {
                            if !first {
                                // Bumps sent while we were away are lost: ask for a resync.
                                tracing::info!(
                                    "shared cache: Redis is back; resyncing generations"
                                );
                                let _ = tx
                                    .send(GenerationBump {
                                        scope: String::new(),
                                        generation: 0,
                                    })
                                    .await;
                            }
                            let mut messages = pubsub.on_message();
                            while let Some(msg) = messages.next().await {
                                let Ok(payload) = msg.get_payload::<String>() else {
                                    continue;
                                };
                                let Some((g, scope)) = payload.split_once(' ') else {
                                    continue;
                                };
                                let Ok(generation) = g.parse() else { continue };
                                if tx
                                    .send(GenerationBump {
                                        scope: scope.to_owned(),
                                        generation,
                                    })
                                    .await
                                    .is_err()
                                {
                                    return;
                                }
                            }
                            tracing::warn!(
                                "shared cache: the Redis invalidation channel closed; reconnecting"
                            );
                        }
                        Err(e) => {
                            tracing::warn!(error = %redis_error(e, &config), "shared cache: cannot subscribe")
                        }
                    },
                    Err(e) => {
                        tracing::debug!(error = %redis_error(e, &config), "shared cache: Redis unreachable for invalidations")
                    }
                }
                first = false;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
        Ok(Some(rx))
    }

    fn max_value_bytes(&self) -> usize {
        self.config.max_value_bytes
    }

    fn shared_scope(&self, scope: &str) -> String {
        let public = dataconn_core::public_scope(scope);
        match &self.config.key {
            Some(key) => {
                use hmac::Mac;
                // Any key length is accepted by HMAC.
                let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.expose().as_bytes())
                    .expect("HMAC takes keys of any length");
                mac.update(scope.as_bytes());
                let digest = mac.finalize().into_bytes();
                let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
                format!("{public}~{hex}")
            }
            None => public.to_owned(),
        }
    }

    fn lock_ttl(&self) -> Duration {
        self.config.lock_ttl
    }

    fn compress(&self) -> bool {
        self.config.compress
    }
}
