//! The records the application keeps: chain parameters and genesis, accounts, functions, outbound
//! work, and the node-local journal of results, blocks and logs that the node API serves.

use borsh::{BorshDeserialize, BorshSerialize};
use nexus_types::{Address, Hash32};
use serde::{Deserialize, Serialize};

/// Consensus parameters, fixed at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Numeric chain id: the EIP-712 domain's `chainId`, bound into every signature.
    pub chain_id: u64,
    /// Human name of the chain, what functions see as their context's chain id.
    pub chain_name: String,
    /// Most gas all transactions of a block may ask for together.
    pub block_gas_limit: u64,
    /// Lowest accepted gas price.
    pub min_gas_price: u128,
    /// Largest module a deploy or upgrade may carry, in bytes.
    pub max_code_bytes: u64,
    /// Fuel a function gets per invocation unless its manifest asks for less.
    pub max_fuel_per_invocation: u64,
    /// Storage a function may hold unless its manifest asks for less.
    pub max_storage_bytes: u64,
    /// Fuel shared by all scheduled invocations (`every` triggers, tasks) in one block.
    pub scheduled_fuel_per_block: u64,
    /// Most function-to-function messages one transaction may cause.
    pub max_sends_per_tx: u32,
    /// Staking: epochs, bonding, slashing, jailing and rewards.
    pub staking: crate::app::staking::StakingParams,
    /// Ethereum: the gateway and the caps on injected block data.
    pub eth: crate::app::eth::EthParams,
    /// Threshold signing: DKG phase length, batch size, culprit penalty.
    pub tss: crate::app::tss::TssParams,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            chain_id: 31_337,
            chain_name: "nexus-dev".into(),
            block_gas_limit: 2_000_000_000,
            min_gas_price: 1,
            max_code_bytes: 512 << 10,
            max_fuel_per_invocation: 1_000_000_000,
            max_storage_bytes: 64 << 20,
            scheduled_fuel_per_block: 2_000_000_000,
            max_sends_per_tx: 64,
            staking: Default::default(),
            eth: Default::default(),
            tss: Default::default(),
        }
    }
}

/// A balance at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    /// The account, `0x`-prefixed hex.
    #[serde(with = "hex_bytes")]
    pub address: Address,
    /// Its balance in the smallest unit, as a decimal string (JSON numbers lose precision).
    #[serde(with = "decimal")]
    pub balance: u128,
}

/// Everything a chain starts from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Consensus parameters.
    #[serde(default)]
    pub params: Params,
    /// Funded accounts.
    #[serde(default)]
    pub accounts: Vec<GenesisAccount>,
    /// The initial validator set; a CometBFT network's adapter fills it from `InitChain` when
    /// the file leaves it empty.
    #[serde(default)]
    pub validators: Vec<GenesisValidator>,
}

/// A genesis validator: its ed25519 consensus key, voting power and operator. Its self-bond is
/// `power × power_reduction` tokens, created at genesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    /// The consensus public key, `0x`-prefixed hex of 32 bytes.
    #[serde(with = "hex_bytes")]
    pub pub_key: [u8; 32],
    /// Voting power.
    pub power: u64,
    /// The account that operates it (unjails, unbonds, earns its commission); absent, the
    /// consensus address stands in, which no account key controls.
    #[serde(default, with = "opt_hex", skip_serializing_if = "Option::is_none")]
    pub operator: Option<Address>,
}

/// An account's balance and next nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Account {
    /// Balance in the smallest unit.
    #[serde(with = "decimal")]
    pub balance: u128,
    /// The nonce the account's next transaction must use.
    pub nonce: u64,
}

/// A deployed function.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct FunctionInfo {
    /// Who may upgrade or delete it.
    pub owner: Address,
    /// `sha256` of its module.
    pub code_hash: Hash32,
    /// Height it was deployed at.
    pub created_at: u64,
    /// Height of its last upgrade (or deploy).
    pub updated_at: u64,
    /// How many times it was upgraded.
    pub version: u32,
}

/// An outbound request waiting for the Ethereum or zk machinery.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct WorkItem {
    /// The function that asked.
    #[serde(with = "hex_bytes")]
    pub function: Hash32,
    /// Height it was asked at.
    pub height: u64,
    /// The request id the function got back.
    pub request_id: u64,
    /// `eth_send` or `proof`.
    pub kind: String,
    /// The request, in the runtime's encoding.
    #[serde(with = "hex_bytes")]
    pub payload: Vec<u8>,
}

/// What one invocation did, as the journal and the node API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvocationRecord {
    /// The function invoked.
    #[serde(with = "hex_bytes")]
    pub function: Hash32,
    /// The entry point.
    pub entry: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// Why it failed (the runtime's stable error), if it did.
    pub error: Option<String>,
    /// Its output.
    #[serde(with = "hex_bytes")]
    pub output: Vec<u8>,
    /// Fuel it used.
    pub fuel_used: u64,
}

/// The result of one message of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsgResult {
    /// `transfer`, `deploy`, `call`, `upgrade` or `delete`.
    pub kind: String,
    /// The function deployed, called, upgraded or deleted.
    #[serde(with = "opt_hex")]
    pub function: Option<Hash32>,
    /// The code hash a deploy or upgrade installed.
    #[serde(with = "opt_hex")]
    pub code_hash: Option<Hash32>,
    /// Every invocation this message caused, in order (the first is the message's own).
    pub invocations: Vec<InvocationRecord>,
}

/// A transaction's outcome, kept in the journal and returned by the node API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxRecord {
    /// Transaction hash.
    #[serde(with = "hex_bytes")]
    pub hash: Hash32,
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
    /// The signer.
    #[serde(with = "hex_bytes")]
    pub sender: Address,
    /// The nonce it used.
    pub nonce: u64,
    /// Whether every message succeeded (if not, none of their effects were kept).
    pub ok: bool,
    /// Why it failed, naming the message.
    pub error: Option<String>,
    /// Gas limit asked for.
    pub gas_limit: u64,
    /// Gas used and paid for.
    pub gas_used: u64,
    /// Fee paid in the smallest unit.
    #[serde(with = "decimal")]
    pub fee: u128,
    /// Per-message results (empty when the transaction failed before running any).
    pub results: Vec<MsgResult>,
}

/// A committed block, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRecord {
    /// Height.
    pub height: u64,
    /// Block time, nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// App hash after this block.
    #[serde(with = "hex_bytes")]
    pub app_hash: Hash32,
    /// Transactions, in order.
    #[serde(with = "hex_list")]
    pub txs: Vec<Hash32>,
    /// Gas used by all of them.
    pub gas_used: u64,
    /// Scheduled invocations (`every` triggers and tasks) run at the end of the block.
    pub scheduled: Vec<InvocationRecord>,
    /// Invocations finalized Ethereum blocks triggered (`on_eth_block`, `on_eth_log`, gateway
    /// calls), run before the block's transactions.
    #[serde(default)]
    pub eth: Vec<InvocationRecord>,
    /// The last Ethereum block processed after this block, if any.
    #[serde(default)]
    pub eth_cursor: Option<crate::app::eth::EthCursor>,
}

/// A log line, event or output stream chunk of a function, as `nexus logs` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// The function.
    #[serde(with = "hex_bytes")]
    pub function: Hash32,
    /// Block height.
    pub height: u64,
    /// The transaction, if one caused it (scheduled invocations have none).
    #[serde(with = "opt_hex")]
    pub tx: Option<Hash32>,
    /// The entry point that produced it.
    pub entry: String,
    /// `debug`, `info`, `warn`, `error`, `event`, `stdout`, `stderr`, or `failure`.
    pub kind: String,
    /// The event topic (events only).
    pub topic: Option<String>,
    /// The text (or event data, lossily decoded).
    pub message: String,
    /// The Ethereum block that triggered the invocation, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eth_block: Option<u64>,
}

/// Serde helpers: bytes as `0x` hex.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as `0x…`.
    pub fn serialize<S: Serializer>(bytes: &impl AsRef<[u8]>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&prefixed(bytes.as_ref()))
    }

    /// `0x…` in one allocation; `hex::encode`'s char-by-char iterator showed in profiles of the
    /// journal and of RPC responses, which hold several hashes per transaction.
    pub(super) fn prefixed(bytes: &[u8]) -> String {
        let mut out = vec![0u8; 2 + 2 * bytes.len()];
        out[..2].copy_from_slice(b"0x");
        hex::encode_to_slice(bytes, &mut out[2..]).expect("the buffer holds two digits per byte");
        String::from_utf8(out).expect("hex digits are ASCII")
    }

    /// Parses `0x…` (or bare hex) into any byte container.
    pub fn deserialize<'de, D: Deserializer<'de>, T: TryFrom<Vec<u8>>>(d: D) -> Result<T, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = hex::decode(s.trim_start_matches("0x")).map_err(serde::de::Error::custom)?;
        T::try_from(bytes).map_err(|_| serde::de::Error::custom("wrong length"))
    }
}

/// Serde helpers: optional bytes as `0x` hex or null.
pub mod opt_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as `0x…` or null.
    pub fn serialize<S: Serializer, const N: usize>(
        bytes: &Option<[u8; N]>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => super::hex_bytes::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    /// Parses `0x…` or null.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<Option<[u8; N]>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| {
                let v = hex::decode(s.trim_start_matches("0x")).map_err(serde::de::Error::custom)?;
                v.try_into().map_err(|_| serde::de::Error::custom(format!("expected {N} bytes")))
            })
            .transpose()
    }
}

/// Serde helpers: a list of 32-byte hashes as `0x` hex strings.
pub mod hex_list {
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

    /// Serializes as a list of `0x…`.
    pub fn serialize<S: Serializer>(list: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(list.len()))?;
        for h in list {
            seq.serialize_element(&super::hex_bytes::prefixed(h))?;
        }
        seq.end()
    }

    /// Parses a list of `0x…`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        Vec::<String>::deserialize(d)?
            .into_iter()
            .map(|s| {
                let v = hex::decode(s.trim_start_matches("0x")).map_err(serde::de::Error::custom)?;
                v.try_into().map_err(|_| serde::de::Error::custom("expected 32 bytes"))
            })
            .collect()
    }
}

/// Serde helpers: a `u128` as a decimal string.
pub mod decimal {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as a decimal string.
    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    /// Parses a decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}
