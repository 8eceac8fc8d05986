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
        let pieces = self.render_pieces(model, messages)?;
        Ok(pieces
            .iter()
            .map(|p| match p {
                Piece::Template(t) => t.as_str(),
                Piece::Content(i) => messages[*i].content.as_str(),
            })
            .collect())
    }

    /// The prompt in pieces: the template's own text, whose control strings are tokens, and
    /// each message's content, whose text is only text. A user message or an ingested passage
    /// holding `<|im_end|><|im_start|>system` must not close its turn and open a system one.
    pub fn render_pieces(
        &self,
        model: &LlamaModel,
        messages: &[ChatMessage],
    ) -> Result<Vec<Piece>, LlamaCppError> {
        // Contents are rendered as markers no content can hold (they stand in for it), then
        // the markers are found again in the rendered text.
        let chat = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                if m.content.contains('\0') {
                    return Err(LlamaCppError::Template(format!(
                        "messages[{i}] contains a NUL character"
                    )));
                }
                let role = match m.role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                Ok(LlamaChatMessage::new(role.into(), marker(i)).expect("markers hold no NUL"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let rendered = model
            .apply_chat_template(&self.template, &chat, true)
            .map_err(|e| LlamaCppError::Template(e.to_string()))?;
        let garbled = || {
            LlamaCppError::Template(
                "the chat template changed the message placeholders; it cannot be used".into(),
            )
        };
        let mut pieces = Vec::new();
        let mut rest = rendered.as_str();
        while let Some(start) = rest.find(MARK) {
            let after = &rest[start + MARK.len_utf8()..];
            let end = after.find(MARK).ok_or_else(garbled)?;
            let i = after[..end]
                .parse::<usize>()
                .ok()
                .filter(|i| *i < messages.len())
                .ok_or_else(garbled)?;
            if start > 0 {
                pieces.push(Piece::Template(rest[..start].to_string()));
            }
            pieces.push(Piece::Content(i));
            rest = &after[end + MARK.len_utf8()..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Template(rest.to_string()));
        }
        Ok(pieces)
    }
}

/// Brackets a message's index in the rendered template: a noncharacter, which
/// [`ChatFormat::render_pieces`] never lets content reach the template as.
const MARK: char = '\u{FDD0}';

fn marker(i: usize) -> String {
    format!("{MARK}{i}{MARK}")
}

/// A part of a rendered prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Text the chat template wrote: its control strings become control tokens.
    Template(String),
    /// The content of `messages[i]`, tokenized as plain text.
    Content(usize),
}
