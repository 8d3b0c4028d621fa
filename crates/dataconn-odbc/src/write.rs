//! `write_table`: a [`Table`] into a database table through arrow-odbc's bulk inserter (rows
//! sent in arrays of `batch_size` parameters per round trip), creating or replacing the table
//! first when asked, with column types in the database's own words.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchIterator, make_array};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use dataconn_core::{Error, ErrorKind, Result, Table, WriteMode};

use crate::connection::OdbcConnection;
use crate::error::odbc_error;
use crate::pool::OdbcHandle;

/// The database families whose column types differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Postgres,
    MySql,
    Sqlite,
    SqlServer,
    Oracle,
    Other,
}

impl Family {
    fn of(dbms: &str) -> Family {
        let dbms = dbms.to_ascii_lowercase();
        if dbms.contains("postgres") {
            Family::Postgres
        } else if dbms.contains("mysql") || dbms.contains("mariadb") {
            Family::MySql
        } else if dbms.contains("sqlite") {
            Family::Sqlite
        } else if dbms.contains("sql server") {
            Family::SqlServer
        } else if dbms.contains("oracle") {
            Family::Oracle
        } else {
            Family::Other
        }
    }
}

/// The column type `field` is created with, in `family`'s words.
fn column_type(field: &Field, family: Family) -> Result<String> {
    use Family::{MySql, Oracle, Postgres, SqlServer, Sqlite};
    let text = match field.data_type() {
        DataType::Boolean => match family {
            SqlServer => "BIT",
            Oracle => "NUMBER(1)",
            _ => "BOOLEAN",
        },
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => "SMALLINT",
        DataType::Int32 => "INTEGER",
        DataType::Int64 => "BIGINT",
        DataType::Float32 => "REAL",
        DataType::Float64 => match family {
            MySql => "DOUBLE",
            _ => "DOUBLE PRECISION",
        },
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => {
            return Ok(format!("DECIMAL({p}, {s})"));
        }
        DataType::Utf8 => match family {
            Postgres | Sqlite => "TEXT",
            MySql => "LONGTEXT",
            SqlServer => "NVARCHAR(MAX)",
            Oracle => "CLOB",
            Family::Other => "VARCHAR(4000)",
        },
        DataType::Binary => match family {
            Postgres => "BYTEA",
            MySql => "LONGBLOB",
            Sqlite | Oracle => "BLOB",
            SqlServer => "VARBINARY(MAX)",
            Family::Other => "VARBINARY(4000)",
        },
        DataType::FixedSizeBinary(n) => return Ok(format!("BINARY({n})")),
        DataType::Date32 | DataType::Date64 => "DATE",
        DataType::Time32(_) | DataType::Time64(_) => "TIME",
        // Instants arrive here as their UTC wall time (see `insertable`).
        DataType::Timestamp(unit, _) => match (family, unit) {
            (MySql, TimeUnit::Second) => "DATETIME",
            (MySql, _) => "DATETIME(6)",
            (SqlServer, _) => "DATETIME2",
            _ => "TIMESTAMP",
        },
        other => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "expected columns of types ODBC can insert (numbers, decimals, text, \
                     binary, dates, times, timestamps), found `{}` of type {other}",
                    field.name()
                ),
            ));
        }
    };
    let nullable = if field.is_nullable() { "" } else { " NOT NULL" };
    Ok(format!("{text}{nullable}"))
}

/// `CREATE TABLE name (...)` for the table's schema, column names quoted as the driver says.
fn create_statement(conn: &OdbcHandle, name: &str, table: &Table, dbms: &str) -> Result<String> {
    let quote = conn
        .identifier_quote_char()
        .map_err(|e| odbc_error(e, "asking the driver how it quotes names"))?
        .unwrap_or('"');
    let family = Family::of(dbms);
    let columns = table
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let quoted = f.name().replace(quote, &format!("{quote}{quote}"));
            Ok(format!(
                "{quote}{quoted}{quote} {}",
                column_type(f, family)?
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(format!("CREATE TABLE {name} ({})", columns.join(", ")))
}

/// Whether the table can be read (it exists, and this user sees it).
fn exists(conn: &OdbcHandle, name: &str) -> bool {
    conn.execute(&format!("SELECT * FROM {name} WHERE 1 = 0"), (), None)
        .is_ok()
}

/// Run one statement without parameters.
fn run(conn: &OdbcHandle, sql: &str, doing: &str) -> Result<()> {
    conn.execute(sql, (), None)
        .map(|_| ())
        .map_err(|e| odbc_error(e, doing))
}

/// `table` as arrow-odbc inserts it: unsigned integers widened (UInt16 to Int32, UInt32 to
/// Int64, UInt64 to an exact Decimal128(20, 0)), large and view text and binary as plain,
/// Float16 as Float32, and zoned timestamps as their UTC wall time (arrow-odbc would write
/// them in the machine's zone with an offset that `TIMESTAMP` columns drop).
fn insertable(table: &Table) -> Result<Table> {
    let target = |data_type: &DataType| -> Option<DataType> {
        Some(match data_type {
            DataType::UInt16 => DataType::Int32,
            DataType::UInt32 => DataType::Int64,
            DataType::UInt64 => DataType::Decimal128(20, 0),
            DataType::Float16 => DataType::Float32,
            DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
            DataType::LargeBinary | DataType::BinaryView => DataType::Binary,
            DataType::Timestamp(unit, Some(_)) => DataType::Timestamp(*unit, None),
            _ => return None,
        })
    };
    let schema = table.schema();
    if !schema
        .fields()
        .iter()
        .any(|f| target(f.data_type()).is_some())
    {
        return Ok(table.clone());
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match target(f.data_type()) {
            Some(to) => f.as_ref().clone().with_data_type(to),
            None => f.as_ref().clone(),
        })
        .collect();
    let new_schema = Arc::new(Schema::new(fields));
    let mut batches = Vec::with_capacity(table.batches().len());
    for batch in table.batches() {
        let columns = batch
            .columns()
            .iter()
            .zip(new_schema.fields())
            .map(|(column, field)| convert(column, field.data_type()))
            .collect::<Result<Vec<ArrayRef>>>()?;
        batches.push(RecordBatch::try_new(new_schema.clone(), columns)?);
    }
    Table::try_new(new_schema, batches)
}

/// One column as `to`: a zoned timestamp keeps its UTC values (only the zone goes), every
/// other change is Arrow's cast.
fn convert(column: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    if column.data_type() == to {
        return Ok(column.clone());
    }
    if let (DataType::Timestamp(_, Some(_)), DataType::Timestamp(_, None)) =
        (column.data_type(), to)
    {
        let data = column
            .to_data()
            .into_builder()
            .data_type(to.clone())
            .build()?;
        return Ok(make_array(data));
    }
    Ok(arrow::compute::cast(column, to)?)
}

impl OdbcConnection {
    /// Write `table` into the database table `name` (written as SQL names it: quote it
    /// yourself when it needs quotes), as `mode` says, in one transaction: all rows or none,
    /// and a `Replace` whose insert fails leaves the old table (where the database's DDL is
    /// transactional: PostgreSQL, SQL Server, SQLite; MySQL and Oracle commit DDL at once).
    /// Returns the rows written and drops this connection's cached reads. Rows are sent in
    /// arrays of up to 10,000 per round trip.
    ///
    /// # Errors
    /// [`ErrorKind::Parameter`] for an empty table name; [`ErrorKind::Unsupported`] for a
    /// column type ODBC cannot insert (checked before anything runs); the driver's error (a
    /// table that exists for [`WriteMode::Create`], one that does not for
    /// [`WriteMode::Append`]...).
    pub async fn write_table(&self, table: &Table, name: &str, mode: WriteMode) -> Result<u64> {
        if name.trim().is_empty() {
            return Err(self.base.masked(Error::new(
                ErrorKind::Parameter,
                "expected a table name to write to, found an empty one",
            )));
        }
        let table = insertable(table).map_err(|e| self.base.masked(e))?;
        let name = name.to_owned();
        let (pool, run_settings) = self.pool_and_run().await?;
        let result = pool
            .run(move |conn| {
                // Every column type is checked before anything runs.
                let create = create_statement(conn, &name, &table, &run_settings.dbms)?;
                in_transaction(conn, || {
                    let create = match mode {
                        WriteMode::Append => None,
                        WriteMode::Create => Some(create),
                        WriteMode::CreateAppend => (!exists(conn, &name)).then_some(create),
                        WriteMode::Replace => {
                            if exists(conn, &name) {
                                run(
                                    conn,
                                    &format!("DROP TABLE {name}"),
                                    &format!("dropping {name}"),
                                )?;
                            }
                            Some(create)
                        }
                    };
                    if let Some(sql) = create {
                        run(conn, &sql, &format!("creating {name}"))?;
                    }
                    let mut reader = RecordBatchIterator::new(
                        table.batches().iter().cloned().map(Ok),
                        table.schema().clone(),
                    );
                    let rows = run_settings.read.batch_size.clamp(1, 10_000);
                    arrow_odbc::insert_into_table(conn, &mut reader, &name, rows).map_err(|e| {
                        Error::new(
                            ErrorKind::Query,
                            format!(
                                "writing into {name} failed: {}",
                                e.to_string().replace('\n', " ")
                            ),
                        )
                    })?;
                    Ok(table.num_rows() as u64)
                })
            })
            .await;
        self.base.cache().invalidate().await;
        result.map_err(|e| self.base.masked(e))
    }
}

/// Run `work` with autocommit off: commit when it succeeds, roll back when it fails. A
/// connection that cannot be put back to autocommit is reported as lost (so the pool closes
/// it rather than reuse it inside a transaction).
fn in_transaction<T>(conn: &OdbcHandle, work: impl FnOnce() -> Result<T>) -> Result<T> {
    let lost = |e: Error| e.set_temporary(true);
    conn.set_autocommit(false)
        .map_err(|e| odbc_error(e, "switching autocommit off"))?;
    let out = work();
    let ended = match &out {
        Ok(_) => conn.commit().map_err(|e| odbc_error(e, "committing")),
        Err(_) => conn.rollback().map_err(|e| odbc_error(e, "rolling back")),
    };
    conn.set_autocommit(true)
        .map_err(|e| lost(odbc_error(e, "switching autocommit back on")))?;
    let value = out?;
    ended?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_types_follow_the_database() {
        let text = Field::new("t", DataType::Utf8, true);
        assert_eq!(
            column_type(&text, Family::SqlServer).unwrap(),
            "NVARCHAR(MAX)"
        );
        assert_eq!(column_type(&text, Family::Postgres).unwrap(), "TEXT");
        let id = Field::new("id", DataType::Int64, false);
        assert_eq!(column_type(&id, Family::MySql).unwrap(), "BIGINT NOT NULL");
        let money = Field::new("m", DataType::Decimal128(12, 2), true);
        assert_eq!(
            column_type(&money, Family::Oracle).unwrap(),
            "DECIMAL(12, 2)"
        );
        let list = Field::new(
            "l",
            DataType::List(std::sync::Arc::new(Field::new("x", DataType::Int32, true))),
            true,
        );
        let err = column_type(&list, Family::Postgres).unwrap_err();
        assert!(err.message().contains("`l`"), "{err}");
    }

    #[test]
    fn unsigned_large_and_zoned_columns_become_insertable_without_changing_values() {
        use arrow::array::{Array, AsArray, TimestampMicrosecondArray, UInt64Array};
        let big: ArrayRef = Arc::new(UInt64Array::from(vec![u64::MAX, 7]));
        let at: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![1_700_000_000_000_000, 0]).with_timezone("+02:00"),
        );
        let table = Table::from_columns([("big", big), ("at", at)]).unwrap();
        let out = insertable(&table).unwrap();
        let batch = &out.batches()[0];
        assert_eq!(batch.column(0).data_type(), &DataType::Decimal128(20, 0));
        let decimals = batch
            .column(0)
            .as_primitive::<arrow::datatypes::Decimal128Type>();
        assert_eq!(decimals.value(0), i128::from(u64::MAX));
        let at = batch
            .column(1)
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        assert_eq!(
            at.data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, None)
        );
        assert_eq!(at.value(0), 1_700_000_000_000_000, "the UTC value is kept");
    }

    #[test]
    fn families_come_from_the_dbms_name() {
        assert_eq!(Family::of("Microsoft SQL Server"), Family::SqlServer);
        assert_eq!(Family::of("MariaDB"), Family::MySql);
        assert_eq!(Family::of("PostgreSQL"), Family::Postgres);
    }
}
