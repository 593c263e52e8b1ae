//! What `NexusGateway` verifies, built in Rust: the group key as its x coordinate and y parity, a
//! FROST signature as the commitment point R in full plus the response z, the messages functions
//! send and their Merkle batches, and the digests the group signs for a batch and a key rotation.
//!
//! A batch's leaves are [`Message::leaf`]; the tree hashes each pair in sorted order and promotes
//! a lone last node unchanged, so a proof is the siblings bottom-up and a one-message batch has
//! its leaf as root and an empty proof.

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::SolValue as _;
use k256::elliptic_curve::sec1::{FromEncodedPoint as _, ToEncodedPoint as _};
use k256::{AffinePoint, EncodedPoint};

/// Why a FROST value has no gateway form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The value does not serialize as a compressed secp256k1 point (and scalar).
    #[error("not a secp256k1 FROST value: {0}")]
    Encoding(String),
    /// The group key's x coordinate is not below the group order, which the gateway's verifier
    /// needs (it passes x to ecrecover as `r`); a new key must be generated (probability ≈ 2⁻¹²⁸).
    #[error("the group key's x coordinate is not below the secp256k1 group order")]
    KeyOutOfRange,
}

/// A group key as the gateway stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupKey {
    /// x coordinate.
    pub x: [u8; 32],
    /// y parity: 0 even, 1 odd.
    pub parity: u8,
}

/// The secp256k1 group order n.
const ORDER: U256 = U256::from_be_slice(&[
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xba,
    0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);

fn point(compressed: &[u8]) -> Result<AffinePoint, GatewayError> {
    let encoded = EncodedPoint::from_bytes(compressed).map_err(|e| GatewayError::Encoding(e.to_string()))?;
    Option::from(AffinePoint::from_encoded_point(&encoded))
        .ok_or_else(|| GatewayError::Encoding("not a point on the curve".into()))
}

impl GroupKey {
    /// The gateway form of a FROST group key.
    pub fn from_frost(key: &frost_secp256k1::VerifyingKey) -> Result<Self, GatewayError> {
        let bytes = key.serialize().map_err(|e| GatewayError::Encoding(e.to_string()))?;
        let [prefix @ (2 | 3), x @ ..] = bytes.as_slice() else {
            return Err(GatewayError::Encoding("a group key is a 33-byte compressed point".into()));
        };
        let x: [u8; 32] = x.try_into().map_err(|_| GatewayError::Encoding("33 bytes expected".into()))?;
        if U256::from_be_bytes(x) >= ORDER {
            return Err(GatewayError::KeyOutOfRange);
        }
        Ok(Self { x, parity: prefix - 2 })
    }
}

/// A signature as `execute` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewaySignature {
    /// R's x coordinate.
    pub rx: [u8; 32],
    /// R's y coordinate (the contract checks R is on the curve).
    pub ry: [u8; 32],
    /// The response z.
    pub z: [u8; 32],
}

impl GatewaySignature {
    /// The gateway form of an aggregated FROST signature.
    pub fn from_frost(signature: &frost_secp256k1::Signature) -> Result<Self, GatewayError> {
        let bytes = signature.serialize().map_err(|e| GatewayError::Encoding(e.to_string()))?;
        let (r, z) =
            bytes.split_at_checked(33).ok_or_else(|| GatewayError::Encoding("short signature".into()))?;
        let full = point(r)?.to_encoded_point(false);
        let (Some(rx), Some(ry)) = (full.x(), full.y()) else {
            return Err(GatewayError::Encoding("R is the identity".into()));
        };
        Ok(Self {
            rx: (*rx).into(),
            ry: (*ry).into(),
            z: z.try_into().map_err(|_| GatewayError::Encoding("z is 32 bytes".into()))?,
        })
    }
}

/// The first word of every message leaf.
pub fn leaf_tag() -> B256 {
    keccak256("nexus/gateway/message/v1")
}

/// The first word of every batch digest.
pub fn batch_tag() -> B256 {
    keccak256("nexus/gateway/batch/v1")
}

/// The first word of every key-rotation digest.
pub fn rotate_tag() -> B256 {
    keccak256("nexus/gateway/rotate/v1")
}

/// A message a Nexus function sends to Ethereum: the gateway calls `target` with `data` and
/// exactly `gas_limit` gas, and tells the target `sender` through `messageSender()`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Message {
    /// Unique forever across epochs: the gateway runs each nonce at most once.
    pub nonce: u64,
    /// The sending Nexus function's id.
    pub sender: [u8; 32],
    /// The called contract.
    pub target: [u8; 20],
    /// Gas the target gets.
    pub gas_limit: u64,
    /// Calldata for the target.
    pub data: Vec<u8>,
}

impl Message {
    /// Its Merkle leaf: `keccak256(abi.encode(LEAF_TAG, nonce, sender, target, gasLimit,
    /// keccak256(data)))`, as `NexusGateway.leaf` computes it.
    pub fn leaf(&self) -> B256 {
        let encoded = (
            leaf_tag(),
            self.nonce,
            B256::from(self.sender),
            Address::from(self.target),
            self.gas_limit,
            keccak256(&self.data),
        )
            .abi_encode();
        keccak256(encoded)
    }
}

/// The parent of two nodes: the hash of the smaller one followed by the larger one.
fn parent(a: B256, b: B256) -> B256 {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    keccak256([low.0, high.0].concat())
}

/// The level above `level`: pairs hashed, a lone last node promoted unchanged.
fn level_up(level: &[B256]) -> Vec<B256> {
    level.chunks(2).map(|pair| if let [a, b] = pair { parent(*a, *b) } else { pair[0] }).collect()
}

/// The Merkle root of `leaves` (in batch order); zero for no leaves, which no proof reaches.
pub fn merkle_root(leaves: &[B256]) -> B256 {
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level_up(&level);
    }
    level.first().copied().unwrap_or(B256::ZERO)
}

/// Every level of the tree over `leaves`, leaves first, root last.
fn levels(leaves: &[B256]) -> Vec<Vec<B256>> {
    let mut levels = vec![leaves.to_vec()];
    while let Some(top) = levels.last().filter(|l| l.len() > 1) {
        let up = level_up(top);
        levels.push(up);
    }
    levels
}

/// Leaf `index`'s siblings bottom-up in `levels`, skipping levels where its node is promoted alone.
fn proof_in(levels: &[Vec<B256>], mut index: usize) -> Vec<B256> {
    let mut proof = Vec::new();
    for level in levels.iter().filter(|l| l.len() > 1) {
        if let Some(sibling) = level.get(index ^ 1) {
            proof.push(*sibling);
        }
        index /= 2;
    }
    proof
}

/// The proof of leaf `index` of `leaves`: its siblings bottom-up, skipping levels where its node
/// is promoted alone; empty if `index` is out of range.
pub fn merkle_proof(leaves: &[B256], index: usize) -> Vec<B256> {
    if index >= leaves.len() {
        return Vec::new();
    }
    proof_in(&levels(leaves), index)
}

/// Every leaf's proof, in leaf order, from one pass over the tree (a whole batch's proofs cost
/// about as much as its root, where one [`merkle_proof`] per leaf would be quadratic).
pub fn merkle_proofs(leaves: &[B256]) -> Vec<Vec<B256>> {
    let levels = levels(leaves);
    (0..leaves.len()).map(|i| proof_in(&levels, i)).collect()
}

/// Whether `proof` leads from `leaf` to `root`, as the gateway checks it.
pub fn verify_proof(leaf: B256, proof: &[B256], root: B256) -> bool {
    proof.iter().fold(leaf, |node, sibling| parent(node, *sibling)) == root
}

/// What the group signs for the batch with Merkle root `root` through `gateway` on chain
/// `chain_id` under the key of `epoch`: `keccak256(abi.encode(BATCH_TAG, chainid, gateway, epoch,
/// root))`, as `NexusGateway.batchDigest` computes it (the FROST message is these 32 bytes).
pub fn batch_digest(chain_id: u64, gateway: Address, epoch: u64, root: B256) -> B256 {
    keccak256((batch_tag(), U256::from(chain_id), gateway, epoch, root).abi_encode())
}

/// What the key of `epoch` signs to hand `gateway` on chain `chain_id` over to `new_key`:
/// `keccak256(abi.encode(ROTATE_TAG, chainid, gateway, epoch, newX, newParity))`, as
/// `NexusGateway.rotateDigest` computes it (the parity is a uint8, encoded as a whole word).
pub fn rotate_digest(chain_id: u64, gateway: Address, epoch: u64, new_key: &GroupKey) -> B256 {
    keccak256(
        (
            rotate_tag(),
            U256::from(chain_id),
            gateway,
            epoch,
            B256::from(new_key.x),
            U256::from(new_key.parity),
        )
            .abi_encode(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<B256> {
        (0..n)
            .map(|i| {
                Message {
                    nonce: i as u64,
                    sender: [7; 32],
                    target: [9; 20],
                    gas_limit: 50_000,
                    data: vec![i as u8; i],
                }
                .leaf()
            })
            .collect()
    }

    #[test]
    fn every_leaf_of_every_batch_size_proves_and_tampering_fails() {
        for n in 1..=17 {
            let leaves = leaves(n);
            let root = merkle_root(&leaves);
            let all = merkle_proofs(&leaves);
            for (i, leaf) in leaves.iter().enumerate() {
                let proof = merkle_proof(&leaves, i);
                assert_eq!(proof, all[i], "one proof and all proofs agree");
                assert!(proof.len() <= n.next_power_of_two().trailing_zeros() as usize);
                assert!(verify_proof(*leaf, &proof, root), "leaf {i} of {n}");
                let other = leaves[(i + 1) % n];
                if other != *leaf {
                    assert!(!verify_proof(other, &proof, root), "another leaf with leaf {i}'s proof, {n}");
                }
                assert!(!verify_proof(*leaf, &proof, B256::repeat_byte(1)), "another root");
                for k in 0..proof.len() {
                    let mut tampered = proof.clone();
                    tampered[k].0[0] ^= 1;
                    assert!(!verify_proof(*leaf, &tampered, root), "sibling {k} of leaf {i} tampered");
                }
                if !proof.is_empty() {
                    assert!(!verify_proof(*leaf, &proof[1..], root), "a shortened proof");
                }
            }
        }
    }

    #[test]
    fn a_one_message_batch_is_its_leaf_with_an_empty_proof() {
        let leaves = leaves(1);
        assert_eq!(merkle_root(&leaves), leaves[0]);
        assert!(merkle_proof(&leaves, 0).is_empty());
        assert_eq!(merkle_root(&[]), B256::ZERO);
        assert!(merkle_proof(&leaves, 1).is_empty());
    }

    #[test]
    fn the_leaf_binds_every_field() {
        let m = Message { nonce: 1, sender: [1; 32], target: [2; 20], gas_limit: 3, data: vec![4] };
        let variants = [
            Message { nonce: 2, ..m.clone() },
            Message { sender: [0; 32], ..m.clone() },
            Message { target: [0; 20], ..m.clone() },
            Message { gas_limit: 4, ..m.clone() },
            Message { data: vec![5], ..m.clone() },
        ];
        for v in variants {
            assert_ne!(v.leaf(), m.leaf(), "{v:?}");
        }
    }
}
