//! `dataconn secrets`: the merged secrets, redacted, optionally with each key's source.

use std::path::PathBuf;

use dataconn::{ChosenSource, Connections, Result, Secrets};

use crate::cli::SecretsArgs;
use crate::exit;
use crate::redact::{leaves, shown};

pub(crate) fn run(hub: &Connections, given: &[PathBuf], args: SecretsArgs) -> Result<u8> {
    let secrets = hub.secrets();
    if args.show_sources {
        print_sources(&secrets, given)?;
    }
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

/// The secrets sources in the order they are read (later wins), what chose each, and whether
/// it was found, as `#` comment lines.
fn print_sources(secrets: &Secrets, given: &[PathBuf]) -> Result<()> {
    let chosen: Vec<ChosenSource> = if given.is_empty() {
        let project = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        dataconn::streamlit_sources(std::env::home_dir().as_deref(), &project)?
    } else {
        secrets
            .searched()
            .iter()
            .map(|source| ChosenSource {
                source: source.clone(),
                chosen_by: "--secrets".to_owned(),
            })
            .collect()
    };
    println!("# secrets sources, in order (later wins):");
    for source in chosen {
        let path = source.source.path();
        let state = if secrets.found().iter().any(|f| f == path) {
            "read"
        } else {
            "not found"
        };
        println!("#   {} ({}; {state})", path.display(), source.chosen_by);
    }
    Ok(())
}
