//! File formats and compression, inferred from the name or given explicitly.

use std::fmt;
use std::str::FromStr;

use dataconn_core::{Error, ErrorKind, Result};

/// A table format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// Apache Parquet.
    Parquet,
    /// One JSON array of records (`[{"a": 1}, ...]`).
    Json,
    /// One JSON record per line (JSON Lines, NDJSON).
    JsonLines,
    /// Arrow IPC file or stream (Feather v2).
    Arrow,
    /// Plain text (`read_text`, not a table).
    Text,
}

/// A compression around a text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// None.
    None,
    /// gzip (`.gz`).
    Gzip,
    /// Zstandard (`.zst`).
    Zstd,
}

impl Format {
    /// The format a name stands for: `csv`, `tsv`, `parquet`/`pq`, `json`, `jsonl`/`ndjson`,
    /// `arrow`/`feather`/`ipc`, `text`/`txt`.
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name.to_ascii_lowercase().as_str() {
            "csv" => Format::Csv,
            "tsv" | "tab" => Format::Tsv,
            "parquet" | "pq" => Format::Parquet,
            "json" => Format::Json,
            "jsonl" | "ndjson" | "json_lines" | "jsonlines" => Format::JsonLines,
            "arrow" | "feather" | "ipc" | "arrows" => Format::Arrow,
            "text" | "txt" => Format::Text,
            _ => return None,
        })
    }

    /// The format and compression of a file, from its extension (`trips.csv.gz`).
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] naming the extension and the formats, when it says nothing.
    pub fn infer(path: &str) -> Result<(Format, Compression)> {
        let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
        let (stem, compression) = if let Some(stem) = name.strip_suffix(".gz") {
            (stem.to_owned(), Compression::Gzip)
        } else if let Some(stem) = name.strip_suffix(".zst") {
            (stem.to_owned(), Compression::Zstd)
        } else {
            (name.clone(), Compression::None)
        };
        let extension = stem.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
        Format::from_name(extension).map(|f| (f, compression)).ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!(
                    "expected a file extension that names a format (csv, tsv, parquet, json, jsonl, \
                     arrow, txt, optionally .gz or .zst), found {path:?}; pass the format explicitly"
                ),
            )
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Parquet => "parquet",
            Format::Json => "json",
            Format::JsonLines => "jsonl",
            Format::Arrow => "arrow",
            Format::Text => "text",
        })
    }
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        Format::from_name(s).ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!(
                    "expected a format (csv, tsv, parquet, json, jsonl, arrow, text), found {s:?}"
                ),
            )
        })
    }
}

/// Undo `compression` on `bytes`, expanding to at most `limit` bytes (`max_decompressed_bytes`):
/// a small object that expands without end (a "zip bomb") stops at the limit, and no more than
/// the limit is ever held.
///
/// # Errors
/// [`ErrorKind::TypeConversion`] for bytes that are not the compression's format;
/// [`ErrorKind::Unsupported`] naming the limit and the file when it expands beyond `limit`.
pub(crate) fn decompress(
    bytes: bytes::Bytes,
    compression: Compression,
    url: &str,
    limit: u64,
) -> Result<bytes::Bytes> {
    use std::io::Read;
    let fail = |what: &str, e: std::io::Error| {
        Error::new(
            ErrorKind::TypeConversion,
            format!("{url} is not valid {what} data"),
        )
        .with_source(e)
    };
    let (what, reader): (&str, Box<dyn Read + '_>) = match compression {
        Compression::None => return Ok(bytes),
        Compression::Gzip => (
            "gzip",
            Box::new(flate2::read::MultiGzDecoder::new(bytes.as_ref())),
        ),
        Compression::Zstd => (
            "zstd",
            Box::new(
                zstd::stream::read::Decoder::new(bytes.as_ref()).map_err(|e| fail("zstd", e))?,
            ),
        ),
    };
    // One byte past the limit tells "exactly the limit" from "more".
    let mut out = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| fail(what, e))?;
    if out.len() as u64 > limit {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "expected {url} to expand to at most {limit} bytes (`max_decompressed_bytes`), \
                 found more; raise `max_decompressed_bytes` in the section to read it"
            ),
        ));
    }
    Ok(out.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_name_formats_and_compressions() {
        let cases = [
            ("a/b/trips.csv", Format::Csv, Compression::None),
            ("trips.CSV.gz", Format::Csv, Compression::Gzip),
            ("x.tsv.zst", Format::Tsv, Compression::Zstd),
            ("x.parquet", Format::Parquet, Compression::None),
            ("x.ndjson", Format::JsonLines, Compression::None),
            ("x.jsonl.gz", Format::JsonLines, Compression::Gzip),
            ("x.feather", Format::Arrow, Compression::None),
            ("notes.txt", Format::Text, Compression::None),
        ];
        for (path, format, compression) in cases {
            assert_eq!(
                Format::infer(path).unwrap(),
                (format, compression),
                "{path}"
            );
        }
        let err = Format::infer("data.xlsx").unwrap_err();
        assert!(err.message().contains("data.xlsx"), "{err}");
    }
}
