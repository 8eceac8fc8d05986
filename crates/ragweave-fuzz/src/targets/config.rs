//! Pipeline configs, parsed and then validated against every kind the SDK registers.

use ragweave_core::config::{PipelineConfig, Registry};

use super::{Target, seeds, tokens};
use crate::mutate::Mutator;

pub(crate) struct Config {
    json: bool,
    registry: Registry,
}

impl Config {
    pub(crate) fn toml() -> Self {
        Self {
            json: false,
            registry: ragweave::registry(),
        }
    }

    pub(crate) fn json() -> Self {
        Self {
            json: true,
            registry: ragweave::registry(),
        }
    }
}

impl Target for Config {
    fn name(&self) -> &'static str {
        if self.json {
            "config-json"
        } else {
            "config-toml"
        }
    }

    fn mutator(&self) -> Mutator {
        let mut configs = seeds::files("docs", ".toml", 8);
        configs.extend(seeds::files("experiments", ".toml", 40));
        configs.retain(|c| PipelineConfig::from_toml_str(&String::from_utf8_lossy(c)).is_ok());
        let (seeds, dictionary) = if self.json {
            let as_json = configs
                .iter()
                .filter_map(|c| {
                    toml::from_str::<serde_json::Value>(&String::from_utf8_lossy(c)).ok()
                })
                .map(|v| serde_json::to_vec_pretty(&v).expect("a value serializes"))
                .collect();
            let dictionary = tokens(&[
                "{",
                "}",
                "[",
                "]",
                "\"",
                ":",
                ",",
                "null",
                "true",
                "1e999",
                "-1",
                "\"kind\":",
                "\"store\"",
                "\"bm25\"",
                "\"experts\":",
                "\"fusion\":",
                "\"router\":",
                "\\u0000",
            ]);
            (as_json, dictionary)
        } else {
            let dictionary = tokens(&[
                "[",
                "]",
                "[[",
                "]]",
                "=",
                "\"",
                "'''",
                "\"\"\"",
                "\n",
                "#",
                "{",
                "}",
                ".",
                "kind = ",
                "\"store\"",
                "\"bm25\"",
                "[experts.x]",
                "[stores.s]",
                "[router]",
                "[reranker]",
                "[sampling]",
                "[timeouts]",
                "inf",
                "nan",
                "-0",
                "1979-05-27",
            ]);
            (configs, dictionary)
        };
        Mutator::new(seeds, dictionary, 16 << 10)
    }

    fn run(&mut self, input: &[u8]) -> Result<bool, String> {
        let text = String::from_utf8_lossy(input);
        let parsed = if self.json {
            PipelineConfig::from_json_str(&text)
        } else {
            PipelineConfig::from_toml_str(&text)
        };
        Ok(parsed.is_ok_and(|config| config.validate(&self.registry).is_ok()))
    }
}
