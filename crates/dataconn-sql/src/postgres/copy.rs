//! A parser for `COPY ... TO STDOUT (FORMAT binary)`.
//!
//! The server sends a signature and header, then one tuple per row (a field count, then each
//! field's length and bytes, -1 for NULL), then a trailer (field count -1). Chunks arrive split
//! anywhere, so the parser keeps the unread tail and decodes only whole tuples.

use dataconn_core::{Error, ErrorKind, Result};

use super::decode::{PgKind, push};
use crate::columns::Assembler;

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// What decoding the buffered bytes reached.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// A batch is full; cut it, then call again.
    BatchFull,
    /// The buffer ends inside a tuple (or is empty); feed more bytes.
    NeedMore,
    /// The trailer was read: every row is in.
    Done,
}

#[derive(Default)]
pub(crate) struct CopyParser {
    buf: Vec<u8>,
    pos: usize,
    header_read: bool,
}

fn malformed(what: &str) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!("malformed COPY binary data from PostgreSQL: {what}"),
    )
}

impl CopyParser {
    /// Append a chunk from the server.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        if self.pos > 0 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    fn i16_at(&self, at: usize) -> Option<i16> {
        Some(i16::from_be_bytes(
            self.buf.get(at..at + 2)?.try_into().ok()?,
        ))
    }

    fn i32_at(&self, at: usize) -> Option<i32> {
        Some(i32::from_be_bytes(
            self.buf.get(at..at + 4)?.try_into().ok()?,
        ))
    }

    fn read_header(&mut self) -> Result<bool> {
        let fixed = SIGNATURE.len() + 8;
        if self.buf.len() - self.pos < fixed {
            return Ok(false);
        }
        if &self.buf[self.pos..self.pos + SIGNATURE.len()] != SIGNATURE {
            return Err(malformed("no PGCOPY signature"));
        }
        let ext = self
            .i32_at(self.pos + SIGNATURE.len() + 4)
            .ok_or_else(|| malformed("header"))?;
        let ext = usize::try_from(ext).map_err(|_| malformed("header extension length"))?;
        if self.buf.len() - self.pos < fixed + ext {
            return Ok(false);
        }
        self.pos += fixed + ext;
        self.header_read = true;
        Ok(true)
    }

    /// The end of the tuple starting at `self.pos`, if it is all buffered; `Some(None)` marks
    /// the trailer.
    fn complete_tuple(&self, width: usize) -> Result<Option<Option<usize>>> {
        let Some(count) = self.i16_at(self.pos) else {
            return Ok(None);
        };
        if count == -1 {
            return Ok(Some(None));
        }
        if usize::try_from(count).ok() != Some(width) {
            return Err(malformed(&format!(
                "a tuple of {count} fields, expected {width}"
            )));
        }
        let mut at = self.pos + 2;
        for _ in 0..width {
            let Some(len) = self.i32_at(at) else {
                return Ok(None);
            };
            at += 4;
            match len {
                -1 => {}
                len if len < 0 => {
                    return Err(malformed(&format!("a field of length {len}")));
                }
                // Lengths are at most i32::MAX: no overflow in usize; nothing is allocated for
                // them, the parser only waits for that many bytes.
                len => at += len as usize,
            }
        }
        Ok((at <= self.buf.len()).then_some(Some(at)))
    }

    /// Decode whole buffered tuples into `assembler`'s columns.
    pub(crate) fn decode(
        &mut self,
        assembler: &mut Assembler,
        kinds: &[PgKind],
    ) -> Result<Progress> {
        if !self.header_read && !self.read_header()? {
            return Ok(Progress::NeedMore);
        }
        loop {
            let end = match self.complete_tuple(kinds.len())? {
                None => return Ok(Progress::NeedMore),
                Some(None) => return Ok(Progress::Done),
                Some(Some(end)) => end,
            };
            let mut at = self.pos + 2;
            for (column, kind) in assembler.columns().iter_mut().zip(kinds) {
                let len = self.i32_at(at).ok_or_else(|| malformed("field length"))?;
                at += 4;
                let raw = if len < 0 {
                    None
                } else {
                    // `complete_tuple` checked that the whole tuple is buffered.
                    let field = self
                        .buf
                        .get(at..at + len as usize)
                        .ok_or_else(|| malformed("field length"))?;
                    at += len as usize;
                    Some(field)
                };
                push(column, kind, raw)?;
            }
            self.pos = end;
            if assembler.row_done() {
                return Ok(Progress::BatchFull);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::{ArrowType, Column};
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int32Type;

    fn stream(rows: &[Option<i32>]) -> Vec<u8> {
        let mut b = SIGNATURE.to_vec();
        b.extend(0i32.to_be_bytes());
        b.extend(0i32.to_be_bytes());
        for row in rows {
            b.extend(1i16.to_be_bytes());
            match row {
                Some(v) => {
                    b.extend(4i32.to_be_bytes());
                    b.extend(v.to_be_bytes());
                }
                None => b.extend((-1i32).to_be_bytes()),
            }
        }
        b.extend((-1i16).to_be_bytes());
        b
    }

    #[test]
    fn tuples_split_across_chunks_decode_whole() {
        let bytes = stream(&[Some(1), None, Some(3)]);
        let mut parser = CopyParser::default();
        let mut a = Assembler::new(vec![Column::new("x", ArrowType::Int32)], 1000);
        let mut done = false;
        for chunk in bytes.chunks(3) {
            parser.feed(chunk);
            match parser.decode(&mut a, &[PgKind::Int4]).unwrap() {
                Progress::Done => done = true,
                Progress::NeedMore => {}
                Progress::BatchFull => unreachable!("the batch holds 1000 rows"),
            }
        }
        assert!(done);
        let t = a.finish().unwrap();
        let x = t.column("x").unwrap();
        let x = x.as_primitive::<Int32Type>();
        assert_eq!((x.value(0), x.is_null(1), x.value(2)), (1, true, 3));
    }

    #[test]
    fn forged_field_counts_and_lengths_are_errors_not_panics() {
        let header = || {
            let mut b = SIGNATURE.to_vec();
            b.extend(0i32.to_be_bytes());
            b.extend(0i32.to_be_bytes());
            b
        };
        let decode = |bytes: &[u8]| {
            let mut parser = CopyParser::default();
            let mut a = Assembler::new(vec![Column::new("x", ArrowType::Int32)], 1000);
            parser.feed(bytes);
            parser.decode(&mut a, &[PgKind::Int4])
        };
        // A tuple of -2 fields, of 2 fields, and a field of length -7.
        for tuple in [
            (-2i16).to_be_bytes().to_vec(),
            [
                2i16.to_be_bytes().as_slice(),
                &(-1i32).to_be_bytes(),
                &(-1i32).to_be_bytes(),
            ]
            .concat(),
            [1i16.to_be_bytes().as_slice(), &(-7i32).to_be_bytes()].concat(),
        ] {
            let mut bytes = header();
            bytes.extend(tuple);
            let err = decode(&bytes).unwrap_err();
            assert!(err.message().contains("malformed COPY"), "{err}");
        }
        // A length of i32::MAX only waits for bytes that never come; nothing is allocated.
        let mut bytes = header();
        bytes.extend(1i16.to_be_bytes());
        bytes.extend(i32::MAX.to_be_bytes());
        assert_eq!(decode(&bytes).unwrap(), Progress::NeedMore);
        // A 4-byte field holding 3 bytes is the value decoder's error, naming the column.
        let mut bytes = header();
        bytes.extend(1i16.to_be_bytes());
        bytes.extend(3i32.to_be_bytes());
        bytes.extend([0u8; 3]);
        let err = decode(&bytes).unwrap_err();
        assert!(err.message().contains("`x`"), "{err}");
    }
}
