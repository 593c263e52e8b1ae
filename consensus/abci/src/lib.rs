//! The ABCI 2.0 adapter: serves the Nexus application to CometBFT v0.38 over a unix socket,
//! translating requests and holding no logic of its own.
//!
//! Ordering: consensus requests are executed one at a time, in arrival order, on a dedicated
//! thread (CometBFT sends them in order and expects their effects in that order); mempool checks
//! run on a second thread, also in order, so one sender's nonces are checked in sequence, and
//! they are shed with a clear `CheckTx` refusal when that thread falls behind; info and queries are
//! answered concurrently from the committed state. An application error on the consensus path is
//! fatal: the node cannot go on without the block, so the connection fails (CometBFT stops) and
//! [`Abci::failed`] resolves so the supervisor exits non-zero.

pub mod code;
mod convert;

pub use convert::QUERY_KV;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use nexus_consensus::Backend;
use nexus_consensus::app::tx::{self, VerifiedTx};
use nexus_consensus::app::{App, AppError, BlockInput, BlockOutcome, Genesis};
use nexus_types::Hash32;
use tendermint::abci::request::CheckTxKind;
use tendermint::abci::response;
use tendermint::v0_38::abci::request;
use tendermint::v0_38::abci::{
    ConsensusRequest, ConsensusResponse, InfoRequest, InfoResponse, MempoolRequest, MempoolResponse,
    SnapshotRequest, SnapshotResponse,
};
use tokio::sync::{RwLock, broadcast, oneshot, watch};
use tower::Service;
use tower_abci::BoxError;

/// CheckTx requests queued for the mempool thread before new ones are shed.
const MEMPOOL_QUEUE: usize = 10_000;

/// Queries answered at once; more are refused with a "busy" code rather than queued.
const MAX_QUERIES_IN_FLIGHT: usize = 64;

/// Committed blocks buffered per subscriber.
const COMMITTED_BUFFER: usize = 1024;

/// The name the application reports in `Info`.
const APP_NAME: &str = "nexus";

/// Why the adapter stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum AbciError {
    /// The socket could not be bound or accepted on.
    #[error("ABCI socket {path}: {source}")]
    Socket {
        /// The socket path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The application failed on the consensus path.
    #[error("the application failed: {0}")]
    App(#[from] AppError),
    /// `InitChain` carried a genesis the application cannot start from.
    #[error("invalid genesis: {0}")]
    Genesis(String),
    /// A test-only fault point fired (see [`Fault`]).
    #[error("fault injected: {0}")]
    Fault(String),
}

/// A test-only fault point, set by the `NEXUS_FAULT` environment variable: `crash-after-finalize:H`
/// aborts the process right after `FinalizeBlock` of height `H`, before its `Commit`, as a power
/// cut there would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Abort after finalizing this height.
    CrashAfterFinalize(u64),
}

impl Fault {
    /// The fault named by `NEXUS_FAULT`, if any.
    pub fn from_env() -> Result<Option<Self>, AbciError> {
        let Ok(spec) = std::env::var("NEXUS_FAULT") else { return Ok(None) };
        // `tss-…` faults are the threshold-signing participant's (`nexus_tss::participant::Fault`).
        if spec.starts_with("tss-") {
            return Ok(None);
        }
        let height = spec
            .strip_prefix("crash-after-finalize:")
            .and_then(|h| h.parse().ok())
            .ok_or_else(|| AbciError::Fault(format!("unknown NEXUS_FAULT {spec:?}")))?;
        Ok(Some(Self::CrashAfterFinalize(height)))
    }
}

/// A committed block as subscribers see it.
pub type Committed = Arc<BlockOutcome>;

/// Transactions this node's CometBFT mempool holds, as checked by `CheckTx`; kept so a recheck
/// after each commit reuses the signature check and so the node API can say "pending".
type Pending = BTreeMap<Hash32, VerifiedTx>;

struct Shared<B: Backend + Send + Sync + 'static> {
    app: Arc<RwLock<App<B>>>,
    pending: Mutex<Pending>,
    committed: broadcast::Sender<Committed>,
    /// The outcome of the last `FinalizeBlock`, published at its `Commit`.
    finalized: Mutex<Option<BlockOutcome>>,
    failed: watch::Sender<Option<String>>,
    fault: Option<Fault>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section is a single insert, remove or take: a panic leaves them consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The adapter around one application.
pub struct Abci<B: Backend + Send + Sync + 'static> {
    shared: Arc<Shared<B>>,
}

impl<B: Backend + Send + Sync + 'static> Clone for Abci<B> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone() }
    }
}

impl<B: Backend + Send + Sync + 'static> std::fmt::Debug for Abci<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Abci").finish_non_exhaustive()
    }
}

impl<B: Backend + Send + Sync + 'static> Abci<B> {
    /// The adapter over `app`, which others (the node API) may read too.
    pub fn new(app: Arc<RwLock<App<B>>>, fault: Option<Fault>) -> Self {
        Self {
            shared: Arc::new(Shared {
                app,
                pending: Mutex::new(BTreeMap::new()),
                committed: broadcast::channel(COMMITTED_BUFFER).0,
                finalized: Mutex::new(None),
                failed: watch::channel(None).0,
                fault,
            }),
        }
    }

    /// The application.
    pub fn app(&self) -> &Arc<RwLock<App<B>>> {
        &self.shared.app
    }

    /// Every block from now on, once committed.
    pub fn subscribe(&self) -> broadcast::Receiver<Committed> {
        self.shared.committed.subscribe()
    }

    /// Whether this node's mempool holds the transaction.
    pub fn is_pending(&self, hash: &Hash32) -> bool {
        lock(&self.shared.pending).contains_key(hash)
    }

    /// How many transactions this node's mempool holds.
    pub fn mempool_len(&self) -> usize {
        lock(&self.shared.pending).len()
    }

    /// Resolves with the reason once the consensus path has failed (the node must stop).
    pub async fn failed(&self) -> String {
        let mut rx = self.shared.failed.subscribe();
        loop {
            if let Some(reason) = rx.borrow_and_update().clone() {
                return reason;
            }
            if rx.changed().await.is_err() {
                return "the ABCI adapter was dropped".into();
            }
        }
    }

    /// Serves CometBFT on the unix socket at `path` (replacing a stale socket file) until the
    /// future is dropped. Must run inside a tokio runtime.
    pub async fn serve_unix(self, path: &Path) -> Result<(), AbciError> {
        let socket_err = |source| AbciError::Socket { path: path.display().to_string(), source };
        if path.exists() {
            std::fs::remove_file(path).map_err(socket_err)?;
        }
        let consensus = Consensus {
            tx: spawn_worker("nexus-abci-consensus", None, {
                let shared = self.shared.clone();
                move |req| shared.consensus(req)
            }),
        };
        let mempool = Mempool {
            tx: spawn_worker("nexus-abci-mempool", Some(MEMPOOL_QUEUE), {
                let shared = self.shared.clone();
                move |req| Ok(shared.mempool(req))
            }),
        };
        let info = Info { shared: self.shared.clone(), queries: Arc::default() };
        let server = tower_abci::v038::Server::builder()
            .consensus(consensus)
            .mempool(mempool)
            .info(info)
            .snapshot(Snapshot)
            .finish()
            .expect("all four services are set");
        // The listener binds synchronously inside; its errors surface here.
        server.listen_unix(path).await.map_err(|e| AbciError::Socket {
            path: path.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        })
    }
}

/// A request for a worker thread and where its response goes.
type Job<Req, Resp> = (Req, oneshot::Sender<Result<Resp, BoxError>>);

/// A sender to a worker thread: unbounded for consensus (never shed), bounded for the mempool.
enum WorkerTx<Req, Resp> {
    Unbounded(mpsc::Sender<Job<Req, Resp>>),
    Bounded(SyncSender<Job<Req, Resp>>),
}

impl<Req, Resp> Clone for WorkerTx<Req, Resp> {
    fn clone(&self) -> Self {
        match self {
            Self::Unbounded(t) => Self::Unbounded(t.clone()),
            Self::Bounded(t) => Self::Bounded(t.clone()),
        }
    }
}

/// Starts a thread answering requests one at a time, in the order they were sent.
fn spawn_worker<Req: Send + 'static, Resp: Send + 'static>(
    name: &str,
    bound: Option<usize>,
    mut handle: impl FnMut(Req) -> Result<Resp, BoxError> + Send + 'static,
) -> WorkerTx<Req, Resp> {
    let (tx, rx) = match bound {
        None => {
            let (tx, rx) = mpsc::channel::<Job<Req, Resp>>();
            (WorkerTx::Unbounded(tx), rx)
        }
        Some(n) => {
            let (tx, rx) = mpsc::sync_channel::<Job<Req, Resp>>(n);
            (WorkerTx::Bounded(tx), rx)
        }
    };
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            for (req, reply) in rx {
                let _ = reply.send(handle(req));
            }
        })
        .expect("spawning a thread");
    tx
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send + 'static>>;

fn await_reply<T: Send + 'static>(rx: oneshot::Receiver<Result<T, BoxError>>) -> BoxFuture<T> {
    Box::pin(async move { rx.await.map_err(|_| BoxError::from("an ABCI worker thread stopped"))? })
}

#[derive(Clone)]
struct Consensus {
    tx: WorkerTx<ConsensusRequest, ConsensusResponse>,
}

impl Service<ConsensusRequest> for Consensus {
    type Response = ConsensusResponse;
    type Error = BoxError;
    type Future = BoxFuture<ConsensusResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: ConsensusRequest) -> Self::Future {
        let (reply, rx) = oneshot::channel();
        let sent = match &self.tx {
            WorkerTx::Unbounded(t) => t.send((req, reply)).is_ok(),
            WorkerTx::Bounded(t) => t.send((req, reply)).is_ok(),
        };
        if !sent {
            return Box::pin(async { Err(BoxError::from("the consensus thread stopped")) });
        }
        await_reply(rx)
    }
}

#[derive(Clone)]
struct Mempool {
    tx: WorkerTx<MempoolRequest, MempoolResponse>,
}

impl Service<MempoolRequest> for Mempool {
    type Response = MempoolResponse;
    type Error = BoxError;
    type Future = BoxFuture<MempoolResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: MempoolRequest) -> Self::Future {
        let (reply, rx) = oneshot::channel();
        let shed = || {
            let busy = convert::check_refused(
                code::MEMPOOL_FULL,
                "the node is busy checking transactions; retry shortly",
            );
            Box::pin(async move { Ok(MempoolResponse::CheckTx(busy)) }) as BoxFuture<MempoolResponse>
        };
        match &self.tx {
            WorkerTx::Bounded(t) => match t.try_send((req, reply)) {
                Ok(()) => await_reply(rx),
                // Shedding must answer, not fail: a failed response closes CometBFT's connection.
                Err(TrySendError::Full(_)) => shed(),
                Err(TrySendError::Disconnected(_)) => {
                    Box::pin(async { Err(BoxError::from("the mempool thread stopped")) })
                }
            },
            WorkerTx::Unbounded(t) => match t.send((req, reply)) {
                Ok(()) => await_reply(rx),
                Err(_) => Box::pin(async { Err(BoxError::from("the mempool thread stopped")) }),
            },
        }
    }
}

struct Info<B: Backend + Send + Sync + 'static> {
    shared: Arc<Shared<B>>,
    queries: Arc<std::sync::atomic::AtomicUsize>,
}

impl<B: Backend + Send + Sync + 'static> Clone for Info<B> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone(), queries: self.queries.clone() }
    }
}

/// Counts a query in flight for as long as it lives.
struct InFlight(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl<B: Backend + Send + Sync + 'static> Service<InfoRequest> for Info<B> {
    type Response = InfoResponse;
    type Error = BoxError;
    type Future = BoxFuture<InfoResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: InfoRequest) -> Self::Future {
        let shared = self.shared.clone();
        let queries = self.queries.clone();
        Box::pin(async move {
            Ok(match req {
                InfoRequest::Echo(e) => InfoResponse::Echo(response::Echo { message: e.message }),
                InfoRequest::Info(_) => {
                    let info = shared.app.read().await.info();
                    InfoResponse::Info(response::Info {
                        data: APP_NAME.into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        app_version: 1,
                        last_block_height: convert::height(info.height)?,
                        last_block_app_hash: convert::app_hash(&info.app_hash),
                    })
                }
                InfoRequest::Query(q) => {
                    let in_flight = InFlight(queries);
                    if in_flight.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= MAX_QUERIES_IN_FLIGHT
                    {
                        // Shed, but answer: an error response would close CometBFT's connection.
                        return Ok(InfoResponse::Query(convert::query_refused(
                            code::MEMPOOL_FULL,
                            "the node is busy answering queries; retry shortly".into(),
                        )));
                    }
                    InfoResponse::Query(convert::query(&*shared.app.read().await, &q))
                }
            })
        })
    }
}

/// State sync is not offered: every snapshot request gets the empty answer.
#[derive(Clone)]
struct Snapshot;

impl Service<SnapshotRequest> for Snapshot {
    type Response = SnapshotResponse;
    type Error = BoxError;
    type Future = BoxFuture<SnapshotResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: SnapshotRequest) -> Self::Future {
        let resp = match req {
            SnapshotRequest::ListSnapshots => SnapshotResponse::ListSnapshots(Default::default()),
            SnapshotRequest::OfferSnapshot(_) => SnapshotResponse::OfferSnapshot(Default::default()),
            SnapshotRequest::LoadSnapshotChunk(_) => SnapshotResponse::LoadSnapshotChunk(Default::default()),
            SnapshotRequest::ApplySnapshotChunk(_) => {
                SnapshotResponse::ApplySnapshotChunk(Default::default())
            }
        };
        Box::pin(async move { Ok(resp) })
    }
}

impl<B: Backend + Send + Sync + 'static> Shared<B> {
    fn fail(&self, reason: String) -> BoxError {
        self.failed.send_replace(Some(reason.clone()));
        BoxError::from(reason)
    }

    /// One consensus request, on the consensus thread.
    fn consensus(&self, req: ConsensusRequest) -> Result<ConsensusResponse, BoxError> {
        self.consensus_inner(req).map_err(|e| self.fail(e.to_string()))
    }

    fn consensus_inner(&self, req: ConsensusRequest) -> Result<ConsensusResponse, AbciError> {
        Ok(match req {
            ConsensusRequest::InitChain(init) => {
                let mut genesis: Genesis = serde_json::from_slice(&init.app_state_bytes)
                    .map_err(|e| AbciError::Genesis(format!("app_state is not a Nexus genesis: {e}")))?;
                // The application's set wins when the app_state names one; else it takes the
                // genesis file's validators.
                let from_app = !genesis.validators.is_empty();
                if !from_app {
                    genesis.validators =
                        init.validators.iter().map(convert::genesis_validator).collect::<Result<_, _>>()?;
                }
                let evidence = &init.consensus_params.evidence;
                let max_age_ns = u64::try_from(evidence.max_age_duration.0.as_nanos()).unwrap_or(u64::MAX);
                genesis
                    .params
                    .staking
                    .check_evidence_age(evidence.max_age_num_blocks, max_age_ns)
                    .map_err(AbciError::Genesis)?;
                if genesis.params.chain_name != init.chain_id {
                    return Err(AbciError::Genesis(format!(
                        "CometBFT's chain_id is {:?} but the app_state names the chain {:?}",
                        init.chain_id, genesis.params.chain_name
                    )));
                }
                let height = init.initial_height.value();
                let app_hash = self.app.blocking_write().init_chain(&genesis, height)?;
                ConsensusResponse::InitChain(response::InitChain {
                    consensus_params: None,
                    validators: if from_app {
                        genesis.validators.iter().map(convert::genesis_update).collect::<Result<_, _>>()?
                    } else {
                        Vec::new()
                    },
                    app_hash: convert::app_hash(&app_hash),
                })
            }
            ConsensusRequest::PrepareProposal(p) => {
                let max = usize::try_from(p.max_tx_bytes).unwrap_or(0);
                let txs = p.txs.into_iter().map(|t| t.to_vec()).collect();
                let last = p.local_last_commit.as_ref().map(|c| convert::bundle(p.height.value() - 1, c));
                let chosen = self.app.blocking_read().prepare_proposal(txs, max, last.as_ref());
                ConsensusResponse::PrepareProposal(response::PrepareProposal {
                    txs: chosen.into_iter().map(Into::into).collect(),
                })
            }
            ConsensusRequest::ProcessProposal(p) => {
                let txs: Vec<Vec<u8>> = p.txs.iter().map(|t| t.to_vec()).collect();
                ConsensusResponse::ProcessProposal(
                    match self.app.blocking_read().process_proposal(p.height.value(), &txs) {
                        Ok(()) => response::ProcessProposal::Accept,
                        Err(e) => {
                            eprintln!("nexus-abci: rejecting the proposal for height {}: {e}", p.height);
                            response::ProcessProposal::Reject
                        }
                    },
                )
            }
            ConsensusRequest::ExtendVote(v) => ConsensusResponse::ExtendVote(response::ExtendVote {
                vote_extension: self.app.blocking_read().extend_vote(v.height.value()).into(),
            }),
            ConsensusRequest::VerifyVoteExtension(v) => {
                let ok = self.app.blocking_read().verify_vote_extension(v.height.value(), &v.vote_extension);
                ConsensusResponse::VerifyVoteExtension(if ok {
                    response::VerifyVoteExtension::Accept
                } else {
                    response::VerifyVoteExtension::Reject
                })
            }
            ConsensusRequest::FinalizeBlock(b) => ConsensusResponse::FinalizeBlock(self.finalize(b)?),
            ConsensusRequest::Commit => {
                self.app.blocking_write().commit()?;
                if let Some(outcome) = lock(&self.finalized).take() {
                    let mut pending = lock(&self.pending);
                    for r in &outcome.txs {
                        pending.remove(&r.hash);
                    }
                    drop(pending);
                    // No subscriber is not an error.
                    let _ = self.committed.send(Arc::new(outcome));
                }
                ConsensusResponse::Commit(response::Commit {
                    data: Default::default(),
                    retain_height: 0u32.into(),
                })
            }
        })
    }

    fn finalize(&self, b: request::FinalizeBlock) -> Result<response::FinalizeBlock, AbciError> {
        let height = b.height.value();
        let input = BlockInput {
            height,
            time_ns: convert::time_ns(b.time),
            txs: b.txs.into_iter().map(|t| t.to_vec()).collect(),
            last_commit: convert::last_commit(&b.decided_last_commit),
            misbehavior: convert::misbehavior(&b.misbehavior),
        };
        let outcome = self.app.blocking_write().finalize_block(&input)?;
        if self.fault == Some(Fault::CrashAfterFinalize(height)) {
            eprintln!("NEXUS_FAULT: aborting after FinalizeBlock {height}, before its Commit");
            std::process::abort();
        }
        let resp = convert::finalize_response(&outcome);
        *lock(&self.finalized) = Some(outcome);
        Ok(resp)
    }

    /// One `CheckTx`, on the mempool thread.
    fn mempool(&self, req: MempoolRequest) -> MempoolResponse {
        let MempoolRequest::CheckTx(check) = req;
        let hash = tx::tx_hash(&check.tx);
        let known = match check.kind {
            CheckTxKind::Recheck => lock(&self.pending).remove(&hash),
            CheckTxKind::New => None,
        };
        // A recheck reuses the signature check made when the transaction arrived.
        let app = self.app.blocking_read();
        let result = match known {
            Some(v) => app.check_verified(&v).map(|()| v),
            None => app.check_tx(&check.tx),
        };
        drop(app);
        MempoolResponse::CheckTx(match result {
            Ok(v) => {
                let gas = i64::try_from(v.tx.gas_limit).unwrap_or(i64::MAX);
                lock(&self.pending).insert(hash, v);
                response::CheckTx { gas_wanted: gas, ..Default::default() }
            }
            Err(e) => convert::check_refused(code::of(&e), &e.to_string()),
        })
    }
}
