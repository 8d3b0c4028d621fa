//! Our connectors' names, for builds that leave some out.
//!
//! A connector whose cargo feature is off is not compiled, so its own `aliases()` and
//! `url_schemes()` cannot be asked. This table repeats them; [`default_registry`] registers
//! every connector the build leaves out as a [`DisabledConnector`], so that `type =
//! "filesystem"` or `url = "s3://..."` names the feature to enable instead of "unknown type".
//! The test below checks the table against each connector the build has.
//!
//! [`default_registry`]: crate::default_registry

use dataconn_core::DisabledConnector;

/// Every first-party connector, and whether this build has it.
pub(crate) const FIRST_PARTY: &[(DisabledConnector, bool)] = &[
    (
        DisabledConnector {
            connection_type: "sql",
            aliases: &["sqlalchemy"],
            url_schemes: &["sqlite", "postgres", "postgresql", "mysql", "mariadb"],
            feature: "sqlite, postgres or mysql",
        },
        cfg!(feature = "_sql"),
    ),
    (
        DisabledConnector {
            connection_type: "files",
            aliases: &["fs", "filesystem", "st_files_connection.filesconnection"],
            url_schemes: &[
                "file", "memory", "s3", "s3a", "gs", "gcs", "az", "abfs", "abfss",
            ],
            feature: "files (with s3, gcs or azure for those stores)",
        },
        cfg!(feature = "files"),
    ),
    (
        DisabledConnector {
            connection_type: "snowflake",
            aliases: &[],
            url_schemes: &["snowflake"],
            feature: "snowflake",
        },
        cfg!(feature = "snowflake"),
    ),
    (
        DisabledConnector {
            connection_type: "gsheets",
            aliases: &["gsheet", "google-sheets"],
            url_schemes: &[],
            feature: "gsheets",
        },
        cfg!(feature = "gsheets"),
    ),
    (
        DisabledConnector {
            connection_type: "adbc",
            aliases: &[],
            url_schemes: &[],
            feature: "adbc",
        },
        cfg!(feature = "adbc"),
    ),
    (
        DisabledConnector {
            connection_type: "duckdb",
            aliases: &[],
            url_schemes: &["duckdb"],
            feature: "duckdb (or duckdb-bundled)",
        },
        cfg!(feature = "duckdb"),
    ),
    (
        DisabledConnector {
            connection_type: "odbc",
            aliases: &[],
            url_schemes: &["mssql"],
            feature: "odbc",
        },
        cfg!(feature = "odbc"),
    ),
];

#[cfg(test)]
mod tests {
    use dataconn_core::{ErrorKind, Registry};

    use super::FIRST_PARTY;

    #[test]
    fn the_table_matches_each_connector_in_this_build() {
        let registry = crate::default_registry();
        for (entry, enabled) in FIRST_PARTY {
            if !enabled {
                continue;
            }
            let connector = registry.get(entry.connection_type).expect("registered");
            assert_eq!(connector.connection_type(), entry.connection_type);
            assert_eq!(
                connector.aliases(),
                entry.aliases,
                "{}",
                entry.connection_type
            );
            assert_eq!(
                connector.url_schemes(),
                entry.url_schemes,
                "{}",
                entry.connection_type
            );
        }
    }

    #[test]
    fn a_left_out_connector_names_its_feature_by_alias_and_by_scheme() {
        let registry = Registry::new();
        for (entry, _) in FIRST_PARTY {
            registry.register_disabled(*entry);
        }
        for (name, feature) in [
            ("filesystem", "feature files"),
            ("sqlalchemy", "feature sqlite, postgres or mysql"),
            ("google-sheets", "feature gsheets"),
            ("odbc", "feature odbc"),
        ] {
            let err = registry.get(name).err().expect("left out");
            assert_eq!(err.kind(), ErrorKind::FeatureDisabled, "{name}");
            assert!(err.message().contains(feature), "{name}: {err}");
        }
        assert_eq!(registry.type_for_scheme("s3"), Some("files"));
        assert_eq!(registry.type_for_scheme("postgresql+psycopg"), Some("sql"));
        assert_eq!(registry.type_for_scheme("snowflake"), Some("snowflake"));
        assert_eq!(registry.type_for_scheme("mssql+pyodbc"), Some("odbc"));
        assert!(
            registry.types().is_empty(),
            "nothing left out is registered"
        );
    }
}
