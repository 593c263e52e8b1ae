//! A validator's application side: the application served to CometBFT over ABCI, and the node
//! API over the same application, submitting transactions through CometBFT's mempool.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use jsonrpsee::core::async_trait;
use jsonrpsee::core::client::{ClientT, Error as RpcClientError};
use jsonrpsee::core::params::ObjectParams;
use jsonrpsee::server::ServerHandle;
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use nexus_abci::{Abci, Fault};
use nexus_consensus::app::tx::VerifiedTx;
use nexus_consensus::app::{App, NodeConfig};
use nexus_consensus::{RocksBackend, Store, StoreConfig};
use nexus_types::Hash32;
use serde::Deserialize;
use tokio::sync::{RwLock, RwLockReadGuard, broadcast, oneshot};

use crate::code;
use crate::node::{NodeError, Outcome, Published, SetupError, SubmitError};
use crate::server::{Node, Rpc, serve};

/// Transactions handed to CometBFT at once; more wait their turn here instead of opening more
/// connections than CometBFT's RPC accepts.
const BROADCASTS_IN_FLIGHT: usize = 256;

/// Blocks buffered per node API subscriber.
const SUBSCRIBER_BUFFER_BLOCKS: usize = 1024;

/// How a validator's application side runs.
#[derive(Debug, Clone)]
pub struct ValidatorConfig {
    /// Where the state lives (RocksDB under `db/`, compiled modules under `modules/`).
    pub data_dir: PathBuf,
    /// The unix socket CometBFT connects to.
    pub abci_socket: PathBuf,
    /// Where to serve the node API.
    pub rpc_addr: SocketAddr,
    /// CometBFT's RPC (`http://127.0.0.1:26657`), where transactions are submitted.
    pub cometbft_rpc: String,
    /// The chain's numeric id and name, from the genesis (the application learns them only at
    /// `InitChain`, but the API checks signatures from the start).
    pub chain_id: u64,
    /// See `chain_id`.
    pub chain_name: String,
    /// Heights whose state stays provable; `None` keeps all (archive).
    pub keep_recent: Option<u64>,
    /// Ethereum JSON-RPC endpoints (`http://`) the validator's observer follows; without one it
    /// votes on no Ethereum block.
    pub eth_rpc: Vec<String>,
    /// The network's genesis (for parameters before `InitChain` has run).
    pub genesis: nexus_consensus::app::Genesis,
    /// The validator's ed25519 consensus key: its threshold-signing participant signs protocol
    /// messages in its vote extensions and keeps its keystore (encrypted under this key) in
    /// `data_dir/tss`. `None`: it takes no part (a full node).
    pub consensus_key: Option<ed25519_consensus::SigningKey>,
}

/// Why a validator's application side could not start.
#[derive(Debug, thiserror::Error)]
pub enum ValidatorError {
    /// The store or application failed.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The data directory or the node API address.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// CometBFT's RPC URL is unusable.
    #[error("bad CometBFT RPC URL {url}: {reason}")]
    CometRpc {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The ABCI adapter failed.
    #[error(transparent)]
    Abci(#[from] nexus_abci::AbciError),
    /// The Ethereum endpoints are unusable.
    #[error(transparent)]
    Eth(#[from] crate::EthConfigError),
    /// The threshold-signing keystore cannot be opened.
    #[error(transparent)]
    Keystore(#[from] nexus_tss::keystore::KeystoreError),
}

/// The node API's view of a validator.
struct Chain {
    abci: Abci<RocksBackend>,
    chain_id: u64,
    chain_name: String,
    cometbft: HttpClient,
    broadcasts: tokio::sync::Semaphore,
    waiters: Mutex<BTreeMap<Hash32, Vec<oneshot::Sender<Outcome>>>>,
    blocks: broadcast::Sender<Arc<Published>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each critical section is one insert or remove: a panic leaves the map consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// CometBFT's `broadcast_tx_sync` answer: the CheckTx result.
#[derive(Deserialize)]
struct BroadcastResult {
    code: u32,
    #[serde(default)]
    log: String,
}

#[async_trait]
impl Node for Chain {
    type Backend = RocksBackend;

    fn chain_id(&self) -> u64 {
        self.chain_id
    }

    fn chain_name(&self) -> &str {
        &self.chain_name
    }

    fn is_dev(&self) -> bool {
        false
    }

    async fn app(&self) -> RwLockReadGuard<'_, App<RocksBackend>> {
        self.abci.app().read().await
    }

    async fn submit(
        &self,
        bytes: Vec<u8>,
        verified: VerifiedTx,
        waiter: Option<oneshot::Sender<Outcome>>,
    ) -> Result<(), SubmitError> {
        let hash = verified.hash;
        // Registered first: the block can commit before CometBFT's answer arrives.
        if let Some(w) = waiter {
            lock(&self.waiters).entry(hash).or_default().push(w);
        }
        let mut result = self.broadcast(&bytes).await;
        if let Ok(Broadcast::Known) = result {
            // CometBFT's cache also remembers committed transactions: resending one is a replay.
            if let Ok(Some(r)) = self.abci.app().read().await.tx_result(&hash) {
                result = Err(SubmitError::Refused {
                    code: code::TX_NONCE_TOO_LOW,
                    reason: format!(
                        "transaction 0x{} was already committed at height {}",
                        hex::encode(hash),
                        r.height
                    ),
                });
            }
        }
        if result.is_err() {
            lock(&self.waiters).remove(&hash);
        }
        result.map(drop)
    }

    fn is_pending(&self, hash: &Hash32) -> bool {
        self.abci.is_pending(hash)
    }

    fn mempool_len(&self) -> usize {
        self.abci.mempool_len()
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.blocks.subscribe()
    }
}

/// What CometBFT did with a submitted transaction.
enum Broadcast {
    /// Checked and added to its mempool.
    Added,
    /// Already in its cache: pending, or committed earlier.
    Known,
}

impl Chain {
    /// Hands the transaction to CometBFT, which runs our `CheckTx` and gossips it.
    async fn broadcast(&self, bytes: &[u8]) -> Result<Broadcast, SubmitError> {
        let mut params = ObjectParams::new();
        params
            .insert("tx", base64::engine::general_purpose::STANDARD.encode(bytes))
            .expect("a string serializes");
        let _turn = self.broadcasts.acquire().await.map_err(|_| SubmitError::ShuttingDown)?;
        match self.cometbft.request::<BroadcastResult, _>("broadcast_tx_sync", params).await {
            Ok(r) if r.code == 0 => Ok(Broadcast::Added),
            Ok(r) => Err(SubmitError::Refused {
                code: i32::try_from(r.code).unwrap_or(code::INTERNAL),
                reason: r.log,
            }),
            Err(RpcClientError::Call(e)) if format!("{e:?}").contains("already exists in cache") => {
                Ok(Broadcast::Known)
            }
            Err(RpcClientError::Call(e)) if format!("{e:?}").contains("mempool is full") => {
                Err(SubmitError::Full)
            }
            Err(e) => Err(SubmitError::Unavailable(format!("CometBFT did not take the transaction: {e}"))),
        }
    }

    /// Wakes the waiters of a committed block's transactions and tells the API's subscribers.
    fn committed(&self, outcome: &nexus_consensus::app::BlockOutcome) {
        {
            let mut waiters = lock(&self.waiters);
            for r in &outcome.txs {
                for w in waiters.remove(&r.hash).unwrap_or_default() {
                    let _ = w.send(Ok(r.clone()));
                }
            }
        }
        // No subscriber is not an error.
        let _ = self
            .blocks
            .send(Arc::new(Published { block: outcome.block.clone(), logs: outcome.logs.clone() }));
    }
}

/// A validator's running application side: ABCI server and node API.
pub struct ValidatorNode {
    rpc_addr: SocketAddr,
    server: ServerHandle,
    abci: Abci<RocksBackend>,
    serving: tokio::task::JoinHandle<Result<(), nexus_abci::AbciError>>,
    forwarding: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ValidatorNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatorNode").field("rpc_addr", &self.rpc_addr).finish_non_exhaustive()
    }
}

impl ValidatorNode {
    /// Opens the state, starts listening for CometBFT on the ABCI socket and serves the node API,
    /// on the current (multi-threaded) tokio runtime.
    pub async fn start(config: ValidatorConfig) -> Result<Self, ValidatorError> {
        let db = config.data_dir.join("db");
        std::fs::create_dir_all(&db).map_err(|source| SetupError::DataDir { path: db.clone(), source })?;
        let backend = Arc::new(RocksBackend::open(&db).map_err(NodeError::from)?);
        let store =
            Store::new(backend, StoreConfig { keep_recent: config.keep_recent }).map_err(NodeError::from)?;
        let mut app = App::new(store, NodeConfig { module_cache_dir: Some(config.data_dir.join("modules")) })
            .map_err(NodeError::from)?;
        let eth = crate::eth::attach(&mut app, &config.eth_rpc, &config.genesis)?;
        if let Some(key) = &config.consensus_key {
            crate::tss::attach(&mut app, &config.data_dir.join("tss"), key)?;
        }
        let abci = Abci::new(Arc::new(RwLock::new(app)), Fault::from_env()?);
        let cometbft = HttpClientBuilder::default().build(&config.cometbft_rpc).map_err(|e| {
            ValidatorError::CometRpc { url: config.cometbft_rpc.clone(), reason: e.to_string() }
        })?;
        let chain = Arc::new(Chain {
            abci: abci.clone(),
            chain_id: config.chain_id,
            chain_name: config.chain_name.clone(),
            cometbft,
            broadcasts: tokio::sync::Semaphore::new(BROADCASTS_IN_FLIGHT),
            waiters: Mutex::new(BTreeMap::new()),
            blocks: broadcast::channel(SUBSCRIBER_BUFFER_BLOCKS).0,
        });
        let forwarding = tokio::spawn({
            let mut committed = abci.subscribe();
            let chain = chain.clone();
            async move {
                loop {
                    match committed.recv().await {
                        Ok(outcome) => chain.committed(&outcome),
                        // Waiters of skipped blocks time out; `nexus_getTx` still finds the results.
                        Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            }
        });
        let serving = tokio::spawn({
            let abci = abci.clone();
            let socket = config.abci_socket.clone();
            async move { abci.serve_unix(&socket).await }
        });
        let (rpc_addr, server) = serve(config.rpc_addr, Rpc { node: chain, eth })
            .await
            .map_err(|source| SetupError::Bind { addr: config.rpc_addr, source })?;
        Ok(Self { rpc_addr, server, abci, serving, forwarding })
    }

    /// The address the node API is served on.
    pub fn rpc_addr(&self) -> SocketAddr {
        self.rpc_addr
    }

    /// Resolves when the application side can no longer go on: the consensus path failed or the
    /// ABCI socket stopped serving. Cancel-safe.
    pub async fn failed(&mut self) -> String {
        tokio::select! {
            reason = self.abci.failed() => reason,
            result = &mut self.serving => match result {
                Ok(Ok(())) => "the ABCI server stopped".into(),
                Ok(Err(e)) => e.to_string(),
                Err(e) => format!("the ABCI server panicked: {e}"),
            },
        }
    }

    /// Stops serving. The application (and its database) closes once the tokio runtime that
    /// runs the ABCI connections is dropped; the returned handle tells when that has happened, so
    /// the process does not exit while RocksDB is still being closed on another thread.
    pub async fn shutdown(self) -> Closing {
        let _ = self.server.stop();
        self.server.stopped().await;
        self.serving.abort();
        self.forwarding.abort();
        Closing(Arc::downgrade(self.abci.app()))
    }
}

/// Watches a stopped validator's application until the last reference to it is gone.
#[derive(Debug)]
pub struct Closing(std::sync::Weak<RwLock<App<RocksBackend>>>);

impl Closing {
    /// Blocks until the application is dropped (its database closed), or `timeout` passes;
    /// returns whether it was.
    pub fn wait(self, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while self.0.strong_count() > 0 {
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        true
    }
}
