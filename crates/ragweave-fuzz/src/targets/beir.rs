//! BEIR datasets: a corpus, queries and judgements written as a dataset directory, then
//! loaded as `ragweave eval` loads one.

use ragweave_eval::Dataset;

use super::{Target, scratch, seeds, tokens};
use crate::mutate::Mutator;

/// Separates the three files in one input.
const SEPARATOR: u8 = 0x1e;

pub(crate) struct Beir {
    dir: tempfile::TempDir,
}

impl Beir {
    pub(crate) fn new() -> Self {
        let dir = scratch();
        std::fs::create_dir_all(dir.path().join("qrels")).expect("a scratch directory");
        Self { dir }
    }
}

impl Target for Beir {
    fn name(&self) -> &'static str {
        "beir"
    }

    fn mutator(&self) -> Mutator {
        // Eight judgements, and the queries and documents they name: a dataset that loads.
        let qrels = seeds::dataset_lines("scifact", "qrels/test.tsv", 9);
        let named = |column: usize| -> Vec<String> {
            qrels
                .lines()
                .skip(1)
                .filter_map(|l| l.split('\t').nth(column).map(|id| format!("\"{id}\"")))
                .collect()
        };
        let (query_ids, document_ids) = (named(0), named(1));
        let pick = |file: &str, ids: &[String]| -> String {
            seeds::dataset_lines("scifact", file, usize::MAX)
                .lines()
                .filter(|l| ids.iter().any(|id| l.contains(&format!("\"_id\": {id}"))))
                .map(|l| format!("{l}\n"))
                .collect()
        };
        let corpus = pick("corpus.jsonl", &document_ids);
        let queries = pick("queries.jsonl", &query_ids);
        let mut seed = corpus.into_bytes();
        seed.push(SEPARATOR);
        seed.extend(queries.into_bytes());
        seed.push(SEPARATOR);
        seed.extend(qrels.into_bytes());
        let dictionary = tokens(&[
            "\t",
            "\n",
            "\x1e",
            "{\"_id\": \"",
            "\", \"text\": \"",
            "\"}",
            "query-id\tcorpus-id\tscore\n",
            "\t1\n",
            "\t-1\n",
            "\t2.5\n",
            "\t99999999999999999999\n",
            " 0 ",
            "\"metadata\": {}",
        ]);
        Mutator::new(vec![seed], dictionary, 64 << 10)
    }

    fn run(&mut self, input: &[u8]) -> Result<bool, String> {
        let mut parts = input.splitn(3, |b| *b == SEPARATOR);
        let dir = self.dir.path();
        for name in ["corpus.jsonl", "queries.jsonl", "qrels/test.tsv"] {
            std::fs::write(dir.join(name), parts.next().unwrap_or_default())
                .map_err(|e| format!("writing {name}: {e}"))?;
        }
        let Ok(dataset) = Dataset::load(dir, "test") else {
            return Ok(false);
        };
        for q in &dataset.queries {
            dataset.relevant(&q.id);
        }
        Ok(true)
    }
}
