//! `write_table`: a [`Table`] into a database table by the driver's bulk ingest.

use adbc_core::options::{IngestMode, OptionStatement, OptionValue};
use adbc_core::{Connection as _, Optionable, Statement as _};
use arrow::array::RecordBatchIterator;
use dataconn_core::{Error, ErrorKind, Result, Table, WriteMode};

use crate::connection::AdbcConnection;
use crate::error::adbc_error;

/// ADBC's ingest mode for a write mode.
fn ingest_mode(mode: WriteMode) -> IngestMode {
    match mode {
        WriteMode::Create => IngestMode::Create,
        WriteMode::Append => IngestMode::Append,
        WriteMode::Replace => IngestMode::Replace,
        WriteMode::CreateAppend => IngestMode::CreateAppend,
    }
}

impl AdbcConnection {
    /// Write `table` into the database table `name` by bulk ingest, as `mode` says; returns
    /// the rows written (when the driver says) and drops this connection's cached reads.
    ///
    /// # Errors
    /// [`ErrorKind::Parameter`] for an empty table name; the driver's error (a table that
    /// exists for [`WriteMode::Create`], a type it cannot store...).
    pub async fn write_table(&self, table: &Table, name: &str, mode: WriteMode) -> Result<u64> {
        if name.trim().is_empty() {
            return Err(self.base.masked(Error::new(
                ErrorKind::Parameter,
                "expected a table name to write to, found an empty one",
            )));
        }
        let batches = table.batches().to_vec();
        let schema = table.schema().clone();
        let name = name.to_owned();
        let pool = self.pool().await?;
        let result = pool
            .run(move |conn| {
                let what = format!("writing into {name}");
                let mut statement = conn.new_statement().map_err(|e| adbc_error(e, &what))?;
                statement
                    .set_option(
                        OptionStatement::TargetTable,
                        OptionValue::String(name.clone()),
                    )
                    .map_err(|e| adbc_error(e, &what))?;
                statement
                    .set_option(
                        OptionStatement::IngestMode,
                        OptionValue::String(ingest_mode(mode).into()),
                    )
                    .map_err(|e| adbc_error(e, &what))?;
                let reader = RecordBatchIterator::new(batches.into_iter().map(Ok), schema);
                statement
                    .bind_stream(Box::new(reader))
                    .map_err(|e| adbc_error(e, &what))?;
                let written = statement
                    .execute_update()
                    .map_err(|e| adbc_error(e, &what))?;
                Ok(written.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
            })
            .await;
        self.base.cache().invalidate().await;
        result.map_err(|e| self.base.masked(e))
    }
}
