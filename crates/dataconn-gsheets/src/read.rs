//! `read(worksheet)`: the worksheet's cells shaped by the read options (skipped rows, header
//! row, columns, row limit), typed by [`crate::infer`], cached.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use dataconn_core::{Error, ErrorKind, IntoTtl, Params, Result, Table, Ttl};

use crate::connection::GSheetsConnection;
use crate::spreadsheet::WorksheetRef;

/// Which columns to keep: by header name, or by column letter (`"A"`, `"C:E"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UseCols {
    /// Header names, in the order wanted.
    Names(Vec<String>),
    /// Column letters or letter ranges (`"A"`, `"C:E"`), as in a sheet.
    Letters(Vec<String>),
}

/// How cells are rendered (service accounts; a public sheet is always formatted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Render {
    /// As the sheet shows them (`FORMATTED_VALUE`), the default.
    #[default]
    Formatted,
    /// Numbers unformatted (`UNFORMATTED_VALUE`); dates as the sheet formats them.
    Unformatted,
    /// Formulas as written (`FORMULA`).
    Formula,
}

impl Render {
    pub(crate) fn api_name(self) -> &'static str {
        match self {
            Render::Formatted => "FORMATTED_VALUE",
            Render::Unformatted => "UNFORMATTED_VALUE",
            Render::Formula => "FORMULA",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ReadOptions {
    pub(crate) render: Render,
    pub(crate) worksheet: Option<WorksheetRef>,
    pub(crate) header: Option<Option<usize>>,
    pub(crate) usecols: Option<UseCols>,
    pub(crate) nrows: Option<usize>,
    pub(crate) skiprows: usize,
}

impl ReadOptions {
    /// The options that shape the table (the worksheet is in the URL the key is made of, so
    /// the same worksheet named two ways is one entry).
    fn key_bytes(&self) -> Vec<u8> {
        format!(
            "{:?}|{:?}|{:?}|{:?}|{}",
            self.render, self.header, self.usecols, self.nrows, self.skiprows
        )
        .into_bytes()
    }
}

/// A read of one worksheet: set options, then `.await` it.
#[must_use = "a read does nothing until awaited"]
#[derive(Debug)]
pub struct ReadRequest<'a> {
    conn: &'a GSheetsConnection,
    options: ReadOptions,
    ttl: Option<Result<Ttl>>,
}

impl<'a> ReadRequest<'a> {
    pub(crate) fn new(conn: &'a GSheetsConnection, worksheet: Option<WorksheetRef>) -> Self {
        ReadRequest {
            conn,
            options: ReadOptions {
                worksheet,
                ..ReadOptions::default()
            },
            ttl: None,
        }
    }

    /// The row (0-based, after `skiprows`) that holds the column names; `None` for no header
    /// (columns are then named by letter: `A`, `B`, ...). Default: the first row.
    pub fn header(mut self, row: Option<usize>) -> Self {
        self.options.header = Some(row);
        self
    }

    /// Keep only these columns.
    pub fn usecols(mut self, columns: UseCols) -> Self {
        self.options.usecols = Some(columns);
        self
    }

    /// How cells are rendered (service accounts only; default formatted).
    pub fn render(mut self, render: Render) -> Self {
        self.options.render = render;
        self
    }

    /// At most this many data rows.
    pub fn nrows(mut self, rows: usize) -> Self {
        self.options.nrows = Some(rows);
        self
    }

    /// Skip this many rows at the top of the sheet before anything else.
    pub fn skiprows(mut self, rows: usize) -> Self {
        self.options.skiprows = rows;
        self
    }

    /// How long the result may be served from the cache (`"10m"`, a `Duration`, `Ttl`).
    pub fn ttl(mut self, ttl: impl IntoTtl) -> Self {
        self.ttl = Some(ttl.into_ttl());
        self
    }
}

impl<'a> IntoFuture for ReadRequest<'a> {
    type Output = Result<Table>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Table>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let conn = self.conn;
            let ttl = match self.ttl {
                Some(ttl) => ttl.map_err(|e| conn.base.masked(e))?,
                None => conn.default_ttl(),
            };
            let (source, scope) = conn
                .source(self.options.worksheet.as_ref(), self.options.render)
                .map_err(|e| conn.base.masked(e))?;
            let key = scope.key(
                "read",
                &source.key(),
                &Params::new(),
                &self.options.key_bytes(),
            );
            let options = self.options;
            scope
                .get_or_load(key, ttl, || async {
                    let rows = source.rows().await?;
                    shape(rows, &options)
                })
                .await
                .map_err(|e| conn.base.masked(e))
        })
    }
}

/// A column's letters (`A`, `Z`, `AA`) from its 0-based position.
fn letters(mut i: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The 0-based position of a column from its letters; `None` for other text and for more
/// letters than a position holds.
fn position(letters: &str) -> Option<usize> {
    let mut n = 0usize;
    for c in letters.trim().chars() {
        if !c.is_ascii_alphabetic() {
            return None;
        }
        let digit = c.to_ascii_uppercase() as usize - 'A' as usize + 1;
        n = n.checked_mul(26)?.checked_add(digit)?;
    }
    n.checked_sub(1)
}

/// CSV text (a public sheet's export) as rows of cells.
pub(crate) fn csv_rows(text: &str) -> Result<Vec<Vec<String>>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows: Vec<Vec<String>> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            Error::new(
                ErrorKind::TypeConversion,
                "expected CSV from the sheet, found text that is not",
            )
            .with_source(e)
        })?;
        rows.push(record.iter().map(str::to_owned).collect());
    }
    Ok(rows)
}

/// A worksheet's rows of cells into a typed table by the read options.
pub(crate) fn shape(mut rows: Vec<Vec<String>>, options: &ReadOptions) -> Result<Table> {
    // Empty trailing rows and columns are the grid, not data.
    while rows
        .last()
        .is_some_and(|r| r.iter().all(|c| c.trim().is_empty()))
    {
        rows.pop();
    }
    let mut rows: Vec<Vec<String>> = rows.into_iter().skip(options.skiprows).collect();
    // The width of what is left: a skipped banner row adds no columns.
    let width = rows
        .iter()
        .map(|r| {
            r.iter()
                .rposition(|c| !c.trim().is_empty())
                .map_or(0, |i| i + 1)
        })
        .max()
        .unwrap_or(0);
    let header = options.header.unwrap_or(Some(0));
    let names: Vec<String> = match header {
        Some(at) => {
            if at >= rows.len() && !rows.is_empty() {
                return Err(Error::new(
                    ErrorKind::Parameter,
                    format!(
                        "expected a header at row {at} (after skipping {}), found only {} rows",
                        options.skiprows,
                        rows.len()
                    ),
                ));
            }
            let head = if rows.is_empty() {
                Vec::new()
            } else {
                rows.drain(..=at).next_back().unwrap_or_default()
            };
            (0..width)
                .map(|i| {
                    head.get(i)
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| format!("Unnamed: {i}"))
                })
                .collect()
        }
        None => (0..width).map(letters).collect(),
    };
    if let Some(n) = options.nrows {
        rows.truncate(n);
    }
    let keep: Vec<usize> = match &options.usecols {
        None => (0..names.len()).collect(),
        Some(UseCols::Names(wanted)) => wanted
            .iter()
            .map(|w| {
                names.iter().position(|n| n == w).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Parameter,
                        format!(
                            "expected a column named {w:?}, found columns {}",
                            names.join(", ")
                        ),
                    )
                })
            })
            .collect::<Result<_>>()?,
        Some(UseCols::Letters(specs)) => {
            let mut keep = Vec::new();
            for spec in specs {
                let (from, to) = spec.split_once(':').unwrap_or((spec, spec));
                let (Some(from), Some(to)) = (position(from), position(to)) else {
                    return Err(Error::new(
                        ErrorKind::Parameter,
                        format!("expected column letters like \"A\" or \"C:E\", found {spec:?}"),
                    ));
                };
                // Only the columns there are: "A:ZZZZZZ" walks the sheet's width, not millions.
                let last = from.max(to).min(names.len().saturating_sub(1));
                keep.extend((from.min(to)..=last).filter(|i| *i < names.len()));
            }
            keep
        }
    };
    let names: Vec<String> = keep.iter().map(|i| names[*i].clone()).collect();
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            keep.iter()
                .map(|i| r.get(*i).cloned().unwrap_or_default())
                .collect()
        })
        .collect();
    crate::infer::table(&names, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_round_trip() {
        for (i, l) in [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")] {
            assert_eq!(letters(i), l);
            assert_eq!(position(l), Some(i));
        }
        assert_eq!(position("a1"), None);
        assert_eq!(
            position(&"Z".repeat(40)),
            None,
            "too many letters is no column, no panic"
        );
    }

    #[test]
    fn a_letter_range_past_the_last_column_stops_there() {
        let rows = vec![
            vec!["a".to_owned(), "b".to_owned(), "c".to_owned()],
            vec!["1".to_owned(), "2".to_owned(), "3".to_owned()],
        ];
        let options = ReadOptions {
            // 26^12 columns: walked one by one, this would not finish.
            usecols: Some(UseCols::Letters(vec!["B:ZZZZZZZZZZZZ".into()])),
            ..ReadOptions::default()
        };
        let t = shape(rows.clone(), &options).unwrap();
        assert_eq!(t.column_names(), ["b", "c"]);
        let options = ReadOptions {
            usecols: Some(UseCols::Letters(vec![format!("A:{}", "Z".repeat(40))])),
            ..ReadOptions::default()
        };
        let err = shape(rows, &options).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parameter, "{err}");
    }
}
