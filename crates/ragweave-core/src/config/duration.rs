//! Durations in configs: seconds or milliseconds as numbers, checked as they are read.
//! Use with `#[serde(with = "...")]` and give the schema the number type
//! (`#[schemars(with = "f64")]`, `"u64"` or `"Option<u64>"`).

use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

/// A [`Duration`] as a positive number of seconds (`timeout_secs = 2.5`).
pub mod secs {
    use super::*;

    /// Writes the seconds.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    /// Reads the seconds; zero, negative and non-finite numbers are errors.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        if !(secs.is_finite() && secs > 0.0) {
            return Err(D::Error::custom(format!(
                "must be a positive number of seconds, not {secs}"
            )));
        }
        Duration::try_from_secs_f64(secs).map_err(D::Error::custom)
    }
}

/// A [`Duration`] as whole milliseconds.
pub mod millis {
    use super::*;

    /// Writes the milliseconds.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    /// Reads the milliseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// An optional [`Duration`] as whole milliseconds; unset is none.
pub mod opt_millis {
    use super::*;

    /// Writes the milliseconds, or nothing.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    /// Reads the milliseconds, if any.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}
