//! The config a command works with, and the store it reads or writes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ragweave::config::{BuildContext, BuiltPipeline, Components, PipelineConfig, Registry, Spec};
use ragweave::{ChunkStore, Embedder, Error, Result};

/// The store used when neither `--store` nor a config names one.
pub fn default_store() -> PathBuf {
    std::env::var_os("RAGWEAVE_STORE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".ragweave/store"))
}

/// A config file read, with the directory its relative paths start from.
pub struct LoadedConfig {
    pub config: PipelineConfig,
    pub base: PathBuf,
}

impl LoadedConfig {
    pub fn read(path: Option<&Path>, registry: &Registry) -> Result<Self> {
        let Some(path) = path else {
            return Ok(Self {
                config: PipelineConfig::default(),
                base: PathBuf::from("."),
            });
        };
        let config = PipelineConfig::from_path(path)?;
        config.validate(registry)?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        Ok(Self { config, base })
    }

    /// The store directory a command uses when the config names no store: `--store`, else
    /// [`default_store`]. `--store` beside a config's own `[stores]` is an error rather than
    /// a flag silently ignored.
    pub fn store_dir(&self, flag: Option<&Path>) -> Result<PathBuf> {
        match flag {
            Some(_) if !self.config.stores.is_empty() => {
                let names: Vec<&String> = self.config.stores.keys().collect();
                Err(Error::config(
                    "--store",
                    format!(
                        "the config names its stores ({names:?}); --store is for a config \
                         without [stores] (pick one of them with --into / --ingest-into)"
                    ),
                ))
            }
            Some(dir) => Ok(dir.to_path_buf()),
            None => Ok(default_store()),
        }
    }

    /// Gives a config without stores the embedded store at `dir`, named `store`: where
    /// `ingest` writes when the config names none.
    pub fn with_default_store(&mut self, dir: &Path) -> Result<()> {
        if self.config.stores.is_empty() {
            let absolute = std::path::absolute(dir).map_err(|source| Error::Io {
                path: dir.display().to_string(),
                source,
            })?;
            let spec = Spec::new("qdrant_edge", Default::default())
                .with("path", absolute.display().to_string());
            self.config.stores.insert("store".into(), spec);
        }
        Ok(())
    }

    /// Gives a config without experts the store at `dir` (when it names none) and an
    /// expert over each store, so a config that only names a generator, or none at all,
    /// still retrieves from the command's store.
    pub fn with_default_search(&mut self, dir: &Path) -> Result<()> {
        if !self.config.experts.is_empty() {
            return Ok(());
        }
        self.with_default_store(dir)?;
        for name in self.config.stores.keys() {
            let expert = Spec::new("store", Default::default()).with("store", name.as_str());
            self.config.experts.insert(name.clone(), expert);
        }
        Ok(())
    }

    /// The name of the store a command writes: `wanted`, or the config's only store.
    pub fn store_name(&self, wanted: Option<&str>) -> Result<String> {
        let names: Vec<&String> = self.config.stores.keys().collect();
        match (wanted, names.as_slice()) {
            (Some(w), _) if self.config.stores.contains_key(w) => Ok(w.to_string()),
            (Some(w), _) => Err(Error::config(
                "--into",
                format!("the config has no store `{w}`; it has {names:?}"),
            )),
            (None, [only]) => Ok(only.to_string()),
            (None, []) => Err(Error::config("stores", "the config names no store")),
            (None, several) => Err(Error::config(
                "--into",
                format!("the config has several stores ({several:?}); name one with --into"),
            )),
        }
    }

    /// The pipeline and its components; `create_stores` lets missing stores be created
    /// (for commands that write).
    pub async fn build(&self, registry: &Registry, create_stores: bool) -> Result<BuiltPipeline> {
        let ctx = BuildContext::new(&self.base).creating_stores(create_stores);
        self.config.build_in(registry, ctx).await
    }

    /// The embedder named under `[embedders]`, built alone.
    pub async fn embedder(&self, registry: &Registry, name: &str) -> Result<Arc<dyn Embedder>> {
        let spec = self.config.embedders.get(name).ok_or_else(|| {
            Error::config(
                "embedders",
                format!("no embedder named `{name}` under [embedders]"),
            )
        })?;
        let ctx = BuildContext::new(&self.base);
        registry
            .build(spec, &ctx, &format!("embedders.{name}"))
            .await
    }

    /// The embedders and stores alone (no generator is loaded), stores created when missing.
    pub async fn build_stores(&self, registry: &Registry) -> Result<Components> {
        let only = PipelineConfig {
            embedders: self.config.embedders.clone(),
            stores: self.config.stores.clone(),
            ..PipelineConfig::default()
        };
        let ctx = BuildContext::new(&self.base).creating_stores(true);
        only.build_components(registry, ctx).await
    }
}

/// The store named `name` among `components`.
pub fn store(components: &Components, name: &str) -> Result<Arc<dyn ChunkStore>> {
    components
        .get::<dyn ChunkStore>(name)
        .cloned()
        .ok_or_else(|| Error::config("stores", format!("no store named `{name}`")))
}
