//! The server-sent-event decoder of streamed OpenAI replies: it must not panic, and events
//! must not depend on where the network split the bytes.

use ragweave_openai::SseDecoder;

use super::{Target, tokens};
use crate::mutate::Mutator;

pub(crate) struct Sse;

const STREAM: &str = ": keep-alive\n\n\
data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n\
data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\n\
event: message\nid: 7\nretry: 100\ndata: {\"choices\":[{\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n\
data: line one\ndata: line two\r\r\
data: [DONE]\n\n";

impl Target for Sse {
    fn name(&self) -> &'static str {
        "sse"
    }

    fn mutator(&self) -> Mutator {
        let dictionary = tokens(&[
            "data:", "data: ", "\n", "\r", "\r\n", "\n\n", ":", "event:", "id:", "retry:",
            "[DONE]", "\u{feff}", "\u{fffd}",
        ]);
        Mutator::new(vec![STREAM.as_bytes().to_vec()], dictionary, 64 << 10)
    }

    fn run(&mut self, input: &[u8]) -> Result<bool, String> {
        let mut whole = SseDecoder::default();
        let Ok(mut expected) = whole.push(input) else {
            return Ok(false);
        };
        expected.extend(whole.finish());
        // The same bytes in reads of 1 to 8 bytes, sizes from the input itself.
        let mut split = SseDecoder::default();
        let mut got = Vec::new();
        let mut at = 0;
        while at < input.len() {
            let step = 1 + usize::from(input[at] % 8);
            let end = (at + step).min(input.len());
            got.extend(split.push(&input[at..end]).map_err(|e| e.to_string())?);
            at = end;
        }
        got.extend(split.finish());
        if got != expected {
            return Err(format!(
                "split reads gave {got:?}, one read gave {expected:?}"
            ));
        }
        Ok(!got.is_empty())
    }
}
