//! Deserialising configs with the field path in every error, shared option structs included.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use schemars::JsonSchema;
use serde::Deserializer;
use serde::de::{DeserializeOwned, Error as _, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Separates a flattened struct's inner path from serde's message (see [`flat`]).
const PATH_MARK: char = '\u{1f}';

/// Deserialises a `#[serde(flatten)]` field so that its errors keep their field path.
///
/// Options two components share live in one struct that each config flattens in; serde
/// reads a flattened field from a buffer, which loses the path of an error inside it, and a
/// flattened struct that flattens another in turn leaves its fields looking unknown to the
/// outer one. Name this function with the flatten: it takes exactly the fields the struct's
/// schema lists (so nesting works and unknown keys stay errors), and
/// [`ComponentConfig`](super::ComponentConfig) errors say `generators.llm.timeout_secs`
/// rather than `generators.llm`:
///
/// ```
/// use ragweave_core::config::{ComponentConfig, Registry};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema, Default)]
/// #[serde(default, deny_unknown_fields)]
/// struct Endpoint { timeout_secs: f64 }
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// #[serde(deny_unknown_fields)]
/// struct Remote {
///     model: String,
///     #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
///     endpoint: Endpoint,
/// }
/// # impl ComponentConfig for Remote {
/// #     type Component = dyn ragweave_core::Embedder;
/// #     const KIND: &'static str = "remote";
/// #     async fn build(self, _: &ragweave_core::config::BuildContext) -> ragweave_core::Result<std::sync::Arc<dyn ragweave_core::Embedder>> { unimplemented!() }
/// # }
/// let mut registry = Registry::with_builtins();
/// registry.register::<Remote>();
/// let config = "[embedders.e]\nkind = 'remote'\nmodel = 'm'\ntimeout_secs = 'soon'\n";
/// let err = ragweave_core::config::PipelineConfig::from_toml_str(config)
///     .and_then(|c| c.validate(&registry))
///     .unwrap_err();
/// assert!(err.to_string().contains("embedders.e.timeout_secs"), "{err}");
/// ```
pub fn flat<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + JsonSchema + 'static,
{
    let fields = d.deserialize_struct("flattened options", fields_of::<T>(), Collect)?;
    serde_path_to_error::deserialize(Value::Object(fields)).map_err(|e| {
        let inner = e.path().to_string();
        D::Error::custom(format!("{inner}{PATH_MARK}{}", e.into_inner()))
    })
}

/// The field names `T`'s schema lists, its own flattened ones included; computed once per
/// type (and kept, as serde wants them `'static`).
fn fields_of<T: JsonSchema + 'static>() -> &'static [&'static str] {
    static FIELDS: LazyLock<Mutex<HashMap<TypeId, &'static [&'static str]>>> =
        LazyLock::new(Default::default);
    let mut known = FIELDS.lock().expect("field table");
    known.entry(TypeId::of::<T>()).or_insert_with(|| {
        let schema = schemars::schema_for!(T).to_value();
        let names: Vec<&'static str> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| {
                p.keys()
                    .map(|k| &*Box::leak(k.clone().into_boxed_str()))
                    .collect()
            })
            .unwrap_or_default();
        Box::leak(names.into_boxed_slice())
    })
}

/// Collects the fields it is given into a JSON object.
struct Collect;

impl<'de> Visitor<'de> for Collect {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("options")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            out.insert(k, v);
        }
        Ok(out)
    }
}

/// Deserialises `value` as `T`, naming the field path on error.
pub(crate) fn from_value<T: DeserializeOwned>(value: Value, path: &str) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut inner = e.path().to_string();
        let mut message = e.into_inner().to_string();
        // A flattened struct's error carries its own path, after the flattening field's.
        while let Some((nested, rest)) = message.split_once(PATH_MARK) {
            inner = join(&inner, nested);
            message = rest.to_string();
        }
        Error::config(join(path, &inner), message)
    })
}

fn join(outer: &str, inner: &str) -> String {
    match (outer, inner) {
        (_, ".") | (_, "") => outer.to_string(),
        ("" | ".", _) => inner.to_string(),
        _ => format!("{outer}.{inner}"),
    }
}
