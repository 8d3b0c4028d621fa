//! Named `:name` parameters, one syntax on every backend.
//!
//! Users write `select * from pets where owner = :owner`; [`rewrite`] turns that into the
//! driver's placeholders (`?` for SQLite, MySQL and Snowflake, `$1` for PostgreSQL) and the list
//! of values to bind, in order. Values are always bound, never spliced into the SQL text.
//!
//! The lexer knows enough SQL to leave alone what is not a parameter: string literals
//! (`'a:b'`, `E'\':x'`), quoted identifiers (`"a:b"`, `` `a:b` ``), comments (`-- :x`,
//! `/* :x */`), casts (`x::int`), dollar-quoted bodies (`$$ :x $$`, `$tag$ :x $tag$`), JSON
//! paths after an identifier (`col:field`), and a colon escaped as `\:`.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{Error, ErrorKind, Result};
use crate::sql_scan::{skip_block_comment, skip_dollar_quote, skip_line, skip_quoted};

/// A value bound to a named parameter.
///
/// Every backend binds every variant it has a type for; a variant a backend cannot bind is an
/// [`ErrorKind::Parameter`] error naming the parameter's type.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// An unsigned 64-bit integer (MySQL's `BIGINT UNSIGNED`).
    UInt(u64),
    /// A 64-bit float.
    Float(f64),
    /// An exact decimal: `unscaled × 10^-scale` (see [`Value::decimal`]).
    Decimal {
        /// The digits as an integer.
        unscaled: i128,
        /// Digits after the decimal point.
        scale: u8,
    },
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
    /// A calendar date.
    Date(chrono::NaiveDate),
    /// A time of day.
    Time(chrono::NaiveTime),
    /// A date and time without a time zone.
    Timestamp(chrono::NaiveDateTime),
    /// An instant, in UTC.
    TimestampTz(chrono::DateTime<chrono::Utc>),
    /// A UUID.
    Uuid(uuid::Uuid),
    /// A JSON document.
    Json(serde_json::Value),
    /// A list of values of one type (a PostgreSQL array).
    List(Vec<Value>),
}

impl Value {
    /// A short name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::UInt(_) => "uint",
            Value::Float(_) => "float",
            Value::Decimal { .. } => "decimal",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::Timestamp(_) => "timestamp",
            Value::TimestampTz(_) => "timestamptz",
            Value::Uuid(_) => "uuid",
            Value::Json(_) => "json",
            Value::List(_) => "list",
        }
    }

    /// An exact decimal from text such as `"-12.345"`.
    ///
    /// # Errors
    /// [`ErrorKind::Parameter`] for text that is not a decimal of at most 38 digits.
    ///
    /// # Examples
    /// ```
    /// use dataconn_core::Value;
    /// assert_eq!(Value::decimal("-12.345")?, Value::Decimal { unscaled: -12345, scale: 3 });
    /// # Ok::<(), dataconn_core::Error>(())
    /// ```
    pub fn decimal(text: &str) -> Result<Value> {
        let (unscaled, scale) = parse_decimal(text).ok_or_else(|| {
            Error::new(
                ErrorKind::Parameter,
                format!("expected a decimal number of at most 38 digits, found {text:?}"),
            )
        })?;
        Ok(Value::Decimal { unscaled, scale })
    }

    /// Feed a canonical encoding of this value into a cache-key hasher.
    pub(crate) fn write_key(&self, out: &mut Vec<u8>) {
        fn bytes(out: &mut Vec<u8>, tag: u8, b: &[u8]) {
            out.push(tag);
            out.extend((b.len() as u64).to_le_bytes());
            out.extend(b);
        }
        match self {
            Value::Null => out.push(0),
            Value::Bool(b) => out.extend([1, u8::from(*b)]),
            Value::Int(i) => bytes(out, 2, &i.to_le_bytes()),
            Value::UInt(u) => bytes(out, 3, &u.to_le_bytes()),
            Value::Float(f) => bytes(out, 4, &f.to_bits().to_le_bytes()),
            Value::Decimal { unscaled, scale } => {
                bytes(out, 5, &unscaled.to_le_bytes());
                out.push(*scale);
            }
            Value::Text(s) => bytes(out, 6, s.as_bytes()),
            Value::Bytes(b) => bytes(out, 7, b),
            Value::Date(d) => bytes(out, 8, d.to_string().as_bytes()),
            Value::Time(t) => bytes(out, 9, t.to_string().as_bytes()),
            Value::Timestamp(t) => bytes(out, 10, t.to_string().as_bytes()),
            Value::TimestampTz(t) => bytes(out, 11, t.to_rfc3339().as_bytes()),
            Value::Uuid(u) => bytes(out, 12, u.as_bytes()),
            Value::Json(j) => bytes(out, 13, j.to_string().as_bytes()),
            Value::List(items) => {
                out.push(14);
                out.extend((items.len() as u64).to_le_bytes());
                for item in items {
                    item.write_key(out);
                }
            }
        }
    }
}

/// `unscaled × 10^-scale` as text: `-12345, 3` → `"-12.345"` (the inverse of
/// [`parse_decimal`]).
pub fn decimal_text(unscaled: i128, scale: u8) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale - digits.len() + 1))
    } else {
        digits
    };
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    let sign = if unscaled < 0 { "-" } else { "" };
    if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

/// `"-12.345"` → `(-12345, 3)`; `None` for anything else or more than 38 digits.
pub fn parse_decimal(text: &str) -> Option<(i128, u8)> {
    let text = text.trim();
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole
        .bytes()
        .chain(fraction.bytes())
        .all(|b| b.is_ascii_digit())
        || whole.len() + fraction.len() > 38
    {
        return None;
    }
    let mut unscaled: i128 = 0;
    for b in whole.bytes().chain(fraction.bytes()) {
        unscaled = unscaled
            .checked_mul(10)?
            .checked_add(i128::from(b - b'0'))?;
    }
    let scale = u8::try_from(fraction.len()).ok()?;
    Some((if negative { -unscaled } else { unscaled }, scale))
}

/// Parameter values are user data: `Debug` shows their types, never their contents, so that
/// logs and error reports cannot leak them.
impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            other => write!(f, "{}(..)", other.type_name()),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident $(as $cast:ty)?),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self { Value::$variant(v $(as $cast)?) }
        }
    )*};
}

value_from! {
    bool => Bool,
    i8 => Int as i64, i16 => Int as i64, i32 => Int as i64, i64 => Int,
    u8 => Int as i64, u16 => Int as i64, u32 => Int as i64, u64 => UInt,
    f32 => Float as f64, f64 => Float,
    String => Text, Vec<u8> => Bytes,
    chrono::NaiveDate => Date, chrono::NaiveTime => Time, chrono::NaiveDateTime => Timestamp,
    chrono::DateTime<chrono::Utc> => TimestampTz, uuid::Uuid => Uuid, serde_json::Value => Json,
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Bytes(v.to_vec())
    }
}

impl Value {
    /// A list (a PostgreSQL array) from values of one type.
    pub fn list<T: Into<Value>>(items: impl IntoIterator<Item = T>) -> Value {
        Value::List(items.into_iter().map(Into::into).collect())
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Named parameter values, ordered by name so that equal sets hash equally.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(BTreeMap<String, Value>);

impl Params {
    /// No parameters.
    pub fn new() -> Self {
        Params::default()
    }

    /// Add or replace a parameter.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Value>) -> &mut Self {
        self.0.insert(name.into(), value.into());
        self
    }

    /// Builder form of [`Params::insert`].
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.insert(name, value);
        self
    }

    /// The value of a parameter.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Parameter names and values, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub(crate) fn write_key(&self, out: &mut Vec<u8>) {
        for (name, value) in &self.0 {
            out.extend((name.len() as u64).to_le_bytes());
            out.extend(name.as_bytes());
            value.write_key(out);
        }
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Params(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// Build [`Params`] from `name: value` pairs.
///
/// ```
/// use dataconn_core::{params, Value};
/// let p = params! { owner: "jerry", legs: 4, nickname: None::<String> };
/// assert_eq!(p.get("legs"), Some(&Value::Int(4)));
/// assert_eq!(params! {}.len(), 0);
/// ```
#[macro_export]
macro_rules! params {
    () => { $crate::Params::new() };
    ($($name:ident : $value:expr),+ $(,)?) => {{
        let mut params = $crate::Params::new();
        $( params.insert(stringify!($name), $value); )+
        params
    }};
}

/// The SQL dialect of a driver: its placeholder style and its string-literal rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dialect {
    /// SQLite: `?` placeholders; backslashes are ordinary characters in strings.
    Sqlite,
    /// PostgreSQL: `$1`, `$2`, ... numbered by first appearance, a repeated name reuses its
    /// number; backslash escapes only in `E'...'` strings.
    Postgres,
    /// MySQL and MariaDB: `?` placeholders; backslash escapes in every string.
    MySql,
    /// Snowflake: `?` placeholders; backslash escapes in every string.
    Snowflake,
    /// The embedded engine (DataFusion): `$name` placeholders, one value per distinct name.
    /// `$name` is as long as `:name`, so positions in the engine's errors stay true.
    DataFusion,
}

impl Dialect {
    fn numbered(self) -> bool {
        matches!(self, Dialect::Postgres)
    }

    fn named(self) -> bool {
        matches!(self, Dialect::DataFusion)
    }

    fn backslash_escapes(self) -> bool {
        matches!(self, Dialect::MySql | Dialect::Snowflake)
    }
}

/// SQL with driver placeholders and the values to bind, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct Rewritten {
    /// The SQL to send to the driver.
    pub sql: String,
    /// The values, one per `?` placeholder, or one per distinct name for numbered and named
    /// placeholders.
    pub values: Vec<Value>,
    /// The parameter name of each value, for messages.
    pub names: Vec<String>,
}

/// Rewrite `:name` parameters to the driver's placeholders and collect the values.
///
/// # Errors
/// [`ErrorKind::Parameter`] when the SQL names a parameter that was not given, or a given
/// parameter is not used; both lists are named in the message. Nothing has run at that point.
///
/// # Examples
/// ```
/// use dataconn_core::{params, rewrite, Dialect, Value};
/// let r = rewrite("select :a, ':a', x::int, :a", &params! { a: 1 }, Dialect::Postgres)?;
/// assert_eq!(r.sql, "select $1, ':a', x::int, $1");
/// assert_eq!(r.values, vec![Value::Int(1)]);
/// # Ok::<(), dataconn_core::Error>(())
/// ```
pub fn rewrite(sql: &str, params: &Params, dialect: Dialect) -> Result<Rewritten> {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut values = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut numbered: Vec<&str> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    let mut used: Vec<&str> = Vec::new();

    for token in lex(sql, dialect) {
        match token {
            Token::Text(text) => out.push_str(text),
            Token::Param(name) => {
                let Some(value) = params.get(name) else {
                    if !missing.iter().any(|m| m == name) {
                        missing.push(name.to_owned());
                    }
                    continue;
                };
                if !used.contains(&name) {
                    used.push(name);
                }
                if dialect.named() {
                    if !names.iter().any(|n| n == name) {
                        values.push(value.clone());
                        names.push(name.to_owned());
                    }
                    out.push('$');
                    out.push_str(name);
                } else if !dialect.numbered() {
                    out.push('?');
                    values.push(value.clone());
                    names.push(name.to_owned());
                } else {
                    let index = match numbered.iter().position(|n| *n == name) {
                        Some(i) => i,
                        None => {
                            numbered.push(name);
                            values.push(value.clone());
                            names.push(name.to_owned());
                            numbered.len() - 1
                        }
                    };
                    out.push('$');
                    out.push_str(&(index + 1).to_string());
                }
            }
        }
    }

    let extra: Vec<&str> = params
        .iter()
        .map(|(name, _)| name)
        .filter(|name| !used.contains(name))
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        let mut problems = Vec::new();
        if !missing.is_empty() {
            problems.push(format!(
                "the SQL uses {} but no value was given for it",
                list_params(missing.iter().map(String::as_str))
            ));
        }
        if !extra.is_empty() {
            problems.push(format!(
                "{} was given but the SQL does not use it",
                list_params(extra.iter().copied())
            ));
        }
        let given = if params.is_empty() {
            "none".to_owned()
        } else {
            list_params(params.iter().map(|(n, _)| n))
        };
        return Err(Error::new(
            ErrorKind::Parameter,
            format!(
                "named parameters do not match the SQL: {} (given: {given})",
                problems.join("; ")
            ),
        ));
    }
    Ok(Rewritten {
        sql: out,
        values,
        names,
    })
}

fn list_params<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|n| format!(":{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The parameter names a SQL text uses, in order of first appearance.
pub fn parameter_names(sql: &str, dialect: Dialect) -> Vec<&str> {
    let mut names = Vec::new();
    for token in lex(sql, dialect) {
        if let Token::Param(name) = token
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    names
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Text(&'a str),
    Param(&'a str),
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Split SQL into text and `:name` parameters. Non-ASCII bytes are always text, so slicing at
/// the ASCII boundaries found here keeps UTF-8 intact.
fn lex(sql: &str, dialect: Dialect) -> Vec<Token<'_>> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => {
                let escape_string = i > 0
                    && matches!(bytes[i - 1], b'E' | b'e')
                    && (i == 1 || !is_ident(bytes[i - 2]));
                let escapes = dialect.backslash_escapes() || escape_string;
                i = skip_quoted(bytes, i, b'\'', escapes);
            }
            b'"' => i = skip_quoted(bytes, i, b'"', false),
            b'`' => i = skip_quoted(bytes, i, b'`', false),
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_line(bytes, i),
            // PostgreSQL nests block comments; other dialects never put `/*` inside one.
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block_comment(bytes, i, true),
            b'$' => i = skip_dollar_quote(bytes, i, is_ident),
            b'\\' if bytes.get(i + 1) == Some(&b':') => {
                // `\:` is a literal colon: drop the backslash.
                tokens.push(Token::Text(&sql[start..i]));
                start = i + 1;
                i += 2;
            }
            b':' => {
                let prev_blocks = i > 0 && (bytes[i - 1] == b':' || is_ident(bytes[i - 1]));
                let next = bytes.get(i + 1).copied();
                if next == Some(b':') {
                    i += 2; // a `::` cast
                } else if !prev_blocks && next.is_some_and(is_ident_start) {
                    let end = bytes[i + 1..]
                        .iter()
                        .position(|&b| !is_ident(b))
                        .map_or(bytes.len(), |p| i + 1 + p);
                    if bytes.get(end) == Some(&b':') && bytes.get(end + 1) != Some(&b':') {
                        i = end; // `:a:b` is not a parameter (a slice or path), leave it
                        continue;
                    }
                    tokens.push(Token::Text(&sql[start..i]));
                    tokens.push(Token::Param(&sql[i + 1..end]));
                    start = end;
                    i = end;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    tokens.push(Token::Text(&sql[start..]));
    tokens.retain(|t| *t != Token::Text(""));
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_print_exactly_and_read_back() {
        assert_eq!(decimal_text(-12345, 3), "-12.345");
        assert_eq!(decimal_text(5, 3), "0.005");
        assert_eq!(decimal_text(120, 0), "120");
        assert_eq!(decimal_text(0, 2), "0.00");
        assert_eq!(parse_decimal(&decimal_text(-5, 3)), Some((-5, 3)));
    }

    fn q_in(sql: &str, dialect: Dialect) -> String {
        let names = parameter_names(sql, dialect);
        let params: Params = names.iter().map(|n| (*n, 1)).collect();
        rewrite(sql, &params, dialect).unwrap().sql
    }

    fn q(sql: &str) -> String {
        q_in(sql, Dialect::Sqlite)
    }

    #[test]
    fn leaves_everything_that_is_not_a_parameter_alone() {
        let cases = [
            ("select :a", "select ?"),
            ("select ':a'", "select ':a'"),
            ("select 'it''s :a'", "select 'it''s :a'"),
            (r"select E'\':a', :b", r"select E'\':a', ?"),
            (r#"select ":a" from t"#, r#"select ":a" from t"#),
            ("select `:a` from t", "select `:a` from t"),
            ("select 1 -- :a\n, :b", "select 1 -- :a\n, ?"),
            (
                "select /* :a /* :b */ :c */ :d",
                "select /* :a /* :b */ :c */ ?",
            ),
            ("select x::int, :a::text", "select x::int, ?::text"),
            ("select $$ :a $$, :b", "select $$ :a $$, ?"),
            ("select $fn$ :a $fn$, :b", "select $fn$ :a $fn$, ?"),
            ("select $1, :b", "select $1, ?"),
            ("select col:field from t", "select col:field from t"),
            (r"select '\:' || \:a", r"select '\:' || :a"),
            ("select :a_1,:b2", "select ?,?"),
            ("select 'ünï:x', :ü", "select 'ünï:x', :ü"),
            ("select arr[1:2]", "select arr[1:2]"),
            ("select :a:b", "select :a:b"),
        ];
        for (sql, want) in cases {
            assert_eq!(q(sql), want, "{sql}");
        }
    }

    #[test]
    fn backslashes_escape_quotes_only_where_the_dialect_says_so() {
        // A Windows path in a standard string ends at its quote.
        assert_eq!(q(r"select 'C:\', :a"), r"select 'C:\', ?");
        assert_eq!(
            q_in(r"select 'C:\', :a", Dialect::Postgres),
            r"select 'C:\', $1"
        );
        // MySQL reads `\'` as an escaped quote, so the string goes on.
        assert_eq!(
            q_in(r"select 'it\'s :a', :b", Dialect::MySql),
            r"select 'it\'s :a', ?"
        );
    }

    #[test]
    fn repeated_name_binds_the_same_value() {
        let p = params! { a: 7, b: "x" };
        let r = rewrite("select :a, :b, :a", &p, Dialect::Sqlite).unwrap();
        assert_eq!(r.sql, "select ?, ?, ?");
        assert_eq!(
            r.values,
            vec![Value::Int(7), Value::Text("x".into()), Value::Int(7)]
        );
        let r = rewrite("select :a, :b, :a", &p, Dialect::Postgres).unwrap();
        assert_eq!(r.sql, "select $1, $2, $1");
        assert_eq!(r.values, vec![Value::Int(7), Value::Text("x".into())]);
        let sql = "select :a, ':b', x::int, :b, :a";
        let r = rewrite(sql, &p, Dialect::DataFusion).unwrap();
        assert_eq!(r.sql, "select $a, ':b', x::int, $b, $a");
        assert_eq!(
            r.sql.len(),
            sql.len(),
            "positions stay where the user wrote them"
        );
        assert_eq!(r.names, ["a", "b"]);
        assert_eq!(r.values, vec![Value::Int(7), Value::Text("x".into())]);
    }

    #[test]
    fn missing_and_extra_parameters_are_named() {
        let err = rewrite(
            "select :owner, :pet",
            &params! { owner: 1, age: 2 },
            Dialect::Sqlite,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parameter);
        let msg = err.message();
        assert!(msg.contains("uses :pet but no value"), "{msg}");
        assert!(
            msg.contains(":age was given but the SQL does not use it"),
            "{msg}"
        );
        assert!(msg.contains("given: :age, :owner"), "{msg}");
    }

    #[test]
    fn sql_without_parameters_is_unchanged() {
        let sql = "select * from t where a = '?' and b = $1";
        let r = rewrite(sql, &Params::new(), Dialect::Postgres).unwrap();
        assert_eq!(r.sql, sql);
        assert!(r.values.is_empty());
    }

    #[test]
    fn debug_of_values_hides_contents() {
        let p = params! { password: "hunter2" };
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
