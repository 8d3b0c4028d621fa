//! ODBC errors as dataconn errors: the driver's message with its SQLSTATE and native error
//! code (each also a context pair), and a kind that says whether to retry.

use arrow::error::ArrowError;
use arrow_odbc::odbc_api;
use dataconn_core::{Error, ErrorKind};
use odbc_api::handles::slice_to_cow_utf8;

/// The SQLSTATE of an ODBC error, when it carries a diagnostic record.
pub(crate) fn sqlstate(err: &odbc_api::Error) -> Option<&str> {
    match err {
        odbc_api::Error::Diagnostics { record, .. }
        | odbc_api::Error::InvalidRowArraySize { record, .. }
        | odbc_api::Error::UnableToRepresentNull(record)
        | odbc_api::Error::OracleOdbcDriverDoesNotSupport64Bit(record)
        | odbc_api::Error::UnsupportedOdbcApiVersion(record) => Some(record.state.as_str()),
        _ => None,
    }
}

/// `err` from the driver while `doing` something (`"running the query"`).
pub(crate) fn odbc_error(err: odbc_api::Error, doing: &str) -> Error {
    let (message, state, native) = match &err {
        odbc_api::Error::Diagnostics { record, .. } => (
            slice_to_cow_utf8(&record.message).trim().to_owned(),
            Some(record.state.as_str().to_owned()),
            Some(record.native_error),
        ),
        other => (other.to_string(), sqlstate(other).map(str::to_owned), None),
    };
    let class = state.as_deref().map_or("", |s| &s[..2.min(s.len())]);
    let kind = match (class, state.as_deref()) {
        // Connection exceptions and the driver manager's own (IM: driver or DSN not found).
        ("08", _) | ("IM", _) | ("28", _) => ErrorKind::Connect,
        // 57014: PostgreSQL cancelled the statement (psqlODBC's query timeout).
        (_, Some("HYT00" | "HYT01" | "57014")) => ErrorKind::Timeout,
        (_, Some("HYC00" | "IM001")) => ErrorKind::Unsupported,
        _ => ErrorKind::Query,
    };
    let mut codes = Vec::new();
    if let Some(state) = &state {
        codes.push(format!("SQLSTATE {state}"));
    }
    if let Some(native) = native.filter(|n| *n != 0) {
        codes.push(format!("native error {native}"));
    }
    let codes = if codes.is_empty() {
        String::new()
    } else {
        format!(" ({})", codes.join(", "))
    };
    let mut out = Error::new(kind, format!("{doing} failed: {message}{codes}"));
    if let Some(state) = &state {
        out = out.with_context("sqlstate", state.clone());
    }
    if let Some(native) = native {
        out = out.with_context("native_error", native.to_string());
    }
    // A lost link (class 08) or a timeout can be tried again on a new connection.
    let temporary = class == "08" || kind == ErrorKind::Timeout;
    out.set_temporary(temporary)
}

/// An error arrow-odbc raised while a result streamed: a driver error (its codes kept), a value
/// longer than its buffer (named, with the key that raises the bound), or a conversion.
pub(crate) fn stream_error(err: ArrowError, columns: &[String]) -> Error {
    if let ArrowError::ExternalError(inner) = &err
        && let Some(odbc) = inner.downcast_ref::<odbc_api::Error>()
    {
        if let odbc_api::Error::TooLargeValueForBuffer {
            indicator,
            buffer_index,
        } = odbc
        {
            let column = columns
                .get(*buffer_index)
                .map_or_else(|| format!("#{}", buffer_index + 1), |c| format!("`{c}`"));
            let size = indicator.map_or_else(|| "longer".to_owned(), |n| format!("{n} bytes"));
            return Error::new(
                ErrorKind::Query,
                format!(
                    "reading the result failed: expected every value of column {column} to fit \
                     the buffer the driver's declared size allows, found a value of {size}; \
                     nothing was cut: raise `max_text_size` / `max_binary_size` for columns \
                     without a declared size, or cast the column to a sized type (the driver \
                     declares the bound; PostgreSQL's psqlODBC takes `MaxLongVarcharSize` and \
                     `MaxVarcharSize` in `options`)"
                ),
            );
        }
        let doing = "reading the result";
        let text = odbc.to_string();
        let state = sqlstate(odbc).map(str::to_owned);
        let mut out = Error::new(
            ErrorKind::Query,
            format!(
                "{doing} failed: {text}{}",
                state
                    .as_deref()
                    .map(|s| format!(" (SQLSTATE {s})"))
                    .unwrap_or_default()
            ),
        );
        if let Some(state) = state {
            let lost = state.starts_with("08");
            out = out.with_context("sqlstate", state).set_temporary(lost);
        }
        return out;
    }
    Error::new(
        ErrorKind::Query,
        format!("reading the result failed: {err}"),
    )
    .with_source(err)
}

/// An error building the reader of a result: a column arrow-odbc cannot read, or buffers
/// beyond `max_batch_bytes`.
pub(crate) fn reader_error(err: arrow_odbc::Error) -> Error {
    let hint = match &err {
        arrow_odbc::Error::OdbcBufferTooSmall { .. } => {
            " (raise `max_batch_bytes`, or lower `max_text_size` / `max_binary_size`)"
        }
        arrow_odbc::Error::ColumnFailure {
            source: arrow_odbc::ColumnFailure::TooLarge { .. },
            ..
        } => " (lower `batch_size`, `max_text_size` or `max_binary_size`)",
        arrow_odbc::Error::ColumnFailure {
            source: arrow_odbc::ColumnFailure::ZeroSizedColumn { .. },
            ..
        } => " (set `max_text_size` / `max_binary_size`, or cast the column to a sized type)",
        _ => "",
    };
    Error::new(
        ErrorKind::Query,
        format!(
            "reading the result failed: {}{hint}",
            err.to_string().replace('\n', " ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_error_names_the_key_to_change() {
        let err = reader_error(arrow_odbc::Error::OdbcBufferTooSmall {
            max_bytes_per_batch: 10,
            bytes_per_row: 20,
        });
        assert!(err.message().contains("`max_batch_bytes`"), "{err}");
    }

    #[test]
    fn a_value_beyond_its_buffer_names_the_column_and_the_key() {
        let inner = odbc_api::Error::TooLargeValueForBuffer {
            indicator: Some(70_000),
            buffer_index: 1,
        };
        let err = stream_error(
            ArrowError::ExternalError(Box::new(inner)),
            &["id".into(), "body".into()],
        );
        let msg = err.to_string();
        assert!(msg.contains("column `body`"), "{msg}");
        assert!(
            msg.contains("70000 bytes") && msg.contains("`max_text_size`"),
            "{msg}"
        );
    }
}
