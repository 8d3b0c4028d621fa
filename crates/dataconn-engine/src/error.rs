//! DataFusion's errors as dataconn's: the kind, and where in the SQL.
//!
//! DataFusion knows the span of many planning errors (a column that does not exist, a
//! function with wrong arguments) and the parser knows the line and column of a syntax error.
//! Either way the message ends with the position and the SQL line with a caret under it.

use dataconn_core::{Error, ErrorKind};
use datafusion::error::DataFusionError;

/// `err`, raised for `sql`, as a dataconn error.
pub fn engine_error(err: DataFusionError, sql: &str) -> Error {
    let (kind, temporary) = kind_of(err.find_root());
    let root = root_message(&err).replace('\n', " ");
    let mut message = match err.diagnostic() {
        // The diagnostic says it short; the root error often adds the valid names.
        Some(diagnostic) if !root.contains(&diagnostic.message) => {
            format!("{}; {root}", diagnostic.message)
        }
        _ => root,
    };
    let position = err
        .diagnostic()
        .and_then(|d| d.span)
        .map(|span| (span.start.line as usize, span.start.column as usize))
        .filter(|(line, column)| *line > 0 && *column > 0)
        .or_else(|| parser_position(&message))
        .or_else(|| unknown_field(&message).and_then(|name| locate(sql, &name)));
    if let Some(diagnostic) = err.diagnostic() {
        for help in &diagnostic.helps {
            message.push_str(&format!("; {}", help.message));
        }
    }
    if let Some((line, column)) = position {
        message = strip_parser_position(&message).to_owned();
        message.push_str(&format!(" (at line {line}, column {column})"));
        if let Some(text) = sql.lines().nth(line - 1) {
            message.push_str(&format!(
                "\n  {text}\n  {}^",
                " ".repeat(text.chars().take(column - 1).count())
            ));
        }
    }
    // DataFusion's error is not kept as the source: its text is in the message already, and
    // the source's would be printed after the SQL excerpt.
    Error::new(kind, message).set_temporary(temporary)
}

/// The message of the innermost error, without DataFusion's backtrace and wrapping.
fn root_message(err: &DataFusionError) -> String {
    match err.find_root() {
        DataFusionError::SQL(parser, _) => parser.to_string(),
        DataFusionError::ObjectStore(store) => store.to_string(),
        root => root.message().into_owned(),
    }
}

fn kind_of(root: &DataFusionError) -> (ErrorKind, bool) {
    match root {
        DataFusionError::ObjectStore(store) => match store.as_ref() {
            object_store::Error::NotFound { .. } => (ErrorKind::NotFound, false),
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => (ErrorKind::Connect, false),
            _ => (ErrorKind::Io, true),
        },
        DataFusionError::IoError(_) => (ErrorKind::Io, true),
        DataFusionError::ArrowError(..) | DataFusionError::ParquetError(_) => {
            (ErrorKind::TypeConversion, false)
        }
        DataFusionError::NotImplemented(_) => (ErrorKind::Unsupported, false),
        DataFusionError::ResourcesExhausted(_) => (ErrorKind::Query, true),
        _ => (ErrorKind::Query, false),
    }
}

/// sqlparser ends its messages with `at Line: 1, Column: 15`.
fn parser_position(message: &str) -> Option<(usize, usize)> {
    let at = message.rfind("Line: ")?;
    let (line, rest) = message[at + 6..].split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

/// The column named by DataFusion's "No field named x." (its last part, unquoted).
fn unknown_field(message: &str) -> Option<String> {
    let at = message.find("No field named ")?;
    let rest = &message[at + "No field named ".len()..];
    let name = rest.split(". ").next()?.trim_end_matches('.');
    let last = name.rsplit('.').next()?.trim_matches('"');
    (!last.is_empty()).then(|| last.to_owned())
}

/// Line and column (from 1) of the first whole-word `word` in `sql`.
fn locate(sql: &str, word: &str) -> Option<(usize, usize)> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    for (line_no, line) in sql.lines().enumerate() {
        for (at, _) in line.match_indices(word) {
            let before = line[..at].chars().next_back();
            let after = line[at + word.len()..].chars().next();
            if !before.is_some_and(ident) && !after.is_some_and(ident) {
                return Some((line_no + 1, line[..at].chars().count() + 1));
            }
        }
    }
    None
}

fn strip_parser_position(message: &str) -> &str {
    match message.rfind(" at Line: ") {
        Some(at) => &message[..at],
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_positions_are_read_from_the_message() {
        let m = "sql parser error: Expected: end of statement, found: x at Line: 2, Column: 7";
        assert_eq!(parser_position(m), Some((2, 7)));
        assert_eq!(
            strip_parser_position(m),
            "sql parser error: Expected: end of statement, found: x"
        );
        assert_eq!(parser_position("no position here"), None);
    }

    #[test]
    fn unknown_columns_are_found_in_the_sql() {
        let m = "Schema error: No field named vendr. Valid fields are t.vendor.";
        assert_eq!(unknown_field(m).as_deref(), Some("vendr"));
        assert_eq!(
            unknown_field("No field named t.\"Qty\". Valid").as_deref(),
            Some("Qty")
        );
        let sql = "select vendor, vendr_x,\n  sum(x) from t group by vendr";
        assert_eq!(locate(sql, "vendr"), Some((2, 26)));
    }
}
