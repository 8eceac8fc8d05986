//! ThinkThenRetrieve and PilotRouter on the model-free hashing embedder.

use std::collections::HashMap;
use std::sync::Arc;

use ragweave_core::{
    Chunk, DenseRetriever, EmbedInput, Embedder, Error, FitOptions, HashingEmbedder, InMemoryStore,
    LabelledQuery, PilotRouter, PilotScoring, Pilots, Query, QueryTransform, Retriever, Router,
    ThinkMode, ThinkThenRetrieve, TieRule, fit_pilots,
};
use ragweave_testkit::fixtures::{ScriptedGenerator, StaticRetriever};

fn cos(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn mean_unit(vs: &[Vec<f32>]) -> Vec<f32> {
    let mut m = vec![0.0f32; vs[0].len()];
    for v in vs {
        m.iter_mut().zip(v).for_each(|(a, x)| *a += x);
    }
    let n = m.iter().map(|x| x * x).sum::<f32>().sqrt();
    m.iter().map(|x| x / n).collect()
}

async fn corpus(embedder: Arc<HashingEmbedder>) -> DenseRetriever {
    let r = DenseRetriever::new(embedder, Arc::new(InMemoryStore::new(512))).unwrap();
    r.index(vec![
        Chunk::new(
            "chloro",
            "chloro",
            "chlorophyll absorbs sunlight for photosynthesis",
        ),
        Chunk::new(
            "engine",
            "engine",
            "diesel engines burn fuel under compression",
        ),
        Chunk::new("tax", "tax", "income tax brackets rise with earnings"),
    ])
    .await
    .unwrap();
    r
}

#[tokio::test]
async fn o1_thoughts_steer_dense_retrieval_and_show_in_the_query() {
    let embedder = Arc::new(HashingEmbedder::new(512));
    let dense = corpus(embedder.clone()).await;
    // The bare query shares no word with any document; the thought does.
    let query = Query::new("how do plants get energy").top_k(1);
    let generator = ScriptedGenerator::new("chlorophyll absorbs sunlight");
    let think = ThinkThenRetrieve::new(Arc::new(generator.clone()))
        .embedder(embedder.clone())
        .thoughts(3);
    let q = think.transform(query.clone()).await.unwrap();
    assert_eq!(q.thoughts.len(), 3);
    assert_eq!(q.expansions, q.thoughts);
    let v = &q.vector.as_ref().unwrap().values;
    let texts: Vec<String> = q
        .thoughts
        .iter()
        .map(|t| format!("{} {t}", query.text))
        .collect();
    let expect = mean_unit(&embedder.embed(&texts, EmbedInput::QUERY).await.unwrap());
    assert!(
        cos(v, &expect) > 0.99999,
        "O1 is the mean of query+thought vectors"
    );
    let hits = dense.retrieve(&q).await.unwrap();
    assert_eq!(hits[0].chunk.id, "chloro");
    // Cached: the same query asks the generator nothing more.
    let produced = generator.produced();
    think.transform(query).await.unwrap();
    assert_eq!(generator.produced(), produced);
}

#[tokio::test]
async fn hyde_averages_thoughts_with_or_without_the_query() {
    let embedder = Arc::new(HashingEmbedder::new(512));
    let g = Arc::new(ScriptedGenerator::new("diesel fuel compression"));
    let query = Query::new("what makes a truck move");
    let alone = ThinkThenRetrieve::new(g.clone())
        .embedder(embedder.clone())
        .mode(ThinkMode::Hyde)
        .include_query(false)
        .transform(query.clone())
        .await
        .unwrap();
    let thought = embedder
        .embed_one("diesel fuel compression", EmbedInput::DOCUMENT)
        .await
        .unwrap();
    assert!(cos(&alone.vector.unwrap().values, &thought) > 0.99999);
    let with_q = ThinkThenRetrieve::new(g)
        .embedder(embedder.clone())
        .mode(ThinkMode::Hyde)
        .include_query(true)
        .thoughts(1)
        .transform(query.clone())
        .await
        .unwrap();
    let qv = embedder
        .embed_one(&query.text, EmbedInput::QUERY)
        .await
        .unwrap();
    let expect = mean_unit(&[thought, qv]);
    assert!(cos(&with_q.vector.unwrap().values, &expect) > 0.99999);
}

#[tokio::test]
async fn thoughts_expand_sparse_queries_without_an_embedder() {
    let q = ThinkThenRetrieve::new(Arc::new(ScriptedGenerator::new("extra terms")))
        .thoughts(1)
        .transform(Query::new("base"))
        .await
        .unwrap();
    assert!(q.vector.is_none());
    assert_eq!(q.sparse_text(), "base extra terms");
    let empty = ThinkThenRetrieve::new(Arc::new(ScriptedGenerator::new("")))
        .transform(Query::new("base"))
        .await
        .unwrap();
    assert_eq!(
        empty,
        Query::new("base"),
        "nothing thought, nothing changed"
    );
}

#[tokio::test]
async fn router_scores_mean_and_max_and_weights_top_k() {
    let e = Arc::new(HashingEmbedder::new(4));
    let router = PilotRouter::new(e.clone()).top_k(2);
    // Expert a: one pilot on the query's axis, one orthogonal. Expert b: halfway.
    router
        .add_expert(
            "a",
            vec![vec![1.0, 0.0, 0.0, 0.0], vec![0.0, 1.0, 0.0, 0.0]],
        )
        .unwrap();
    router
        .add_expert("b", vec![vec![1.0, 0.0, 1.0, 0.0]])
        .unwrap();
    let names = ["a".to_string(), "b".to_string()];
    let q = [1.0, 0.0, 0.0, 0.0];
    let mean = router.score(&q, &names);
    assert_eq!(mean[0].0, "b", "mean: a = 0.5, b = 0.707");
    assert!((mean[1].1 - 0.5).abs() < 1e-6);
    let max_router = PilotRouter::new(e).scoring(PilotScoring::Max);
    max_router.load_pilots(router.pilots()).unwrap();
    let max = max_router.score(&q, &names);
    assert_eq!(max[0], ("a".to_string(), 1.0), "max: a = 1.0");
    // Weights for top-2 are proportional to the scores.
    let routes = router.route(&Query::new("anything"), &names).await.unwrap();
    assert_eq!(routes.len(), 2);
    let sum: f32 = routes.iter().map(|r| r.weight).sum();
    assert!((sum - 1.0).abs() < 1e-5);
    assert!(router.remove_expert("a") && !router.remove_expert("a"));
    assert_eq!(router.experts(), ["b"]);
}

#[tokio::test]
async fn router_bad_input_is_typed() {
    let e = Arc::new(HashingEmbedder::new(4));
    let router = PilotRouter::new(e.clone());
    let err = router.route(&Query::new("q"), &[]).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    let err = router
        .route(&Query::new("q"), &["x".into()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no pilots"), "{err}");
    let err = router.add_expert("x", vec![vec![1.0, 2.0]]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::DimensionMismatch {
                expected: 4,
                actual: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        router
            .add_expert("x", vec![vec![f32::NAN, 0.0, 0.0, 0.0]])
            .is_err()
    );
    assert!(router.add_expert("x", vec![]).is_err());
    let foreign = Pilots {
        model: "minilm".into(),
        dimension: 4,
        experts: Default::default(),
    };
    let err = router.load_pilots(foreign).unwrap_err();
    assert!(err.to_string().contains("minilm"), "{err}");
}

#[tokio::test]
async fn pilots_round_trip_through_json() {
    let e = Arc::new(HashingEmbedder::new(8));
    let router = PilotRouter::new(e.clone());
    router
        .add_expert_from_queries("a", &["alpha beta", "gamma"])
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("ragweave-pilots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("pilots.json");
    router.pilots().save(&path).unwrap();
    let loaded = Pilots::load(&path).unwrap();
    assert_eq!(loaded, router.pilots());
    std::fs::write(
        &path,
        r#"{"model": "hashing-8", "dimension": "eight", "experts": {}}"#,
    )
    .unwrap();
    let err = Pilots::load(&path).unwrap_err();
    assert!(err.to_string().contains("dimension"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn fit_assigns_each_query_to_its_best_expert() {
    let e = Arc::new(HashingEmbedder::new(256));
    // Expert "bio" finds d-bio, "law" finds d-law, for every query.
    let experts: Vec<(String, Arc<dyn Retriever>)> = vec![
        (
            "bio".into(),
            Arc::new(StaticRetriever::ids("bio", &["d-bio"])),
        ),
        (
            "law".into(),
            Arc::new(StaticRetriever::ids("law", &["d-law"])),
        ),
    ];
    let lq = |text: &str, doc: &str| LabelledQuery {
        text: text.into(),
        relevant: HashMap::from([(doc.to_string(), 1.0)]),
    };
    let queries = vec![
        lq("protein folding", "d-bio"),
        lq("gene expression protein", "d-bio"),
        lq("contract breach", "d-law"),
        lq("court contract ruling", "d-law"),
        lq("nothing relevant anywhere", "d-none"),
    ];
    let (pilots, report) = fit_pilots(e.as_ref(), &experts, &queries, &FitOptions::default())
        .await
        .unwrap();
    assert_eq!(report.assigned["bio"], 2);
    assert_eq!(report.assigned["law"], 2);
    assert_eq!(report.skipped, 1);
    assert!((report.oracle_ndcg - 0.8).abs() < 1e-9);
    assert!((report.mean_ndcg["bio"] - 0.4).abs() < 1e-9);
    let router = PilotRouter::new(e.clone());
    router.load_pilots(pilots).unwrap();
    let names = ["bio".to_string(), "law".to_string()];
    let r = router
        .route(&Query::new("protein expression"), &names)
        .await
        .unwrap();
    assert_eq!(r[0].expert, "bio");
    let r = router
        .route(&Query::new("breach of contract"), &names)
        .await
        .unwrap();
    assert_eq!(r[0].expert, "law");
    // Ties: both experts return both docs, so every query ties.
    let tied: Vec<(String, Arc<dyn Retriever>)> = vec![
        (
            "x".into(),
            Arc::new(StaticRetriever::ids("x", &["d-bio", "d-law"])),
        ),
        (
            "y".into(),
            Arc::new(StaticRetriever::ids("y", &["d-bio", "d-law"])),
        ),
    ];
    let (_, skip) = fit_pilots(e.as_ref(), &tied, &queries[..4], &FitOptions::default())
        .await
        .unwrap();
    assert_eq!(skip.skipped, 4);
    let all = FitOptions {
        ties: TieRule::All,
        ..FitOptions::default()
    };
    let (p, both) = fit_pilots(e.as_ref(), &tied, &queries[..4], &all)
        .await
        .unwrap();
    assert_eq!((both.assigned["x"], both.assigned["y"]), (4, 4));
    assert_eq!(p.experts.len(), 2);
    assert!(
        fit_pilots(e.as_ref(), &[], &queries, &FitOptions::default())
            .await
            .is_err()
    );
}
