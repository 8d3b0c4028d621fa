//! The ODBC connection string a section describes: given whole, a DSN, a driver with the
//! usual parts, or Streamlit's SQL keys (`url = "mssql+pyodbc://..."`, or `dialect`, `host`...
//! with `query = { driver = "..." }`) assembled as SQLAlchemy's pyodbc dialect assembles them.
//!
//! Values are escaped as ODBC reads them: a value holding `;`, `{`, `}`, `+`, `=` or edge
//! spaces is wrapped in braces with every `}` doubled, so that no value can end its attribute
//! and start another (`PWD=x;Driver=...`).

use dataconn_core::{ConnectionConfig, is_secret_key};
use toml::Value;

use crate::config::OdbcConfig;

/// A connection string, and what it names for messages (never the password).
#[derive(Clone)]
pub(crate) struct Assembled {
    /// The connection string.
    pub(crate) text: String,
    /// The server (`host,port`, `host`) or DSN it names, when it names one.
    pub(crate) server: Option<String>,
    /// The user it logs in as, when it names one.
    pub(crate) user: Option<String>,
    /// What the database is, as far as the section says (a dialect, a driver's name): picks
    /// how `:name` parameters are found.
    pub(crate) dbms: String,
}

/// By hand: the text holds the password.
impl std::fmt::Debug for Assembled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assembled")
            .field("server", &self.server)
            .field("user", &self.user)
            .field("dbms", &self.dbms)
            .finish_non_exhaustive()
    }
}

impl Assembled {
    /// `"server 127.0.0.1,1433 as user sa"`, for messages.
    pub(crate) fn describe(&self) -> String {
        let mut out = match &self.server {
            Some(server) => format!("server {server}"),
            None => "the data source".to_owned(),
        };
        if let Some(user) = &self.user {
            out.push_str(&format!(" as user {user}"));
        }
        out
    }
}

/// A value as ODBC reads it: braced, `}` doubled, when it could be read as more than a value.
pub(crate) fn escape(value: &str) -> String {
    let risky = value.contains([';', '{', '}', '+', '='])
        || value.starts_with(char::is_whitespace)
        || value.ends_with(char::is_whitespace);
    if risky {
        format!("{{{}}}", value.replace('}', "}}"))
    } else {
        value.to_owned()
    }
}

/// The `key=value` attributes of a connection string, braces read as ODBC reads them.
pub(crate) fn attributes(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key.trim().trim_start_matches(';').trim().to_owned();
        let (value, after) = if let Some(braced) = after.strip_prefix('{') {
            // Up to the first `}` not doubled.
            let mut value = String::new();
            let mut chars = braced.char_indices().peekable();
            let mut end = braced.len();
            while let Some((i, c)) = chars.next() {
                if c == '}' {
                    if chars.peek().map(|(_, c)| *c) == Some('}') {
                        chars.next();
                        value.push('}');
                        continue;
                    }
                    end = i + 1;
                    break;
                }
                value.push(c);
            }
            let after = &braced[end.min(braced.len())..];
            (value, after.split_once(';').map_or("", |(_, r)| r))
        } else {
            match after.split_once(';') {
                Some((value, r)) => (value.to_owned(), r),
                None => (after.to_owned(), ""),
            }
        };
        out.push((key, value));
        rest = after;
    }
    out
}

/// The value of `key` (any case) in a connection string.
fn attribute(text: &str, keys: &[&str]) -> Option<String> {
    attributes(text)
        .into_iter()
        .find(|(k, _)| keys.iter().any(|key| k.eq_ignore_ascii_case(key)))
        .map(|(_, v)| v)
}

/// `key=value` pairs joined with `;`, each value escaped.
fn join(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", escape(v)))
        .collect::<Vec<_>>()
        .join(";")
}

/// A TOML value as connection-string text; tables and arrays have none.
fn text_of(value: &Value) -> Option<String> {
    Some(match value {
        Value::String(s) => s.clone(),
        Value::Integer(n) => n.to_string(),
        Value::Float(x) => x.to_string(),
        Value::Boolean(b) => if *b { "yes" } else { "no" }.to_owned(),
        _ => return None,
    })
}

/// Extra attributes from a table (`options`, Streamlit's `query`).
fn table_pairs(
    table: &toml::Table,
    key: &str,
    config: &ConnectionConfig,
) -> Result<Vec<(String, String)>, String> {
    table
        .iter()
        .map(|(k, v)| {
            text_of(v).map(|text| (k.clone(), text)).ok_or_else(|| {
                format!(
                    "expected `{key}.{k}` to be a string, a number or true/false ({}), found {}",
                    config.origin(key),
                    v.type_str()
                )
            })
        })
        .collect()
}

/// The parts of an address, from keys or from a URL.
#[derive(Default)]
struct Parts {
    host: Option<String>,
    port: Option<u16>,
    database: Option<String>,
    user: Option<String>,
    password: Option<String>,
    /// URL query / `query` table, in order.
    query: Vec<(String, String)>,
}

/// The port from its key: a number or digits, 1 to 65535.
fn port_of(value: Option<&Value>, config: &ConnectionConfig) -> Result<Option<u16>, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    let parsed = match value {
        Value::Integer(n) => u16::try_from(*n).ok(),
        Value::String(s) => s.trim().parse::<u16>().ok(),
        _ => None,
    };
    parsed.filter(|p| *p > 0).map(Some).ok_or_else(|| {
        format!(
            "expected `port` to be a port number from 1 to 65535 ({}), found {value}",
            config.origin("port")
        )
    })
}

/// Attributes a driver gets unless the section sets them. PostgreSQL's psqlODBC returns
/// booleans as the characters `1`/`0` by default (`BoolsAsChar=1`): `BoolsAsChar=0` makes
/// them booleans. It reports a `numeric` without a declared precision as NUMERIC(28, s) with
/// a guessed scale, which would drop digits beyond it: `NumericAs=12` makes those columns
/// text holding the exact digits (declared `numeric(p, s)` stay decimals).
const DRIVER_DEFAULTS: &[(&str, &str, &str)] = &[
    ("postgres", "BoolsAsChar", "0"),
    ("postgres", "NumericAs", "12"),
];

/// `assembled` with the defaults of its driver that it does not set itself.
fn with_driver_defaults(mut assembled: Assembled) -> Assembled {
    let dbms = assembled.dbms.to_ascii_lowercase();
    for (driver, key, value) in DRIVER_DEFAULTS {
        if dbms.contains(driver) && attribute(&assembled.text, &[key]).is_none() {
            if !assembled.text.is_empty() && !assembled.text.ends_with(';') {
                assembled.text.push(';');
            }
            assembled.text.push_str(&format!("{key}={value}"));
        }
    }
    assembled
}

/// The connection string of a section, or the sentence saying what is wrong.
pub(crate) fn assemble(
    parsed: &OdbcConfig,
    config: &ConnectionConfig,
) -> Result<Assembled, String> {
    assemble_as_written(parsed, config).map(with_driver_defaults)
}

/// The connection string the section's keys spell, before driver defaults.
fn assemble_as_written(
    parsed: &OdbcConfig,
    config: &ConnectionConfig,
) -> Result<Assembled, String> {
    let options = table_pairs(&parsed.options, "options", config)?;
    let has_parts = parsed.host.is_some()
        || parsed.port.is_some()
        || parsed.database.is_some()
        || parsed.username.is_some()
        || parsed.password.is_some();
    let forms: Vec<&str> = [
        ("connection_string", parsed.connection_string.is_some()),
        ("url", parsed.url.is_some()),
        ("dsn", parsed.dsn.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, given)| given.then_some(k))
    .collect();
    if forms.len() > 1 {
        return Err(format!(
            "expected one of `connection_string`, `url` and `dsn`, found {} ({})",
            forms.join(" and "),
            forms
                .iter()
                .map(|k| config.origin(k))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(whole) = &parsed.connection_string {
        if has_parts || parsed.driver.is_some() || parsed.dialect.is_some() {
            return Err(format!(
                "expected `connection_string` alone or the parts (`driver`, `host`, `port`, \
                 `database`, `username`, `password`), found both ({})",
                config.origin("connection_string")
            ));
        }
        return Ok(whole_string(whole.expose(), &options));
    }
    if let Some(url) = &parsed.url {
        if has_parts || parsed.dialect.is_some() {
            return Err(format!(
                "expected `url` alone or the parts (`dialect`, `host`, `port`, `database`, \
                 `username`, `password`), found both ({})",
                config.origin("url")
            ));
        }
        return from_url(url, parsed, &options, config);
    }
    let query = table_pairs(&parsed.query, "query", config)?;
    let port = port_of(parsed.port.as_ref(), config)?;
    let parts = Parts {
        host: parsed.host.clone(),
        port,
        database: parsed.database.clone(),
        user: parsed.username.clone(),
        password: parsed.password.as_ref().map(|p| p.expose().to_owned()),
        query,
    };
    if let Some(dialect) = &parsed.dialect {
        if let Some(driver) = &parsed.driver
            && !driver.eq_ignore_ascii_case("pyodbc")
        {
            return Err(format!(
                "expected `driver = \"pyodbc\"` with `dialect` (SQLAlchemy's driver; the ODBC \
                 driver goes in `query.driver`) ({}), found {driver:?}",
                config.origin("driver")
            ));
        }
        return Ok(sqlalchemy_pyodbc(dialect, parts, &options));
    }
    if !parts.query.is_empty() {
        return Err(format!(
            "expected `query` only with Streamlit's `dialect` or `url` ({}); put other \
             connection-string attributes in `options`",
            config.origin("query")
        ));
    }
    if let Some(dsn) = &parsed.dsn {
        return Ok(native(("DSN", dsn), parts, &options, false));
    }
    if let Some(driver) = &parsed.driver {
        let lower = driver.to_ascii_lowercase();
        // Microsoft's drivers, by name or by library path, read the port in `Server`.
        let sql_server = lower.contains("sql server") || lower.contains("msodbcsql");
        return Ok(native(("Driver", driver), parts, &options, sql_server));
    }
    Err(format!(
        "expected `connection_string`, `dsn`, `driver` (with `host`, `database`...), or \
         Streamlit's `url` or `dialect`, found none of them (in {})",
        config.sources()
    ))
}

/// A connection string given whole, with `options` appended.
fn whole_string(text: &str, options: &[(String, String)]) -> Assembled {
    let mut text = text.trim().trim_end_matches(';').to_owned();
    if !options.is_empty() {
        text.push(';');
        text.push_str(&join(options));
    }
    let server = attribute(&text, &["Server", "Servername", "Host", "DSN"]).map(|server| {
        match attribute(&text, &["Port"]) {
            Some(port) => format!("{server}:{port}"),
            None => server,
        }
    });
    Assembled {
        server,
        user: attribute(&text, &["UID", "User", "Username"]),
        dbms: attribute(&text, &["Driver", "DSN"]).unwrap_or_default(),
        text,
    }
}

/// `Driver={..}` or `DSN=..` with the usual parts. SQL Server takes its port after a comma in
/// `Server`; the other drivers (PostgreSQL's, MariaDB's, MySQL's) take a `Port` attribute.
fn native(
    first: (&str, &str),
    parts: Parts,
    options: &[(String, String)],
    comma_port: bool,
) -> Assembled {
    let (first_key, first_value) = first;
    let mut text = if first_key == "Driver" {
        format!("Driver={{{}}}", first_value.replace('}', "}}"))
    } else {
        format!("DSN={}", escape(first_value))
    };
    let mut pairs = Vec::new();
    let server = match (&parts.host, parts.port) {
        (Some(host), Some(port)) if comma_port => {
            pairs.push(("Server".to_owned(), format!("{host},{port}")));
            Some(format!("{host},{port}"))
        }
        (Some(host), port) => {
            pairs.push(("Server".to_owned(), host.clone()));
            if let Some(port) = port {
                pairs.push(("Port".to_owned(), port.to_string()));
            }
            Some(port.map_or(host.clone(), |p| format!("{host}:{p}")))
        }
        (None, Some(port)) => {
            pairs.push(("Port".to_owned(), port.to_string()));
            None
        }
        (None, None) => None,
    };
    if let Some(db) = &parts.database {
        pairs.push(("Database".to_owned(), db.clone()));
    }
    if let Some(user) = &parts.user {
        pairs.push(("UID".to_owned(), user.clone()));
    }
    if let Some(password) = &parts.password {
        pairs.push(("PWD".to_owned(), password.clone()));
    }
    pairs.extend(options.iter().cloned());
    if !pairs.is_empty() {
        text.push(';');
        text.push_str(&join(&pairs));
    }
    Assembled {
        text,
        server: server.or_else(|| (first_key == "DSN").then(|| format!("DSN {first_value}"))),
        user: parts.user,
        dbms: first_value.to_owned(),
    }
}

/// SQLAlchemy's `unquote_plus`: `+` is a space and `%XX` a byte (it decodes `odbc_connect`
/// once more, whether it came in a URL or in a `query` table).
fn unquote_plus(text: &str) -> String {
    url::form_urlencoded::parse(
        format!("x={}", text.replace('&', "%26").replace('=', "%3D")).as_bytes(),
    )
    .next()
    .map(|(_, v)| v.into_owned())
    .unwrap_or_default()
}

/// Streamlit's keys (or URL) as SQLAlchemy's pyodbc dialect turns them into a connection
/// string (`PyODBCConnector.create_connect_args`), step for step on the same ordered keys:
/// the URL's host, database, user, password and port, then its query. `odbc_connect` is used
/// whole; a host without a database is a DSN; otherwise `DRIVER={..};Server=host,port;
/// Database=db`; `UID`/`PWD`, or `Authentication`, or `Trusted_Connection=Yes`; the keys left
/// over as attributes. Two fixes over SQLAlchemy: values are escaped whenever ODBC could
/// misread them (SQLAlchemy only when they hold `;` or start with `{`), and dialects other than
/// SQL Server get `Port=` (SQLAlchemy writes `host,port` for every one, which only SQL Server
/// reads).
fn sqlalchemy_pyodbc(dialect: &str, parts: Parts, options: &[(String, String)]) -> Assembled {
    let mut keys: Vec<(String, String)> = [
        ("host", parts.host.clone()),
        ("database", parts.database.clone()),
        ("user", parts.user.clone()),
        ("password", parts.password.clone()),
        ("port", parts.port.map(|p| p.to_string())),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
    .collect();
    let port_in_query = parts.query.iter().any(|(k, _)| k == "port");
    // Python's `dict.update`: a query key replaces a part in place, others go at the end.
    for (key, value) in parts.query {
        match keys.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => keys.push((key, value)),
        }
    }
    let take = |keys: &mut Vec<(String, String)>, key: &str| {
        let i = keys.iter().position(|(k, _)| k == key)?;
        Some(keys.remove(i).1)
    };
    // pyodbc's own arguments, not attributes.
    for key in ["ansi", "unicode_results", "autocommit"] {
        take(&mut keys, key);
    }
    if let Some(whole) = take(&mut keys, "odbc_connect") {
        let mut out = whole_string(&unquote_plus(&whole), options);
        out.dbms = dialect.to_owned();
        return out;
    }
    let sql_server = dialect.eq_ignore_ascii_case("mssql");
    let has = |keys: &[(String, String)], key: &str| keys.iter().any(|(k, _)| k == key);
    let mut pairs: Vec<(String, String)> = Vec::new();
    let server;
    if has(&keys, "dsn") || (has(&keys, "host") && !has(&keys, "database")) {
        let name = take(&mut keys, "host")
            .filter(|h| !h.is_empty())
            .or_else(|| take(&mut keys, "dsn"))
            .unwrap_or_default();
        server = Some(format!("DSN {name}"));
        pairs.push(("dsn".to_owned(), name));
    } else {
        let port = if port_in_query {
            None
        } else {
            take(&mut keys, "port")
        };
        let driver = take(&mut keys, "driver");
        let host = take(&mut keys, "host").unwrap_or_default();
        if let Some(driver) = driver {
            pairs.push((
                "DRIVER".to_owned(),
                format!("{{{}}}", driver.replace('}', "}}")),
            ));
        }
        match &port {
            Some(port) if sql_server => {
                pairs.push(("Server".to_owned(), format!("{host},{port}")));
            }
            Some(port) => {
                pairs.push(("Server".to_owned(), host.clone()));
                pairs.push(("Port".to_owned(), port.clone()));
            }
            None => pairs.push(("Server".to_owned(), host.clone())),
        }
        server = Some(match &port {
            Some(port) => format!("{host},{port}"),
            None => host,
        });
        pairs.push((
            "Database".to_owned(),
            take(&mut keys, "database").unwrap_or_default(),
        ));
    }
    let user = take(&mut keys, "user").filter(|u| !u.is_empty());
    match &user {
        Some(user) => {
            pairs.push(("UID".to_owned(), user.clone()));
            if let Some(password) = take(&mut keys, "password").filter(|p| !p.is_empty()) {
                pairs.push(("PWD".to_owned(), password));
            }
        }
        None => match take(&mut keys, "authentication") {
            Some(auth) => pairs.push(("Authentication".to_owned(), auth)),
            None => pairs.push(("Trusted_Connection".to_owned(), "Yes".to_owned())),
        },
    }
    if let Some(translate) = take(&mut keys, "odbc_autotranslate") {
        pairs.push(("AutoTranslate".to_owned(), translate));
    }
    pairs.extend(keys);
    pairs.extend(options.iter().cloned());
    let text = pairs
        .iter()
        .map(|(k, v)| {
            // The driver is braced already.
            if k == "DRIVER" {
                format!("{k}={v}")
            } else {
                format!("{k}={}", escape(v))
            }
        })
        .collect::<Vec<_>>()
        .join(";");
    Assembled {
        text,
        server,
        user,
        dbms: dialect.to_owned(),
    }
}

/// A SQLAlchemy URL: `<dialect>+pyodbc://user:password@host:port/database?key=value`.
fn from_url(
    url: &str,
    parsed: &OdbcConfig,
    options: &[(String, String)],
    config: &ConnectionConfig,
) -> Result<Assembled, String> {
    let origin = config.origin("url");
    let Some((scheme, _)) = url.split_once("://") else {
        return Err(format!(
            "expected `url` to be a SQLAlchemy URL such as \
             mssql+pyodbc://user:password@host:1433/db?driver=... ({origin}), found no `://`"
        ));
    };
    let (dialect, driver) = scheme.split_once('+').unwrap_or((scheme, "pyodbc"));
    if !driver.eq_ignore_ascii_case("pyodbc") {
        return Err(format!(
            "expected a `+pyodbc` URL for the ODBC connector ({origin}), found the `{driver}` \
             driver of {dialect}"
        ));
    }
    let parsed_url = url::Url::parse(url).map_err(|e| {
        format!(
            "expected `url` to be a SQLAlchemy URL ({origin}), found one that cannot be read: {e}"
        )
    })?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").replace('+', "%2B").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let mut query: Vec<(String, String)> = parsed_url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    query.extend(table_pairs(&parsed.query, "query", config)?);
    let database = parsed_url.path().trim_start_matches('/');
    let parts = Parts {
        host: parsed_url.host_str().map(str::to_owned),
        port: parsed_url.port(),
        database: (!database.is_empty()).then(|| decode(database)),
        user: (!parsed_url.username().is_empty()).then(|| decode(parsed_url.username())),
        password: parsed_url.password().map(decode),
        query,
    };
    Ok(sqlalchemy_pyodbc(dialect, parts, options))
}

/// The values to mask for an ODBC section: core's, and every secret attribute (`PWD`,
/// `Password`, tokens, keys) inside a connection string, however it is given.
pub(crate) fn masks(config: &ConnectionConfig) -> Vec<String> {
    let mut out = config.sensitive_values();
    // How a password is written into the connection string (`{a}}b}`), in case a driver
    // echoes it.
    for key in ["password", "pwd"] {
        if let Some(Value::String(password)) = config.get(key) {
            out.push(escape(password));
            out.push(password.replace('}', "}}"));
        }
    }
    let mut strings: Vec<String> = ["connection_string", "odbc_connect"]
        .iter()
        .filter_map(|k| config.get(k).and_then(Value::as_str).map(str::to_owned))
        .collect();
    if let Some(Value::Table(query)) = config.get("query")
        && let Some(Value::String(whole)) = query.get("odbc_connect")
    {
        strings.push(whole.clone());
    }
    if let Some(Value::String(url)) = config.get("url")
        && let Ok(parsed) = url::Url::parse(url)
    {
        strings.extend(
            parsed
                .query_pairs()
                .filter(|(k, _)| k == "odbc_connect")
                .map(|(_, v)| v.into_owned()),
        );
    }
    for text in strings {
        for (key, value) in attributes(&text) {
            if is_secret_key(&key) && !value.is_empty() {
                out.push(escape(&value));
                out.push(value.replace('}', "}}"));
                out.push(value);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn attribute_map(text: &str) -> BTreeMap<String, String> {
        attributes(text)
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect()
    }

    fn section(text: &str) -> ConnectionConfig {
        ConnectionConfig::new("db", crate::TYPE, toml::from_str(text).unwrap())
    }

    fn assembled(text: &str) -> Result<Assembled, String> {
        let config = section(text);
        let parsed: OdbcConfig = toml::Value::Table(config.options().clone())
            .try_into()
            .unwrap();
        assemble(&parsed, &config)
    }

    #[test]
    fn values_that_could_end_their_attribute_are_braced() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a;b"), "{a;b}");
        assert_eq!(escape("a}b;"), "{a}}b;}");
        assert_eq!(escape("x;Driver={evil}"), "{x;Driver={evil}}}");
        assert_eq!(escape(" edge"), "{ edge}");
        assert_eq!(escape("p+w"), "{p+w}");
        // What is braced reads back as written.
        for value in ["a;b", "a}b;", "{x}", "x;Driver={evil}", "=;=", " s "] {
            let text = format!("UID=u;PWD={};Database=d", escape(value));
            assert_eq!(attribute_map(&text)["pwd"], value, "{text}");
            assert_eq!(attribute_map(&text)["database"], "d", "{text}");
        }
    }

    #[test]
    fn a_driver_with_parts_builds_one_attribute_each() {
        let out = assembled(
            "driver = \"PostgreSQL Unicode\"\nhost = \"127.0.0.1\"\nport = 5432\ndatabase = \"test\"\nusername = \"postgres\"\npassword = \"p;w\"\n[options]\nsslmode = \"disable\"\n",
        )
        .unwrap();
        assert_eq!(
            out.text,
            "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;Database=test;UID=postgres;PWD={p;w};sslmode=disable;BoolsAsChar=0;NumericAs=12"
        );
        assert_eq!(out.describe(), "server 127.0.0.1:5432 as user postgres");
    }

    #[test]
    fn psqlodbc_defaults_apply_unless_the_section_sets_them() {
        let given = assembled(
            "connection_string = \"Driver={PostgreSQL Unicode};Server=h;BoolsAsChar=1\"\n",
        )
        .unwrap();
        assert_eq!(
            given.text,
            "Driver={PostgreSQL Unicode};Server=h;BoolsAsChar=1;NumericAs=12"
        );
        let sqlite = assembled("driver = \"SQLite3\"\ndatabase = \"a.db\"\n").unwrap();
        assert_eq!(sqlite.text, "Driver={SQLite3};Database=a.db");
    }

    #[test]
    fn microsofts_driver_takes_the_port_after_a_comma() {
        let out = assembled(
            "driver = \"ODBC Driver 18 for SQL Server\"\nhost = \"db\"\nport = 1433\nusername = \"sa\"\n",
        )
        .unwrap();
        assert_eq!(
            out.text,
            "Driver={ODBC Driver 18 for SQL Server};Server=db,1433;UID=sa"
        );
    }

    #[test]
    fn streamlits_mssql_section_maps_as_sqlalchemy_maps_it() {
        let out = assembled(
            "dialect = \"mssql\"\ndriver = \"pyodbc\"\nhost = \"sql.example.com\"\nport = 1433\ndatabase = \"sales\"\nusername = \"app\"\npassword = \"s3cret\"\n[query]\ndriver = \"ODBC Driver 18 for SQL Server\"\nencrypt = \"yes\"\n",
        )
        .unwrap();
        assert_eq!(
            out.text,
            "DRIVER={ODBC Driver 18 for SQL Server};Server=sql.example.com,1433;Database=sales;UID=app;PWD=s3cret;encrypt=yes"
        );
        let url = assembled(
            "url = \"mssql+pyodbc://app:s3cret@sql.example.com:1433/sales?driver=ODBC+Driver+18+for+SQL+Server&encrypt=yes\"\n",
        )
        .unwrap();
        assert_eq!(url.text, out.text);
        assert_eq!(url.describe(), "server sql.example.com,1433 as user app");
    }

    #[test]
    fn sqlalchemys_other_forms_dsn_trusted_and_odbc_connect() {
        assert_eq!(
            assembled("url = \"mssql+pyodbc://u:p@mydsn\"\n")
                .unwrap()
                .text,
            "dsn=mydsn;UID=u;PWD=p"
        );
        assert_eq!(
            assembled("url = \"mssql+pyodbc://h/db?driver=X\"\n")
                .unwrap()
                .text,
            "DRIVER={X};Server=h;Database=db;Trusted_Connection=Yes"
        );
        let raw = assembled(
            "url = \"mssql+pyodbc:///?odbc_connect=Driver%3D%7BX%7D%3BServer%3Dh%3BPWD%3Dpw\"\n",
        )
        .unwrap();
        assert_eq!(raw.text, "Driver={X};Server=h;PWD=pw");
    }

    #[test]
    fn microsofts_driver_by_library_path_takes_the_port_after_a_comma_too() {
        let out = assembled(
            "driver = \"/opt/microsoft/msodbcsql18/lib64/libmsodbcsql-18.so\"\nhost = \"db\"\nport = 14330\n",
        )
        .unwrap();
        assert!(out.text.ends_with(";Server=db,14330"), "{}", out.text);
    }

    #[test]
    fn conflicting_and_missing_forms_are_named() {
        let both = assembled("connection_string = \"DSN=x\"\ndsn = \"y\"\n").unwrap_err();
        assert!(both.contains("connection_string and dsn"), "{both}");
        let none = assembled("host = \"h\"\n").unwrap_err();
        assert!(none.contains("found none of them"), "{none}");
        let pymssql = assembled("url = \"mssql+pymssql://h/db\"\n").unwrap_err();
        assert!(pymssql.contains("`pymssql` driver"), "{pymssql}");
        let odbc_driver =
            assembled("dialect = \"mssql\"\ndriver = \"ODBC Driver 18\"\n").unwrap_err();
        assert!(odbc_driver.contains("query.driver"), "{odbc_driver}");
    }

    #[test]
    fn passwords_inside_connection_strings_are_masked() {
        let config = section(
            "connection_string = \"Driver={X};UID=u;PWD={a;b};Server=h\"\n[query]\nodbc_connect = \"DSN=d;Password=hunter22\"\n",
        );
        let masks = masks(&config);
        assert!(masks.contains(&"a;b".to_owned()), "{masks:?}");
        assert!(masks.contains(&"{a;b}".to_owned()), "{masks:?}");
        assert!(masks.contains(&"hunter22".to_owned()), "{masks:?}");
    }
}
