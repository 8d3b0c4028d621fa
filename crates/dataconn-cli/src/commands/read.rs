//! `dataconn read NAME PATH`: read a table by path from a files or sheets connection.

use dataconn::{Connections, Error, ErrorKind, Result};

use crate::cli::{Global, ReadArgs};
use crate::exit;

pub(crate) async fn run(hub: &Connections, global: &Global, args: ReadArgs) -> Result<u8> {
    let mut request = hub.connect(args.name.as_str());
    if let Some(t) = &global.connection_type {
        request = request.connection_type(t.clone());
    }
    let conn = request.await?;
    let Some(reader) = conn.as_read() else {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "connection `{}` ({}) cannot read tables by path; `read` works with files and \
                 gsheets connections (try `dataconn query`)",
                args.name,
                conn.connection_type()
            ),
        ));
    };
    let spinner = super::spinner(global, format!("reading {}", args.path));
    let result = reader
        .read_table(&args.path, args.input_format.as_deref())
        .await;
    spinner.finish_and_clear();
    crate::output::write_table(&result?, &args.out)?;
    Ok(exit::OK)
}
