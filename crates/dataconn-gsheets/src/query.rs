//! `query(sql)`: SQL over worksheets, on the embedded engine (cargo feature `query`).
//!
//! Each table the SQL reads is a worksheet of the configured spreadsheet: its title
//! (`select * from "Orders"`), or its gid (`"#gid=123"`, `"123"`). Each is read through the
//! connector's cached `read` (so a worksheet read by two queries is fetched once per TTL) and
//! handed to the engine in memory.
//!
//! A public sheet cannot be read by title (its CSV export knows gids only). Where
//! st-gsheets-connection loads every title from the same default worksheet, here one title
//! means the configured worksheet, and two different titles are an error: they would be the
//! same data under two names.
//!
//! Without the feature, `query` is an error that names it.

use async_trait::async_trait;
use dataconn_core::{Params, Query, Result, Table, Ttl};

use crate::connection::GSheetsConnection;

#[async_trait]
impl Query for GSheetsConnection {
    async fn fetch(&self, sql: &str, params: &Params) -> Result<Table> {
        engine::fetch(self, sql, params)
            .await
            .map_err(|e| self.base.masked(e))
    }

    fn default_ttl(&self) -> Ttl {
        GSheetsConnection::default_ttl(self)
    }
}

#[cfg(not(feature = "query"))]
mod engine {
    use dataconn_core::{Error, Params, Result, Table};

    use crate::connection::GSheetsConnection;

    pub(super) async fn fetch(_: &GSheetsConnection, _: &str, _: &Params) -> Result<Table> {
        Err(Error::engine_disabled("worksheets", "dataconn-gsheets"))
    }
}

#[cfg(feature = "query")]
mod engine {
    use dataconn_core::{Error, ErrorKind, Params, Result, Table};
    use dataconn_engine::Engine;

    use crate::connection::GSheetsConnection;
    use crate::spreadsheet::WorksheetRef;

    pub(super) async fn fetch(
        conn: &GSheetsConnection,
        sql: &str,
        params: &Params,
    ) -> Result<Table> {
        let prepared = Engine::new().prepare(sql, params)?;
        let public = conn.is_public();
        let titles: Vec<String> = prepared
            .tables()
            .iter()
            .map(|t| t.name())
            .filter(|name| matches!(WorksheetRef::parse(name), WorksheetRef::Title(_)))
            .collect();
        if public && titles.len() > 1 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "expected at most one worksheet by title on a public sheet (its CSV export \
                     is read by gid), found {}; name the others by gid (\"#gid=123\") or use a \
                     service account",
                    titles.join(", ")
                ),
            ));
        }
        for table in prepared.tables() {
            let name = table.name();
            if table.is_qualified() {
                return Err(Error::new(
                    ErrorKind::Query,
                    format!(
                        "expected a worksheet, found {name} (read as schema.table); quote \
                         titles with dots: \"{name}\""
                    ),
                ));
            }
            let worksheet = WorksheetRef::parse(&name);
            let rows = match worksheet {
                // The one title a public sheet can have: the configured worksheet.
                WorksheetRef::Title(_) if public => conn.read_default().await?,
                worksheet => conn.read(worksheet).await?,
            };
            prepared.register_table(table, rows)?;
        }
        prepared.run().await
    }
}
