//! What the node API's methods take and return. Bytes, ids, hashes and addresses are `0x` hex
//! strings; `u128` amounts are decimal strings (JSON numbers lose precision past 2^53).

use nexus_consensus::app::records::{decimal, hex_bytes};
use serde::{Deserialize, Serialize};

pub use nexus_consensus::app::{BlockRecord, InvocationRecord, LogRecord, MsgResult, TxRecord};

/// Bytes of any length, as `0x` hex.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bytes(#[serde(with = "hex_bytes")] pub Vec<u8>);

/// A 32-byte id or hash (function id, code hash, transaction hash, app hash), as `0x` hex.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct H256(#[serde(with = "hex_bytes")] pub [u8; 32]);

/// A 20-byte account address, as `0x` hex.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Address(#[serde(with = "hex_bytes")] pub [u8; 20]);

macro_rules! hex_newtype {
    ($t:ty, $inner:ty) => {
        impl From<$inner> for $t {
            fn from(v: $inner) -> Self {
                Self(v)
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "0x{}", hex::encode(&self.0))
            }
        }

        impl std::str::FromStr for $t {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                let bytes = hex::decode(s.strip_prefix("0x").unwrap_or(s))
                    .map_err(|e| format!("{s:?} is not hex: {e}"))?;
                let len = bytes.len();
                <$inner>::try_from(bytes)
                    .map(Self)
                    .map_err(|_| format!("{s:?} has {len} bytes, expected {}", stringify!($inner)))
            }
        }
    };
}
hex_newtype!(Bytes, Vec<u8>);
hex_newtype!(H256, [u8; 32]);
hex_newtype!(Address, [u8; 20]);

/// `nexus_status`: the chain and the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Numeric chain id (the EIP-712 domain's `chainId`; transactions must carry it).
    pub chain_id: u64,
    /// Human name of the chain.
    pub chain_name: String,
    /// Last committed height (0 before the first block).
    pub height: u64,
    /// Its app hash.
    pub app_hash: H256,
    /// Its block time, nanoseconds since the Unix epoch (0 before the first block).
    pub latest_block_time_ns: u64,
    /// Transactions accepted and waiting for a block.
    pub mempool_size: u64,
    /// Whether this is a `nexus dev` node (one in-process validator, dev accounts).
    pub dev: bool,
}

/// `nexus_sendTx`: the accepted transaction, and its result when the caller waited for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendTxResult {
    /// The transaction hash (`keccak256` of its wire bytes).
    pub hash: H256,
    /// Its committed result (only with `wait = true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<TxRecord>,
}

/// Where a transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TxState {
    /// In the mempool, waiting for a block.
    Pending,
    /// In a committed block; its result is attached.
    Committed,
    /// Neither: never seen, dropped, or not accepted.
    Unknown,
}

/// `nexus_getTx`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxStatus {
    /// The transaction hash asked for.
    pub hash: H256,
    /// Where it is.
    pub status: TxState,
    /// Its result, once committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<TxRecord>,
}

/// `nexus_getAccount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The account.
    pub address: Address,
    /// Balance at the last committed height, smallest unit, decimal string.
    #[serde(with = "decimal")]
    pub balance: u128,
    /// The nonce its next committed transaction must use.
    pub nonce: u64,
    /// The nonce to sign the next transaction with, counting its transactions still in the
    /// mempool.
    pub pending_nonce: u64,
}

/// `nexus_validators`: one registered validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorInfo {
    /// The operator account.
    pub operator: Address,
    /// The ed25519 consensus public key.
    pub consensus_key: H256,
    /// The consensus address CometBFT names it by (SHA-256 of the key, first 20 bytes).
    pub consensus_address: Address,
    /// Tokens bonded to it, smallest unit, decimal string.
    #[serde(with = "decimal")]
    pub tokens: u128,
    /// Voting power its tokens give (what it gets when the set is next decided).
    pub power: u64,
    /// Voting power in the set that signs the next height, 0 when outside it.
    pub set_power: u64,
    /// Operator's share of rewards, in basis points.
    pub commission_bps: u16,
    /// Commission earned and not withdrawn, decimal string.
    #[serde(with = "decimal")]
    pub commission: u128,
    /// Out of the set until it unjails.
    pub jailed: bool,
    /// First height it may unjail at (absent when tombstoned or never jailed).
    pub jailed_until: Option<u64>,
    /// Jailed for good after a double-sign.
    pub tombstoned: bool,
    /// Precommits missed in the current downtime window.
    pub missed: u64,
}

/// `nexus_ethStatus`: the chain's Ethereum cursor and this node's observer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EthStatus {
    /// The gateway whose `FunctionCalled` logs become calls, if the chain has one.
    pub gateway: Option<Address>,
    /// The last Ethereum block the chain processed (absent until the first is anchored).
    pub cursor: Option<nexus_consensus::app::eth::EthCursor>,
    /// Whether this node runs an observer (validators need one to vote on Ethereum blocks).
    pub observing: bool,
    /// The newest finalized block its endpoints agree on, once it observed.
    pub finalized: Option<nexus_consensus::app::eth::EthCursor>,
    /// Finalized blocks not yet processed by the chain.
    pub lag: Option<u64>,
    /// Why its last observation failed (an endpoint down or disagreeing), if it did.
    pub error: Option<String>,
}

/// `nexus_getDelegation`: a delegator's stake in a validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationInfo {
    /// The validator's operator.
    pub validator: Address,
    /// The delegator.
    pub delegator: Address,
    /// Tokens the stake is worth now (after any slash), decimal string.
    #[serde(with = "decimal")]
    pub stake: u128,
    /// Rewards it can withdraw, decimal string.
    #[serde(with = "decimal")]
    pub rewards: u128,
}

/// `nexus_getFunction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionDetails {
    /// The function id.
    pub id: H256,
    /// Its account (the last 20 bytes of the id): where values sent to it are kept.
    pub address: Address,
    /// Who may upgrade or delete it.
    pub owner: Address,
    /// `sha256` of its module.
    pub code_hash: H256,
    /// Size of its module in bytes.
    pub code_size: u64,
    /// Height it was deployed at.
    pub created_at: u64,
    /// Height of its last upgrade (or the deploy).
    pub updated_at: u64,
    /// How many times it was upgraded.
    pub version: u32,
    /// Balance of its account, decimal string.
    #[serde(with = "decimal")]
    pub balance: u128,
}

/// `nexus_kvGet`: a function's key-value entry at a committed height, optionally with a proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvValue {
    /// The height read.
    pub height: u64,
    /// That height's app hash: the root the proof verifies against.
    pub app_hash: H256,
    /// The value, or null when the key is absent.
    pub value: Option<Bytes>,
    /// With `prove = true`: the ICS23 `CommitmentProof`, protobuf-encoded, of the value (or of the
    /// key's absence) under `app_hash`, for the state key
    /// `nexus_consensus::app::function_kv_key(id, key)`.
    pub proof: Option<Bytes>,
}

/// A log line of a read-only query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryLog {
    /// `debug`, `info`, `warn` or `error`.
    pub level: String,
    /// The text.
    pub message: String,
}

/// An event of a read-only query (not kept anywhere).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryEvent {
    /// The topic, lossily decoded UTF-8.
    pub topic: String,
    /// The payload.
    pub data: Bytes,
}

/// `nexus_query`: what a read-only `query` invocation returned; nothing it did is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryResult {
    /// Whether it succeeded.
    pub ok: bool,
    /// Why it failed (the runtime's stable error), if it did.
    pub error: Option<String>,
    /// Its output.
    pub output: Bytes,
    /// Log lines it wrote.
    pub logs: Vec<QueryLog>,
    /// Events it emitted.
    pub events: Vec<QueryEvent>,
    /// Fuel it used.
    pub fuel_used: u64,
}

/// One directory entry of `nexus_fsList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Name within the directory.
    pub name: String,
    /// `file`, `dir` or `symlink`.
    pub kind: String,
    /// Size in bytes (files).
    pub size: u64,
}

/// An outbound request in `nexus_outbox`, waiting for the Ethereum or zk machinery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkItem {
    /// The function that asked.
    pub function: H256,
    /// Height it was asked at.
    pub height: u64,
    /// The request id the function got back.
    pub request_id: u64,
    /// `eth_send` or `proof`.
    pub kind: String,
    /// The request, in the runtime's encoding.
    pub payload: Bytes,
}

/// `nexus_tssStatus`: the validators' threshold key and its DKG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TssStatus {
    /// The key messages are signed with: the one the gateway holds.
    pub active_epoch: Option<u64>,
    /// The newest key (ahead of `active_epoch` while a rotation waits to execute on Ethereum).
    pub latest_epoch: Option<u64>,
    /// The running DKG, if one is.
    pub dkg: Option<DkgInfo>,
    /// Every key made, oldest first.
    pub keys: Vec<KeyInfo>,
    /// Signed key rotations, for relayers.
    pub rotations: Vec<SignedRotationInfo>,
    /// Reported faults: excluded dealers, culprits of invalid signature shares.
    pub faults: Vec<nexus_consensus::app::tss::Fault>,
    /// Gateway nonces handed out so far.
    pub messages: u64,
}

/// A running DKG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DkgInfo {
    /// Its session number.
    pub session: u64,
    /// The epoch of the key it makes.
    pub epoch: u64,
    /// `round1`, `round2`, `complaints` or `reveal`.
    pub phase: String,
    /// Members.
    pub members: usize,
    /// Signers a signature will need.
    pub threshold: u16,
    /// Members excluded so far, with why.
    pub excluded: Vec<(u16, String)>,
}

/// A threshold key, and its form on the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// Its epoch.
    pub epoch: u64,
    /// Signers a signature needs.
    pub threshold: u16,
    /// Members' consensus keys, in participant order.
    pub members: Vec<H256>,
    /// Dealers whose polynomials make it up.
    pub qualified: Vec<u16>,
    /// The group key, compressed.
    pub group_key: Bytes,
    /// Its x coordinate, as `NexusGateway` stores it.
    pub x: H256,
    /// Its y parity (0 even, 1 odd).
    pub parity: u8,
    /// Members' nonce commitments on chain: (member, next index, unused); the unused ones are
    /// the indexes just below `next`.
    pub commitments: Vec<(u16, u32, u32)>,
}

/// A FROST signature in the gateway's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewaySignature {
    /// R's x coordinate.
    pub rx: H256,
    /// R's y coordinate.
    pub ry: H256,
    /// The response.
    pub z: H256,
}

/// A signed key rotation: what `NexusGateway.rotateKey` takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRotationInfo {
    /// The epoch whose key signed it (the gateway's epoch when it can run).
    pub from: u64,
    /// The new key's epoch.
    pub to: u64,
    /// The new key's x coordinate.
    pub x: H256,
    /// The new key's y parity.
    pub parity: u8,
    /// The signature.
    pub signature: GatewaySignature,
    /// The Nexus height it was signed at.
    pub height: u64,
}

/// `nexus_tssBatches`: a batch of messages signed under one Merkle root, each with its proof,
/// ready for `NexusGateway.execute`/`executeBatch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedBatchInfo {
    /// The signing job (batches are listed by it).
    pub job: u64,
    /// The key epoch.
    pub epoch: u64,
    /// The Merkle root.
    pub root: H256,
    /// The signature over the gateway's batch digest.
    pub signature: GatewaySignature,
    /// The Nexus height it was signed at.
    pub height: u64,
    /// The messages in leaf order.
    pub messages: Vec<SignedMessageInfo>,
}

/// One message of a signed batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedMessageInfo {
    /// The gateway nonce.
    pub nonce: u64,
    /// The sending function.
    pub sender: H256,
    /// The called contract.
    pub target: Address,
    /// Gas for the call.
    pub gas_limit: u64,
    /// Calldata (empty once executed: the chain drops it then).
    pub data: Bytes,
    /// The Merkle proof of its leaf.
    pub proof: Vec<H256>,
    /// `signed`, `queued` (signed under a retired key, waiting to be signed again) or
    /// `executed`.
    pub status: String,
}
