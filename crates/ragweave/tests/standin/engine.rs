//! The stand-in's collections: Qdrant Edge shards, with the gRPC messages converted to the
//! engine's types (only what ragweave-qdrant sends).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use qdrant_client::Payload as QPayload;
use qdrant_client::qdrant as q;
use qdrant_client::qdrant::condition::ConditionOneOf;
use qdrant_client::qdrant::r#match::MatchValue;
use qdrant_client::qdrant::point_id::PointIdOptions;
use qdrant_client::qdrant::query::Variant;
use qdrant_client::qdrant::vector_input::Variant as Input;
use qdrant_client::qdrant::vectors::VectorsOptions;
use qdrant_client::qdrant::vectors_config::Config as VectorsKind;
use qdrant_edge::external::uuid::Uuid;
use qdrant_edge::{
    CountRequest, CreateIndex, Distance, EdgeConfig, EdgeShard, EdgeSparseVectorParams,
    EdgeVectorParams, FieldIndexOperations, Filter, Fusion, Modifier, NamedQuery,
    PayloadFieldSchema, PayloadSchemaType, PointId, PointInsertOperations, PointOperations,
    PointStruct, Prefetch, QueryEnum, QueryRequest, ScoringQuery, ScrollRequest, SparseVector,
    UpdateOperation, Vector, VectorInternal, Vectors, WithPayloadInterface, WithVector,
};
use serde_json::{Value, json};
use tonic::Status;

pub struct Collection {
    pub shard: EdgeShard,
    pub request: q::CreateCollection,
    pub indexes: Mutex<HashMap<String, i32>>,
}

fn bad(e: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("Wrong input: {e}"))
}

impl Collection {
    pub fn create(dir: PathBuf, request: q::CreateCollection) -> Result<Self, Status> {
        let mut config = EdgeConfig::default();
        if let Some(VectorsKind::ParamsMap(m)) = request
            .vectors_config
            .as_ref()
            .and_then(|v| v.config.as_ref())
        {
            for (name, p) in &m.map {
                config.vectors.insert(
                    name.clone(),
                    EdgeVectorParams::builder(p.size as usize, Distance::Cosine).build(),
                );
            }
        }
        if let Some(s) = &request.sparse_vectors_config {
            for (name, p) in &s.map {
                let idf = p.modifier == Some(q::Modifier::Idf as i32);
                config.sparse_vectors.insert(
                    name.clone(),
                    EdgeSparseVectorParams {
                        modifier: idf.then_some(Modifier::Idf),
                        ..Default::default()
                    },
                );
            }
        }
        std::fs::create_dir_all(&dir).map_err(bad)?;
        let shard = EdgeShard::new(&dir, config).map_err(bad)?;
        Ok(Self {
            shard,
            request,
            indexes: Mutex::new(HashMap::new()),
        })
    }

    pub fn info(&self) -> Result<q::CollectionInfo, Status> {
        let r = &self.request;
        let count = self.count(None)?;
        let payload_schema = self
            .indexes
            .lock()
            .unwrap()
            .iter()
            .map(|(k, t)| {
                (
                    k.clone(),
                    q::PayloadSchemaInfo {
                        data_type: *t,
                        points: Some(count as u64),
                        ..Default::default()
                    },
                )
            })
            .collect();
        Ok(q::CollectionInfo {
            status: q::CollectionStatus::Green as i32,
            points_count: Some(count as u64),
            payload_schema,
            config: Some(q::CollectionConfig {
                params: Some(q::CollectionParams {
                    shard_number: r.shard_number.unwrap_or(1),
                    vectors_config: r.vectors_config.clone(),
                    sparse_vectors_config: r.sparse_vectors_config.clone(),
                    replication_factor: r.replication_factor,
                    write_consistency_factor: r.write_consistency_factor,
                    ..Default::default()
                }),
                metadata: r.metadata.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    fn update(&self, op: UpdateOperation) -> Result<(), Status> {
        self.shard.update(op).map_err(bad)?;
        self.shard.flush();
        Ok(())
    }

    pub fn index(&self, field: &str, kind: i32) -> Result<(), Status> {
        let schema = match q::FieldType::try_from(kind) {
            Ok(q::FieldType::Keyword) => PayloadSchemaType::Keyword,
            Ok(q::FieldType::Integer) => PayloadSchemaType::Integer,
            Ok(q::FieldType::Bool) => PayloadSchemaType::Bool,
            other => return Err(bad(format!("the stand-in indexes no {other:?}"))),
        };
        self.update(UpdateOperation::FieldIndexOperation(
            FieldIndexOperations::CreateIndex(CreateIndex {
                field_name: field
                    .try_into()
                    .map_err(|_| bad(format!("bad key {field}")))?,
                field_schema: Some(PayloadFieldSchema::FieldType(schema)),
            }),
        ))?;
        let data_type = match schema {
            PayloadSchemaType::Keyword => q::PayloadSchemaType::Keyword,
            PayloadSchemaType::Integer => q::PayloadSchemaType::Integer,
            _ => q::PayloadSchemaType::Bool,
        };
        self.indexes
            .lock()
            .unwrap()
            .insert(field.to_string(), data_type as i32);
        Ok(())
    }

    pub fn upsert(&self, points: Vec<q::PointStruct>) -> Result<(), Status> {
        let points = points
            .into_iter()
            .map(|p| {
                let id = point_id(p.id.as_ref())?;
                let mut vectors: Vec<(String, Vector)> = Vec::new();
                if let Some(VectorsOptions::Vectors(named)) =
                    p.vectors.and_then(|v| v.vectors_options)
                {
                    for (name, v) in named.vectors {
                        vectors.push((name, vector(v)?));
                    }
                }
                let payload: serde_json::Map<String, Value> = QPayload::from(p.payload).into();
                let named: Vec<(&str, Vector)> = vectors
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.clone()))
                    .collect();
                Ok(PointStruct::new(id, Vectors::new_named(named), Value::Object(payload)).into())
            })
            .collect::<Result<Vec<_>, Status>>()?;
        self.update(UpdateOperation::PointOperation(
            PointOperations::UpsertPoints(PointInsertOperations::PointsList(points)),
        ))
    }

    pub fn delete(&self, selector: Option<q::PointsSelector>) -> Result<(), Status> {
        use q::points_selector::PointsSelectorOneOf as S;
        match selector.and_then(|s| s.points_selector_one_of) {
            Some(S::Points(list)) => {
                let ids = list
                    .ids
                    .iter()
                    .map(|id| point_id(Some(id)))
                    .collect::<Result<Vec<_>, _>>()?;
                self.update(UpdateOperation::PointOperation(
                    PointOperations::DeletePoints { ids },
                ))
            }
            Some(S::Filter(f)) => self.update(UpdateOperation::PointOperation(
                PointOperations::DeletePointsByFilter(filter(&f)?),
            )),
            None => Err(bad("no points selector")),
        }
    }

    pub fn count(&self, f: Option<&q::Filter>) -> Result<usize, Status> {
        self.shard
            .count(CountRequest {
                filter: f.map(filter).transpose()?,
                exact: true,
            })
            .map_err(bad)
    }

    pub fn get(&self, ids: &[q::PointId], payload: bool) -> Result<Vec<q::RetrievedPoint>, Status> {
        let ids = ids
            .iter()
            .map(|id| point_id(Some(id)))
            .collect::<Result<Vec<_>, _>>()?;
        let records = self
            .shard
            .retrieve(&ids, Some(WithPayloadInterface::Bool(payload)), None)
            .map_err(bad)?;
        Ok(records
            .into_iter()
            .map(|r| q::RetrievedPoint {
                id: Some(grpc_id(r.id)),
                payload: grpc_payload(r.payload.map(|p| p.0)),
                ..Default::default()
            })
            .collect())
    }

    pub fn scroll(&self, r: &q::ScrollPoints) -> Result<q::ScrollResponse, Status> {
        let with_payload = match r
            .with_payload
            .as_ref()
            .and_then(|w| w.selector_options.as_ref())
        {
            Some(q::with_payload_selector::SelectorOptions::Include(i)) => {
                serde_json::from_value(json!({ "include": i.fields })).map_err(bad)?
            }
            Some(q::with_payload_selector::SelectorOptions::Enable(b)) => {
                WithPayloadInterface::Bool(*b)
            }
            _ => WithPayloadInterface::Bool(false),
        };
        let (records, next) = self
            .shard
            .scroll(ScrollRequest {
                offset: r.offset.as_ref().map(|id| point_id(Some(id))).transpose()?,
                limit: Some(r.limit.unwrap_or(10) as usize),
                filter: r.filter.as_ref().map(filter).transpose()?,
                with_payload: Some(with_payload),
                with_vector: WithVector::Bool(false),
                order_by: None,
            })
            .map_err(bad)?;
        Ok(q::ScrollResponse {
            next_page_offset: next.map(grpc_id),
            result: records
                .into_iter()
                .map(|r| q::RetrievedPoint {
                    id: Some(grpc_id(r.id)),
                    payload: grpc_payload(r.payload.map(|p| p.0)),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
    }

    pub fn query(&self, r: &q::QueryPoints) -> Result<Vec<q::ScoredPoint>, Status> {
        let prefetches = r
            .prefetch
            .iter()
            .map(|p| {
                Ok(Prefetch {
                    prefetches: vec![],
                    query: Some(scoring(p.query.as_ref(), p.using.as_deref())?),
                    limit: p.limit.unwrap_or(10) as usize,
                    params: None,
                    filter: p.filter.as_ref().map(filter).transpose()?,
                    score_threshold: None,
                })
            })
            .collect::<Result<Vec<_>, Status>>()?;
        let found = self
            .shard
            .query(QueryRequest {
                prefetches,
                query: Some(scoring(r.query.as_ref(), r.using.as_deref())?),
                filter: r.filter.as_ref().map(filter).transpose()?,
                score_threshold: None,
                limit: r.limit.unwrap_or(10) as usize,
                offset: 0,
                params: None,
                with_vector: WithVector::Bool(false),
                with_payload: WithPayloadInterface::Bool(true),
            })
            .map_err(bad)?;
        Ok(found
            .into_iter()
            .map(|p| q::ScoredPoint {
                id: Some(grpc_id(p.id)),
                payload: grpc_payload(p.payload.map(|p| p.0)),
                score: p.score,
                ..Default::default()
            })
            .collect())
    }
}

fn scoring(query: Option<&q::Query>, using: Option<&str>) -> Result<ScoringQuery, Status> {
    let variant = query
        .and_then(|q| q.variant.as_ref())
        .ok_or_else(|| bad("no query"))?;
    Ok(match variant {
        Variant::Nearest(input) => {
            let v = match input.variant.as_ref() {
                Some(Input::Dense(d)) => VectorInternal::Dense(d.data.clone()),
                Some(Input::Sparse(s)) => VectorInternal::Sparse(SparseVector {
                    indices: s.indices.clone(),
                    values: s.values.clone(),
                }),
                other => return Err(bad(format!("the stand-in searches no {other:?}"))),
            };
            ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery {
                query: v,
                using: using.map(str::to_string),
            }))
        }
        Variant::Rrf(rrf) => ScoringQuery::Fusion(Fusion::Rrf {
            k: rrf.k.unwrap_or(2) as usize,
            weights: None,
        }),
        other => return Err(bad(format!("the stand-in runs no {other:?}"))),
    })
}

fn vector(v: q::Vector) -> Result<Vector, Status> {
    use q::vector::Vector as V;
    match v.vector {
        Some(V::Dense(d)) => Ok(Vector::new_dense(d.data)),
        Some(V::Sparse(s)) => Vector::new_sparse(s.indices, s.values).map_err(bad),
        other => Err(bad(format!("the stand-in stores no {other:?}"))),
    }
}

pub fn point_id(id: Option<&q::PointId>) -> Result<PointId, Status> {
    match id.and_then(|i| i.point_id_options.as_ref()) {
        Some(PointIdOptions::Num(n)) => Ok(PointId::NumId(*n)),
        Some(PointIdOptions::Uuid(s)) => Uuid::parse_str(s).map(PointId::Uuid).map_err(bad),
        None => Err(bad("point without id")),
    }
}

fn grpc_id(id: PointId) -> q::PointId {
    match id {
        PointId::NumId(n) => q::PointId::from(n),
        PointId::Uuid(u) => q::PointId::from(u.to_string()),
    }
}

fn grpc_payload(p: Option<serde_json::Map<String, Value>>) -> HashMap<String, q::Value> {
    p.map(|m| QPayload::from(m).into()).unwrap_or_default()
}

/// A gRPC filter as the engine's, through Qdrant's JSON form (the REST API's).
pub fn filter(f: &q::Filter) -> Result<Filter, Status> {
    serde_json::from_value(filter_json(f)?).map_err(bad)
}

fn filter_json(f: &q::Filter) -> Result<Value, Status> {
    let list = |cs: &[q::Condition]| cs.iter().map(condition_json).collect::<Result<Vec<_>, _>>();
    Ok(json!({
        "must": list(&f.must)?,
        "should": list(&f.should)?,
        "must_not": list(&f.must_not)?,
    }))
}

fn condition_json(c: &q::Condition) -> Result<Value, Status> {
    Ok(match c.condition_one_of.as_ref() {
        Some(ConditionOneOf::Field(fc)) => {
            let m = fc
                .r#match
                .as_ref()
                .and_then(|m| m.match_value.as_ref())
                .ok_or_else(|| bad("field condition without match"))?;
            let m = match m {
                MatchValue::Keyword(s) => json!({ "value": s }),
                MatchValue::Integer(i) => json!({ "value": i }),
                MatchValue::Boolean(b) => json!({ "value": b }),
                MatchValue::Keywords(k) => json!({ "any": k.strings }),
                MatchValue::Integers(i) => json!({ "any": i.integers }),
                other => return Err(bad(format!("the stand-in matches no {other:?}"))),
            };
            json!({ "key": fc.key, "match": m })
        }
        Some(ConditionOneOf::HasId(h)) => {
            let ids = h
                .has_id
                .iter()
                .map(|id| match point_id(Some(id))? {
                    PointId::NumId(n) => Ok(json!(n)),
                    PointId::Uuid(u) => Ok(json!(u.to_string())),
                })
                .collect::<Result<Vec<_>, Status>>()?;
            json!({ "has_id": ids })
        }
        Some(ConditionOneOf::Filter(f)) => filter_json(f)?,
        other => return Err(bad(format!("the stand-in filters on no {other:?}"))),
    })
}
