//! Server URLs made ready for sqlx's PostgreSQL and MySQL drivers.

/// A server URL made ready for sqlx: only the query parameters its driver reads stay in it.
///
/// sqlx logs an unrecognised parameter *with its value* (PostgreSQL), and a value can be a
/// secret (`sslpassword=...`, a misspelt `pasword=...`): such parameters are dropped here and
/// reported by name only. Parameters in `take` are removed from the URL and returned decoded,
/// for options the driver's URL parser does not read.
#[derive(Debug, Default)]
pub(crate) struct DriverUrl {
    pub(crate) url: String,
    /// Names of the parameters dropped, never their values.
    pub(crate) dropped: Vec<String>,
    /// `(name, value)` of the parameters taken out.
    pub(crate) taken: Vec<(String, String)>,
}

/// Keep the parameters of `url` that `known` says the driver reads, take out those named in
/// `take`, and drop the rest by name.
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
