//! [`MistralRsEmbedder`]: text embeddings from mistral.rs's embedding models.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use mistralrs::{Constraint, Model, NormalRequest, Request, RequestMessage, Response};
use ragweave_core::{EmbedInput, Embedder, Error, Result};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::engine::{self, BuildSettings, EngineOptions};
use crate::error::MistralRsError;
use crate::guard::guard;
use crate::prompts::Prompts;
use crate::source::{self, Source};

/// Model classes mistral.rs 0.8 embeds with (`architectures[0]` of `config.json`).
const EMBEDDING_ARCHITECTURES: &[&str] = &["Qwen3ForCausalLM", "Gemma3TextModel"];

/// How to load a [`MistralRsEmbedder`]: also the fields of the `mistralrs_embedder` kind
/// beside `model`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MistralRsEmbedderOptions {
    /// Where the weights come from and how they run.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub engine: EngineOptions,
    /// Text before each query; default: the model's sentence-transformers `query` prompt.
    pub query_prefix: Option<String>,
    /// Text before each document; default: the model's `document` prompt.
    pub document_prefix: Option<String>,
    /// Texts mistral.rs's scheduler embeds together; default 32.
    pub parallel: Option<usize>,
    /// The model id stores record; default: the directory name or hub id.
    pub model_id: Option<String>,
}

/// An embedding model on mistral.rs (EmbeddingGemma, Qwen3-Embedding) in Hugging Face
/// format, from a directory or the hub. Its sentence-transformers modules decide pooling and
/// normalisation; queries and documents get the model's prompts (or the configured
/// prefixes), and an [`EmbedInput::instruction`] is worded the way the model family expects.
/// Texts longer than the model's context are cut at the end, as sentence-transformers does.
///
/// ```no_run
/// use ragweave_core::{EmbedInput, Embedder};
/// use ragweave_mistralrs::{MistralRsEmbedder, MistralRsEmbedderOptions};
/// # async fn run() -> ragweave_core::Result<()> {
/// let e = MistralRsEmbedder::load("Qwen/Qwen3-Embedding-0.6B", MistralRsEmbedderOptions::default()).await?;
/// let v = e.embed_one("what do rivers carry?", EmbedInput::QUERY).await?;
/// assert_eq!(v.len(), e.dimension());
/// # Ok(()) }
/// ```
pub struct MistralRsEmbedder {
    model: Model,
    model_id: String,
    dimension: usize,
    max_tokens: Option<usize>,
    prompts: Prompts,
}

impl MistralRsEmbedder {
    /// Loads an embedding model from a Hugging Face-format directory or hub repository.
    pub async fn load(
        spec: &str,
        options: MistralRsEmbedderOptions,
    ) -> std::result::Result<Self, MistralRsError> {
        if options.parallel == Some(0) {
            return Err(MistralRsError::Option {
                option: "parallel",
                reason: "must be at least 1".into(),
            });
        }
        let source = source::locate(spec)?;
        let dir = match &source {
            Source::HfDir { dir, architecture } => {
                check_local(dir, architecture, &source)?;
                Some(dir.clone())
            }
            Source::HubRepo { repo } => hub_dir(repo, options.engine.revision.as_deref()),
            Source::GgufFile { .. } | Source::HubGguf { .. } => None,
        };
        let isq = options
            .engine
            .isq
            .as_deref()
            .map(engine::parse_isq)
            .transpose()?;
        let settings = BuildSettings {
            revision: options.engine.revision.as_deref(),
            isq,
            dtype: options.engine.dtype,
            max_sequences: options.parallel.unwrap_or(32),
            cpu: options.engine.cpu,
        };
        let model = guard(
            "loading the embedding model",
            engine::build_embedding(&source, &settings),
        )
        .await?;
        let mut prompts = dir.as_deref().map(Prompts::from_dir).unwrap_or_default();
        if let Some(q) = options.query_prefix {
            prompts.query = q;
        }
        if let Some(d) = options.document_prefix {
            prompts.document = d;
        }
        let model_id = options.model_id.unwrap_or_else(|| default_id(&source));
        let max_tokens = model.max_sequence_length().ok().flatten();
        let mut embedder = Self {
            model,
            model_id,
            dimension: 0,
            max_tokens,
            prompts,
        };
        // The dimension is whatever the modules produce (a Dense layer may change it).
        let probe = embedder.embed_text("dimension probe".to_string()).await?;
        embedder.dimension = probe.len();
        Ok(embedder)
    }

    /// The text put before each query.
    pub fn query_prefix(&self) -> &str {
        &self.prompts.query
    }

    /// The text put before each document.
    pub fn document_prefix(&self) -> &str {
        &self.prompts.document
    }

    async fn embed_text(&self, text: String) -> std::result::Result<Vec<f32>, MistralRsError> {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let request = NormalRequest {
            messages: RequestMessage::Embedding { prompt: text },
            sampling_params: mistralrs::SamplingParams::deterministic(),
            response: tx,
            return_logprobs: false,
            is_streaming: false,
            id: 0,
            constraint: Constraint::None,
            suffix: None,
            tools: None,
            tool_choice: None,
            logits_processors: None,
            return_raw_logits: false,
            web_search_options: None,
            model_id: None,
            truncate_sequence: true,
        };
        let sent = async {
            let sender = engine::sender(&self.model)?;
            engine::send(&sender, Request::Normal(Box::new(request))).await
        };
        guard("sending an embedding request", sent).await?;
        match rx.recv().await {
            Some(Response::Embeddings { embeddings, .. }) => Ok(embeddings),
            Some(Response::ValidationError(e)) => Err(MistralRsError::Rejected(e.to_string())),
            Some(Response::InternalError(e)) => Err(MistralRsError::Engine(e.to_string())),
            Some(_) => Err(MistralRsError::Engine(
                "unexpected response to an embedding request".into(),
            )),
            None => Err(MistralRsError::EngineStopped),
        }
    }
}

/// Checks what mistral.rs would otherwise reject late or panic on: the model class, and the
/// sentence-transformers modules (mistral.rs implements last-token and mean pooling only).
fn check_local(
    dir: &Path,
    architecture: &str,
    source: &Source,
) -> std::result::Result<(), MistralRsError> {
    if !EMBEDDING_ARCHITECTURES.contains(&architecture) {
        return Err(MistralRsError::UnsupportedArchitecture {
            model: source.name(),
            architecture: architecture.to_string(),
            loader: "embedding models",
            supported: EMBEDDING_ARCHITECTURES.join(", "),
        });
    }
    let wrong = |reason: String| MistralRsError::WrongKind {
        model: source.name(),
        reason,
    };
    let read = |path: PathBuf| -> std::result::Result<Value, MistralRsError> {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| wrong(format!("cannot read {}: {e}", path.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| wrong(format!("{}: invalid JSON: {e}", path.display())))
    };
    let modules_path = dir.join("modules.json");
    if !modules_path.is_file() {
        return Err(wrong(
            "no modules.json: mistral.rs embeds with sentence-transformers models (Transformer, Pooling, Normalize modules)".into(),
        ));
    }
    let modules = read(modules_path)?;
    for module in modules.as_array().into_iter().flatten() {
        let ty = module.get("type").and_then(Value::as_str).unwrap_or("");
        if !ty.ends_with("Pooling") {
            continue;
        }
        let path = module.get("path").and_then(Value::as_str).unwrap_or("");
        let pooling = read(dir.join(path).join("config.json"))?;
        let on = |key: &str| pooling.get(key).and_then(Value::as_bool).unwrap_or(false);
        let unsupported: Vec<&str> = [
            "pooling_mode_cls_token",
            "pooling_mode_max_tokens",
            "pooling_mode_mean_sqrt_len_tokens",
            "pooling_mode_weightedmean_tokens",
        ]
        .into_iter()
        .filter(|k| on(k))
        .collect();
        if !unsupported.is_empty() {
            return Err(wrong(format!(
                "{path}/config.json asks for {}; mistral.rs pools by last token or mean only",
                unsupported.join(", ")
            )));
        }
        if !on("include_prompt") {
            return Err(wrong(format!(
                "{path}/config.json sets include_prompt = false, which mistral.rs does not support"
            )));
        }
    }
    Ok(())
}

/// The snapshot directory holding a hub model's sentence-transformers config, fetched ahead
/// of mistral.rs (which does not read the prompts); `None` when it cannot be had.
fn hub_dir(repo: &str, revision: Option<&str>) -> Option<PathBuf> {
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(false)
        .build()
        .ok()?;
    let repo = match revision {
        Some(r) => hf_hub::Repo::with_revision(repo.into(), hf_hub::RepoType::Model, r.into()),
        None => hf_hub::Repo::model(repo.into()),
    };
    let repo = api.repo(repo);
    let config = repo.get("config.json").ok()?;
    let _prompts = repo.get("config_sentence_transformers.json");
    config.parent().map(Path::to_path_buf)
}

fn default_id(source: &Source) -> String {
    match source {
        Source::HfDir { dir, .. } => dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| source.name()),
        _ => source.name(),
    }
}

#[async_trait]
impl Embedder for MistralRsEmbedder {
    fn name(&self) -> &str {
        "mistralrs"
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn max_input_tokens(&self) -> Option<usize> {
        self.max_tokens
    }

    async fn embed(&self, texts: &[String], input: EmbedInput<'_>) -> Result<Vec<Vec<f32>>> {
        if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
            return Err(Error::invalid(format!("texts[{i}]"), "is blank"));
        }
        let prefix = self.prompts.prefix(&input);
        // One request per text: mistral.rs's scheduler batches those of equal length.
        let requests = texts
            .iter()
            .map(|t| self.embed_text(format!("{prefix}{t}")));
        let vectors = futures::future::join_all(requests).await;
        vectors
            .into_iter()
            .map(|v| v.map_err(Error::from))
            .collect()
    }
}

impl std::fmt::Debug for MistralRsEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MistralRsEmbedder")
            .field("model_id", &self.model_id)
            .field("dimension", &self.dimension)
            .finish()
    }
}
