//! One module per command.

pub(crate) mod check;
pub(crate) mod list;
pub(crate) mod query;
pub(crate) mod read;
pub(crate) mod secrets;

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{Global, ReportFormat};

/// Whether progress may be drawn: stderr is a terminal and colors are not turned off.
pub(crate) fn interactive(global: &Global) -> bool {
    !global.no_color && std::io::stderr().is_terminal()
}

/// A spinner on stderr with `message`, or a hidden one when not interactive.
pub(crate) fn spinner(global: &Global, message: String) -> ProgressBar {
    if !interactive(global) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner().with_message(message);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// Whether a report prints as JSON lines: asked for, or `auto` with stdout piped.
pub(crate) fn json_report(format: ReportFormat) -> bool {
    match format {
        ReportFormat::Json => true,
        ReportFormat::Table => false,
        ReportFormat::Auto => !std::io::stdout().is_terminal(),
    }
}

/// Left-align rows of cells into columns.
pub(crate) fn aligned(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows.first().map_or(0, Vec::len))
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                if i + 1 == row.len() {
                    cell.clone()
                } else {
                    format!("{cell:<width$}", width = widths[i])
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
