//! Whether a SQL text only reads, checked before `query()` or `query_stream` runs it (by the
//! SQL, ADBC and DuckDB connectors; [`ensure_read`] in the author's kit for others).
//!
//! `query()` results are cached and a failed read is retried, so a write sent through it could
//! run twice, or be served from the cache without running at all. Without a SQL parser, the
//! check looks at the words of the text the way the database would see them (strings, quoted
//! identifiers and comments skipped; MySQL's `/*! ... */` comments are code, so they are not)
//! and accepts one statement that starts with a reading keyword:
//!
//! - `SELECT`, `VALUES`, `TABLE`, `SHOW`, `DESCRIBE`/`DESC`, and `EXPLAIN` of one of those
//!   (parentheses around them are fine);
//! - `WITH` when no `INSERT`, `UPDATE`, `DELETE` or `MERGE` follows (PostgreSQL's
//!   data-modifying CTEs); `UPDATE` after `FOR` or `KEY` is a row lock and counts as a read;
//! - neither may hold `INTO` (`SELECT ... INTO new_table`, `INTO OUTFILE`, `INTO @var`);
//! - SQLite's `PRAGMA name`, or `PRAGMA name(arg)` for the pragmas that only report;
//! - DuckDB's `FROM t ...` (a `SELECT` with the `FROM` first), `SUMMARIZE`, `PIVOT` and
//!   `UNPIVOT`.
//!
//! It is a guard against mistakes, not a sandbox: a function with side effects called from a
//! `SELECT` still runs. Give untrusted SQL a read-only database user.

use crate::error::{Error, ErrorKind, Result};
use crate::params::Dialect;
use crate::sql_scan::{skip_block_comment, skip_dollar_quote, skip_line, skip_quoted};

/// A word or one punctuation character of SQL text, outside strings and comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Word(&'a str),
    Punct(u8),
}

/// Pragmas that take an argument and only report.
const READ_PRAGMAS: &[&str] = &[
    "table_info",
    "table_xinfo",
    "table_list",
    "index_info",
    "index_xinfo",
    "index_list",
    "foreign_key_list",
    "foreign_key_check",
    "integrity_check",
    "quick_check",
    "function_list",
    "module_list",
    "pragma_list",
    "collation_list",
    "database_list",
    "compile_options",
];

/// Check that `sql` is one statement that reads.
///
/// # Errors
/// [`ErrorKind::Unsupported`] naming what was found, pointing at `execute` and `session`.
pub fn ensure_read(sql: &str, dialect: Dialect) -> Result<()> {
    let tokens = tokens(sql, dialect);
    let mut statements = tokens
        .split(|t| *t == Token::Punct(b';'))
        .filter(|s| !s.is_empty());
    let Some(first) = statements.next() else {
        // Nothing but comments: the database says what it makes of that.
        return Ok(());
    };
    if statements.next().is_some() {
        return Err(refused(
            "more than one statement (`;` followed by more SQL)",
        ));
    }
    match classify(first) {
        Ok(()) => Ok(()),
        Err(found) => Err(refused(&found)),
    }
}

/// Check that no statement of `sql` starts or ends a transaction (`BEGIN`, `START
/// TRANSACTION`, `COMMIT`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`, `END`, `ABORT`) or turns
/// autocommit off (`SET autocommit = 0`, `SET IMPLICIT_TRANSACTIONS ON`), for a connector's
/// `execute()`: outside a session the connection would go back to its pool inside a
/// transaction. A procedural block (`BEGIN ... END;` in PL/SQL or T-SQL) is not one.
///
/// # Errors
/// [`ErrorKind::Unsupported`] naming the statement and pointing at `session()`.
pub fn ensure_no_transaction_control(sql: &str, dialect: Dialect) -> Result<()> {
    let tokens = tokens(sql, dialect);
    // Blocks opened by `BEGIN <statement>` and not yet closed by their `END`.
    let mut blocks = 0usize;
    for statement in tokens.split(|t| *t == Token::Punct(b';')) {
        let mut words = statement.iter().skip_while(|t| **t == Token::Punct(b'('));
        let Some(Token::Word(first)) = words.next() else {
            continue;
        };
        let next = words.next();
        let first = first.to_ascii_lowercase();
        let has = |keyword: &str| statement.iter().any(|t| word_is(t, keyword));
        let control = match first.as_str() {
            // `END IF`, `END LOOP`...: the end of a construct inside a block.
            "end"
                if next.is_some_and(|t| {
                    ["if", "loop", "case", "while", "for", "repeat"]
                        .iter()
                        .any(|k| word_is(t, k))
                }) =>
            {
                false
            }
            "end" if blocks > 0 => {
                blocks -= 1;
                false
            }
            "commit" | "rollback" | "savepoint" | "release" | "end" | "abort" => true,
            "start" => next.is_some_and(|t| word_is(t, "transaction")),
            // `BEGIN` alone or with a transaction word; `BEGIN <statement>` opens a block.
            "begin" => {
                let transaction =
                    next.is_none_or(|t| TRANSACTION_WORDS.iter().any(|k| word_is(t, k)));
                if !transaction {
                    blocks += 1;
                }
                transaction
            }
            "set" => {
                (has("autocommit") && (has("0") || has("off") || has("false")))
                    || (has("implicit_transactions") && has("on"))
            }
            _ => false,
        };
        if control {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "expected statements that change data, found `{}`, which controls a \
                     transaction: execute() runs each call on its own; use session() for a \
                     transaction",
                    first.to_uppercase()
                ),
            ));
        }
    }
    Ok(())
}

/// Words after `BEGIN` that make it start a transaction rather than a block.
const TRANSACTION_WORDS: &[&str] = &[
    "transaction",
    "tran",
    "work",
    "isolation",
    "read",
    "deferred",
    "immediate",
    "exclusive",
    "distributed",
    "not",
];

fn refused(found: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!(
            "expected a query that reads (SELECT, WITH, VALUES, TABLE, SHOW, EXPLAIN), found \
             {found}; query() caches and retries what it runs, so it takes only reads: run \
             writes with execute(), or inside a session() (whose query() also returns the rows \
             of INSERT ... RETURNING)"
        ),
    )
}

fn word_is(token: &Token<'_>, keyword: &str) -> bool {
    matches!(token, Token::Word(w) if w.eq_ignore_ascii_case(keyword))
}

/// `Ok` for a statement that reads; otherwise what it is, for the message.
fn classify(statement: &[Token<'_>]) -> std::result::Result<(), String> {
    let start = statement
        .iter()
        .position(|t| *t != Token::Punct(b'('))
        .unwrap_or(statement.len());
    let statement = &statement[start..];
    let Some(Token::Word(first)) = statement.first() else {
        return Err("a statement that does not start with a keyword".to_owned());
    };
    let first = first.to_ascii_lowercase();
    let has = |keyword: &str| statement.iter().any(|t| word_is(t, keyword));
    match first.as_str() {
        "select" | "values" | "table" => {
            if has("into") {
                return Err(format!(
                    "`{}` with INTO, which writes",
                    first.to_uppercase()
                ));
            }
            Ok(())
        }
        "with" => {
            if has("into") {
                return Err("`WITH` with INTO, which writes".to_owned());
            }
            for (i, token) in statement.iter().enumerate() {
                // `FOR UPDATE` locks rows; `insert(...)` and `replace(...)` are MySQL functions.
                let lock = i > 0
                    && (word_is(&statement[i - 1], "for") || word_is(&statement[i - 1], "key"));
                let call = statement.get(i + 1) == Some(&Token::Punct(b'('));
                for keyword in ["insert", "update", "delete", "merge", "replace"] {
                    if word_is(token, keyword) && !call && !(keyword == "update" && lock) {
                        return Err(format!(
                            "`WITH` followed by {}, which writes",
                            keyword.to_uppercase()
                        ));
                    }
                }
            }
            Ok(())
        }
        "show" | "describe" | "desc" | "summarize" => Ok(()),
        "from" | "pivot" | "unpivot" => {
            if has("into") {
                return Err(format!(
                    "`{}` with INTO, which writes",
                    first.to_uppercase()
                ));
            }
            Ok(())
        }
        "explain" => {
            // The explained statement starts at its first keyword (options come before it).
            let inner = statement[1..].iter().position(|t| {
                ["select", "with", "values", "table"]
                    .iter()
                    .chain(WRITES)
                    .any(|k| word_is(t, k))
            });
            match inner {
                Some(at) => {
                    classify(&statement[1 + at..]).map_err(|found| format!("`EXPLAIN` of {found}"))
                }
                None => Ok(()),
            }
        }
        "pragma" => {
            if statement.contains(&Token::Punct(b'=')) {
                return Err("`PRAGMA` that sets a value".to_owned());
            }
            // `PRAGMA [schema.]name(arg)`: the argument form sets most pragmas.
            let name = statement
                .iter()
                .take_while(|t| **t != Token::Punct(b'('))
                .filter_map(|t| match t {
                    Token::Word(w) => Some(*w),
                    Token::Punct(_) => None,
                })
                .last()
                .unwrap_or_default();
            if statement.contains(&Token::Punct(b'('))
                && !READ_PRAGMAS.iter().any(|p| p.eq_ignore_ascii_case(name))
            {
                return Err(format!("`PRAGMA {name}(...)`, which may set a value"));
            }
            Ok(())
        }
        other => Err(format!("`{}`", other.to_uppercase())),
    }
}

/// Keywords that start a write (for finding the statement an EXPLAIN explains).
const WRITES: &[&str] = &[
    "insert", "update", "delete", "merge", "replace", "create", "drop", "alter", "truncate",
    "copy", "call", "do", "set", "grant", "revoke", "load",
];

/// A byte of a dollar quote's tag: a word byte other than `$`.
fn is_tag_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// The words and punctuation of `sql`, skipping what the database does not read as SQL.
fn tokens(sql: &str, dialect: Dialect) -> Vec<Token<'_>> {
    let bytes = sql.as_bytes();
    let mysql = matches!(dialect, Dialect::MySql);
    let postgres = matches!(dialect, Dialect::Postgres);
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\'' => {
                let escape_string = postgres
                    && i > 0
                    && matches!(bytes[i - 1], b'E' | b'e')
                    && (i == 1 || !is_word_byte(bytes[i - 2]));
                i = skip_quoted(bytes, i, b'\'', mysql || escape_string);
            }
            // In MySQL a double quote starts a string (backslash escapes), elsewhere a name.
            b'"' => i = skip_quoted(bytes, i, b'"', mysql),
            b'`' => i = skip_quoted(bytes, i, b'`', false),
            b'[' if matches!(dialect, Dialect::Sqlite) => {
                i = bytes[i..]
                    .iter()
                    .position(|&c| c == b']')
                    .map_or(bytes.len(), |p| i + p + 1);
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_line(bytes, i),
            b'#' if mysql => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                if mysql && bytes.get(i + 2) == Some(&b'!') {
                    // Executable comment: its body is SQL; skip the marker and version.
                    i += 3;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                } else {
                    i = skip_block_comment(bytes, i, postgres);
                }
            }
            b'*' if mysql && bytes.get(i + 1) == Some(&b'/') => i += 2,
            b'$' if postgres => i = skip_dollar_quote(bytes, i, is_tag_byte),
            b if is_word_byte(b) => {
                let end = bytes[i..]
                    .iter()
                    .position(|&c| !is_word_byte(c))
                    .map_or(bytes.len(), |p| i + p);
                // Word bytes are ASCII or whole UTF-8 sequences, so these are char boundaries.
                out.push(Token::Word(&sql[i..end]));
                i = end;
            }
            b if b.is_ascii_whitespace() => i += 1,
            b => {
                out.push(Token::Punct(b));
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_control_is_refused_and_blocks_and_writes_are_not() {
        for sql in [
            "BEGIN",
            "begin;",
            "  (begin transaction",
            "/* note */ COMMIT",
            "rollback to savepoint a",
            "START TRANSACTION READ ONLY",
            "BEGIN TRAN",
            "begin immediate",
            "END",
            "update t set x = 1; BEGIN TRAN",
            "BEGIN p(); END; COMMIT",
            "SET autocommit = 0",
            "set implicit_transactions on",
        ] {
            let err = ensure_no_transaction_control(sql, Dialect::Sqlite).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{sql}");
            assert!(err.message().contains("session()"), "{sql}: {err}");
        }
        for sql in [
            "insert into t values (1)",
            "BEGIN my_proc(1); END;",
            "begin if x then y(); end if; end;",
            "set search_path to a",
            "update t set begin = 1",
            "-- begin\ndelete from t",
            "start_job()",
            "",
        ] {
            assert!(
                ensure_no_transaction_control(sql, Dialect::Sqlite).is_ok(),
                "{sql}"
            );
        }
    }

    fn reads(sql: &str, dialect: Dialect) -> bool {
        ensure_read(sql, dialect).is_ok()
    }

    #[test]
    fn duckdb_reads_pass_and_its_into_does_not() {
        for sql in [
            "from t where x > 1",
            "summarize t",
            "pivot t on y using sum(x)",
        ] {
            assert!(reads(sql, Dialect::Postgres), "{sql}");
        }
        assert!(!reads("from t into u", Dialect::Postgres));
        assert!(!reads("create table u as from t", Dialect::Postgres));
    }

    #[test]
    fn reading_statements_pass() {
        for sql in [
            "select 1",
            "  SELECT * FROM t;  ",
            "(select 1) union (select 2)",
            "values (1), (2)",
            "with x as (select 1) select * from x",
            "with x as (select 1) select * from x for update",
            "select 'insert into t' as s, \"delete\" from t",
            "-- insert into t\nselect 1",
            "/* delete from t; */ select 1",
            "select 1 -- ; delete from t",
            "explain select * from t",
            "show tables",
            "select updated_at, inserted from t",
            "with x as (select replace(name, 'a', 'b') as n from t) select * from x",
        ] {
            for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
                assert!(reads(sql, dialect), "{sql} ({dialect:?})");
            }
        }
        assert!(reads("select $$ ; delete $$", Dialect::Postgres));
        assert!(reads("select E'\\' ; delete' ", Dialect::Postgres));
        assert!(reads("select 'a\\' ; delete' ", Dialect::MySql));
        assert!(reads("select 1 # ; delete from t", Dialect::MySql));
        assert!(reads("pragma table_info(t)", Dialect::Sqlite));
        assert!(reads("pragma user_version", Dialect::Sqlite));
        assert!(reads(
            "/* a /* nested */ ; delete */ select 1",
            Dialect::Postgres
        ));
    }

    #[test]
    fn writes_and_several_statements_are_refused_with_a_pointer_to_execute() {
        for sql in [
            "insert into t values (1)",
            "  UPDATE t SET x = 1",
            "delete from t",
            "merge into t using s on true when matched then delete",
            "create table t (x int)",
            "drop table t",
            "alter table t add column y int",
            "truncate t",
            "grant select on t to u",
            "set search_path = x",
            "copy t from stdin",
            "replace into t values (1)",
            "/* just a comment */ insert into t values (1)",
            "-- a line\ninsert into t values (1)",
            "select 1; delete from t",
            "select 1; select 2",
            "with d as (delete from t returning *) select * from d",
            "with x as (select 1) insert into t select * from x",
            "select * into t2 from t",
            "explain analyze delete from t",
            "call p()",
        ] {
            for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
                let err = ensure_read(sql, dialect).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Unsupported, "{sql}");
                assert!(
                    err.message().contains("execute()") && err.message().contains("session()"),
                    "{err}"
                );
            }
        }
        assert!(!reads("pragma journal_mode = wal", Dialect::Sqlite));
        assert!(!reads("pragma cache_size(100)", Dialect::Sqlite));
        assert!(!reads("select 1 /*! ; delete from t */", Dialect::MySql));
        assert!(!reads(
            "/*!50000 insert into t values (1) */",
            Dialect::MySql
        ));
        assert!(
            ensure_read("insert into t values (1)", Dialect::Sqlite)
                .unwrap_err()
                .message()
                .contains("`INSERT`")
        );
    }
}
