//! Conformance of an [`Embedder`].

use ragweave_core::{EmbedInput, Embedder, Error};

use crate::{Report, ensure};

const TEXTS: &[&str] = &[
    "The mitochondria is the powerhouse of the cell.",
    "Rust guarantees memory safety without a garbage collector.",
    "Les réseaux de neurones apprennent des représentations.",
    "short",
    "Retrieval-augmented generation grounds answers in documents; it retrieves passages first and then conditions the generator on them so that answers cite their sources.",
];

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

/// Checks: positive dimension; one finite `dimension()`-long vector per input, in order;
/// the same vector for the same text; the same result batched or one by one (cosine >=
/// 0.9999); distinct texts give distinct vectors; an empty batch is fine; a blank text is
/// an `InvalidInput` error, not a panic; both input kinds work.
pub async fn check(embedder: &dyn Embedder) -> Report {
    let mut r = Report::new("embedder");
    let dim = embedder.dimension();
    r.check(
        "dimension is positive",
        ensure(dim > 0, || "dimension() is 0".into()),
    );
    let texts: Vec<String> = TEXTS.iter().map(|t| t.to_string()).collect();

    let batch = match embedder.embed(&texts, EmbedInput::DOCUMENT).await {
        Ok(b) => b,
        Err(e) => {
            r.check("embeds a batch", Err(format!("error: {}", e.report())));
            return r;
        }
    };
    r.check(
        "one vector per input",
        ensure(batch.len() == texts.len(), || {
            format!("{} texts gave {} vectors", texts.len(), batch.len())
        }),
    );
    r.check(
        "vectors have dimension() entries",
        match batch.iter().position(|v| v.len() != dim) {
            Some(i) => Err(format!(
                "vector {i} has {} entries, dimension() is {dim}",
                batch[i].len()
            )),
            None => Ok(()),
        },
    );
    r.check(
        "vectors are finite and non-zero",
        match batch
            .iter()
            .position(|v| v.iter().any(|x| !x.is_finite()) || v.iter().all(|x| *x == 0.0))
        {
            Some(i) => Err(format!("vector {i} has a NaN, an infinity or is all zero")),
            None => Ok(()),
        },
    );
    r.check(
        "distinct texts give distinct vectors",
        ensure(
            batch.len() < 2 || cosine(&batch[0], &batch[1]) < 0.9999,
            || "texts 0 and 1 embed to the same direction".into(),
        ),
    );

    let mut one_by_one = Vec::new();
    for t in &texts {
        match embedder.embed_one(t, EmbedInput::DOCUMENT).await {
            Ok(v) => one_by_one.push(v),
            Err(e) => {
                r.check(
                    "batched equals one by one",
                    Err(format!("embed_one failed: {}", e.report())),
                );
                break;
            }
        }
    }
    if one_by_one.len() == texts.len() && batch.len() == texts.len() {
        let worst = batch
            .iter()
            .zip(&one_by_one)
            .map(|(a, b)| cosine(a, b))
            .fold(1.0f32, f32::min);
        r.check(
            "batched equals one by one",
            ensure(worst >= 0.9999, || {
                format!("lowest cosine between batched and single: {worst}")
            }),
        );
    }
    match embedder.embed(&texts[..1], EmbedInput::DOCUMENT).await {
        Ok(again) if !batch.is_empty() => {
            let c = cosine(&again[0], &batch[0]);
            r.check(
                "deterministic",
                ensure(c >= 0.99999, || {
                    format!("same text embedded twice: cosine {c}")
                }),
            );
        }
        Ok(_) => {}
        Err(e) => r.check(
            "deterministic",
            Err(format!("error on second call: {}", e.report())),
        ),
    }
    r.check(
        "empty batch gives no vectors",
        match embedder.embed(&[], EmbedInput::DOCUMENT).await {
            Ok(v) => ensure(v.is_empty(), || format!("{} vectors for no input", v.len())),
            Err(e) => Err(format!("error for an empty batch: {}", e.report())),
        },
    );
    r.check(
        "blank text is an InvalidInput error",
        match embedder
            .embed(&["   ".to_string()], EmbedInput::QUERY)
            .await
        {
            Err(Error::InvalidInput { .. }) => Ok(()),
            Err(other) => Err(format!("wrong error type: {other:?}")),
            Ok(_) => Err("blank text was embedded".into()),
        },
    );
    r.check(
        "query kind works",
        match embedder.embed_one(TEXTS[0], EmbedInput::QUERY).await {
            Ok(v) => ensure(v.len() == dim, || {
                format!("query vector has {} entries", v.len())
            }),
            Err(e) => Err(format!("error: {}", e.report())),
        },
    );
    r
}
