//! A model-free embedder by feature hashing, for tests, examples and lexical routing.

use async_trait::async_trait;

use super::bm25::bm25_tokens;
use crate::algorithms::kmeans::normalize;
use crate::error::{Error, Result};
use crate::traits::embedder::{EmbedInput, Embedder};

/// Embeds text as an L2-normalised bag of hashed, lower-cased words (signed feature
/// hashing with FNV-1a, as scikit-learn's `HashingVectorizer`). English stopwords are
/// skipped, unless a text has nothing else.
///
/// It carries no semantics beyond shared words, and needs no model file: it is what
/// composition tests and examples use, and a cheap lexical signal for a router. Queries and
/// documents embed the same way; an instruction, when given, is embedded as a prefix.
#[derive(Debug, Clone)]
pub struct HashingEmbedder {
    dimension: usize,
    model_id: String,
}

impl HashingEmbedder {
    /// An embedder producing `dimension`-long vectors.
    ///
    /// # Panics
    /// If `dimension` is 0; the config factory reports that as an error instead.
    pub fn new(dimension: usize) -> Self {
        assert!(dimension > 0, "HashingEmbedder dimension must be positive");
        Self {
            dimension,
            model_id: format!("hashing-{dimension}"),
        }
    }

    fn embed_text(&self, text: &str, instruction: Option<&str>, index: usize) -> Result<Vec<f32>> {
        let mut v = vec![0.0f32; self.dimension];
        let texts = || instruction.into_iter().chain(std::iter::once(text));
        let mut add = |word: &str| {
            let h = fnv1a(word.as_bytes());
            let bucket = (h % self.dimension as u64) as usize;
            v[bucket] += if h >> 63 == 0 { 1.0 } else { -1.0 };
        };
        let mut content_words = 0;
        for word in texts().flat_map(bm25_tokens) {
            add(&word);
            content_words += 1;
        }
        // "What is it?" is all stopwords: embed its words rather than fail.
        if content_words == 0 {
            texts()
                .flat_map(|t| t.split(|c: char| !c.is_alphanumeric()))
                .filter(|w| !w.is_empty())
                .for_each(|w| add(&w.to_lowercase()));
        }
        if !normalize(&mut v) {
            return Err(Error::invalid(
                format!("texts[{index}]"),
                "text has no words to embed (empty, blank or punctuation only)",
            ));
        }
        Ok(v)
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[async_trait]
impl Embedder for HashingEmbedder {
    fn name(&self) -> &str {
        "hashing"
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    async fn embed(&self, texts: &[String], input: EmbedInput<'_>) -> Result<Vec<Vec<f32>>> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| self.embed_text(t, input.instruction, i))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::kmeans::dot;

    #[tokio::test]
    async fn shared_words_make_vectors_close() {
        let e = HashingEmbedder::new(256);
        let texts = [
            "protein folding".to_string(),
            "Protein, folding!".into(),
            "court ruling".into(),
        ];
        let v = e.embed(&texts, EmbedInput::DOCUMENT).await.unwrap();
        assert!(
            (dot(&v[0], &v[1]) - 1.0).abs() < 1e-6,
            "case and punctuation ignored"
        );
        assert!(dot(&v[0], &v[2]).abs() < 0.5);
        let stop = e
            .embed(
                &["what is it".to_string(), "what is the protein".to_string()],
                EmbedInput::QUERY,
            )
            .await
            .unwrap();
        let protein = e.embed_one("protein", EmbedInput::QUERY).await.unwrap();
        assert!(
            (dot(&stop[1], &protein) - 1.0).abs() < 1e-6,
            "stopwords are skipped"
        );
        assert!(
            stop[0].iter().any(|x| *x != 0.0),
            "a stopword-only text still embeds"
        );
    }

    #[tokio::test]
    async fn wordless_text_is_an_error_naming_its_index() {
        let e = HashingEmbedder::new(8);
        let err = e
            .embed(&["ok".to_string(), " ?! ".to_string()], EmbedInput::QUERY)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("texts[1]"), "{err}");
    }
}
