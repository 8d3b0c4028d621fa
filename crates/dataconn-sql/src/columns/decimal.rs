//! Decimal columns: each value is gathered with its own scale, and the column is built at the
//! declared precision and scale, or, when the database does not say, at the largest scale the
//! result holds, so no digit is lost: as `Decimal128(38, s)` when every value fits in 38 digits
//! at that scale, else as `Decimal256(76, s)`; beyond 76 digits the read fails naming the
//! column.

use std::sync::Arc;

use arrow::array::{ArrayRef, Decimal128Array, Decimal256Array, NullBufferBuilder};
use arrow::datatypes::{DataType, i256};
use dataconn_core::{Error, ErrorKind, Result};

/// Digits of `Decimal128` and `Decimal256`.
pub(super) const DECIMAL128_DIGITS: u32 = 38;
pub(super) const DECIMAL256_DIGITS: u32 = 76;

/// The Arrow type of an undeclared decimal column: its scale, and whether it needs 256 bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct DecimalSpec {
    pub(super) scale: i8,
    pub(super) wide: bool,
}

impl DecimalSpec {
    pub(super) fn of(data_type: &DataType) -> DecimalSpec {
        match data_type {
            DataType::Decimal128(_, s) => DecimalSpec {
                scale: *s,
                wide: false,
            },
            DataType::Decimal256(_, s) => DecimalSpec {
                scale: *s,
                wide: true,
            },
            DataType::List(item) => DecimalSpec::of(item.data_type()),
            _ => DecimalSpec::default(),
        }
    }

    pub(super) fn max(self, other: DecimalSpec) -> DecimalSpec {
        DecimalSpec {
            scale: self.scale.max(other.scale),
            wide: self.wide || other.wide,
        }
    }
}

/// The most digits before and after the point that a column's decimals have needed.
#[derive(Debug, Clone, Copy, Default)]
struct Digits {
    whole: u32,
    scale: u8,
}

impl Digits {
    fn add(&mut self, digits: u32, scale: u8) {
        self.whole = self.whole.max(digits.saturating_sub(u32::from(scale)));
        self.scale = self.scale.max(scale);
    }
}

/// Decimal digits of `|v|` (0 for 0).
fn digits128(v: i128) -> u32 {
    v.unsigned_abs().checked_ilog10().map_or(0, |d| d + 1)
}

/// Decimal digits of `|v|` (0 for 0); `i256::MIN` counts as 77.
pub(crate) fn digits256(v: i256) -> u32 {
    match v.checked_abs() {
        Some(a) => a.checked_ilog10().map_or(0, |d| d + 1),
        None => DECIMAL256_DIGITS + 1,
    }
}

/// Unscaled decimals as they came: 128-bit until a value needs more.
enum DecimalValues {
    Narrow(Vec<i128>),
    Wide(Vec<i256>),
}

/// The decimals of one column: unscaled values with their own scales until the batch is cut.
pub(super) struct DecimalColumn {
    declared: Option<(u8, i8)>,
    values: DecimalValues,
    scales: Vec<u8>,
    validity: NullBufferBuilder,
    /// Digits needed by this batch's values.
    batch: Digits,
    /// Digits needed by every value of the read (never reset), for the whole result's type.
    total: Digits,
}

impl DecimalColumn {
    /// An empty column; `declared` is the precision and scale the database gives, if any.
    pub(super) fn new(declared: Option<(u8, i8)>) -> DecimalColumn {
        DecimalColumn {
            declared,
            values: DecimalValues::Narrow(Vec::new()),
            scales: Vec::new(),
            validity: NullBufferBuilder::new(0),
            batch: Digits::default(),
            total: Digits::default(),
        }
    }

    /// Append a NULL.
    #[inline]
    pub(super) fn push_null(&mut self) {
        self.push(i256::ZERO, Some(0), 0);
        self.validity.append_null();
    }

    /// Append `value × 10^-scale`; `narrow` is the same value when it fits 128 bits.
    #[inline]
    pub(super) fn push_value(&mut self, value: i256, narrow: Option<i128>, scale: u8) {
        self.push(value, narrow, scale);
        self.validity.append_non_null();
    }

    fn push(&mut self, value: i256, narrow: Option<i128>, scale: u8) {
        match (&mut self.values, narrow) {
            (DecimalValues::Narrow(values), Some(v)) => values.push(v),
            (DecimalValues::Wide(values), _) => values.push(value),
            (DecimalValues::Narrow(values), None) => {
                let mut wide: Vec<i256> = values.iter().map(|v| i256::from_i128(*v)).collect();
                wide.push(value);
                self.values = DecimalValues::Wide(wide);
            }
        }
        let digits = narrow.map_or_else(|| digits256(value), digits128);
        self.batch.add(digits, scale);
        self.total.add(digits, scale);
        self.scales.push(scale);
    }

    /// The type this batch (or, with `total`, the whole read) needs when undeclared.
    pub(super) fn spec(&self, column: &str, total: bool) -> Result<DecimalSpec> {
        if let Some((_, s)) = self.declared {
            return Ok(DecimalSpec {
                scale: s,
                wide: false,
            });
        }
        let d = if total { self.total } else { self.batch };
        let needed = d.whole + u32::from(d.scale);
        if needed > DECIMAL256_DIGITS {
            return Err(Error::new(
                ErrorKind::TypeConversion,
                format!(
                    "column `{column}` holds decimals that need {needed} digits at one scale ({} \
                     before the point, {} after), beyond Decimal256's {DECIMAL256_DIGITS}; CAST it \
                     to text in the SQL",
                    d.whole, d.scale
                ),
            ));
        }
        Ok(DecimalSpec {
            scale: d.scale as i8,
            wide: needed > DECIMAL128_DIGITS,
        })
    }

    /// The values so far as an array of `data_type`, each rescaled to its scale; the column
    /// starts the next batch empty.
    ///
    /// # Errors
    /// A value that does not fit `data_type`, naming the column `name`.
    pub(super) fn finish(&mut self, name: &str, data_type: DataType) -> Result<ArrayRef> {
        let values = std::mem::replace(&mut self.values, DecimalValues::Narrow(Vec::new()));
        let scales = std::mem::take(&mut self.scales);
        self.batch = Digits::default();
        let nulls = self.validity.finish();
        Ok(match data_type {
            DataType::Decimal128(precision, scale) => {
                let limit = 10i128.pow(u32::from(precision));
                let mut rescaled = Vec::with_capacity(scales.len());
                let mut put = |v: Option<i128>, s: u8, shown: &dyn Fn() -> String| match v
                    .and_then(|v| rescale(v, s, scale))
                {
                    Some(r) if r.unsigned_abs() < limit.unsigned_abs() => {
                        rescaled.push(r);
                        Ok(())
                    }
                    _ => Err(decimal_misfit(name, &shown(), &data_type)),
                };
                match values {
                    DecimalValues::Narrow(values) => {
                        for (v, s) in values.into_iter().zip(scales) {
                            put(Some(v), s, &|| crate::decimal_text(v, s))?;
                        }
                    }
                    DecimalValues::Wide(values) => {
                        for (v, s) in values.into_iter().zip(scales) {
                            put(v.to_i128(), s, &|| decimal256_text(v, s))?;
                        }
                    }
                }
                Arc::new(
                    Decimal128Array::try_new(rescaled.into(), nulls)?
                        .with_precision_and_scale(precision, scale)?,
                )
            }
            DataType::Decimal256(precision, scale) => {
                let limit = i256::from_i128(10)
                    .checked_pow(u32::from(precision))
                    .unwrap_or(i256::MAX);
                let wide: Vec<i256> = match values {
                    DecimalValues::Narrow(values) => {
                        values.into_iter().map(i256::from_i128).collect()
                    }
                    DecimalValues::Wide(values) => values,
                };
                let mut rescaled = Vec::with_capacity(wide.len());
                for (v, s) in wide.into_iter().zip(scales) {
                    match rescale256(v, s, scale) {
                        Some(r) if r.checked_abs().is_some_and(|a| a < limit) => rescaled.push(r),
                        _ => {
                            return Err(decimal_misfit(name, &decimal256_text(v, s), &data_type));
                        }
                    }
                }
                Arc::new(
                    Decimal256Array::try_new(rescaled.into(), nulls)?
                        .with_precision_and_scale(precision, scale)?,
                )
            }
            other => {
                return Err(Error::internal(format!(
                    "column `{name}`: a decimal builder for the type {other}"
                )));
            }
        })
    }
}

fn decimal_misfit(column: &str, shown: &str, data_type: &DataType) -> Error {
    Error::new(
        ErrorKind::TypeConversion,
        format!(
            "column `{column}`: the decimal {shown} does not fit the column's Arrow type \
             {data_type} (a stream's first batch fixes the type of undeclared decimals); CAST it \
             to a numeric/decimal of fixed precision and scale in the SQL"
        ),
    )
}

/// `unscaled × 10^-scale` as text, for 256-bit decimals.
pub(crate) fn decimal256_text(unscaled: i256, scale: u8) -> String {
    let text = unscaled.to_string();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let scale = usize::from(scale);
    if scale == 0 {
        return text;
    }
    let padded = format!(
        "{}{digits}",
        "0".repeat((scale + 1).saturating_sub(digits.len()))
    );
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// `value × 10^-from` at scale `to`, in 256 bits; `None` when it would lose digits or overflow.
fn rescale256(value: i256, from: u8, to: i8) -> Option<i256> {
    let to = u8::try_from(to).ok()?;
    let ten = i256::from_i128(10);
    if to >= from {
        value.checked_mul(ten.checked_pow(u32::from(to - from))?)
    } else {
        let factor = ten.checked_pow(u32::from(from - to))?;
        (value.checked_rem(factor)? == i256::ZERO).then(|| value.checked_div(factor))?
    }
}

/// `value × 10^-from` at scale `to`; `None` when it would lose digits or overflow.
pub(super) fn rescale(value: i128, from: u8, to: i8) -> Option<i128> {
    let to = u8::try_from(to).ok()?;
    if to >= from {
        value.checked_mul(10i128.checked_pow(u32::from(to - from))?)
    } else {
        let factor = 10i128.checked_pow(u32::from(from - to))?;
        (value % factor == 0).then(|| value / factor)
    }
}
