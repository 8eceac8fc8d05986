//! How to reach a server and lay out a collection.

use std::time::Duration;

use ragweave_qdrant_layout::DenseSpec;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::retry::RetryPolicy;

/// Where the collection lives and how to talk to it.
///
/// TLS: an `https://` URL connects over TLS, checking the server's certificate against the
/// system's roots (a private CA can be added with the `SSL_CERT_FILE` environment variable).
#[derive(Debug, Clone)]
pub struct QdrantOptions {
    /// The server's gRPC URL, e.g. `http://localhost:6334` (Qdrant's gRPC port, not the
    /// REST port 6333).
    pub url: String,
    /// The collection.
    pub collection: String,
    /// Sent as the `api-key` header when set.
    pub api_key: Option<String>,
    /// Limit on each request.
    pub timeout: Duration,
    /// Limit on establishing a connection.
    pub connect_timeout: Duration,
    /// The dense vector the collection holds; `None` for a BM25-only collection (or to
    /// take an existing collection as it is).
    pub dense: Option<DenseSpec>,
    /// The average chunk length BM25 normalises by; fixed when the collection is created
    /// (recorded in its metadata). `None` takes the recorded value, or 256 for a new one.
    pub bm25_avg_len: Option<f32>,
    /// Create the collection when it does not exist (ingestion, migration). When false a
    /// missing collection is [`crate::QdrantError::UnknownCollection`] (search).
    pub create_missing: bool,
    /// Sharding and replication of a new collection.
    pub cluster: ClusterOptions,
    /// Metadata fields to index for filtering (created when missing).
    pub indexed_fields: Vec<IndexedField>,
    /// Points per upsert request.
    pub batch_size: usize,
    /// How transient failures are retried.
    pub retry: RetryPolicy,
}

impl QdrantOptions {
    /// Options for `collection` at `url`, with defaults: no API key, 30 s per request, 5 s
    /// to connect, BM25 only, create when missing, batches of 256, [`RetryPolicy`]'s
    /// defaults.
    pub fn new(url: impl Into<String>, collection: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            collection: collection.into(),
            api_key: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            dense: None,
            bm25_avg_len: None,
            create_missing: true,
            cluster: ClusterOptions::default(),
            indexed_fields: Vec::new(),
            batch_size: 256,
            retry: RetryPolicy::default(),
        }
    }

    /// Sets the dense vector spec.
    pub fn dense(mut self, dense: DenseSpec) -> Self {
        self.dense = Some(dense);
        self
    }

    /// Sets the API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }
}

/// How a new collection is spread over a cluster. `None` leaves the server's default
/// (one shard, one replica, write consistency 1). Ignored for an existing collection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterOptions {
    /// Shards the collection is split into.
    #[serde(default)]
    pub shard_number: Option<u32>,
    /// Copies of each shard.
    #[serde(default)]
    pub replication_factor: Option<u32>,
    /// Replicas that must apply a write before it is acknowledged.
    #[serde(default)]
    pub write_consistency_factor: Option<u32>,
}

/// A metadata field indexed for filtering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexedField {
    /// The metadata key (as in [`ragweave_core::Filter`]).
    pub field: String,
    /// The values it holds.
    #[serde(rename = "type")]
    pub kind: IndexedFieldType,
}

/// The value type of an indexed field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IndexedFieldType {
    /// Strings, matched exactly.
    Keyword,
    /// Integers.
    Integer,
    /// Booleans.
    Bool,
}
