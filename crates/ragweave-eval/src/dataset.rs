//! BEIR datasets: `corpus.jsonl`, `queries.jsonl` and `qrels/<split>.tsv`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{EvalError, EvalResult};
use crate::qrels::Qrels;

/// A query to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalQuery {
    /// The query id (`_id`).
    pub id: String,
    /// The query text.
    pub text: String,
}

/// A BEIR dataset split: the judged queries and their judgements, checked against the corpus.
///
/// Judgements naming a document the corpus lacks are kept (they count as relevant documents
/// nobody can retrieve, as in BEIR and trec_eval) and counted in
/// [`Dataset::unknown_documents`]; judged queries missing from `queries.jsonl` are dropped
/// and counted. Both also appear in [`Dataset::warnings`].
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The directory name, e.g. `scifact`.
    pub name: String,
    /// The dataset directory.
    pub dir: PathBuf,
    /// The split evaluated (`test`, `dev`, ...), or `metadata` for judgements read from the
    /// queries' evidence.
    pub split: String,
    /// Judged queries, in `queries.jsonl` order.
    pub queries: Vec<EvalQuery>,
    /// Graded judgements of those queries.
    pub qrels: Qrels,
    /// Documents in the corpus.
    pub documents: usize,
    /// Judgements naming documents the corpus does not hold.
    pub unknown_documents: usize,
    /// Judged query ids with no query text.
    pub unknown_queries: usize,
    /// Everything odd the loader saw, one line each.
    pub warnings: Vec<String>,
}

/// The corpus file name; ingestion names documents `<path>/corpus.jsonl#<id>`.
pub const CORPUS_FILE: &str = "corpus.jsonl";

impl Dataset {
    /// Loads `dir` with the judgements of `qrels/<split>.tsv`.
    pub fn load(dir: impl AsRef<Path>, split: &str) -> EvalResult<Self> {
        let dir = dir.as_ref();
        let qrels_path = dir.join("qrels").join(format!("{split}.tsv"));
        let qrels = Qrels::read_tsv(&qrels_path)?;
        let queries = read_queries(&dir.join("queries.jsonl"))?;
        Self::assemble(dir, split, queries, qrels)
    }

    /// Loads `dir` with judgements taken from the queries' `metadata`, SciFact's evidence
    /// format (`{"<doc id>": [{"sentences": [..], "label": ..}]}`): every document with
    /// evidence is relevant with grade 1. Queries judged in `qrels/<exclude>.tsv` are left
    /// out, so training on the result never sees a test query.
    pub fn load_evidence(dir: impl AsRef<Path>, exclude: &str) -> EvalResult<Self> {
        let dir = dir.as_ref();
        let excluded = Qrels::read_tsv(&dir.join("qrels").join(format!("{exclude}.tsv")))?;
        let queries = read_queries(&dir.join("queries.jsonl"))?;
        let mut qrels = Qrels::default();
        for q in &queries {
            if excluded.get(&q.id).is_some() {
                continue;
            }
            if let Some(Value::Object(evidence)) = &q.metadata {
                for (doc, items) in evidence {
                    if items.as_array().is_some_and(|a| !a.is_empty()) {
                        qrels.insert(&q.id, doc, 1.0);
                    }
                }
            }
        }
        Self::assemble(dir, "metadata", queries, qrels)
    }

    fn assemble(dir: &Path, split: &str, queries: Vec<RawQuery>, qrels: Qrels) -> EvalResult<Self> {
        let corpus_ids = read_corpus_ids(&dir.join(CORPUS_FILE))?;
        let known: HashSet<&str> = queries.iter().map(|q| q.id.as_str()).collect();
        let mut warnings = Vec::new();
        let mut unknown_documents = 0;
        let mut examples = Vec::new();
        for (q, docs) in qrels.iter() {
            for doc in docs.keys() {
                if !corpus_ids.contains(doc) {
                    unknown_documents += 1;
                    if examples.len() < 5 {
                        examples.push(format!("{q}->{doc}"));
                    }
                }
            }
        }
        if unknown_documents > 0 {
            warnings.push(format!(
                "{unknown_documents} judgements name documents not in the corpus (kept: they \
                 count as relevant and unretrievable), e.g. {}",
                examples.join(", ")
            ));
        }
        let missing: Vec<&str> = qrels
            .iter()
            .map(|(q, _)| q.as_str())
            .filter(|q| !known.contains(q))
            .collect();
        if !missing.is_empty() {
            warnings.push(format!(
                "{} judged queries are not in queries.jsonl (dropped), e.g. {}",
                missing.len(),
                missing
                    .iter()
                    .take(5)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let unknown_queries = missing.len();
        let qrels = qrels.retain_queries(|q| known.contains(q));
        let without_relevant = qrels
            .iter()
            .filter(|(_, docs)| !docs.values().any(|g| *g >= 1.0))
            .count();
        if without_relevant > 0 {
            warnings.push(format!(
                "{without_relevant} judged queries have no relevant document (their scores are 0)"
            ));
        }
        let queries: Vec<EvalQuery> = queries
            .into_iter()
            .filter(|q| qrels.get(&q.id).is_some())
            .map(|q| EvalQuery {
                id: q.id,
                text: q.text,
            })
            .collect();
        if queries.is_empty() {
            return Err(EvalError::Empty {
                what: format!(
                    "no judged query of split `{split}` in {} has a text in queries.jsonl",
                    dir.display()
                ),
            });
        }
        Ok(Self {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| dir.display().to_string()),
            dir: dir.to_path_buf(),
            split: split.to_string(),
            queries,
            qrels,
            documents: corpus_ids.len(),
            unknown_documents,
            unknown_queries,
            warnings,
        })
    }

    /// Keeps the first `n` queries (and their judgements).
    pub fn truncate(&mut self, n: usize) {
        self.queries.truncate(n);
        let keep: HashSet<String> = self.queries.iter().map(|q| q.id.clone()).collect();
        self.qrels = std::mem::take(&mut self.qrels).retain_queries(|q| keep.contains(q));
    }

    /// The dataset's id of a retrieved document: ingestion names BEIR documents
    /// `file:///.../corpus.jsonl#<id>` (its file ids escape `#`, so the first one ends the
    /// path), other loaders use the bare id.
    pub fn document_id<'a>(&self, document_id: &'a str) -> &'a str {
        match document_id.split_once('#') {
            Some((file, id)) if file.ends_with(CORPUS_FILE) => id,
            _ => document_id,
        }
    }

    /// The judgements of one query, for fitting routers.
    pub fn relevant(&self, query: &str) -> HashMap<String, f32> {
        self.qrels
            .get(query)
            .map(|docs| docs.iter().map(|(d, g)| (d.clone(), *g)).collect())
            .unwrap_or_default()
    }
}

pub(crate) struct RawQuery {
    pub(crate) id: String,
    pub(crate) text: String,
    pub(crate) metadata: Option<Value>,
}

fn open_lines(what: &'static str, path: &Path) -> EvalResult<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(EvalError::MissingFile {
            what,
            path: path.to_path_buf(),
        }),
        Err(source) => Err(EvalError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Parses each non-blank line as a JSON object with an `_id` (string or number).
fn json_lines<'a>(
    path: &'a Path,
    text: &'a str,
) -> impl Iterator<Item = EvalResult<(usize, String, serde_json::Map<String, Value>)>> + 'a {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(move |(i, line)| {
            let bad = |reason: String| EvalError::Malformed {
                path: path.to_path_buf(),
                line: i + 1,
                reason,
            };
            let mut obj = match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(obj)) => obj,
                Ok(_) => return Err(bad("not a JSON object".into())),
                Err(e) => return Err(bad(format!("invalid JSON: {e}"))),
            };
            let id = match obj.remove("_id") {
                Some(Value::String(s)) if !s.is_empty() => s,
                Some(Value::Number(n)) => n.to_string(),
                Some(other) => return Err(bad(format!("`_id` is {other}, not an id"))),
                None => return Err(bad("no `_id`".into())),
            };
            Ok((i + 1, id, obj))
        })
}

fn read_corpus_ids(path: &Path) -> EvalResult<HashSet<String>> {
    let text = open_lines("corpus", path)?;
    let mut ids = HashSet::new();
    for item in json_lines(path, &text) {
        let (line, id, _) = item?;
        if !ids.insert(id.clone()) {
            return Err(EvalError::Malformed {
                path: path.to_path_buf(),
                line,
                reason: format!("duplicate document id `{id}`"),
            });
        }
    }
    if ids.is_empty() {
        return Err(EvalError::Empty {
            what: format!("{} holds no documents", path.display()),
        });
    }
    Ok(ids)
}

pub(crate) fn read_queries(path: &Path) -> EvalResult<Vec<RawQuery>> {
    let text = open_lines("queries", path)?;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut queries = Vec::new();
    for item in json_lines(path, &text) {
        let (line, id, mut obj) = item?;
        let text = match obj.remove("text") {
            Some(Value::String(s)) if !s.trim().is_empty() => s,
            Some(Value::String(_)) => {
                return Err(EvalError::Malformed {
                    path: path.to_path_buf(),
                    line,
                    reason: format!("query `{id}` has an empty `text`"),
                });
            }
            _ => {
                return Err(EvalError::Malformed {
                    path: path.to_path_buf(),
                    line,
                    reason: format!("query `{id}` has no string `text`"),
                });
            }
        };
        if let Some(first) = seen.insert(id.clone(), line) {
            return Err(EvalError::Malformed {
                path: path.to_path_buf(),
                line,
                reason: format!("duplicate query id `{id}` (first on line {first})"),
            });
        }
        queries.push(RawQuery {
            id,
            text,
            metadata: obj.remove("metadata"),
        });
    }
    if queries.is_empty() {
        return Err(EvalError::Empty {
            what: format!("{} holds no queries", path.display()),
        });
    }
    Ok(queries)
}
