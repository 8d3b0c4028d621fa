//! Where a SQL connection points: an [`Address`] from `url` or from the address parts.
//!
//! SQLAlchemy's URL forms are honoured, so a Streamlit secrets file works unchanged:
//! `sqlite:///pets.db` is `pets.db` relative to the working directory, `sqlite:////data/pets.db`
//! is absolute, `sqlite://` and `sqlite:///:memory:` are in memory, and a `+driver` suffix
//! (`postgresql+psycopg2`) is ignored. sqlx's `sqlite://pets.db` and `sqlite:pets.db` also
//! work. Built from parts, user and password are percent-encoded.

use std::path::PathBuf;

use dataconn_core::{Dialect, Error, ErrorKind, Result, Secret};

use crate::config::{SqlConfig, is_sqlite};

/// The database a connection points at.
#[derive(Clone, PartialEq)]
pub(crate) enum Address {
    /// A SQLite file, or memory when `path` is `None`.
    Sqlite {
        path: Option<PathBuf>,
        read_only: bool,
    },
    /// A PostgreSQL URL (`postgres://...`).
    Postgres(Secret),
    /// A MySQL or MariaDB URL (`mysql://...`).
    MySql(Secret),
}

/// Written by hand: a server URL may hold a password, so it prints as masked.
impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Sqlite { path, read_only } => f
                .debug_struct("Sqlite")
                .field("path", path)
                .field("read_only", read_only)
                .finish(),
            Address::Postgres(_) => f.write_str("Postgres(url masked)"),
            Address::MySql(_) => f.write_str("MySql(url masked)"),
        }
    }
}

impl Address {
    /// The dialect's name, how its parameters are written, and the cargo feature that builds
    /// its driver: known before any pool opens, whichever drivers this build has.
    fn kind(&self) -> (&'static str, Dialect, &'static str) {
        match self {
            Address::Sqlite { .. } => ("sqlite", Dialect::Sqlite, "sqlite"),
            Address::Postgres(_) => ("postgresql", Dialect::Postgres, "postgres"),
            Address::MySql(_) => ("mysql", Dialect::MySql, "mysql"),
        }
    }

    /// The dialect's name, as [`crate::SqlConnection::dialect`] gives it.
    pub(crate) fn dialect_name(&self) -> &'static str {
        self.kind().0
    }

    /// The dialect for rewriting parameters and checking reads.
    pub(crate) fn dialect(&self) -> Dialect {
        self.kind().1
    }

    /// The cargo feature that compiles this address's driver in.
    pub(crate) fn feature(&self) -> &'static str {
        self.kind().2
    }

    /// Where `config` points: its `url`, or else the address parts.
    pub(crate) fn from_config(config: &SqlConfig) -> Result<Address> {
        match &config.url {
            Some(url) => from_url(url.expose()),
            None => from_parts(config),
        }
    }
}

fn from_url(url: &str) -> Result<Address> {
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err(Error::config(
            "expected `url` to start with a scheme such as sqlite:, postgresql: or mysql:, \
             found no scheme",
        ));
    };
    let dialect = scheme
        .split('+')
        .next()
        .unwrap_or(scheme)
        .to_ascii_lowercase();
    match dialect.as_str() {
        "sqlite" => Ok(sqlite_from_url_rest(rest)),
        "postgres" | "postgresql" => Ok(Address::Postgres(Secret::new(format!("postgres:{rest}")))),
        "mysql" | "mariadb" => Ok(Address::MySql(Secret::new(format!("mysql:{rest}")))),
        other => Err(Error::new(
            ErrorKind::Unsupported,
            format!("expected a url for sqlite, postgresql or mysql, found the scheme `{other}`"),
        )),
    }
}

fn sqlite_from_url_rest(rest: &str) -> Address {
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let read_only = query
        .split('&')
        .any(|kv| kv.eq_ignore_ascii_case("mode=ro") || kv.eq_ignore_ascii_case("immutable=1"));
    let path = match path.strip_prefix("//") {
        // SQLAlchemy: `sqlite:///rel.db` → "/rel.db" after `//`; `sqlite:////abs.db` → "//abs.db".
        Some(after) => match after.strip_prefix('/') {
            Some(local) => local.to_owned(),
            None => after.to_owned(),
        },
        None => path.to_owned(),
    };
    let memory = path.is_empty() || path == ":memory:";
    Address::Sqlite {
        path: (!memory).then(|| PathBuf::from(path)),
        read_only,
    }
}

fn from_parts(config: &SqlConfig) -> Result<Address> {
    let dialect = config.dialect.as_deref().unwrap_or_default();
    if is_sqlite(dialect) {
        let path = config
            .database
            .clone()
            .filter(|d| !d.is_empty() && d != ":memory:");
        return Ok(Address::Sqlite {
            path: path.map(PathBuf::from),
            read_only: config
                .query
                .as_ref()
                .and_then(|q| q.get("mode"))
                .is_some_and(|m| m == "ro"),
        });
    }
    let scheme = dialect
        .split('+')
        .next()
        .unwrap_or(dialect)
        .to_ascii_lowercase();
    let mut url = format!("{scheme}://");
    if let Some(user) = &config.username {
        url.push_str(&percent_encode(user));
        if let Some(password) = &config.password {
            url.push(':');
            url.push_str(&percent_encode(password.expose()));
        }
        url.push('@');
    }
    url.push_str(config.host.as_deref().unwrap_or("localhost"));
    if let Some(port) = config.port {
        url.push_str(&format!(":{port}"));
    }
    if let Some(database) = &config.database {
        url.push('/');
        url.push_str(&percent_encode(database));
    }
    if let Some(query) = config.query.as_ref().filter(|q| !q.is_empty()) {
        let pairs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        url.push('?');
        url.push_str(&pairs.join("&"));
    }
    from_url(&url)
}

/// Percent-encode everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(path: Option<&str>, read_only: bool) -> Address {
        Address::Sqlite {
            path: path.map(PathBuf::from),
            read_only,
        }
    }

    #[test]
    fn sqlalchemy_and_sqlx_sqlite_urls() {
        let cases = [
            ("sqlite:///pets.db", sqlite(Some("pets.db"), false)),
            (
                "sqlite:////data/pets.db",
                sqlite(Some("/data/pets.db"), false),
            ),
            ("sqlite+pysqlite:///a/b.db", sqlite(Some("a/b.db"), false)),
            ("sqlite://", sqlite(None, false)),
            ("sqlite:///:memory:", sqlite(None, false)),
            ("sqlite::memory:", sqlite(None, false)),
            ("sqlite://pets.db", sqlite(Some("pets.db"), false)),
            ("sqlite:pets.db?mode=ro", sqlite(Some("pets.db"), true)),
        ];
        for (url, want) in cases {
            assert_eq!(from_url(url).unwrap(), want, "{url}");
        }
    }

    #[test]
    fn parts_are_escaped_into_a_url() {
        let config = SqlConfig {
            dialect: Some("postgresql+psycopg2".into()),
            username: Some("me@corp".into()),
            password: Some(Secret::new("p@ss:w/rd")),
            host: Some("db.local".into()),
            port: Some(5433),
            database: Some("app".into()),
            query: Some([("sslmode".to_owned(), "require".to_owned())].into()),
            ..SqlConfig::default()
        };
        let Address::Postgres(url) = Address::from_config(&config).unwrap() else {
            panic!("not postgres")
        };
        assert_eq!(
            url.expose(),
            "postgres://me%40corp:p%40ss%3Aw%2Frd@db.local:5433/app?sslmode=require"
        );
    }

    #[test]
    fn unknown_scheme_is_named() {
        let err = from_url("oracle://x").unwrap_err();
        assert!(err.message().contains("`oracle`"), "{err}");
    }
}
