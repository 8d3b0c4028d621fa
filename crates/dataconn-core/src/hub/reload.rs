//! Re-reading the secrets: which live connections changed, and reconfiguring only those.

use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::lock::LockExt;
use crate::secrets::Secrets;

use super::resolve::resolve_config;
use super::{Connections, Live, LiveKey, close_quietly};

impl Connections {
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
        *self.inner.secrets.write_unpoisoned() = fresh.clone();

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
}
