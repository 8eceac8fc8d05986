//! Creating a collection laid out as a ragweave store, or checking that one is.

use std::collections::HashMap;

use qdrant_client::Qdrant;
use qdrant_client::qdrant::vectors_config::Config as VectorsKind;
use qdrant_client::qdrant::{
    CollectionInfo, CreateCollection, CreateFieldIndexCollection, Distance, FieldType, Modifier,
    SparseVectorConfig, SparseVectorParams, VectorParams, VectorParamsMap, VectorsConfig,
};
use ragweave_core::DenseSpec;
use ragweave_qdrant_layout::{
    DEFAULT_BM25_AVG_LEN, DENSE_VECTOR, DOC_ID, SPARSE_VECTOR, payload_key,
};
use serde::{Deserialize, Serialize};
use tonic::Code;

use crate::error::QdrantError;
use crate::options::{IndexedFieldType, Target};

/// Key of ragweave's record in the collection's metadata.
const METADATA_KEY: &str = "ragweave";
const FORMAT: u32 = 1;

/// What ragweave records about a collection it created (Qdrant's collection metadata).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Layout {
    format: u32,
    pub(crate) dense: Option<DenseSpec>,
    pub(crate) bm25_avg_len: f32,
}

fn err(o: &Target, op: &'static str) -> impl Fn(qdrant_client::QdrantError) -> QdrantError {
    let (url, collection) = (o.url.clone(), o.collection.clone());
    move |e| QdrantError::from_client(&url, &collection, op, e)
}

fn incompatible(o: &Target, reason: impl Into<String>) -> QdrantError {
    QdrantError::Incompatible {
        url: o.url.clone(),
        collection: o.collection.clone(),
        reason: reason.into(),
    }
}

/// Creates the collection when missing (and allowed), checks it against `o`, indexes the
/// payload fields; returns the layout to write and search with.
pub(crate) async fn prepare(client: &Qdrant, o: &Target) -> Result<Layout, QdrantError> {
    let exists = client
        .collection_exists(&o.collection)
        .await
        .map_err(err(o, "collection lookup"))?;
    if !exists {
        if !o.create_missing {
            return Err(QdrantError::UnknownCollection {
                url: o.url.clone(),
                collection: o.collection.clone(),
            });
        }
        create(client, o).await?;
    }
    let info = client
        .collection_info(&o.collection)
        .await
        .map_err(err(o, "collection info"))?
        .result
        .ok_or_else(|| incompatible(o, "the server returned no collection info"))?;
    let layout = check(&info, o)?;
    index_fields(client, o, &info).await?;
    Ok(layout)
}

async fn create(client: &Qdrant, o: &Target) -> Result<(), QdrantError> {
    let layout = Layout {
        format: FORMAT,
        dense: o.dense.clone(),
        bm25_avg_len: o.bm25_avg_len.unwrap_or(DEFAULT_BM25_AVG_LEN),
    };
    let vectors_config = o.dense.as_ref().map(|d| VectorsConfig {
        config: Some(VectorsKind::ParamsMap(VectorParamsMap {
            map: HashMap::from([(
                DENSE_VECTOR.to_string(),
                VectorParams {
                    size: d.dimension as u64,
                    distance: Distance::Cosine.into(),
                    ..Default::default()
                },
            )]),
        })),
    });
    let sparse_vectors_config = SparseVectorConfig {
        map: HashMap::from([(
            SPARSE_VECTOR.to_string(),
            SparseVectorParams {
                // BM25's IDF half, computed by the server over the collection.
                modifier: Some(Modifier::Idf.into()),
                ..Default::default()
            },
        )]),
    };
    let record = serde_json::to_value(&layout).expect("layout serializes");
    let request = CreateCollection {
        collection_name: o.collection.clone(),
        vectors_config,
        sparse_vectors_config: Some(sparse_vectors_config),
        shard_number: o.cluster.shard_number,
        replication_factor: o.cluster.replication_factor,
        write_consistency_factor: o.cluster.write_consistency_factor,
        metadata: HashMap::from([(METADATA_KEY.to_string(), record.into())]),
        ..Default::default()
    };
    match client.create_collection(request).await {
        Ok(_) => Ok(()),
        // Another client created it between our lookup and create: check theirs instead.
        Err(qdrant_client::QdrantError::ResponseError { status })
            if status.code() == Code::AlreadyExists
                || status.message().contains("already exists") =>
        {
            Ok(())
        }
        Err(e) => Err(err(o, "create collection")(e)),
    }
}

fn recorded_layout(info: &CollectionInfo, o: &Target) -> Result<Option<Layout>, QdrantError> {
    let Some(value) = info
        .config
        .as_ref()
        .and_then(|c| c.metadata.get(METADATA_KEY))
    else {
        return Ok(None);
    };
    let json = serde_json::Value::from(value.clone());
    let layout: Layout = serde_json::from_value(json).map_err(|e| {
        incompatible(
            o,
            format!("its `{METADATA_KEY}` metadata is unreadable ({e})"),
        )
    })?;
    if layout.format != FORMAT {
        return Err(incompatible(
            o,
            format!(
                "it is in ragweave layout {} (this build reads {FORMAT})",
                layout.format
            ),
        ));
    }
    Ok(Some(layout))
}

fn dense_size(info: &CollectionInfo) -> Option<u64> {
    let config = info
        .config
        .as_ref()?
        .params
        .as_ref()?
        .vectors_config
        .as_ref()?;
    match config.config.as_ref()? {
        VectorsKind::ParamsMap(m) => m.map.get(DENSE_VECTOR).map(|p| p.size),
        VectorsKind::Params(_) => None,
    }
}

fn check(info: &CollectionInfo, o: &Target) -> Result<Layout, QdrantError> {
    let params = info.config.as_ref().and_then(|c| c.params.as_ref());
    let has_bm25 = params
        .and_then(|p| p.sparse_vectors_config.as_ref())
        .is_some_and(|s| s.map.contains_key(SPARSE_VECTOR));
    if !has_bm25 {
        return Err(incompatible(
            o,
            format!(
                "it has no `{SPARSE_VECTOR}` sparse vector, so it is not a ragweave store; \
                 choose another collection name"
            ),
        ));
    }
    let recorded = recorded_layout(info, o)?;
    let size = dense_size(info);
    let dense = match (&o.dense, size) {
        (Some(want), Some(size)) if size as usize != want.dimension => {
            return Err(QdrantError::VectorSize {
                url: o.url.clone(),
                collection: o.collection.clone(),
                stored: size as usize,
                given: want.dimension,
            });
        }
        (Some(want), Some(_)) => {
            if let Some(stored) = recorded.as_ref().and_then(|l| l.dense.as_ref())
                && stored.model != want.model
            {
                return Err(incompatible(
                    o,
                    format!(
                        "it holds vectors of `{}`, but the embedder is `{}`; use another \
                         collection to switch models",
                        stored.model, want.model
                    ),
                ));
            }
            Some(want.clone())
        }
        (Some(_), None) => {
            return Err(incompatible(
                o,
                "it holds no dense vectors (it was created BM25-only); ingest into a new \
                 collection to add them",
            ));
        }
        (None, Some(size)) => match recorded.as_ref().and_then(|l| l.dense.clone()) {
            Some(spec) => Some(spec),
            None => {
                return Err(incompatible(
                    o,
                    format!(
                        "it holds {size}-d dense vectors but no record of the model that \
                         made them; name the embedder"
                    ),
                ));
            }
        },
        (None, None) => None,
    };
    let stored_len = recorded
        .as_ref()
        .map(|l| l.bm25_avg_len)
        .unwrap_or(DEFAULT_BM25_AVG_LEN);
    if let Some(want) = o.bm25_avg_len
        && want != stored_len
    {
        return Err(incompatible(
            o,
            format!(
                "it weighs BM25 for chunks of {stored_len} tokens on average, not {want}; \
                 use another collection to change it"
            ),
        ));
    }
    Ok(Layout {
        format: FORMAT,
        dense,
        bm25_avg_len: stored_len,
    })
}

async fn index_fields(
    client: &Qdrant,
    o: &Target,
    info: &CollectionInfo,
) -> Result<(), QdrantError> {
    let mut wanted = vec![(DOC_ID.to_string(), FieldType::Keyword)];
    for f in &o.indexed_fields {
        let key = payload_key(&f.field, "indexed_fields").map_err(|e| QdrantError::Option {
            option: "indexed_fields",
            reason: e.to_string(),
        })?;
        let kind = match f.kind {
            IndexedFieldType::Keyword => FieldType::Keyword,
            IndexedFieldType::Integer => FieldType::Integer,
            IndexedFieldType::Bool => FieldType::Bool,
        };
        wanted.push((key, kind));
    }
    for (field, kind) in wanted {
        if info.payload_schema.contains_key(&field) {
            continue;
        }
        let request = CreateFieldIndexCollection {
            collection_name: o.collection.clone(),
            wait: Some(true),
            field_name: field,
            field_type: Some(kind.into()),
            ..Default::default()
        };
        client
            .create_field_index(request)
            .await
            .map_err(err(o, "create payload index"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use qdrant_client::qdrant::{CollectionConfig, CollectionParams};

    fn info(dense: Option<u64>, layout: Option<&Layout>) -> CollectionInfo {
        let params = CollectionParams {
            vectors_config: dense.map(|size| VectorsConfig {
                config: Some(VectorsKind::ParamsMap(VectorParamsMap {
                    map: HashMap::from([(
                        DENSE_VECTOR.into(),
                        VectorParams {
                            size,
                            ..Default::default()
                        },
                    )]),
                })),
            }),
            sparse_vectors_config: Some(SparseVectorConfig {
                map: HashMap::from([(SPARSE_VECTOR.into(), SparseVectorParams::default())]),
            }),
            ..Default::default()
        };
        let metadata = layout
            .map(|l| {
                HashMap::from([(
                    METADATA_KEY.to_string(),
                    serde_json::to_value(l).unwrap().into(),
                )])
            })
            .unwrap_or_default();
        CollectionInfo {
            config: Some(CollectionConfig {
                params: Some(params),
                metadata,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn with(o: &Target, dense: DenseSpec) -> Target {
        Target {
            dense: Some(dense),
            ..o.clone()
        }
    }

    fn spec(model: &str, dimension: usize) -> DenseSpec {
        DenseSpec {
            model: model.into(),
            dimension,
        }
    }

    #[test]
    fn an_existing_collection_is_checked_against_the_options() {
        let layout = Layout {
            format: FORMAT,
            dense: Some(spec("m", 384)),
            bm25_avg_len: 40.0,
        };
        let o = crate::QdrantOptions::at("http://q:6334").target("docs");
        let got = check(&info(Some(384), Some(&layout)), &o).unwrap();
        assert_eq!(got, layout, "taken as recorded");

        let e = check(&info(Some(384), Some(&layout)), &with(&o, spec("m", 64))).unwrap_err();
        assert!(
            matches!(
                e,
                QdrantError::VectorSize {
                    stored: 384,
                    given: 64,
                    ..
                }
            ),
            "{e}"
        );
        let e = check(
            &info(Some(384), Some(&layout)),
            &with(&o, spec("other", 384)),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("`m`, but the embedder is `other`"),
            "{e}"
        );
        let e = check(&info(None, None), &with(&o, spec("m", 384))).unwrap_err();
        assert!(e.to_string().contains("holds no dense vectors"), "{e}");
        let mut len = o.clone();
        len.bm25_avg_len = Some(100.0);
        let e = check(&info(Some(384), Some(&layout)), &len).unwrap_err();
        assert!(
            e.to_string().contains("40 tokens on average, not 100"),
            "{e}"
        );
        let mut foreign = info(None, None);
        foreign
            .config
            .as_mut()
            .unwrap()
            .params
            .as_mut()
            .unwrap()
            .sparse_vectors_config = None;
        assert!(
            check(&foreign, &o)
                .unwrap_err()
                .to_string()
                .contains("not a ragweave store")
        );
    }
}
