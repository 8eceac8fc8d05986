//! Which store a command works on, and the embedder that goes with it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ragweave::config::{BuildContext, ComponentSpec, PipelineConfig, Registry};
use ragweave::qdrant_edge::{DenseSpec, EdgeRetrieverConfig, EdgeStore, EdgeStoreOptions};
use ragweave::{Embedder, Error, Result};

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

    /// The first `qdrant_edge` expert, with its name.
    pub fn edge_expert(&self) -> Result<Option<(String, EdgeRetrieverConfig)>> {
        for (name, spec) in &self.config.experts {
            if spec.kind == "qdrant_edge" {
                let parsed = serde_json::from_value(serde_json::Value::Object(spec.params.clone()))
                    .map_err(|e| Error::config(format!("experts.{name}"), e.to_string()))?;
                return Ok(Some((name.clone(), parsed)));
            }
        }
        Ok(None)
    }

    /// Builds the embedder named under `[embedders]`.
    pub async fn embedder(&self, registry: &Registry, name: &str) -> Result<Arc<dyn Embedder>> {
        let spec = self.config.embedders.get(name).ok_or_else(|| {
            Error::config(
                "experts.*.embedder",
                format!("no embedder named `{name}` under [embedders]"),
            )
        })?;
        let ctx = BuildContext::new(&self.base);
        registry
            .build::<dyn Embedder>(spec, &ctx, &format!("embedders.{name}"))
            .await
    }

    /// Adds an expert over `store` when the config has none, so a config that only names a
    /// generator still retrieves from the CLI's store.
    pub fn ensure_expert(&mut self, store: &Path) -> Result<()> {
        if !self.config.experts.is_empty() {
            return Ok(());
        }
        if !EdgeStore::exists(store) {
            return Err(Error::NotFound {
                what: "store",
                name: format!(
                    "{} (run `ragweave ingest <path> --store {}` first)",
                    store.display(),
                    store.display()
                ),
            });
        }
        let absolute = std::path::absolute(store).map_err(|source| Error::Io {
            path: store.display().to_string(),
            source,
        })?;
        let mut params = serde_json::Map::new();
        params.insert("path".into(), absolute.display().to_string().into());
        self.config.experts.insert(
            "store".into(),
            ComponentSpec {
                kind: "qdrant_edge".into(),
                params,
            },
        );
        Ok(())
    }
}

/// Opens the store ingestion writes to: the config's `qdrant_edge` expert's, else `store`.
pub async fn open_for_ingest(
    loaded: &LoadedConfig,
    registry: &Registry,
    store: Option<&Path>,
    bm25_avg_len: Option<f32>,
) -> Result<(EdgeStore, Option<Arc<dyn Embedder>>)> {
    let (path, embedder) = match loaded.edge_expert()? {
        Some((_, expert)) => {
            let embedder = match &expert.embedder {
                Some(name) => Some(loaded.embedder(registry, name).await?),
                None => None,
            };
            (loaded.base.join(&expert.path), embedder)
        }
        None => (
            store.map(Path::to_path_buf).unwrap_or_else(default_store),
            None,
        ),
    };
    let dense = embedder.as_ref().map(|e| DenseSpec {
        model: e.model_id().to_string(),
        dimension: e.dimension(),
    });
    let store = EdgeStore::open(
        &path,
        EdgeStoreOptions {
            dense,
            bm25_avg_len,
        },
    )?;
    Ok((store, embedder))
}
