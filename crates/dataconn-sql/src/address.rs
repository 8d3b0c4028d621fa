//! Where a SQL connection points: a [`Target`] from `url` or from the address parts.
//!
//! SQLAlchemy's URL forms are honoured, so a Streamlit secrets file works unchanged:
//! `sqlite:///pets.db` is `pets.db` relative to the working directory, `sqlite:////data/pets.db`
//! is absolute, `sqlite://` and `sqlite:///:memory:` are in memory, and a `+driver` suffix
//! (`postgresql+psycopg2`) is ignored. sqlx's `sqlite://pets.db` and `sqlite:pets.db` also
//! work. Built from parts, user and password are percent-encoded.

use std::path::PathBuf;

use dataconn_core::{Error, ErrorKind, Result, Secret};

use crate::config::{SqlConfig, is_sqlite};

/// The database a connection points at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
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

impl Target {
    pub(crate) fn dialect_name(&self) -> &'static str {
        match self {
            Target::Sqlite { .. } => "sqlite",
            Target::Postgres(_) => "postgresql",
            Target::MySql(_) => "mysql",
        }
    }
}

pub(crate) fn target(config: &SqlConfig) -> Result<Target> {
    match &config.url {
        Some(url) => from_url(url.expose()),
        None => from_parts(config),
    }
}

fn from_url(url: &str) -> Result<Target> {
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
        "postgres" | "postgresql" => Ok(Target::Postgres(Secret::new(format!("postgres:{rest}")))),
        "mysql" | "mariadb" => Ok(Target::MySql(Secret::new(format!("mysql:{rest}")))),
        other => Err(Error::new(
            ErrorKind::Unsupported,
            format!("expected a url for sqlite, postgresql or mysql, found the scheme `{other}`"),
        )),
    }
}

fn sqlite_from_url_rest(rest: &str) -> Target {
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
    Target::Sqlite {
        path: (!memory).then(|| PathBuf::from(path)),
        read_only,
    }
}

fn from_parts(config: &SqlConfig) -> Result<Target> {
    let dialect = config.dialect.as_deref().unwrap_or_default();
    if is_sqlite(dialect) {
        let path = config
            .database
            .clone()
            .filter(|d| !d.is_empty() && d != ":memory:");
        return Ok(Target::Sqlite {
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

/// A server URL made ready for sqlx: only the query parameters its driver reads stay in it.
///
/// sqlx logs an unrecognised parameter *with its value* (PostgreSQL), and a value can be a
/// secret (`sslpassword=...`, a misspelt `pasword=...`): such parameters are dropped here and
/// reported by name only. Parameters in `take` are removed from the URL and returned decoded,
/// for options the driver's URL parser does not read.
#[cfg(any(feature = "postgres", feature = "mysql"))]
#[derive(Debug, Default)]
pub(crate) struct DriverUrl {
    pub(crate) url: String,
    /// Names of the parameters dropped, never their values.
    pub(crate) dropped: Vec<String>,
    /// `(name, value)` of the parameters taken out.
    pub(crate) taken: Vec<(String, String)>,
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn driver_url(url: &str, known: impl Fn(&str) -> bool, take: &[&str]) -> DriverUrl {
    let without_fragment = url.split_once('#').map_or(url, |(before, _)| before);
    let Some((base, query)) = without_fragment.split_once('?') else {
        return DriverUrl {
            url: without_fragment.to_owned(),
            ..DriverUrl::default()
        };
    };
    let mut out = DriverUrl::default();
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(raw_key);
        if take.contains(&key.as_str()) {
            out.taken.push((key, percent_decode(raw_value)));
        } else if known(&key) {
            kept.push(pair);
        } else {
            out.dropped.push(key);
        }
    }
    out.url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    out
}

/// Decode `%XX` escapes and `+` (form encoding, as URL query parsers do).
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encode everything but RFC 3986's unreserved characters.
pub(crate) fn percent_encode(text: &str) -> String {
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

    fn sqlite(path: Option<&str>, read_only: bool) -> Target {
        Target::Sqlite {
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
        let Target::Postgres(url) = target(&config).unwrap() else {
            panic!("not postgres")
        };
        assert_eq!(
            url.expose(),
            "postgres://me%40corp:p%40ss%3Aw%2Frd@db.local:5433/app?sslmode=require"
        );
    }

    #[test]
    fn driver_urls_keep_known_parameters_and_drop_the_rest_by_name() {
        let known = |k: &str| matches!(k, "sslmode" | "password");
        let u = driver_url(
            "postgres://u@h/db?sslmode=require&sslpassword=s3cret&password=p%40ss&pasword=typo#frag",
            known,
            &[],
        );
        assert_eq!(u.url, "postgres://u@h/db?sslmode=require&password=p%40ss");
        assert_eq!(u.dropped, vec!["sslpassword", "pasword"]);
        let u = driver_url(
            "mysql://u@h/db?password=p%40ss&user=me",
            |_| false,
            &["password"],
        );
        assert_eq!(u.url, "mysql://u@h/db");
        assert_eq!(u.taken, vec![("password".to_owned(), "p@ss".to_owned())]);
        assert_eq!(u.dropped, vec!["user"]);
        assert_eq!(
            driver_url("postgres://h/db", known, &[]).url,
            "postgres://h/db"
        );
    }

    #[test]
    fn unknown_scheme_is_named() {
        let err = from_url("oracle://x").unwrap_err();
        assert!(err.message().contains("`oracle`"), "{err}");
    }
}
