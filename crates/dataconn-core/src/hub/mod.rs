//! [`Connections`]: the hub that turns a name into a live, shared connection.
//!
//! `connections.connect("pets_db").await` reads `[connections.pets_db]`, lays code-given
//! overrides over it key by key, resolves the type, and asks the registered connector to
//! connect. Live connections are keyed by (name, type, config fingerprint): the same call
//! returns the same `Arc`, and concurrent first calls connect once.
//!
//! The hub watches its secrets files. When one changes it re-parses them and reconfigures only
//! the connections whose own section changed; a file that stops parsing keeps the last good
//! secrets and reports the error through `tracing`.

mod builder;
mod reload;
mod request;
mod resolve;
mod watch;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::OnceCell;
use tracing::Instrument;

use crate::cache::QueryCache;
use crate::config::{ConnectionConfig, Options};
use crate::connection::{ConnectContext, Connection, TypedConnection};
use crate::error::Result;
use crate::lock::{LockExt, MutexExt};
use crate::registry::Registry;
use crate::secrets::{Secrets, SecretsSource};

pub use builder::ConnectionsBuilder;
pub use request::ConnectRequest;
use resolve::{resolve_config, resolve_env_name};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct LiveKey {
    name: String,
    ty: &'static str,
    fingerprint: String,
}

#[derive(Clone)]
struct Live {
    cell: Arc<OnceCell<Arc<dyn Connection>>>,
    explicit_type: Option<String>,
    overrides: Options,
}

struct HubInner {
    registry: Registry,
    sources: Vec<SecretsSource>,
    secrets: RwLock<Arc<Secrets>>,
    cache: QueryCache,
    live: Mutex<HashMap<LiveKey, Live>>,
    watcher: Mutex<Option<notify::RecommendedWatcher>>,
}

/// Named connections from secrets, shared and cached. Cheap to clone.
#[derive(Clone)]
pub struct Connections {
    inner: Arc<HubInner>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("registry", &self.inner.registry)
            .field("sources", &self.inner.sources)
            .field("live", &self.lock_live().len())
            .finish()
    }
}

impl Connections {
    /// Start building a hub.
    pub fn builder() -> ConnectionsBuilder {
        ConnectionsBuilder::default()
    }

    fn lock_live(&self) -> std::sync::MutexGuard<'_, HashMap<LiveKey, Live>> {
        self.inner.live.lock_unpoisoned()
    }

    /// The secrets in force now.
    pub fn secrets(&self) -> Arc<Secrets> {
        self.inner.secrets.read_unpoisoned().clone()
    }

    /// The connectors this hub knows.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The query cache shared by this hub's connections.
    pub fn cache(&self) -> &QueryCache {
        &self.inner.cache
    }

    /// Start opening the connection `name`: add `.connection_type(..)` or `.option(..)`, then
    /// `.await` it.
    pub fn connect(&self, name: impl Into<String>) -> ConnectRequest<'_> {
        ConnectRequest {
            hub: self,
            name: name.into(),
            ty: None,
            overrides: Options::new(),
        }
    }

    /// Open the connection `name` as the concrete type `T` (whose connector type is explicit).
    ///
    /// # Errors
    /// As [`ConnectRequest`]'s await.
    pub async fn connection<T: TypedConnection>(&self, name: &str) -> Result<Arc<T>> {
        self.connect(name)
            .connection_type(T::TYPE)
            .typed::<T>()
            .await
    }

    /// The merged config `name` would connect with, without connecting.
    ///
    /// # Errors
    /// As [`ConnectRequest`]'s await, short of connecting.
    pub fn resolve(
        &self,
        name: &str,
        explicit_type: Option<&str>,
        overrides: &Options,
    ) -> Result<ConnectionConfig> {
        let name = resolve_env_name(name)?;
        resolve_config(
            &self.inner.registry,
            &self.secrets(),
            &name,
            explicit_type,
            overrides,
        )
    }

    async fn open(
        &self,
        name: String,
        explicit_type: Option<String>,
        overrides: Options,
    ) -> Result<Arc<dyn Connection>> {
        let name = resolve_env_name(&name)?;
        let config = resolve_config(
            &self.inner.registry,
            &self.secrets(),
            &name,
            explicit_type.as_deref(),
            &overrides,
        )?;
        let connector = self
            .inner
            .registry
            .get(config.connection_type())
            .map_err(|e| e.with_connection(&name, config.connection_type()))?;
        let ty = connector.connection_type();
        let key = LiveKey {
            name: name.clone(),
            ty,
            fingerprint: config.fingerprint().to_owned(),
        };
        let cell = {
            let mut live = self.lock_live();
            live.entry(key.clone())
                .or_insert_with(|| Live {
                    cell: Arc::new(OnceCell::new()),
                    explicit_type,
                    overrides,
                })
                .cell
                .clone()
        };
        let cache = self.inner.cache.scope(&config.identity());
        let span = tracing::info_span!("dataconn.connect", connection = %name, r#type = ty);
        let opened = cell
            .get_or_try_init(|| {
                async move {
                    tracing::debug!("connecting");
                    connector.connect(ConnectContext { config, cache }).await
                }
                .instrument(span)
            })
            .await
            .cloned();
        if opened.is_err() {
            // A failed connect leaves nothing behind: otherwise every distinct bad config
            // (a typo retried with a new value each time) would stay in the map for good.
            let mut live = self.lock_live();
            if live
                .get(&key)
                .is_some_and(|l| Arc::ptr_eq(&l.cell, &cell) && !l.cell.initialized())
            {
                live.remove(&key);
            }
        }
        opened
    }

    /// How many connections the hub holds open (or is opening) now.
    pub fn live_connections(&self) -> usize {
        self.lock_live().len()
    }

    /// Close every live connection and forget them.
    pub async fn close_all(&self) {
        let cells: Vec<_> = self.lock_live().drain().map(|(_, l)| l.cell).collect();
        for cell in cells {
            if let Some(conn) = cell.get().cloned() {
                close_quietly(conn).await;
            }
        }
    }
}

async fn close_quietly(conn: Arc<dyn Connection>) {
    conn.clear_cache();
    if let Err(e) = conn.close().await {
        tracing::warn!(connection = conn.name(), error = %e, "closing failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, ErrorKind};
    use toml::Value;

    struct Refusing;

    #[async_trait::async_trait]
    impl crate::Connector for Refusing {
        fn connection_type(&self) -> &'static str {
            "refusing"
        }
        async fn connect(&self, _: ConnectContext) -> Result<Arc<dyn Connection>> {
            Err(Error::new(ErrorKind::Connect, "refused"))
        }
    }

    #[tokio::test]
    async fn a_failed_connect_leaves_no_entry_behind() {
        let registry = Registry::new();
        registry.register(Arc::new(Refusing));
        let hub = Connections::builder()
            .registry(registry)
            .secrets(
                Secrets::from_toml(
                    "/app/.streamlit/secrets.toml",
                    "[connections.x]\ntype = \"refusing\"\n",
                )
                .unwrap(),
            )
            .build()
            .unwrap();
        for attempt in 0..5 {
            let err = hub
                .connect("x")
                .option("attempt", Value::Integer(attempt))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Connect);
        }
        assert_eq!(hub.live_connections(), 0);
    }
}
