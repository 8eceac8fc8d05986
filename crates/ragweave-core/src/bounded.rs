//! JSON values from outside (request bodies, ingested metadata), read with a budget.
//!
//! A `serde_json::Value` takes about 32 bytes per item however small its text, so
//! `[0,0,0,...]` grows 16-fold as it is parsed: an unchecked array in a request body is a way
//! to make a server allocate far more than the body limit. These deserializers count every
//! value (array items, object entries and scalars, at any depth) and refuse the input past
//! [`MAX_JSON_VALUES`], while it is read, before the rest is allocated.
//!
//! ```
//! use ragweave_core::{Filter, Metadata};
//!
//! let ok: Filter = serde_json::from_str(r#"{"in": {"field": "lang", "values": ["en", "de"]}}"#).unwrap();
//! assert!(matches!(ok, Filter::In { .. }));
//!
//! let many = format!(r#"{{"in": {{"field": "id", "values": [{}]}}}}"#, vec!["0"; 5000].join(","));
//! let e = serde_json::from_str::<Filter>(&many).unwrap_err();
//! assert!(e.to_string().contains("more than 1024 values"), "{e}");
//! ```

use std::cell::Cell;
use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::types::Metadata;

/// How many values one bounded field may hold, counted at every depth.
pub const MAX_JSON_VALUES: usize = 1024;

/// How many values one request body may hold in all (a server checks with
/// [`check_values`] before it parses): per-field budgets alone leave a body of many fields,
/// each just under its budget, free to grow 16-fold.
pub const MAX_BODY_JSON_VALUES: usize = 1 << 18;

/// Counts the values of the JSON text `json` (as [`value`] counts them) without building
/// any, and refuses it past `max`.
///
/// ```
/// use ragweave_core::bounded::check_values;
///
/// assert!(check_values(br#"{"a": [1, 2, 3]}"#, 5).is_ok());
/// let e = check_values(br#"{"a": [1, 2, 3, 4, 5]}"#, 5).unwrap_err();
/// assert!(e.to_string().contains("more than 5 values"), "{e}");
/// ```
pub fn check_values(json: &[u8], max: usize) -> Result<(), serde_json::Error> {
    let left = Cell::new(max);
    let mut de = serde_json::Deserializer::from_slice(json);
    Count { left: &left, max }.deserialize(&mut de)?;
    de.end()
}

/// A [`Value`] of at most [`MAX_JSON_VALUES`] values.
pub fn value<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
    let left = Cell::new(MAX_JSON_VALUES);
    Budget { left: &left }.deserialize(deserializer)
}

/// A list of values holding at most [`MAX_JSON_VALUES`] values in all.
pub fn values<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Value>, D::Error> {
    match value(deserializer)? {
        Value::Array(items) => Ok(items),
        other => Err(D::Error::custom(format!(
            "expected a list of values, found {}",
            kind(&other)
        ))),
    }
}

/// Metadata (a JSON object) holding at most [`MAX_JSON_VALUES`] values in all.
pub fn metadata<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Metadata, D::Error> {
    match value(deserializer)? {
        Value::Object(map) => Ok(map),
        other => Err(D::Error::custom(format!(
            "expected an object, found {}",
            kind(&other)
        ))),
    }
}

/// Counts values, one unit of `left` each, keeping none.
#[derive(Clone, Copy)]
struct Count<'a> {
    left: &'a Cell<usize>,
    max: usize,
}

impl Count<'_> {
    fn spend<E: serde::de::Error>(self) -> Result<(), E> {
        match self.left.get() {
            0 => Err(E::custom(format!(
                "more than {} values (count every list item and object entry)",
                self.max
            ))),
            n => {
                self.left.set(n - 1);
                Ok(())
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Count<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Count<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JSON of at most {} values", self.max)
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.spend()
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.spend()
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.spend()
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.spend()
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.spend()
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.spend()
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        self.spend()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.spend()?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.spend()?;
        while map.next_key::<serde::de::IgnoredAny>()?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Builds a [`Value`], spending one unit of `left` per value.
#[derive(Clone, Copy)]
struct Budget<'a> {
    left: &'a Cell<usize>,
}

impl Budget<'_> {
    fn spend<E: serde::de::Error>(self) -> Result<(), E> {
        match self.left.get() {
            0 => Err(E::custom(format!(
                "more than {MAX_JSON_VALUES} values (count every list item and object entry)"
            ))),
            n => {
                self.left.set(n - 1);
                Ok(())
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Budget<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Budget<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON value of at most {MAX_JSON_VALUES} values")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.spend()?;
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("{v} is not a JSON number")))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Null)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut entries = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self)?;
            entries.insert(key, value);
        }
        Ok(Value::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Doc {
        #[serde(deserialize_with = "metadata")]
        metadata: Metadata,
    }

    #[test]
    fn values_are_counted_at_every_depth() {
        let nested = |n: usize| {
            let inner = vec!["0"; n].join(",");
            format!(r#"{{"metadata": {{"a": [[{inner}], [{inner}]]}}}}"#)
        };
        // 1 object + 1 entry's list + 2 lists + 2n items.
        let fits = serde_json::from_str::<Doc>(&nested((MAX_JSON_VALUES - 4) / 2)).unwrap();
        assert_eq!(fits.metadata["a"][0].as_array().unwrap().len(), 510);
        let e = serde_json::from_str::<Doc>(&nested(MAX_JSON_VALUES / 2))
            .err()
            .unwrap();
        assert!(e.to_string().contains("more than 1024 values"), "{e}");
    }

    #[test]
    fn the_shape_is_checked() {
        let e = serde_json::from_str::<Doc>(r#"{"metadata": [1]}"#)
            .err()
            .unwrap();
        assert!(
            e.to_string().contains("expected an object, found a list"),
            "{e}"
        );
    }
}
