//! The config reference in Markdown, rendered from the JSON Schema, so the documentation
//! lists exactly the kinds and fields a build accepts.

use std::collections::BTreeSet;
use std::fmt::Write;

use serde_json::{Map, Value};

use super::category::Registry;

impl Registry {
    /// The config reference as Markdown: the top-level fields, every registered kind of every
    /// component with its fields, types and defaults, and the shared types. Rendered from
    /// [`Registry::schema`].
    ///
    /// ```
    /// let reference = ragweave_core::config::Registry::with_builtins().reference_markdown();
    /// assert!(reference.contains("`kind = \"long_context_reorder\"`"));
    /// ```
    pub fn reference_markdown(&self) -> String {
        render(&self.schema())
    }
}

struct Renderer<'a> {
    defs: &'a Map<String, Value>,
    out: String,
    /// Object types a field refers to, in order of first mention; rendered at the end.
    pending: Vec<String>,
    seen: BTreeSet<String>,
}

fn render(schema: &Value) -> String {
    let empty = Map::new();
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut r = Renderer {
        defs,
        out: String::new(),
        pending: Vec::new(),
        seen: BTreeSet::new(),
    };
    r.out.push_str(
        "# Config reference\n\n\
         <!-- Generated from the JSON Schema; do not edit. `ragweave schema --markdown` prints \
         the reference of a build's own kinds. -->\n\n\
         A pipeline config is a TOML (or JSON) file; `ragweave validate FILE` checks one and \
         `ragweave schema` prints its JSON Schema, which editors use for completion. Paths in a \
         config are relative to the file. Components are chosen by `kind`; the kinds below are \
         those of a build with every plugin.\n\n## Top level\n\n",
    );
    let props = schema.get("properties").and_then(Value::as_object);
    let mut sections = Vec::new();
    let mut plain = Map::new();
    for (name, prop) in props.into_iter().flatten() {
        match r.spec_of(prop) {
            Some((spec, shape)) => sections.push((name.clone(), spec, shape)),
            None => {
                plain.insert(name.clone(), prop.clone());
            }
        }
    }
    r.fields(&plain, &[]);
    for (name, spec, shape) in sections {
        r.component_section(&name, &spec, shape);
    }
    r.types();
    r.out
}

#[derive(Clone, Copy)]
enum Shape {
    Named,
    List,
    Optional,
}

impl Renderer<'_> {
    /// The `...Spec` definition a top-level field holds components of, and how.
    fn spec_of(&self, prop: &Value) -> Option<(String, Shape)> {
        let spec = |v: &Value| {
            ref_name(v)
                .filter(|n| n.ends_with("Spec"))
                .map(str::to_string)
        };
        if let Some(inner) = prop.get("additionalProperties") {
            return spec(inner).map(|s| (s, Shape::Named));
        }
        if let Some(items) = prop.get("items") {
            return spec(items).map(|s| (s, Shape::List));
        }
        let options = prop.get("anyOf").and_then(Value::as_array)?;
        options.iter().find_map(spec).map(|s| (s, Shape::Optional))
    }

    fn component_section(&mut self, field: &str, spec: &str, shape: Shape) {
        let how = match shape {
            Shape::Named => format!(
                "`[{field}.<name>]`: any number, each under a name other sections refer to."
            ),
            Shape::List => format!("`[[{field}]]`: a list, applied in order."),
            Shape::Optional => format!("`[{field}]`: optional, at most one."),
        };
        let _ = write!(self.out, "\n## `{field}`\n\n{how}\n");
        let kinds = self.defs[spec]
            .get("oneOf")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for kind in kinds {
            let Some(name) = kind
                .pointer("/properties/kind/const")
                .and_then(Value::as_str)
            else {
                continue;
            };
            let _ = write!(self.out, "\n### `kind = \"{name}\"`\n\n");
            if let Some(text) = kind.get("description").and_then(Value::as_str) {
                let _ = write!(self.out, "{}\n\n", prose(text));
            }
            let required = strings(kind.get("required"));
            let mut props = kind
                .get("properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            props.remove("kind");
            if props.is_empty() {
                self.out.push_str("No other fields.\n");
            } else {
                self.fields(&props, &required);
            }
        }
    }

    fn fields(&mut self, props: &Map<String, Value>, required: &[String]) {
        self.out
            .push_str("| field | type | default | description |\n|---|---|---|---|\n");
        for (name, prop) in props {
            let ty = self.type_of(prop);
            let default = if required.contains(name) {
                "required".to_string()
            } else {
                prop.get("default").map_or(String::new(), show_default)
            };
            let text = prop
                .get("description")
                .and_then(Value::as_str)
                .map(|t| cell(&prose(t)))
                .unwrap_or_default();
            let _ = writeln!(self.out, "| `{name}` | {ty} | {default} | {text} |");
        }
    }

    fn type_of(&mut self, v: &Value) -> String {
        if let Some(name) = ref_name(v) {
            let def = self.defs.get(name);
            if let Some(values) = def.and_then(constants) {
                return values;
            }
            return match def {
                Some(_) => {
                    if self.seen.insert(name.to_string()) {
                        self.pending.push(name.to_string());
                    }
                    format!("[{name}](#{})", name.to_lowercase())
                }
                None => name.to_string(),
            };
        }
        if let Some(options) = v.get("anyOf").and_then(Value::as_array) {
            let shown: Vec<String> = options
                .iter()
                .filter(|o| o.get("type").and_then(Value::as_str) != Some("null"))
                .map(|o| self.type_of(o))
                .collect();
            return shown.join(" or ");
        }
        if let Some(values) = constants(v) {
            return values;
        }
        let types: Vec<&str> = match v.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let shown: Vec<String> = types
            .into_iter()
            .filter(|t| *t != "null")
            .map(|t| match t {
                "array" => match v.get("items") {
                    Some(items) => format!("list of {}", self.type_of(items)),
                    None => "list".into(),
                },
                "object" => match v.get("additionalProperties") {
                    Some(inner) if inner.is_object() => format!("table of {}", self.type_of(inner)),
                    _ => "table".into(),
                },
                other => other.to_string(),
            })
            .collect();
        if shown.is_empty() {
            "any".into()
        } else {
            shown.join(" or ")
        }
    }

    /// The object types fields referred to, each with its fields or variants.
    fn types(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.out.push_str("\n## Types\n");
        let mut next = 0;
        while next < self.pending.len() {
            let name = self.pending[next].clone();
            next += 1;
            let def = self.defs[&name].clone();
            let _ = write!(self.out, "\n### {name}\n\n");
            if let Some(text) = def.get("description").and_then(Value::as_str) {
                let _ = write!(self.out, "{}\n\n", prose(text));
            }
            if let Some(props) = def.get("properties").and_then(Value::as_object) {
                self.fields(props, &strings(def.get("required")));
            } else if let Some(variants) = def.get("oneOf").and_then(Value::as_array) {
                for variant in variants {
                    let fields: Vec<String> = variant
                        .get("properties")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                        .map(|(field, v)| match v.get("const") {
                            Some(c) => format!("`{field} = {c}`"),
                            None => format!("`{field}`: {}", self.type_of(v)),
                        })
                        .collect();
                    let text = variant
                        .get("description")
                        .and_then(Value::as_str)
                        .map(prose)
                        .unwrap_or_default();
                    let _ = writeln!(self.out, "- {}: {text}", fields.join(", "));
                }
            }
        }
    }
}

fn ref_name(v: &Value) -> Option<&str> {
    v.get("$ref")?.as_str()?.strip_prefix("#/$defs/")
}

/// `"a" | "b"` for a schema that is one of some constants.
fn constants(v: &Value) -> Option<String> {
    let values: Vec<&Value> = match (v.get("oneOf"), v.get("enum"), v.get("const")) {
        (Some(Value::Array(options)), _, _) => options
            .iter()
            .map(|o| o.get("const"))
            .collect::<Option<_>>()?,
        (_, Some(Value::Array(values)), _) => values.iter().collect(),
        (_, _, Some(c)) => vec![c],
        _ => return None,
    };
    let shown: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
    Some(shown.join(" \\| "))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

fn show_default(v: &Value) -> String {
    let text = match v {
        Value::Null => return "none".into(),
        Value::Object(m) if m.is_empty() => return "empty".into(),
        Value::Array(a) if a.is_empty() => return "empty".into(),
        // Config floats are f32: print 0.7, not the f64 nearest to it.
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(x) if f64::from(x as f32) == x => (x as f32).to_string(),
            _ => n.to_string(),
        },
        other => other.to_string(),
    };
    // Long defaults (the prompt's texts) are in the type's own table.
    if text.chars().count() > 40 {
        return "see below".into();
    }
    format!("`{}`", text.replace('|', "\\|"))
}

/// Doc-comment text as Markdown outside rustdoc: intra-doc links become code.
fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("[`") {
        let after = &rest[start + 1..];
        match after.find("`]") {
            // A link with a target, `[`x`](url)`, stays a link.
            Some(end) if !after[end + 2..].starts_with('(') => {
                out.push_str(&rest[..start]);
                out.push_str(&after[..end + 1]);
                rest = &after[end + 2..];
            }
            _ => {
                out.push_str(&rest[..start + 2]);
                rest = &rest[start + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text fit for one table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intra_doc_links_become_code() {
        assert_eq!(
            prose("see [`Bm25Index`] and [`x`](u)"),
            "see `Bm25Index` and [`x`](u)"
        );
    }

    #[test]
    fn every_builtin_kind_and_field_is_listed() {
        let reference = Registry::with_builtins().reference_markdown();
        for kind in [
            "hashing",
            "in_memory",
            "bm25",
            "pilot",
            "think",
            "embed",
            "window",
        ] {
            assert!(
                reference.contains(&format!("### `kind = \"{kind}\"`")),
                "{kind}"
            );
        }
        assert!(
            reference.contains("| `corpus` | string | required |"),
            "{reference}"
        );
        assert!(reference.contains("## `experts`"));
        assert!(
            reference.contains("### SamplingParams"),
            "a referred type gets a section"
        );
        assert!(
            reference.contains("| `temperature` | number | `0.7` |"),
            "{reference}"
        );
    }
}
