//! `dataconn check`: connect to each connection in parallel and run its health check.

use std::time::{Duration, Instant};

use dataconn::{Connections, Error, ErrorKind, Result, Ttl};
use indicatif::MultiProgress;
use serde_json::json;

use crate::cli::{CheckArgs, Global};
use crate::exit;

struct Outcome {
    name: String,
    ty: String,
    elapsed: Duration,
    result: std::result::Result<(), Error>,
}

pub(crate) async fn run(hub: &Connections, global: &Global, args: CheckArgs) -> Result<u8> {
    let timeout = match Ttl::parse(&args.timeout)?.duration() {
        Some(d) if !d.is_zero() => d,
        _ => {
            return Err(Error::config(format!(
                "expected a positive --timeout such as 10s, found {:?}",
                args.timeout
            )));
        }
    };
    let names: Vec<String> = if args.names.is_empty() {
        hub.secrets()
            .connection_names()
            .into_iter()
            .map(str::to_owned)
            .collect()
    } else {
        args.names.clone()
    };
    if names.is_empty() {
        println!("no connections to check: no [connections.*] sections found");
        return Ok(exit::OK);
    }
    let progress = MultiProgress::new();
    let tasks: Vec<_> = names
        .iter()
        .map(|name| {
            let bar = progress.add(super::spinner(global, format!("checking {name}")));
            let hub = hub.clone();
            let name = name.clone();
            let explicit = global.connection_type.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let ty = hub
                    .resolve(&name, explicit.as_deref(), &toml::Table::new())
                    .map(|c| c.connection_type().to_owned())
                    .unwrap_or_else(|_| "?".to_owned());
                let work = async {
                    let mut request = hub.connect(name.as_str());
                    if let Some(t) = &explicit {
                        request = request.connection_type(t.clone());
                    }
                    let conn = request.await?;
                    conn.health_check().await
                };
                let result = match tokio::time::timeout(timeout, work).await {
                    Ok(result) => result,
                    Err(_) => Err(Error::new(
                        ErrorKind::Timeout,
                        format!("expected an answer within {timeout:?}, found none"),
                    )),
                };
                bar.finish_and_clear();
                Outcome {
                    name,
                    ty,
                    elapsed: started.elapsed(),
                    result,
                }
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(
            task.await
                .map_err(|e| Error::internal("a check task failed").with_source(e))?,
        );
    }
    let json = super::json_report(args.format);
    let mut failed = 0;
    // A configuration problem (3) outranks a failed connect (1).
    let mut worst = exit::OK;
    for o in &outcomes {
        let ms = o.elapsed.as_millis();
        match &o.result {
            Ok(()) if json => println!(
                "{}",
                json!({ "name": o.name, "type": o.ty, "ok": true, "ms": ms })
            ),
            Ok(()) => println!("OK      {} ({}) {ms} ms", o.name, o.ty),
            Err(e) => {
                failed += 1;
                worst = worst.max(crate::exit_code_for(e));
                if json {
                    println!(
                        "{}",
                        json!({ "name": o.name, "type": o.ty, "ok": false, "ms": ms, "error": e.to_string(), "id": e.kind().id(), "hint": hint(e) })
                    );
                } else {
                    println!(
                        "FAILED  {} ({}) {ms} ms\n        {e}\n        hint: {}",
                        o.name,
                        o.ty,
                        hint(e)
                    );
                }
            }
        }
    }
    if !json {
        println!(
            "\n{} checked, {} ok, {failed} failed",
            outcomes.len(),
            outcomes.len() - failed
        );
    }
    Ok(worst)
}

/// What to try next, by kind.
fn hint(err: &Error) -> &'static str {
    match err.kind() {
        ErrorKind::Config => "fix the keys named above, in the file and line shown",
        ErrorKind::MissingKey => "add the section to a secrets file, or check the name's spelling",
        ErrorKind::SecretsNotFound => "create .streamlit/secrets.toml or pass --secrets FILE",
        ErrorKind::SecretsParse => "fix the TOML at the line and column shown",
        ErrorKind::UnknownType => "set `type` in the section to one of the registered types",
        ErrorKind::FeatureDisabled => "use a dataconn build with that cargo feature enabled",
        ErrorKind::Connect => {
            "is the server running and reachable from here? check host, port and credentials"
        }
        ErrorKind::Timeout => {
            "the source did not answer in time; check the network or raise --timeout"
        }
        ErrorKind::Query => {
            "the source answered but refused the health-check query; check permissions"
        }
        _ => "run again with -v for details",
    }
}
