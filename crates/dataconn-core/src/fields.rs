//! The field names of a `#[derive(Deserialize)]` struct, asked of serde itself.
//!
//! serde's derived `Deserialize` for a struct calls `deserialize_struct(name, FIELDS, ..)`
//! with the names it accepts (renames applied; aliases are not in that list). A deserializer
//! that records `FIELDS` and stops there gives a connector's accepted keys without the author
//! listing them again.

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

/// The names `T` passes to `deserialize_struct`, or `None` for a `T` that is not a plain
/// struct (a map, an enum, a struct with `#[serde(flatten)]`).
pub(crate) fn struct_fields<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    let mut found = None;
    // The recorder always fails, after recording: the result itself is of no use.
    let _ = T::deserialize(Recorder(&mut found));
    found
}

struct Recorder<'a>(&'a mut Option<&'static [&'static str]>);

#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for Recorder<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = Some(fields);
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Plain {
        url: String,
        #[serde(rename = "max_connections")]
        pool: Option<u32>,
    }

    #[test]
    fn a_struct_gives_its_serde_names() {
        assert_eq!(
            struct_fields::<Plain>(),
            Some(&["url", "max_connections"][..])
        );
    }

    #[test]
    fn a_map_gives_none() {
        assert_eq!(
            struct_fields::<std::collections::HashMap<String, String>>(),
            None
        );
    }
}
