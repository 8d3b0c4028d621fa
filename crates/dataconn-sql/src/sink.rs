//! Where decoded batches go: kept for a whole [`Table`], or sent down a stream.

use arrow::array::RecordBatch;
use dataconn_core::{Result, Table};
use tokio::sync::mpsc;

use crate::columns::Assembler;

/// The destination of a read.
pub(crate) enum Sink {
    /// Keep every batch; the read ends with a whole table.
    Keep,
    /// Send each batch as it is cut (the stream's receiver bounds memory).
    Send(mpsc::Sender<Result<RecordBatch>>),
}

impl Sink {
    /// A batch is full: keep or send it. Returns false when the stream's reader has gone, so
    /// the read should stop.
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
