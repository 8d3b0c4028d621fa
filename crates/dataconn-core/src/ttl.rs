//! How long a cached result stays fresh.
//!
//! A [`Ttl`] is given as a [`Duration`], a number of seconds, or a string such as `"10m"`,
//! `"1h30m"`, `"1d"`, `"90 s"` or `"2 days"` (the forms Streamlit users write). [`Ttl::Forever`]
//! caches until the entry is evicted or invalidated, and a zero TTL turns caching off.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};

/// Freshness of a cached result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Ttl {
    /// Keep the result until it is evicted or invalidated (Streamlit's `ttl=None`).
    #[default]
    Forever,
    /// Do not cache at all (Streamlit's `ttl=0`).
    NoCache,
    /// Keep the result for this long.
    For(Duration),
}

impl Ttl {
    /// The duration an entry lives, or `None` when it lives until evicted.
    pub fn duration(self) -> Option<Duration> {
        match self {
            Ttl::Forever => None,
            Ttl::NoCache => Some(Duration::ZERO),
            Ttl::For(d) => Some(d),
        }
    }

    /// Whether results with this TTL are stored at all.
    pub fn caches(self) -> bool {
        !matches!(self, Ttl::NoCache)
    }

    /// Parse a TTL string such as `"10m"`, `"1h30m"`, `"1.5h"`, `"1d"` or `"2 days"`.
    ///
    /// A bare number is seconds. `"0"` means no caching; `"none"`, `"forever"` and `"never"`
    /// mean no expiry.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the string and the accepted forms.
    ///
    /// # Examples
    /// ```
    /// use dataconn_core::Ttl;
    /// use std::time::Duration;
    /// assert_eq!(Ttl::parse("1h30m")?, Ttl::For(Duration::from_secs(5400)));
    /// assert_eq!(Ttl::parse("0")?, Ttl::NoCache);
    /// # Ok::<(), dataconn_core::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Ttl> {
        let trimmed = text.trim();
        if matches!(
            trimmed.to_ascii_lowercase().as_str(),
            "none" | "forever" | "never"
        ) {
            return Ok(Ttl::Forever);
        }
        let bad = || {
            Error::new(
                ErrorKind::Config,
                format!(
                    "expected a TTL such as \"90s\", \"10m\", \"1h30m\", \"1d\" or a number of \
                     seconds, found {text:?}"
                ),
            )
        };
        let mut rest = trimmed;
        let mut total = 0f64;
        let mut parts = 0;
        while !rest.is_empty() {
            let number_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let number: f64 = rest[..number_len].parse().map_err(|_| bad())?;
            rest = rest[number_len..].trim_start();
            let unit_len = rest
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            if unit.is_empty() && parts == 0 && rest.is_empty() {
                total = number;
                parts = 1;
                break;
            }
            total += number * unit_seconds(unit).ok_or_else(bad)?;
            rest = rest[unit_len..].trim_start_matches([' ', ',']);
            parts += 1;
        }
        if parts == 0 || !total.is_finite() {
            return Err(bad());
        }
        Ttl::try_from_secs_f64(total)
            .map_err(|e| Error::config(format!("{}, in {text:?}", e.message())))
    }

    /// A TTL from a config value: a number of seconds (`0` means no caching) or a string as
    /// [`Ttl::parse`] takes it.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming what was found.
    pub fn from_toml(value: &toml::Value) -> Result<Ttl> {
        match value {
            toml::Value::Integer(i) if *i >= 0 => Ttl::try_from_secs_f64(*i as f64),
            toml::Value::Float(f) if f.is_finite() && *f >= 0.0 => Ttl::try_from_secs_f64(*f),
            toml::Value::String(s) => Ttl::parse(s),
            other => Err(Error::new(
                ErrorKind::Config,
                format!(
                    "expected a duration such as \"30s\" or a number of seconds, found {other}"
                ),
            )),
        }
    }

    /// A TTL of `secs` seconds; zero means no caching.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for a number that is not finite, is negative, or is longer than
    /// [`Ttl::MAX`] (a longer duration would overflow the clocks that timers and expiry use).
    pub fn try_from_secs_f64(secs: f64) -> Result<Ttl> {
        if !secs.is_finite() || secs < 0.0 {
            return Err(Error::config(format!(
                "expected a finite, non-negative number of seconds, found {secs}"
            )));
        }
        if secs == 0.0 {
            return Ok(Ttl::NoCache);
        }
        if secs > Ttl::MAX.as_secs_f64() {
            return Err(Error::config(format!(
                "expected a duration of at most {} seconds (100 years), found {secs} seconds",
                Ttl::MAX.as_secs()
            )));
        }
        // Cannot fail: `secs` is finite, positive and far below `Duration::MAX`.
        Ok(Ttl::For(Duration::from_secs_f64(secs)))
    }

    /// The longest duration accepted anywhere a duration is configured: 100 years.
    pub const MAX: Duration = Duration::from_secs(100 * 365 * 86_400);
}

fn unit_seconds(unit: &str) -> Option<f64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "ms" | "msec" | "millis" | "millisecond" | "milliseconds" => 0.001,
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "week" | "weeks" => 604_800.0,
        _ => return None,
    })
}

impl FromStr for Ttl {
    type Err = Error;
    fn from_str(s: &str) -> Result<Ttl> {
        Ttl::parse(s)
    }
}

impl fmt::Display for Ttl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ttl::Forever => f.write_str("forever"),
            Ttl::NoCache => f.write_str("0s"),
            Ttl::For(d) => write!(f, "{}s", d.as_secs_f64()),
        }
    }
}

/// Anything that can be turned into a [`Ttl`]: a `Ttl`, a `Duration`, seconds, `None`, or a
/// string to parse.
pub trait IntoTtl {
    /// Convert, reporting a string that does not parse.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for a string that is not a TTL.
    fn into_ttl(self) -> Result<Ttl>;
}

impl IntoTtl for Ttl {
    fn into_ttl(self) -> Result<Ttl> {
        Ok(self)
    }
}

impl IntoTtl for Duration {
    fn into_ttl(self) -> Result<Ttl> {
        if self.is_zero() {
            Ok(Ttl::NoCache)
        } else if self > Ttl::MAX {
            Ttl::try_from_secs_f64(self.as_secs_f64())
        } else {
            Ok(Ttl::For(self))
        }
    }
}

impl IntoTtl for u64 {
    fn into_ttl(self) -> Result<Ttl> {
        Duration::from_secs(self).into_ttl()
    }
}

impl IntoTtl for f64 {
    fn into_ttl(self) -> Result<Ttl> {
        Ttl::try_from_secs_f64(self)
    }
}

impl IntoTtl for &str {
    fn into_ttl(self) -> Result<Ttl> {
        Ttl::parse(self)
    }
}

impl IntoTtl for String {
    fn into_ttl(self) -> Result<Ttl> {
        Ttl::parse(&self)
    }
}

impl<T: IntoTtl> IntoTtl for Option<T> {
    fn into_ttl(self) -> Result<Ttl> {
        self.map_or(Ok(Ttl::Forever), IntoTtl::into_ttl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_form() {
        let cases = [
            ("10m", Ttl::For(Duration::from_secs(600))),
            ("1h30m", Ttl::For(Duration::from_secs(5400))),
            ("1d", Ttl::For(Duration::from_secs(86_400))),
            ("2 days", Ttl::For(Duration::from_secs(172_800))),
            ("1.5h", Ttl::For(Duration::from_secs(5400))),
            ("90", Ttl::For(Duration::from_secs(90))),
            ("1h, 2m 3s", Ttl::For(Duration::from_secs(3723))),
            ("250ms", Ttl::For(Duration::from_millis(250))),
            ("0", Ttl::NoCache),
            ("0s", Ttl::NoCache),
            ("forever", Ttl::Forever),
        ];
        for (text, want) in cases {
            assert_eq!(Ttl::parse(text).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn rejects_garbage_with_the_accepted_forms() {
        for text in ["", "ten minutes", "10x", "m", "1h 5"] {
            let err = Ttl::parse(text).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.message().contains("1h30m"), "{err}");
        }
    }

    #[test]
    fn durations_beyond_a_hundred_years_are_config_errors_not_panics() {
        for text in [
            "30000000000000000000",
            "99999999999999999999s",
            "1e400",
            "5e18d",
        ] {
            let err = Ttl::parse(text).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{text}");
        }
        let err = Ttl::parse("99999999999999999999s").unwrap_err();
        assert!(err.message().contains("at most"), "{err}");
        let huge = toml::Value::Float(1e20);
        assert_eq!(Ttl::from_toml(&huge).unwrap_err().kind(), ErrorKind::Config);
        assert!(Ttl::from_toml(&toml::Value::Integer(i64::MAX)).is_err());
        assert!(1e300f64.into_ttl().is_err());
        assert!(Duration::MAX.into_ttl().is_err());
        assert_eq!(
            Ttl::parse("36500d").unwrap(),
            Ttl::For(Duration::from_secs(36_500 * 86_400))
        );
    }

    #[test]
    fn converts_other_forms() {
        assert_eq!(30u64.into_ttl().unwrap(), Ttl::For(Duration::from_secs(30)));
        assert_eq!(Duration::ZERO.into_ttl().unwrap(), Ttl::NoCache);
        assert_eq!(None::<u64>.into_ttl().unwrap(), Ttl::Forever);
        assert!(f64::NAN.into_ttl().is_err());
    }
}
