//! Every log line a test produces, kept in memory, for tests that prove a secret never reaches
//! the logs (or that a warning is logged).
//!
//! ```
//! let logs = dataconn_testkit::logs::CapturedLogs::default();
//! let _guard = logs.install();
//! tracing::warn!(user = "ann", "hello");
//! assert!(logs.text().contains("hello"));
//! ```

use std::sync::{Arc, Mutex};

use dataconn_core::raw::MutexExt;

/// A shared buffer that a `tracing` `fmt` subscriber writes into. Cheap to clone.
#[derive(Clone, Default, Debug)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Capture every event at every level, of every crate, on this thread until the guard is
    /// dropped (`#[tokio::test]` runs on one thread, so its whole body is covered).
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(self.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock_unpoisoned()).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock_unpoisoned().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> CapturedLogs {
        self.clone()
    }
}
