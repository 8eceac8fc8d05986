//! # ragweave-core
//!
//! The component traits of the ragweave RAG SDK, the [`Pipeline`] that composes them, the
//! built-in algorithms (reciprocal rank fusion, long-context reorder, pilot-embedding
//! routing, think-then-retrieve, windowed memory) and the config registry that builds a
//! pipeline from TOML or JSON.
//!
//! Every trait is object safe and `Send + Sync`, so components live behind `Arc<dyn _>`.
//! Plugins (llama.cpp, candle, Qdrant, ...) implement the traits in their own crates.

#![warn(missing_docs)]

pub mod algorithms;
mod answer;
pub mod bounded;
pub mod builtin;
pub mod config;
mod error;
mod message;
pub mod pipeline;
mod query;
mod retry;
mod stop;
pub mod traits;
mod types;

pub use algorithms::adaptive::{AdaptiveWeights, Signal, SignalTerm};
pub use algorithms::adaptive_fit::{
    AdaptiveFitOptions, AdaptiveFitReport, FusionExample, SelectionStep, fit_adaptive,
};
pub use algorithms::fusion::{FuseBy, Fusion, FusionMethod};
pub use algorithms::metrics::ndcg_at_k;
pub use algorithms::pilot_fit::{FitOptions, FitReport, LabelledQuery, TieRule, fit_pilots};
pub use algorithms::pilot_router::{PilotRouter, PilotRouterOptions, PilotScoring, Pilots};
pub use algorithms::reorder::{ContextBudget, LongContextReorder, RankOrder, long_context_order};
pub use algorithms::rrf::{RankedList, Rrf};
pub use algorithms::think::{DEFAULT_THINK_PROMPT, ThinkMode, ThinkOptions, ThinkThenRetrieve};
pub use algorithms::window_memory::{WindowLimits, WindowMemory};
pub use answer::{Answer, Citation, StageTrace, Trace};
pub use builtin::bm25::{Bm25Index, Bm25Params, bm25_tokens};
pub use builtin::corpus::read_jsonl_corpus;
pub use builtin::embed_query::EmbedQuery;
pub use builtin::hashing_embedder::HashingEmbedder;
pub use builtin::memory_store::{DenseRetriever, InMemoryStore};
pub use error::{Error, Message, Report, Result};
pub use message::{ChatMessage, Role};
pub use pipeline::{
    AskEvent, AskRequest, ExpertFailure, Pipeline, PipelineBuilder, PromptTemplate, StageTimeouts,
    Timeout,
};
pub use query::{DEFAULT_TOP_K, Filter, Query, QueryVector};
pub use retry::{RetryFailure, RetryPolicy, Retryable};
pub use stop::{StopMatcher, StopStep};
pub use traits::chunk_store::{
    ChunkStore, DenseSpec, ExportPage, HybridFusion, SearchMode, StoreSearch, check_batch,
};
pub use traits::context_arranger::ContextArranger;
pub use traits::embedder::{EmbedInput, Embedder, InputKind};
pub use traits::generator::{
    Completion, FinishReason, GenerateRequest, Generator, SamplingParams, TokenStream,
};
pub use traits::memory::Memory;
pub use traits::query_transform::QueryTransform;
pub use traits::reranker::Reranker;
pub use traits::retriever::{Retriever, best_per_document};
pub use traits::router::{Route, Router};
pub use traits::token_counter::{ApproxTokenCounter, TokenCounter};
pub use types::{
    Chunk, Document, EmbeddedChunk, Hit, Metadata, sort_hits, sort_hits_by_id_on_ties,
};

/// Re-exported so plugins implement the traits with the same macro version.
pub use async_trait::async_trait;
