//! [`WriteMode`]: what a connector's `write_table` does with the target table, one meaning for
//! every connector that writes tables (ADBC, DuckDB, ODBC).

/// What `write_table` does with the target table.
///
/// Exhaustive on purpose: a new mode is a decision every connector that writes tables makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Create the table; fail when it exists.
    Create,
    /// Append to the table; fail when it does not exist.
    Append,
    /// Drop the table when it exists, then create it.
    Replace,
    /// Create the table when it does not exist, then append.
    CreateAppend,
}
