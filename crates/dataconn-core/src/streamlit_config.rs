//! Which secrets files Streamlit reads: `[secrets] files = [...]` in `.streamlit/config.toml`
//! (the user's global `~/.streamlit/config.toml`, then the project's
//! `./.streamlit/config.toml`; the project's setting wins), else Streamlit's default locations
//! (`~/.streamlit/secrets.toml`, then `./.streamlit/secrets.toml`). Each source says what chose
//! it, for `dataconn secrets --show-sources` and for messages.
//!
//! ```toml
//! # .streamlit/config.toml
//! [secrets]
//! files = ["~/.streamlit/secrets.toml", ".streamlit/secrets.toml", "/run/secrets/app"]
//! ```
//!
//! Entries are a `.toml` file or an existing folder (Kubernetes-style secrets), in order, later
//! winning; a relative entry is relative to the project folder (where the app runs), and `~/`
//! is the home folder. A bad entry or a config file that does not parse is an error naming the
//! config file and line.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::secrets::{SecretsSource, collect_origins, line_col};

/// A secrets source and what chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenSource {
    /// The file or folder.
    pub source: SecretsSource,
    /// What chose it: `` `[secrets] files` in /app/.streamlit/config.toml:2 ``, or Streamlit's
    /// default location.
    pub chosen_by: String,
}

impl fmt::Display for ChosenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.source.path().display(), self.chosen_by)
    }
}

/// The `[secrets] files` a config file sets, with the line that sets it; `None` when the file
/// does not exist or does not set it.
fn files_setting(path: &Path) -> Result<Option<(Vec<Value>, usize)>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::config(format!(
                "could not read Streamlit's config file {}",
                path.display()
            ))
            .with_source(e));
        }
    };
    let root: toml::Table = toml::from_str(&text).map_err(|e| {
        let at = match e.span() {
            Some(span) => {
                let (line, col) = line_col(&text, span.start);
                format!("{}:{line}:{col}", path.display())
            }
            None => path.display().to_string(),
        };
        Error::config(format!(
            "expected valid TOML in Streamlit's config file {at}, found an error: {}",
            e.message().trim()
        ))
    })?;
    let Some(files) = root.get("secrets").and_then(|s| s.get("files")) else {
        return Ok(None);
    };
    let mut origins = BTreeMap::new();
    if let Ok(spanned) = toml::de::DeTable::parse(&text) {
        collect_origins(path, &text, "", spanned.get_ref(), &mut origins);
    }
    let line = origins.get("secrets.files").map_or(0, |o| o.line);
    match files {
        Value::Array(items) => Ok(Some((items.clone(), line))),
        // Streamlit also takes one path as a string.
        Value::String(_) => Ok(Some((vec![files.clone()], line))),
        other => Err(Error::config(format!(
            "expected `[secrets] files` to be a list of paths ({}:{line}), found {}",
            path.display(),
            other.type_str()
        ))),
    }
}

/// The sources Streamlit reads for an app run from `project`, for a user whose home is `home`.
///
/// # Errors
/// [`ErrorKind::Config`] naming the config file and line: a config file that does not parse,
/// `files` that is not a list of paths, an entry that is neither a `.toml` file nor an existing
/// folder.
pub fn streamlit_sources(home: Option<&Path>, project: &Path) -> Result<Vec<ChosenSource>> {
    let configs: Vec<PathBuf> = home
        .map(|h| h.join(".streamlit").join("config.toml"))
        .into_iter()
        .chain(std::iter::once(
            project.join(".streamlit").join("config.toml"),
        ))
        .collect();
    let mut chosen = None;
    for config in &configs {
        if let Some(setting) = files_setting(config)? {
            chosen = Some((config.clone(), setting));
        }
    }
    let Some((config, (items, line))) = chosen else {
        let mut out = Vec::new();
        if let Some(home) = home {
            out.push(ChosenSource {
                source: SecretsSource::File(home.join(".streamlit").join("secrets.toml")),
                chosen_by: "Streamlit's default global location".to_owned(),
            });
        }
        out.push(ChosenSource {
            source: SecretsSource::File(project.join(".streamlit").join("secrets.toml")),
            chosen_by: "Streamlit's default project location".to_owned(),
        });
        return Ok(out);
    };
    let chosen_by = format!("`[secrets] files` in {}:{line}", config.display());
    items
        .iter()
        .map(|item| {
            let Value::String(entry) = item else {
                return Err(Error::config(format!(
                    "expected each entry of `[secrets] files` to be a path ({}:{line}), found {}",
                    config.display(),
                    item.type_str()
                )));
            };
            let path = match entry.strip_prefix("~/") {
                Some(rest) => home.map_or_else(|| PathBuf::from(entry), |h| h.join(rest)),
                None => project.join(entry),
            };
            let source = SecretsSource::from_path(&path).map_err(|_| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "expected each entry of `[secrets] files` ({}:{line}) to be a .toml \
                         file or an existing folder, found {entry:?} ({})",
                        config.display(),
                        path.display()
                    ),
                )
            })?;
            Ok(ChosenSource {
                source,
                chosen_by: chosen_by.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn without_a_setting_the_default_locations_are_read_global_first() {
        let home = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        let sources = streamlit_sources(Some(home.path()), project.path()).unwrap();
        assert_eq!(
            sources.iter().map(|s| s.source.path()).collect::<Vec<_>>(),
            [
                home.path().join(".streamlit/secrets.toml"),
                project.path().join(".streamlit/secrets.toml")
            ]
        );
        assert!(sources[0].chosen_by.contains("global"));
    }

    #[test]
    fn the_projects_setting_wins_over_the_global_one_and_keeps_its_order() {
        let home = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        write(
            &home.path().join(".streamlit/config.toml"),
            "[secrets]\nfiles = [\"~/global.toml\"]\n",
        );
        std::fs::create_dir_all(project.path().join("k8s")).unwrap();
        write(
            &project.path().join(".streamlit/config.toml"),
            "[server]\nport = 8502\n\n[secrets]\nfiles = [\"k8s\", \"~/base.toml\", \"local.toml\"]\n",
        );
        let sources = streamlit_sources(Some(home.path()), project.path()).unwrap();
        assert_eq!(
            sources,
            [
                ChosenSource {
                    source: SecretsSource::Dir(project.path().join("k8s")),
                    chosen_by: format!(
                        "`[secrets] files` in {}:5",
                        project.path().join(".streamlit/config.toml").display()
                    ),
                },
                ChosenSource {
                    source: SecretsSource::File(home.path().join("base.toml")),
                    chosen_by: sources[0].chosen_by.clone(),
                },
                ChosenSource {
                    source: SecretsSource::File(project.path().join("local.toml")),
                    chosen_by: sources[0].chosen_by.clone(),
                },
            ]
        );
    }

    #[test]
    fn a_global_setting_applies_when_the_project_sets_none() {
        let home = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        write(
            &home.path().join(".streamlit/config.toml"),
            "[secrets]\nfiles = [\"~/only.toml\"]\n",
        );
        write(
            &project.path().join(".streamlit/config.toml"),
            "[theme]\nbase = \"dark\"\n",
        );
        let sources = streamlit_sources(Some(home.path()), project.path()).unwrap();
        assert_eq!(sources.len(), 1);
        assert_eq!(sources[0].source.path(), home.path().join("only.toml"));
        assert!(
            sources[0].chosen_by.contains(":2"),
            "{}",
            sources[0].chosen_by
        );
    }

    #[test]
    fn bad_settings_name_the_config_file_and_line() {
        let home = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        let config = project.path().join(".streamlit/config.toml");
        write(&config, "[secrets]\n\nfiles = [\"notes.txt\"]\n");
        let err = streamlit_sources(Some(home.path()), project.path()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.message().contains(&format!("{}:3", config.display()))
                && err.message().contains("notes.txt"),
            "{err}"
        );
        write(&config, "[secrets]\nfiles = 3\n");
        let err = streamlit_sources(Some(home.path()), project.path()).unwrap_err();
        assert!(err.message().contains("list of paths"), "{err}");
        write(&config, "[secrets\nfiles = []\n");
        let err = streamlit_sources(Some(home.path()), project.path()).unwrap_err();
        assert!(
            err.message().contains(&format!("{}:1", config.display())),
            "{err}"
        );
    }
}
