//! The `[connections.<name>]` keys of the Google Sheets connector, as st-gsheets-connection
//! users write them.

use dataconn_core::{ConnectionConfig, ConnectorConfig, Secret};
use serde::Deserialize;
use toml::Value;

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
    /// Where the public CSV export lives. Default `https://docs.google.com` (tests point it at
    /// a local server).
    pub public_base_url: Option<String>,
    /// A service-account key's `type` (`"service_account"`); the connector is then chosen with
    /// `connector = "gsheets"` or in code.
    #[serde(rename = "type")]
    pub credential_type: Option<String>,
    /// The service-account key's private key (PKCS#8 PEM, as in the key JSON).
    pub private_key: Option<Secret>,
    /// The service account's email (`client_email` in the key JSON).
    pub client_email: Option<String>,
    /// A path to the service-account key JSON, instead of its fields in the section.
    pub service_account_file: Option<String>,
    /// Where the Sheets API lives. Default `https://sheets.googleapis.com/` (tests point it at a
    /// local server; the key's `token_uri` is where tokens come from).
    pub sheets_base_url: Option<String>,
}

/// The keys of a public sheet's section; every other accepted key belongs to a service
/// account.
const PUBLIC_KEYS: &[&str] = &[
    "spreadsheet",
    "worksheet",
    "ttl",
    "public_base_url",
    "sheets_base_url",
];

impl ConnectorConfig for GSheetsConfig {
    const KEYS: &'static [&'static str] = &[
        "spreadsheet",
        "worksheet",
        "ttl",
        "public_base_url",
        "sheets_base_url",
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
        if let Some(url) = &self.public_base_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            problems.push(format!(
                "expected `public_base_url` to start with https:// or http://, found {url:?}"
            ));
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
}
