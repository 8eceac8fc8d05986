//! Seeded mutations of byte inputs.

/// A small, fast, seeded generator (xorshift64*): the same seed replays the same run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (0 is moved off the fixed point).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Bytes that parsers treat specially, tried more often than others.
const INTERESTING: &[u8] = b"\0\n\r\t \"'<>/\\{}[]:,=#-*`&;%\x7f\xff\xc3\xa9";

/// Makes inputs from seeds: each is a seed changed one to eight times.
#[derive(Debug, Clone)]
pub struct Mutator {
    seeds: Vec<Vec<u8>>,
    dictionary: Vec<Vec<u8>>,
    max_len: usize,
}

impl Mutator {
    /// Mutates `seeds` (at least one) with `dictionary` tokens, into inputs of at most
    /// `max_len` bytes.
    pub fn new(seeds: Vec<Vec<u8>>, dictionary: Vec<Vec<u8>>, max_len: usize) -> Self {
        assert!(!seeds.is_empty(), "a target needs a seed");
        Self {
            seeds,
            dictionary,
            max_len,
        }
    }

    /// The same mutator with inputs cut to at most `max_len` bytes.
    pub fn capped(mut self, max_len: usize) -> Self {
        self.max_len = self.max_len.min(max_len);
        self
    }

    /// The next input.
    pub fn input(&self, rng: &mut Rng) -> Vec<u8> {
        let mut data = self.seeds[rng.below(self.seeds.len())].clone();
        // Now and then a seed as it is, or nothing at all.
        match rng.below(64) {
            0 => return data,
            1 => return Vec::new(),
            _ => {}
        }
        for _ in 0..1 + rng.below(8) {
            self.mutate(&mut data, rng);
        }
        data.truncate(self.max_len);
        data
    }

    fn mutate(&self, data: &mut Vec<u8>, rng: &mut Rng) {
        let len = data.len();
        let at = |rng: &mut Rng| rng.below(len + 1);
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(32.min(len - start))).min(len);
                data.drain(start..end);
            }
            3 => {
                let i = at(rng);
                let bytes: Vec<u8> = (0..1 + rng.below(16))
                    .map(|_| rng.next_u64() as u8)
                    .collect();
                data.splice(i..i, bytes);
            }
            4 | 5 if !self.dictionary.is_empty() => {
                let i = at(rng);
                let token = self.dictionary[rng.below(self.dictionary.len())].clone();
                data.splice(i..i, token);
            }
            // Repeats build what hand-written seeds lack: deep nesting, long runs.
            6 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64.min(len - start))).min(len);
                let piece = data[start..end].to_vec();
                let most = if rng.below(8) == 0 { 2_000 } else { 16 };
                let times = 1 + rng.below(most);
                let room = self.max_len.saturating_sub(len) / piece.len().max(1);
                let repeated = piece.repeat(times.min(room));
                data.splice(end..end, repeated);
            }
            7 => {
                let other = &self.seeds[rng.below(self.seeds.len())];
                let cut = at(rng);
                let from = rng.below(other.len() + 1);
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            8 if len > 1 => {
                let (a, b) = (rng.below(len), rng.below(len));
                data.swap(a, b);
            }
            _ => data.push(INTERESTING[rng.below(INTERESTING.len())]),
        }
    }
}
