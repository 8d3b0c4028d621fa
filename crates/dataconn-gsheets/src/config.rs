//! The `[connections.<name>]` keys of the Google Sheets connector, as st-gsheets-connection
//! users write them.

use std::time::Duration;

use dataconn_core::{ConnectionConfig, ConnectorConfig, Secret, Ttl};
use serde::Deserialize;
use toml::Value;

/// The default total time of one HTTP request (connect, send, the whole reply).
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// The default cap on one HTTP reply's body: 256 MiB.
pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// The Google Sheets connector's options.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct GSheetsConfig {
    /// The default spreadsheet: its URL (`.../spreadsheets/d/<ID>/edit#gid=<GID>`) or its ID.
    pub spreadsheet: Option<String>,
    /// The default worksheet: a gid (number, or `"#gid=123"`). Default: the spreadsheet URL's
    /// `gid`, else the first worksheet.
    pub worksheet: Option<Value>,
    /// Default TTL of reads (`"10m"`, seconds, or `0` for none). Default one hour.
    pub ttl: Option<Value>,
    /// Where the public CSV export lives: an http(s) URL. Default `https://docs.google.com`
    /// (tests point it at a local server).
    pub public_base_url: Option<String>,
    /// A service-account key's `type` (`"service_account"`); the connector is then chosen with
    /// `connector = "gsheets"` or in code.
    #[serde(rename = "type")]
    pub credential_type: Option<String>,
    /// The service-account key's private key (PKCS#8 PEM, as in the key JSON).
    pub private_key: Option<Secret>,
    /// The service account's email (`client_email` in the key JSON).
    pub client_email: Option<String>,
    /// Where the service account's tokens come from: an http(s) URL. Default
    /// `https://oauth2.googleapis.com/token`.
    pub token_uri: Option<String>,
    /// A path to the service-account key JSON, instead of its fields in the section.
    pub service_account_file: Option<String>,
    /// Where the Sheets API lives: an http(s) URL. Default `https://sheets.googleapis.com/`
    /// (tests point it at a local server).
    pub sheets_base_url: Option<String>,
    /// The longest one HTTP request may take, from connecting to the last byte of the reply
    /// (Sheets API calls, the token exchange, the public CSV export): `"30s"`, `"2m"` or
    /// seconds. Default 120 s.
    pub request_timeout: Option<Value>,
    /// The largest reply body read from any HTTP call: bytes, or `"64 MiB"`, `"1GiB"`,
    /// `"500MB"`. Default 256 MiB.
    pub max_response_bytes: Option<Value>,
}

/// The keys of a public sheet's section; every other accepted key belongs to a service
/// account.
const PUBLIC_KEYS: &[&str] = &[
    "spreadsheet",
    "worksheet",
    "ttl",
    "public_base_url",
    "sheets_base_url",
    "request_timeout",
    "max_response_bytes",
];

impl ConnectorConfig for GSheetsConfig {
    const KEYS: &'static [&'static str] = &[
        "spreadsheet",
        "worksheet",
        "ttl",
        "public_base_url",
        "sheets_base_url",
        "request_timeout",
        "max_response_bytes",
        "type",
        "private_key",
        "service_account_file",
        "project_id",
        "private_key_id",
        "client_email",
        "client_id",
        "auth_uri",
        "token_uri",
        "auth_provider_x509_cert_url",
        "client_x509_cert_url",
        "universe_domain",
    ];

    fn validate(&self, config: &ConnectionConfig) -> Vec<String> {
        let mut problems = Vec::new();
        if self.is_service_account(config)
            && self.service_account_file.is_none()
            && (self.client_email.is_none() || self.private_key.is_none())
        {
            problems.push(
                "expected a service-account key: `client_email` and `private_key` in the \
                 section, or `service_account_file`; found neither whole"
                    .to_owned(),
            );
        }
        let urls = [
            ("public_base_url", &self.public_base_url),
            ("sheets_base_url", &self.sheets_base_url),
            ("token_uri", &self.token_uri),
        ];
        for (key, value) in urls {
            if let Some(value) = value
                && let Err(problem) = http_url(key, &config.origin(key), value)
            {
                problems.push(problem);
            }
        }
        if let Err(problem) = self.request_timeout(config) {
            problems.push(problem);
        }
        if let Err(problem) = self.max_response_bytes(config) {
            problems.push(problem);
        }
        problems
    }
}

impl GSheetsConfig {
    /// Whether the section holds a service account (any key beyond a public sheet's).
    pub(crate) fn is_service_account(&self, config: &ConnectionConfig) -> bool {
        config
            .options()
            .keys()
            .any(|k| !PUBLIC_KEYS.contains(&k.as_str()))
    }

    /// `request_timeout`, or its default; a problem names the key and its origin.
    pub(crate) fn request_timeout(
        &self,
        config: &ConnectionConfig,
    ) -> std::result::Result<Duration, String> {
        let Some(value) = &self.request_timeout else {
            return Ok(DEFAULT_REQUEST_TIMEOUT);
        };
        let bad = || {
            format!(
                "expected `request_timeout` ({}) to be a duration above zero such as \"30s\" or \
                 \"2m\" (or seconds), found {value}",
                config.origin("request_timeout")
            )
        };
        // Beyond a year is a typo, and keeps the arithmetic on deadlines far from overflow.
        let too_long = |secs: f64| !(secs.is_finite() && secs <= 366.0 * 86_400.0);
        match value {
            Value::Integer(i) if too_long(*i as f64) => return Err(bad()),
            Value::Float(f) if too_long(*f) => return Err(bad()),
            _ => {}
        }
        match Ttl::from_toml(value) {
            Ok(Ttl::For(d)) if !too_long(d.as_secs_f64()) => Ok(d),
            _ => Err(bad()),
        }
    }

    /// `max_response_bytes`, or its default; a problem names the key and its origin.
    pub(crate) fn max_response_bytes(
        &self,
        config: &ConnectionConfig,
    ) -> std::result::Result<u64, String> {
        let Some(value) = &self.max_response_bytes else {
            return Ok(DEFAULT_MAX_RESPONSE_BYTES);
        };
        let bytes = match value {
            Value::Integer(i) => u64::try_from(*i).ok(),
            Value::String(s) => byte_size(s),
            _ => None,
        };
        bytes.filter(|b| *b > 0).ok_or_else(|| {
            format!(
                "expected `max_response_bytes` ({}) to be a size above zero: bytes, or \
                 \"64 MiB\", \"1GiB\", \"500MB\"; found {value}",
                config.origin("max_response_bytes")
            )
        })
    }
}

/// `"64 MiB"`, `"1GiB"`, `"500MB"`, `"1024"` as bytes; `None` for anything else or beyond u64.
fn byte_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        _ => return None,
    };
    let number: f64 = number.parse().ok()?;
    let bytes = number * unit as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

pub(crate) use dataconn_core::{http_url, url_for_messages as shown};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_units() {
        assert_eq!(byte_size("1024"), Some(1024));
        assert_eq!(byte_size("64 MiB"), Some(64 << 20));
        assert_eq!(byte_size("1GiB"), Some(1 << 30));
        assert_eq!(byte_size("500MB"), Some(500_000_000));
        assert_eq!(byte_size("1e30 GiB"), None);
        assert_eq!(byte_size("lots"), None);
    }
}
