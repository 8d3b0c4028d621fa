//! `dataconn secrets`: the merged secrets, redacted, optionally with each key's source.

use dataconn::{Connections, Result};

use crate::cli::SecretsArgs;
use crate::exit;
use crate::redact::{leaves, shown};

pub(crate) fn run(hub: &Connections, args: SecretsArgs) -> Result<u8> {
    let secrets = hub.secrets();
    if secrets.found().is_empty() {
        return Err(dataconn::Error::new(
            dataconn::ErrorKind::SecretsNotFound,
            format!(
                "expected a secrets file, found none; searched: {}",
                secrets.searched_list()
            ),
        ));
    }
    let mut all = Vec::new();
    leaves("", secrets.as_table(), &mut all);
    for (dotted, value) in all {
        let line = format!("{dotted} = {}", shown(&dotted, value));
        match (args.show_sources, secrets.origin(&dotted)) {
            (true, Some(origin)) => println!("{line}    # {origin}"),
            _ => println!("{line}"),
        }
    }
    Ok(exit::OK)
}
