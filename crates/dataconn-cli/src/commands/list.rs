//! `dataconn list`: every connection, its type, where it came from, its options redacted.

use dataconn::{Connections, Result};
use serde_json::json;

use crate::cli::{Global, ListArgs};
use crate::exit;
use crate::redact::shown;

pub(crate) fn run(hub: &Connections, global: &Global, args: ListArgs) -> Result<u8> {
    let secrets = hub.secrets();
    let names = secrets.connection_names();
    let empty = toml::Table::new();
    let mut rows = vec![vec![
        "NAME".to_owned(),
        "TYPE".to_owned(),
        "SOURCE".to_owned(),
        "OPTIONS".to_owned(),
    ]];
    let json = super::json_report(args.format);
    for name in &names {
        let ty = match hub.resolve(name, global.connection_type.as_deref(), &empty) {
            Ok(config) => config.connection_type().to_owned(),
            Err(e) => format!("? ({})", e.message()),
        };
        let section = format!("connections.{name}");
        let source = secrets
            .origin(&section)
            .map_or_else(|| "?".to_owned(), ToString::to_string);
        let options: Vec<(String, String)> = secrets
            .table(&section)
            .map(|t| t.iter().map(|(k, v)| (k.clone(), shown(k, v))).collect())
            .unwrap_or_default();
        if json {
            let options: serde_json::Map<String, serde_json::Value> =
                options.into_iter().map(|(k, v)| (k, json!(v))).collect();
            println!(
                "{}",
                json!({ "name": name, "type": ty, "source": source, "options": options })
            );
        } else {
            let options = options
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            rows.push(vec![(*name).to_owned(), ty, source, options]);
        }
    }
    if !json {
        if names.is_empty() {
            println!("no [connections.*] sections found");
        } else {
            print!("{}", super::aligned(&rows));
        }
        println!();
        for source in secrets.searched() {
            let found = secrets.found().iter().any(|f| f == source.path());
            println!(
                "searched: {} ({})",
                source.path().display(),
                if found { "read" } else { "not found" }
            );
        }
    }
    Ok(exit::OK)
}
