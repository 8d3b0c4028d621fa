//! Secrets: the same `secrets.toml` files a Streamlit app reads, merged and interpolated.
//!
//! Sources, in order (later wins): `~/.streamlit/secrets.toml`, then `./.streamlit/secrets.toml`;
//! or an explicit list of files and Kubernetes-style secret folders. Unlike Streamlit:
//! - tables merge **deeply**, so a project file can override one key of a global connection;
//! - string values may use `${env:VAR}` and `${env:VAR:-default}` (write `$${` for a literal
//!   `${`);
//! - every key remembers the file and line it came from, for error messages;
//! - nothing is written into the process environment.
//!
//! A missing file, a missing key and malformed TOML are three different errors
//! ([`ErrorKind::SecretsNotFound`], [`ErrorKind::MissingKey`], [`ErrorKind::SecretsParse`]);
//! malformed TOML reports `file:line:column`.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use toml::{Table, Value};

use crate::error::{Error, ErrorKind, Result};

/// Where secrets come from: a TOML file or a Kubernetes-style folder of secret files.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SecretsSource {
    /// A `secrets.toml` file; skipped when it does not exist.
    File(PathBuf),
    /// A folder whose every child is a folder of secret files (as Kubernetes mounts them).
    Dir(PathBuf),
}

impl SecretsSource {
    /// A file or a folder, decided by the path: a `.toml` name is a file, an existing folder is
    /// a folder.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for a path that is neither.
    pub fn from_path(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        if path.extension().is_some_and(|e| e == "toml") {
            Ok(SecretsSource::File(path))
        } else if path.is_dir() {
            Ok(SecretsSource::Dir(path))
        } else {
            Err(Error::config(format!(
                "expected a secrets source ending in .toml or an existing folder, found {}",
                path.display()
            )))
        }
    }

    /// The path of this source.
    pub fn path(&self) -> &Path {
        match self {
            SecretsSource::File(p) | SecretsSource::Dir(p) => p,
        }
    }

    /// The sources Streamlit reads for an app run from the current folder: `[secrets] files`
    /// in `.streamlit/config.toml` (project over global) when set, else
    /// [`SecretsSource::defaults`]. [`crate::streamlit_sources`] says what chose each.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the config file and line of a bad setting.
    pub fn streamlit() -> Result<Vec<SecretsSource>> {
        let project = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let home = std::env::home_dir();
        Ok(crate::streamlit_sources(home.as_deref(), &project)?
            .into_iter()
            .map(|chosen| chosen.source)
            .collect())
    }

    /// Streamlit's default locations: the user's global file, then the project's.
    pub fn defaults() -> Vec<SecretsSource> {
        let mut sources = Vec::new();
        if let Some(home) = std::env::home_dir() {
            sources.push(SecretsSource::File(
                home.join(".streamlit").join("secrets.toml"),
            ));
        }
        let project = std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("."))
            .join(".streamlit")
            .join("secrets.toml");
        sources.push(SecretsSource::File(project));
        sources
    }
}

/// Where a secret value was written: a file and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The file (or, for folder secrets, the secret file).
    pub file: PathBuf,
    /// The 1-based line of the key.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// The merged secrets of every source, with the origin of each key.
#[derive(Clone, Default)]
pub struct Secrets {
    root: Table,
    origins: BTreeMap<String, Origin>,
    searched: Vec<SecretsSource>,
    found: Vec<PathBuf>,
    /// Sources that were found but held no keys.
    blank: Vec<PathBuf>,
}

impl Secrets {
    /// Load the sources Streamlit reads ([`SecretsSource::streamlit`]).
    ///
    /// # Errors
    /// [`ErrorKind::SecretsParse`] when a file exists but does not parse or interpolate;
    /// [`ErrorKind::Config`] for a bad `[secrets] files` setting in `.streamlit/config.toml`.
    pub fn load_default() -> Result<Secrets> {
        Secrets::load(&SecretsSource::streamlit()?)
    }

    /// Load and merge the given sources in order; later sources win key by key.
    ///
    /// Missing files are skipped (so that finding none is not an error until a key is needed);
    /// a folder source must exist.
    ///
    /// # Errors
    /// [`ErrorKind::SecretsParse`] naming the file, line and column of malformed TOML, or of an
    /// `${env:VAR}` whose variable is unset and has no default; [`ErrorKind::Config`] for a
    /// malformed secrets folder.
    pub fn load(sources: &[SecretsSource]) -> Result<Secrets> {
        let mut secrets = Secrets {
            searched: sources.to_vec(),
            ..Secrets::default()
        };
        for source in sources {
            let (table, origins) = match source {
                SecretsSource::File(path) => match fs::read_to_string(path) {
                    Ok(text) => parse_file(path, &text)?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        return Err(Error::new(
                            ErrorKind::SecretsParse,
                            format!("could not read secrets file {}", path.display()),
                        )
                        .with_source(e));
                    }
                },
                SecretsSource::Dir(path) => parse_dir(path)?,
            };
            secrets.found.push(source.path().to_path_buf());
            if table.is_empty() {
                secrets.blank.push(source.path().to_path_buf());
            }
            merge(&mut secrets.root, table);
            secrets.origins.extend(origins);
        }
        Ok(secrets)
    }

    /// Secrets from a TOML string, as if read from `name` (for tests and embedded config).
    ///
    /// # Errors
    /// As [`Secrets::load`].
    pub fn from_toml(name: impl Into<PathBuf>, text: &str) -> Result<Secrets> {
        let name = name.into();
        let (root, origins) = parse_file(&name, text)?;
        Ok(Secrets {
            root,
            origins,
            searched: vec![SecretsSource::File(name.clone())],
            found: vec![name],
            blank: Vec::new(),
        })
    }

    /// The sources that held keys in `previous` but are now gone or blank: a file deleted or
    /// truncated to nothing (often half of an editor's save, or a mistake), not a change to
    /// apply.
    pub fn lost_since<'a>(&self, previous: &'a Secrets) -> Vec<&'a Path> {
        previous
            .found
            .iter()
            .filter(|p| !previous.blank.contains(p))
            .filter(|p| !self.found.contains(p) || self.blank.contains(p))
            .map(PathBuf::as_path)
            .collect()
    }

    /// The sources that were searched, found or not.
    pub fn searched(&self) -> &[SecretsSource] {
        &self.searched
    }

    /// The sources that existed and were read.
    pub fn found(&self) -> &[PathBuf] {
        &self.found
    }

    /// The searched paths as one readable list, for messages.
    pub fn searched_list(&self) -> String {
        if self.searched.is_empty() {
            return "(no sources)".to_owned();
        }
        self.searched
            .iter()
            .map(|s| s.path().display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The whole merged table. Treat every value as secret.
    pub fn as_table(&self) -> &Table {
        &self.root
    }

    /// The value at a dotted path such as `connections.pets_db.url`.
    ///
    /// # Errors
    /// [`ErrorKind::SecretsNotFound`] when no source was found at all (listing the paths
    /// searched); [`ErrorKind::MissingKey`] naming the first missing part of the path.
    pub fn value(&self, path: &str) -> Result<&Value> {
        if self.found.is_empty() {
            return Err(self.not_found_error());
        }
        let mut parts = path.split('.');
        let first = parts.next().unwrap_or_default();
        let mut current = self
            .root
            .get(first)
            .ok_or_else(|| self.missing_key_error(path, first))?;
        let mut walked = first.to_owned();
        for part in parts {
            let next = current.as_table().and_then(|t| t.get(part));
            walked.push('.');
            walked.push_str(part);
            current = next.ok_or_else(|| self.missing_key_error(path, &walked))?;
        }
        Ok(current)
    }

    /// The value at a dotted path, deserialised into `T`.
    ///
    /// # Errors
    /// As [`Secrets::value`], plus [`ErrorKind::Config`] naming the path and its origin when the
    /// value has the wrong shape.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let value = self.value(path)?.clone();
        value.try_into().map_err(|e: toml::de::Error| {
            let mut err = Error::config(format!("`{path}` has the wrong type: {}", e.message()));
            if let Some(origin) = self.origin(path) {
                err = err.with_context("at", origin.to_string());
            }
            err
        })
    }

    /// Whether a dotted path exists.
    pub fn contains(&self, path: &str) -> bool {
        self.value(path).is_ok()
    }

    /// The table at a dotted path, if there is one.
    pub fn table(&self, path: &str) -> Option<&Table> {
        self.value(path).ok().and_then(Value::as_table)
    }

    /// The file and line a dotted path was written at.
    pub fn origin(&self, path: &str) -> Option<&Origin> {
        self.origins.get(path)
    }

    /// Every `[connections.<name>]` section name.
    pub fn connection_names(&self) -> Vec<&str> {
        self.root
            .get("connections")
            .and_then(Value::as_table)
            .map(|t| t.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    pub(crate) fn not_found_error(&self) -> Error {
        Error::new(
            ErrorKind::SecretsNotFound,
            format!(
                "expected a secrets file, found none; searched: {}",
                self.searched_list()
            ),
        )
    }

    fn missing_key_error(&self, path: &str, missing: &str) -> Error {
        Error::new(
            ErrorKind::MissingKey,
            format!(
                "expected the key `{missing}` in the secrets (looking up `{path}`), found none; \
                 read: {}",
                self.found
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("keys", &self.origins.keys().collect::<Vec<_>>())
            .field("found", &self.found)
            .finish_non_exhaustive()
    }
}

/// Deep-merge `overlay` into `base`: tables merge key by key, anything else is replaced.
pub fn merge(base: &mut Table, overlay: Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(existing)), Value::Table(incoming)) => merge(existing, incoming),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

fn parse_file(path: &Path, text: &str) -> Result<(Table, BTreeMap<String, Origin>)> {
    let mut table: Table = toml::from_str(text).map_err(|e| {
        let at = match e.span() {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                format!("{}:{line}:{col}", path.display())
            }
            None => path.display().to_string(),
        };
        Error::new(
            ErrorKind::SecretsParse,
            format!(
                "expected valid TOML in secrets file {at}, found an error: {}",
                e.message().trim()
            ),
        )
        .with_context("file", at)
    })?;
    let mut origins = BTreeMap::new();
    // The value parse above succeeded, so the span parse cannot fail on the same text.
    if let Ok(spanned) = toml::de::DeTable::parse(text) {
        collect_origins(path, text, "", spanned.get_ref(), &mut origins);
    }
    interpolate_table(&mut table, "", &origins)?;
    Ok((table, origins))
}

pub(crate) fn collect_origins(
    path: &Path,
    text: &str,
    prefix: &str,
    table: &toml::de::DeTable<'_>,
    out: &mut BTreeMap<String, Origin>,
) {
    for (key, value) in table {
        let dotted = join_path(prefix, key.get_ref());
        let (line, _) = line_col(text, key.span().start);
        out.entry(dotted.clone()).or_insert(Origin {
            file: path.to_path_buf(),
            line,
        });
        if let toml::de::DeValue::Table(inner) = value.get_ref() {
            collect_origins(path, text, &dotted, inner, out);
        }
    }
}

fn join_path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn interpolate_table(
    table: &mut Table,
    prefix: &str,
    origins: &BTreeMap<String, Origin>,
) -> Result<()> {
    for (key, value) in table.iter_mut() {
        let dotted = join_path(prefix, key);
        interpolate_value(value, &dotted, origins)?;
    }
    Ok(())
}

fn interpolate_value(
    value: &mut Value,
    dotted: &str,
    origins: &BTreeMap<String, Origin>,
) -> Result<()> {
    match value {
        Value::String(s) if s.contains("${") => {
            *s = interpolate(s).map_err(|problem| {
                let mut err = Error::new(ErrorKind::SecretsParse, format!("`{dotted}`: {problem}"));
                if let Some(origin) = origins.get(dotted) {
                    err = err.with_context("at", origin.to_string());
                }
                err
            })?;
        }
        Value::Table(t) => interpolate_table(t, dotted, origins)?,
        Value::Array(items) => {
            for item in items {
                interpolate_value(item, dotted, origins)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Expand `${env:VAR}` and `${env:VAR:-default}`; `$${` stays a literal `${`.
///
/// Only `${env:` starts an expansion: any other `${` (a password such as `pa${ss`) is kept as
/// it is, and no error ever quotes the value, which may be a secret.
fn interpolate(text: &str) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("${") {
        if pos > 0 && rest.as_bytes()[pos - 1] == b'$' {
            out.push_str(&rest[..pos - 1]);
            out.push_str("${");
            rest = &rest[pos + 2..];
            continue;
        }
        out.push_str(&rest[..pos]);
        let body_start = pos + 2;
        if !rest[body_start..].starts_with("env:") {
            out.push_str("${");
            rest = &rest[body_start..];
            continue;
        }
        let Some(len) = rest[body_start..].find('}') else {
            return Err(
                "expected `}` to close `${env:`, found the end of the value (write `$${` for a \
                 literal `${`)"
                    .to_owned(),
            );
        };
        let spec = &rest[body_start + 4..body_start + len];
        let (var, default) = match spec.split_once(":-") {
            Some((var, default)) => (var, Some(default)),
            None => (spec, None),
        };
        match (std::env::var(var), default) {
            (Ok(v), _) => out.push_str(&v),
            (Err(_), Some(d)) => out.push_str(d),
            (Err(_), None) => {
                return Err(format!(
                    "expected the environment variable `{var}` to be set, found it unset \
                     (give a default with `${{env:{var}:-default}}`)"
                ));
            }
        }
        rest = &rest[body_start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn parse_dir(dir: &Path) -> Result<(Table, BTreeMap<String, Origin>)> {
    let read_err = |e: std::io::Error| {
        Error::new(
            ErrorKind::SecretsParse,
            format!("could not read secrets folder {}", dir.display()),
        )
        .with_source(e)
    };
    let mut table = Table::new();
    let mut origins = BTreeMap::new();
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(read_err)?
        .collect::<std::result::Result<_, _>>()
        .map_err(read_err)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let folder = entry.path();
        if !folder.is_dir() {
            return Err(Error::config(format!(
                "expected only folders in the secrets folder {} (one folder per secret, as \
                 Kubernetes mounts them), found the file {}",
                dir.display(),
                folder.display()
            )));
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let mut files: Vec<_> = fs::read_dir(&folder)
            .map_err(read_err)?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(read_err)?
            .into_iter()
            .map(|e| e.path())
            // Kubernetes adds `..data` symlinked folders; only files are secrets.
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        let mut inner = Table::new();
        for file in &files {
            let key = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let content = fs::read_to_string(file).map_err(read_err)?;
            origins.insert(
                format!("{name}.{key}"),
                Origin {
                    file: file.clone(),
                    line: 1,
                },
            );
            inner.insert(key, Value::String(content.trim().to_owned()));
        }
        origins.insert(
            name.clone(),
            Origin {
                file: files.first().cloned().unwrap_or(folder.clone()),
                line: 1,
            },
        );
        // As Streamlit: a folder holding exactly one file is a plain string value.
        let value = if inner.len() == 1 {
            inner
                .into_iter()
                .next()
                .map(|(_, v)| v)
                .unwrap_or(Value::Table(Table::new()))
        } else {
            Value::Table(inner)
        };
        table.insert(name, value);
    }
    Ok((table, origins))
}

/// A secret string: `Debug` and `Display` print `***`; read it with [`Secret::expose`].
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    /// The secret value. Never log or print it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn later_files_win_and_tables_merge_deeply() {
        let dir = tempfile::tempdir().unwrap();
        let global = write(
            dir.path(),
            "global/secrets.toml",
            "[connections.db]\nurl = \"sqlite:///a.db\"\npool = 5\n",
        );
        let project = write(
            dir.path(),
            "project/secrets.toml",
            "\n[connections.db]\nurl = \"sqlite:///b.db\"\n",
        );
        let s = Secrets::load(&[
            SecretsSource::File(global.clone()),
            SecretsSource::File(project.clone()),
        ])
        .unwrap();
        assert_eq!(
            s.get::<String>("connections.db.url").unwrap(),
            "sqlite:///b.db"
        );
        assert_eq!(s.get::<i64>("connections.db.pool").unwrap(), 5);
        assert_eq!(s.origin("connections.db.url").unwrap().file, project);
        assert_eq!(s.origin("connections.db.url").unwrap().line, 3);
        assert_eq!(s.origin("connections.db.pool").unwrap().file, global);
    }

    #[test]
    fn missing_file_missing_key_and_bad_toml_are_different_errors() {
        let dir = tempfile::tempdir().unwrap();
        let none = Secrets::load(&[SecretsSource::File(dir.path().join("nope.toml"))]).unwrap();
        let err = none.value("connections").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::SecretsNotFound);
        assert!(err.message().contains("nope.toml"), "{err}");

        let ok = Secrets::from_toml("s.toml", "[connections.a]\nx = 1\n").unwrap();
        let err = ok.value("connections.b.url").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingKey);
        assert!(err.message().contains("`connections.b`"), "{err}");

        let bad = write(
            dir.path(),
            "bad.toml",
            "[connections.a]\nurl = \"x\"\nport = = 3\n",
        );
        let err = Secrets::load(&[SecretsSource::File(bad.clone())]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::SecretsParse);
        assert!(
            err.to_string().contains(&format!("{}:3:", bad.display())),
            "{err}"
        );
    }

    #[test]
    fn env_interpolation_with_defaults_and_escapes() {
        // SAFETY: this test module is the only user of this variable name.
        unsafe { std::env::set_var("DATACONN_TEST_PW", "s3cret") };
        let s = Secrets::from_toml(
            "s.toml",
            "a = \"pw=${env:DATACONN_TEST_PW}\"\nb = \"${env:DATACONN_UNSET_VAR:-fallback}\"\n\
             c = \"$${env:KEEP}\"\n",
        )
        .unwrap();
        assert_eq!(s.get::<String>("a").unwrap(), "pw=s3cret");
        assert_eq!(s.get::<String>("b").unwrap(), "fallback");
        assert_eq!(s.get::<String>("c").unwrap(), "${env:KEEP}");

        let err =
            Secrets::from_toml("s.toml", "\n\nx = \"${env:DATACONN_UNSET_VAR}\"").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::SecretsParse);
        assert!(err.to_string().contains("s.toml:3"), "{err}");
        assert!(err.to_string().contains("DATACONN_UNSET_VAR"), "{err}");
    }

    #[test]
    fn a_password_holding_dollar_brace_loads_as_written() {
        let s = Secrets::from_toml("s.toml", "password = \"pa${ss}wo${rd\"\n").unwrap();
        assert_eq!(s.get::<String>("password").unwrap(), "pa${ss}wo${rd");
        let err = Secrets::from_toml("s.toml", "password = \"s3cr3t${env:X\"\n").unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert!(err.to_string().contains("s.toml:1"), "{err}");
    }

    #[test]
    fn kubernetes_folders_become_keys() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "k8s/db/url", "postgres://x\n");
        write(dir.path(), "k8s/db/password", "pw\n");
        write(dir.path(), "k8s/token/value", " t0k \n");
        let s = Secrets::load(&[SecretsSource::Dir(dir.path().join("k8s"))]).unwrap();
        assert_eq!(s.get::<String>("db.url").unwrap(), "postgres://x");
        assert_eq!(s.get::<String>("token").unwrap(), "t0k");

        write(dir.path(), "k8s/stray", "x");
        let err = Secrets::load(&[SecretsSource::Dir(dir.path().join("k8s"))]).unwrap_err();
        assert!(err.message().contains("stray"), "{err}");
    }

    #[test]
    fn secret_values_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        let all = Secrets::from_toml("s.toml", "password = \"hunter2\"").unwrap();
        assert!(!format!("{all:?}").contains("hunter2"));
    }
}
