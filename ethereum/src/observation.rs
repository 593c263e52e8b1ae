//! What the observer reports: finalized blocks after a cursor with their filtered logs, and the
//! compact digest validators compare (DESIGN.md §5).

use alloy_primitives::keccak256;
use nexus_types::codec::{Encode, encode_seq};
use nexus_types::{EthBlock, EthLog, Hash32};

/// An Ethereum block by number and hash: the chain's cursor, or the finalized block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockRef {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: Hash32,
}

/// One finalized block after the cursor: its header and the logs matching any filter, by log index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedBlock {
    /// The header fields functions see in `on_eth_block`.
    pub header: EthBlock,
    /// Logs matching at least one filter, each once, in log-index order.
    pub logs: Vec<EthLog>,
}

/// Finalized blocks after a cursor, as every endpoint reported them identically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The cursor this observation continues from (`None`: the chain has none yet, and the
    /// observation starts at the finalized block itself).
    pub cursor: Option<BlockRef>,
    /// The newest block every endpoint calls finalized (the lowest of their `finalized` tags).
    pub finalized: BlockRef,
    /// Consecutive blocks from the one after the cursor, at most `max_blocks_per_observation`,
    /// none above `finalized`; each one's parent is the previous one (the first's is the cursor).
    pub blocks: Vec<ObservedBlock>,
}

/// Domain separator of the block commitments, versioned so a change of encoding cannot collide.
const COMMITMENT_DOMAIN: &[u8] = b"nexus-eth-observation-v1";

impl Observation {
    /// Number of the first block this observation covers (cursor + 1, or the finalized block
    /// when there is no cursor), whether or not any block was reported.
    pub fn start(&self) -> u64 {
        self.cursor.map_or(self.finalized.number, |c| c.number + 1)
    }

    /// The last reported block, or the cursor when none was.
    pub fn tip(&self) -> Option<BlockRef> {
        self.blocks.last().map(|b| BlockRef { number: b.header.number, hash: b.header.hash }).or(self.cursor)
    }

    /// The compact commitment a validator puts in its vote extension.
    pub fn digest(&self) -> ObservationDigest {
        let mut previous = self.cursor.map_or([0; 32], |c| c.hash);
        let chain = self
            .blocks
            .iter()
            .map(|block| {
                previous = block_commitment(&previous, block);
                previous
            })
            .collect();
        ObservationDigest { finalized: self.finalized, start: self.start(), chain }
    }
}

/// `keccak256(domain ‖ previous ‖ header ‖ keccak256(logs))` in the `nexus-types` encoding, so a
/// commitment binds every earlier block and the cursor.
fn block_commitment(previous: &Hash32, block: &ObservedBlock) -> Hash32 {
    let mut logs = Vec::new();
    encode_seq(&block.logs, &mut logs);
    let mut bytes = Vec::with_capacity(COMMITMENT_DOMAIN.len() + 32 + 96 + 32);
    bytes.extend_from_slice(COMMITMENT_DOMAIN);
    bytes.extend_from_slice(previous);
    block.header.encode_to(&mut bytes);
    bytes.extend_from_slice(keccak256(&logs).as_slice());
    keccak256(&bytes).0
}

/// A small commitment to an [`Observation`]: the finalized block, where the blocks start, and one
/// chained commitment per block.
///
/// Entry `i` of `chain` commits to blocks `start..=start+i` and the cursor, so two validators'
/// digests agree on a prefix of `j` blocks exactly when their first `j` entries are equal: a
/// proposer can count the stake behind each prefix without the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationDigest {
    /// The finalized block the observer saw.
    pub finalized: BlockRef,
    /// Number of the first block the chain commitments cover.
    pub start: u64,
    /// Chained commitment after each reported block.
    pub chain: Vec<Hash32>,
}

impl ObservationDigest {
    /// Encoded size for `blocks` blocks: 8 + 32 + 8 + 4 + 32 per block (180 bytes for 4 blocks).
    pub const fn encoded_len(blocks: usize) -> usize {
        52 + 32 * blocks
    }

    /// Canonical bytes: finalized number (u64 BE), finalized hash, start (u64 BE), block count
    /// (u32 BE), then the chain.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::encoded_len(self.chain.len()));
        out.extend_from_slice(&self.finalized.number.to_be_bytes());
        out.extend_from_slice(&self.finalized.hash);
        out.extend_from_slice(&self.start.to_be_bytes());
        // The observer caps an observation far below u32::MAX blocks (MAX_BLOCKS_PER_OBSERVATION).
        out.extend_from_slice(&(self.chain.len() as u32).to_be_bytes());
        for c in &self.chain {
            out.extend_from_slice(c);
        }
        out
    }
}
