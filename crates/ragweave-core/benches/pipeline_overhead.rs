//! Orchestration overhead of a full pipeline whose components return at once: think, a
//! pilot router over 3 experts (top 2 fused), RRF, rerank, long-context reorder, prompt,
//! generate. What is left is ragweave's own cost per query.
//!
//! Run: `cargo bench -p ragweave-core --bench pipeline_overhead`
//! Side by side with LangChain: `bash benches/pipeline_overhead.sh`

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use ragweave_core::{
    Chunk, ContextBudget, LongContextReorder, PilotRouter, Pipeline, Query, ThinkThenRetrieve,
};
use ragweave_testkit::fixtures::{
    FixedEmbedder, PassThroughReranker, ScriptedGenerator, StaticRetriever,
};

fn expert(name: &str) -> Arc<StaticRetriever> {
    let chunks = (0..10)
        .map(|i| {
            Chunk::new(
                format!("{name}-{i}"),
                format!("doc-{i}"),
                format!("passage {i} from {name}"),
            )
        })
        .collect();
    Arc::new(StaticRetriever::new(name, chunks))
}

fn pipeline() -> Pipeline {
    let embedder = Arc::new(FixedEmbedder::new(8));
    let router = PilotRouter::new(embedder.clone()).top_k(2);
    for (i, name) in ["bm25", "dense", "hybrid"].iter().enumerate() {
        let mut pilot = vec![1.0f32; 8];
        pilot[i] = 2.0;
        router.add_expert(*name, vec![pilot]).expect("pilot");
    }
    // No cache: every query pays for its thought, as a cold query would.
    let think = ThinkThenRetrieve::new(Arc::new(ScriptedGenerator::new("a thought")))
        .embedder(embedder)
        .thoughts(1)
        .cache_capacity(0);
    Pipeline::builder()
        .transform(Arc::new(think))
        .expert("bm25", expert("bm25"))
        .expert("dense", expert("dense"))
        .expert("hybrid", expert("hybrid"))
        .router(Arc::new(router))
        .reranker(Arc::new(PassThroughReranker))
        .arranger(Arc::new(LongContextReorder {
            budget: ContextBudget {
                max_passages: Some(5),
                ..Default::default()
            },
        }))
        .generator(Arc::new(ScriptedGenerator::new("an answer [1]")))
        .build()
        .expect("pipeline builds")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let p = pipeline();
    let query = Query::new("what is the overhead?").top_k(5);
    // Check once that every stage runs, so the figure is for the whole pipeline.
    let answer = rt.block_on(p.ask(query.clone())).expect("ask");
    for stage in [
        "transform:think",
        "route",
        "fuse",
        "rerank",
        "arrange",
        "prompt",
        "generate",
    ] {
        assert!(
            answer.trace.stage(stage).is_some(),
            "stage {stage} did not run"
        );
    }
    assert_eq!(answer.citations.len(), 5);
    c.bench_function("pipeline_overhead", |b| {
        b.to_async(&rt).iter(|| p.ask(query.clone()));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
