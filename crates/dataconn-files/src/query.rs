//! `query(sql)`: SQL over the connection's files, on the embedded engine (cargo feature
//! `query`).
//!
//! Each table the SQL reads is a path or glob relative to the root, written quoted
//! (`'trips/*.parquet'` or `"trips/*.parquet"`), or a name from
//! `[connections.<name>.tables]`. Before the cache is asked, the objects are listed (one HEAD,
//! or one listing per glob) and their ETags, times and sizes become part of the cache key, as
//! for `read`: a changed file is never answered from the cache. The engine then scans exactly
//! those objects through the connection's own store, Parquet by ranges. Compressed text
//! (`.csv.gz`, `.jsonl.zst`) is decoded by the connector's `read` and handed over in memory.
//!
//! Without the feature, `query` is an error that names it.

use async_trait::async_trait;
use dataconn_core::{Params, Query, Result, Table, Ttl};

use crate::connection::FilesConnection;

#[async_trait]
impl Query for FilesConnection {
    async fn fetch(&self, sql: &str, params: &Params) -> Result<Table> {
        engine::fetch(self, sql, params)
            .await
            .map_err(|e| self.base.masked(e))
    }

    fn default_ttl(&self) -> Ttl {
        FilesConnection::default_ttl(self)
    }

    async fn data_version(&self, sql: &str, params: &Params) -> Result<Vec<u8>> {
        engine::data_version(self, sql, params)
            .await
            .map_err(|e| self.base.masked(e))
    }
}

#[cfg(not(feature = "query"))]
mod engine {
    use dataconn_core::{Error, Params, Result, Table};

    use crate::connection::FilesConnection;

    fn disabled() -> Error {
        Error::engine_disabled("files", "dataconn-files")
    }

    pub(super) async fn fetch(_: &FilesConnection, _: &str, _: &Params) -> Result<Table> {
        Err(disabled())
    }

    pub(super) async fn data_version(_: &FilesConnection, _: &str, _: &Params) -> Result<Vec<u8>> {
        Err(disabled())
    }
}

#[cfg(feature = "query")]
mod engine {
    use dataconn_core::{Error, ErrorKind, Params, Result, Table};
    use dataconn_engine::{FileFormat, FileSource, Prepared, TableName};
    use object_store::ObjectMeta;

    use crate::config::NamedTable;
    use crate::connection::FilesConnection;
    use crate::format::{Compression, Format};
    use crate::read::{object_version, objects};
    use crate::store::Location;

    /// Where one table of the SQL comes from.
    struct Source {
        table: TableName,
        /// The path or glob, as the user or the `tables` entry wrote it.
        path: String,
        objects: Vec<(Location, ObjectMeta)>,
        format: Format,
        compression: Compression,
        named: Option<NamedTable>,
    }

    impl Source {
        /// The URLs, ETags, times and sizes of its objects, for the cache key.
        fn version(&self, out: &mut Vec<u8>) {
            for (location, meta) in &self.objects {
                out.extend(object_version(location, meta).into_bytes());
                out.push(b'\n');
            }
        }
    }

    pub(super) async fn data_version(
        conn: &FilesConnection,
        sql: &str,
        params: &Params,
    ) -> Result<Vec<u8>> {
        let prepared = conn.engine().prepare(sql, params)?;
        let mut version = Vec::new();
        for source in sources(conn, &prepared).await? {
            source.version(&mut version);
        }
        Ok(version)
    }

    pub(super) async fn fetch(conn: &FilesConnection, sql: &str, params: &Params) -> Result<Table> {
        let prepared = conn.engine().prepare(sql, params)?;
        for source in sources(conn, &prepared).await? {
            register(conn, &prepared, source).await?;
        }
        prepared.run().await
    }

    /// Each table of the SQL, resolved to its objects and format.
    async fn sources(conn: &FilesConnection, prepared: &Prepared) -> Result<Vec<Source>> {
        let named = conn.named_tables();
        let mut out = Vec::with_capacity(prepared.tables().len());
        for table in prepared.tables() {
            let name = table.name();
            if table.is_qualified() {
                return Err(Error::new(
                    ErrorKind::Query,
                    format!(
                        "expected a table name or a quoted path, found {name} (read as schema.table); \
                         quote paths: '{name}'"
                    ),
                ));
            }
            let entry = named
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| t.clone());
            let path = entry.as_ref().map_or(name.clone(), |t| t.path.clone());
            let found = match objects(conn, &path).await {
                Ok(found) => found,
                Err(e) if e.kind() == ErrorKind::NotFound && entry.is_none() => {
                    let section = dataconn_core::Connection::name(conn);
                    return Err(unknown_table(&name, section, &named, e));
                }
                Err(e) => return Err(e),
            };
            let (format, compression) = format_of(&found, entry.as_ref())?;
            out.push(Source {
                table: table.clone(),
                path,
                objects: found,
                format,
                compression,
                named: entry,
            });
        }
        Ok(out)
    }

    /// A name that is neither in `tables` nor a file: say both, and what is known.
    fn unknown_table(
        name: &str,
        section: &str,
        named: &[(String, NamedTable)],
        cause: Error,
    ) -> Error {
        let known = if named.is_empty() {
            "none are configured".to_owned()
        } else {
            format!(
                "configured: {}",
                named
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let names: Vec<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
        let hint = dataconn_core::closest(name, &names)
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        Error::new(
            ErrorKind::NotFound,
            format!(
                "expected `{name}` to be a table in [connections.{section}.tables] ({known}) or \
                 a file; {}{hint}",
                cause.message()
            ),
        )
    }

    /// The format of a table: the `tables` entry's, else the one every object's name says.
    fn format_of(
        found: &[(Location, ObjectMeta)],
        entry: Option<&NamedTable>,
    ) -> Result<(Format, Compression)> {
        let mut inferred: Option<(Format, Compression, &str)> = None;
        for (location, _) in found {
            let this = match (entry.and_then(|t| t.format), Format::infer(&location.url)) {
                (Some(format), Ok((_, compression))) => (format, compression),
                (Some(format), Err(_)) => (format, Compression::None),
                (None, result) => {
                    let (format, compression) = result?;
                    (format, compression)
                }
            };
            match inferred {
                None => inferred = Some((this.0, this.1, &location.url)),
                Some((format, compression, first)) if (format, compression) != this => {
                    return Err(Error::new(
                        ErrorKind::TypeConversion,
                        format!(
                            "expected the files of one table to have one format; {first} is \
                             {format} and {} is {}",
                            location.url, this.0
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        let (format, compression, url) =
            inferred.ok_or_else(|| Error::internal("a table without objects"))?;
        if format == Format::Text {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "expected a table format, found text ({url}); name its format in \
                     [connections.<name>.tables] (format = \"csv\", delimiter = ...)"
                ),
            ));
        }
        Ok((format, compression))
    }

    async fn register(conn: &FilesConnection, prepared: &Prepared, source: Source) -> Result<()> {
        let delimiter = source.named.as_ref().and_then(|t| t.delimiter);
        let has_header = source.named.as_ref().is_none_or(|t| t.has_header);
        if source.compression != Compression::None {
            // The engine of this build reads no compressed files: our decoders do, cached.
            let mut read = conn
                .read(source.path.clone())
                .format(source.format)
                .compression(source.compression)
                .header(has_header);
            if let Some(d) = delimiter {
                read = read.delimiter(d);
            }
            return prepared.register_table(&source.table, read.await?);
        }
        let format = match source.format {
            Format::Csv => FileFormat::Csv {
                delimiter: delimiter.unwrap_or(b','),
                has_header,
            },
            Format::Tsv => FileFormat::Csv {
                delimiter: delimiter.unwrap_or(b'\t'),
                has_header,
            },
            Format::Parquet => FileFormat::Parquet,
            Format::Json => FileFormat::Json,
            Format::JsonLines => FileFormat::JsonLines,
            Format::Arrow => FileFormat::Arrow,
            Format::Text => return Err(Error::internal("text reached the engine")),
        };
        let files = source
            .objects
            .into_iter()
            .map(|(location, meta)| FileSource {
                url: location.url,
                store: location.store,
                meta,
            })
            .collect();
        prepared.register_files(&source.table, files, format).await
    }
}
