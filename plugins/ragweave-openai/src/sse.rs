//! Server-sent events: the `data:` payloads of a streamed reply.

/// Splits a byte stream into events and yields each event's data (its `data:` lines joined
/// by newlines). Comments, `event:`, `id:` and `retry:` lines are skipped; so is an event
/// without data. Handles `\n`, `\r\n` and `\r` line ends and events split across reads.
#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    buffer: Vec<u8>,
    data: Option<String>,
}

impl SseDecoder {
    /// Feeds bytes; returns the events they complete.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut start = 0;
        let mut i = 0;
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
        events
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
    pub(crate) fn finish(&mut self) -> Option<String> {
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
            let mut got = d.push(&text.as_bytes()[..cut]);
            got.extend(d.push(&text.as_bytes()[cut..]));
            assert_eq!(got, ["{\"a\":1}", "one\ntwo", "[DONE]"], "cut at {cut}");
            assert_eq!(d.finish(), None);
        }
    }

    #[test]
    fn a_last_event_without_its_blank_line_is_kept() {
        let mut d = SseDecoder::default();
        assert!(d.push(b"data: tail").is_empty());
        assert_eq!(d.finish().as_deref(), Some("tail"));
        let mut d = SseDecoder::default();
        assert_eq!(d.push(b"data:x\r\rdata:y\r\r"), ["x"]);
        assert_eq!(d.finish().as_deref(), Some("y"));
    }
}
