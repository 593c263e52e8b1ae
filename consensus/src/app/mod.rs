//! The application: the replicated state machine, with the ABCI 2.0 method set on our own types.
//!
//! It is built from components that each own their keys ([`state_keys`]): accounts (balances and
//! nonces), transactions ([`tx`]: EIP-712-signed envelopes, fees charged up front and refunded),
//! functions (deploy, call, upgrade, delete, read-only query), the function-to-function message
//! queue, the outbox of Ethereum and zk requests, and the scheduler (`every N blocks` triggers and
//! long-running tasks). Drivers — the in-process dev block producer, the CometBFT adapter, tests —
//! call the methods below in ABCI order: `init_chain` once, then per height `finalize_block` and
//! `commit`, with `check_tx`, `prepare_proposal`, `process_proposal`, `extend_vote`,
//! `verify_vote_extension`, `info` and the queries in between.

pub mod eth;
mod execute;
pub mod gas;
pub mod layers;
pub mod query;
pub mod records;
pub mod staking;
pub mod state_keys;
pub mod tss;
pub mod tx;
pub mod votes;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use borsh::BorshDeserialize;
use nexus_runtime::{DeployError, Function, Runtime};
use nexus_types::{Address, Hash32};

use crate::store::{AppHash, Backend, Column, CommitmentProof, Store, StoreError};
pub use execute::{function_address, function_id};
use layers::{FnView, Layers};
pub use query::{FileEntry, QueryError};
pub use records::{
    Account, BlockRecord, FunctionInfo, Genesis, GenesisAccount, GenesisValidator, InvocationRecord,
    LogRecord, MsgResult, Params, TxRecord, WorkItem,
};
use staking::SetHistory;
pub use staking::{CommitVote, Misbehavior, StakingParams, Validator};
use tx::{DecodeTxError, VerifiedTx};
use votes::{Bundle, ValidatorAddress, ValidatorKey, VoteError};

/// Why the application could not carry out a method. Transaction failures are not errors: they
/// are failed results in the block.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The state store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A method that needs the chain's parameters ran before `init_chain`.
    #[error("the chain is not initialized: run init_chain (or start the node from a genesis file) first")]
    NotInitialized,
    /// `init_chain` ran on a chain that already has state.
    #[error("the chain is already initialized at height {0}")]
    AlreadyInitialized(u64),
    /// The genesis is unusable.
    #[error("invalid genesis: {0}")]
    Genesis(String),
    /// `commit` ran without a finalized block.
    #[error("nothing to commit: finalize a block first")]
    NothingFinalized,
    /// `finalize_block` was given a height other than the next one.
    #[error("cannot finalize height {got}: the next height is {expected}")]
    HeightOutOfOrder {
        /// The next height.
        expected: u64,
        /// The height given.
        got: u64,
    },
    /// The wasm engine could not start.
    #[error("runtime: {0}")]
    Runtime(#[from] DeployError),
    /// Stored bytes do not decode.
    #[error("corrupt state: {0}")]
    Corrupt(String),
}

/// Why `check_tx` refused a transaction; nothing about the chain changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The bytes, signature or chain id are wrong.
    #[error(transparent)]
    Decode(#[from] DecodeTxError),
    /// The chain has no parameters yet.
    #[error("the chain is not initialized")]
    NotInitialized,
    /// The nonce was already used.
    #[error("nonce {got} was already used by {sender}; the next nonce is {expected}")]
    NonceTooLow {
        /// The signer, `0x` hex.
        sender: String,
        /// The account's next nonce.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The nonce skips ahead of the account's next one.
    #[error("nonce {got} is in the future for {sender}; the next nonce is {expected}")]
    NonceTooHigh {
        /// The signer, `0x` hex.
        sender: String,
        /// The account's next nonce.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The expiry height has passed.
    #[error("transaction expired at height {expires_at}; the next height is {next_height}")]
    Expired {
        /// The transaction's last valid height.
        expires_at: u64,
        /// The height it would land in.
        next_height: u64,
    },
    /// The gas limit exceeds what a block holds.
    #[error("gas limit {gas_limit} exceeds the block gas limit {block_gas_limit}")]
    GasLimitAboveBlock {
        /// Asked for.
        gas_limit: u64,
        /// The block's limit.
        block_gas_limit: u64,
    },
    /// The gas limit cannot even pay for the transaction's size.
    #[error("gas limit {gas_limit} is below the {intrinsic} the transaction costs before running anything")]
    GasLimitTooLow {
        /// Asked for.
        gas_limit: u64,
        /// Base plus per-byte cost.
        intrinsic: u64,
    },
    /// The gas price is under the chain's minimum.
    #[error("gas price {gas_price} is below the minimum {min_gas_price}")]
    GasPriceTooLow {
        /// Offered.
        gas_price: u128,
        /// Required.
        min_gas_price: u128,
    },
    /// The signer cannot pay the maximum fee plus attached value.
    #[error("{sender} has {balance} but needs {needed} (gas limit × gas price + value)")]
    InsufficientFunds {
        /// The signer, `0x` hex.
        sender: String,
        /// Available (after its pending transactions).
        balance: u128,
        /// Needed.
        needed: u128,
    },
}

/// A committed value (or its absence) with the proof that binds it to an app hash.
#[derive(Debug, Clone)]
pub struct ProvenValue {
    /// The height proven at.
    pub height: u64,
    /// That height's app hash.
    pub app_hash: AppHash,
    /// The value, `None` if absent.
    pub value: Option<Vec<u8>>,
    /// ICS23 proof of membership (or non-membership); empty when the whole state is empty.
    pub proof: CommitmentProof,
}

/// What `info` reports: the last committed height and app hash (CometBFT's handshake replays
/// any block after them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// Last committed height (0 before the first block).
    pub height: u64,
    /// Its app hash.
    pub app_hash: AppHash,
}

/// A block to execute.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockInput {
    /// Its height.
    pub height: u64,
    /// Its time, nanoseconds since the Unix epoch (from the block header: consensus time).
    pub time_ns: u64,
    /// Its transactions, as wire bytes.
    pub txs: Vec<Vec<u8>>,
    /// The previous height's precommits, one per member of that height's set (liveness and
    /// rewards).
    pub last_commit: Vec<CommitVote>,
    /// Double-signs proven by evidence in this block.
    pub misbehavior: Vec<Misbehavior>,
}

/// What executing a block produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockOutcome {
    /// The app hash after the block.
    pub app_hash: AppHash,
    /// The block record (also kept in the journal).
    pub block: BlockRecord,
    /// The previous height's vote extensions, when the block starts with them.
    pub bundle: Option<Bundle>,
    /// How many transactions at the block's start the application injected (the bundle and the
    /// Ethereum data): they have no result of their own in `txs`.
    pub injected: usize,
    /// One result per user transaction, in block order (the bundle has none).
    pub txs: Vec<TxRecord>,
    /// Every log line, event and output chunk of the block, in order.
    pub logs: Vec<LogRecord>,
    /// Validator-set changes CometBFT applies from two heights on (power 0 removes).
    pub validator_updates: Vec<ValidatorKey>,
}

/// Why a proposal was rejected in `process_proposal`: only structural faults.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposalError {
    /// A transaction's bytes do not decode.
    #[error("transaction {index} is malformed: {reason}")]
    Malformed {
        /// Its position.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The vote-extension bundle is missing, misplaced or does not verify.
    #[error(transparent)]
    Votes(#[from] VoteError),
    /// The injected Ethereum data is malformed, oversized, off the chain or not backed by the
    /// votes.
    #[error(transparent)]
    Eth(#[from] eth::EthDataError),
    /// The transactions ask for more gas than a block holds.
    #[error("proposal asks for {total} gas; the block gas limit is {limit}")]
    OverGasLimit {
        /// Sum of gas limits.
        total: u64,
        /// The block's limit.
        limit: u64,
    },
}

/// The application's vote extension: a version byte, the height, then in Borsh the validator's
/// [`eth::EthVote`] when its observer has one and its threshold-signing messages.
const VOTE_EXTENSION_VERSION: u8 = 3;

/// Largest vote extension accepted, in bytes (a DKG round 2 of 100 members is ≈ 5 KB).
const MAX_VOTE_EXTENSION_BYTES: usize = 1 << 20;

/// Node-local settings that do not affect consensus.
#[derive(Debug, Clone, Default)]
pub struct NodeConfig {
    /// Where compiled modules are cached across restarts; `None` compiles in memory each start.
    pub module_cache_dir: Option<PathBuf>,
}

/// Nonces and spending of transactions accepted into the mempool but not yet committed.
#[derive(Debug, Default)]
struct CheckState {
    nonces: BTreeMap<Address, u64>,
    spent: BTreeMap<Address, u128>,
}

/// A finalized block waiting for `commit`.
#[derive(Debug)]
struct Finalized {
    height: u64,
    app_hash: AppHash,
    journal: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// Signature checks done by `check_tx`, reused by `finalize_block`; capped so a flood of
/// transactions that never land cannot grow it without bound.
const VERIFIED_CACHE_MAX: usize = 100_000;

/// The Nexus application over a state-store backend.
pub struct App<B: Backend + Send + Sync + 'static> {
    store: Store<Arc<B>>,
    layers: Arc<Layers<B>>,
    runtime: Runtime<FnView<B>>,
    modules: Mutex<BTreeMap<Hash32, Arc<Function<FnView<B>>>>>,
    params: Option<Params>,
    check: Mutex<CheckState>,
    verified: Mutex<BTreeMap<Hash32, Address>>,
    finalized: Option<Finalized>,
    /// Genesis writes, pending until the first block commits.
    genesis: Option<crate::store::Changes>,
    genesis_height: u64,
    /// This validator's Ethereum observer, if it runs one.
    eth_source: Option<Arc<dyn eth::EthSource>>,
    /// This validator's threshold-signing participant, if it takes part.
    tss_source: Option<Arc<dyn tss::TssSource>>,
}

impl<B: Backend + Send + Sync + 'static> std::fmt::Debug for App<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("latest", &self.store.latest()).finish_non_exhaustive()
    }
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn decode<T: BorshDeserialize>(bytes: &[u8], what: &str) -> Result<T, AppError> {
    borsh::from_slice(bytes).map_err(|e| AppError::Corrupt(format!("{what}: {e}")))
}

impl<B: Backend + Send + Sync + 'static> App<B> {
    /// The application over `store`, resuming at its last committed height.
    pub fn new(store: Store<Arc<B>>, config: NodeConfig) -> Result<Self, AppError> {
        let layers = Arc::new(Layers::new(store.backend().clone()));
        let params = store.get(state_keys::PARAMS)?.map(|b| decode(&b, "chain parameters")).transpose()?;
        Ok(Self {
            runtime: Runtime::new(config.module_cache_dir)?,
            store,
            layers,
            modules: Mutex::new(BTreeMap::new()),
            params,
            check: Mutex::new(CheckState::default()),
            verified: Mutex::new(BTreeMap::new()),
            finalized: None,
            genesis: None,
            genesis_height: 1,
            eth_source: None,
            tss_source: None,
        })
    }

    /// Lets this node's Ethereum observer feed its vote extensions and proposals.
    pub fn set_eth_source(&mut self, source: Arc<dyn eth::EthSource>) {
        self.eth_source = Some(source);
    }

    /// Lets this node's threshold-signing participant put its messages in its vote extensions.
    pub fn set_tss_source(&mut self, source: Arc<dyn tss::TssSource>) {
        self.tss_source = Some(source);
    }

    /// The last Ethereum block the chain processed, at the last committed height.
    pub fn eth_cursor(&self) -> Option<eth::EthCursor> {
        self.layers.committed(state_keys::ETH_CURSOR).and_then(|b| borsh::from_slice(&b).ok())
    }

    /// The log filters at the last committed height: the gateway's, then every function's, in
    /// key order (what observers select logs with and votes name by hash).
    pub fn eth_filters(&self) -> Vec<nexus_types::EthLogFilter> {
        use nexus_types::codec::Decode as _;
        let gateway = self.params.as_ref().and_then(|p| p.eth.gateway).map(eth::gateway_filters);
        gateway
            .into_iter()
            .flatten()
            .chain(
                layers::scan(&self.layers, state_keys::ETH_LOGS_PREFIX, true)
                    .values()
                    .filter_map(|v| nexus_types::EthLogFilter::decode(v).ok()),
            )
            .collect()
    }

    /// The chain parameters, once initialized.
    pub fn params(&self) -> Option<&Params> {
        self.params.as_ref()
    }

    /// ABCI `Info`: the last committed height and app hash.
    pub fn info(&self) -> Info {
        match self.store.latest() {
            Some((height, app_hash)) => Info { height, app_hash },
            None => Info { height: 0, app_hash: crate::store::EMPTY_ROOT },
        }
    }

    /// ABCI `InitChain`: writes the genesis state, to be committed with the first block, and
    /// returns the genesis app hash.
    pub fn init_chain(&mut self, genesis: &Genesis, initial_height: u64) -> Result<AppHash, AppError> {
        if let Some((height, _)) = self.store.latest() {
            return Err(AppError::AlreadyInitialized(height));
        }
        let params = &genesis.params;
        if params.block_gas_limit < gas::TX_BASE || params.max_sends_per_tx == 0 {
            return Err(AppError::Genesis("block_gas_limit or max_sends_per_tx is too small".into()));
        }
        params.staking.validate().map_err(|e| AppError::Genesis(format!("staking: {e}")))?;
        self.store.discard();
        self.layers.revert_tx();
        self.layers.take_block();
        self.layers.set(state_keys::PARAMS.to_vec(), borsh::to_vec(params).expect("borsh into a Vec"));
        let mut seen = std::collections::BTreeSet::new();
        for a in &genesis.accounts {
            if !seen.insert(a.address) {
                return Err(AppError::Genesis(format!("account {} is listed twice", hex0x(&a.address))));
            }
            let account = Account { balance: a.balance, nonce: 0 };
            self.layers.set(state_keys::account(&a.address), borsh::to_vec(&account).expect("borsh"));
        }
        let mut set = BTreeMap::new();
        let mut operators = std::collections::BTreeSet::new();
        for v in &genesis.validators {
            let key = ValidatorKey { pub_key: v.pub_key, power: v.power };
            let operator = v.operator.unwrap_or_else(|| key.address());
            let tokens = u128::from(v.power).checked_mul(params.staking.power_reduction);
            let Some(tokens) = tokens.filter(|_| v.power > 0) else {
                return Err(AppError::Genesis(format!(
                    "validator 0x{} has no power",
                    hex::encode(v.pub_key)
                )));
            };
            if set.insert(key.address(), key).is_some() || !operators.insert(operator) {
                return Err(AppError::Genesis(format!(
                    "validator 0x{} (operator {}) is listed twice",
                    hex::encode(v.pub_key),
                    hex0x(&operator)
                )));
            }
            self.register_validator(operator, v.pub_key, 0, tokens);
        }
        let set: Vec<ValidatorKey> = set.into_values().collect();
        self.store_value(state_keys::VALIDATORS.to_vec(), &SetHistory::genesis(initial_height, set));
        self.layers.commit_tx();
        let changes = self.layers.take_block();
        self.store.apply(changes.clone());
        self.genesis = Some(changes);
        self.genesis_height = initial_height;
        self.params = Some(params.clone());
        Ok(self.store.stage(initial_height)?)
    }

    /// ABCI `CheckTx` for new transactions: decodes, verifies the signature and checks the
    /// transaction against committed state plus the mempool's earlier transactions.
    pub fn check_tx(&self, bytes: &[u8]) -> Result<VerifiedTx, TxError> {
        let params = self.params.as_ref().ok_or(TxError::NotInitialized)?;
        let verified = tx::decode_and_verify(bytes, params.chain_id)?;
        self.check_verified(&verified)?;
        Ok(verified)
    }

    /// The stateful half of `check_tx`, for a transaction whose signature was verified (possibly
    /// on another thread, without holding the application).
    pub fn check_verified(&self, v: &VerifiedTx) -> Result<(), TxError> {
        let params = self.params.as_ref().ok_or(TxError::NotInitialized)?;
        let next_height = self.info().height + 1;
        let mut check = self.check.lock().unwrap_or_else(|e| e.into_inner());
        let account = self.account(&v.sender);
        let expected = check.nonces.get(&v.sender).copied().unwrap_or(account.nonce);
        let spent = check.spent.get(&v.sender).copied().unwrap_or(0);
        let needed = stateless_checks(params, v, next_height)?;
        // Formatted only for a refusal: this runs for every transaction, twice when it waits.
        let sender = || hex0x(&v.sender);
        if v.tx.nonce < expected {
            return Err(TxError::NonceTooLow { sender: sender(), expected, got: v.tx.nonce });
        }
        if v.tx.nonce > expected {
            return Err(TxError::NonceTooHigh { sender: sender(), expected, got: v.tx.nonce });
        }
        let balance = account.balance.saturating_sub(spent);
        if needed > balance {
            return Err(TxError::InsufficientFunds { sender: sender(), balance, needed });
        }
        check.nonces.insert(v.sender, expected + 1);
        check.spent.insert(v.sender, spent + needed);
        drop(check);
        let mut cache = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= VERIFIED_CACHE_MAX {
            cache.clear();
        }
        cache.insert(v.hash, v.sender);
        Ok(())
    }

    /// ABCI `PrepareProposal`: the previous height's signed vote extensions first (when the
    /// chain has validators and a previous height), then the mempool's transactions in order,
    /// dropping undecodable ones and stopping where the block's gas or byte limit would be exceeded.
    pub fn prepare_proposal(
        &self,
        txs: Vec<Vec<u8>>,
        max_bytes: usize,
        last: Option<&Bundle>,
    ) -> Vec<Vec<u8>> {
        let Some(params) = &self.params else { return Vec::new() };
        let (mut gas, mut bytes) = (0u64, 0usize);
        let mut out = Vec::new();
        if self.expects_bundle()
            && let Some(bundle) = last
        {
            let encoded = bundle.encode();
            bytes = encoded.len();
            out.push(encoded);
            if let Some(data) = self.eth_proposal(params, bundle) {
                let encoded = data.encode();
                if bytes + encoded.len() <= max_bytes {
                    bytes += encoded.len();
                    out.push(encoded);
                }
            }
        }
        for t in txs {
            let Ok(signed) = tx::decode(&t) else { continue };
            let Some(g) = gas.checked_add(signed.tx.gas_limit).filter(|g| *g <= params.block_gas_limit)
            else {
                break;
            };
            if bytes + t.len() > max_bytes {
                break;
            }
            (gas, bytes) = (g, bytes + t.len());
            out.push(t);
        }
        out
    }

    /// ABCI `ProcessProposal` for the block at `height`: accepts unless its vote-extension bundle
    /// is missing or invalid, a transaction is malformed, or the block asks for more gas than it
    /// may; everything else is decided per transaction at execution.
    pub fn process_proposal(&self, height: u64, txs: &[Vec<u8>]) -> Result<(), ProposalError> {
        let limit = self.params.as_ref().map_or(0, |p| p.block_gas_limit);
        let user = if self.expects_bundle() {
            let first = txs.first().ok_or(VoteError::Placement(true))?;
            let bundle = Bundle::decode(first).ok_or(VoteError::Placement(true))??;
            let chain = self.params.as_ref().map_or("", |p| p.chain_name.as_str());
            let previous = height.saturating_sub(1);
            let set = self.validator_set_at(previous);
            votes::verify(&bundle, previous, chain, &set, |e| self.verify_vote_extension(previous, e))?;
            match txs.get(1).and_then(|t| eth::EthData::decode(t)) {
                Some(data) => {
                    let data = data.map_err(|e| eth::EthDataError::Malformed(e.to_string()))?;
                    self.check_eth_data(&data, txs[1].len(), &bundle, &set)?;
                    &txs[2..]
                }
                None => &txs[1..],
            }
        } else {
            txs
        };
        let mut total = 0u64;
        for (index, t) in user.iter().enumerate() {
            if Bundle::decode(t).is_some() {
                return Err(VoteError::Placement(false).into());
            }
            if eth::EthData::decode(t).is_some() {
                return Err(eth::EthDataError::NoVotes.into());
            }
            let signed =
                tx::decode(t).map_err(|e| ProposalError::Malformed { index, reason: e.to_string() })?;
            total = total.saturating_add(signed.tx.gas_limit);
        }
        if total > limit {
            return Err(ProposalError::OverGasLimit { total, limit });
        }
        Ok(())
    }

    /// Whether the next block must start with the previous height's vote extensions: once a
    /// height is committed on a chain with validators.
    fn expects_bundle(&self) -> bool {
        self.store.latest().is_some_and(|(h, _)| !self.validator_set_at(h).is_empty())
    }

    /// The validator set that signs `height`, as the last committed state knows it (the genesis
    /// set before the first commit); committed state knows the sets up to two heights ahead.
    pub fn validator_set_at(&self, height: u64) -> BTreeMap<ValidatorAddress, ValidatorKey> {
        let bytes = match (&self.genesis, self.store.latest()) {
            (Some(genesis), None) => genesis.get(state_keys::VALIDATORS).cloned().flatten(),
            _ => self.layers.committed(state_keys::VALIDATORS),
        };
        let history: SetHistory = bytes.and_then(|b| borsh::from_slice(&b).ok()).unwrap_or_default();
        history.at(height).iter().map(|k| (k.address(), *k)).collect()
    }

    /// ABCI `ExtendVote`: the height, what this validator's observer saw after the cursor, and
    /// its threshold-signing messages.
    pub fn extend_vote(&self, height: u64) -> Vec<u8> {
        let tss = self
            .tss_source
            .as_ref()
            .map(|p| p.messages(&self.tss_snapshot(&p.consensus_key())))
            .unwrap_or_default();
        let vote = self.eth_source.as_ref().and_then(|source| {
            let filters = self.eth_filters();
            let wanted = eth::filters_hash(&filters);
            let o = source.observation(self.eth_cursor(), &filters).filter(|o| o.filters == wanted)?;
            Some(eth::EthVote::of(&o))
        });
        vote_extension(height, vote.as_ref(), &tss)
    }

    /// ABCI `VerifyVoteExtension`: the right version and height, and an Ethereum vote that
    /// decodes within its cap, if there is one (whether it is right is for ProcessProposal to
    /// count, not for one validator to veto).
    pub fn verify_vote_extension(&self, height: u64, extension: &[u8]) -> bool {
        extension.len() <= MAX_VOTE_EXTENSION_BYTES && vote_of(height, extension).is_some()
    }

    /// The Ethereum blocks this proposer can inject: those after the cursor that its own
    /// observer saw and that validators with more than 2/3 of the power of the bundle's height
    /// committed to, as a prefix of at most `max_blocks_per_block`.
    fn eth_proposal(&self, params: &Params, bundle: &Bundle) -> Option<eth::EthData> {
        let source = self.eth_source.as_ref()?;
        let cursor = self.eth_cursor();
        let filters = self.eth_filters();
        let wanted = eth::filters_hash(&filters);
        let observed = source.observation(cursor, &filters).filter(|o| o.filters == wanted)?;
        let limit = if cursor.is_some() { params.eth.max_blocks_per_block } else { 1 };
        let next = cursor.map_or(0, |c| c.number + 1);
        let candidates: Vec<eth::ObservedBlock> = observed
            .blocks
            .iter()
            .filter(|b| cursor.is_none() || b.header.number >= next)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .cloned()
            .collect();
        let (votes, total) = self.eth_votes(bundle, &self.validator_set_at(bundle.height));
        let backed = eth::backing(&candidates, &wanted, &votes);
        let mut n = backed.iter().take_while(|p| eth::supermajority(**p, total)).count();
        // Keep the longest prefix that passes every check ProcessProposal will make.
        while n > 0 {
            let data = eth::EthData { blocks: candidates[..n].to_vec() };
            if eth::check_data(&data, cursor, &params.eth, &filters, data.encode().len()).is_ok() {
                return Some(data);
            }
            n -= 1;
        }
        None
    }

    /// The Ethereum votes in a bundle with their signers' power, and the set's total power.
    fn eth_votes(
        &self,
        bundle: &Bundle,
        set: &BTreeMap<ValidatorAddress, ValidatorKey>,
    ) -> (Vec<(eth::EthVote, u64)>, u64) {
        let votes = bundle
            .votes
            .iter()
            .filter_map(|v| Some((vote_of(bundle.height, &v.extension)?.0?, set.get(&v.validator)?.power)))
            .collect();
        (votes, set.values().map(|k| k.power).fold(0u64, u64::saturating_add))
    }

    /// ProcessProposal's checks of injected Ethereum data.
    fn check_eth_data(
        &self,
        data: &eth::EthData,
        size: usize,
        bundle: &Bundle,
        set: &BTreeMap<ValidatorAddress, ValidatorKey>,
    ) -> Result<(), eth::EthDataError> {
        let params = self.params.as_ref().ok_or(eth::EthDataError::NoVotes)?;
        let cursor = self.eth_cursor();
        let filters = self.eth_filters();
        eth::check_data(data, cursor, &params.eth, &filters, size)?;
        let (votes, total) = self.eth_votes(bundle, set);
        let backed = eth::backing(&data.blocks, &eth::filters_hash(&filters), &votes);
        for (block, signed) in data.blocks.iter().zip(backed) {
            if !eth::supermajority(signed, total) {
                return Err(eth::EthDataError::Unbacked { number: block.header.number, signed, total });
            }
        }
        Ok(())
    }

    /// ABCI `FinalizeBlock`: executes the block without persisting anything. Calling it again for
    /// the same height (a re-proposed block) discards the previous execution.
    pub fn finalize_block(&mut self, block: &BlockInput) -> Result<BlockOutcome, AppError> {
        let latest = self.store.latest();
        let expected = latest.map_or(self.genesis_height, |(h, _)| h + 1);
        if block.height != expected {
            return Err(AppError::HeightOutOfOrder { expected, got: block.height });
        }
        let params = self.params.clone().ok_or(AppError::NotInitialized)?;
        self.finalized = None;
        self.store.discard();
        if latest.is_none() {
            // The genesis writes are committed together with the first block, which sees them.
            let genesis = self.genesis.clone().ok_or(AppError::NotInitialized)?;
            self.layers.start_block(genesis);
        }
        self.execute_block(&params, block)
    }

    /// ABCI `Commit`: persists the finalized block and its journal in one atomic write.
    pub fn commit(&mut self) -> Result<Info, AppError> {
        let finalized = self.finalized.take().ok_or(AppError::NothingFinalized)?;
        let app_hash = self.store.commit_with_aux(finalized.height, finalized.journal)?;
        debug_assert_eq!(app_hash, finalized.app_hash);
        *self.check.lock().unwrap_or_else(|e| e.into_inner()) = CheckState::default();
        // Start observing from the new cursor now, so the next vote has blocks to commit to.
        if let Some(source) = &self.eth_source {
            source.observation(self.eth_cursor(), &self.eth_filters());
        }
        Ok(Info { height: finalized.height, app_hash })
    }

    /// An account at the last committed height (default if it never received anything); before
    /// the first block commits, the genesis balances, so transactions can be checked against them.
    pub fn account(&self, address: &Address) -> Account {
        let key = state_keys::account(address);
        let bytes = match (&self.genesis, self.store.latest()) {
            (Some(genesis), None) => genesis.get(&key).cloned().flatten(),
            _ => self.layers.committed(&key),
        };
        bytes.and_then(|b| borsh::from_slice(&b).ok()).unwrap_or_default()
    }

    /// The nonce an account's next transaction should use, counting its transactions accepted by
    /// `check_tx` but not yet committed.
    pub fn pending_nonce(&self, address: &Address) -> u64 {
        let check = self.check.lock().unwrap_or_else(|e| e.into_inner());
        check.nonces.get(address).copied().unwrap_or_else(|| self.account(address).nonce)
    }

    /// A function at the last committed height.
    pub fn function(&self, id: &Hash32) -> Option<FunctionInfo> {
        self.layers.committed(&state_keys::function(id)).and_then(|b| borsh::from_slice(&b).ok())
    }

    /// A function's module bytes.
    pub fn code(&self, code_hash: &Hash32) -> Option<Vec<u8>> {
        self.layers.committed(&state_keys::code(code_hash))
    }

    /// The committed value of a function's key-value entry, with an ICS23 proof of it (or of its
    /// absence) against the app hash of `height` (the latest when `None`). Check it with
    /// [`crate::verify_proof`] over [`function_kv_key`].
    pub fn kv_get_with_proof(
        &self,
        function: &Hash32,
        key: &[u8],
        height: Option<u64>,
    ) -> Result<ProvenValue, AppError> {
        let (latest, root) = self.store.latest().ok_or(AppError::NotInitialized)?;
        let height = height.unwrap_or(latest);
        let app_hash = if height == latest { root } else { self.app_hash_at(height)?.unwrap_or(root) };
        let (value, proof) = self.store.get_with_proof(&function_kv_key(function, key), height)?;
        Ok(ProvenValue { height, app_hash, value, proof })
    }

    /// The app hash committed at `height`, from the journal.
    pub fn app_hash_at(&self, height: u64) -> Result<Option<AppHash>, AppError> {
        Ok(self.block(height)?.map(|b| b.app_hash))
    }

    /// A committed block's record.
    pub fn block(&self, height: u64) -> Result<Option<BlockRecord>, AppError> {
        self.journal_get(&state_keys::journal_block(height))
    }

    /// A committed transaction's result.
    pub fn tx_result(&self, hash: &Hash32) -> Result<Option<TxRecord>, AppError> {
        self.journal_get(&state_keys::journal_tx(hash))
    }

    /// A function's logs and events from `from_height` on, oldest first, at most `limit`.
    pub fn logs(
        &self,
        function: &Hash32,
        from_height: u64,
        limit: usize,
    ) -> Result<Vec<LogRecord>, AppError> {
        let prefix = state_keys::journal_logs(function);
        let start = [prefix.as_slice(), &from_height.to_be_bytes()].concat();
        let end = nexus_types::keys::prefix_end(&prefix).unwrap_or_default();
        let entries = self.store.backend().range(Column::Aux, &start, &end)?;
        entries
            .into_iter()
            .take(limit)
            .map(|(_, v)| {
                serde_json::from_slice(&v).map_err(|e| AppError::Corrupt(format!("log record: {e}")))
            })
            .collect()
    }

    /// Outbound requests waiting for the Ethereum or zk machinery, oldest first.
    pub fn outbox(&self) -> Result<Vec<WorkItem>, AppError> {
        layers::scan(&self.layers, state_keys::OUTBOX_PREFIX, true)
            .values()
            .map(|v| decode(v, "outbox item"))
            .collect()
    }

    fn journal_get<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, AppError> {
        match self.store.backend().get(Column::Aux, key)? {
            Some(v) => {
                Ok(Some(serde_json::from_slice(&v).map_err(|e| AppError::Corrupt(format!("journal: {e}")))?))
            }
            None => Ok(None),
        }
    }
}

/// The application's vote extension for `height`: the version, the height, the Ethereum vote
/// when the validator has one, and its threshold-signing messages.
pub fn vote_extension(
    height: u64,
    eth: Option<&eth::EthVote>,
    tss: &[nexus_tss::protocol::TssMsg],
) -> Vec<u8> {
    let mut out = [&[VOTE_EXTENSION_VERSION][..], &height.to_be_bytes()].concat();
    borsh::to_writer(&mut out, &(eth, tss)).expect("borsh into a Vec");
    out
}

/// The Ethereum vote and threshold-signing messages in a well-formed extension for `height`;
/// `None` when the extension is malformed or over its caps.
fn vote_of(
    height: u64,
    extension: &[u8],
) -> Option<(Option<eth::EthVote>, Vec<nexus_tss::protocol::TssMsg>)> {
    let (version, rest) = extension.split_first()?;
    let (h, rest) = rest.split_first_chunk::<8>()?;
    if *version != VOTE_EXTENSION_VERSION || u64::from_be_bytes(*h) != height {
        return None;
    }
    let (vote, tss): (Option<eth::EthVote>, Vec<nexus_tss::protocol::TssMsg>) =
        borsh::from_slice(rest).ok()?;
    let fits =
        vote.as_ref().is_none_or(|v| v.commitments.len() <= eth::MAX_VOTE_BLOCKS) && tss::messages_fit(&tss);
    fits.then_some((vote, tss))
}

/// The checks that need only the transaction and the parameters; returns the most the
/// transaction can take from its signer (maximum fee plus attached values).
fn stateless_checks(params: &Params, v: &VerifiedTx, next_height: u64) -> Result<u128, TxError> {
    let t = &v.tx;
    if t.expires_at != 0 && t.expires_at < next_height {
        return Err(TxError::Expired { expires_at: t.expires_at, next_height });
    }
    if t.gas_limit > params.block_gas_limit {
        return Err(TxError::GasLimitAboveBlock {
            gas_limit: t.gas_limit,
            block_gas_limit: params.block_gas_limit,
        });
    }
    let intrinsic = gas::intrinsic(v.size);
    if t.gas_limit < intrinsic {
        return Err(TxError::GasLimitTooLow { gas_limit: t.gas_limit, intrinsic });
    }
    if t.gas_price < params.min_gas_price {
        return Err(TxError::GasPriceTooLow { gas_price: t.gas_price, min_gas_price: params.min_gas_price });
    }
    let value: u128 = t
        .msgs
        .iter()
        .map(|m| match m {
            tx::Msg::Transfer { amount, .. } => *amount,
            tx::Msg::Call { value, .. } => *value,
            tx::Msg::CreateValidator { amount, .. } | tx::Msg::Delegate { amount, .. } => *amount,
            _ => 0,
        })
        .fold(0u128, u128::saturating_add);
    Ok(u128::from(t.gas_limit).saturating_mul(t.gas_price).saturating_add(value))
}

/// The state-tree key of a function's key-value entry (what `kv_get_with_proof` proves).
pub fn function_kv_key(function: &Hash32, key: &[u8]) -> Vec<u8> {
    [state_keys::function_state(function).as_slice(), &[nexus_runtime::state::NS_KV], key].concat()
}
