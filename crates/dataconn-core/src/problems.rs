//! [`Problems`]: every problem of one connection's options, reported at once.
//!
//! A connector that checks its options by hand (the files connector, whose keys are partly
//! object_store's) collects problems here as it goes and ends with [`Problems::finish`]; the
//! user gets one `invalid-config` error listing them all, in the same words as
//! [`ConnectionConfig::parse`](crate::ConnectionConfig::parse) uses, secrets masked.

use crate::config::{ConnectionConfig, closest};
use crate::error::{Error, Result};

/// The problems found in one connection's options so far.
#[derive(Debug)]
pub struct Problems<'a> {
    config: &'a ConnectionConfig,
    found: Vec<String>,
}

impl<'a> Problems<'a> {
    /// No problems yet, in the options of `config`.
    pub fn new(config: &'a ConnectionConfig) -> Self {
        Problems {
            config,
            found: Vec::new(),
        }
    }

    /// One problem, in a sentence that says what was expected and what was found (add the
    /// key's origin with [`ConnectionConfig::origin`]).
    pub fn push(&mut self, problem: impl Into<String>) {
        self.found.push(problem.into());
    }

    /// `key` is not accepted: name it, its origin, and the closest of `known`.
    pub fn unknown_key(&mut self, key: &str, known: &[&str]) {
        let suggestion = closest(key, known)
            .map(|k| format!("; did you mean `{k}`?"))
            .unwrap_or_default();
        self.push(format!(
            "unknown key `{key}` ({}){suggestion}",
            self.config.origin(key)
        ));
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// `Ok` when nothing was found, else one [`crate::ErrorKind::Config`] error listing every
    /// problem, the `accepted` keys when the list is closed, and the secrets files searched;
    /// the connection's secrets are masked.
    ///
    /// # Errors
    /// As said: when any problem was found.
    pub fn finish(self, accepted: Option<&[&str]>) -> Result<()> {
        if self.found.is_empty() {
            return Ok(());
        }
        let config = self.config;
        let accepted = accepted
            .map(|keys| {
                let mut keys = keys.to_vec();
                keys.sort_unstable();
                format!("accepted keys: {}; ", keys.join(", "))
            })
            .unwrap_or_default();
        Err(Error::config(format!(
            "invalid configuration for [connections.{}] ({} problem{}):\n  - {}\n{accepted}sources: {}",
            config.name(),
            self.found.len(),
            if self.found.len() == 1 { "" } else { "s" },
            self.found.join("\n  - "),
            config.sources()
        ))
        .with_connection(config.name(), config.connection_type())
        .scrub(&config.sensitive_values()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_listed_once_with_the_accepted_keys() {
        let options = toml::from_str("hots = 1\npassword = \"p4ss-word\"").unwrap();
        let config = ConnectionConfig::new("db", "demo", options);
        let mut problems = Problems::new(&config);
        assert!(problems.is_empty());
        problems.unknown_key("hots", &["host", "port"]);
        problems.push("expected a password of 12 characters, found p4ss-word");
        let err = problems.finish(Some(&["port", "host"])).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("(2 problems)"), "{msg}");
        assert!(msg.contains("did you mean `host`?"), "{msg}");
        assert!(
            msg.contains("accepted keys: host, port; sources: code"),
            "{msg}"
        );
        assert!(!msg.contains("p4ss-word"), "{msg}");
        assert_eq!(err.connection(), Some("db"));
    }

    #[test]
    fn no_problem_is_ok() {
        let config = ConnectionConfig::new("db", "demo", toml::Table::new());
        assert!(Problems::new(&config).finish(None).is_ok());
    }
}
