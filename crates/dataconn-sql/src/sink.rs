//! Where a read's batches go: kept for a whole [`Table`], or sent down a stream as they are
//! cut. Every driver reads into a [`Sink`].

use arrow::array::RecordBatch;
use dataconn_core::{Error, Result, Table};
use tokio::sync::mpsc;

/// The destination of a read.
#[derive(Debug, Clone)]
pub(crate) enum Sink {
    /// Keep every batch; the read ends with a whole table.
    Keep,
    /// Send each batch as it is cut (the stream's receiver bounds memory).
    Send(mpsc::Sender<Result<RecordBatch>>),
}

/// The table of a read into [`Sink::Keep`], which always ends with one.
pub(crate) fn kept(table: Option<Table>) -> Result<Table> {
    table.ok_or_else(|| Error::internal("a kept read returned no table"))
}

/// The server drivers' side: their decoders fill an [`Assembler`](crate::columns::Assembler), whose batches go here.
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod assembled {
    use dataconn_core::{Result, Table};

    use super::Sink;
    use crate::columns::Assembler;

    impl Sink {
        /// Whether a stream's reader has gone (never, for a kept read): a connection whose
        /// read it stopped may hold unread data.
        pub(crate) fn reader_gone(&self) -> bool {
            matches!(self, Sink::Send(tx) if tx.is_closed())
        }

        /// A batch is full: keep or send it. Returns false when the stream's reader has gone,
        /// so the read should stop.
        pub(crate) async fn full(&mut self, assembler: &mut Assembler) -> Result<bool> {
            match self {
                Sink::Keep => {
                    assembler.cut_and_keep()?;
                    Ok(true)
                }
                Sink::Send(tx) => {
                    let batch = assembler.cut_for_stream()?;
                    Ok(tx.send(Ok(batch)).await.is_ok())
                }
            }
        }

        /// The read is over: the whole table, or the last batch sent (`None`).
        pub(crate) async fn finish(self, mut assembler: Assembler) -> Result<Option<Table>> {
            match self {
                Sink::Keep => assembler.finish().map(Some),
                Sink::Send(tx) => {
                    if assembler.pending_rows() > 0 {
                        let batch = assembler.cut_for_stream()?;
                        // A reader that has gone needs nothing more.
                        let _ = tx.send(Ok(batch)).await;
                    }
                    Ok(None)
                }
            }
        }
    }
}
