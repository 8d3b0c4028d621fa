//! Naming a spreadsheet (a URL or an ID) and a worksheet (a gid, an index or a title).

use dataconn_core::{Error, ErrorKind, Result};

/// A spreadsheet, from its URL or its ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpreadsheetRef {
    /// The spreadsheet ID (the part after `/d/` in its URL).
    pub id: String,
    /// The worksheet the URL points at (`#gid=` or `?gid=`), if any.
    pub gid: Option<u64>,
}

impl SpreadsheetRef {
    /// Parse `https://docs.google.com/spreadsheets/d/<ID>/edit#gid=<GID>` or a bare ID.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the text is neither, saying what was expected.
    pub fn parse(text: &str) -> Result<SpreadsheetRef> {
        let text = text.trim();
        if let Ok(url) = url::Url::parse(text) {
            let mut segments = url.path_segments().into_iter().flatten();
            let id = segments
                .by_ref()
                .skip_while(|s| *s != "d")
                .nth(1)
                .filter(|id| valid_id(id))
                .ok_or_else(|| {
                    Error::config(format!(
                        "expected a spreadsheet URL like https://docs.google.com/spreadsheets/d/<ID>/edit, \
                         found {text:?}"
                    ))
                })?;
            let from_query = url
                .query_pairs()
                .find(|(k, _)| k == "gid")
                .and_then(|(_, v)| v.parse().ok());
            let from_fragment = url
                .fragment()
                .and_then(|f| f.split('&').find_map(|p| p.strip_prefix("gid=")))
                .and_then(|v| v.parse().ok());
            return Ok(SpreadsheetRef {
                id: id.to_owned(),
                gid: from_fragment.or(from_query),
            });
        }
        if valid_id(text) {
            return Ok(SpreadsheetRef {
                id: text.to_owned(),
                gid: None,
            });
        }
        Err(Error::config(format!(
            "expected a spreadsheet URL or ID (letters, digits, - and _), found {text:?}"
        )))
    }
}

fn valid_id(id: &str) -> bool {
    id.len() >= 10
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A worksheet: its gid (the number in `#gid=`), its 0-based position, or its title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorksheetRef {
    /// The worksheet's id, as in `#gid=123`.
    Gid(u64),
    /// The worksheet's position, 0 for the first.
    Index(usize),
    /// The worksheet's title (tab name).
    Title(String),
}

impl WorksheetRef {
    /// `"#gid=123"` or `"gid=123"` → a gid; a bare number → a gid (as st-gsheets-connection
    /// passes worksheet ids); any other text → a title.
    pub fn parse(text: &str) -> WorksheetRef {
        let t = text.trim();
        let digits = t.trim_start_matches('#').trim_start_matches("gid=");
        match digits.parse::<u64>() {
            Ok(gid) => WorksheetRef::Gid(gid),
            Err(_) => WorksheetRef::Title(t.to_owned()),
        }
    }

    /// From a TOML value: a number is a gid, a string as [`WorksheetRef::parse`].
    pub(crate) fn from_value(value: &toml::Value) -> Result<WorksheetRef> {
        match value {
            toml::Value::Integer(n) if *n >= 0 => Ok(WorksheetRef::Gid(*n as u64)),
            toml::Value::String(s) => Ok(WorksheetRef::parse(s)),
            other => Err(Error::new(
                ErrorKind::Config,
                format!(
                    "expected `worksheet` to be a gid (a number) or a title, found {}",
                    other.type_str()
                ),
            )),
        }
    }
}

impl From<&str> for WorksheetRef {
    fn from(text: &str) -> Self {
        WorksheetRef::parse(text)
    }
}

impl From<u64> for WorksheetRef {
    fn from(gid: u64) -> Self {
        WorksheetRef::Gid(gid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_ids_name_the_spreadsheet_and_the_gid() {
        let id = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms";
        let url = format!("https://docs.google.com/spreadsheets/d/{id}/edit#gid=123");
        assert_eq!(
            SpreadsheetRef::parse(&url).unwrap(),
            SpreadsheetRef {
                id: id.into(),
                gid: Some(123)
            }
        );
        let url = format!("https://docs.google.com/spreadsheets/d/{id}/edit?usp=sharing&gid=7");
        assert_eq!(SpreadsheetRef::parse(&url).unwrap().gid, Some(7));
        assert_eq!(SpreadsheetRef::parse(id).unwrap().gid, None);
        let err = SpreadsheetRef::parse("https://example.com/nothing").unwrap_err();
        assert!(err.to_string().contains("example.com/nothing"), "{err}");
        assert!(SpreadsheetRef::parse("not an id").is_err());
    }

    #[test]
    fn worksheets_are_gids_or_titles() {
        assert_eq!(WorksheetRef::parse("#gid=42"), WorksheetRef::Gid(42));
        assert_eq!(WorksheetRef::parse("0"), WorksheetRef::Gid(0));
        assert_eq!(
            WorksheetRef::parse("Sales 2024"),
            WorksheetRef::Title("Sales 2024".into())
        );
    }
}
