//! Vote extensions, generically: each validator attaches an extension to its precommit, signed
//! with its consensus key; the next proposer injects the previous height's signed extensions as
//! its block's first transaction (a bundle), and every validator accepts the block only if each
//! signature verifies against the validator set and the signers hold more than 2/3 of its power.
//! The Ethereum observer and threshold signing put their payloads in the extensions.

use std::collections::{BTreeMap, BTreeSet};

use borsh::{BorshDeserialize, BorshSerialize};
use ed25519_consensus::{Signature, VerificationKey};
use sha2::{Digest as _, Sha256};

/// First bytes of an injected bundle. Position decides what a block's transaction is (the first
/// one of every block after the initial height is the bundle, every other one a user
/// transaction); the prefix only makes a misplaced bundle fail loudly.
pub const BUNDLE_MAGIC: &[u8; 4] = b"NXVE";

/// A validator's consensus address: the first 20 bytes of SHA-256 of its ed25519 key, as
/// CometBFT computes it.
pub type ValidatorAddress = [u8; 20];

/// One member of the validator set, as the application keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ValidatorKey {
    /// Its ed25519 consensus public key.
    pub pub_key: [u8; 32],
    /// Its voting power.
    pub power: u64,
}

impl ValidatorKey {
    /// Its consensus address.
    pub fn address(&self) -> ValidatorAddress {
        address_of(&self.pub_key)
    }
}

/// The consensus address of an ed25519 public key.
pub fn address_of(pub_key: &[u8; 32]) -> ValidatorAddress {
    let digest = Sha256::digest(pub_key);
    let mut a = [0u8; 20];
    a.copy_from_slice(&digest[..20]);
    a
}

/// One validator's signed extension.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedExtension {
    /// The signer.
    pub validator: ValidatorAddress,
    /// The extension.
    pub extension: Vec<u8>,
    /// Its ed25519 signature over [`sign_bytes`].
    pub signature: Vec<u8>,
}

/// The extensions of one height, as the next proposer injects them.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Bundle {
    /// The height whose precommits carried them.
    pub height: u64,
    /// The round that decided that height.
    pub round: u32,
    /// The extensions, one per signer.
    pub votes: Vec<SignedExtension>,
}

impl Bundle {
    /// The wire form: [`BUNDLE_MAGIC`] then Borsh.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = BUNDLE_MAGIC.to_vec();
        borsh::to_writer(&mut out, self).expect("writing to a Vec");
        out
    }

    /// `None` if `bytes` is not a bundle at all; `Some(Err)` if it claims to be one but does
    /// not decode.
    pub fn decode(bytes: &[u8]) -> Option<Result<Self, VoteError>> {
        let body = bytes.strip_prefix(BUNDLE_MAGIC.as_slice())?;
        Some(borsh::from_slice(body).map_err(|e| VoteError::Malformed(e.to_string())))
    }
}

/// Why a bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoteError {
    /// The bytes do not decode.
    #[error("malformed vote-extension bundle: {0}")]
    Malformed(String),
    /// The block lacks the bundle it must start with, or has one where none belongs.
    #[error("the block must {} a vote-extension bundle first", if *.0 { "start with" } else { "not carry" })]
    Placement(bool),
    /// The bundle is for another height.
    #[error("the bundle is for height {got}, the previous height is {expected}")]
    Height {
        /// The previous height.
        expected: u64,
        /// The bundle's.
        got: u64,
    },
    /// A signer is not in the validator set.
    #[error("validator 0x{} is not in the set", hex::encode(.0))]
    UnknownValidator(ValidatorAddress),
    /// A validator appears twice.
    #[error("validator 0x{} signed twice", hex::encode(.0))]
    Duplicate(ValidatorAddress),
    /// A signature does not verify.
    #[error("the extension signature of validator 0x{} does not verify", hex::encode(.0))]
    BadSignature(ValidatorAddress),
    /// An extension's content is invalid for the application.
    #[error("the extension of validator 0x{} is invalid", hex::encode(.0))]
    BadExtension(ValidatorAddress),
    /// The signers hold too little power.
    #[error("the extensions carry {signed} of {total} voting power; more than 2/3 is needed")]
    Insufficient {
        /// Power of valid signers.
        signed: u64,
        /// The set's total power.
        total: u64,
    },
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// What a validator's consensus key signs for an extension: CometBFT's `CanonicalVoteExtension`
/// (extension = 1, height = 2 sfixed64, round = 3 sfixed64, chain_id = 4), protobuf-encoded with
/// proto3's omission of default fields, length-delimited.
pub fn sign_bytes(extension: &[u8], height: u64, round: u32, chain_id: &str) -> Vec<u8> {
    let mut msg = Vec::with_capacity(extension.len() + chain_id.len() + 32);
    if !extension.is_empty() {
        msg.push(0x0a);
        put_uvarint(&mut msg, extension.len() as u64);
        msg.extend_from_slice(extension);
    }
    if height != 0 {
        msg.push(0x11);
        msg.extend_from_slice(&height.to_le_bytes());
    }
    if round != 0 {
        msg.push(0x19);
        msg.extend_from_slice(&u64::from(round).to_le_bytes());
    }
    if !chain_id.is_empty() {
        msg.push(0x22);
        put_uvarint(&mut msg, chain_id.len() as u64);
        msg.extend_from_slice(chain_id.as_bytes());
    }
    let mut out = Vec::with_capacity(msg.len() + 2);
    put_uvarint(&mut out, msg.len() as u64);
    out.extend_from_slice(&msg);
    out
}

/// Checks a bundle for `height` against the validator set: every signer known and once, every
/// signature valid, every extension accepted by `valid_extension`, and the signers' power more
/// than 2/3 of the set's. Returns the signers' power.
pub fn verify(
    bundle: &Bundle,
    height: u64,
    chain_id: &str,
    set: &BTreeMap<ValidatorAddress, ValidatorKey>,
    valid_extension: impl Fn(&[u8]) -> bool,
) -> Result<u64, VoteError> {
    if bundle.height != height {
        return Err(VoteError::Height { expected: height, got: bundle.height });
    }
    let total: u64 = set.values().map(|v| v.power).sum();
    let mut seen = BTreeSet::new();
    let mut signed = 0u64;
    for vote in &bundle.votes {
        let key = set.get(&vote.validator).ok_or(VoteError::UnknownValidator(vote.validator))?;
        if !seen.insert(vote.validator) {
            return Err(VoteError::Duplicate(vote.validator));
        }
        let sig = Signature::try_from(vote.signature.as_slice())
            .map_err(|_| VoteError::BadSignature(vote.validator))?;
        VerificationKey::try_from(key.pub_key)
            .and_then(|k| k.verify(&sig, &sign_bytes(&vote.extension, bundle.height, bundle.round, chain_id)))
            .map_err(|_| VoteError::BadSignature(vote.validator))?;
        if !valid_extension(&vote.extension) {
            return Err(VoteError::BadExtension(vote.validator));
        }
        signed = signed.saturating_add(key.power);
    }
    // Strictly more than 2/3, in integers: 3 × signed > 2 × total.
    if u128::from(signed) * 3 <= u128::from(total) * 2 {
        return Err(VoteError::Insufficient { signed, total });
    }
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use ed25519_consensus::SigningKey;

    use super::*;

    fn keys(n: u8) -> Vec<SigningKey> {
        (1..=n).map(|i| SigningKey::from([i; 32])).collect()
    }

    fn set_of(keys: &[SigningKey], power: u64) -> BTreeMap<ValidatorAddress, ValidatorKey> {
        keys.iter()
            .map(|k| {
                let v = ValidatorKey { pub_key: k.verification_key().to_bytes(), power };
                (v.address(), v)
            })
            .collect()
    }

    fn vote(k: &SigningKey, ext: &[u8], height: u64, round: u32) -> SignedExtension {
        SignedExtension {
            validator: address_of(&k.verification_key().to_bytes()),
            extension: ext.to_vec(),
            signature: k.sign(&sign_bytes(ext, height, round, "test-chain")).to_bytes().to_vec(),
        }
    }

    #[test]
    fn sign_bytes_are_the_length_delimited_canonical_vote_extension() {
        // Hand-encoded: len 0x23, field 1 (3 bytes), field 2 = 5, field 3 = 1, field 4 "test-chain".
        let expected = [
            &[0x23, 0x0a, 0x03, b'a', b'b', b'c', 0x11, 5, 0, 0, 0, 0, 0, 0, 0, 0x19, 1, 0, 0, 0, 0, 0, 0, 0]
                [..],
            &[0x22, 10],
            b"test-chain",
        ]
        .concat();
        assert_eq!(sign_bytes(b"abc", 5, 1, "test-chain"), expected);
        // proto3 omits the empty extension and round 0.
        assert_eq!(
            sign_bytes(b"", 7, 0, "c"),
            [&[12u8, 0x11, 7, 0, 0, 0, 0, 0, 0, 0, 0x22, 1][..], b"c"].concat()
        );
    }

    #[test]
    fn a_bundle_round_trips_and_other_bytes_are_not_bundles() {
        let k = keys(1);
        let b = Bundle { height: 3, round: 0, votes: vec![vote(&k[0], b"x", 3, 0)] };
        assert_eq!(Bundle::decode(&b.encode()), Some(Ok(b)));
        assert_eq!(Bundle::decode(b"not a bundle"), None);
        assert!(matches!(Bundle::decode(b"NXVE\x01"), Some(Err(VoteError::Malformed(_)))));
    }

    #[test]
    fn more_than_two_thirds_of_valid_signatures_are_needed() {
        let k = keys(4);
        let set = set_of(&k, 10);
        let all = |n: usize| Bundle {
            height: 9,
            round: 2,
            votes: k[..n].iter().map(|k| vote(k, b"e", 9, 2)).collect(),
        };
        assert_eq!(verify(&all(4), 9, "test-chain", &set, |_| true), Ok(40));
        assert_eq!(verify(&all(3), 9, "test-chain", &set, |_| true), Ok(30));
        assert_eq!(
            verify(&all(2), 9, "test-chain", &set, |_| true),
            Err(VoteError::Insufficient { signed: 20, total: 40 })
        );
        assert_eq!(
            verify(&all(3), 8, "test-chain", &set, |_| true),
            Err(VoteError::Height { expected: 8, got: 9 })
        );
        // Signed for another chain, round or height: the signature fails.
        let mut b = all(3);
        b.round = 1;
        assert!(matches!(verify(&b, 9, "test-chain", &set, |_| true), Err(VoteError::BadSignature(_))));
        assert!(matches!(verify(&all(3), 9, "other-chain", &set, |_| true), Err(VoteError::BadSignature(_))));
        // A tampered extension, a duplicate, a stranger, an invalid payload.
        let mut b = all(3);
        b.votes[1].extension = b"f".to_vec();
        assert!(matches!(verify(&b, 9, "test-chain", &set, |_| true), Err(VoteError::BadSignature(_))));
        let mut b = all(3);
        b.votes.push(b.votes[0].clone());
        assert!(matches!(verify(&b, 9, "test-chain", &set, |_| true), Err(VoteError::Duplicate(_))));
        let stranger = SigningKey::from([99; 32]);
        let mut b = all(3);
        b.votes.push(vote(&stranger, b"e", 9, 2));
        assert!(matches!(verify(&b, 9, "test-chain", &set, |_| true), Err(VoteError::UnknownValidator(_))));
        assert!(matches!(
            verify(&all(3), 9, "test-chain", &set, |e| e != b"e"),
            Err(VoteError::BadExtension(_))
        ));
    }
}
