//! Conformance of a [`ChunkStore`].

use ragweave_core::{Chunk, ChunkStore, EmbedInput, EmbeddedChunk, Embedder};

use crate::{Report, ensure};

fn vector(dim: usize, seed: usize) -> Vec<f32> {
    (0..dim)
        .map(|i| (((i + 1) * (seed + 3)) % 17) as f32 + 1.0)
        .collect()
}

fn batch(doc: &str, n: usize, dim: Option<usize>) -> Vec<EmbeddedChunk> {
    (0..n)
        .map(|i| EmbeddedChunk {
            chunk: Chunk::new(
                format!("{doc}-{i}"),
                doc,
                format!("chunk {i} of document {doc}"),
            ),
            vector: dim.map(|d| vector(d, i)),
        })
        .collect()
}

const TOPICS: [(&str, &str, &str); 6] = [
    (
        "c1",
        "rust",
        "Rust guarantees memory safety without a garbage collector.",
    ),
    (
        "c2",
        "rust",
        "Cargo builds Rust crates and resolves their dependencies.",
    ),
    ("c3", "db", "Qdrant indexes dense vectors with HNSW graphs."),
    (
        "c4",
        "db",
        "Sparse vectors store BM25 weights for keyword search.",
    ),
    (
        "c5",
        "ml",
        "Transformers embed sentences into dense vectors.",
    ),
    (
        "c6",
        "ml",
        "Rerankers score query and passage pairs jointly.",
    ),
];

/// Six short chunks, `c1` to `c6`, two on each of three topics, with metadata `topic`
/// (`rust`, `db`, `ml`) and `year` (2021 to 2026) and document ids `doc-<topic>`: a corpus
/// whose searches and filters have one right answer. With `embedder`, each chunk carries
/// its document vector.
pub async fn topic_corpus(embedder: Option<&dyn Embedder>) -> Vec<EmbeddedChunk> {
    let vectors = match embedder {
        Some(e) => {
            let texts: Vec<String> = TOPICS.iter().map(|t| t.2.to_string()).collect();
            let v = e.embed(&texts, EmbedInput::DOCUMENT).await.expect("embeds");
            v.into_iter().map(Some).collect()
        }
        None => vec![None; TOPICS.len()],
    };
    TOPICS
        .iter()
        .zip(vectors)
        .map(|((id, topic, text), vector)| EmbeddedChunk {
            chunk: Chunk::new(*id, format!("doc-{topic}"), *text)
                .with_meta("topic", *topic)
                .with_meta("year", 2020 + id[1..].parse::<i64>().expect("numbered")),
            vector,
        })
        .collect()
}

/// Checks on an empty store: upsert counts; upserting the same ids again stores nothing
/// twice; `document_chunk_ids` lists a document's chunks and `document_ids` the documents;
/// `delete_chunks` and `delete_document` remove exactly
/// them; with `dimension`, a batch holding one wrong-length or NaN vector is rejected whole
/// and leaves the store as it was; `export` pages through every chunk exactly once, with
/// its vector when the store holds them; `name` and `location` say something.
/// `dimension = None` is for text-only stores.
pub async fn check(store: &dyn ChunkStore, dimension: Option<usize>) -> Report {
    let mut r = Report::new("store");
    let count = || async {
        store
            .count()
            .await
            .map_err(|e| format!("count failed: {}", e.report()))
    };
    r.check(
        "starts empty",
        count()
            .await
            .and_then(|n| ensure(n == 0, || format!("{n} chunks"))),
    );
    let upsert = async {
        store
            .upsert(batch("a", 3, dimension))
            .await
            .map_err(|e| e.report().to_string())?;
        store
            .upsert(batch("b", 2, dimension))
            .await
            .map_err(|e| e.report().to_string())?;
        let n = count().await?;
        ensure(n == 5, || format!("count {n} after upserting 5"))
    };
    r.check("upsert adds chunks", upsert.await);
    let again = async {
        store
            .upsert(batch("a", 3, dimension))
            .await
            .map_err(|e| e.report().to_string())?;
        let n = count().await?;
        ensure(n == 5, || {
            format!("count {n} after re-upserting the same 3")
        })
    };
    r.check("re-upsert stores nothing twice", again.await);
    r.check(
        "document_chunk_ids lists a document",
        match store.document_chunk_ids("a").await {
            Ok(mut ids) => {
                ids.sort();
                ensure(ids == ["a-0", "a-1", "a-2"], || format!("{ids:?}"))
            }
            Err(e) => Err(e.report().to_string()),
        },
    );
    r.check(
        "document_ids lists every document once",
        match store.document_ids().await {
            Ok(mut ids) => {
                ids.sort();
                ensure(ids == ["a", "b"], || format!("{ids:?}"))
            }
            Err(e) => Err(e.report().to_string()),
        },
    );
    r.check(
        "export pages through every chunk once",
        export_all(store, dimension).await,
    );
    r.check(
        "name and location are not empty",
        ensure(
            !store.name().is_empty() && !store.location().is_empty(),
            || format!("name {:?}, location {:?}", store.name(), store.location()),
        ),
    );
    if let Some(dim) = dimension {
        let mut wrong = batch("c", 2, Some(dim));
        wrong[1].vector = Some(vector(dim + 1, 0));
        let mut nan = batch("c", 2, Some(dim));
        nan[1].vector.as_mut().expect("vector")[0] = f32::NAN;
        for (name, bad) in [
            ("wrong dimension rejects the whole batch", wrong),
            ("NaN rejects the whole batch", nan),
        ] {
            let outcome = match store.upsert(bad).await {
                Ok(()) => Err("accepted".to_string()),
                Err(_) => count()
                    .await
                    .and_then(|n| ensure(n == 5, || format!("count {n} after a rejected batch"))),
            };
            r.check(name, outcome);
        }
    }
    let delete_chunks = async {
        let ids = ["b-1".to_string(), "no-such-chunk".to_string()];
        let removed = store
            .delete_chunks(&ids)
            .await
            .map_err(|e| e.report().to_string())?;
        ensure(removed == 1, || format!("removed {removed}, expected 1"))?;
        let n = count().await?;
        ensure(n == 4, || format!("count {n} after deleting 1 of 5"))?;
        store
            .upsert(batch("b", 2, dimension))
            .await
            .map_err(|e| e.report().to_string())?;
        let n = count().await?;
        ensure(n == 5, || format!("count {n} after restoring it"))
    };
    r.check(
        "delete_chunks removes exactly the stored ids",
        delete_chunks.await,
    );
    let delete = async {
        let removed = store
            .delete_document("a")
            .await
            .map_err(|e| e.report().to_string())?;
        ensure(removed == 3, || format!("removed {removed}, expected 3"))?;
        let n = count().await?;
        ensure(n == 2, || format!("count {n} after deleting 3 of 5"))?;
        let left = store
            .document_chunk_ids("b")
            .await
            .map_err(|e| e.report().to_string())?;
        ensure(left.len() == 2, || {
            format!("document b lost chunks: {left:?}")
        })
    };
    r.check("delete_document removes exactly its chunks", delete.await);
    r
}

/// Reads the store in pages of 2 and checks the five chunks of [`check`] come back once each.
async fn export_all(store: &dyn ChunkStore, dimension: Option<usize>) -> Result<(), String> {
    let mut seen = Vec::new();
    let mut from: Option<String> = None;
    for _ in 0..10 {
        let page = store
            .export(from.as_deref(), 2)
            .await
            .map_err(|e| e.report().to_string())?;
        ensure(page.chunks.len() <= 2, || {
            format!("a page of {} chunks for a limit of 2", page.chunks.len())
        })?;
        for c in &page.chunks {
            ensure(c.vector.is_some() == dimension.is_some(), || {
                format!(
                    "chunk {} exported with vector {:?}",
                    c.chunk.id,
                    c.vector.is_some()
                )
            })?;
            seen.push(c.chunk.id.clone());
        }
        match page.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    seen.sort();
    ensure(seen == ["a-0", "a-1", "a-2", "b-0", "b-1"], || {
        format!("exported {seen:?}")
    })
}
