//! The one error type of dataconn.
//!
//! Every failure is an [`Error`]: a [`ErrorKind`] with a stable kebab-case id (for docs and for
//! users who search), a message that says what was expected, what was found and where, the
//! connection it concerns, context pairs, a temporary/permanent flag that retry logic reads, and
//! the underlying source.
//!
//! Secrets never reach a message: connectors call [`Error::scrub`] with their secret values
//! before an error leaves them, which masks those values in the message, the context and the
//! source's text.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// A `Result` whose error is dataconn's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, coarsely: the part of an error that code branches on.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A connection's configuration is invalid: unknown or missing keys, wrong value types.
    Config,
    /// No secrets file or folder was found where one was needed.
    SecretsNotFound,
    /// A secrets file exists but could not be read or parsed.
    SecretsParse,
    /// A key asked for is not in the secrets.
    MissingKey,
    /// No connector is registered for a connection type.
    UnknownType,
    /// The connector exists but its cargo feature is not enabled in this build.
    FeatureDisabled,
    /// Connecting to the data source failed.
    Connect,
    /// The data source rejected or failed a query.
    Query,
    /// Named parameters do not match the SQL: missing, extra or malformed.
    Parameter,
    /// A value could not be converted to or from Arrow.
    TypeConversion,
    /// An operation did not finish in time.
    Timeout,
    /// The operation is not supported by this connection or build.
    Unsupported,
    /// The connection was closed and cannot be used any more.
    Closed,
    /// An object, table or file was not found.
    NotFound,
    /// Reading or writing local data failed.
    Io,
    /// A bug in dataconn: an invariant did not hold.
    Internal,
}

impl ErrorKind {
    /// The stable kebab-case id of this kind, as used in docs and logs.
    pub fn id(self) -> &'static str {
        match self {
            ErrorKind::Config => "invalid-config",
            ErrorKind::SecretsNotFound => "no-secrets-found",
            ErrorKind::SecretsParse => "failed-parsing-secrets",
            ErrorKind::MissingKey => "missing-secret-key",
            ErrorKind::UnknownType => "unknown-connection-type",
            ErrorKind::FeatureDisabled => "connector-feature-disabled",
            ErrorKind::Connect => "connect-failed",
            ErrorKind::Query => "query-failed",
            ErrorKind::Parameter => "invalid-parameters",
            ErrorKind::TypeConversion => "type-conversion",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Closed => "connection-closed",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Io => "io",
            ErrorKind::Internal => "internal",
        }
    }

    /// Whether errors of this kind are usually worth retrying.
    fn default_temporary(self) -> bool {
        matches!(self, ErrorKind::Timeout | ErrorKind::Connect)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

type Source = Arc<dyn StdError + Send + Sync + 'static>;

/// dataconn's error: kind, message, connection, context, retryability and source.
///
/// Cheap to clone (the source is shared), so a cached failure can be handed to every waiter
/// of a coalesced query.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    connection: Option<String>,
    connection_type: Option<String>,
    context: Vec<(&'static str, String)>,
    temporary: bool,
    source: Option<Source>,
}

impl Error {
    /// Create an error of `kind` with a message saying what was expected and what was found.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            connection: None,
            connection_type: None,
            context: Vec::new(),
            temporary: kind.default_temporary(),
            source: None,
        }
    }

    /// Shorthand for a [`ErrorKind::Config`] error.
    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    /// Shorthand for a [`ErrorKind::Query`] error.
    pub fn query(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Query, message)
    }

    /// Shorthand for a [`ErrorKind::Internal`] error.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }

    /// The [`ErrorKind::FeatureDisabled`] error of `query()` over `what` (`"files"`,
    /// `"worksheets"`) in a build without the embedded SQL engine; `crate_name` is the
    /// connector crate whose `query` feature also enables it.
    pub fn engine_disabled(what: &str, crate_name: &str) -> Self {
        Error::new(
            ErrorKind::FeatureDisabled,
            format!(
                "expected the SQL engine for query() over {what}, found it not in this build; \
                 enable the cargo feature `query` of dataconn (or of {crate_name})"
            ),
        )
    }

    /// Attach the underlying error.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Name the connection (and its type) this error concerns.
    pub fn with_connection(mut self, name: impl Into<String>, ty: impl Into<String>) -> Self {
        self.connection = Some(name.into());
        self.connection_type = Some(ty.into());
        self
    }

    /// Name the connection this error concerns when its type is not known.
    pub fn with_connection_name(mut self, name: impl Into<String>) -> Self {
        self.connection = Some(name.into());
        self
    }

    /// Add a context pair, such as `("file", "/app/.streamlit/secrets.toml:3")`.
    pub fn with_context(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.context.push((key, value.into()));
        self
    }

    /// Mark this error as worth retrying (or not), overriding the kind's default.
    pub fn set_temporary(mut self, temporary: bool) -> Self {
        self.temporary = temporary;
        self
    }

    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without connection or context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The name of the connection this error concerns, if known.
    pub fn connection(&self) -> Option<&str> {
        self.connection.as_deref()
    }

    /// The type of the connection this error concerns, if known.
    pub fn connection_type(&self) -> Option<&str> {
        self.connection_type.as_deref()
    }

    /// The context pairs, in the order they were added.
    pub fn context(&self) -> &[(&'static str, String)] {
        &self.context
    }

    /// Whether retrying the same operation may succeed.
    pub fn is_temporary(&self) -> bool {
        self.temporary
    }

    /// Mask every occurrence of the given secret values in this error's text.
    ///
    /// The message and context are rewritten; a source whose text contains a secret is replaced
    /// by its masked text (its type is lost, its meaning is not). Empty values are ignored.
    pub fn scrub<S: AsRef<str>>(mut self, secrets: &[S]) -> Self {
        let secrets: Vec<&str> = secrets
            .iter()
            .map(AsRef::as_ref)
            .filter(|s| !s.is_empty())
            .collect();
        if secrets.is_empty() {
            return self;
        }
        self.message = mask(&self.message, &secrets);
        for (_, value) in &mut self.context {
            *value = mask(value, &secrets);
        }
        if let Some(source) = &self.source {
            let text = source_chain_text(source.as_ref());
            if secrets.iter().any(|s| text.contains(s)) {
                self.source = Some(Arc::new(ScrubbedSource(mask(&text, &secrets))));
            }
        }
        self
    }
}

/// Every secret replaced by `***`, longest first: masking `hunter2` before `hunter2-tok` would
/// leave `***-tok` behind.
fn mask(text: &str, secrets: &[&str]) -> String {
    let mut ordered = secrets.to_vec();
    ordered.sort_by_key(|s| std::cmp::Reverse(s.len()));
    ordered.iter().fold(text.to_owned(), |acc, secret| {
        if secret.chars().count() < SHORT_SECRET {
            mask_whole(&acc, secret)
        } else {
            acc.replace(secret, "***")
        }
    })
}

/// Secrets shorter than this are masked only where they stand alone (not inside a word), so
/// that a one-letter password does not turn every "p" of a message into `***`.
const SHORT_SECRET: usize = 4;

fn mask_whole(text: &str, secret: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(at) = rest.find(secret) {
        let prev = rest[..at]
            .chars()
            .next_back()
            .or(if at == 0 { before } else { None });
        let next = rest[at + secret.len()..].chars().next();
        out.push_str(&rest[..at]);
        if word(prev) || word(next) {
            out.push_str(secret);
        } else {
            out.push_str("***");
        }
        before = secret.chars().next_back();
        rest = &rest[at + secret.len()..];
    }
    out.push_str(rest);
    out
}

fn source_chain_text(source: &(dyn StdError + 'static)) -> String {
    let mut text = source.to_string();
    let mut next = source.source();
    while let Some(inner) = next {
        // Many errors already print their source; say each thing once.
        let shown = inner.to_string();
        if !text.contains(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        next = inner.source();
    }
    text
}

/// A source error whose text had secrets masked out.
#[derive(Debug)]
struct ScrubbedSource(String);

impl fmt::Display for ScrubbedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for ScrubbedSource {}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.connection {
            write!(f, "connection `{name}`")?;
            if let Some(ty) = &self.connection_type {
                write!(f, " ({ty})")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)?;
        for (key, value) in &self.context {
            write!(f, "; {key}: {value}")?;
        }
        if let Some(source) = &self.source {
            write!(f, ": {}", source_chain_text(source.as_ref()))?;
        }
        write!(f, " [{}]", self.kind.id())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind)
            .field("message", &self.message)
            .field("connection", &self.connection)
            .field("connection_type", &self.connection_type)
            .field("context", &self.context)
            .field("temporary", &self.temporary);
        if let Some(source) = &self.source {
            d.field("source", &source.to_string());
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

impl From<arrow::error::ArrowError> for Error {
    fn from(err: arrow::error::ArrowError) -> Self {
        Error::new(
            ErrorKind::TypeConversion,
            "Arrow could not build the result",
        )
        .with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_connection_kind_and_context() {
        let err = Error::config("expected a string for `url`, found an integer")
            .with_connection("pets_db", "sql")
            .with_context("file", "secrets.toml:3");
        assert_eq!(
            err.to_string(),
            "connection `pets_db` (sql): expected a string for `url`, found an integer; \
             file: secrets.toml:3 [invalid-config]"
        );
    }

    #[test]
    fn scrub_masks_message_context_and_source() {
        let source = std::io::Error::other("login failed for hunter2");
        let err = Error::new(ErrorKind::Connect, "password hunter2 rejected")
            .with_context("url", "postgres://u:hunter2@h/db")
            .with_source(source)
            .scrub(&["hunter2"]);
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("login failed for ***"), "{shown}");
    }

    #[test]
    fn scrub_masks_the_longest_secret_first() {
        let err = Error::config("token hunter2-tok and password hunter2")
            .scrub(&["hunter2", "hunter2-tok"]);
        assert_eq!(err.message(), "token *** and password ***");
    }

    #[test]
    fn a_short_secret_is_masked_where_it_stands_alone_not_inside_words() {
        let err =
            Error::config("expected p, found `p` in postgres://u:p@h (password p)").scrub(&["p"]);
        assert_eq!(
            err.message(),
            "expected ***, found `***` in postgres://u:***@h (password ***)"
        );
    }

    #[test]
    fn temporary_follows_kind_unless_overridden() {
        assert!(Error::new(ErrorKind::Timeout, "slow").is_temporary());
        assert!(!Error::query("syntax").is_temporary());
        assert!(Error::query("deadlock").set_temporary(true).is_temporary());
    }
}
