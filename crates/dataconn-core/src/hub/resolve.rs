//! From a name to a [`ConnectionConfig`]: the section (or a connector's own files), the
//! overrides laid over it, and the resolved type.

use std::collections::BTreeMap;

use toml::{Table, Value};

use crate::config::ConnectionConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::registry::Registry;
use crate::secrets::{Secrets, merge};

/// Streamlit's `env:NAME` indirection: the connection name comes from an environment variable.
pub(super) fn resolve_env_name(name: &str) -> Result<String> {
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
pub(super) fn resolve_config(
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
    let resolved = registry
        .canonical_type(&ty)
        .map(str::to_owned)
        .unwrap_or(ty);
    let canonical =
        hand_over(registry, &resolved, &options).map_or_else(|| resolved.clone(), str::to_owned);
    options.remove("connector");
    if let Some(Value::String(t)) = options.get("type")
        && registry
            .canonical_type(t)
            .is_some_and(|t| t == canonical || t == resolved)
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

/// The type of Streamlit's SQLAlchemy-backed connection (`type="sql"`).
const SQLALCHEMY_TYPE: &str = "sql";

/// Streamlit's SQL connection takes any SQLAlchemy URL. A `sql` section whose `url` scheme
/// (or, without a URL, `dialect`) belongs to another connector (`mssql+pyodbc` to `odbc`,
/// `duckdb` to `duckdb`) goes to that connector; when that connector's cargo feature is off,
/// connecting then says which feature to enable.
fn hand_over(registry: &Registry, resolved: &str, options: &Table) -> Option<&'static str> {
    if resolved != SQLALCHEMY_TYPE {
        return None;
    }
    registry
        .type_for_scheme(scheme_of(options)?)
        .filter(|ty| *ty != SQLALCHEMY_TYPE)
}

/// The scheme of `url`, or without a URL Streamlit's `dialect` (the scheme it builds).
fn scheme_of(options: &Table) -> Option<&str> {
    match options.get("url").and_then(Value::as_str) {
        Some(url) => Some(url.split_once(':')?.0),
        None => options.get("dialect")?.as_str(),
    }
}

/// Explicit type > a first-party name used as the connection name > `connector` key >
/// `type` key > the scheme of `url` (or Streamlit's `dialect`).
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
    registry
        .type_for_scheme(scheme_of(options)?)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(text: &str) -> Secrets {
        Secrets::from_toml("/app/.streamlit/secrets.toml", text).unwrap()
    }

    /// A registry that knows the first-party names (as the facade's does) and no connector.
    fn first_party() -> Registry {
        let r = Registry::new();
        for (connection_type, aliases, url_schemes) in [
            (
                "sql",
                &["sqlalchemy"][..],
                &["sqlite", "postgres", "mysql"][..],
            ),
            ("snowflake", &[], &["snowflake"]),
            ("files", &["fs"], &["file", "s3"]),
            ("gsheets", &["gsheet"], &[]),
        ] {
            r.register_disabled(crate::DisabledConnector {
                connection_type,
                aliases,
                url_schemes,
                feature: connection_type,
            });
        }
        r
    }

    #[test]
    fn type_resolution_order() {
        let r = first_party();
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
    fn a_sql_section_whose_url_or_dialect_belongs_to_another_connector_goes_there() {
        let r = first_party();
        r.register_disabled(crate::DisabledConnector {
            connection_type: "odbc",
            aliases: &[],
            url_schemes: &["mssql"],
            feature: "odbc",
        });
        let s = secrets(
            "[connections.a]\nurl = \"mssql+pyodbc://u:p@h:1433/db?driver=X\"\n\
             [connections.b]\ndialect = \"mssql\"\ndriver = \"pyodbc\"\nhost = \"h\"\n\
             [connections.c]\ntype = \"sql\"\ndialect = \"postgresql\"\nhost = \"h\"\n\
             [connections.d]\ntype = \"sql\"\nurl = \"mssql+pyodbc://h/db\"\n",
        );
        let ty = |name: &str, explicit: Option<&str>| {
            resolve_config(&r, &s, name, explicit, &Table::new())
                .map(|c| (c.connection_type().to_owned(), c.get("type").is_some()))
                .unwrap()
        };
        assert_eq!(ty("a", Some("sql")), ("odbc".to_owned(), false));
        assert_eq!(ty("b", Some("sql")), ("odbc".to_owned(), false));
        assert_eq!(ty("b", None), ("odbc".to_owned(), false));
        assert_eq!(ty("c", None), ("sql".to_owned(), false));
        // The section's own `type = "sql"` does not reach the other connector as a key.
        assert_eq!(ty("d", None), ("odbc".to_owned(), false));
    }

    #[test]
    fn missing_section_names_the_files_and_known_connections() {
        let r = first_party();
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
        let r = first_party();
        let s = secrets("[connections.x]\nhost = \"h\"\n");
        let err = resolve_config(&r, &s, "x", None, &Table::new()).unwrap_err();
        assert!(
            err.message()
                .contains("expected a connection type for [connections.x]"),
            "{err}"
        );
    }

    #[test]
    fn overrides_lay_over_the_section_key_by_key() {
        let r = first_party();
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
