//! Server-sent events: the `data:` payloads of a streamed reply.

/// Most bytes one event may hold (its data, and a line still arriving): a server that
/// never ends a line must not make the client buffer without bound.
pub const MAX_EVENT_BYTES: usize = 16 << 20;

/// An event grew past [`MAX_EVENT_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a server-sent event grew past {MAX_EVENT_BYTES} bytes without ending")]
pub struct EventTooLarge;

/// Splits a byte stream into events and yields each event's data (its `data:` lines joined
/// by newlines). Comments, `event:`, `id:` and `retry:` lines are skipped; so is an event
/// without data. Handles `\n`, `\r\n` and `\r` line ends and events split across reads.
#[derive(Debug, Default)]
pub struct SseDecoder {
    buffer: Vec<u8>,
    /// How far `buffer` is known to hold no line end: a long line arriving in small reads
    /// is scanned once, not once per read.
    scanned: usize,
    data: Option<String>,
}

impl SseDecoder {
    /// Feeds bytes; returns the events they complete, or [`EventTooLarge`].
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>, EventTooLarge> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut start = 0;
        let mut i = self.scanned;
        while i < self.buffer.len() {
            let b = self.buffer[i];
            if b == b'\n' || b == b'\r' {
                // A `\r` at the end of the buffer may be the first half of `\r\n`.
                if b == b'\r' && i + 1 == self.buffer.len() {
                    break;
                }
                let line = String::from_utf8_lossy(&self.buffer[start..i]).into_owned();
                if b == b'\r' && self.buffer[i + 1] == b'\n' {
                    i += 1;
                }
                self.line(&line, &mut events);
                start = i + 1;
            }
            i += 1;
        }
        self.buffer.drain(..start);
        self.scanned = i - start;
        let held = self.buffer.len() + self.data.as_ref().map_or(0, String::len);
        if held > MAX_EVENT_BYTES {
            return Err(EventTooLarge);
        }
        Ok(events)
    }

    fn line(&mut self, line: &str, events: &mut Vec<String>) {
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                events.push(data);
            }
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        if field == "data" {
            match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            }
        }
    }

    /// The event left when the stream ended without its blank line.
    pub fn finish(&mut self) -> Option<String> {
        self.scanned = 0;
        let rest = String::from_utf8_lossy(&std::mem::take(&mut self.buffer)).into_owned();
        let line = rest.trim_end_matches(['\r', '\n']);
        let mut events = Vec::new();
        if !line.is_empty() {
            self.line(line, &mut events);
        }
        events.pop().or_else(|| self.data.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_come_out_whole() {
        let text = ": keep-alive\n\ndata: {\"a\":1}\n\ndata: one\r\ndata: two\r\n\r\nevent: x\nid: 3\ndata: [DONE]\n\n";
        for cut in 0..text.len() {
            let mut d = SseDecoder::default();
            let mut got = d.push(&text.as_bytes()[..cut]).unwrap();
            got.extend(d.push(&text.as_bytes()[cut..]).unwrap());
            assert_eq!(got, ["{\"a\":1}", "one\ntwo", "[DONE]"], "cut at {cut}");
            assert_eq!(d.finish(), None);
        }
    }

    #[test]
    fn a_last_event_without_its_blank_line_is_kept() {
        let mut d = SseDecoder::default();
        assert!(d.push(b"data: tail").unwrap().is_empty());
        assert_eq!(d.finish().as_deref(), Some("tail"));
        let mut d = SseDecoder::default();
        assert_eq!(d.push(b"data:x\r\rdata:y\r\r").unwrap(), ["x"]);
        assert_eq!(d.finish().as_deref(), Some("y"));
    }

    #[test]
    fn a_line_that_never_ends_is_refused_once_past_the_limit() {
        let mut d = SseDecoder::default();
        let read = vec![b'a'; 1 << 20];
        assert_eq!(d.push(b"data: ").unwrap(), Vec::<String>::new());
        for _ in 0..15 {
            assert!(d.push(&read).unwrap().is_empty());
        }
        assert_eq!(d.push(&read), Err(EventTooLarge));
        // Data lines that never end their event count too.
        let mut d = SseDecoder::default();
        let line = format!("data: {}\n", "b".repeat(1 << 20));
        let pushed: Result<Vec<_>, _> = (0..17).map(|_| d.push(line.as_bytes())).collect();
        assert_eq!(pushed, Err(EventTooLarge));
    }
}
