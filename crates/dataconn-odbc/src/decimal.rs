//! Decimal columns fetched as text and parsed exactly. arrow-odbc's own decimal reader drops
//! the digits past the scale a driver declares, and some drivers under-report it (psqlODBC
//! declares a `numeric` without precision as NUMERIC(28, s) with a guessed scale). Here a value
//! that does not fit its column's declared precision and scale is an error naming the column,
//! never a rounded number.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Decimal128Array};
use dataconn_core::{Error, ErrorKind, Result};

/// `text` as the unscaled value of a DECIMAL(`precision`, `scale`), or `None` when it is not a
/// decimal number or does not fit without losing a digit.
fn exact(text: &str, precision: u8, scale: u8) -> Option<i128> {
    let text = text.trim();
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    if (whole.is_empty() && fraction.is_empty())
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let scale = usize::from(scale);
    // Digits past the scale may only be zeros.
    let fraction = match fraction.get(scale..) {
        Some(extra) if extra.bytes().any(|b| b != b'0') => return None,
        Some(_) => &fraction[..scale],
        None => fraction,
    };
    let whole = whole.trim_start_matches('0');
    if whole.len() > usize::from(precision).saturating_sub(scale) {
        return None;
    }
    let mut unscaled: i128 = 0;
    let padding = std::iter::repeat_n(b'0', scale - fraction.len());
    for b in whole.bytes().chain(fraction.bytes()).chain(padding) {
        unscaled = unscaled
            .checked_mul(10)?
            .checked_add(i128::from(b - b'0'))?;
    }
    Some(if negative { -unscaled } else { unscaled })
}

/// A text column (as fetched) as Decimal128(`precision`, `scale`).
///
/// # Errors
/// [`ErrorKind::Query`] naming the column and the first value that does not fit.
pub(crate) fn to_decimals(
    column: &ArrayRef,
    precision: u8,
    scale: u8,
    name: &str,
) -> Result<ArrayRef> {
    let text = column.as_string::<i32>();
    let mut values = Vec::with_capacity(text.len());
    for i in 0..text.len() {
        if text.is_null(i) {
            values.push(None);
            continue;
        }
        let value = text.value(i);
        let parsed = exact(value, precision, scale).ok_or_else(|| {
            Error::new(
                ErrorKind::Query,
                format!(
                    "reading the result failed: expected the values of column `{name}` to fit \
                     the DECIMAL({precision}, {scale}) its driver declares, found {value:?}, \
                     which would lose digits; nothing was rounded: cast the column to a wider \
                     numeric, or to text, in the SQL"
                ),
            )
        })?;
        values.push(Some(parsed));
    }
    let scale = i8::try_from(scale).unwrap_or(i8::MAX);
    let array = Decimal128Array::from(values).with_precision_and_scale(precision, scale)?;
    Ok(Arc::new(array))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_fit_are_exact_and_the_rest_are_refused() {
        assert_eq!(exact("12.5", 10, 2), Some(1250));
        assert_eq!(exact("-0.05", 10, 2), Some(-5));
        assert_eq!(exact("+7", 3, 0), Some(7));
        assert_eq!(exact("0.330000", 4, 2), Some(33), "zeros past the scale");
        assert_eq!(exact("0.333", 28, 2), None, "a digit would be lost");
        assert_eq!(exact("1234", 5, 2), None, "too many whole digits");
        assert_eq!(exact("00012.00", 5, 2), Some(1200));
        assert_eq!(exact("1e5", 10, 0), None);
        assert_eq!(exact("", 10, 0), None);
        assert_eq!(exact(".", 10, 0), None);
        assert_eq!(
            exact("-99999999999999999999999999999999999999", 38, 0),
            Some(-99_999_999_999_999_999_999_999_999_999_999_999_999)
        );
    }

    #[test]
    fn a_column_that_would_lose_a_digit_is_an_error_naming_it() {
        let column: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![
            Some("1.50"),
            None,
            Some("0.123"),
        ]));
        let err = to_decimals(&column, 10, 2, "amount").unwrap_err();
        assert!(
            err.message().contains("`amount`") && err.message().contains("0.123"),
            "{err}"
        );
        let ok: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![Some("1.5"), None]));
        let out = to_decimals(&ok, 10, 2, "amount").unwrap();
        assert_eq!(
            out.as_primitive::<arrow::datatypes::Decimal128Type>()
                .value(0),
            150
        );
        assert!(out.is_null(1));
    }
}
