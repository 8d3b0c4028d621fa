//! Watching the secrets files and reloading once per burst of edits.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::lock::MutexExt;
use crate::secrets::SecretsSource;

use super::{Connections, HubInner};

impl Connections {
    /// Watch the secrets sources; each burst of changes reloads them once.
    pub(super) fn start_watching(&self) {
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
        *self.inner.watcher.lock_unpoisoned() = Some(watcher);
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
