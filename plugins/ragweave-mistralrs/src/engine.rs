//! Building mistral.rs models from a located source, and sending them requests.

use std::path::Path;

use mistralrs::{
    EmbeddingModelBuilder, GgufModelBuilder, IsqType, Model, ModelDType, Request, TextModelBuilder,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::Sender;

use crate::error::{MistralRsError, chain};
use crate::source::Source;
use crate::template::Template;

/// Where a model's weights come from and how they run: what the generator and the embedder
/// share.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EngineOptions {
    /// Hub revision for hub models.
    pub revision: Option<String>,
    /// In-situ quantisation of Hugging Face-format weights at load (`q4k`, `q8_0`, `hqq4`,
    /// `4`, `8`, ... as mistral.rs names them); GGUF files are quantised already.
    pub isq: Option<String>,
    /// `auto`, `f32`, `f16` or `bf16` for Hugging Face-format weights.
    pub dtype: Dtype,
    /// Run on the CPU even in a `cuda` build.
    pub cpu: bool,
}

/// Precision mistral.rs runs Hugging Face-format weights in (GGUF files keep theirs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dtype {
    /// mistral.rs's choice for the device.
    #[default]
    Auto,
    /// 32-bit floats.
    F32,
    /// 16-bit floats.
    F16,
    /// bfloat16.
    Bf16,
}

impl From<Dtype> for ModelDType {
    fn from(d: Dtype) -> Self {
        match d {
            Dtype::Auto => ModelDType::Auto,
            Dtype::F32 => ModelDType::F32,
            Dtype::F16 => ModelDType::F16,
            Dtype::Bf16 => ModelDType::BF16,
        }
    }
}

/// Settings every model build shares.
pub(crate) struct BuildSettings<'a> {
    pub revision: Option<&'a str>,
    pub isq: Option<IsqType>,
    pub dtype: Dtype,
    pub max_sequences: usize,
    pub cpu: bool,
}

impl BuildSettings<'_> {
    /// CPU unless this is a `cuda` build and the CPU was not asked for.
    fn force_cpu(&self) -> bool {
        self.cpu || !cfg!(feature = "cuda")
    }
}

/// Parses an ISQ type name (`q4k`, `q8_0`, `hqq4`, `4`, `8`, ...) as mistral.rs does.
pub(crate) fn parse_isq(name: &str) -> Result<IsqType, MistralRsError> {
    mistralrs::parse_isq_value(name, None).map_err(|reason| MistralRsError::Option {
        option: "isq",
        reason,
    })
}

/// Loads a chat model.
pub(crate) async fn build_text(
    source: &Source,
    settings: &BuildSettings<'_>,
    template: &Template,
    tokenizer: Option<&Path>,
) -> Result<Model, MistralRsError> {
    // mistral.rs reads templates from files (and panics on text): a literal is written to a
    // file that lives until the model is built.
    let literal_file = match template {
        Template::Literal(text) => Some(write_template(text)?),
        _ => None,
    };
    let template = match (template, &literal_file) {
        (_, Some(file)) => FileTemplate::Jinja(file.path()),
        (Template::JinjaFile(p), None) => FileTemplate::Jinja(p),
        (Template::JsonFile(p), None) => FileTemplate::Json(p),
        (Template::Model | Template::Literal(_), None) => FileTemplate::Model,
    };
    let template = &template;
    let built = match source {
        Source::GgufFile { path, .. } => {
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
            let dir = dir.unwrap_or(Path::new(".")).display().to_string();
            let file = path.file_name().unwrap_or_default().to_string_lossy();
            gguf(&dir, &file, settings, template, tokenizer)
                .build()
                .await
        }
        Source::HubGguf { repo, file } => {
            gguf(repo, file, settings, template, tokenizer)
                .build()
                .await
        }
        Source::HfDir { dir, .. } => {
            text(&dir.display().to_string(), settings, template, tokenizer)
                .build()
                .await
        }
        Source::HubRepo { repo } => text(repo, settings, template, tokenizer).build().await,
    };
    built.map_err(|e| load_error(source, &e))
}

/// A chat template as mistral.rs takes it.
enum FileTemplate<'a> {
    Model,
    Jinja(&'a Path),
    Json(&'a Path),
}

fn write_template(text: &str) -> Result<tempfile::NamedTempFile, MistralRsError> {
    let mut file = tempfile::Builder::new()
        .suffix(".jinja")
        .tempfile()
        .map_err(|e| MistralRsError::Engine(format!("cannot write the chat template: {e}")))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .map_err(|e| MistralRsError::Engine(format!("cannot write the chat template: {e}")))?;
    Ok(file)
}

/// The options GGUF and Hugging Face text builders share (they are distinct types with the
/// same methods).
macro_rules! common_options {
    ($builder:expr, $s:expr, $template:expr, $tokenizer:expr) => {{
        let mut b = $builder.with_max_num_seqs($s.max_sequences);
        if $s.force_cpu() {
            b = b.with_force_cpu();
        }
        if let Some(rev) = $s.revision {
            b = b.with_hf_revision(rev);
        }
        if let Some(t) = $tokenizer {
            b = b.with_tokenizer_json(t.display().to_string());
        }
        match $template {
            FileTemplate::Model => b,
            FileTemplate::Json(p) => b.with_chat_template(p.display()),
            FileTemplate::Jinja(p) => b.with_jinja_explicit(p.display().to_string()),
        }
    }};
}

fn gguf(
    id: &str,
    file: &str,
    s: &BuildSettings<'_>,
    template: &FileTemplate<'_>,
    tokenizer: Option<&Path>,
) -> GgufModelBuilder {
    common_options!(
        GgufModelBuilder::new(id, vec![file]),
        s,
        template,
        tokenizer
    )
}

fn text(
    id: &str,
    s: &BuildSettings<'_>,
    template: &FileTemplate<'_>,
    tokenizer: Option<&Path>,
) -> TextModelBuilder {
    let mut b = TextModelBuilder::new(id).with_dtype(s.dtype.into());
    if let Some(isq) = s.isq {
        b = b.with_isq(isq);
    }
    common_options!(b, s, template, tokenizer)
}

/// Loads an embedding model (Hugging Face format only).
pub(crate) async fn build_embedding(
    source: &Source,
    settings: &BuildSettings<'_>,
) -> Result<Model, MistralRsError> {
    let id = match source {
        Source::HfDir { dir, .. } => dir.display().to_string(),
        Source::HubRepo { repo } => repo.clone(),
        Source::GgufFile { .. } | Source::HubGguf { .. } => {
            return Err(MistralRsError::WrongKind {
                model: source.name(),
                reason: "mistral.rs embeds with Hugging Face-format models (config.json, safetensors, modules.json), not GGUF files".into(),
            });
        }
    };
    let mut b = EmbeddingModelBuilder::new(id)
        .with_max_num_seqs(settings.max_sequences)
        .with_dtype(settings.dtype.into());
    if settings.force_cpu() {
        b = b.with_force_cpu();
    }
    if let Some(rev) = settings.revision {
        b = b.with_hf_revision(rev);
    }
    if let Some(isq) = settings.isq {
        b = b.with_isq(isq);
    }
    b.build().await.map_err(|e| load_error(source, &e))
}

fn load_error(source: &Source, e: &anyhow::Error) -> MistralRsError {
    if source.is_hub() {
        MistralRsError::Hub {
            spec: source.name(),
            reason: chain(e),
        }
    } else {
        MistralRsError::LoadFailed {
            model: source.name(),
            reason: chain(e),
        }
    }
}

/// The model's request channel.
pub(crate) fn sender(model: &Model) -> Result<Sender<Request>, MistralRsError> {
    model
        .inner()
        .get_sender(None)
        .map_err(|e| MistralRsError::Engine(e.to_string()))
}

/// Sends one request to the engine.
pub(crate) async fn send(sender: &Sender<Request>, request: Request) -> Result<(), MistralRsError> {
    sender
        .send(request)
        .await
        .map_err(|_| MistralRsError::EngineStopped)
}
