//! Which chat template formats prompts: mistral.rs renders Jinja templates itself; the
//! plugin only decides which one, falling back to ChatML like the llama.cpp plugin does.

use std::path::{Path, PathBuf};

use crate::error::MistralRsError;
use crate::source::Source;

/// ChatML, for models that carry no template (and the `chatml` name).
pub const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// Where the chat template came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    /// The configured one (`chatml`, Jinja text, or a file).
    Configured(String),
    /// The model's own (GGUF metadata, `tokenizer_config.json` or `chat_template.jinja`).
    Model,
    /// ChatML, because the model has none.
    Fallback,
}

/// How mistral.rs gets the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Template {
    /// The model's; nothing to pass.
    Model,
    /// Jinja text (`with_chat_template` takes it literally).
    Literal(String),
    /// A `.jinja` file (`with_jinja_explicit`).
    JinjaFile(PathBuf),
    /// A `tokenizer_config.json`-style `.json` file (`with_chat_template`).
    JsonFile(PathBuf),
}

/// The configured template, else the model's, else ChatML.
pub(crate) fn choose(
    configured: Option<&str>,
    source: &Source,
) -> Result<(Template, TemplateSource), MistralRsError> {
    if let Some(c) = configured {
        let template = configured_template(c)?;
        return Ok((template, TemplateSource::Configured(c.to_string())));
    }
    if model_has_template(source) {
        Ok((Template::Model, TemplateSource::Model))
    } else {
        Ok((
            Template::Literal(CHATML.to_string()),
            TemplateSource::Fallback,
        ))
    }
}

fn configured_template(c: &str) -> Result<Template, MistralRsError> {
    if c.eq_ignore_ascii_case("chatml") {
        return Ok(Template::Literal(CHATML.to_string()));
    }
    if c.contains("{%") || c.contains("{{") {
        return Ok(Template::Literal(c.to_string()));
    }
    let path = Path::new(c);
    let bad = |reason: &str| MistralRsError::Option {
        option: "chat_template",
        reason: format!("`{c}`: {reason}"),
    };
    if !path.is_file() {
        return Err(bad(
            "neither `chatml`, Jinja text, nor an existing .jinja or .json file",
        ));
    }
    match path.extension().and_then(|x| x.to_str()) {
        Some("jinja") => Ok(Template::JinjaFile(path.to_path_buf())),
        Some("json") => Ok(Template::JsonFile(path.to_path_buf())),
        _ => Err(bad("a template file must end in .jinja or .json")),
    }
}

/// Hub models are trusted to carry one (mistral.rs reads it after downloading).
fn model_has_template(source: &Source) -> bool {
    match source {
        Source::GgufFile { chat_template, .. } => *chat_template,
        Source::HfDir { dir, .. } => {
            dir.join("chat_template.jinja").is_file()
                || std::fs::read_to_string(dir.join("tokenizer_config.json"))
                    .ok()
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .is_some_and(|j| j.get("chat_template").is_some_and(|t| !t.is_null()))
        }
        Source::HubGguf { .. } | Source::HubRepo { .. } => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_names_text_and_files() {
        assert_eq!(
            configured_template("ChatML").unwrap(),
            Template::Literal(CHATML.into())
        );
        assert_eq!(
            configured_template("{{ messages[0]['content'] }}").unwrap(),
            Template::Literal("{{ messages[0]['content'] }}".into())
        );
        let e = configured_template("llama3").unwrap_err().to_string();
        assert!(e.contains("chat_template") && e.contains("llama3"), "{e}");
    }
}
