//! Conformance of a [`Generator`].

use futures::StreamExt;
use ragweave_core::{Error, GenerateRequest, Generator, SamplingParams};

use crate::{Report, ensure};

fn greedy(max_tokens: usize, stop: Vec<String>) -> GenerateRequest {
    let mut r = GenerateRequest::user("Write a sentence about rivers.");
    r.params = SamplingParams {
        max_tokens,
        temperature: 0.0,
        seed: Some(42),
        stop,
        ..SamplingParams::default()
    };
    r
}

async fn collect(g: &dyn Generator, req: &GenerateRequest) -> Result<(String, usize), Error> {
    let mut stream = g.stream(req).await?;
    let mut text = String::new();
    let mut n = 0;
    while let Some(piece) = stream.next().await {
        text.push_str(&piece?);
        n += 1;
    }
    Ok((text, n))
}

/// Checks, with greedy sampling (which must be deterministic): the stream yields at most
/// `max_tokens` pieces; `complete` returns exactly the text the stream yields; a stop
/// sequence taken from the middle of the output cuts the output just before it; dropping a
/// stream early leaves the generator usable; `max_tokens = 0` is an `InvalidInput` error.
pub async fn check(generator: &dyn Generator) -> Report {
    let mut r = Report::new("generator");
    let req = greedy(12, Vec::new());
    let streamed = collect(generator, &req).await;
    r.check(
        "stops at max_tokens",
        match &streamed {
            Ok((_, n)) => ensure(*n <= 12, || format!("{n} tokens for max_tokens 12")),
            Err(e) => Err(format!("error: {}", e.report())),
        },
    );
    let full = streamed
        .as_ref()
        .map(|(t, _)| t.clone())
        .unwrap_or_default();
    r.check(
        "generates something",
        ensure(!full.is_empty(), || "empty output for 12 tokens".into()),
    );
    r.check(
        "complete returns the streamed text",
        match generator.complete(&req).await {
            Ok(c) => ensure(c.text == full, || {
                format!("stream {full:?} vs complete {:?}", c.text)
            }),
            Err(e) => Err(format!("error: {}", e.report())),
        },
    );
    // A stop sequence from the middle of the greedy output must cut it there.
    let chars: Vec<char> = full.chars().collect();
    if chars.len() >= 4 {
        let mid = chars.len() / 2;
        let stop: String = chars[mid..(mid + 2).min(chars.len())].iter().collect();
        let expected = &full[..full.find(&stop).expect("stop is a substring")];
        let outcome = match collect(generator, &greedy(12, vec![stop.clone()])).await {
            Ok((text, _)) => ensure(text == expected, || {
                format!("stop {stop:?}: got {text:?}, expected {expected:?}")
            }),
            Err(e) => Err(format!("error: {}", e.report())),
        };
        r.check("honours stop sequences", outcome);
    } else {
        r.check(
            "honours stop sequences",
            Err(format!("output {full:?} too short to pick a stop sequence")),
        );
    }
    let early = async {
        let mut s = generator.stream(&greedy(64, Vec::new())).await?;
        let _ = s.next().await;
        drop(s);
        collect(generator, &req).await
    };
    r.check(
        "usable after a dropped stream",
        match tokio::time::timeout(std::time::Duration::from_secs(120), early).await {
            Ok(Ok((text, _))) => {
                ensure(text == full, || format!("after drop: {text:?} vs {full:?}"))
            }
            Ok(Err(e)) => Err(format!("error: {}", e.report())),
            Err(_) => Err("hung after a stream was dropped".into()),
        },
    );
    r.check(
        "max_tokens 0 is an InvalidInput error",
        match generator.stream(&greedy(0, Vec::new())).await {
            Err(Error::InvalidInput { .. }) => Ok(()),
            Err(other) => Err(format!("wrong error type: {other:?}")),
            Ok(_) => Err("accepted max_tokens 0".into()),
        },
    );
    r
}
