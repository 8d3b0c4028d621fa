//! SQLite values into Arrow columns, by declared type and actual values.
//!
//! A column starts from its declared type's affinity (INTEGER → Int64, REAL → Float64,
//! TEXT → Utf8, BLOB → Binary; NUMERIC or no declared type → decided by the first non-NULL
//! value). SQLite is dynamically typed, so a value of another storage class can still appear;
//! the column then widens (Int64 → Float64 → Utf8, Utf8 → Binary) instead of losing the value.
//! A column widens by finishing what it has built so far as a chunk and casting the chunks to
//! the final type when the batch is cut. Only a number in a BLOB column cannot be widened; it
//! is an error naming the column.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, Float64Builder, Int64Builder, NullArray, StringBuilder,
};
use arrow::datatypes::DataType;
use dataconn_core::{Error, ErrorKind, Result};
use rusqlite::types::ValueRef;

/// The Arrow type a SQLite column is being built as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Unknown,
    Int,
    Float,
    Text,
    Blob,
}

impl Kind {
    /// SQLite's affinity rules (section 3.1 of "Datatypes In SQLite").
    pub(crate) fn from_decltype(decl: Option<&str>) -> Kind {
        let Some(decl) = decl else {
            return Kind::Unknown;
        };
        let upper = decl.to_ascii_uppercase();
        if upper.contains("INT") {
            Kind::Int
        } else if ["CHAR", "CLOB", "TEXT"].iter().any(|w| upper.contains(w)) {
            Kind::Text
        } else if upper.contains("BLOB") {
            Kind::Blob
        } else if ["REAL", "FLOA", "DOUB"].iter().any(|w| upper.contains(w)) {
            Kind::Float
        } else {
            Kind::Unknown
        }
    }

    pub(crate) fn data_type(self) -> DataType {
        match self {
            Kind::Unknown => DataType::Null,
            Kind::Int => DataType::Int64,
            Kind::Float => DataType::Float64,
            Kind::Text => DataType::Utf8,
            Kind::Blob => DataType::Binary,
        }
    }

    /// The narrowest kind that holds both, if any.
    pub(crate) fn unify(self, other: Kind) -> Option<Kind> {
        use Kind::*;
        Some(match (self.max(other), self.min(other)) {
            (k, Unknown) => k,
            (k, j) if k == j => k,
            (Float, Int) => Float,
            (Text, Int | Float) => Text,
            (Blob, Text) => Blob,
            _ => return None,
        })
    }
}

/// One column of the batch being built.
pub(crate) struct ColumnBuilder {
    name: String,
    kind: Kind,
    /// NULLs seen before the first value decided an unknown column's kind.
    leading_nulls: usize,
    chunks: Vec<ArrayRef>,
    ints: Int64Builder,
    floats: Float64Builder,
    texts: StringBuilder,
    blobs: BinaryBuilder,
    /// Bytes of text or blobs in the chunks finished by widening.
    chunk_bytes: usize,
    /// Most bytes of text or blobs one batch may hold (lower in tests).
    max_bytes: usize,
}

impl ColumnBuilder {
    pub(crate) fn new(name: String, kind: Kind) -> Self {
        ColumnBuilder {
            name,
            kind,
            leading_nulls: 0,
            chunks: Vec::new(),
            ints: Int64Builder::new(),
            floats: Float64Builder::new(),
            texts: StringBuilder::new(),
            blobs: BinaryBuilder::new(),
            chunk_bytes: 0,
            max_bytes: crate::MAX_ARRAY_BYTES,
        }
    }

    /// Lower the byte limit of one batch (tests only: 2 GiB is a lot to allocate).
    #[cfg(test)]
    pub(crate) fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Bytes of text and blobs this batch holds so far.
    pub(crate) fn var_bytes(&self) -> usize {
        self.chunk_bytes + self.texts.values_slice().len() + self.blobs.values_slice().len()
    }

    /// Refuse a value that would take the batch past what 32-bit offsets address.
    fn room_for(&self, adding: usize) -> Result<()> {
        if self.var_bytes() + adding > self.max_bytes {
            return Err(Error::new(
                ErrorKind::TypeConversion,
                format!(
                    "column `{}`: a batch would hold more than {} bytes of text or blobs with a \
                     value of {adding} bytes, beyond what Arrow's 32-bit offsets address; lower \
                     `batch_size`",
                    self.name, self.max_bytes
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// Append one value, widening the column when the value needs it.
    #[inline]
    pub(crate) fn push(&mut self, value: ValueRef<'_>) -> Result<()> {
        match (self.kind, value) {
            (Kind::Unknown, ValueRef::Null) => self.leading_nulls += 1,
            (Kind::Int, ValueRef::Null) => self.ints.append_null(),
            (Kind::Float, ValueRef::Null) => self.floats.append_null(),
            (Kind::Text, ValueRef::Null) => self.texts.append_null(),
            (Kind::Blob, ValueRef::Null) => self.blobs.append_null(),

            (Kind::Int, ValueRef::Integer(i)) => self.ints.append_value(i),
            (Kind::Float, ValueRef::Real(f)) => self.floats.append_value(f),
            (Kind::Float, ValueRef::Integer(i)) => self.floats.append_value(i as f64),
            (Kind::Text, ValueRef::Text(t)) => {
                self.room_for(t.len())?;
                self.texts.append_value(self.utf8(t)?)
            }
            (Kind::Text, ValueRef::Integer(i)) => {
                let text = i.to_string();
                self.room_for(text.len())?;
                self.texts.append_value(text)
            }
            (Kind::Text, ValueRef::Real(f)) => {
                let text = f.to_string();
                self.room_for(text.len())?;
                self.texts.append_value(text)
            }
            (Kind::Blob, ValueRef::Blob(b)) => {
                self.room_for(b.len())?;
                self.blobs.append_value(b)
            }
            (Kind::Blob, ValueRef::Text(t)) => {
                self.room_for(t.len())?;
                self.blobs.append_value(t)
            }

            (current, value) => {
                let wanted = match value {
                    ValueRef::Integer(_) => Kind::Int,
                    ValueRef::Real(_) => Kind::Float,
                    ValueRef::Text(_) => Kind::Text,
                    ValueRef::Blob(_) => Kind::Blob,
                    ValueRef::Null => Kind::Unknown,
                };
                let next = current.unify(wanted).ok_or_else(|| {
                    Error::new(
                        ErrorKind::TypeConversion,
                        format!(
                            "column `{}` holds {current:?} values and then a {wanted:?} value; \
                             expected one Arrow type per column (CAST the column in the SQL)",
                            self.name
                        ),
                    )
                })?;
                self.widen(next);
                self.push(value)?;
            }
        }
        Ok(())
    }

    fn utf8<'a>(&self, bytes: &'a [u8]) -> Result<&'a str> {
        std::str::from_utf8(bytes).map_err(|e| {
            Error::new(
                ErrorKind::TypeConversion,
                format!(
                    "column `{}` holds text that is not UTF-8; expected UTF-8 text",
                    self.name
                ),
            )
            .with_source(e)
        })
    }

    /// Finish what has been built as a chunk and continue as `next`.
    fn widen(&mut self, next: Kind) {
        if self.kind == Kind::Unknown {
            self.kind = next;
            let nulls = std::mem::take(&mut self.leading_nulls);
            for _ in 0..nulls {
                self.push_null_as_kind();
            }
            return;
        }
        let chunk = self.finish_current();
        // Numbers take at most 24 bytes as text once the chunk is cast (an upper bound).
        self.chunk_bytes += match self.kind {
            Kind::Text => self.texts_bytes_of(&chunk),
            Kind::Blob => chunk.get_buffer_memory_size(),
            _ => chunk.len() * 24,
        };
        self.chunks.push(chunk);
        self.kind = next;
    }

    fn texts_bytes_of(&self, chunk: &ArrayRef) -> usize {
        use arrow::array::AsArray;
        chunk
            .as_string_opt::<i32>()
            .map_or_else(|| chunk.get_buffer_memory_size(), |t| t.values().len())
    }

    fn push_null_as_kind(&mut self) {
        match self.kind {
            Kind::Int => self.ints.append_null(),
            Kind::Float => self.floats.append_null(),
            Kind::Text => self.texts.append_null(),
            Kind::Blob => self.blobs.append_null(),
            Kind::Unknown => self.leading_nulls += 1,
        }
    }

    fn finish_current(&mut self) -> ArrayRef {
        match self.kind {
            Kind::Unknown => Arc::new(NullArray::new(std::mem::take(&mut self.leading_nulls))),
            Kind::Int => Arc::new(self.ints.finish()),
            Kind::Float => Arc::new(self.floats.finish()),
            Kind::Text => Arc::new(self.texts.finish()),
            Kind::Blob => Arc::new(self.blobs.finish()),
        }
    }

    /// The column of the batch so far, cast to `kind` (at least as wide as this column's), and
    /// reset for the next batch.
    pub(crate) fn finish(&mut self, kind: Kind) -> Result<ArrayRef> {
        let last = self.finish_current();
        self.chunk_bytes = 0;
        let mut chunks = std::mem::take(&mut self.chunks);
        chunks.push(last);
        let target = kind.data_type();
        let cast: Vec<ArrayRef> = chunks
            .iter()
            .map(|c| cast_to(c, &target))
            .collect::<Result<_>>()?;
        if cast.len() == 1 {
            return Ok(cast
                .into_iter()
                .next()
                .unwrap_or_else(|| Arc::new(NullArray::new(0))));
        }
        let refs: Vec<&dyn arrow::array::Array> = cast.iter().map(AsRef::as_ref).collect();
        Ok(arrow::compute::concat(&refs)?)
    }
}

/// Cast an array to `target`, as the widening rules allow.
pub(crate) fn cast_to(array: &ArrayRef, target: &DataType) -> Result<ArrayRef> {
    if array.data_type() == target {
        return Ok(array.clone());
    }
    Ok(arrow::compute::cast(array, target)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Float64Type, Int64Type};

    #[test]
    fn affinity_follows_sqlite_rules() {
        let cases = [
            (Some("INTEGER"), Kind::Int),
            (Some("BIGINT"), Kind::Int),
            (Some("VARCHAR(20)"), Kind::Text),
            (Some("CLOB"), Kind::Text),
            (Some("BLOB"), Kind::Blob),
            (Some("DOUBLE PRECISION"), Kind::Float),
            (Some("NUMERIC"), Kind::Unknown),
            (Some("TIMESTAMP"), Kind::Unknown),
            (None, Kind::Unknown),
        ];
        for (decl, kind) in cases {
            assert_eq!(Kind::from_decltype(decl), kind, "{decl:?}");
        }
    }

    #[test]
    fn unknown_column_takes_the_first_value_and_keeps_leading_nulls() {
        let mut b = ColumnBuilder::new("x".into(), Kind::Unknown);
        for v in [ValueRef::Null, ValueRef::Null, ValueRef::Integer(3)] {
            b.push(v).unwrap();
        }
        let a = b.finish(b.kind()).unwrap();
        let ints = a.as_primitive::<Int64Type>();
        assert_eq!((ints.len(), ints.null_count(), ints.value(2)), (3, 2, 3));
    }

    #[test]
    fn int_column_widens_to_float_then_text_without_losing_values() {
        let mut b = ColumnBuilder::new("x".into(), Kind::Int);
        b.push(ValueRef::Integer(1)).unwrap();
        b.push(ValueRef::Real(2.5)).unwrap();
        b.push(ValueRef::Null).unwrap();
        let floats = b.finish(b.kind()).unwrap();
        let floats = floats.as_primitive::<Float64Type>();
        assert_eq!(floats.value(0), 1.0);
        assert_eq!(floats.value(1), 2.5);
        assert!(floats.is_null(2));

        let mut b = ColumnBuilder::new("x".into(), Kind::Int);
        b.push(ValueRef::Integer(7)).unwrap();
        b.push(ValueRef::Text(b"seven")).unwrap();
        let texts = b.finish(b.kind()).unwrap();
        let texts = texts.as_string::<i32>();
        assert_eq!((texts.value(0), texts.value(1)), ("7", "seven"));
    }

    #[test]
    fn text_past_the_offset_limit_is_a_named_error_not_a_panic() {
        let mut b = ColumnBuilder::new("body".into(), Kind::Int).with_max_bytes(40);
        b.push(ValueRef::Integer(1234)).unwrap();
        // Widening to text counts what the numbers can take as text (24 bytes each at most).
        b.push(ValueRef::Text(b"abc")).unwrap();
        assert_eq!(b.var_bytes(), 27);
        let err = b.push(ValueRef::Text(b"abcdefghijklmn")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TypeConversion);
        assert!(err.message().contains("`body`"), "{err}");
        let mut b = ColumnBuilder::new("blob".into(), Kind::Blob).with_max_bytes(4);
        let err = b.push(ValueRef::Blob(b"12345")).unwrap_err();
        assert!(err.message().contains("`blob`"), "{err}");
    }

    #[test]
    fn number_in_blob_column_is_a_named_error() {
        let mut b = ColumnBuilder::new("payload".into(), Kind::Blob);
        b.push(ValueRef::Blob(b"\x00")).unwrap();
        let err = b.push(ValueRef::Integer(1)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TypeConversion);
        assert!(err.message().contains("`payload`"), "{err}");
    }
}
