//! Counting tokens for budgets.

/// Counts tokens the way the generator will see them, for context and memory budgets.
pub trait TokenCounter: Send + Sync {
    /// Number of tokens in `text`.
    fn count(&self, text: &str) -> usize;
}

/// An estimate without a tokenizer: one token per 4 bytes, rounded up, and at least one per
/// word, which is what BPE vocabularies average on English text. Plugins with a real
/// tokenizer provide exact counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApproxTokenCounter;

impl TokenCounter for ApproxTokenCounter {
    fn count(&self, text: &str) -> usize {
        let by_bytes = text.len().div_ceil(4);
        let words = text.split_whitespace().count();
        by_bytes.max(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approx_counts_grow_with_text() {
        let c = ApproxTokenCounter;
        assert_eq!(c.count(""), 0);
        assert_eq!(c.count("abcd"), 1);
        assert_eq!(c.count("a b c d e"), 5);
        assert!(c.count(&"word ".repeat(100)) >= 100);
    }
}
