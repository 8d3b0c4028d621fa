//! Cells (text, as a sheet shows them) into typed Arrow columns.
//!
//! A column takes the first type every non-empty cell fits, in this order: integer, float,
//! boolean, date, date-time, else text. Empty cells are NULL. Numbers may carry thousands
//! separators (`1,234.5`, the US/UK form); booleans are `TRUE`/`FALSE` in any case; dates are
//! `2024-02-29` or `2/29/2024` (month first: the en_US form Sheets shows by default);
//! date-times add ` 13:45` or ` 13:45:10`. Digits with a leading zero (`007`) or more than 15
//! significant digits are identifiers and stay text.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use chrono::{NaiveDate, NaiveDateTime};
use dataconn_core::{Error, ErrorKind, Result, Table};

fn number_text(cell: &str) -> Option<String> {
    let t = cell.trim();
    if t.contains(',') {
        // Only thousands separators: 1,234 or -12,345,678.9
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        let int = int.strip_prefix('-').unwrap_or(int);
        let mut groups = int.split(',');
        let first = groups.next()?;
        if first.is_empty() || first.len() > 3 || !groups.all(|g| g.len() == 3) {
            return None;
        }
        return Some(t.replace(',', "")).filter(|_| frac.chars().all(|c| c.is_ascii_digit()));
    }
    Some(t.to_owned())
}

/// Digits that are an identifier, not a number: a leading zero (`007`, `02134`) or more
/// than 15 significant digits (beyond what a float keeps). Such a column stays text.
fn code_like(text: &str) -> bool {
    let digits = text.trim_start_matches('-');
    let leading_zero = digits.len() > 1
        && digits.starts_with('0')
        && digits.as_bytes().get(1).is_some_and(u8::is_ascii_digit);
    let significant = digits
        .chars()
        .filter(char::is_ascii_digit)
        .skip_while(|c| *c == '0')
        .count();
    leading_zero || significant > 15
}

fn int(cell: &str) -> Option<i64> {
    let text = number_text(cell)?;
    if code_like(&text) {
        return None;
    }
    text.parse().ok()
}

fn float(cell: &str) -> Option<f64> {
    let text = number_text(cell)?;
    if code_like(&text) {
        return None;
    }
    // "inf"/"nan" are text in a sheet, not numbers.
    if text
        .chars()
        .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
    {
        return None;
    }
    // "1e999" parses as infinity: a value no cell holds, so such a column stays text.
    text.parse().ok().filter(|f: &f64| f.is_finite())
}

fn boolean(cell: &str) -> Option<bool> {
    match cell.trim().to_ascii_uppercase().as_str() {
        "TRUE" => Some(true),
        "FALSE" => Some(false),
        _ => None,
    }
}

fn date(cell: &str) -> Option<NaiveDate> {
    let t = cell.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(t, "%m/%d/%Y"))
        .ok()
}

fn datetime(cell: &str) -> Option<NaiveDateTime> {
    let t = cell.trim();
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
}

fn all<T>(cells: &[&str], parse: impl Fn(&str) -> Option<T>) -> Option<Vec<Option<T>>> {
    cells
        .iter()
        .map(|c| {
            if c.trim().is_empty() {
                Some(None)
            } else {
                parse(c).map(Some)
            }
        })
        .collect()
}

/// One column's cells as the narrowest type they all fit.
fn column(cells: &[&str]) -> (DataType, ArrayRef) {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    if cells.iter().all(|c| c.trim().is_empty()) {
        return (
            DataType::Utf8,
            Arc::new(StringArray::from(vec![None::<&str>; cells.len()])),
        );
    }
    if let Some(v) = all(cells, int) {
        return (DataType::Int64, Arc::new(Int64Array::from(v)));
    }
    if let Some(v) = all(cells, float) {
        return (DataType::Float64, Arc::new(Float64Array::from(v)));
    }
    if let Some(v) = all(cells, boolean) {
        return (DataType::Boolean, Arc::new(BooleanArray::from(v)));
    }
    if let Some(v) = all(cells, date) {
        let days: Vec<Option<i32>> = v
            .into_iter()
            .map(|d| d.map(|d| (d - epoch).num_days() as i32))
            .collect();
        return (DataType::Date32, Arc::new(Date32Array::from(days)));
    }
    if let Some(v) = all(cells, datetime) {
        let millis: Vec<Option<i64>> = v
            .into_iter()
            .map(|d| d.map(|d| d.and_utc().timestamp_millis()))
            .collect();
        return (
            DataType::Timestamp(TimeUnit::Millisecond, None),
            Arc::new(TimestampMillisecondArray::from(millis)),
        );
    }
    let text: Vec<Option<&str>> = cells
        .iter()
        .map(|c| (!c.is_empty()).then_some(*c))
        .collect();
    (DataType::Utf8, Arc::new(StringArray::from(text)))
}

/// Rows of cells under `names` into a table, each column typed by its cells.
pub(crate) fn table(names: &[String], rows: &[Vec<String>]) -> Result<Table> {
    let mut fields = Vec::with_capacity(names.len());
    let mut arrays = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let cells: Vec<&str> = rows
            .iter()
            .map(|r| r.get(i).map_or("", String::as_str))
            .collect();
        let (data_type, array) = column(&cells);
        fields.push(Field::new(name, data_type, true));
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    // An empty worksheet is a table of no columns and no rows.
    let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(rows.len()));
    let batch = RecordBatch::try_new_with_options(schema, arrays, &options).map_err(|e| {
        Error::new(
            ErrorKind::TypeConversion,
            "could not build a table from the sheet",
        )
        .with_source(e)
    })?;
    Ok(Table::from_batch(batch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_column_takes_the_narrowest_type_its_cells_fit() {
        let cases: &[(&[&str], DataType)] = &[
            (&["1", "-2", ""], DataType::Int64),
            (&["1,234", "5"], DataType::Int64),
            (&["1.5", "2", "1,234.25"], DataType::Float64),
            (&["TRUE", "false"], DataType::Boolean),
            (&["2024-02-29", "3/1/2024"], DataType::Date32),
            (
                &["2024-02-29 13:45:10", "3/1/2024 9:05"],
                DataType::Timestamp(TimeUnit::Millisecond, None),
            ),
            (&["1", "two"], DataType::Utf8),
            (&["12,34"], DataType::Utf8),
            (&["inf"], DataType::Utf8),
            (&["007", "12"], DataType::Utf8),
            (&["12345678901234567890"], DataType::Utf8),
            (&["0.5", "0"], DataType::Float64),
            (&["1e999", "1"], DataType::Utf8),
        ];
        for (cells, expected) in cases {
            assert_eq!(&column(cells).0, expected, "{cells:?}");
        }
        use arrow::array::Array;
        let (_, ints) = column(&["1,234", ""]);
        let ints = arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(&ints);
        assert_eq!((ints.value(0), ints.is_null(1)), (1234, true));
    }
}
