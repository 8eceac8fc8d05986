//! The agent on a real model: a tiny random-weight GGUF this test writes (its text is noise,
//! so the checks are on the plumbing), llama.cpp, and a Qdrant Edge store on disk.

use std::sync::{Arc, Mutex};

use {{crate_name}}::{Agent, AgentOptions};
use ragweave::llama_cpp::{LlamaGenerator, LlamaGeneratorOptions};
use ragweave::qdrant_edge::{EdgeStore, EdgeStoreOptions};
use ragweave::{GenerateRequest, Generator, Query, Role, TokenStream, async_trait};
use ragweave_testkit::gguf::DecoderSpec;

/// Passes requests to the real model and keeps them, so the test can see what it was shown.
struct Recording {
    model: LlamaGenerator,
    requests: Mutex<Vec<GenerateRequest>>,
}

#[async_trait]
impl Generator for Recording {
    fn name(&self) -> &str {
        "recording"
    }

    async fn stream(&self, request: &GenerateRequest) -> ragweave::Result<TokenStream> {
        self.requests.lock().unwrap().push(request.clone());
        self.model.stream(request).await
    }
}

const DOCS: [(&str, &str); 3] = [
    (
        "rivers.md",
        "Rivers carry water from the mountains down to the sea.",
    ),
    (
        "bread.md",
        "Bread rises because yeast ferments sugar into carbon dioxide.",
    ),
    (
        "tides.md",
        "Tides follow the pull of the moon on the oceans twice a day.",
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn thinks_retrieves_remembers_and_streams() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.gguf");
    DecoderSpec::tiny().write(&model).unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    for (name, text) in DOCS {
        std::fs::write(docs.join(name), text).unwrap();
    }
    let generator = Arc::new(Recording {
        model: LlamaGenerator::load(model.to_str().unwrap(), LlamaGeneratorOptions::default())
            .unwrap(),
        requests: Mutex::new(Vec::new()),
    });
    let store = EdgeStore::open(dir.path().join("store"), EdgeStoreOptions::default()).unwrap();
    let options = AgentOptions {
        max_tokens: 12,
        thought_tokens: 8,
        ..AgentOptions::default()
    };
    let mut agent = Agent::new(generator.clone(), Arc::new(store), options).unwrap();
    let report = agent.ingest(&docs).await.unwrap();
    assert_eq!(report.added, 3);

    // Turn 1: a thought first, then retrieval, then the answer streamed.
    let mut streamed = String::new();
    let first = agent
        .ask("why does bread rise?", |piece| streamed.push_str(piece))
        .await
        .unwrap();
    assert_eq!(first.thoughts.len(), 1, "one thought per question");
    assert!(!first.thoughts[0].is_empty());
    assert!(
        first.answer.hits[0]
            .chunk
            .document_id
            .ends_with("/docs/bread.md"),
        "{}",
        first.answer.hits[0].chunk.document_id
    );
    assert!(!first.answer.text.is_empty());
    assert_eq!(
        streamed, first.answer.text,
        "the stream carries the whole answer"
    );
    {
        let requests = generator.requests.lock().unwrap();
        assert_eq!(requests.len(), 2, "a thought, then the answer");
        assert!(
            requests[0].messages[0]
                .content
                .contains("why does bread rise?")
        );
    }

    // Turn 2: memory shows the model the first exchange.
    agent.ask("and tides?", |_| {}).await.unwrap();
    {
        let requests = generator.requests.lock().unwrap();
        let shown = &requests.last().unwrap().messages;
        let said =
            |role: Role, text: &str| shown.iter().any(|m| m.role == role && m.content == text);
        assert!(
            said(Role::User, "why does bread rise?"),
            "the first question is remembered"
        );
        assert!(
            said(Role::Assistant, &first.answer.text),
            "the first answer is remembered"
        );
    }
    let query = Query::new("anything");
    let remembered = ragweave::Memory::load(agent.memory(), &agent.conversation(), &query)
        .await
        .unwrap();
    assert_eq!(remembered.len(), 4, "two exchanges");

    // A new conversation starts without them.
    agent.new_conversation();
    let before = generator.requests.lock().unwrap().len();
    agent.ask("what do rivers carry?", |_| {}).await.unwrap();
    let requests = generator.requests.lock().unwrap();
    let shown = &requests[before + 1].messages;
    assert!(!shown.iter().any(|m| m.content == "why does bread rise?"));
}

#[test]
fn a_missing_model_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.gguf");
    let error = Agent::open(
        missing.to_str().unwrap(),
        &dir.path().join("store"),
        AgentOptions::default(),
    )
    .err()
    .expect("a missing model was loaded");
    assert!(error.to_string().contains("missing.gguf"), "{error}");
}
