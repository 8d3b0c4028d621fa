//! ADBC errors as dataconn errors: the driver's message, its ADBC status, SQLSTATE and vendor
//! code, each also a context pair, and a kind that says whether to retry.

use adbc_core::error::{Error as AdbcError, Status};
use dataconn_core::{Error, ErrorKind};

/// Whether the driver manager found nothing under a name.
pub(crate) fn is_not_found(err: &AdbcError) -> bool {
    err.status == Status::NotFound
}

/// The SQLSTATE, when the driver gave one.
fn sqlstate(err: &AdbcError) -> Option<String> {
    let bytes: Vec<u8> = err.sqlstate.iter().map(|c| *c as u8).collect();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (!text.trim_matches('\0').is_empty() && text != "00000").then_some(text)
}

/// `err` from the driver while `doing` something (`"running the query"`).
pub(crate) fn adbc_error(err: AdbcError, doing: &str) -> Error {
    let sqlstate = sqlstate(&err);
    // Drivers say IO for a lost link and (SQLite) for a refused write: a SQLSTATE outside
    // class 08 says the statement, not the link, failed.
    let link_lost = err.status == Status::IO
        && sqlstate
            .as_deref()
            .is_none_or(|state| state.starts_with("08"));
    let kind = match err.status {
        Status::NotFound => ErrorKind::NotFound,
        Status::NotImplemented => ErrorKind::Unsupported,
        Status::Timeout => ErrorKind::Timeout,
        Status::Unauthenticated | Status::Unauthorized => ErrorKind::Connect,
        Status::IO if link_lost => ErrorKind::Connect,
        _ => ErrorKind::Query,
    };
    let mut codes = format!("ADBC status {:?}", err.status);
    if let Some(state) = &sqlstate {
        codes.push_str(&format!(", SQLSTATE {state}"));
    }
    // i32::MIN means "the details hold it" (ADBC_ERROR_VENDOR_CODE_PRIVATE_DATA).
    let vendor = (err.vendor_code != 0 && err.vendor_code != i32::MIN).then_some(err.vendor_code);
    if let Some(code) = vendor {
        codes.push_str(&format!(", vendor code {code}"));
    }
    let message = err.message.trim();
    // DuckDB lets one process open a file for writing; say so plainly.
    let (kind, hint) = if message.contains("Could not set lock on file") {
        (
            ErrorKind::Connect,
            "; the file is locked by another process (DuckDB lets one process open a file for \
             writing; close it there, or open it read-only from every process)",
        )
    } else {
        (kind, "")
    };
    let mut out = Error::new(kind, format!("{doing} failed: {message} ({codes}){hint}"))
        .with_context("adbc_status", format!("{:?}", err.status));
    if let Some(state) = sqlstate {
        out = out.with_context("sqlstate", state);
    }
    if let Some(code) = vendor {
        out = out.with_context("vendor_code", code.to_string());
    }
    // A dropped server connection can be tried again; a refused statement cannot.
    out.set_temporary(link_lost || err.status == Status::Timeout)
}

/// An Arrow error raised while a result streamed (the driver's message, without codes).
pub(crate) fn stream_error(err: arrow::error::ArrowError) -> Error {
    Error::new(
        ErrorKind::Query,
        format!("reading the result failed: {err}"),
    )
    .with_source(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_sqlstate_and_vendor_code_are_in_the_message_and_the_context() {
        let mut err = AdbcError::with_message_and_status("division by zero", Status::InvalidData);
        err.sqlstate = [b'2' as _, b'2' as _, b'0' as _, b'1' as _, b'2' as _];
        err.vendor_code = 7;
        let err = adbc_error(err, "running the query");
        let msg = err.to_string();
        assert!(
            msg.contains("running the query failed: division by zero"),
            "{msg}"
        );
        assert!(
            msg.contains("SQLSTATE 22012") && msg.contains("vendor code 7"),
            "{msg}"
        );
        assert!(
            err.context()
                .iter()
                .any(|(k, v)| *k == "sqlstate" && v == "22012")
        );
        assert_eq!(err.kind(), ErrorKind::Query);
        assert!(!err.is_temporary());
    }
}
