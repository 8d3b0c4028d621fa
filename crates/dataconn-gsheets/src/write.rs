//! Writes (service accounts): `update`, `append`, `clear`, `create`. Each drops the
//! connection's cached reads, even when it fails part-way.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use dataconn_core::{Error, ErrorKind, Result, Table};
use serde_json::Value as Json;

use crate::connection::GSheetsConnection;
use crate::spreadsheet::{SpreadsheetRef, WorksheetRef};

/// A table's rows as cells: numbers and booleans as values, NULL as an empty cell, the rest as
/// text (dates and times as Arrow formats them, e.g. `2024-02-29`).
pub(crate) fn cells(table: &Table) -> Result<Vec<Vec<Json>>> {
    let mut rows = Vec::with_capacity(table.num_rows());
    for batch in table.batches() {
        let mut columns: Vec<Vec<Json>> = Vec::with_capacity(batch.num_columns());
        for column in batch.columns() {
            let cast = |to: &DataType| {
                arrow::compute::cast(column, to).map_err(|e| {
                    Error::new(
                        ErrorKind::TypeConversion,
                        format!("could not write a {} column to a sheet", column.data_type()),
                    )
                    .with_source(e)
                })
            };
            let empty = || Json::String(String::new());
            let values: Vec<Json> = match column.data_type() {
                t if t.is_integer() => arrow::compute::cast_with_options(
                    column,
                    &DataType::Int64,
                    &arrow::compute::CastOptions {
                        safe: false,
                        ..Default::default()
                    },
                )
                .map_err(|e| {
                    Error::new(
                        ErrorKind::TypeConversion,
                        "expected integers that fit a sheet's numbers, found one beyond i64",
                    )
                    .with_source(e)
                })?
                .as_primitive::<Int64Type>()
                .iter()
                .map(|v| v.map_or_else(empty, Json::from))
                .collect(),
                t if t.is_floating() || matches!(t, DataType::Decimal128(..)) => {
                    cast(&DataType::Float64)?
                        .as_primitive::<Float64Type>()
                        .iter()
                        .map(|v| match v {
                            None => empty(),
                            Some(f) if f.is_finite() => Json::from(f),
                            Some(f) => Json::String(f.to_string()),
                        })
                        .collect()
                }
                DataType::Boolean => column
                    .as_boolean()
                    .iter()
                    .map(|v| v.map_or_else(empty, Json::Bool))
                    .collect(),
                _ => {
                    let text = cast(&DataType::Utf8)?;
                    text.as_string::<i32>()
                        .iter()
                        .map(|v| v.map_or_else(empty, |s| Json::String(s.to_owned())))
                        .collect()
                }
            };
            columns.push(values);
        }
        for i in 0..batch.num_rows() {
            rows.push(columns.iter().map(|c| c[i].clone()).collect());
        }
    }
    Ok(rows)
}

fn header(table: &Table) -> Vec<Json> {
    table
        .column_names()
        .into_iter()
        .map(|n| Json::String(n.to_owned()))
        .collect()
}

impl GSheetsConnection {
    /// Replace a worksheet's contents with `table` (its column names as the header row) and
    /// make the grid exactly its size.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] for a public sheet; Google's refusal otherwise.
    pub async fn update(&self, worksheet: impl Into<WorksheetRef>, table: &Table) -> Result<()> {
        let worksheet = worksheet.into();
        self.writing(async |api, sheet| {
            let (gid, _) = api.find(&sheet, &worksheet).await?;
            let mut rows = vec![header(table)];
            rows.extend(cells(table)?);
            // One batchUpdate sets the grid to the table's size and every cell: Google applies
            // all of it or none, so a failure leaves the old contents whole (never new rows
            // over stale ones), and a retry writes the same result.
            api.replace(&sheet, gid, &rows, table.num_columns()).await
        })
        .await
    }

    /// Add `table`'s rows under the worksheet's last row, its columns matched to the header row
    /// by name (an empty worksheet gets the table's header first).
    ///
    /// # Errors
    /// [`ErrorKind::Parameter`] when a column of `table` is not in the header, listing it;
    /// [`ErrorKind::Unsupported`] for a public sheet; Google's refusal otherwise.
    pub async fn append(&self, worksheet: impl Into<WorksheetRef>, table: &Table) -> Result<()> {
        let worksheet = worksheet.into();
        self.writing(async |api, sheet| {
            let title = api.title(&sheet, Some(&worksheet)).await?;
            let existing = api.values(&sheet, &title, "FORMATTED_VALUE").await?;
            // The header is the first row with anything in it; a worksheet with nothing at all
            // gets the table's header first.
            let Some(head) = existing
                .iter()
                .find(|row| row.iter().any(|c| !c.trim().is_empty()))
            else {
                let mut rows = vec![header(table)];
                rows.extend(cells(table)?);
                return api.write(&sheet, &title, rows).await;
            };
            let names = table.column_names();
            let mut position = Vec::with_capacity(names.len());
            for name in &names {
                let at = head
                    .iter()
                    .position(|h| h.trim() == name.trim())
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::Parameter,
                            format!(
                                "expected column {name:?} in the worksheet's header, found {}",
                                head.join(", ")
                            ),
                        )
                    })?;
                position.push(at);
            }
            let rows = cells(table)?
                .into_iter()
                .map(|row| {
                    let mut out = vec![Json::String(String::new()); head.len()];
                    for (value, at) in row.into_iter().zip(&position) {
                        out[*at] = value;
                    }
                    out
                })
                .collect();
            api.append(&sheet, &title, rows).await
        })
        .await
    }

    /// Empty a worksheet.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] for a public sheet; Google's refusal otherwise.
    pub async fn clear(&self, worksheet: impl Into<WorksheetRef>) -> Result<()> {
        let worksheet = worksheet.into();
        self.writing(async |api, sheet| {
            let title = api.title(&sheet, Some(&worksheet)).await?;
            api.clear(&sheet, &title).await
        })
        .await
    }

    /// Create a new spreadsheet titled `title` whose one worksheet, `worksheet`, holds `table`;
    /// returns it (put its ID in a connection's `spreadsheet` to use it). The service account
    /// owns it: share it with people from Google Drive.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] for a public sheet; Google's refusal otherwise.
    pub async fn create_spreadsheet(
        &self,
        title: &str,
        worksheet: &str,
        table: &Table,
    ) -> Result<SpreadsheetRef> {
        let (api, _, _) = self.writer()?;
        let mut rows = vec![header(table)];
        rows.extend(cells(table).map_err(|e| self.base.masked(e))?);
        // One request creates the spreadsheet with its cells: a failure leaves none half made.
        let id = api
            .create_spreadsheet(title, worksheet, &rows, table.num_columns())
            .await
            .map_err(|e| self.base.masked(e))?;
        Ok(SpreadsheetRef { id, gid: None })
    }

    /// Add a worksheet titled `title` holding `table`; returns its gid.
    ///
    /// # Errors
    /// Google's refusal (a title already taken is `INVALID_ARGUMENT`);
    /// [`ErrorKind::Unsupported`] for a public sheet.
    pub async fn create(&self, title: &str, table: &Table) -> Result<u64> {
        let mut gid = 0;
        self.writing(async |api, sheet| {
            let mut rows = vec![header(table)];
            rows.extend(cells(table)?);
            gid = api
                .add_worksheet(&sheet, title, &rows, table.num_columns())
                .await?;
            Ok(())
        })
        .await?;
        Ok(gid)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, Date32Array, Float64Array, RecordBatch, TimestampMillisecondArray, UInt64Array,
    };

    use super::*;

    fn one(column: ArrayRef) -> Result<Vec<Vec<Json>>> {
        cells(&Table::from_batch(
            RecordBatch::try_from_iter([("c", column)]).unwrap(),
        ))
    }

    #[test]
    fn extreme_values_become_cells_or_errors_never_panics() {
        // Days beyond what a calendar date holds: an error (or text), never a panic.
        let dates = one(Arc::new(Date32Array::from(vec![i32::MAX, i32::MIN, 0])));
        assert!(dates.is_ok() || dates.is_err_and(|e| e.kind() == ErrorKind::TypeConversion));
        let dates = one(Arc::new(Date32Array::from(vec![0]))).unwrap();
        assert_eq!(dates[0], vec![Json::from("1970-01-01")]);
        let times = one(Arc::new(TimestampMillisecondArray::from(vec![
            i64::MAX,
            i64::MIN,
        ])));
        assert!(times.is_ok() || times.is_err_and(|e| e.kind() == ErrorKind::TypeConversion));
        let floats = one(Arc::new(Float64Array::from(vec![
            f64::INFINITY,
            f64::NAN,
            1e308,
        ])))
        .unwrap();
        assert_eq!(floats[0], vec![Json::from("inf")]);
        assert_eq!(floats[2], vec![Json::from(1e308)]);
        let err = one(Arc::new(UInt64Array::from(vec![u64::MAX]))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TypeConversion, "{err}");
    }
}
