//! Relevance judgements (qrels) and runs, in BEIR's TSV and trec_eval's formats.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use crate::error::{EvalError, EvalResult};

/// Graded judgements: query id → document id → grade (≥ 1 is relevant, as in trec_eval).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Qrels {
    by_query: BTreeMap<String, HashMap<String, f32>>,
}

impl Qrels {
    /// Reads BEIR's `query-id<TAB>corpus-id<TAB>score` (header optional) or trec_eval's
    /// `query-id 0 corpus-id grade` lines. Grades are integers.
    pub fn read_tsv(path: &Path) -> EvalResult<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(EvalError::MissingFile {
                    what: "qrels",
                    path: path.to_path_buf(),
                });
            }
            Err(source) => {
                return Err(EvalError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let mut qrels = Self::default();
        for (i, line) in text.lines().enumerate() {
            let bad = |reason: String| EvalError::Malformed {
                path: path.to_path_buf(),
                line: i + 1,
                reason,
            };
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (q, d, grade) = match fields.as_slice() {
                [] => continue,
                ["query-id", "corpus-id", "score"] if i == 0 => continue,
                [q, d, g] | [q, _, d, g] => (*q, *d, *g),
                _ => {
                    return Err(bad(format!(
                        "expected `query-id corpus-id score` (or trec's 4 columns), got {} fields",
                        fields.len()
                    )));
                }
            };
            let grade: i32 = grade
                .parse()
                .map_err(|_| bad(format!("grade `{grade}` is not an integer")))?;
            if let Some(before) = qrels.insert(q, d, grade as f32) {
                return Err(bad(format!(
                    "`{q}` judges `{d}` twice ({before} and {grade})"
                )));
            }
        }
        if qrels.by_query.is_empty() {
            return Err(EvalError::Empty {
                what: format!("{} holds no judgements", path.display()),
            });
        }
        Ok(qrels)
    }

    /// Adds a judgement; returns the grade it replaced.
    pub fn insert(&mut self, query: &str, document: &str, grade: f32) -> Option<f32> {
        self.by_query
            .entry(query.to_string())
            .or_default()
            .insert(document.to_string(), grade)
    }

    /// The judgements of `query`.
    pub fn get(&self, query: &str) -> Option<&HashMap<String, f32>> {
        self.by_query.get(query)
    }

    /// Queries and their judgements, by query id.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &HashMap<String, f32>)> {
        self.by_query.iter()
    }

    /// Judged queries.
    pub fn len(&self) -> usize {
        self.by_query.len()
    }

    /// Whether nothing is judged.
    pub fn is_empty(&self) -> bool {
        self.by_query.is_empty()
    }

    /// Keeps the queries `keep` accepts.
    pub fn retain_queries(mut self, mut keep: impl FnMut(&str) -> bool) -> Self {
        self.by_query.retain(|q, _| keep(q));
        self
    }

    /// trec_eval's qrels format, `query 0 document grade`.
    pub fn to_trec(&self) -> String {
        let mut out = String::new();
        for (q, docs) in &self.by_query {
            let mut docs: Vec<_> = docs.iter().collect();
            docs.sort_by(|a, b| a.0.cmp(b.0));
            for (d, g) in docs {
                writeln!(out, "{q} 0 {d} {g}").expect("write to string");
            }
        }
        out
    }
}

/// Retrieved documents with scores: query id → document id → score.
///
/// Ranked lists become scores `n, n-1, ..., 1` ([`Run::insert_ranking`]), so trec_eval's
/// order (score descending, then document id descending) is exactly the pipeline's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    by_query: BTreeMap<String, HashMap<String, f64>>,
}

impl Run {
    /// Records a ranked list, best first; a repeated document keeps its best rank.
    pub fn insert_ranking<'a>(&mut self, query: &str, ranked: impl IntoIterator<Item = &'a str>) {
        let mut unique: Vec<&str> = Vec::new();
        for d in ranked {
            if !unique.contains(&d) {
                unique.push(d);
            }
        }
        let n = unique.len();
        let scores = self.by_query.entry(query.to_string()).or_default();
        scores.clear();
        for (i, d) in unique.into_iter().enumerate() {
            scores.insert(d.to_string(), (n - i) as f64);
        }
    }

    /// Sets one document's score.
    pub fn insert(&mut self, query: &str, document: &str, score: f64) {
        self.by_query
            .entry(query.to_string())
            .or_default()
            .insert(document.to_string(), score);
    }

    /// The documents of `query` in trec_eval's order: score descending, ties by document id
    /// descending.
    pub fn ranked(&self, query: &str) -> Vec<&str> {
        let Some(scores) = self.by_query.get(query) else {
            return Vec::new();
        };
        let mut docs: Vec<(&str, f64)> = scores.iter().map(|(d, s)| (d.as_str(), *s)).collect();
        docs.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| b.0.cmp(a.0)));
        docs.into_iter().map(|(d, _)| d).collect()
    }

    /// Queries in the run.
    pub fn queries(&self) -> impl Iterator<Item = &String> {
        self.by_query.keys()
    }

    /// trec_eval's run format, `query Q0 document rank score tag`.
    pub fn to_trec(&self, tag: &str) -> String {
        let mut out = String::new();
        for q in self.by_query.keys() {
            let scores = &self.by_query[q];
            for (rank, d) in self.ranked(q).into_iter().enumerate() {
                writeln!(out, "{q} Q0 {d} {} {} {tag}", rank + 1, scores[d]).expect("write");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking_scores_keep_the_order_and_ties_break_by_id_descending() {
        let mut run = Run::default();
        run.insert_ranking("q", ["b", "a", "c", "a"]);
        assert_eq!(run.ranked("q"), ["b", "a", "c"]);
        run.insert("t", "x1", 1.0);
        run.insert("t", "x3", 1.0);
        run.insert("t", "x2", 2.0);
        assert_eq!(run.ranked("t"), ["x2", "x3", "x1"]);
        assert!(run.to_trec("tag").starts_with("q Q0 b 1 3 tag\n"));
    }
}
