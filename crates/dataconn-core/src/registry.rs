//! [`Registry`]: the factory of connectors, keyed by `type`.
//!
//! Each connector crate exports `TYPE` and `register(&Registry)`; the facade's
//! `default_registry()` registers the ones its cargo features enable. Third parties register
//! theirs the same way, without touching ours. Types are matched case-insensitively, with
//! aliases; an unknown type lists the registered ones, and a first-party type whose cargo
//! feature is off says which feature to enable.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::connection::Connector;
use crate::error::{Error, ErrorKind, Result};
use crate::lock::LockExt;

/// A connector this build leaves out: its names, URL schemes and the cargo feature that
/// brings it in. Registered with [`Registry::register_disabled`], so that asking for it says
/// which feature to enable rather than "unknown type".
#[derive(Debug, Clone, Copy)]
pub struct DisabledConnector {
    /// The type, such as `"files"`.
    pub connection_type: &'static str,
    /// Its other names, as its connector declares them.
    pub aliases: &'static [&'static str],
    /// URL schemes that imply it, as its connector declares them.
    pub url_schemes: &'static [&'static str],
    /// The cargo feature(s) to enable, as a phrase: `"files"`, `"sqlite, postgres or mysql"`.
    pub feature: &'static str,
}

#[derive(Default)]
struct Entries {
    /// Lower-cased type or alias → connector.
    by_name: BTreeMap<String, Arc<dyn Connector>>,
    /// Lower-cased URL scheme → type.
    by_scheme: BTreeMap<String, &'static str>,
    /// Lower-cased type or alias → a connector this build leaves out.
    disabled: BTreeMap<String, DisabledConnector>,
}

impl Entries {
    fn disabled_by_scheme(&self, scheme: &str) -> Option<&DisabledConnector> {
        self.disabled
            .values()
            .find(|d| d.url_schemes.contains(&scheme))
    }
}

/// The connectors known to a program. Cheap to clone; clones share entries.
#[derive(Clone, Default)]
pub struct Registry {
    entries: Arc<RwLock<Entries>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("types", &self.types())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries.read_unpoisoned()
    }

    /// Register a connector under its type, aliases and URL schemes; a later registration of
    /// the same name replaces the earlier one.
    pub fn register(&self, connector: Arc<dyn Connector>) {
        let mut entries = self.entries.write_unpoisoned();
        let ty = connector.connection_type();
        for name in std::iter::once(ty).chain(connector.aliases().iter().copied()) {
            entries
                .by_name
                .insert(name.to_ascii_lowercase(), connector.clone());
        }
        for scheme in connector.url_schemes() {
            entries.by_scheme.insert(scheme.to_ascii_lowercase(), ty);
        }
    }

    /// Remember a connector this build leaves out, so that its type, aliases and URL schemes
    /// resolve and asking for it names the feature to enable. A connector registered under
    /// the same name wins.
    pub fn register_disabled(&self, disabled: DisabledConnector) {
        let mut entries = self.entries.write_unpoisoned();
        for name in
            std::iter::once(disabled.connection_type).chain(disabled.aliases.iter().copied())
        {
            entries.disabled.insert(name.to_ascii_lowercase(), disabled);
        }
    }

    /// The registered types (not aliases), sorted.
    pub fn types(&self) -> Vec<&'static str> {
        let mut types: Vec<&'static str> = self
            .read()
            .by_name
            .values()
            .map(|c| c.connection_type())
            .collect();
        types.sort_unstable();
        types.dedup();
        types
    }

    /// Whether `name` (a type or alias, any case) is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.read().by_name.contains_key(&name.to_ascii_lowercase())
    }

    /// The canonical type of a registered or disabled type or alias.
    pub fn canonical_type(&self, name: &str) -> Option<&'static str> {
        let lower = name.to_ascii_lowercase();
        let entries = self.read();
        if let Some(c) = entries.by_name.get(&lower) {
            return Some(c.connection_type());
        }
        entries.disabled.get(&lower).map(|d| d.connection_type)
    }

    /// The type implied by a URL scheme (`sqlite`, `postgres+asyncpg`...), registered or
    /// disabled.
    pub fn type_for_scheme(&self, scheme: &str) -> Option<&'static str> {
        let base = scheme
            .split('+')
            .next()
            .unwrap_or(scheme)
            .to_ascii_lowercase();
        let entries = self.read();
        if let Some(ty) = entries.by_scheme.get(&base) {
            return Some(ty);
        }
        entries.disabled_by_scheme(&base).map(|d| d.connection_type)
    }

    /// The connector for a type or alias.
    ///
    /// # Errors
    /// [`ErrorKind::FeatureDisabled`] naming the cargo feature for a type that this build
    /// leaves out ([`Registry::register_disabled`]); [`ErrorKind::UnknownType`] listing the registered types otherwise.
    pub fn get(&self, name: &str) -> Result<Arc<dyn Connector>> {
        let lower = name.to_ascii_lowercase();
        let disabled = {
            let entries = self.read();
            if let Some(c) = entries.by_name.get(&lower) {
                return Ok(c.clone());
            }
            entries.disabled.get(&lower).copied()
        };
        if let Some(d) = disabled {
            return Err(Error::new(
                ErrorKind::FeatureDisabled,
                format!(
                    "the `{}` connector is not in this build; enable the dataconn cargo feature {}",
                    d.connection_type, d.feature
                ),
            ));
        }
        let types = self.types();
        let suggestion = crate::config::closest(&lower, &types)
            .map(|t| format!("; did you mean `{t}`?"))
            .unwrap_or_default();
        Err(Error::new(
            ErrorKind::UnknownType,
            format!(
                "expected a registered connection type, found `{name}`{suggestion} (registered: {})",
                if types.is_empty() {
                    "none".to_owned()
                } else {
                    types.join(", ")
                }
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_party_type_not_registered_names_its_feature() {
        let registry = Registry::new();
        registry.register_disabled(DisabledConnector {
            connection_type: "gsheets",
            aliases: &["gsheet", "google-sheets"],
            url_schemes: &[],
            feature: "gsheets",
        });
        let err = registry.get("google-sheets").err().expect("not registered");
        assert_eq!(err.kind(), ErrorKind::FeatureDisabled);
        assert!(err.message().contains("feature gsheets"), "{err}");
    }
}
