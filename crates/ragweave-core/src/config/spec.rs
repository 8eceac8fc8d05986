//! One component in a config: its `kind` and the kind's own fields, typed by category.

use std::borrow::Cow;
use std::marker::PhantomData;

use schemars::generate::SchemaGenerator;
use schemars::{JsonSchema, Schema, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::category::Category;

/// A component of category `C` (`dyn Embedder`, `dyn Retriever`, ...) as a config writes
/// it: a `kind` naming the registered factory, and that kind's fields. The category is part
/// of the type, so a spec under `[embedders]` can only ever be built as an embedder.
pub struct Spec<C: ?Sized> {
    /// Which registered factory of the category builds it.
    pub kind: String,
    /// The remaining fields, checked by the kind's config type.
    pub params: Map<String, Value>,
    category: PhantomData<fn() -> Box<C>>,
}

/// Components of one category under names of their own (`[embedders.<name>]`).
pub type Named<C> = std::collections::BTreeMap<String, Spec<C>>;

impl<C: ?Sized> Spec<C> {
    /// A spec of `kind` with these fields.
    pub fn new(kind: impl Into<String>, params: Map<String, Value>) -> Self {
        Self {
            kind: kind.into(),
            params,
            category: PhantomData,
        }
    }

    /// Sets one field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.params.insert(key.to_string(), value.into());
        self
    }
}

impl<C: ?Sized> Clone for Spec<C> {
    fn clone(&self) -> Self {
        Self::new(self.kind.clone(), self.params.clone())
    }
}

impl<C: ?Sized> PartialEq for Spec<C> {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.params == other.params
    }
}

impl<C: ?Sized> std::fmt::Debug for Spec<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("kind", &self.kind)
            .field("params", &self.params)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    kind: String,
    #[serde(flatten)]
    params: Map<String, Value>,
}

impl<C: ?Sized> Serialize for Spec<C> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            kind: self.kind.clone(),
            params: self.params.clone(),
        }
        .serialize(s)
    }
}

impl<'de, C: ?Sized> Deserialize<'de> for Spec<C> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Wire { kind, params } = Wire::deserialize(d)?;
        Ok(Self::new(kind, params))
    }
}

/// A placeholder the registry fills with the category's registered kinds
/// ([`Registry::schema`](super::Registry::schema)).
impl<C: ?Sized + Category> JsonSchema for Spec<C> {
    fn schema_name() -> Cow<'static, str> {
        Cow::Owned(C::spec_def())
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "object", "required": ["kind"] })
    }
}
