//! Which values are secret, and how to show text without them.
//!
//! This is the one definition every part uses: [`is_secret_key`] decides which keys hold
//! secrets (in a section, nested under such a key, or in a URL's query), [`url_secrets`] finds
//! the secrets a URL carries (its password, however it is written, and secret query
//! parameters), and [`mask_url`] prints a URL with them masked.

use toml::{Table, Value};

/// Words that make a key secret wherever they appear in it (case-insensitive).
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "key",
    "credential",
    "sas",
    "signature",
    "connection_string",
    "connectionstring",
    // SQLAlchemy's `?odbc_connect=`: a whole ODBC connection string, password included.
    "odbc_connect",
    "authorization",
];

/// Whether a key names a secret (`password`, `aws_secret_access_key`, `token`, `private_key`,
/// `sas_token`, `connection_string`, a URL's `sig`...).
///
/// A key naming a URL (`token_uri`, `endpoint_url`) is not secret as a whole: the secrets a URL
/// carries are found by [`url_secrets`].
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    if ["_url", "_uri", "_endpoint"]
        .iter()
        .any(|end| key.ends_with(end))
    {
        return false;
    }
    key == "sig" || SECRET_WORDS.iter().any(|w| key.contains(w))
}

/// Every value in `table` that must never be shown: each value under a secret key (strings,
/// numbers and other scalars as written, and everything nested under it), and the secrets of
/// every URL-like string.
pub(crate) fn collect_sensitive(table: &Table, inherited: bool, out: &mut Vec<String>) {
    for (key, value) in table {
        collect_value(value, inherited || is_secret_key(key), out);
    }
}

fn collect_value(value: &Value, secret: bool, out: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if secret {
                out.push(s.clone());
            }
            out.extend(url_secrets(s));
        }
        Value::Table(inner) => collect_sensitive(inner, secret, out),
        Value::Array(items) => {
            for item in items {
                collect_value(item, secret, out);
            }
        }
        // A numeric password (`password = 123456`) is as secret as a quoted one.
        other if secret => out.push(other.to_string()),
        _ => {}
    }
}

/// The secrets a URL carries: the password of `scheme://user:password@host`, as written and
/// percent-decoded (also when it holds an unescaped `/`, `?`, `#` or `@`), and the values of
/// secret query parameters such as `?password=` or `&sslpassword=`.
///
/// # Examples
/// ```
/// use dataconn_core::url_secrets;
/// assert_eq!(url_secrets("postgres://me:pa/ss@h/db"), vec!["pa/ss"]);
/// assert_eq!(url_secrets("mysql://h/db?user=me&password=pw"), vec!["pw"]);
/// assert!(url_secrets("sqlite:///a.db").is_empty());
/// ```
pub fn url_secrets(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    for range in secret_ranges(url) {
        let raw = &url[range];
        out.push(raw.to_owned());
        let decoded = percent_decode(raw);
        if decoded != raw {
            out.push(decoded);
        }
    }
    out
}

/// The URL with its password and secret query values replaced by `***`; text that is not a
/// URL comes back as it is.
///
/// # Examples
/// ```
/// use dataconn_core::mask_url;
/// assert_eq!(mask_url("postgresql://admin:admin@h/db"), "postgresql://admin:***@h/db");
/// assert_eq!(mask_url("mysql://h/db?password=x&ssl=1"), "mysql://h/db?password=***&ssl=1");
/// ```
pub fn mask_url(url: &str) -> String {
    let mut out = url.to_owned();
    let mut ranges = secret_ranges(url);
    ranges.sort_by_key(|r| std::cmp::Reverse(r.start));
    for range in ranges {
        out.replace_range(range, "***");
    }
    out
}

/// Byte ranges of `url` that hold secrets.
fn secret_ranges(url: &str) -> Vec<std::ops::Range<usize>> {
    let Some(scheme_end) = url.find("://") else {
        return Vec::new();
    };
    let start = scheme_end + 3;
    let rest = &url[start..];
    let mut ranges = Vec::new();
    let (userinfo_len, authority_end) = split_authority(rest);
    if let Some(len) = userinfo_len
        && let Some(colon) = rest[..len].find(':')
        && colon + 1 < len
    {
        ranges.push(start + colon + 1..start + len);
    }
    let after = &rest[authority_end..];
    if let Some(q) = after.find('?') {
        let query_start = start + authority_end + q + 1;
        let query = &url[query_start..];
        let query = &query[..query.find('#').unwrap_or(query.len())];
        let mut offset = query_start;
        for pair in query.split('&') {
            if let Some((key, value)) = pair.split_once('=')
                && !value.is_empty()
                && is_secret_key(&percent_decode(key))
            {
                let value_start = offset + key.len() + 1;
                ranges.push(value_start..value_start + value.len());
            }
            offset += pair.len() + 1;
        }
    }
    ranges
}

/// The length of the userinfo (before its `@`), if any, and where the authority ends.
///
/// Read strictly first (the authority ends at the first `/`, `?` or `#`). When that leaves a
/// host with a port that is not a number, the password held one of those characters unescaped
/// (`user:pa/ss@host`), so the userinfo runs to the last `@` before the first delimiter that
/// follows an `@`.
fn split_authority(rest: &str) -> (Option<usize>, usize) {
    let delimiter = |s: &str| s.find(['/', '?', '#']).unwrap_or(s.len());
    let end = delimiter(rest);
    let authority = &rest[..end];
    let at = authority.rfind('@');
    let host = at.map_or(authority, |at| &authority[at + 1..]);
    if port_is_valid(host) {
        return (at, end);
    }
    let Some(first_at) = rest.find('@') else {
        return (None, end);
    };
    let end = first_at + delimiter(&rest[first_at..]);
    let at = rest[..end].rfind('@').unwrap_or(first_at);
    (Some(at), end)
}

fn port_is_valid(host: &str) -> bool {
    let after_bracket = host.rfind(']').map_or(host, |i| &host[i + 1..]);
    match after_bracket.rsplit_once(':') {
        Some((_, port)) => port.bytes().all(|b| b.is_ascii_digit()),
        None => true,
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_odbc_connection_string_in_a_sqlalchemy_url_is_masked_whole() {
        let url = "mssql+pyodbc:///?odbc_connect=Driver%3D%7BX%7D%3BPWD%3Dhunter2&autocommit=true";
        assert_eq!(
            mask_url(url),
            "mssql+pyodbc:///?odbc_connect=***&autocommit=true"
        );
        assert!(url_secrets(url).iter().any(|s| s.contains("PWD=hunter2")));
    }

    #[test]
    fn url_passwords_are_found_however_written() {
        let cases: &[(&str, &[&str])] = &[
            ("postgres://me:hunter2@h/db", &["hunter2"]),
            ("postgresql://admin:admin@h/db", &["admin"]),
            ("postgres://me:pa/ss@h:5432/db", &["pa/ss"]),
            ("postgres://me:pa?ss@h/db", &["pa?ss"]),
            ("postgres://me:pa#ss@h/db", &["pa#ss"]),
            ("postgres://me:p@ss@h/db", &["p@ss"]),
            ("postgres://me:p%40ss@h/db", &["p%40ss", "p@ss"]),
            ("postgres://me:pw@h/db?email=a@b", &["pw"]),
            (
                "mysql://me@h/db?password=s3cret&ssl-mode=required",
                &["s3cret"],
            ),
            ("postgres://h/db?sslpassword=k3y", &["k3y"]),
            (
                "https://acct.blob.core.windows.net/c?sv=1&sig=abc%2F",
                &["abc%2F", "abc/"],
            ),
            ("postgres://me:x@h/db", &["x"]),
        ];
        for (url, want) in cases {
            assert_eq!(url_secrets(url), *want, "{url}");
        }
        for url in [
            "sqlite:///a.db",
            "postgres://me@h:5432/db",
            "postgres://h:5432/db?email=a@b",
            "s3://bucket/key",
            "not a url",
        ] {
            assert!(url_secrets(url).is_empty(), "{url}: {:?}", url_secrets(url));
        }
    }

    #[test]
    fn masking_a_url_hides_every_secret_and_nothing_else() {
        let cases = [
            (
                "postgresql://admin:admin@h/db",
                "postgresql://admin:***@h/db",
            ),
            ("postgres://u:x@h/db", "postgres://u:***@h/db"),
            ("postgres://me:pa/ss@h/db", "postgres://me:***@h/db"),
            (
                "mysql://me@h/db?password=pw&password=pw2",
                "mysql://me@h/db?password=***&password=***",
            ),
            (
                "http://user:pw@proxy:8080/x",
                "http://user:***@proxy:8080/x",
            ),
            ("sqlite:///pets.db", "sqlite:///pets.db"),
        ];
        for (url, want) in cases {
            assert_eq!(mask_url(url), want, "{url}");
        }
    }

    #[test]
    fn keys_naming_urls_are_not_secret_but_their_passwords_are() {
        assert!(is_secret_key("aws_secret_access_key") && is_secret_key("private_key"));
        assert!(!is_secret_key("token_uri") && !is_secret_key("endpoint_url"));
        let table: Table = toml::from_str(
            "token_uri = \"https://oauth2.example/token\"\nsas_url = \"https://a/c?sig=s1g\"\n",
        )
        .unwrap();
        let mut out = Vec::new();
        collect_sensitive(&table, false, &mut out);
        assert_eq!(out, vec!["s1g".to_owned()]);
    }

    #[test]
    fn numeric_and_nested_secrets_are_collected() {
        let table: Table = toml::from_str(
            "password = 123456\nhost = \"h\"\nport = 5432\n[credentials]\nvalue = \"nested\"\n",
        )
        .unwrap();
        let mut out = Vec::new();
        collect_sensitive(&table, false, &mut out);
        assert!(out.contains(&"123456".to_owned()), "{out:?}");
        assert!(out.contains(&"nested".to_owned()), "{out:?}");
        assert!(!out.contains(&"5432".to_owned()) && !out.contains(&"h".to_owned()));
    }
}
