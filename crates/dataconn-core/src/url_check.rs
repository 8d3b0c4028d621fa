//! Checking URL-valued keys: one rule for every connector's `*_url` and endpoint keys.

use url::Url;

/// `value` as an http(s) URL with a host; otherwise a problem naming `key`, where it came from
/// (`origin`) and what was found (never its user name or password).
pub fn http_url(key: &str, origin: &str, value: &str) -> std::result::Result<Url, String> {
    let problem = |why: String| {
        format!(
            "expected `{key}` ({origin}) to be an http:// or https:// URL with a host, found {} \
             ({why})",
            url_for_messages(value)
        )
    };
    let url = Url::parse(value.trim()).map_err(|e| problem(format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(problem(format!("its scheme is `{}`", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(problem("it has no host".to_owned()));
    }
    Ok(url)
}

/// A URL (or text meant as one) for messages: without its user name and password.
pub fn url_for_messages(value: &str) -> String {
    match Url::parse(value.trim()) {
        Ok(mut url) if url.has_authority() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            format!("{:?}", url.as_str())
        }
        // Text that is not a URL with an authority: hide whatever stands before an `@`.
        _ => match value.rsplit_once('@') {
            Some((_, host)) => format!("\"***@{}\"", host.escape_debug()),
            None => format!("{value:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host_and_never_show_userinfo() {
        assert!(http_url("k", "here", "https://sheets.googleapis.com/").is_ok());
        assert!(http_url("k", "here", "http://127.0.0.1:8080").is_ok());
        for (bad, why) in [
            ("/x", "not a URL"),
            ("ftp://x", "scheme is `ftp`"),
            ("not a url", "not a URL"),
            ("file:///etc/passwd", "scheme is `file`"),
            ("http://", "not a URL"),
        ] {
            let problem = http_url("sheets_base_url", "secrets.toml:3", bad).unwrap_err();
            assert!(
                problem.contains("`sheets_base_url` (secrets.toml:3)") && problem.contains(why),
                "{bad}: {problem}"
            );
        }
        let problem = http_url("k", "o", "ftp://ann:hunter2@x/").unwrap_err();
        assert!(
            !problem.contains("hunter2") && !problem.contains("ann"),
            "{problem}"
        );
        let problem = http_url("k", "o", "ann:hunter2@x").unwrap_err();
        assert!(!problem.contains("hunter2"), "{problem}");
    }
}
