//! The prompt: the conversation through the model's chat template.

use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use ragweave_core::{ChatMessage, Role};

use crate::error::LlamaCppError;

/// Which template formats prompts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    /// The one configured (a llama.cpp template name such as `chatml` or `llama3`, or a Jinja
    /// template llama.cpp recognises).
    Configured(String),
    /// `tokenizer.chat_template` from the model's metadata.
    Model,
    /// ChatML, because the model has no template or llama.cpp does not recognise it.
    Fallback,
}

/// The chosen template and where it came from.
pub(crate) struct ChatFormat {
    template: LlamaChatTemplate,
    pub source: TemplateSource,
}

const FALLBACK: &str = "chatml";

impl ChatFormat {
    /// The configured template, else the model's if llama.cpp can apply it, else ChatML.
    pub fn choose(model: &LlamaModel, configured: Option<&str>) -> Result<Self, LlamaCppError> {
        let probe = [LlamaChatMessage::new("user".into(), "hi".into()).expect("no NUL")];
        if let Some(name) = configured {
            let template = LlamaChatTemplate::new(name)
                .map_err(|e| LlamaCppError::Template(format!("configured template: {e}")))?;
            model
                .apply_chat_template(&template, &probe, true)
                .map_err(|e| {
                    LlamaCppError::Template(format!(
                        "llama.cpp cannot apply the configured template `{name}` ({e})"
                    ))
                })?;
            return Ok(Self {
                template,
                source: TemplateSource::Configured(name.to_string()),
            });
        }
        if let Ok(template) = model.chat_template(None)
            && model.apply_chat_template(&template, &probe, true).is_ok()
        {
            return Ok(Self {
                template,
                source: TemplateSource::Model,
            });
        }
        Ok(Self {
            template: LlamaChatTemplate::new(FALLBACK).expect("no NUL"),
            source: TemplateSource::Fallback,
        })
    }

    /// The prompt for `messages`, ending where the assistant's reply starts.
    pub fn render(
        &self,
        model: &LlamaModel,
        messages: &[ChatMessage],
    ) -> Result<String, LlamaCppError> {
        let chat = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let role = match m.role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                LlamaChatMessage::new(role.into(), m.content.clone()).map_err(|_| {
                    LlamaCppError::Template(format!("messages[{i}] contains a NUL character"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        model
            .apply_chat_template(&self.template, &chat, true)
            .map_err(|e| LlamaCppError::Template(e.to_string()))
    }
}
