//! Writing a result table in the chosen format, to a file or stdout.

use std::fs::File;
use std::io::{IsTerminal, Write};

use dataconn::{Error, ErrorKind, Result, Table};

use crate::cli::{OutputArgs, TableFormat};

/// Write `table` as `args` say: the format defaults to a table on a terminal, CSV when piped;
/// binary formats refuse a terminal.
pub(crate) fn write_table(table: &Table, args: &OutputArgs) -> Result<()> {
    let table = match args.limit {
        Some(limit) => table.head(limit),
        None => table.clone(),
    };
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let format = args.format.unwrap_or(if to_terminal {
        TableFormat::Table
    } else {
        TableFormat::Csv
    });
    if to_terminal && matches!(format, TableFormat::Parquet | TableFormat::Arrow) {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "expected --output FILE or a pipe for binary output, found a terminal",
        ));
    }
    let sink: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(File::create(path).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("could not create {}", path.display()),
            )
            .with_source(e)
        })?),
        None => Box::new(std::io::stdout()),
    };
    let mut sink = std::io::BufWriter::new(sink);
    match format {
        TableFormat::Table => writeln!(sink, "{table}").map_err(io)?,
        TableFormat::Csv => table.write_csv(&mut sink)?,
        TableFormat::Json => {
            table.write_json(&mut sink)?;
            writeln!(sink).map_err(io)?;
        }
        TableFormat::Ndjson => table.write_ndjson(&mut sink)?,
        TableFormat::Parquet => {
            let mut writer =
                parquet::arrow::ArrowWriter::try_new(&mut sink, table.schema().clone(), None)
                    .map_err(|e| {
                        Error::new(ErrorKind::Io, "could not start the Parquet writer")
                            .with_source(e)
                    })?;
            for batch in table.batches() {
                writer.write(batch).map_err(|e| {
                    Error::new(ErrorKind::Io, "could not write Parquet").with_source(e)
                })?;
            }
            writer.close().map_err(|e| {
                Error::new(ErrorKind::Io, "could not finish the Parquet file").with_source(e)
            })?;
        }
        TableFormat::Arrow => {
            let mut writer = arrow::ipc::writer::FileWriter::try_new(&mut sink, table.schema())?;
            for batch in table.batches() {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
    }
    sink.flush().map_err(io)
}

fn io(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, "could not write the output").with_source(e)
}
