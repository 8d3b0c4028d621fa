//! `write_table`: an Arrow [`Table`] into a Snowflake table with array bindings, in batches —
//! the analogue of the Python connector's `write_pandas`, without a stage or a vendor SDK.
//!
//! Each batch is one `INSERT ... VALUES (?, ...)` whose bindings hold a list of values per
//! column (Snowflake runs it as one statement). Values go as typed bindings, never spliced into
//! the SQL.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, Int64Type, TimeUnit};
use dataconn_core::{Error, ErrorKind, Result, Table};
use serde_json::{Map, Value, json};

use crate::connection::SnowflakeConnection;

/// Bound values per INSERT by default: the official connector's inline array-binding threshold.
const BINDS_PER_BATCH: usize = 65_280;

/// How [`SnowflakeConnection::write_table`] treats the target table.
///
/// ```
/// let options = dataconn_snowflake::WriteOptions::new().create(true).overwrite(true);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct WriteOptions {
    create: bool,
    overwrite: bool,
    quote_identifiers: bool,
    batch_rows: Option<usize>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            create: false,
            overwrite: false,
            quote_identifiers: true,
            batch_rows: None,
        }
    }
}

impl WriteOptions {
    /// Append to an existing table, names quoted (case kept), batches sized automatically.
    pub fn new() -> WriteOptions {
        WriteOptions::default()
    }

    /// Create the table from the Arrow schema when it does not exist (`auto_create_table`).
    pub fn create(mut self, yes: bool) -> WriteOptions {
        self.create = yes;
        self
    }

    /// Replace the table's rows, all or nothing: the rows go to a temporary staging table,
    /// then one statement replaces the table (`CREATE OR REPLACE ... AS SELECT` when creating,
    /// else `INSERT OVERWRITE`); a failure leaves the table as it was.
    pub fn overwrite(mut self, yes: bool) -> WriteOptions {
        self.overwrite = yes;
        self
    }

    /// Quote the table and column names so their case is kept (default, as `write_pandas`).
    /// Unquoted, names must be plain identifiers and the table name may be qualified
    /// (`db.schema.table`); Snowflake upper-cases them.
    pub fn quote_identifiers(mut self, yes: bool) -> WriteOptions {
        self.quote_identifiers = yes;
        self
    }

    /// Rows per INSERT. Default: as many as keep a batch under 65,280 bound values.
    pub fn batch_rows(mut self, rows: usize) -> WriteOptions {
        self.batch_rows = Some(rows.max(1));
        self
    }
}

/// A column's Snowflake type for `CREATE TABLE`, and the binding type its values go as.
fn column_types(field: &Field) -> Result<(String, &'static str)> {
    let found = || {
        Error::new(
            ErrorKind::TypeConversion,
            format!(
                "expected columns of numbers, text, booleans, dates, times, timestamps or \
                 binary; found column {:?} of type {}",
                field.name(),
                field.data_type()
            ),
        )
    };
    Ok(match field.data_type() {
        t if t.is_integer() => ("NUMBER(38,0)".to_owned(), "FIXED"),
        t if t.is_floating() => ("FLOAT".to_owned(), "REAL"),
        DataType::Decimal128(p, s) => (format!("NUMBER({p},{s})"), "TEXT"),
        DataType::Decimal256(p, s) if *p <= 38 => (format!("NUMBER({p},{s})"), "TEXT"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ("VARCHAR".to_owned(), "TEXT"),
        DataType::Boolean => ("BOOLEAN".to_owned(), "BOOLEAN"),
        DataType::Date32 | DataType::Date64 => ("DATE".to_owned(), "DATE"),
        DataType::Time32(_) | DataType::Time64(_) => ("TIME(9)".to_owned(), "TIME"),
        DataType::Timestamp(_, None) => ("TIMESTAMP_NTZ(9)".to_owned(), "TIMESTAMP_NTZ"),
        DataType::Timestamp(_, Some(_)) => ("TIMESTAMP_TZ(9)".to_owned(), "TIMESTAMP_TZ"),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => ("BINARY".to_owned(), "BINARY"),
        _ => return Err(found()),
    })
}

/// A column's values as binding text, in Snowflake's binding encodings (dates as epoch
/// milliseconds, times and timestamps as nanoseconds, binary as hex), nulls as JSON null.
fn binding_values(column: &ArrayRef, field: &Field) -> Result<Vec<Value>> {
    let exact = CastOptions {
        safe: false,
        ..Default::default()
    };
    let convert = |to: &DataType| {
        cast_with_options(column, to, &exact).map_err(|e| {
            Error::new(
                ErrorKind::TypeConversion,
                format!(
                    "expected column {:?} to fit Snowflake's {to} binding, found a value that \
                     does not",
                    field.name()
                ),
            )
            .with_source(e)
        })
    };
    let as_text = |array: &ArrayRef| -> Vec<Value> {
        let array = array.as_string::<i32>();
        array
            .iter()
            .map(|v| v.map_or(Value::Null, |s| Value::String(s.to_owned())))
            .collect()
    };
    let as_integers = |array: &ArrayRef, suffix: &str| -> Vec<Value> {
        array
            .as_primitive::<Int64Type>()
            .iter()
            .map(|v| v.map_or(Value::Null, |n| Value::String(format!("{n}{suffix}"))))
            .collect()
    };
    Ok(match field.data_type() {
        DataType::Date32 | DataType::Date64 => {
            let millis = convert(&DataType::Date64)?;
            as_integers(&convert_with(&millis, &DataType::Int64)?, "")
        }
        DataType::Time32(_) | DataType::Time64(_) => {
            let nanos = convert(&DataType::Time64(TimeUnit::Nanosecond))?;
            as_integers(&convert_with(&nanos, &DataType::Int64)?, "")
        }
        DataType::Timestamp(_, zone) => {
            let nanos = convert(&DataType::Timestamp(TimeUnit::Nanosecond, zone.clone()))?;
            // TIMESTAMP_TZ carries "<nanoseconds> <UTC offset in minutes + 1440>": the instant
            // is kept, at offset 0.
            let suffix = if zone.is_some() { " 1440" } else { "" };
            as_integers(&convert_with(&nanos, &DataType::Int64)?, suffix)
        }
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => {
            let bytes = convert(&DataType::LargeBinary)?;
            bytes
                .as_binary::<i64>()
                .iter()
                .map(|v| {
                    v.map_or(Value::Null, |b| {
                        Value::String(b.iter().map(|x| format!("{x:02x}")).collect())
                    })
                })
                .collect()
        }
        _ => as_text(&convert(&DataType::Utf8)?),
    })
}

fn convert_with(array: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    cast_with_options(array, to, &CastOptions::default()).map_err(|e| {
        Error::new(
            ErrorKind::TypeConversion,
            format!(
                "could not encode a {} value for Snowflake",
                array.data_type()
            ),
        )
        .with_source(e)
    })
}

/// `name` as SQL: quoted (case kept), or checked to be a plain, possibly qualified, identifier.
fn identifier(name: &str, quote: bool) -> Result<String> {
    if quote {
        return Ok(format!("\"{}\"", name.replace('"', "\"\"")));
    }
    let plain = |part: &str| {
        part.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    if name.split('.').all(plain) {
        Ok(name.to_owned())
    } else {
        Err(Error::new(
            ErrorKind::Parameter,
            format!(
                "expected a plain identifier (letters, digits, _ and $, parts joined by dots) \
                 with quote_identifiers off, found {name:?}"
            ),
        ))
    }
}

impl SnowflakeConnection {
    /// Write `table` into the Snowflake table `name` (creating or emptying it first when the
    /// options say so), in batches of array-bound INSERTs; returns the rows inserted and drops
    /// this connection's cached reads.
    ///
    /// Appending, each batch commits on its own: when one fails, the error says how many rows
    /// were already written. Overwriting is all or nothing (see [`WriteOptions::overwrite`]).
    ///
    /// # Errors
    /// A column type Snowflake cannot take (naming the column) before anything runs;
    /// Snowflake's error for the CREATE, the failing INSERT or the statement that replaces
    /// the rows.
    pub async fn write_table(
        &self,
        table: &Table,
        name: &str,
        options: &WriteOptions,
    ) -> Result<u64> {
        let result = self.write_batches(table, name, options).await;
        self.base.cache().invalidate().await;
        result.map_err(|e| self.base.masked(e))
    }

    async fn write_batches(
        &self,
        table: &Table,
        name: &str,
        options: &WriteOptions,
    ) -> Result<u64> {
        let schema = table.schema();
        if schema.fields().is_empty() {
            return Err(Error::new(
                ErrorKind::Parameter,
                "expected a table with at least one column, found none",
            ));
        }
        let quote = options.quote_identifiers;
        let target = identifier(name, quote)?;
        let mut columns = Vec::with_capacity(schema.fields().len());
        let mut definitions = Vec::with_capacity(schema.fields().len());
        let mut kinds = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let (sql_type, kind) = column_types(field)?;
            let column = identifier(field.name(), quote)?;
            definitions.push(format!("{column} {sql_type}"));
            columns.push(column);
            kinds.push(kind);
        }
        let batch_rows = options
            .batch_rows
            .unwrap_or((BINDS_PER_BATCH / columns.len()).max(1));
        let total = table.num_rows();
        if !options.overwrite {
            if options.create {
                let sql = format!(
                    "CREATE TABLE IF NOT EXISTS {target} ({})",
                    definitions.join(", ")
                );
                self.run_bound(&sql, json!({})).await?;
            }
            return self
                .insert_batches(table, &target, &columns, &kinds, batch_rows)
                .await
                .map_err(|(written, e)| {
                    e.with_context(
                        "rows already written",
                        format!("{written} of {total} (earlier batches are committed)"),
                    )
                });
        }
        // Overwrite: the rows go to a temporary staging table first, and one statement then
        // puts them in place, so that a failure on the way leaves the table as it was.
        let stage = identifier(
            &format!("{name}_DATACONN_STAGE_{}", uuid::Uuid::new_v4().simple()),
            quote,
        )?;
        let create_stage = if options.create {
            format!(
                "CREATE TEMPORARY TABLE {stage} ({})",
                definitions.join(", ")
            )
        } else {
            format!("CREATE TEMPORARY TABLE {stage} LIKE {target}")
        };
        self.run_bound(&create_stage, json!({})).await?;
        let staged = self
            .insert_batches(table, &stage, &columns, &kinds, batch_rows)
            .await
            .map_err(|(_, e)| e);
        let published = match staged {
            Ok(written) => {
                let publish = if options.create {
                    // The table takes the Arrow schema, as CREATE OR REPLACE did.
                    format!("CREATE OR REPLACE TABLE {target} AS SELECT * FROM {stage}")
                } else {
                    // One statement: Snowflake empties and fills the table atomically.
                    format!("INSERT OVERWRITE INTO {target} SELECT * FROM {stage}")
                };
                self.run_bound(&publish, json!({})).await.map(|_| written)
            }
            Err(e) => Err(e),
        };
        // Temporary: it would go with the session anyway; dropped now so as not to linger.
        if let Err(e) = self
            .run_bound(&format!("DROP TABLE IF EXISTS {stage}"), json!({}))
            .await
        {
            tracing::info!(error = %e, "could not drop a write_table staging table");
        }
        published.map_err(|e| {
            e.with_context(
                "rows already written",
                format!("0 of {total} (the table is as it was)"),
            )
        })
    }

    /// Insert `table` into `into` in array-bound batches of `batch_rows`; on failure, the rows
    /// already inserted and the error.
    async fn insert_batches(
        &self,
        table: &Table,
        into: &str,
        columns: &[String],
        kinds: &[&'static str],
        batch_rows: usize,
    ) -> std::result::Result<u64, (u64, Error)> {
        let schema = table.schema();
        let insert = format!(
            "INSERT INTO {into} ({}) VALUES ({})",
            columns.join(", "),
            vec!["?"; columns.len()].join(", ")
        );
        let mut written = 0u64;
        for batch in table.batches() {
            let mut offset = 0;
            while offset < batch.num_rows() {
                let len = batch_rows.min(batch.num_rows() - offset);
                let slice = batch.slice(offset, len);
                let mut bindings = Map::new();
                for (i, (field, column)) in schema.fields().iter().zip(slice.columns()).enumerate()
                {
                    let values = binding_values(column, field).map_err(|e| (written, e))?;
                    bindings.insert(
                        (i + 1).to_string(),
                        json!({ "type": kinds[i], "value": values }),
                    );
                }
                let inserted = match self.run_bound(&insert, Value::Object(bindings)).await {
                    Ok(data) => self.affected(data).await,
                    Err(e) => Err(e),
                };
                written = written.saturating_add(inserted.map_err(|e| (written, e))?);
                offset += len;
            }
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{BinaryArray, Date32Array, Int32Array, StringArray, TimestampSecondArray};

    use super::*;

    #[test]
    fn values_take_snowflake_binding_encodings() {
        let cases: Vec<(ArrayRef, Field, Vec<Value>)> = vec![
            (
                Arc::new(Int32Array::from(vec![Some(7), None])),
                Field::new("n", DataType::Int32, true),
                vec![json!("7"), Value::Null],
            ),
            (
                Arc::new(Date32Array::from(vec![1])),
                Field::new("d", DataType::Date32, false),
                vec![json!("86400000")],
            ),
            (
                Arc::new(TimestampSecondArray::from(vec![2]).with_timezone("+02:00")),
                Field::new(
                    "t",
                    DataType::Timestamp(TimeUnit::Second, Some("+02:00".into())),
                    false,
                ),
                vec![json!("2000000000 1440")],
            ),
            (
                Arc::new(BinaryArray::from(vec![&b"\x01\xff"[..]])),
                Field::new("b", DataType::Binary, false),
                vec![json!("01ff")],
            ),
            (
                Arc::new(StringArray::from(vec!["it's"])),
                Field::new("s", DataType::Utf8, false),
                vec![json!("it's")],
            ),
        ];
        for (array, field, expected) in cases {
            assert_eq!(binding_values(&array, &field).unwrap(), expected, "{field}");
        }
    }

    #[test]
    fn unsupported_columns_and_odd_names_are_refused_by_name() {
        let list = Field::new_list("tags", Field::new("item", DataType::Utf8, true), true);
        let err = column_types(&list).unwrap_err().to_string();
        assert!(err.contains("\"tags\""), "{err}");
        assert_eq!(identifier("My \"T\"", true).unwrap(), "\"My \"\"T\"\"\"");
        assert_eq!(identifier("db.s.t", false).unwrap(), "db.s.t");
        assert!(identifier("t; drop table x", false).is_err());
    }
}
