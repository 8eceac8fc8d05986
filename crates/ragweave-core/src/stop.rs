//! Stop-sequence matching over streamed text, for generator implementations.

/// What a [`StopMatcher`] decided about the text pushed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopStep {
    /// Text that is safe to emit now.
    pub emit: String,
    /// A stop sequence was found; generation should end after emitting `emit`.
    pub stopped: bool,
}

/// Finds stop sequences in text that arrives piece by piece.
///
/// A stop sequence can straddle tokens, so text that might be the start of one is held back
/// until the next piece settles it. Generator plugins feed each decoded piece through
/// [`StopMatcher::push`] and emit what it returns, which keeps "streams exactly the text it
/// completes" true for every backend.
#[derive(Debug, Clone, Default)]
pub struct StopMatcher {
    stops: Vec<String>,
    pending: String,
}

impl StopMatcher {
    /// Matches the given stop sequences (empty ones are ignored).
    pub fn new(stops: &[String]) -> Self {
        Self {
            stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(),
            pending: String::new(),
        }
    }

    /// Adds a piece of generated text.
    pub fn push(&mut self, piece: &str) -> StopStep {
        self.pending.push_str(piece);
        if let Some(at) = self
            .stops
            .iter()
            .filter_map(|s| self.pending.find(s.as_str()))
            .min()
        {
            self.pending.truncate(at);
            return StopStep {
                emit: std::mem::take(&mut self.pending),
                stopped: true,
            };
        }
        let keep = self.held_back_len();
        let emit = self.pending[..self.pending.len() - keep].to_string();
        self.pending.drain(..self.pending.len() - keep);
        StopStep {
            emit,
            stopped: false,
        }
    }

    /// Text held back at the end of generation, which turned out not to be a stop sequence.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }

    /// Length of the longest suffix of `pending` that is a proper prefix of a stop sequence.
    fn held_back_len(&self) -> usize {
        let p = &self.pending;
        (1..=p.len())
            .rev()
            .filter(|&n| p.is_char_boundary(p.len() - n))
            .find(|&n| {
                let tail = &p[p.len() - n..];
                self.stops
                    .iter()
                    .any(|s| s.len() > n && s.starts_with(tail))
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut m = StopMatcher::new(&stops);
        let mut out = String::new();
        for p in pieces {
            let step = m.push(p);
            out.push_str(&step.emit);
            if step.stopped {
                return (out, true);
            }
        }
        out.push_str(&m.finish());
        (out, false)
    }

    #[test]
    fn stop_inside_one_piece() {
        assert_eq!(run(&["END"], &["abcENDxyz"]), ("abc".into(), true));
    }

    #[test]
    fn stop_straddling_pieces_is_held_back_then_cut() {
        assert_eq!(
            run(&["END"], &["ab", "cE", "N", "Dzz"]),
            ("abc".into(), true)
        );
    }

    #[test]
    fn false_start_is_released() {
        assert_eq!(run(&["END"], &["aE", "Nx", "y"]), ("aENxy".into(), false));
        assert_eq!(run(&["END"], &["abE"]), ("abE".into(), false));
    }

    #[test]
    fn earliest_of_several_stops_wins_and_unicode_is_safe() {
        assert_eq!(run(&["zz", "é!"], &["aé", "!bzz"]), ("a".into(), true));
        assert_eq!(run(&[], &["héllo"]), ("héllo".into(), false));
    }
}
