//! Maps a component `kind` to the factory that builds it.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Value, json};

use super::category::{Category, Registry};
use super::context::BuildContext;
use super::flat::from_value;
use super::spec::Spec;
use crate::error::{Error, Result};

/// A component's config: deserialised from the fields beside `kind`, documented by its
/// JSON Schema, and able to build the component.
///
/// ```
/// use std::sync::Arc;
/// use ragweave_core::config::{BuildContext, ComponentConfig, Registry};
/// use ragweave_core::{Embedder, HashingEmbedder, Result};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// #[serde(deny_unknown_fields)]
/// struct TinyHashing { dimension: usize }
///
/// impl ComponentConfig for TinyHashing {
///     type Component = dyn Embedder;
///     const KIND: &'static str = "tiny_hashing";
///     async fn build(self, _ctx: &BuildContext) -> Result<Arc<dyn Embedder>> {
///         Ok(Arc::new(HashingEmbedder::new(self.dimension.max(1))))
///     }
/// }
///
/// let mut registry = Registry::with_builtins();
/// registry.register::<TinyHashing>();
/// assert!(registry.kinds::<dyn Embedder>().contains(&"tiny_hashing"));
/// ```
pub trait ComponentConfig: serde::de::DeserializeOwned + JsonSchema + Send + 'static {
    /// The trait object this builds, e.g. `dyn Embedder`.
    type Component: ?Sized + Category;
    /// The `kind` that selects this config.
    const KIND: &'static str;
    /// Builds the component; `ctx` resolves the components it names, and paths.
    fn build(self, ctx: &BuildContext)
    -> impl Future<Output = Result<Arc<Self::Component>>> + Send;
}

type BuildFn<T> =
    Arc<dyn for<'a> Fn(Value, &'a BuildContext) -> BoxFuture<'a, Result<Arc<T>>> + Send + Sync>;

#[doc(hidden)]
pub struct Factory<T: ?Sized> {
    build: BuildFn<T>,
    pub(crate) schema: fn(&mut SchemaGenerator) -> Value,
    check: fn(Value, &str) -> Result<()>,
}

impl Registry {
    /// Registers the config type `C` under `C::KIND` in its category, replacing any earlier
    /// factory of the same kind.
    pub fn register<C: ComponentConfig>(&mut self) -> &mut Self {
        let build: BuildFn<C::Component> = Arc::new(|params, ctx| {
            Box::pin(async move {
                let config: C = parse::<C>(params, ctx.path())?;
                config.build(ctx).await
            })
        });
        let factory = Factory {
            build,
            schema: component_schema::<C>,
            check: |params, path| parse::<C>(params, path).map(drop),
        };
        C::Component::factories_mut(self).insert(C::KIND, factory);
        self
    }

    /// The kinds registered for category `C`, e.g. `registry.kinds::<dyn Embedder>()`.
    pub fn kinds<C: ?Sized + Category>(&self) -> Vec<&'static str> {
        C::factories(self).keys().copied().collect()
    }

    fn factory<C: ?Sized + Category>(&self, spec: &Spec<C>, path: &str) -> Result<&Factory<C>> {
        C::factories(self)
            .get(spec.kind.as_str())
            .ok_or_else(|| Error::UnknownKind {
                path: format!("{path}.kind"),
                category: C::NAME,
                kind: spec.kind.clone(),
                known: self.kinds::<C>().join(", "),
            })
    }

    /// Checks `spec`'s fields against its kind's config type, without building anything.
    pub fn check<C: ?Sized + Category>(&self, spec: &Spec<C>, path: &str) -> Result<()> {
        (self.factory(spec, path)?.check)(Value::Object(spec.params.clone()), path)
    }

    /// Builds the component `spec` describes, at config path `path`.
    pub async fn build<C: ?Sized + Category>(
        &self,
        spec: &Spec<C>,
        ctx: &BuildContext,
        path: &str,
    ) -> Result<Arc<C>> {
        let factory = self.factory(spec, path)?;
        let ctx = ctx.at(path);
        (factory.build)(Value::Object(spec.params.clone()), &ctx).await
    }

    /// The JSON Schema (draft 2020-12) of a pipeline config, with every registered kind.
    pub fn schema(&self) -> Value {
        let mut generator = SchemaSettings::draft2020_12().into_generator();
        let categories = self.category_schemas(&mut generator);
        let mut root = generator
            .into_root_schema_for::<super::PipelineConfig>()
            .to_value();
        let defs = root
            .as_object_mut()
            .expect("root schema is an object")
            .entry("$defs")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("$defs is an object");
        for (category, def, variants) in categories {
            let schema = if variants.is_empty() {
                json!({ "not": {}, "description": format!("no {category} kind is registered") })
            } else {
                json!({ "oneOf": variants })
            };
            defs.insert(def, schema);
        }
        root
    }
}

/// `C` from the fields beside `kind`; an unknown field's error lists the known ones, which
/// serde cannot do for a config that flattens a shared options struct.
fn parse<C: ComponentConfig>(params: Value, path: &str) -> Result<C> {
    from_value::<C>(params, path).map_err(|e| match e {
        Error::Config { path, message }
            if message.starts_with("unknown field") && !message.contains("expected") =>
        {
            let schema = schemars::schema_for!(C).to_value();
            let known: Vec<String> = schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.keys().map(|k| format!("`{k}`")).collect())
                .unwrap_or_default();
            Error::config(
                path,
                format!("{message}, expected one of {}", known.join(", ")),
            )
        }
        other => other,
    })
}

/// The schema of `C` with its `kind` property added.
fn component_schema<C: ComponentConfig>(generator: &mut SchemaGenerator) -> Value {
    let mut schema = generator.subschema_for::<C>().to_value();
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or_default().to_string();
        schema = generator
            .definitions()
            .get(&name)
            .cloned()
            .unwrap_or_else(|| json!({ "type": "object" }));
    }
    let obj = schema
        .as_object_mut()
        .expect("component config schema is an object");
    let props = obj
        .entry("properties")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("properties is an object");
    props.insert("kind".into(), json!({ "const": C::KIND }));
    let required = obj.entry("required").or_insert_with(|| json!([]));
    if let Some(list) = required.as_array_mut() {
        list.insert(0, json!("kind"));
    }
    obj.insert(
        "title".into(),
        json!(format!("{} `{}`", C::Component::NAME, C::KIND)),
    );
    schema
}
