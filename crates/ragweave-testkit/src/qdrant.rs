//! A real Qdrant server for tests: the binary in `../shared/qdrant` (or `$RAGWEAVE_QDRANT_BIN`),
//! one node on loopback ports of its own, its storage in a temporary directory, stopped when
//! dropped; or several peers of one cluster ([`QdrantServer::start_cluster`]).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Qdrant server. Its data outlives [`QdrantServer::kill`], so
/// [`QdrantServer::restart`] brings back what was written.
pub struct QdrantServer {
    child: Option<Child>,
    binary: PathBuf,
    dir: PathBuf,
    http: u16,
    grpc: u16,
    api_key: Option<String>,
    /// In a cluster: this peer's peer-to-peer port, and the first peer's, which others join.
    cluster: Option<(u16, u16)>,
}

/// The Qdrant binary: `$RAGWEAVE_QDRANT_BIN`, else `../shared/qdrant/qdrant` beside the
/// workspace. Panics, naming both, when it is not there.
pub fn binary() -> PathBuf {
    let path = std::env::var_os("RAGWEAVE_QDRANT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/qdrant/qdrant")
        });
    assert!(
        path.is_file(),
        "no Qdrant server binary at {} (set RAGWEAVE_QDRANT_BIN to a Qdrant 1.18 `qdrant`)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

impl QdrantServer {
    /// Starts a server (requiring `api_key` when one is given) and waits until it is ready.
    pub fn start(api_key: Option<&str>) -> Self {
        let mut server = Self::start_unspawned();
        server.api_key = api_key.map(str::to_string);
        server.spawn();
        server
    }

    /// Starts `peers` servers as one cluster (distributed mode, loopback peer-to-peer
    /// ports), the first one first, and waits until the first lists them all.
    pub fn start_cluster(peers: usize) -> Vec<Self> {
        let first = free_port();
        let mut servers: Vec<Self> = Vec::with_capacity(peers);
        for i in 0..peers {
            let mut server = Self::start_unspawned();
            let p2p = if i == 0 { first } else { free_port() };
            server.cluster = Some((p2p, first));
            server.spawn();
            servers.push(server);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while servers[0].peers() < peers {
            assert!(
                Instant::now() < deadline,
                "the cluster did not form within 60 s: {} of {peers} peers",
                servers[0].peers()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        servers
    }

    fn start_unspawned() -> Self {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("ragweave-qdrant-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        Self {
            child: None,
            binary: binary(),
            dir,
            http: free_port(),
            grpc: free_port(),
            api_key: None,
            cluster: None,
        }
    }

    /// How many peers this server's `GET /cluster` lists.
    pub fn peers(&self) -> usize {
        self.get("/cluster")
            .map_or(0, |body| body.matches("\"uri\"").count())
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.join("log")).expect("a log file");
        let mut cmd = Command::new(&self.binary);
        cmd.current_dir(&self.dir)
            .env("QDRANT__SERVICE__HOST", "127.0.0.1")
            .env("QDRANT__SERVICE__HTTP_PORT", self.http.to_string())
            .env("QDRANT__SERVICE__GRPC_PORT", self.grpc.to_string())
            .env("QDRANT__STORAGE__STORAGE_PATH", self.dir.join("storage"))
            .env(
                "QDRANT__STORAGE__SNAPSHOTS_PATH",
                self.dir.join("snapshots"),
            )
            .env("QDRANT__TELEMETRY_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log);
        if let Some(key) = &self.api_key {
            cmd.env("QDRANT__SERVICE__API_KEY", key);
        }
        if let Some((p2p, first)) = self.cluster {
            cmd.env("QDRANT__CLUSTER__ENABLED", "true")
                .env("QDRANT__CLUSTER__P2P__PORT", p2p.to_string())
                .args(["--uri", &format!("http://127.0.0.1:{p2p}")]);
            if p2p != first {
                cmd.args(["--bootstrap", &format!("http://127.0.0.1:{first}")]);
            }
        }
        self.child = Some(cmd.spawn().expect("the Qdrant server starts"));
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.ready() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        panic!("the Qdrant server was not ready within 60 s; its log:\n{log}");
    }

    /// `GET /readyz` over plain HTTP answered 200.
    fn ready(&self) -> bool {
        self.get("/readyz").is_some()
    }

    /// The body of `GET path` over plain HTTP, when it answers 200.
    fn get(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.http)).ok()?;
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        s.write_all(request.as_bytes()).ok()?;
        let mut reply = String::new();
        let _ = s.read_to_string(&mut reply);
        reply
            .starts_with("HTTP/1.1 200")
            .then(|| reply.split_once("\r\n\r\n").map(|(_, b)| b.to_string()))
            .flatten()
    }

    /// The gRPC URL clients connect to.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc)
    }

    /// The API key it requires, if any.
    pub fn api_key(&self) -> Option<&str> {
        self.api_key.as_deref()
    }

    /// Stops the server at once (SIGKILL), keeping its data.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same ports and data, and waits until it is ready.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for QdrantServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A gRPC URL on loopback where nothing listens: a server that is down.
pub fn unused_url() -> String {
    format!("http://127.0.0.1:{}", free_port())
}
