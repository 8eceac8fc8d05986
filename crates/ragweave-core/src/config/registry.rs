//! Maps a component `kind` to the factory that builds it.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::ComponentSpec;
use crate::error::{Error, Result};
use crate::traits::arranger::ContextArranger;
use crate::traits::embedder::Embedder;
use crate::traits::generator::Generator;
use crate::traits::memory::Memory;
use crate::traits::query_transform::QueryTransform;
use crate::traits::reranker::Reranker;
use crate::traits::retriever::Retriever;
use crate::traits::router::Router;

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
/// assert!(registry.kinds("embedder").contains(&"tiny_hashing".to_string()));
/// ```
pub trait ComponentConfig: DeserializeOwned + JsonSchema + Send + 'static {
    /// The trait object this builds, e.g. `dyn Embedder`.
    type Component: ?Sized + Category;
    /// The `kind` that selects this config.
    const KIND: &'static str;
    /// Builds the component; `ctx` resolves named embedders and generators and paths.
    fn build(self, ctx: &BuildContext)
    -> impl Future<Output = Result<Arc<Self::Component>>> + Send;
}

/// A component category: which registry slot a component type goes in.
pub trait Category: Send + Sync + 'static {
    /// Name used in errors and the schema, e.g. `retriever`.
    const NAME: &'static str;
    #[doc(hidden)]
    fn slot(registry: &Registry) -> &Slot<Self>;
    #[doc(hidden)]
    fn slot_mut(registry: &mut Registry) -> &mut Slot<Self>;
}

type BuildFn<T> =
    Arc<dyn for<'a> Fn(Value, &'a BuildContext) -> BoxFuture<'a, Result<Arc<T>>> + Send + Sync>;
type SchemaFn = fn(&mut SchemaGenerator) -> Value;
type CheckFn = fn(Value, &str) -> Result<()>;

struct Factory<T: ?Sized> {
    build: BuildFn<T>,
    schema: SchemaFn,
    check: CheckFn,
}

#[doc(hidden)]
pub struct Slot<T: ?Sized> {
    factories: BTreeMap<&'static str, Factory<T>>,
}

impl<T: ?Sized + Category> Slot<T> {
    fn get(&self, spec: &ComponentSpec, path: &str) -> Result<&Factory<T>> {
        self.factories
            .get(spec.kind.as_str())
            .ok_or_else(|| Error::UnknownKind {
                path: format!("{path}.kind"),
                category: T::NAME,
                kind: spec.kind.clone(),
                known: self
                    .factories
                    .keys()
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn check(&self, spec: &ComponentSpec, path: &str) -> Result<()> {
        (self.get(spec, path)?.check)(Value::Object(spec.params.clone()), path)
    }
}

impl<T: ?Sized> Default for Slot<T> {
    fn default() -> Self {
        Self {
            factories: BTreeMap::new(),
        }
    }
}

macro_rules! categories {
    ($($field:ident: $trait:ident = $name:literal),* $(,)?) => {
        /// Factories by category and kind. Plugins add theirs with [`Registry::register`].
        #[derive(Default)]
        pub struct Registry {
            $($field: Slot<dyn $trait>,)*
        }

        $(impl Category for dyn $trait {
            const NAME: &'static str = $name;
            fn slot(registry: &Registry) -> &Slot<Self> {
                &registry.$field
            }
            fn slot_mut(registry: &mut Registry) -> &mut Slot<Self> {
                &mut registry.$field
            }
        })*

        impl Registry {
            /// Kinds registered for a category name (`embedder`, `retriever`, ...).
            pub fn kinds(&self, category: &str) -> Vec<String> {
                match category {
                    $($name => self.$field.factories.keys().map(|k| k.to_string()).collect(),)*
                    _ => Vec::new(),
                }
            }

            /// Checks `spec` against the config type of its kind in `category`.
            pub(crate) fn check(&self, category: &str, spec: &ComponentSpec, path: &str) -> Result<()> {
                match category {
                    $($name => self.$field.check(spec, path),)*
                    other => Err(Error::config(path, format!("unknown component category `{other}`"))),
                }
            }

            fn category_schemas(&self, generator: &mut SchemaGenerator) -> Vec<(&'static str, Value)> {
                vec![$(($name, one_of(&self.$field, $name, generator)),)*]
            }
        }
    };
}

categories! {
    embedders: Embedder = "embedder",
    generators: Generator = "generator",
    retrievers: Retriever = "retriever",
    routers: Router = "router",
    rerankers: Reranker = "reranker",
    arrangers: ContextArranger = "arranger",
    memories: Memory = "memory",
    transforms: QueryTransform = "transform",
}

impl Registry {
    /// A registry with ragweave-core's own components.
    pub fn with_builtins() -> Self {
        let mut r = Registry::default();
        super::builtin::register(&mut r);
        r
    }

    /// Registers the config type `C` under `C::KIND`, replacing any earlier factory of the
    /// same kind.
    pub fn register<C: ComponentConfig>(&mut self) -> &mut Self {
        let build: BuildFn<C::Component> = Arc::new(|params, ctx| {
            Box::pin(async move {
                let config: C = from_value(params, ctx.path())?;
                config.build(ctx).await
            })
        });
        let schema: SchemaFn = |generator| component_schema::<C>(generator);
        let check: CheckFn = |params, path| from_value::<C>(params, path).map(drop);
        C::Component::slot_mut(self).factories.insert(
            C::KIND,
            Factory {
                build,
                schema,
                check,
            },
        );
        self
    }

    /// Builds the component `spec` describes, at config path `path`.
    pub async fn build<T: ?Sized + Category>(
        &self,
        spec: &ComponentSpec,
        ctx: &BuildContext,
        path: &str,
    ) -> Result<Arc<T>> {
        let factory = T::slot(self).get(spec, path)?;
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
        for (name, schema) in categories {
            defs.insert(spec_def(name), schema);
        }
        let props = root
            .pointer_mut("/properties")
            .and_then(Value::as_object_mut)
            .expect("pipeline config has properties");
        let reference =
            |category: &str| json!({ "$ref": format!("#/$defs/{}", spec_def(category)) });
        for (field, category) in [
            ("embedders", "embedder"),
            ("generators", "generator"),
            ("experts", "retriever"),
        ] {
            props.insert(
                field.into(),
                json!({ "type": "object", "additionalProperties": reference(category), "default": {} }),
            );
        }
        props.insert(
            "transforms".into(),
            json!({ "type": "array", "items": reference("transform"), "default": [] }),
        );
        for (field, category) in [
            ("router", "router"),
            ("reranker", "reranker"),
            ("arranger", "arranger"),
            ("memory", "memory"),
        ] {
            props.insert(
                field.into(),
                json!({ "anyOf": [reference(category), { "type": "null" }] }),
            );
        }
        root
    }
}

fn spec_def(category: &str) -> String {
    let mut c = category.chars();
    let head: String = c
        .next()
        .map(|h| h.to_ascii_uppercase())
        .into_iter()
        .collect();
    format!("{head}{}Spec", c.as_str())
}

fn one_of<T: ?Sized>(slot: &Slot<T>, category: &str, generator: &mut SchemaGenerator) -> Value {
    let variants: Vec<Value> = slot
        .factories
        .values()
        .map(|f| (f.schema)(generator))
        .collect();
    if variants.is_empty() {
        return json!({ "not": {}, "description": format!("no {category} kind is registered") });
    }
    json!({ "oneOf": variants })
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

/// Deserialises `value` as `T`, naming the field path on error.
pub(crate) fn from_value<T: DeserializeOwned>(value: Value, path: &str) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let full = match (path.is_empty(), inner.as_str()) {
            (_, ".") => path.to_string(),
            (true, _) => inner,
            (false, _) => format!("{path}.{inner}"),
        };
        Error::config(full, e.into_inner().to_string())
    })
}

/// What a factory can reach while building: named embedders and generators already built,
/// the config file's directory, and its own place in the config.
#[derive(Clone, Default)]
pub struct BuildContext {
    embedders: BTreeMap<String, Arc<dyn Embedder>>,
    generators: BTreeMap<String, Arc<dyn Generator>>,
    base_dir: PathBuf,
    path: String,
}

impl BuildContext {
    /// A context resolving relative paths against `base_dir`.
    pub fn new(base_dir: impl Into<PathBuf>) -> Self {
        Self {
            base_dir: base_dir.into(),
            ..Self::default()
        }
    }

    pub(crate) fn at(&self, path: &str) -> Self {
        let mut ctx = self.clone();
        ctx.path = path.to_string();
        ctx
    }

    pub(crate) fn add_embedder(&mut self, name: String, embedder: Arc<dyn Embedder>) {
        self.embedders.insert(name, embedder);
    }

    pub(crate) fn add_generator(&mut self, name: String, generator: Arc<dyn Generator>) {
        self.generators.insert(name, generator);
    }

    pub(crate) fn take_embedders(&mut self) -> BTreeMap<String, Arc<dyn Embedder>> {
        std::mem::take(&mut self.embedders)
    }

    pub(crate) fn take_generators(&mut self) -> BTreeMap<String, Arc<dyn Generator>> {
        std::mem::take(&mut self.generators)
    }

    /// Config path of the component being built, e.g. `experts.dense`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The embedder defined under `[embedders.<name>]`; `field` is the referring field, for
    /// the error.
    pub fn embedder(&self, field: &str, name: &str) -> Result<Arc<dyn Embedder>> {
        self.embedders.get(name).cloned().ok_or_else(|| {
            Error::config(
                format!("{}.{field}", self.path),
                format!(
                    "no embedder named `{name}`; defined: {:?}",
                    self.embedders.keys().collect::<Vec<_>>()
                ),
            )
        })
    }

    /// The generator defined under `[generators.<name>]`.
    pub fn generator(&self, field: &str, name: &str) -> Result<Arc<dyn Generator>> {
        self.generators.get(name).cloned().ok_or_else(|| {
            Error::config(
                format!("{}.{field}", self.path),
                format!(
                    "no generator named `{name}`; defined: {:?}",
                    self.generators.keys().collect::<Vec<_>>()
                ),
            )
        })
    }

    /// `path` relative to the config file's directory (absolute paths pass through).
    pub fn resolve(&self, path: &Path) -> PathBuf {
        self.base_dir.join(path)
    }

    /// A model setting that is a local path or a hub id: the path relative to the config file
    /// when something is there, else the setting as written (a hub id, or a missing path the
    /// loader will name in its error).
    pub fn model_location(&self, model: &str) -> String {
        let local = self.resolve(Path::new(model));
        if local.exists() {
            local.display().to_string()
        } else {
            model.to_string()
        }
    }
}
