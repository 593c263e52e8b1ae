//! The in-process node: a mempool and a single-validator block producer driving the application
//! in ABCI order, shared with the RPC server that reads it.
//!
//! Concurrency: signatures are verified by the RPC tasks without any lock (the costly part of a
//! check), the application sits behind a `RwLock` (RPC reads and mempool checks share it, the
//! producer takes it exclusively only to execute and commit a block), and the mempool has its own
//! mutex, always taken after the application lock. The lock is tokio's, so an RPC task waiting
//! for a block to finish yields its worker thread: the other core keeps verifying the signatures
//! of incoming transactions while one executes the block.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use jsonrpsee::core::async_trait;
use nexus_consensus::Backend;
use nexus_consensus::app::eth::EthData;
use nexus_consensus::app::tx::VerifiedTx;
use nexus_consensus::app::votes::{self, Bundle, SignedExtension};
use nexus_consensus::app::{
    App, AppError, BlockInput, BlockRecord, CommitVote, Genesis, LogRecord, TxError, TxRecord,
};
use nexus_types::Hash32;
use tokio::sync::{RwLock, RwLockReadGuard, broadcast, oneshot};

use crate::server::Node;

/// Most transactions the mempool holds; past it, `nexus_sendTx` answers `MEMPOOL_FULL`.
pub const MEMPOOL_MAX_TXS: usize = 50_000;

/// Most transactions offered to one proposal (the app then applies the block gas limit).
const BLOCK_MAX_TXS: usize = 10_000;

/// Most bytes of transactions in one block.
const BLOCK_MAX_BYTES: usize = 16 << 20;

/// Blocks (with their logs) buffered per subscriber before a slow one is dropped.
const SUBSCRIBER_BUFFER_BLOCKS: usize = 1024;

/// Why the node stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The application failed (storage error, bad genesis, corrupt state).
    #[error(transparent)]
    App(#[from] AppError),
    /// The state store could not be opened.
    #[error("cannot open the state store: {0}")]
    Store(#[from] nexus_consensus::StoreError),
    /// The dev validator's own vote extension did not verify: the application is inconsistent.
    #[error("the vote extension for height {0} did not verify")]
    VoteExtension(u64),
    /// The producer proposed a block the application rejected.
    #[error("the application rejected the dev validator's own proposal at height {height}: {reason}")]
    Proposal {
        /// Its height.
        height: u64,
        /// Why.
        reason: String,
    },
}

/// Why a node's local resources could not be set up (shared by `nexus dev` and validators).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The data directory cannot be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The node API address cannot be bound.
    #[error(
        "cannot serve the node API on {addr}: {source} (is another node running? pick another --rpc-addr)"
    )]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// What a waiting `nexus_sendTx` learns.
pub(crate) type Outcome = Result<TxRecord, String>;

/// A transaction accepted by `check_tx`.
struct Pending {
    bytes: Vec<u8>,
    verified: VerifiedTx,
}

/// Accepted transactions in acceptance order (which is nonce order per sender, so a block keeps
/// each sender's sequence), and those taken into the block being executed.
#[derive(Default)]
struct Mempool {
    queue: VecDeque<Pending>,
    /// Hashes in `queue` or in the block being executed: these are "pending".
    pending: BTreeSet<Hash32>,
    waiters: BTreeMap<Hash32, Vec<oneshot::Sender<Outcome>>>,
}

/// Why a transaction was not accepted.
#[derive(Debug)]
pub(crate) enum SubmitError {
    Check(TxError),
    Full,
    ShuttingDown,
    /// A validator's CometBFT refused it: the node API code and reason.
    Refused {
        code: i32,
        reason: String,
    },
    /// A validator's CometBFT could not be asked.
    Unavailable(String),
}

/// What a block published to subscribers carries.
#[derive(Debug)]
pub(crate) struct Published {
    pub block: BlockRecord,
    pub logs: Vec<LogRecord>,
}

/// Everything the producer and the RPC server share.
pub(crate) struct Shared<B: Backend + Send + Sync + 'static> {
    app: RwLock<App<B>>,
    mempool: Mutex<Mempool>,
    /// Signalled when the mempool gains a transaction or the node stops.
    work: Condvar,
    stopping: AtomicBool,
    chain_id: u64,
    chain_name: String,
    blocks: broadcast::Sender<Arc<Published>>,
    /// The dev validator's consensus key, signing its vote extensions.
    validator: ed25519_consensus::SigningKey,
}

#[async_trait]
impl<B: Backend + Send + Sync + 'static> Node for Shared<B> {
    type Backend = B;

    fn chain_id(&self) -> u64 {
        self.chain_id
    }

    fn chain_name(&self) -> &str {
        &self.chain_name
    }

    fn is_dev(&self) -> bool {
        true
    }

    async fn app(&self) -> RwLockReadGuard<'_, App<B>> {
        self.app.read().await
    }

    /// Checks a verified transaction against the state and the mempool and queues it. Submitting
    /// a transaction that is already pending is not an error: it returns the same hash.
    async fn submit(
        &self,
        bytes: Vec<u8>,
        verified: VerifiedTx,
        waiter: Option<oneshot::Sender<Outcome>>,
    ) -> Result<(), SubmitError> {
        if self.stopping.load(Ordering::Relaxed) {
            return Err(SubmitError::ShuttingDown);
        }
        let app = self.app.read().await;
        let mut pool = lock(&self.mempool);
        let hash = verified.hash;
        if !pool.pending.contains(&hash) {
            if pool.queue.len() >= MEMPOOL_MAX_TXS {
                return Err(SubmitError::Full);
            }
            // The check and the push happen under one mempool lock, so the queue order is the
            // order in which nonces were accepted.
            app.check_verified(&verified).map_err(SubmitError::Check)?;
            pool.pending.insert(hash);
            pool.queue.push_back(Pending { bytes, verified });
            self.work.notify_one();
        }
        if let Some(w) = waiter {
            pool.waiters.entry(hash).or_default().push(w);
        }
        Ok(())
    }

    fn is_pending(&self, hash: &Hash32) -> bool {
        lock(&self.mempool).pending.contains(hash)
    }

    fn mempool_len(&self) -> usize {
        lock(&self.mempool).queue.len()
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.blocks.subscribe()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the mempool leaves it consistent (every mutation is one push or pop).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<B: Backend + Send + Sync + 'static> Shared<B> {
    /// Wraps an application, running `init_chain` with `genesis` if the store is empty.
    pub fn new(mut app: App<B>, genesis: &Genesis) -> Result<Self, NodeError> {
        if app.params().is_none() {
            app.init_chain(genesis, 1)?;
        }
        let params = app.params().ok_or(AppError::NotInitialized)?;
        let (chain_id, chain_name) = (params.chain_id, params.chain_name.clone());
        Ok(Self {
            app: RwLock::new(app),
            mempool: Mutex::new(Mempool::default()),
            work: Condvar::new(),
            stopping: AtomicBool::new(false),
            chain_id,
            chain_name,
            blocks: broadcast::channel(SUBSCRIBER_BUFFER_BLOCKS).0,
            validator: crate::dev_validator_key(),
        })
    }

    /// Asks the producer to stop after the block it is executing.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _pool = lock(&self.mempool);
        self.work.notify_all();
    }

    /// The producer: one block per iteration until stopped. `block_time` of `None` is instant
    /// mode (a block as soon as a transaction waits); otherwise a block every `block_time`, empty
    /// or not.
    pub fn produce(&self, block_time: Option<Duration>) -> Result<(), NodeError> {
        let (height, mut last_time_ns) = {
            let app = self.app.blocking_read();
            let height = app.info().height;
            (height, app.block(height)?.map_or(0, |b| b.time_ns))
        };
        // The genesis writes are committed with the first block, so a fresh chain gets one at once.
        if height == 0 {
            last_time_ns = self.produce_block(last_time_ns)?;
        }
        let mut next_tick = Instant::now();
        while !self.stopping.load(Ordering::SeqCst) {
            let mut pool = lock(&self.mempool);
            match block_time {
                None => {
                    while pool.queue.is_empty() && !self.stopping.load(Ordering::SeqCst) {
                        pool = self.work.wait(pool).unwrap_or_else(|e| e.into_inner());
                    }
                }
                Some(every) => {
                    next_tick += every;
                    loop {
                        let now = Instant::now();
                        if now >= next_tick || self.stopping.load(Ordering::SeqCst) {
                            break;
                        }
                        pool = self
                            .work
                            .wait_timeout(pool, next_tick - now)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    }
                    // After a stall (a long block), tick from now rather than firing a burst.
                    next_tick = next_tick.max(Instant::now());
                }
            }
            drop(pool);
            if self.stopping.load(Ordering::SeqCst) {
                break;
            }
            last_time_ns = self.produce_block(last_time_ns)?;
        }
        self.fail_waiters("the node is shutting down");
        Ok(())
    }

    /// The dev validator's signed vote extension for `height`, as CometBFT would hand it to the
    /// next proposer (deterministic, so a restarted node rebuilds it).
    fn extensions(&self, app: &App<B>, height: u64) -> Bundle {
        let extension = app.extend_vote(height);
        let signature = self.validator.sign(&votes::sign_bytes(&extension, height, 0, &self.chain_name));
        Bundle {
            height,
            round: 0,
            votes: vec![SignedExtension {
                validator: votes::address_of(&self.validator.verification_key().to_bytes()),
                extension,
                signature: signature.to_bytes().to_vec(),
            }],
        }
    }

    /// Tells everyone still waiting for a transaction that it will not be committed here.
    fn fail_waiters(&self, reason: &str) {
        let mut pool = lock(&self.mempool);
        for (_, ws) in std::mem::take(&mut pool.waiters) {
            for w in ws {
                let _ = w.send(Err(reason.to_string()));
            }
        }
    }

    /// Proposes, votes on, executes and commits one block; returns its time.
    fn produce_block(&self, last_time_ns: u64) -> Result<u64, NodeError> {
        let result = self.produce_block_inner(last_time_ns);
        if let Err(e) = &result {
            self.stopping.store(true, Ordering::SeqCst);
            self.fail_waiters(&format!("the node stopped: {e}"));
        }
        result
    }

    fn produce_block_inner(&self, last_time_ns: u64) -> Result<u64, NodeError> {
        // The proposer's header time: the wall clock, but never going backwards.
        #[allow(clippy::disallowed_types, clippy::disallowed_methods)]
        // reason: the block time is the proposer's input to consensus (as CometBFT's header
        // time is), read once here and then carried in the block.
        let now_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let time_ns = now_ns.max(last_time_ns + 1);

        // PrepareProposal, ProcessProposal, ExtendVote and VerifyVoteExtension read the state;
        // new transactions keep being checked meanwhile.
        let (height, txs) = {
            let app = self.app.blocking_read();
            let height = app.info().height + 1;
            let candidates: Vec<Vec<u8>> = {
                let pool = lock(&self.mempool);
                let mut bytes = 0usize;
                pool.queue
                    .iter()
                    .take(BLOCK_MAX_TXS)
                    .take_while(|p| {
                        bytes += p.bytes.len();
                        bytes <= BLOCK_MAX_BYTES
                    })
                    .map(|p| p.bytes.clone())
                    .collect()
            };
            let last = (height > 1).then(|| self.extensions(&app, height - 1));
            let txs = app.prepare_proposal(candidates, BLOCK_MAX_BYTES, last.as_ref());
            app.process_proposal(height, &txs)
                .map_err(|e| NodeError::Proposal { height, reason: e.to_string() })?;
            let extension = app.extend_vote(height);
            if !app.verify_vote_extension(height, &extension) {
                return Err(NodeError::VoteExtension(height));
            }
            (height, txs)
        };
        // Only the producer takes from the queue, so the proposal is still its front (every queued
        // transaction decodes, so the app's choice is a prefix of the candidates, after the
        // vote-extension bundle when there is one).
        let injected = txs
            .iter()
            .take(2)
            .filter(|t| Bundle::decode(t).is_some() || EthData::decode(t).is_some())
            .count();
        let user_txs = txs.len() - injected;
        let proposed: Vec<Hash32> = {
            let mut pool = lock(&self.mempool);
            pool.queue.drain(..user_txs).map(|p| p.verified.hash).collect()
        };

        let (outcome, dropped) = {
            let mut app = self.app.blocking_write();
            // The dev validator signs every height, as the whole set that signed the last one.
            let last_commit = app
                .validator_set_at(height - 1)
                .values()
                .map(|k| CommitVote { validator: k.address(), power: k.power, signed: true })
                .collect();
            let block = BlockInput { height, time_ns, txs, last_commit, misbehavior: Vec::new() };
            let outcome = app.finalize_block(&block)?;
            app.commit()?;
            // Commit resets the app's view of pending nonces and spending: re-check what is left,
            // in order, before any new transaction is checked against the new state.
            let mut pool = lock(&self.mempool);
            let mut dropped = Vec::new();
            let queue = std::mem::take(&mut pool.queue);
            for p in queue {
                match app.check_verified(&p.verified) {
                    Ok(()) => pool.queue.push_back(p),
                    Err(e) => {
                        pool.pending.remove(&p.verified.hash);
                        dropped.push((p.verified.hash, e));
                    }
                }
            }
            (outcome, dropped)
        };

        // Committed: wake the waiters and tell the subscribers.
        {
            let mut pool = lock(&self.mempool);
            let records: BTreeMap<Hash32, &TxRecord> = outcome.txs.iter().map(|r| (r.hash, r)).collect();
            for hash in proposed {
                pool.pending.remove(&hash);
                for w in pool.waiters.remove(&hash).unwrap_or_default() {
                    let _ = w.send(match records.get(&hash) {
                        Some(record) => Ok((*record).clone()),
                        None => Err(format!("block {height} did not execute the transaction")),
                    });
                }
            }
            for (hash, e) in dropped {
                for w in pool.waiters.remove(&hash).unwrap_or_default() {
                    let _ = w.send(Err(format!("dropped from the mempool after block {height}: {e}")));
                }
            }
        }
        // No subscriber is not an error.
        let _ = self.blocks.send(Arc::new(Published { block: outcome.block, logs: outcome.logs }));
        Ok(time_ns)
    }
}
