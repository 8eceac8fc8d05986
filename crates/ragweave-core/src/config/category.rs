//! The component categories: one table that the registry, the built components, the schema
//! and the reference all come from.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::registry::Factory;
use crate::traits::chunk_store::ChunkStore;
use crate::traits::context_arranger::ContextArranger;
use crate::traits::embedder::Embedder;
use crate::traits::generator::Generator;
use crate::traits::memory::Memory;
use crate::traits::query_transform::QueryTransform;
use crate::traits::reranker::Reranker;
use crate::traits::retriever::Retriever;
use crate::traits::router::Router;

/// A component category: the trait object a config field builds (`dyn Embedder`, ...), and
/// where its factories and its built components live.
pub trait Category: Send + Sync + 'static {
    /// Name in errors, the schema and the reference, e.g. `retriever`.
    const NAME: &'static str;

    /// The schema definition that lists the category's kinds, e.g. `RetrieverSpec`.
    fn spec_def() -> String {
        let mut c = Self::NAME.chars();
        let head: String = c
            .next()
            .map(|h| h.to_ascii_uppercase())
            .into_iter()
            .collect();
        format!("{head}{}Spec", c.as_str())
    }

    #[doc(hidden)]
    fn factories(registry: &Registry) -> &BTreeMap<&'static str, Factory<Self>>;
    #[doc(hidden)]
    fn factories_mut(registry: &mut Registry) -> &mut BTreeMap<&'static str, Factory<Self>>;
    #[doc(hidden)]
    fn built(components: &Components) -> &Vec<(String, Arc<Self>)>;
    #[doc(hidden)]
    fn built_mut(components: &mut Components) -> &mut Vec<(String, Arc<Self>)>;
}

macro_rules! categories {
    ($($trait:ident: $name:literal, $field:ident;)*) => {
        /// Factories by category and kind. Plugins add theirs with [`Registry::register`].
        #[derive(Default)]
        pub struct Registry {
            $($field: BTreeMap<&'static str, Factory<dyn $trait>>,)*
        }

        /// Components by category and name, as a config built them: what a server offers
        /// beside the pipeline, and what later components of a config refer to.
        #[derive(Clone, Default)]
        pub struct Components {
            $($field: Vec<(String, Arc<dyn $trait>)>,)*
        }

        $(impl Category for dyn $trait {
            const NAME: &'static str = $name;
            fn factories(registry: &Registry) -> &BTreeMap<&'static str, Factory<Self>> {
                &registry.$field
            }
            fn factories_mut(registry: &mut Registry) -> &mut BTreeMap<&'static str, Factory<Self>> {
                &mut registry.$field
            }
            fn built(components: &Components) -> &Vec<(String, Arc<Self>)> {
                &components.$field
            }
            fn built_mut(components: &mut Components) -> &mut Vec<(String, Arc<Self>)> {
                &mut components.$field
            }
        })*

        impl Registry {
            /// Per category: its name, its schema definition's name, and the schema of each
            /// registered kind.
            pub(crate) fn category_schemas(
                &self,
                generator: &mut schemars::generate::SchemaGenerator,
            ) -> Vec<(&'static str, String, Vec<serde_json::Value>)> {
                vec![$((
                    $name,
                    <dyn $trait as Category>::spec_def(),
                    self.$field.values().map(|f| (f.schema)(generator)).collect(),
                ),)*]
            }
        }
    };
}

categories! {
    Embedder: "embedder", embedders;
    Generator: "generator", generators;
    ChunkStore: "store", stores;
    Retriever: "retriever", retrievers;
    QueryTransform: "transform", transforms;
    Router: "router", routers;
    Reranker: "reranker", rerankers;
    ContextArranger: "arranger", arrangers;
    Memory: "memory", memories;
}

impl Components {
    /// Adds `component` under `name` (replacing one of that name and category).
    pub fn add<C: ?Sized + Category>(&mut self, name: impl Into<String>, component: Arc<C>) {
        let name = name.into();
        let built = C::built_mut(self);
        built.retain(|(n, _)| *n != name);
        built.push((name, component));
    }

    /// The component of category `C` named `name`.
    pub fn get<C: ?Sized + Category>(&self, name: &str) -> Option<&Arc<C>> {
        C::built(self)
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
    }

    /// Every component of category `C`, with its name, in the order built.
    pub fn all<C: ?Sized + Category>(&self) -> impl Iterator<Item = (&str, &Arc<C>)> {
        C::built(self).iter().map(|(n, c)| (n.as_str(), c))
    }

    /// The names of category `C`'s components, in the order built.
    pub fn names<C: ?Sized + Category>(&self) -> Vec<String> {
        C::built(self).iter().map(|(n, _)| n.clone()).collect()
    }
}
