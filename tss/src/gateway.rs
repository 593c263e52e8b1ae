//! FROST signatures in the form `NexusGateway.execute` verifies them: the group key as its x
//! coordinate and y parity, a signature as the commitment point R in full plus the response z,
//! and the digest a message is signed under, binding chain id, gateway, key epoch and nonce.

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

/// The tag every execution digest starts with, so no other signed message can be one.
pub fn execute_tag() -> B256 {
    keccak256("nexus/gateway/execute/v1")
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

/// What the group signs for message `nonce` calling `target` with `data` through `gateway` on
/// chain `chain_id` under the key of `epoch`: `keccak256(abi.encode(tag, chainid, gateway, epoch,
/// nonce, target, keccak256(data)))`, as `NexusGateway.digest` computes it.
pub fn execute_digest(
    chain_id: u64,
    gateway: Address,
    epoch: u64,
    nonce: U256,
    target: Address,
    data: &[u8],
) -> [u8; 32] {
    let encoded =
        (execute_tag(), U256::from(chain_id), gateway, epoch, nonce, target, keccak256(data)).abi_encode();
    keccak256(encoded).0
}
