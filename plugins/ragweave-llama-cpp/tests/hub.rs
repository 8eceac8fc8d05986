//! The hub path without a network. In its own test binary: it sets environment variables,
//! which must not race with other tests' threads reading the environment.

use ragweave_llama_cpp::{LlamaCppError, LlamaGenerator, LlamaGeneratorOptions};

#[test]
fn a_hub_file_offline_says_to_pass_a_local_path() {
    // Point the hub at a closed port so the test never depends on the network.
    let cache = tempfile::tempdir().unwrap();
    // SAFETY: this binary has one test, so no other thread reads the environment meanwhile.
    unsafe {
        std::env::set_var("HF_HOME", cache.path());
        std::env::set_var("HF_ENDPOINT", "http://127.0.0.1:9");
    }
    let spec = "Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q8_0.gguf";
    let err = LlamaGenerator::load(spec, LlamaGeneratorOptions::default()).unwrap_err();
    assert!(
        matches!(&err, LlamaCppError::Hub { spec: s, .. } if s == spec),
        "{err}"
    );
    assert!(err.to_string().contains("local .gguf path"), "{err}");
    // A bare repository id asks the hub for its file list: the same typed error offline.
    let err = LlamaGenerator::load(
        "Qwen/Qwen2.5-0.5B-Instruct-GGUF",
        LlamaGeneratorOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(&err, LlamaCppError::Hub { .. }), "{err}");
    // Neither a path nor a hub id: the file is missing.
    let err =
        LlamaGenerator::load("./no/such/model.gguf", LlamaGeneratorOptions::default()).unwrap_err();
    assert!(matches!(&err, LlamaCppError::MissingFile { .. }), "{err}");
}
