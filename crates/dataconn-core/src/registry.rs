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

/// A first-party connector: its type, other names, URL schemes, and the facade feature that
/// enables it.
struct FirstParty {
    ty: &'static str,
    names: &'static [&'static str],
    schemes: &'static [&'static str],
    feature: &'static str,
}

const FIRST_PARTY: &[FirstParty] = &[
    FirstParty {
        ty: "sql",
        names: &["sql", "sqlalchemy"],
        schemes: &["sqlite", "postgres", "postgresql", "mysql", "mariadb"],
        feature: "sqlite, postgres or mysql",
    },
    FirstParty {
        ty: "snowflake",
        names: &["snowflake"],
        schemes: &["snowflake"],
        feature: "snowflake",
    },
    FirstParty {
        ty: "files",
        names: &["files", "fs"],
        schemes: &[],
        feature: "files",
    },
    FirstParty {
        ty: "gsheets",
        names: &["gsheets", "gsheet", "google-sheets"],
        schemes: &[],
        feature: "gsheets",
    },
];

#[derive(Default)]
struct Entries {
    /// Lower-cased type or alias → connector.
    by_name: BTreeMap<String, Arc<dyn Connector>>,
    /// Lower-cased URL scheme → type.
    by_scheme: BTreeMap<String, &'static str>,
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
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Register a connector under its type, aliases and URL schemes; a later registration of
    /// the same name replaces the earlier one.
    pub fn register(&self, connector: Arc<dyn Connector>) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
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

    /// The canonical type of a registered or first-party type or alias.
    pub fn canonical_type(&self, name: &str) -> Option<&'static str> {
        let lower = name.to_ascii_lowercase();
        if let Some(c) = self.read().by_name.get(&lower) {
            return Some(c.connection_type());
        }
        FIRST_PARTY
            .iter()
            .find(|fp| fp.names.contains(&lower.as_str()))
            .map(|fp| fp.ty)
    }

    /// The type implied by a URL scheme (`sqlite`, `postgres+asyncpg`...), registered or
    /// first-party.
    pub fn type_for_scheme(&self, scheme: &str) -> Option<&'static str> {
        let base = scheme
            .split('+')
            .next()
            .unwrap_or(scheme)
            .to_ascii_lowercase();
        if let Some(ty) = self.read().by_scheme.get(&base) {
            return Some(ty);
        }
        FIRST_PARTY
            .iter()
            .find(|fp| fp.schemes.contains(&base.as_str()))
            .map(|fp| fp.ty)
    }

    /// The connector for a type or alias.
    ///
    /// # Errors
    /// [`ErrorKind::FeatureDisabled`] naming the cargo feature for a first-party type that this
    /// build leaves out; [`ErrorKind::UnknownType`] listing the registered types otherwise.
    pub fn get(&self, name: &str) -> Result<Arc<dyn Connector>> {
        let lower = name.to_ascii_lowercase();
        if let Some(c) = self.read().by_name.get(&lower) {
            return Ok(c.clone());
        }
        if let Some(fp) = FIRST_PARTY
            .iter()
            .find(|fp| fp.names.contains(&lower.as_str()))
        {
            return Err(Error::new(
                ErrorKind::FeatureDisabled,
                format!(
                    "the `{}` connector is not in this build; enable the dataconn cargo feature {}",
                    fp.ty, fp.feature
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
        let err = Registry::new()
            .get("google-sheets")
            .err()
            .expect("not registered");
        assert_eq!(err.kind(), ErrorKind::FeatureDisabled);
        assert!(err.message().contains("feature gsheets"), "{err}");
    }
}
