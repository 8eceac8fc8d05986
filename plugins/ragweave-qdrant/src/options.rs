//! How to reach a server and lay out a collection.

use std::sync::Arc;
use std::time::Duration;

use ragweave_core::{DenseSpec, Embedder, RetryPolicy};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How to reach the server and lay out the collection: also the fields of the `qdrant`
/// store kind beside `collection` and `embedder`.
///
/// TLS: an `https://` URL connects over TLS, checking the server's certificate against the
/// system's roots (a private CA can be added with the `SSL_CERT_FILE` environment variable).
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct QdrantOptions {
    /// The server's gRPC URL, e.g. `http://localhost:6334` (Qdrant's gRPC port, not the
    /// REST port 6333); `https://` uses TLS. Default: `$QDRANT_URL`, else
    /// `http://localhost:6334`.
    pub url: Option<String>,
    /// The environment variable holding the API key (read when set; never the key itself in
    /// a file).
    pub api_key_env: String,
    /// The API key itself, for code that has it; wins over `api_key_env`.
    #[serde(skip)]
    pub api_key: Option<String>,
    /// Seconds each request may take.
    #[serde(
        rename = "timeout_secs",
        with = "ragweave_core::config::duration::secs"
    )]
    #[schemars(rename = "timeout_secs", with = "f64")]
    pub timeout: Duration,
    /// Seconds establishing a connection may take.
    #[serde(
        rename = "connect_timeout_secs",
        with = "ragweave_core::config::duration::secs"
    )]
    #[schemars(rename = "connect_timeout_secs", with = "f64")]
    pub connect_timeout: Duration,
    /// The average chunk length BM25 normalises by; fixed when the collection is created
    /// (recorded in its metadata). Unset takes the recorded value, or 256 for a new one.
    pub bm25_avg_len: Option<f32>,
    /// Create the collection when it does not exist (ingestion, migration). When false a
    /// missing collection is [`crate::QdrantError::UnknownCollection`] (search). A config
    /// creates it where the command ingests.
    #[serde(skip)]
    pub create_missing: bool,
    /// Sharding and replication of a new collection.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub cluster: ClusterOptions,
    /// Metadata fields to index for filtering (created when missing).
    pub indexed_fields: Vec<IndexedField>,
    /// Points per upsert request.
    pub batch_size: usize,
    /// How transient failures (unavailable, deadline exceeded, resource exhausted) are
    /// retried.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub retry: RetryPolicy,
    /// The embedder whose dense vectors the collection holds; `None` for a BM25-only
    /// collection (or to take an existing collection as it is).
    #[serde(skip)]
    pub embedder: Option<Arc<dyn Embedder>>,
    /// Without an embedder, the dense vectors to hold all the same: a copy's target, whose
    /// vectors arrive made.
    #[serde(skip)]
    pub dense: Option<DenseSpec>,
}

impl Default for QdrantOptions {
    /// `$QDRANT_URL` or the local server, the key from `$QDRANT_API_KEY`, 30 s per request,
    /// 5 s to connect, BM25 only, create when missing, batches of 256, [`RetryPolicy`]'s
    /// defaults.
    fn default() -> Self {
        Self {
            url: None,
            api_key_env: "QDRANT_API_KEY".into(),
            api_key: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            bm25_avg_len: None,
            create_missing: true,
            cluster: ClusterOptions::default(),
            indexed_fields: Vec::new(),
            batch_size: 256,
            retry: RetryPolicy::default(),
            embedder: None,
            dense: None,
        }
    }
}

impl std::fmt::Debug for QdrantOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QdrantOptions")
            .field("url", &self.url)
            .field("api_key_env", &self.api_key_env)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .field("bm25_avg_len", &self.bm25_avg_len)
            .field("create_missing", &self.create_missing)
            .field("cluster", &self.cluster)
            .field("batch_size", &self.batch_size)
            .field("embedder", &self.embedder.as_ref().map(|e| e.model_id()))
            .finish_non_exhaustive()
    }
}

impl QdrantOptions {
    /// The defaults, at `url`.
    pub fn at(url: impl Into<String>) -> Self {
        Self {
            url: Some(url.into()),
            ..Self::default()
        }
    }

    /// Holds `embedder`'s dense vectors.
    pub fn embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// Sends `key` as the API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The URL to connect to, with its default applied.
    pub fn resolved_url(&self) -> String {
        self.url.clone().unwrap_or_else(|| {
            std::env::var("QDRANT_URL")
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "http://localhost:6334".into())
        })
    }

    /// The API key to send: the one given, else `$api_key_env` when set and not empty.
    pub fn resolved_api_key(&self) -> Option<String> {
        self.api_key.clone().or_else(|| {
            std::env::var(&self.api_key_env)
                .ok()
                .filter(|k| !k.is_empty())
        })
    }

    pub(crate) fn target(&self, collection: &str) -> Target {
        Target {
            url: self.resolved_url(),
            collection: collection.to_string(),
            dense: self
                .embedder
                .as_deref()
                .map(DenseSpec::of)
                .or_else(|| self.dense.clone()),
            bm25_avg_len: self.bm25_avg_len,
            create_missing: self.create_missing,
            cluster: self.cluster.clone(),
            indexed_fields: self.indexed_fields.clone(),
        }
    }
}

/// One collection at one server, as [`crate::QdrantStore::connect`] resolved it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) url: String,
    pub(crate) collection: String,
    pub(crate) dense: Option<DenseSpec>,
    pub(crate) bm25_avg_len: Option<f32>,
    pub(crate) create_missing: bool,
    pub(crate) cluster: ClusterOptions,
    pub(crate) indexed_fields: Vec<IndexedField>,
}

/// How a new collection is spread over a cluster. `None` leaves the server's default
/// (one shard, one replica, write consistency 1). Ignored for an existing collection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterOptions {
    /// Shards a new collection is split into.
    pub shard_number: Option<u32>,
    /// Copies of each shard of a new collection.
    pub replication_factor: Option<u32>,
    /// Replicas that must apply a write to a new collection before it is acknowledged.
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
