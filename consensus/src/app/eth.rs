//! Ethereum component: which finalized Ethereum blocks the chain has processed, what functions
//! subscribe to, and how validators agree on the blocks and logs they run on.
//!
//! Each validator's vote extension carries an [`EthVote`]: one commitment per finalized block it
//! observed after the chain's cursor (the keccak of the header and of the logs matching the
//! chain's filters), and which filter set it used. The next proposer injects the blocks and logs
//! themselves ([`EthData`]) right after the vote-extension bundle; every validator then checks
//! in ProcessProposal that they continue the cursor's parent-hash chain, fit the size caps, hold
//! only logs the filters match, and that for each block validators with more than 2/3 of the
//! power committed to exactly that data. Execution reads nothing but that transaction.

use std::sync::Arc;

use alloy_primitives::keccak256;
use borsh::{BorshDeserialize, BorshSerialize};
use nexus_types::codec::{Decode, DecodeError, Encode, Reader, decode_seq, encode_seq};
use nexus_types::{Address, EthBlock, EthLog, EthLogFilter, Hash32};
use serde::{Deserialize, Serialize};

use super::records::opt_hex;

/// First bytes of an injected [`EthData`] transaction.
pub const ETH_DATA_MAGIC: &[u8; 4] = b"NXEB";

/// Most block commitments one vote may carry, whatever the parameters say.
pub const MAX_VOTE_BLOCKS: usize = 64;

alloy_sol_types::sol! {
    /// The gateway's request event (`ethereum/contracts/NexusGateway.sol`).
    event FunctionCalled(bytes32 indexed functionId, address indexed caller, uint256 value, bytes payload);
    /// The gateway ran a message the validators signed.
    event Executed(uint64 indexed nonce, bytes32 indexed sender, address indexed target, bool success, bytes result);
    /// The gateway holds the key of `epoch` now.
    event GroupKeySet(uint64 indexed epoch, bytes32 x, uint8 parity);
}

/// Ethereum parameters, fixed at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EthParams {
    /// The `NexusGateway` contract whose `FunctionCalled` logs become `on_call` invocations.
    #[serde(with = "opt_hex")]
    pub gateway: Option<Address>,
    /// The Ethereum chain id the gateway lives on (bound into every digest the validators sign);
    /// without it, and the gateway, `eth_send` messages wait unsigned.
    pub chain_id: Option<u64>,
    /// Most Ethereum blocks one Nexus block processes (catching up after an outage).
    pub max_blocks_per_block: u64,
    /// Most logs one Ethereum block may bring.
    pub max_logs_per_block: u32,
    /// Largest injected block data, in bytes.
    pub max_data_bytes: u64,
}

impl Default for EthParams {
    fn default() -> Self {
        Self {
            gateway: None,
            chain_id: None,
            max_blocks_per_block: 32,
            max_logs_per_block: 1024,
            max_data_bytes: 1 << 20,
        }
    }
}

/// The last Ethereum block the chain processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct EthCursor {
    /// Its number.
    pub number: u64,
    /// Its hash.
    #[serde(with = "super::records::hex_bytes")]
    pub hash: Hash32,
}

/// A finalized block and the logs of it the chain's filters match, in log-index order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedBlock {
    /// The header.
    pub header: EthBlock,
    /// The matching logs.
    pub logs: Vec<EthLog>,
}

impl Encode for ObservedBlock {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header.encode_to(out);
        encode_seq(&self.logs, out);
    }
}

impl Decode for ObservedBlock {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { header: EthBlock::decode_from(r)?, logs: decode_seq(r)? })
    }
}

impl ObservedBlock {
    /// What a validator commits to for this block.
    pub fn commitment(&self) -> Hash32 {
        keccak256(self.encode()).0
    }
}

/// What a validator's observer saw after the cursor (node-local, never consensus state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthObservation {
    /// [`filters_hash`] of the filters the logs were selected with.
    pub filters: Hash32,
    /// The finalized block the observation reached.
    pub finalized: EthCursor,
    /// Finalized blocks in order; with no cursor yet, just the finalized block (the anchor).
    pub blocks: Vec<ObservedBlock>,
}

/// Where a validator's observations come from: its Ethereum observer. Called on the consensus
/// path, so it answers at once with what it has.
pub trait EthSource: Send + Sync {
    /// The latest observation following `cursor` with `filters`, if there is one.
    fn observation(&self, cursor: Option<EthCursor>, filters: &[EthLogFilter])
    -> Option<Arc<EthObservation>>;
}

/// The Ethereum part of a vote extension.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EthVote {
    /// The filter set the logs were selected with.
    pub filters: Hash32,
    /// The finalized block number the observer reached.
    pub finalized: u64,
    /// Number of the first committed block.
    pub first: u64,
    /// One [`ObservedBlock::commitment`] per block from `first` on.
    pub commitments: Vec<Hash32>,
}

impl EthVote {
    /// The vote for an observation.
    pub fn of(o: &EthObservation) -> Self {
        Self {
            filters: o.filters,
            finalized: o.finalized.number,
            first: o.blocks.first().map_or(0, |b| b.header.number),
            commitments: o.blocks.iter().take(MAX_VOTE_BLOCKS).map(ObservedBlock::commitment).collect(),
        }
    }

    /// Its commitment to block `number`, if it has one.
    pub fn commitment(&self, number: u64) -> Option<&Hash32> {
        let index = usize::try_from(number.checked_sub(self.first)?).ok()?;
        self.commitments.get(index)
    }
}

/// Blocks and logs injected into a Nexus block for execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthData {
    /// Consecutive finalized blocks after the cursor (with no cursor: the anchor block alone).
    pub blocks: Vec<ObservedBlock>,
}

impl EthData {
    /// The transaction bytes: [`ETH_DATA_MAGIC`] then the blocks.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = ETH_DATA_MAGIC.to_vec();
        encode_seq(&self.blocks, &mut out);
        out
    }

    /// `None` when the bytes are not an injected transaction; an error when they claim to be
    /// one and do not decode.
    pub fn decode(bytes: &[u8]) -> Option<Result<Self, DecodeError>> {
        let body = bytes.strip_prefix(ETH_DATA_MAGIC.as_slice())?;
        let mut r = Reader::new(body);
        Some(decode_seq(&mut r).and_then(|blocks| r.finish().map(|()| Self { blocks })))
    }
}

/// Why injected Ethereum data was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EthDataError {
    /// The bytes do not decode.
    #[error("malformed Ethereum data: {0}")]
    Malformed(String),
    /// More bytes, blocks or logs than the parameters allow.
    #[error("Ethereum data over its cap: {0}")]
    TooLarge(String),
    /// The blocks do not continue the cursor's chain.
    #[error("Ethereum block {number} does not continue the chain: {reason}")]
    Chain {
        /// The block.
        number: u64,
        /// Why.
        reason: String,
    },
    /// A log is out of place or matches no filter.
    #[error("Ethereum block {number} carries a log it should not: {reason}")]
    Log {
        /// The block.
        number: u64,
        /// Why.
        reason: String,
    },
    /// Validators with more than 2/3 of the power did not commit to this block's data.
    #[error("Ethereum block {number} is backed by {signed} of {total} voting power, not more than 2/3")]
    Unbacked {
        /// The block.
        number: u64,
        /// Power that committed to exactly this data.
        signed: u64,
        /// The set's power.
        total: u64,
    },
    /// Ethereum data where no signed votes back anything.
    #[error("Ethereum data needs the previous height's vote extensions before it")]
    NoVotes,
}

/// The filters for the gateway's logs the chain acts on: `FunctionCalled` (calls into Nexus),
/// `Executed` (replies to `eth_send`) and `GroupKeySet` (key rotations).
pub fn gateway_filters(gateway: Address) -> [EthLogFilter; 3] {
    use alloy_sol_types::SolEvent as _;
    [FunctionCalled::SIGNATURE_HASH, Executed::SIGNATURE_HASH, GroupKeySet::SIGNATURE_HASH]
        .map(|topic| EthLogFilter { address: Some(gateway), topics: vec![Some(topic.0)] })
}

/// Whether a log matches a filter.
pub fn matches(filter: &EthLogFilter, log: &EthLog) -> bool {
    filter.address.is_none_or(|a| a == log.address)
        && filter.topics.iter().enumerate().all(|(i, t)| t.is_none_or(|t| log.topics.get(i) == Some(&t)))
}

/// The identity of a filter set, as validators' votes name it.
pub fn filters_hash(filters: &[EthLogFilter]) -> Hash32 {
    let mut out = Vec::new();
    encode_seq(filters, &mut out);
    keccak256(out).0
}

/// Checks injected data against the cursor, the caps and the filters (not the votes).
pub fn check_data(
    data: &EthData,
    cursor: Option<EthCursor>,
    params: &EthParams,
    filters: &[EthLogFilter],
    size: usize,
) -> Result<(), EthDataError> {
    if size as u64 > params.max_data_bytes {
        return Err(EthDataError::TooLarge(format!("{size} bytes, limit {}", params.max_data_bytes)));
    }
    let max_blocks = if cursor.is_some() { params.max_blocks_per_block } else { 1 };
    if data.blocks.is_empty() || data.blocks.len() as u64 > max_blocks {
        return Err(EthDataError::TooLarge(format!(
            "{} blocks, expected 1 to {max_blocks}",
            data.blocks.len()
        )));
    }
    let mut previous = cursor;
    for block in &data.blocks {
        let h = &block.header;
        if let Some(p) = previous
            && (h.number != p.number + 1 || h.parent_hash != p.hash)
        {
            return Err(EthDataError::Chain {
                number: h.number,
                reason: format!("expected number {} with parent 0x{}", p.number + 1, hex::encode(p.hash)),
            });
        }
        if block.logs.len() > params.max_logs_per_block as usize {
            return Err(EthDataError::TooLarge(format!("{} logs in block {}", block.logs.len(), h.number)));
        }
        let mut last_index = None;
        for log in &block.logs {
            let reason = if log.block_number != h.number || log.block_hash != h.hash {
                Some("it belongs to another block".to_string())
            } else if last_index.is_some_and(|i| log.log_index <= i) {
                Some(format!("log index {} is not in increasing order", log.log_index))
            } else if log.topics.len() > 4 {
                Some("more than four topics".to_string())
            } else if !filters.iter().any(|f| matches(f, log)) {
                Some(format!("log {} matches no filter", log.log_index))
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(EthDataError::Log { number: h.number, reason });
            }
            last_index = Some(log.log_index);
        }
        previous = Some(EthCursor { number: h.number, hash: h.hash });
    }
    Ok(())
}

/// The power behind each block of `blocks`: that of the votes committing to exactly its data
/// under `filters`. `votes` pairs each vote with its signer's power.
pub fn backing(blocks: &[ObservedBlock], filters: &Hash32, votes: &[(EthVote, u64)]) -> Vec<u64> {
    blocks
        .iter()
        .map(|b| {
            let c = b.commitment();
            votes
                .iter()
                .filter(|(v, _)| v.filters == *filters && v.commitment(b.header.number) == Some(&c))
                .map(|(_, power)| *power)
                .fold(0u64, u64::saturating_add)
        })
        .collect()
}

/// Whether `signed` is more than 2/3 of `total`.
pub fn supermajority(signed: u64, total: u64) -> bool {
    u128::from(signed) * 3 > u128::from(total) * 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(number: u64, parent: Hash32, logs: Vec<EthLog>) -> ObservedBlock {
        ObservedBlock {
            header: EthBlock {
                number,
                hash: [number as u8; 32],
                parent_hash: parent,
                timestamp: number,
                base_fee: 7,
            },
            logs,
        }
    }

    fn log(number: u64, index: u32, address: Address) -> EthLog {
        EthLog {
            block_number: number,
            block_hash: [number as u8; 32],
            log_index: index,
            tx_hash: [9; 32],
            address,
            topics: vec![[1; 32]],
            data: vec![],
        }
    }

    #[test]
    fn data_must_continue_the_cursor_and_hold_only_matching_logs() {
        let params = EthParams::default();
        let filters = [EthLogFilter { address: Some([5; 20]), topics: vec![] }];
        let cursor = Some(EthCursor { number: 1, hash: [1; 32] });
        let good = EthData {
            blocks: vec![
                block(2, [1; 32], vec![log(2, 0, [5; 20]), log(2, 3, [5; 20])]),
                block(3, [2; 32], vec![]),
            ],
        };
        assert_eq!(check_data(&good, cursor, &params, &filters, 100), Ok(()));
        assert_eq!(EthData::decode(&good.encode()), Some(Ok(good.clone())));

        let gap = EthData { blocks: vec![block(3, [2; 32], vec![])] };
        assert!(matches!(check_data(&gap, cursor, &params, &filters, 100), Err(EthDataError::Chain { .. })));
        let stranger = EthData { blocks: vec![block(2, [1; 32], vec![log(2, 0, [6; 20])])] };
        assert!(matches!(
            check_data(&stranger, cursor, &params, &filters, 100),
            Err(EthDataError::Log { .. })
        ));
        let unordered =
            EthData { blocks: vec![block(2, [1; 32], vec![log(2, 3, [5; 20]), log(2, 3, [5; 20])])] };
        assert!(matches!(
            check_data(&unordered, cursor, &params, &filters, 100),
            Err(EthDataError::Log { .. })
        ));
        assert!(matches!(check_data(&good, None, &params, &filters, 100), Err(EthDataError::TooLarge(_))));
        assert!(matches!(
            check_data(&good, cursor, &params, &filters, 2 << 20),
            Err(EthDataError::TooLarge(_))
        ));
        assert_eq!(EthData::decode(b"NXEBjunk").map(|r| r.is_err()), Some(true));
        assert_eq!(EthData::decode(b"other"), None);
    }

    #[test]
    fn only_votes_for_exactly_the_data_back_it() {
        let blocks = vec![block(2, [1; 32], vec![]), block(3, [2; 32], vec![])];
        let o = EthObservation {
            filters: [4; 32],
            finalized: EthCursor { number: 3, hash: [3; 32] },
            blocks: blocks.clone(),
        };
        let full = EthVote::of(&o);
        let short = EthVote { commitments: full.commitments[..1].to_vec(), ..full.clone() };
        let other_filters = EthVote { filters: [5; 32], ..full.clone() };
        let lying = EthVote { commitments: vec![[0; 32], full.commitments[1]], ..full.clone() };
        let votes = [(full, 10), (short, 10), (other_filters, 10), (lying, 10)];
        assert_eq!(backing(&blocks, &[4; 32], &votes), vec![20, 20]);
        assert!(supermajority(21, 30) && !supermajority(20, 30));
    }
}
