//! The command line, declared with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// List, check, query and read the connections of a Streamlit secrets file.
#[derive(Debug, Parser)]
#[command(name = "dataconn", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// A secrets file or Kubernetes-style folder; repeat for several (later wins). Replaces the
    /// files Streamlit reads (`[secrets] files` in .streamlit/config.toml, else
    /// ~/.streamlit/secrets.toml, then ./.streamlit/secrets.toml).
    #[arg(long = "secrets", global = true, value_name = "FILE")]
    pub(crate) secrets: Vec<PathBuf>,
    /// Use this connector type whatever the secrets say (as `type=` in st.connection).
    #[arg(long, global = true, value_name = "TYPE")]
    pub(crate) connection_type: Option<String>,
    /// Log what happens on stderr: -v info, -vv debug, -vvv trace.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// No colors and no progress display.
    #[arg(long, global = true, env = "NO_COLOR", value_parser = clap::builder::FalseyValueParser::new())]
    pub(crate) no_color: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Every connection found, its type and where it came from; secrets shown as ***.
    List(ListArgs),
    /// Connect to each connection (in parallel) and run its health check.
    Check(CheckArgs),
    /// Run SQL on a connection that answers queries.
    Query(QueryArgs),
    /// Read a table by path from a files or sheets connection.
    Read(ReadArgs),
    /// The merged secrets, redacted.
    Secrets(SecretsArgs),
}

/// How `list`, `check` and `secrets` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// A table on a terminal, JSON lines when piped.
    Auto,
    /// Aligned text.
    Table,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) format: ReportFormat,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The connections to check (default: all).
    pub(crate) names: Vec<String>,
    /// Give up on a connection after this long (`10s`, `1m`).
    #[arg(long, default_value = "10s")]
    pub(crate) timeout: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) format: ReportFormat,
}

/// How a result table is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TableFormat {
    /// A pretty table (the default on a terminal).
    Table,
    /// CSV with a header (the default when piped).
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Apache Parquet (binary: needs --output or a pipe).
    Parquet,
    /// Arrow IPC file (Feather v2; binary: needs --output or a pipe).
    Arrow,
}

/// Where and how a result is written.
#[derive(Debug, Args)]
pub(crate) struct OutputArgs {
    /// Output format (default: table on a terminal, csv when piped).
    #[arg(long, value_enum)]
    pub(crate) format: Option<TableFormat>,
    /// Write to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Keep at most this many rows.
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<usize>,
}

#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// The connection's name.
    pub(crate) name: String,
    /// The SQL, with :name parameters.
    pub(crate) sql: String,
    /// A parameter as NAME=VALUE; the value is read as null, true/false, an integer, a float,
    /// or else text. Repeatable.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub(crate) params: Vec<String>,
    /// A parameter whose value is always text. Repeatable.
    #[arg(long = "text-param", value_name = "NAME=VALUE")]
    pub(crate) text_params: Vec<String>,
    /// Serve the result from the cache when it is younger than this (`10m`, `1h`), and cache
    /// it for this long; with `[cache] backend = "redis"` the cache is shared by every process.
    /// Default 0: always run the query.
    #[arg(long, value_name = "TTL", default_value = "0")]
    pub(crate) ttl: String,
    #[command(flatten)]
    pub(crate) out: OutputArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ReadArgs {
    /// The connection's name.
    pub(crate) name: String,
    /// The path (a file or glob for files connections, a worksheet for sheets).
    pub(crate) path: String,
    /// The input format, when the extension does not say (csv, parquet, json...).
    #[arg(long, value_name = "FORMAT")]
    pub(crate) input_format: Option<String>,
    #[command(flatten)]
    pub(crate) out: OutputArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SecretsArgs {
    /// Show which setting chose each secrets file, and the file and line each key came from.
    #[arg(long)]
    pub(crate) show_sources: bool,
}
