//! Token bytes to text: a character can span tokens (byte-level vocabularies), so bytes
//! wait until they complete one.

/// Turns token pieces (raw bytes) into UTF-8 text as soon as characters complete.
#[derive(Debug, Default)]
pub(crate) struct Utf8Pieces {
    pending: Vec<u8>,
}

impl Utf8Pieces {
    /// Adds a token's bytes; returns the text they complete.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.push_str(
                        std::str::from_utf8(&self.pending[..valid]).expect("valid prefix"),
                    );
                    match e.error_len() {
                        // An incomplete character at the end: wait for the next token.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        // Bytes that can never be UTF-8 (a random model emits them).
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    /// Bytes left when generation ends, as replacement characters.
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_split_across_tokens_come_out_whole() {
        let mut p = Utf8Pieces::default();
        let bytes = "é🙂".as_bytes();
        assert_eq!(p.push(&bytes[..1]), "");
        assert_eq!(p.push(&bytes[1..3]), "é");
        assert_eq!(p.push(&bytes[3..5]), "");
        assert_eq!(p.push(&bytes[5..]), "🙂");
        assert_eq!(p.push(&[0xff, b'a']), "\u{fffd}a");
        assert_eq!(p.push(&[0xe2, 0x96]), "");
        assert_eq!(p.finish(), "\u{fffd}");
    }
}
