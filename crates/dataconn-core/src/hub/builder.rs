//! [`ConnectionsBuilder`]: where a hub's registry, secrets, cache and watcher come from.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::cache::QueryCache;
use crate::error::Result;
use crate::registry::Registry;
use crate::secrets::{Secrets, SecretsSource};

use super::{Connections, HubInner};

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

    /// Read these secrets files and folders (in order, later wins) instead of the ones
    /// Streamlit reads (`[secrets] files` in `.streamlit/config.toml`, else its default
    /// locations).
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
                let sources = match self.sources {
                    Some(sources) => sources,
                    None => SecretsSource::streamlit()?,
                };
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
