//! A stand-in Qdrant server for fault tests: Qdrant's gRPC API (qdrant-client's generated
//! service traits) over Qdrant Edge shards, the engine a Qdrant server runs. It serves only
//! the calls ragweave-qdrant makes, and can refuse API keys, fail upserts on demand and be
//! killed and restarted on its port. It is not evidence that the plugin works with a real
//! server (the `QDRANT_URL` suite is); it is how the retry, resume and error paths are
//! exercised over real gRPC where no server can be installed.

// Handlers answer in tonic's `Status`, as the generated service traits require.
#![allow(dead_code, clippy::result_large_err)]

mod engine;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use qdrant_client::qdrant as q;
use qdrant_client::qdrant::collections_server::{Collections, CollectionsServer};
use qdrant_client::qdrant::points_server::{Points, PointsServer};
use qdrant_client::qdrant::qdrant_server::{Qdrant, QdrantServer};
use tonic::{Code, Request, Response, Status};

use engine::Collection;

fn unimplemented(what: &str) -> Status {
    Status::unimplemented(format!("the stand-in server does not implement {what}"))
}

/// The server's data, which outlives a kill and restart.
pub struct State {
    // Before `dir`: shards flush when dropped, so they must go before their directory.
    collections: Mutex<HashMap<String, Arc<Collection>>>,
    /// What the next upserts do, one each: fail with a code, or pass (`None`).
    upsert_faults: Mutex<VecDeque<Option<Code>>>,
    /// Upsert requests received (including failed ones).
    pub upserts: AtomicUsize,
    api_key: Option<String>,
    dir: tempfile::TempDir,
}

#[derive(Clone)]
struct Service(Arc<State>);

impl Service {
    fn collection(&self, name: &str) -> Result<Arc<Collection>, Status> {
        self.0
            .collections
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .ok_or_else(|| {
                Status::not_found(format!("Not found: Collection `{name}` doesn't exist!"))
            })
    }
}

fn done() -> q::PointsOperationResponse {
    q::PointsOperationResponse {
        result: Some(q::UpdateResult {
            operation_id: Some(0),
            status: q::UpdateStatus::Completed as i32,
        }),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl Qdrant for Service {
    async fn health_check(
        &self,
        _: Request<q::HealthCheckRequest>,
    ) -> Result<Response<q::HealthCheckReply>, Status> {
        Ok(Response::new(q::HealthCheckReply {
            title: "qdrant stand-in (Qdrant Edge)".into(),
            version: "1.18.0".into(),
            commit: None,
        }))
    }
}

#[tonic::async_trait]
impl Collections for Service {
    async fn get(
        &self,
        r: Request<q::GetCollectionInfoRequest>,
    ) -> Result<Response<q::GetCollectionInfoResponse>, Status> {
        let c = self.collection(&r.get_ref().collection_name)?;
        Ok(Response::new(q::GetCollectionInfoResponse {
            result: Some(c.info()?),
            time: 0.0,
        }))
    }

    async fn create(
        &self,
        r: Request<q::CreateCollection>,
    ) -> Result<Response<q::CollectionOperationResponse>, Status> {
        let r = r.into_inner();
        let name = r.collection_name.clone();
        let mut all = self.0.collections.lock().unwrap();
        if all.contains_key(&name) {
            return Err(Status::already_exists(format!(
                "Wrong input: Collection `{name}` already exists!"
            )));
        }
        let dir = self.0.dir.path().join(format!("{name}-{}", all.len()));
        let c = Collection::create(dir, r)?;
        all.insert(name, Arc::new(c));
        Ok(Response::new(q::CollectionOperationResponse {
            result: true,
            time: 0.0,
        }))
    }

    async fn delete(
        &self,
        r: Request<q::DeleteCollection>,
    ) -> Result<Response<q::CollectionOperationResponse>, Status> {
        let gone = self
            .0
            .collections
            .lock()
            .unwrap()
            .remove(&r.get_ref().collection_name);
        Ok(Response::new(q::CollectionOperationResponse {
            result: gone.is_some(),
            time: 0.0,
        }))
    }

    async fn collection_exists(
        &self,
        r: Request<q::CollectionExistsRequest>,
    ) -> Result<Response<q::CollectionExistsResponse>, Status> {
        let exists = self
            .0
            .collections
            .lock()
            .unwrap()
            .contains_key(&r.get_ref().collection_name);
        Ok(Response::new(q::CollectionExistsResponse {
            result: Some(q::CollectionExists { exists }),
            time: 0.0,
        }))
    }

    async fn list(
        &self,
        _: Request<q::ListCollectionsRequest>,
    ) -> Result<Response<q::ListCollectionsResponse>, Status> {
        Err(unimplemented("list"))
    }
    async fn update(
        &self,
        _: Request<q::UpdateCollection>,
    ) -> Result<Response<q::CollectionOperationResponse>, Status> {
        Err(unimplemented("update"))
    }
    async fn update_aliases(
        &self,
        _: Request<q::ChangeAliases>,
    ) -> Result<Response<q::CollectionOperationResponse>, Status> {
        Err(unimplemented("update_aliases"))
    }
    async fn list_collection_aliases(
        &self,
        _: Request<q::ListCollectionAliasesRequest>,
    ) -> Result<Response<q::ListAliasesResponse>, Status> {
        Err(unimplemented("list_collection_aliases"))
    }
    async fn list_aliases(
        &self,
        _: Request<q::ListAliasesRequest>,
    ) -> Result<Response<q::ListAliasesResponse>, Status> {
        Err(unimplemented("list_aliases"))
    }
    async fn collection_cluster_info(
        &self,
        _: Request<q::CollectionClusterInfoRequest>,
    ) -> Result<Response<q::CollectionClusterInfoResponse>, Status> {
        Err(unimplemented("collection_cluster_info"))
    }
    async fn update_collection_cluster_setup(
        &self,
        _: Request<q::UpdateCollectionClusterSetupRequest>,
    ) -> Result<Response<q::UpdateCollectionClusterSetupResponse>, Status> {
        Err(unimplemented("update_collection_cluster_setup"))
    }
    async fn create_shard_key(
        &self,
        _: Request<q::CreateShardKeyRequest>,
    ) -> Result<Response<q::CreateShardKeyResponse>, Status> {
        Err(unimplemented("create_shard_key"))
    }
    async fn delete_shard_key(
        &self,
        _: Request<q::DeleteShardKeyRequest>,
    ) -> Result<Response<q::DeleteShardKeyResponse>, Status> {
        Err(unimplemented("delete_shard_key"))
    }
    async fn list_shard_keys(
        &self,
        _: Request<q::ListShardKeysRequest>,
    ) -> Result<Response<q::ListShardKeysResponse>, Status> {
        Err(unimplemented("list_shard_keys"))
    }
}

#[tonic::async_trait]
impl Points for Service {
    async fn upsert(
        &self,
        r: Request<q::UpsertPoints>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        self.0.upserts.fetch_add(1, Ordering::SeqCst);
        if let Some(Some(code)) = self.0.upsert_faults.lock().unwrap().pop_front() {
            return Err(Status::new(code, "injected by the stand-in"));
        }
        let r = r.into_inner();
        self.collection(&r.collection_name)?.upsert(r.points)?;
        Ok(Response::new(done()))
    }

    async fn delete(
        &self,
        r: Request<q::DeletePoints>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        let r = r.into_inner();
        self.collection(&r.collection_name)?.delete(r.points)?;
        Ok(Response::new(done()))
    }

    async fn get(&self, r: Request<q::GetPoints>) -> Result<Response<q::GetResponse>, Status> {
        let r = r.into_inner();
        let payload = !matches!(
            r.with_payload.and_then(|w| w.selector_options),
            Some(q::with_payload_selector::SelectorOptions::Enable(false)) | None
        );
        let result = self.collection(&r.collection_name)?.get(&r.ids, payload)?;
        Ok(Response::new(q::GetResponse {
            result,
            ..Default::default()
        }))
    }

    async fn create_field_index(
        &self,
        r: Request<q::CreateFieldIndexCollection>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        let r = r.into_inner();
        let c = self.collection(&r.collection_name)?;
        c.index(&r.field_name, r.field_type.unwrap_or_default())?;
        Ok(Response::new(done()))
    }

    async fn scroll(
        &self,
        r: Request<q::ScrollPoints>,
    ) -> Result<Response<q::ScrollResponse>, Status> {
        let r = r.into_inner();
        Ok(Response::new(
            self.collection(&r.collection_name)?.scroll(&r)?,
        ))
    }

    async fn count(
        &self,
        r: Request<q::CountPoints>,
    ) -> Result<Response<q::CountResponse>, Status> {
        let r = r.into_inner();
        let count = self
            .collection(&r.collection_name)?
            .count(r.filter.as_ref())?;
        Ok(Response::new(q::CountResponse {
            result: Some(q::CountResult {
                count: count as u64,
            }),
            ..Default::default()
        }))
    }

    async fn query(
        &self,
        r: Request<q::QueryPoints>,
    ) -> Result<Response<q::QueryResponse>, Status> {
        let r = r.into_inner();
        let result = self.collection(&r.collection_name)?.query(&r)?;
        Ok(Response::new(q::QueryResponse {
            result,
            ..Default::default()
        }))
    }

    async fn update_vectors(
        &self,
        _: Request<q::UpdatePointVectors>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(unimplemented("update_vectors"))
    }
    async fn delete_vectors(
        &self,
        _: Request<q::DeletePointVectors>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(unimplemented("delete_vectors"))
    }
    async fn set_payload(
        &self,
        _: Request<q::SetPayloadPoints>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(unimplemented("set_payload"))
    }
    async fn overwrite_payload(
        &self,
        _: Request<q::SetPayloadPoints>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(unimplemented("overwrite_payload"))
    }
    async fn delete_payload(
        &self,
        _: Request<q::DeletePayloadPoints>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(unimplemented("delete_payload"))
    }
    async fn clear_payload(
        &self,
        _: Request<q::ClearPayloadPoints>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(unimplemented("clear_payload"))
    }
    async fn delete_field_index(
        &self,
        _: Request<q::DeleteFieldIndexCollection>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(unimplemented("delete_field_index"))
    }
    async fn create_vector_name(
        &self,
        _: Request<q::CreateVectorNameRequest>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(unimplemented("create_vector_name"))
    }
    async fn delete_vector_name(
        &self,
        _: Request<q::DeleteVectorNameRequest>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(unimplemented("delete_vector_name"))
    }
    async fn search(
        &self,
        _: Request<q::SearchPoints>,
    ) -> Result<Response<q::SearchResponse>, Status> {
        Err(unimplemented("search"))
    }
    async fn search_batch(
        &self,
        _: Request<q::SearchBatchPoints>,
    ) -> Result<Response<q::SearchBatchResponse>, Status> {
        Err(unimplemented("search_batch"))
    }
    async fn search_groups(
        &self,
        _: Request<q::SearchPointGroups>,
    ) -> Result<Response<q::SearchGroupsResponse>, Status> {
        Err(unimplemented("search_groups"))
    }
    async fn recommend(
        &self,
        _: Request<q::RecommendPoints>,
    ) -> Result<Response<q::RecommendResponse>, Status> {
        Err(unimplemented("recommend"))
    }
    async fn recommend_batch(
        &self,
        _: Request<q::RecommendBatchPoints>,
    ) -> Result<Response<q::RecommendBatchResponse>, Status> {
        Err(unimplemented("recommend_batch"))
    }
    async fn recommend_groups(
        &self,
        _: Request<q::RecommendPointGroups>,
    ) -> Result<Response<q::RecommendGroupsResponse>, Status> {
        Err(unimplemented("recommend_groups"))
    }
    async fn discover(
        &self,
        _: Request<q::DiscoverPoints>,
    ) -> Result<Response<q::DiscoverResponse>, Status> {
        Err(unimplemented("discover"))
    }
    async fn discover_batch(
        &self,
        _: Request<q::DiscoverBatchPoints>,
    ) -> Result<Response<q::DiscoverBatchResponse>, Status> {
        Err(unimplemented("discover_batch"))
    }
    async fn update_batch(
        &self,
        _: Request<q::UpdateBatchPoints>,
    ) -> Result<Response<q::UpdateBatchResponse>, Status> {
        Err(unimplemented("update_batch"))
    }
    async fn query_batch(
        &self,
        _: Request<q::QueryBatchPoints>,
    ) -> Result<Response<q::QueryBatchResponse>, Status> {
        Err(unimplemented("query_batch"))
    }
    async fn query_groups(
        &self,
        _: Request<q::QueryPointGroups>,
    ) -> Result<Response<q::QueryGroupsResponse>, Status> {
        Err(unimplemented("query_groups"))
    }
    async fn facet(
        &self,
        _: Request<q::FacetCounts>,
    ) -> Result<Response<q::FacetResponse>, Status> {
        Err(unimplemented("facet"))
    }
    async fn search_matrix_pairs(
        &self,
        _: Request<q::SearchMatrixPoints>,
    ) -> Result<Response<q::SearchMatrixPairsResponse>, Status> {
        Err(unimplemented("search_matrix_pairs"))
    }
    async fn search_matrix_offsets(
        &self,
        _: Request<q::SearchMatrixPoints>,
    ) -> Result<Response<q::SearchMatrixOffsetsResponse>, Status> {
        Err(unimplemented("search_matrix_offsets"))
    }
}

/// A gRPC URL on a loopback port nothing listens on (bound, noted, released): a server
/// that is down.
pub fn unused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// A running stand-in on a loopback port.
pub struct StandIn {
    pub state: Arc<State>,
    addr: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl StandIn {
    /// Starts a server with no collections; with `api_key`, every collection and points
    /// call must carry it (the health check need not, as on Qdrant).
    pub async fn start(api_key: Option<&str>) -> Self {
        let state = Arc::new(State {
            dir: tempfile::tempdir().unwrap(),
            collections: Mutex::new(HashMap::new()),
            upsert_faults: Mutex::new(VecDeque::new()),
            upserts: AtomicUsize::new(0),
            api_key: api_key.map(str::to_string),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut s = Self {
            state,
            addr,
            task: None,
        };
        s.serve(listener);
        s
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let service = Service(self.state.clone());
        let key = self.state.api_key.clone();
        let check = move |r: Request<()>| -> Result<Request<()>, Status> {
            match &key {
                Some(k) if r.metadata().get("api-key").and_then(|v| v.to_str().ok()) != Some(k) => {
                    Err(Status::unauthenticated("Invalid api-key"))
                }
                _ => Ok(r),
            }
        };
        let incoming =
            tonic::transport::server::TcpIncoming::from_listener(listener, true, None).unwrap();
        let router = tonic::transport::Server::builder()
            .add_service(QdrantServer::new(service.clone()))
            .add_service(CollectionsServer::with_interceptor(
                service.clone(),
                check.clone(),
            ))
            .add_service(PointsServer::with_interceptor(service, check));
        self.task = Some(tokio::spawn(async move {
            router.serve_with_incoming(incoming).await.unwrap();
        }));
    }

    /// The gRPC URL to connect to.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills the server: open connections drop, new ones are refused. The data stays.
    pub async fn kill(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Starts serving again on the same port, with the data as it was.
    pub async fn restart(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    /// Makes the next upserts fail, one per code.
    pub fn fail_upserts(&self, codes: &[Code]) {
        let mut faults = self.state.upsert_faults.lock().unwrap();
        faults.extend(codes.iter().map(|c| Some(*c)));
    }

    /// Lets the next `n` upserts through before the failures queued after this call.
    pub fn pass_upserts(&self, n: usize) {
        let mut faults = self.state.upsert_faults.lock().unwrap();
        faults.extend(std::iter::repeat_n(None, n));
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
