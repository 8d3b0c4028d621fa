//! Arrow IPC from outside the process (a `.arrow` file, a value read back from a shared cache,
//! a server's result chunk), decoded so that hostile bytes give an error, never a panic or an
//! allocation of whatever size they declare.
//!
//! Two guards: before decoding, every message is walked and the sizes it declares are checked
//! against the input and a limit (a compressed body names its uncompressed length, which the
//! decoder would otherwise allocate as given); while decoding, a panic inside arrow-ipc on a
//! malformed schema or batch is caught and becomes an error.

use std::panic::{AssertUnwindSafe, catch_unwind};

use arrow::error::ArrowError;

use crate::error::{Error, ErrorKind, Result};

/// The default bound on what one IPC input may decode to: 1 GiB.
pub const DEFAULT_MAX_DECODED_BYTES: u64 = 1 << 30;

/// Decode untrusted Arrow IPC bytes (stream or file format) with `decode`, after checking the
/// sizes they declare, with any panic turned into an error.
///
/// `what` names the input in messages (a path, "a value from the shared cache").
///
/// # Errors
/// [`ErrorKind::TypeConversion`] when the bytes are malformed, declare more than
/// `max_decoded_bytes` (the message names the limit), or make the decoder fail or panic.
pub fn decode_untrusted<T>(
    bytes: &[u8],
    what: &str,
    max_decoded_bytes: u64,
    decode: impl FnOnce(&[u8]) -> std::result::Result<T, ArrowError>,
) -> Result<T> {
    check_declared_sizes(bytes, max_decoded_bytes).map_err(|problem| {
        Error::new(
            ErrorKind::TypeConversion,
            format!("expected Arrow IPC data in {what}, found {problem}"),
        )
    })?;
    match catch_unwind(AssertUnwindSafe(|| decode(bytes))) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Error::new(
            ErrorKind::TypeConversion,
            format!("expected Arrow IPC data in {what}, found data the decoder rejects"),
        )
        .with_source(e)),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(Error::new(
                ErrorKind::TypeConversion,
                format!("expected Arrow IPC data in {what}, found malformed data ({detail})"),
            ))
        }
    }
}

/// Walk the messages of a stream (or of the stream inside a file) and check each declared
/// length: metadata and bodies within the input, and compressed buffers' uncompressed lengths
/// within `limit` in total.
fn check_declared_sizes(bytes: &[u8], limit: u64) -> std::result::Result<(), String> {
    let mut at = if bytes.starts_with(b"ARROW1") { 8 } else { 0 };
    let mut decoded: u64 = 0;
    while at < bytes.len() {
        let Some(mut len) = read_i32(bytes, at) else {
            return Err("a message cut short".into());
        };
        at += 4;
        if len == -1 {
            let Some(next) = read_i32(bytes, at) else {
                return Err("a message cut short".into());
            };
            len = next;
            at += 4;
        }
        if len == 0 {
            return Ok(()); // end of stream (a file's footer follows)
        }
        let len = usize::try_from(len).map_err(|_| format!("a negative length {len}"))?;
        let Some(meta) = bytes.get(at..at.saturating_add(len)) else {
            return Err(format!(
                "a message of {len} bytes where {} remain",
                bytes.len() - at
            ));
        };
        at += len;
        let message = arrow::ipc::root_as_message(meta)
            .map_err(|e| format!("an unreadable message header ({e})"))?;
        let body_len = usize::try_from(message.bodyLength())
            .map_err(|_| format!("a negative body length {}", message.bodyLength()))?;
        let Some(body) = bytes.get(at..at.saturating_add(body_len)) else {
            return Err(format!(
                "a body of {body_len} bytes where {} remain",
                bytes.len() - at
            ));
        };
        at += body_len;
        let batch = message
            .header_as_record_batch()
            .or_else(|| message.header_as_dictionary_batch().and_then(|d| d.data()));
        let Some(batch) = batch else { continue };
        for buffer in batch.buffers().iter().flatten() {
            let (offset, length) = (buffer.offset(), buffer.length());
            let end = offset.checked_add(length);
            if offset < 0 || length < 0 || end.is_none_or(|e| e as u64 > body_len as u64) {
                return Err(format!(
                    "a buffer at {offset}+{length} outside a body of {body_len} bytes"
                ));
            }
            let size = if batch.compression().is_some() && length >= 8 {
                let start = offset as usize;
                let declared = i64::from_le_bytes(
                    body[start..start + 8]
                        .try_into()
                        .map_err(|_| "a short buffer".to_owned())?,
                );
                // -1 means stored uncompressed.
                if declared == -1 {
                    length as u64
                } else {
                    declared.max(0) as u64
                }
            } else {
                length as u64
            };
            decoded = decoded.saturating_add(size);
            if decoded > limit {
                return Err(format!(
                    "buffers that decode to more than the limit of {limit} bytes"
                ));
            }
        }
    }
    Ok(())
}

fn read_i32(bytes: &[u8], at: usize) -> Option<i32> {
    let four = bytes.get(at..at.checked_add(4)?)?;
    Some(i32::from_le_bytes(four.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Table;
    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;

    fn sample() -> Table {
        let batch = RecordBatch::try_from_iter([
            (
                "n",
                Arc::new(Int64Array::from((0..1000).collect::<Vec<i64>>())) as _,
            ),
            (
                "s",
                Arc::new(StringArray::from(vec!["x".repeat(100); 1000])) as _,
            ),
        ])
        .unwrap();
        Table::from_batch(batch)
    }

    #[test]
    fn good_ipc_decodes_as_before() {
        let table = sample();
        for compress in [false, true] {
            let bytes = table.to_ipc_bytes_with(compress).unwrap();
            let back = Table::from_ipc_bytes(&bytes).unwrap();
            assert_eq!(back.num_rows(), 1000);
        }
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        let bytes = sample().to_ipc_bytes_with(true).unwrap();
        for cut in (0..bytes.len()).step_by(7) {
            let _ = Table::from_ipc_bytes(&bytes[..cut]);
        }
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..2000 {
            let mut forged = bytes.clone();
            for _ in 0..4 {
                let i = rng.usize(..forged.len());
                forged[i] = rng.u8(..);
            }
            // Any outcome but a panic (which would fail this test) is fine.
            let _ = Table::from_ipc_bytes(&forged);
        }
    }

    #[test]
    fn a_declared_uncompressed_size_beyond_the_limit_is_refused_before_allocating() {
        let bytes = sample().to_ipc_bytes_with(true).unwrap();
        let err = decode_untrusted(&bytes, "the test value", 1000, |_| Ok(())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TypeConversion);
        assert!(err.message().contains("limit of 1000 bytes"), "{err}");
        assert!(err.message().contains("the test value"), "{err}");
    }

    #[test]
    fn a_panic_in_the_decoder_becomes_an_error() {
        let err = decode_untrusted(b"", "x", 10, |_| -> std::result::Result<(), ArrowError> {
            panic!("boom")
        })
        .unwrap_err();
        assert!(err.message().contains("boom"), "{err}");
    }
}
