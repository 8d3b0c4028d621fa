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

use std::collections::{BTreeMap, HashMap};
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use tokio::sync::OnceCell;
use toml::{Table, Value};
use tracing::Instrument;

use crate::cache::QueryCache;
use crate::config::ConnectionConfig;
use crate::connection::{ConnectContext, Connection, TypedConnection, downcast};
use crate::error::{Error, ErrorKind, Result};
use crate::registry::Registry;
use crate::secrets::{Secrets, SecretsSource, merge};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LiveKey {
    name: String,
    ty: &'static str,
    fingerprint: String,
}

#[derive(Clone)]
struct Live {
    cell: Arc<OnceCell<Arc<dyn Connection>>>,
    explicit_type: Option<String>,
    overrides: Table,
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

/// Builds a [`Connections`] hub.
#[derive(Debug, Default)]
#[must_use]
pub struct ConnectionsBuilder {
    registry: Registry,
    sources: Option<Vec<SecretsSource>>,
    secrets: Option<Secrets>,
    cache: Option<QueryCache>,
    cache_from_secrets: Option<fn(&Secrets) -> Result<QueryCache>>,
    watch: bool,
}

impl ConnectionsBuilder {
    /// Use these connectors.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = registry;
        self
    }

    /// Read these secrets files and folders (in order, later wins) instead of Streamlit's
    /// default locations.
    pub fn secrets_sources(mut self, sources: Vec<SecretsSource>) -> Self {
        self.sources = Some(sources);
        self
    }

    /// Use secrets already loaded (nothing is watched).
    pub fn secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// Share this query cache (by default each hub has its own).
    pub fn cache(mut self, cache: QueryCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Build the query cache from the loaded secrets (their `[cache]` section), unless a cache
    /// was given with [`ConnectionsBuilder::cache`].
    pub fn cache_from_secrets(mut self, build: fn(&Secrets) -> Result<QueryCache>) -> Self {
        self.cache_from_secrets = Some(build);
        self
    }

    /// Watch the secrets sources and reconfigure connections when their section changes.
    /// Needs a tokio runtime at [`ConnectionsBuilder::build`] time; without one, nothing is
    /// watched.
    pub fn watch(mut self, watch: bool) -> Self {
        self.watch = watch;
        self
    }

    /// Load the secrets and build the hub.
    ///
    /// # Errors
    /// [`ErrorKind::SecretsParse`] when a secrets file does not parse; what the
    /// [`ConnectionsBuilder::cache_from_secrets`] function returns.
    pub fn build(self) -> Result<Connections> {
        let (sources, secrets) = match self.secrets {
            Some(secrets) => (Vec::new(), secrets),
            None => {
                let sources = self.sources.unwrap_or_else(SecretsSource::defaults);
                let secrets = Secrets::load(&sources)?;
                (sources, secrets)
            }
        };
        let cache = match (self.cache, self.cache_from_secrets) {
            (Some(cache), _) => cache,
            (None, Some(build)) => build(&secrets)?,
            (None, None) => QueryCache::default(),
        };
        let hub = Connections {
            inner: Arc::new(HubInner {
                registry: self.registry,
                sources,
                secrets: RwLock::new(Arc::new(secrets)),
                cache,
                live: Mutex::new(HashMap::new()),
                watcher: Mutex::new(None),
            }),
        };
        if self.watch && !hub.inner.sources.is_empty() {
            hub.start_watching();
        }
        Ok(hub)
    }
}

impl Connections {
    /// Start building a hub.
    pub fn builder() -> ConnectionsBuilder {
        ConnectionsBuilder::default()
    }

    fn lock_live(&self) -> std::sync::MutexGuard<'_, HashMap<LiveKey, Live>> {
        self.inner
            .live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The secrets in force now.
    pub fn secrets(&self) -> Arc<Secrets> {
        self.inner
            .secrets
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
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
            overrides: Table::new(),
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
        overrides: &Table,
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
        overrides: Table,
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

    /// Re-read the secrets sources now; reconfigure connections whose own section changed.
    ///
    /// Returns the names of the connections that were reconfigured or closed. When a source no
    /// longer parses, the last good secrets stay in force and the error is returned (and
    /// logged).
    ///
    /// # Errors
    /// [`ErrorKind::SecretsParse`] when a source does not parse.
    pub async fn reload_secrets(&self) -> Result<Vec<String>> {
        if self.inner.sources.is_empty() {
            return Ok(Vec::new());
        }
        let fresh = match Secrets::load(&self.inner.sources) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                tracing::error!(error = %e, "secrets no longer parse; keeping the last good secrets");
                return Err(e);
            }
        };
        let lost: Vec<String> = fresh
            .lost_since(&self.secrets())
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        if !lost.is_empty() {
            let err = Error::new(
                ErrorKind::SecretsParse,
                format!(
                    "expected the secrets file {} to hold connections, found it deleted or \
                     empty; keeping the last good secrets (restore the file, or restart to \
                     run without it)",
                    lost.join(", ")
                ),
            );
            tracing::error!(error = %err, "secrets file gone; keeping the last good secrets");
            return Err(err);
        }
        *self
            .inner
            .secrets
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh.clone();

        let snapshot: Vec<(LiveKey, Live)> = self
            .lock_live()
            .iter()
            .map(|(k, l)| (k.clone(), l.clone()))
            .collect();
        let mut changed = Vec::new();
        for (
            key,
            Live {
                cell,
                explicit_type,
                overrides,
            },
        ) in snapshot
        {
            let config = resolve_config(
                &self.inner.registry,
                &fresh,
                &key.name,
                explicit_type.as_deref(),
                &overrides,
            );
            if let Ok(config) = &config
                && config.fingerprint() == key.fingerprint
            {
                continue;
            }
            let live = self.lock_live().remove(&key);
            changed.push(key.name.clone());
            let Some(conn) = cell.get().cloned() else {
                continue;
            };
            match config {
                Ok(config) => {
                    let new_key = LiveKey {
                        fingerprint: config.fingerprint().to_owned(),
                        ..key.clone()
                    };
                    match conn.reconfigure(config).await {
                        Err(e) if e.kind() == ErrorKind::Unsupported => {
                            tracing::info!(connection = %key.name, "secrets changed; closing the connection, the next use opens a new one");
                            close_quietly(conn).await;
                        }
                        result => {
                            if let Err(e) = result {
                                tracing::warn!(connection = %key.name, error = %e, "secrets changed; reconnecting with them failed, the next use retries");
                            } else {
                                tracing::info!(connection = %key.name, "secrets changed; reconnected with them");
                            }
                            if let Some(live) = live {
                                self.lock_live().insert(new_key, live);
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(connection = %key.name, error = %e, "the connection's section is gone or invalid; closing it");
                    close_quietly(conn).await;
                }
            }
        }
        Ok(changed)
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

    fn start_watching(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::debug!("no tokio runtime; secrets files are not watched");
            return;
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let watched: Vec<_> = self
            .inner
            .sources
            .iter()
            .map(|s| match s {
                SecretsSource::File(p) => p.clone(),
                SecretsSource::Dir(p) => p.clone(),
            })
            .collect();
        let relevant = watched.clone();
        let handler = move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && event
                    .paths
                    .iter()
                    .any(|p| relevant.iter().any(|w| p.starts_with(w)))
            {
                let _ = tx.send(());
            }
        };
        let mut watcher = match notify::recommended_watcher(handler) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch secrets files");
                return;
            }
        };
        use notify::Watcher;
        for source in &self.inner.sources {
            let (path, mode) = match source {
                SecretsSource::File(p) => (
                    p.parent().map(std::path::Path::to_path_buf),
                    notify::RecursiveMode::NonRecursive,
                ),
                SecretsSource::Dir(p) => (Some(p.clone()), notify::RecursiveMode::Recursive),
            };
            if let Some(path) = path.filter(|p| p.is_dir())
                && let Err(e) = watcher.watch(&path, mode)
            {
                tracing::warn!(path = %path.display(), error = %e, "cannot watch secrets folder");
            }
        }
        *self
            .inner
            .watcher
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(watcher);
        let weak: Weak<HubInner> = Arc::downgrade(&self.inner);
        runtime.spawn(async move {
            while rx.recv().await.is_some() {
                // Editors write in several steps: wait for the burst to end, then reload once.
                tokio::time::sleep(Duration::from_millis(100)).await;
                while rx.try_recv().is_ok() {}
                let Some(inner) = weak.upgrade() else { break };
                let hub = Connections { inner };
                // Errors are logged inside; the last good secrets stay in force.
                let _ = hub.reload_secrets().await;
            }
        });
    }
}

async fn close_quietly(conn: Arc<dyn Connection>) {
    conn.clear_cache();
    if let Err(e) = conn.close().await {
        tracing::warn!(connection = conn.name(), error = %e, "closing failed");
    }
}

/// A connection being opened; `.await` it.
#[must_use = "nothing connects until the request is awaited"]
#[derive(Debug)]
pub struct ConnectRequest<'a> {
    hub: &'a Connections,
    name: String,
    ty: Option<String>,
    overrides: Table,
}

impl<'a> ConnectRequest<'a> {
    /// Use this connector type, whatever the secrets say.
    pub fn connection_type(mut self, ty: impl Into<String>) -> Self {
        self.ty = Some(ty.into());
        self
    }

    /// Override one option of the secrets section (Streamlit's `**kwargs`).
    pub fn option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.overrides.insert(key.into(), value.into());
        self
    }

    /// Override several options; tables merge deeply.
    pub fn options(mut self, options: Table) -> Self {
        merge(&mut self.overrides, options);
        self
    }

    /// Open and downcast to the concrete connection type.
    ///
    /// # Errors
    /// As the plain await, plus [`ErrorKind::Config`] when the connection is another type.
    pub async fn typed<T: Connection>(self) -> Result<Arc<T>> {
        downcast::<T>(self.await?)
    }
}

impl<'a> IntoFuture for ConnectRequest<'a> {
    type Output = Result<Arc<dyn Connection>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.hub.open(self.name, self.ty, self.overrides))
    }
}

/// Streamlit's `env:NAME` indirection: the connection name comes from an environment variable.
fn resolve_env_name(name: &str) -> Result<String> {
    match name.strip_prefix("env:") {
        Some(var) => std::env::var(var).map_err(|_| {
            Error::config(format!(
                "expected the environment variable `{var}` to hold a connection name (from \
                 `{name}`), found it unset"
            ))
        }),
        None => Ok(name.to_owned()),
    }
}

/// The section, the resolved type and the merged options of one connection.
fn resolve_config(
    registry: &Registry,
    secrets: &Secrets,
    name: &str,
    explicit_type: Option<&str>,
    overrides: &Table,
) -> Result<ConnectionConfig> {
    let section_path = format!("connections.{name}");
    let mut section = secrets.table(&section_path).cloned();
    let mut fallback_source = None;
    let connector = explicit_type
        .or_else(|| registry.canonical_type(name))
        .and_then(|ty| registry.get(ty).ok());
    if section.is_none()
        && let Some(connector) = &connector
        && let Some((options, source)) = connector
            .fallback_options(name)
            .map_err(|e| e.with_connection_name(name))?
    {
        section = Some(options);
        fallback_source = Some(source);
    }
    if section.is_none() && overrides.is_empty() {
        // Without a section, a first-party name such as `sql` still needs its options.
        let err = if secrets.found().is_empty() {
            secrets.not_found_error()
        } else {
            let known = secrets.connection_names();
            let suggestion = crate::config::closest(name, &known)
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            Error::new(
                ErrorKind::MissingKey,
                format!(
                    "expected a [{section_path}] section, found none{suggestion} (known \
                     connections: {}; searched: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    },
                    std::iter::once(secrets.searched_list())
                        .chain(connector.iter().flat_map(|c| c.fallback_searched(name)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        };
        return Err(match explicit_type {
            Some(ty) => err.with_connection(name, ty),
            None => err.with_connection_name(name),
        });
    }
    let mut options = section.unwrap_or_default();
    merge(&mut options, overrides.clone());

    let ty = resolve_type(registry, name, explicit_type, &options).ok_or_else(|| {
        Error::config(format!(
            "expected a connection type for [{section_path}], found none: give one in code, \
             name the connection after a type ({}), set `type = \"...\"` in the section, or a \
             `url` whose scheme names a type (searched: {})",
            registry.types().join(", "),
            secrets.searched_list()
        ))
        .with_connection_name(name)
    })?;
    let canonical = registry
        .canonical_type(&ty)
        .map(str::to_owned)
        .unwrap_or(ty);
    options.remove("connector");
    if let Some(Value::String(t)) = options.get("type")
        && registry.canonical_type(t) == Some(canonical.as_str())
    {
        options.remove("type");
    }
    let origins: BTreeMap<_, _> = options
        .keys()
        .filter(|k| !overrides.contains_key(*k))
        .filter_map(|k| {
            secrets
                .origin(&format!("{section_path}.{k}"))
                .map(|o| (k.clone(), o.clone()))
        })
        .collect();
    let sources = match fallback_source {
        Some(source) => format!(
            "{source} (no [{section_path}] in {})",
            secrets.searched_list()
        ),
        None => secrets.searched_list(),
    };
    Ok(ConnectionConfig::assemble(
        name.to_owned(),
        canonical,
        options,
        origins,
        sources,
    ))
}

/// Explicit type > a first-party name used as the connection name > `connector` key >
/// `type` key > the scheme of `url`.
fn resolve_type(
    registry: &Registry,
    name: &str,
    explicit: Option<&str>,
    options: &Table,
) -> Option<String> {
    if let Some(ty) = explicit {
        return Some(ty.to_owned());
    }
    if let Some(ty) = registry.canonical_type(name) {
        return Some(ty.to_owned());
    }
    for key in ["connector", "type"] {
        if let Some(Value::String(ty)) = options.get(key) {
            return Some(ty.clone());
        }
    }
    let url = options.get("url")?.as_str()?;
    let scheme = url.split_once(':')?.0;
    registry.type_for_scheme(scheme).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(text: &str) -> Secrets {
        Secrets::from_toml("/app/.streamlit/secrets.toml", text).unwrap()
    }

    #[test]
    fn type_resolution_order() {
        let r = Registry::new();
        let s = secrets(
            "[connections.a]\nurl = \"sqlite:///a.db\"\n\
             [connections.b]\ntype = \"snowflake\"\nurl = \"sqlite:///b.db\"\n\
             [connections.sql]\nurl = \"postgres://h/db\"\n\
             [connections.c]\nconnector = \"gsheets\"\ntype = \"service_account\"\n\
             [connections.d]\nurl = \"mysql+pymysql://h/db\"\n",
        );
        let ty = |name: &str, explicit: Option<&str>| {
            resolve_config(&r, &s, name, explicit, &Table::new())
                .map(|c| c.connection_type().to_owned())
        };
        assert_eq!(ty("a", None).unwrap(), "sql");
        assert_eq!(ty("a", Some("files")).unwrap(), "files");
        assert_eq!(ty("b", None).unwrap(), "snowflake");
        assert_eq!(ty("sql", None).unwrap(), "sql");
        assert_eq!(ty("c", None).unwrap(), "gsheets");
        assert_eq!(ty("d", None).unwrap(), "sql");
        // `type` is kept when it is not the connector type (a Google credential's `type`).
        let c = resolve_config(&r, &s, "c", None, &Table::new()).unwrap();
        assert!(c.get("type").is_some() && c.get("connector").is_none());
    }

    #[test]
    fn missing_section_names_the_files_and_known_connections() {
        let r = Registry::new();
        let s = secrets("[connections.pets_db]\nurl = \"sqlite:///pets.db\"\n");
        let err = resolve_config(&r, &s, "pets", None, &Table::new()).unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.kind(), ErrorKind::MissingKey);
        assert!(msg.contains("[connections.pets]"), "{msg}");
        assert!(msg.contains("did you mean `pets_db`"), "{msg}");
        assert!(msg.contains("/app/.streamlit/secrets.toml"), "{msg}");
    }

    #[test]
    fn no_type_anywhere_is_a_clear_error() {
        let r = Registry::new();
        let s = secrets("[connections.x]\nhost = \"h\"\n");
        let err = resolve_config(&r, &s, "x", None, &Table::new()).unwrap_err();
        assert!(
            err.message()
                .contains("expected a connection type for [connections.x]"),
            "{err}"
        );
    }

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
            .secrets(secrets("[connections.x]\ntype = \"refusing\"\n"))
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

    #[test]
    fn overrides_lay_over_the_section_key_by_key() {
        let r = Registry::new();
        let s = secrets("[connections.db]\nurl = \"sqlite:///a.db\"\nmax_connections = 4\n");
        let mut o = Table::new();
        o.insert("max_connections".into(), Value::Integer(9));
        let c = resolve_config(&r, &s, "db", None, &o).unwrap();
        assert_eq!(
            c.get("max_connections").and_then(Value::as_integer),
            Some(9)
        );
        assert_eq!(c.get("url").and_then(Value::as_str), Some("sqlite:///a.db"));
        assert_eq!(c.origin("url"), "/app/.streamlit/secrets.toml:2");
        assert_eq!(c.origin("max_connections"), "given in code");
    }
}
