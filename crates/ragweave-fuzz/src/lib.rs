//! # ragweave-fuzz
//!
//! Fuzzing on stable Rust for every parser that reads what users and clients send: configs
//! (TOML and JSON, validated against the full registry), the file loaders (HTML, Markdown,
//! JSONL, text), the chunker, BEIR datasets, the OpenAI plugin's server-sent-event decoder
//! and the HTTP API's request parsing. Each [`Target`] takes bytes; the [`run()`] loop mutates
//! seed inputs (bit flips, cuts, repeats, splices, tokens of the format), runs each one
//! under `catch_unwind` and records every panic with the input that caused it.
//!
//! No coverage guidance (cargo-fuzz needs nightly): the mutations are structure-aware
//! instead, with dictionaries of each format's tokens and repeats that build deep nesting.
//!
//! A brief run is a test (`cargo test --workspace --test fuzz`); a long one sets
//! `RAGWEAVE_FUZZ_EXECS` (per target) and optionally `RAGWEAVE_FUZZ_SEED`, and writes what
//! it finds under `RAGWEAVE_FUZZ_FINDINGS`.

mod mutate;
mod run;
mod targets;

pub use mutate::{Mutator, Rng};
pub use run::{Finding, Report, run};
pub use targets::{Target, all};
