//! [`ConnectionConfig`]: one connection's options, with where each came from.
//!
//! The options are the `[connections.<name>]` section laid over key by key with overrides given
//! in code. A connector turns them into its own typed config with [`ConnectionConfig::parse`],
//! which reports every problem at once: each unknown key (with the closest known key and the
//! file and line it came from), a value of the wrong type, and the connector's own checks.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use toml::{Table, Value};

use crate::cache::hex;
use crate::error::{Error, Result};
use crate::problems::Problems;
use crate::redact::collect_sensitive;
use crate::secrets::Origin;

/// A connection's options as written in its secrets section: a TOML table (not a
/// [`crate::Table`], which is an Arrow result).
pub type Options = toml::Table;

/// One option value: a TOML value (not a query parameter, which is a [`crate::Value`]).
pub type OptionValue = toml::Value;

/// A connector's typed configuration.
///
/// Implement it on a `#[derive(Deserialize)]` struct (`impl ConnectorConfig for MyConfig {}`
/// is enough: the accepted keys are the struct's fields as serde names them). List the keys
/// in `KEYS` only when serde's list is not all of them (aliases, flattened tables), and put
/// cross-key checks (such as "either `url` or `host`") in `validate`.
pub trait ConnectorConfig: DeserializeOwned {
    /// Every key the connector accepts at the top of its section; empty (the default) means
    /// the struct's field names as serde sees them.
    const KEYS: &'static [&'static str] = &[];

    /// Whether `key`, not in the accepted keys, is accepted anyway: a connector that passes
    /// options through to a library (driver options, say) says which here and collects them
    /// with a `#[serde(flatten)]` table. The default accepts none.
    fn accepts(_key: &str) -> bool {
        false
    }

    /// Problems serde cannot see, one sentence each; empty when the config is good.
    fn validate(&self, _config: &ConnectionConfig) -> Vec<String> {
        Vec::new()
    }
}

/// The options of one named connection, merged from secrets and code.
#[derive(Clone)]
pub struct ConnectionConfig {
    name: String,
    connection_type: String,
    options: Table,
    origins: BTreeMap<String, Origin>,
    sources: String,
    fingerprint: String,
}

impl ConnectionConfig {
    /// A config given entirely in code.
    pub fn new(
        name: impl Into<String>,
        connection_type: impl Into<String>,
        options: Table,
    ) -> Self {
        ConnectionConfig::assemble(
            name.into(),
            connection_type.into(),
            options,
            BTreeMap::new(),
            "code".into(),
        )
    }

    pub(crate) fn assemble(
        name: String,
        connection_type: String,
        options: Table,
        origins: BTreeMap<String, Origin>,
        sources: String,
    ) -> Self {
        let fingerprint = fingerprint(&connection_type, &options);
        ConnectionConfig {
            name,
            connection_type,
            options,
            origins,
            sources,
            fingerprint,
        }
    }

    /// The connection's name (its `[connections.<name>]` section).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The resolved connection type.
    pub fn connection_type(&self) -> &str {
        &self.connection_type
    }

    /// The merged options. Treat values as secret.
    pub fn options(&self) -> &Table {
        &self.options
    }

    /// One option.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.options.get(key)
    }

    /// Where a key came from: `file:line`, or `code` for overrides.
    pub fn origin(&self, key: &str) -> String {
        self.origins
            .get(key)
            .map_or_else(|| "given in code".to_owned(), |o| o.to_string())
    }

    /// The sources that were searched for this section, for messages.
    pub fn sources(&self) -> &str {
        &self.sources
    }

    /// A stable digest of the type and every option (secrets included, never shown).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The identity used for cache keys: `type:name:public#private`, where `public` is a
    /// digest of the options with every secret value left out and `private` the full
    /// fingerprint's. Only the public part ever leaves the process (see
    /// [`crate::SharedTier::shared_scope`]): a digest over a password can be checked offline
    /// against guesses by anyone who reads it.
    pub fn identity(&self) -> String {
        // Its own domain, so that the two digests differ even when there is no secret.
        let domain = format!("{}\0public", self.connection_type);
        let public = fingerprint(&domain, &without_secrets(&self.options));
        format!(
            "{}:{}:{}#{}",
            self.connection_type,
            self.name,
            &public[..16],
            &self.fingerprint[..16]
        )
    }

    /// Values that must never appear in output: every value under a key that names a secret
    /// ([`crate::is_secret_key`]), and the secrets inside URLs ([`crate::url_secrets`]).
    pub fn sensitive_values(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_sensitive(&self.options, false, &mut out);
        out.sort();
        out.dedup();
        out
    }

    /// Parse the options into the connector's typed config, reporting every problem at once.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] listing each unknown key (with a suggestion and its
    /// origin), the type error serde found, and the connector's own validation problems.
    pub fn parse<T: ConnectorConfig>(&self) -> Result<T> {
        let keys = match T::KEYS {
            [] => crate::fields::struct_fields::<T>().unwrap_or_default(),
            keys => keys,
        };
        let mut problems = Problems::new(self);
        let accepted = |key: &str| keys.contains(&key) || T::accepts(key);
        for key in self.options.keys().filter(|k| !accepted(k)) {
            problems.unknown_key(key, keys);
        }
        let known: Table = self
            .options
            .iter()
            .filter(|(k, _)| accepted(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let parsed = Value::Table(known)
            .try_into::<T>()
            .map_err(|e| self.describe_serde_error(&e));
        match &parsed {
            Ok(parsed) => parsed
                .validate(self)
                .into_iter()
                .for_each(|p| problems.push(p)),
            Err(problem) => problems.push(problem.clone()),
        }
        problems.finish(Some(keys))?;
        // Not reached with an `Err`: its problem failed `finish` above.
        parsed.map_err(Error::config)
    }

    fn describe_serde_error(&self, e: &toml::de::Error) -> String {
        let message = e.message().trim().to_owned();
        // serde names the field for missing ones; add the origin when the message names a key.
        let key = self
            .options
            .keys()
            .find(|k| message.contains(&format!("`{k}`")));
        match key {
            Some(k) => format!("{message} ({})", self.origin(k)),
            None => message,
        }
    }
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("name", &self.name)
            .field("type", &self.connection_type)
            .field("keys", &self.options.keys().collect::<Vec<_>>())
            .field("fingerprint", &&self.fingerprint[..16])
            .finish()
    }
}

fn fingerprint(connection_type: &str, options: &Table) -> String {
    let mut hasher = Sha256::new();
    hasher.update(connection_type.as_bytes());
    hasher.update([0]);
    // `toml::Table` is ordered by key, so equal options serialise equally.
    hasher.update(Value::Table(options.clone()).to_string().as_bytes());
    hex(&hasher.finalize())
}

/// The options with every secret value replaced by the same placeholder and URLs masked.
fn without_secrets(options: &Table) -> Table {
    options
        .iter()
        .map(|(key, value)| (key.clone(), public_value(crate::is_secret_key(key), value)))
        .collect()
}

fn public_value(secret: bool, value: &Value) -> Value {
    match value {
        _ if secret => Value::String("***".into()),
        Value::String(s) => Value::String(crate::mask_url(s)),
        Value::Table(inner) => Value::Table(without_secrets(inner)),
        Value::Array(items) => Value::Array(items.iter().map(|v| public_value(false, v)).collect()),
        other => other.clone(),
    }
}

/// The part of a cache scope that may leave the process: `type:name:public` of
/// [`ConnectionConfig::identity`] (a scope of another shape is returned whole).
pub fn public_scope(scope: &str) -> &str {
    scope.rsplit_once('#').map_or(scope, |(public, _)| public)
}

/// The known key closest to `key`, if one is close enough to be a likely typo.
pub fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), *k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Demo {
        url: Option<String>,
        #[serde(default)]
        port: Option<u16>,
        #[serde(default)]
        #[allow(dead_code)]
        password: Option<String>,
    }

    impl ConnectorConfig for Demo {
        const KEYS: &'static [&'static str] = &["url", "port", "password"];
        fn validate(&self, _: &ConnectionConfig) -> Vec<String> {
            if self.url.is_none() {
                vec!["expected `url`, found none".into()]
            } else {
                vec![]
            }
        }
    }

    #[derive(Debug, Deserialize)]
    struct Listed {
        #[allow(dead_code)]
        host: String,
    }

    impl ConnectorConfig for Listed {}

    #[test]
    fn keys_default_to_the_struct_fields() {
        let err = config("hots = \"h\"\n").parse::<Listed>().unwrap_err();
        assert!(err.message().contains("did you mean `host`?"), "{err}");
        assert!(config("host = \"h\"\n").parse::<Listed>().is_ok());
    }

    #[derive(Debug, Deserialize)]
    struct PassThrough {
        #[allow(dead_code)]
        driver: String,
        #[serde(flatten)]
        options: toml::Table,
    }

    impl ConnectorConfig for PassThrough {
        const KEYS: &'static [&'static str] = &["driver"];
        fn accepts(key: &str) -> bool {
            key.starts_with("adbc.")
        }
    }

    #[test]
    fn keys_a_connector_accepts_pass_through_and_others_are_unknown() {
        let parsed = config("driver = \"d\"\n\"adbc.x\" = 1\n")
            .parse::<PassThrough>()
            .unwrap();
        assert_eq!(
            parsed.options.get("adbc.x").and_then(Value::as_integer),
            Some(1)
        );
        let err = config("driver = \"d\"\ndriverr = 1\n")
            .parse::<PassThrough>()
            .unwrap_err();
        assert!(err.message().contains("unknown key `driverr`"), "{err}");
    }

    fn config(text: &str) -> ConnectionConfig {
        ConnectionConfig::new("db", "demo", toml::from_str(text).unwrap())
    }

    #[test]
    fn reports_every_problem_at_once_with_suggestions() {
        let err = config("prot = 1\nuser_name = \"x\"\npasword = \"hunter2\"\n")
            .parse::<Demo>()
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("3 problems") || msg.contains("4 problems"),
            "{msg}"
        );
        assert!(
            msg.contains("unknown key `prot` (given in code); did you mean `port`?"),
            "{msg}"
        );
        assert!(msg.contains("did you mean `password`?"), "{msg}");
        assert!(msg.contains("expected `url`, found none"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
    }

    #[test]
    fn good_config_parses() {
        let demo = config("url = \"x\"\nport = 5432\n")
            .parse::<Demo>()
            .unwrap();
        assert_eq!((demo.url.as_deref(), demo.port), (Some("x"), Some(5432)));
    }

    #[test]
    fn wrong_type_is_named() {
        let err = config("url = \"x\"\nport = \"five\"\n")
            .parse::<Demo>()
            .unwrap_err();
        assert!(err.message().contains("port"), "{err}");
    }

    #[test]
    fn fingerprint_changes_with_any_option() {
        let a = config("url = \"x\"");
        let b = config("url = \"y\"");
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint(), config("url = \"x\"").fingerprint());
    }

    #[test]
    fn sensitive_values_cover_keys_and_url_passwords() {
        let c = config(
            "url = \"postgres://me:pa55@h/db\"\npassword = \"pw\"\n[creds]\nvalue = \"nested\"\n",
        );
        let v = c.sensitive_values();
        assert!(
            v.contains(&"pa55".to_owned()) && v.contains(&"pw".to_owned()),
            "{v:?}"
        );
        assert!(!v.contains(&"nested".to_owned()));
    }

    #[test]
    fn the_public_identity_carries_no_digest_of_a_secret() {
        let a = config("url = \"postgres://me:pw1@h/db\"\npassword = \"s1\"\n");
        let b = config("url = \"postgres://me:pw2@h/db\"\npassword = \"s2\"\n");
        let c = config("url = \"postgres://me:pw1@h/other\"\npassword = \"s1\"\n");
        assert_ne!(
            a.identity(),
            b.identity(),
            "locally, any change is a new scope"
        );
        assert_eq!(public_scope(&a.identity()), public_scope(&b.identity()));
        assert_ne!(public_scope(&a.identity()), public_scope(&c.identity()));
        assert!(!public_scope(&a.identity()).contains(&a.fingerprint()[..16]));
    }

    #[test]
    fn a_numeric_password_never_shows_in_a_type_error() {
        let err = config("url = \"x\"\npassword = 987654\n")
            .parse::<Demo>()
            .unwrap_err();
        assert!(!err.to_string().contains("987654"), "{err}");
    }
}
