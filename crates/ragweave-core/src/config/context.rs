//! What a factory can reach while it builds its component.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::category::{Category, Components};
use crate::error::{Error, Result};

/// What a factory can reach while building: the components built before it (embedders,
/// generators and stores come first), the config file's directory, its own place in the
/// config, and whether stores may be created.
#[derive(Clone, Default)]
pub struct BuildContext {
    components: Components,
    base_dir: PathBuf,
    path: String,
    create_stores: bool,
}

impl BuildContext {
    /// A context resolving relative paths against `base_dir`; stores must exist.
    pub fn new(base_dir: impl Into<PathBuf>) -> Self {
        Self {
            base_dir: base_dir.into(),
            ..Self::default()
        }
    }

    /// Lets store factories create a store that does not exist yet (ingestion, a server
    /// that ingests); without it a missing store is an error that says how to make one.
    pub fn creating_stores(mut self, create: bool) -> Self {
        self.create_stores = create;
        self
    }

    /// Whether a store factory may create a missing store.
    pub fn creates_stores(&self) -> bool {
        self.create_stores
    }

    pub(crate) fn at(&self, path: &str) -> Self {
        let mut ctx = self.clone();
        ctx.path = path.to_string();
        ctx
    }

    pub(crate) fn components_mut(&mut self) -> &mut Components {
        &mut self.components
    }

    pub(crate) fn into_components(self) -> Components {
        self.components
    }

    /// Config path of the component being built, e.g. `experts.dense`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The component of category `C` defined under `name` (`[embedders.<name>]`,
    /// `[stores.<name>]`, ...); `field` is the field that names it, for the error.
    ///
    /// ```
    /// use ragweave_core::Embedder;
    /// use ragweave_core::config::BuildContext;
    ///
    /// let err = BuildContext::new(".").component::<dyn Embedder>("embedder", "minilm").err().unwrap();
    /// assert!(err.to_string().contains("no embedder named `minilm`"), "{err}");
    /// ```
    pub fn component<C: ?Sized + Category>(&self, field: &str, name: &str) -> Result<Arc<C>> {
        self.components.get::<C>(name).cloned().ok_or_else(|| {
            let path = match self.path.as_str() {
                "" => field.to_string(),
                at => format!("{at}.{field}"),
            };
            Error::config(
                path,
                format!(
                    "no {} named `{name}`; defined: {:?}",
                    C::NAME,
                    self.components.names::<C>()
                ),
            )
        })
    }

    /// `e` with its config path (if it has one, relative to this component, as a
    /// component's own constructor names its fields) placed under this component's path:
    /// `bm25_avg_len` becomes `stores.docs.bm25_avg_len`.
    pub fn locate(&self, e: Error) -> Error {
        match e {
            Error::Config { path, message } => {
                Error::config(format!("{}.{path}", self.path), message)
            }
            other => other,
        }
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
