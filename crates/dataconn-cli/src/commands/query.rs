//! `dataconn query NAME SQL`: run SQL with parameters, write the result.

use dataconn::{Connections, Error, ErrorKind, QueryExt, Result, Ttl};

use crate::cli::{Global, QueryArgs};
use crate::exit;

pub(crate) async fn run(hub: &Connections, global: &Global, args: QueryArgs) -> Result<u8> {
    let params = crate::params::parse(&args.params, &args.text_params)?;
    let ttl = Ttl::parse(&args.ttl)?;
    let mut request = hub.connect(args.name.as_str());
    if let Some(t) = &global.connection_type {
        request = request.connection_type(t.clone());
    }
    let conn = request.await?;
    let Some(query) = conn.as_query() else {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "connection `{}` ({}) does not answer SQL; `query` works with sql, snowflake, files and gsheets \
                 connections (try `dataconn read`)",
                args.name,
                conn.connection_type()
            ),
        ));
    };
    let spinner = super::spinner(global, format!("running query on {}", args.name));
    let mut request = query.query(args.sql.as_str()).params(params).ttl(ttl);
    if let Some(limit) = args.out.limit {
        // Pushed down: the source stops after `limit` rows where it can.
        request = request.limit(limit);
    }
    let result = request.await;
    spinner.finish_and_clear();
    crate::output::write_table(&result?, &args.out)?;
    Ok(exit::OK)
}
