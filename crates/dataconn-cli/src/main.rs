#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
//! `dataconn`: list, check, query and read every connection in a Streamlit secrets file.
//!
//! Like `dbt debug` and `psql` for `.streamlit/secrets.toml`: the first thing to run to see that
//! connections work. See `docs/cli.md` for a session transcript and the exit codes.

mod cli;
mod commands;
mod output;
mod params;
mod redact;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use dataconn::{Connections, Error, ErrorKind, SecretsSource};

use crate::cli::{Cli, Command};

/// Exit codes, documented in `docs/cli.md`.
pub(crate) mod exit {
    /// Everything worked.
    pub(crate) const OK: u8 = 0;
    /// An operation failed: a query, a read, a connect, or at least one check.
    pub(crate) const FAILED: u8 = 1;
    // 2: the command line was wrong (clap exits with it by itself).
    /// The secrets or a connection's configuration is wrong (unknown name, bad TOML, bad keys).
    pub(crate) const CONFIG: u8 = 3;
}

/// Let a closed pipe end the program quietly, as it ends `cat` or `grep`. Rust ignores
/// SIGPIPE, so `dataconn secrets | head -1` would otherwise panic on its next `println!`.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default, before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    init_tracing(cli.global.verbose, cli.global.no_color);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(exit::FAILED);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(exit_code_for(&err))
        }
    }
}

async fn run(cli: Cli) -> dataconn::Result<u8> {
    let hub = hub(&cli.global.secrets)?;
    let g = &cli.global;
    match cli.command {
        Command::List(args) => commands::list::run(&hub, g, args),
        Command::Check(args) => commands::check::run(&hub, g, args).await,
        Command::Query(args) => commands::query::run(&hub, g, args).await,
        Command::Read(args) => commands::read::run(&hub, g, args).await,
        Command::Secrets(args) => commands::secrets::run(&hub, &cli.global.secrets, args),
    }
}

/// The hub over `--secrets` files (replacing the defaults) or Streamlit's locations.
fn hub(files: &[std::path::PathBuf]) -> dataconn::Result<Connections> {
    let mut builder = Connections::builder()
        .registry(dataconn::default_registry())
        .cache_from_secrets(dataconn::cache_from);
    if !files.is_empty() {
        let sources = files
            .iter()
            .map(|f| SecretsSource::from_path(f.clone()))
            .collect::<dataconn::Result<Vec<_>>>()?;
        builder = builder.secrets_sources(sources);
    }
    builder.build()
}

/// The exit code an error maps to: configuration problems are 3, the rest 1.
pub(crate) fn exit_code_for(err: &Error) -> u8 {
    match err.kind() {
        ErrorKind::Config
        | ErrorKind::SecretsNotFound
        | ErrorKind::SecretsParse
        | ErrorKind::MissingKey
        | ErrorKind::UnknownType
        | ErrorKind::FeatureDisabled => exit::CONFIG,
        _ => exit::FAILED,
    }
}

fn init_tracing(verbose: u8, no_color: bool) {
    let level = match verbose {
        0 => return,
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "dataconn={level},dataconn_core={level},dataconn_sql={level},dataconn_cli={level}"
        ))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(!no_color && std::io::stderr().is_terminal())
        .init();
}
