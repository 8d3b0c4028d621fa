//! The values a files connection masks in every message: core's (secret keys, URL passwords)
//! and the whole userinfo of any URL in the section.

use dataconn_core::ConnectionConfig;
use toml::{Table, Value};

/// The userinfo (`user:password`) of a URL-valued string, if any.
fn url_userinfo(text: &str) -> Option<&str> {
    let rest = text.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    (!userinfo.is_empty()).then_some(userinfo)
}

/// Every value to mask: the core's list (secret keys, URL passwords) and the whole userinfo of
/// any URL in the section (`root = "https://user:pw@host/..."`); `Error::scrub` masks the
/// longest first.
pub(crate) fn sensitive_values(config: &ConnectionConfig) -> Vec<String> {
    fn urls(table: &Table, out: &mut Vec<String>) {
        for value in table.values() {
            match value {
                Value::String(s) => out.extend(url_userinfo(s).map(str::to_owned)),
                Value::Table(inner) => urls(inner, out),
                _ => {}
            }
        }
    }
    let mut out = config.sensitive_values();
    urls(config.options(), &mut out);
    out.retain(|s| !s.is_empty());
    out.sort();
    out.dedup();
    out
}
