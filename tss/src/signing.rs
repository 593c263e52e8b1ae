//! FROST signing with pre-posted nonce commitments: a signer makes nonces and publishes their
//! commitments ahead of time ([`new_nonces`]); the chain fixes a message, a signer set and one
//! commitment per signer ([`package`]); each signer answers with its share ([`sign`]); the chain
//! checks every share on its own, so a bad one names its sender ([`share_is_valid`]), and sums
//! them into the group signature ([`aggregate`]).

use std::collections::BTreeMap;

use frost_core::keys::{KeyPackage, PublicKeyPackage, SigningShare, VerifyingShare};
use frost_core::round1::{Nonce, NonceCommitment, SigningCommitments, SigningNonces};
use frost_core::round2::SignatureShare;
use frost_core::{Signature, SigningPackage, VerifyingKey};
use frost_secp256k1::Secp256K1Sha256;
use rand_core::{CryptoRng, RngCore};

use crate::dkg::{ParticipantId, Point, identifier};

type C = Secp256K1Sha256;

/// A FROST signature: R compressed (33 bytes), then z (32 bytes).
pub type SignatureBytes = Vec<u8>;

/// Why a signing step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// A point, scalar or identifier does not decode.
    #[error("malformed signing value: {0}")]
    Malformed(String),
    /// FROST refused to sign or aggregate.
    #[error("FROST: {0}")]
    Frost(String),
}

fn malformed(e: impl std::fmt::Debug) -> SigningError {
    SigningError::Malformed(format!("{e:?}"))
}

/// A signer's published commitment to one pair of nonces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct Commitment {
    /// The hiding nonce's commitment.
    pub hiding: Point,
    /// The binding nonce's commitment.
    pub binding: Point,
}

/// A pair of secret nonces as the keystore keeps them, until their one use.
#[derive(Clone, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct Nonces {
    hiding: [u8; 32],
    binding: [u8; 32],
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nonces(<secret>)")
    }
}

fn point(bytes: &Point) -> Result<NonceCommitment<C>, SigningError> {
    NonceCommitment::deserialize(bytes).map_err(malformed)
}

/// Whether both points of a published commitment decode (so a job built on it can be signed).
pub fn commitment_is_valid(c: &Commitment) -> bool {
    point(&c.hiding).is_ok() && point(&c.binding).is_ok()
}

/// Fresh nonces for the holder of `key`, and the commitment to publish for them.
pub fn new_nonces<R: RngCore + CryptoRng>(
    key: &KeyPackage<C>,
    rng: &mut R,
) -> Result<(Nonces, Commitment), SigningError> {
    let (nonces, commitments) = frost_core::round1::commit(key.signing_share(), rng);
    let bytes = |c: &NonceCommitment<C>| -> Result<Point, SigningError> {
        c.serialize().map_err(malformed)?.try_into().map_err(malformed)
    };
    let stored = Nonces {
        hiding: nonces.hiding().serialize().try_into().map_err(malformed)?,
        binding: nonces.binding().serialize().try_into().map_err(malformed)?,
    };
    Ok((stored, Commitment { hiding: bytes(commitments.hiding())?, binding: bytes(commitments.binding())? }))
}

/// The signing package for `message` with one commitment per signer.
pub fn package(
    message: &[u8],
    commitments: &BTreeMap<ParticipantId, Commitment>,
) -> Result<SigningPackage<C>, SigningError> {
    let mut map = BTreeMap::new();
    for (id, c) in commitments {
        let id = identifier(*id).map_err(malformed)?;
        map.insert(id, SigningCommitments::new(point(&c.hiding)?, point(&c.binding)?));
    }
    Ok(SigningPackage::new(map, message))
}

/// This signer's share of the signature over `package`, using (and so consuming) `nonces`.
pub fn sign(
    package: &SigningPackage<C>,
    nonces: &Nonces,
    key: &KeyPackage<C>,
) -> Result<[u8; 32], SigningError> {
    let nonces = SigningNonces::from_nonces(
        Nonce::deserialize(&nonces.hiding).map_err(malformed)?,
        Nonce::deserialize(&nonces.binding).map_err(malformed)?,
    );
    let share =
        frost_core::round2::sign(package, &nonces, key).map_err(|e| SigningError::Frost(e.to_string()))?;
    share.serialize().try_into().map_err(malformed)
}

/// The public key package of a key kept in state as its group key, its members' verifying shares
/// (member `i` at index `i - 1`) and its threshold.
pub fn public_package(
    group_key: &Point,
    verifying_shares: &[Point],
    threshold: u16,
) -> Result<PublicKeyPackage<C>, SigningError> {
    let mut shares = BTreeMap::new();
    for (i, s) in verifying_shares.iter().enumerate() {
        let id = u16::try_from(i + 1).map_err(malformed)?;
        shares.insert(identifier(id).map_err(malformed)?, VerifyingShare::deserialize(s).map_err(malformed)?);
    }
    let key = VerifyingKey::deserialize(group_key).map_err(malformed)?;
    Ok(PublicKeyPackage::new(shares, key, Some(threshold)))
}

/// Whether `share` is signer `id`'s valid share over `package` under `public`.
pub fn share_is_valid(
    package: &SigningPackage<C>,
    public: &PublicKeyPackage<C>,
    id: ParticipantId,
    share: &[u8; 32],
) -> bool {
    let (Ok(ident), Ok(share)) = (identifier(id), SignatureShare::<C>::deserialize(share)) else {
        return false;
    };
    let Some(verifying) = public.verifying_shares().get(&ident) else { return false };
    frost_core::verify_signature_share(ident, verifying, &share, package, public.verifying_key()).is_ok()
}

/// The group signature from every signer's share (each already checked), verified before it is
/// returned.
pub fn aggregate(
    package: &SigningPackage<C>,
    public: &PublicKeyPackage<C>,
    shares: &BTreeMap<ParticipantId, [u8; 32]>,
) -> Result<SignatureBytes, SigningError> {
    let mut map = BTreeMap::new();
    for (id, s) in shares {
        map.insert(identifier(*id).map_err(malformed)?, SignatureShare::deserialize(s).map_err(malformed)?);
    }
    let signature =
        frost_core::aggregate(package, &map, public).map_err(|e| SigningError::Frost(e.to_string()))?;
    public
        .verifying_key()
        .verify(package.message(), &signature)
        .map_err(|e| SigningError::Frost(e.to_string()))?;
    signature.serialize().map_err(malformed)
}

/// A stored signature in FROST form.
pub fn signature(bytes: &[u8]) -> Result<Signature<C>, SigningError> {
    Signature::deserialize(bytes).map_err(malformed)
}

/// The secret share of a key package, for the keystore.
pub fn signing_share_bytes(key: &KeyPackage<C>) -> [u8; 32] {
    key.signing_share().serialize().try_into().expect("a scalar is 32 bytes")
}

/// A key package back from the keystore's form.
pub fn key_package(
    me: ParticipantId,
    share: &[u8; 32],
    public: &PublicKeyPackage<C>,
) -> Result<KeyPackage<C>, SigningError> {
    let id = identifier(me).map_err(malformed)?;
    let signing = SigningShare::deserialize(share).map_err(malformed)?;
    let verifying = *public.verifying_shares().get(&id).ok_or_else(|| malformed("not a member"))?;
    let threshold = public.min_signers().ok_or_else(|| malformed("no threshold"))?;
    Ok(KeyPackage::new(id, signing, verifying, *public.verifying_key(), threshold))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dkg;
    use rand_core::OsRng;

    fn dealt(n: u16, t: u16) -> (PublicKeyPackage<C>, Vec<KeyPackage<C>>) {
        let dealings: Vec<_> = (1..=n).map(|i| dkg::deal(i, t, &mut OsRng).unwrap()).collect();
        let qualified = dealings.iter().enumerate().map(|(i, d)| (i as u16 + 1, &d.1)).collect();
        let public = dkg::group_key(n, &qualified).unwrap();
        let keys = (1..=n)
            .map(|me| {
                let shares = dealings
                    .iter()
                    .enumerate()
                    .map(|(i, d)| (i as u16 + 1, dkg::share_for(&d.0, me).unwrap()))
                    .collect();
                dkg::key_share(me, &shares, &public).unwrap()
            })
            .collect();
        (public, keys)
    }

    #[test]
    fn threshold_signers_make_a_signature_and_a_bad_share_names_its_sender() {
        for (n, t) in [(1u16, 1u16), (4, 3)] {
            let (public, keys) = dealt(n, t);
            let signers: Vec<u16> = (1..=t).collect();
            let mut nonces = BTreeMap::new();
            let mut commitments = BTreeMap::new();
            for id in &signers {
                let (s, c) = new_nonces(&keys[*id as usize - 1], &mut OsRng).unwrap();
                nonces.insert(*id, s);
                commitments.insert(*id, c);
            }
            let pkg = package(b"digest", &commitments).unwrap();
            let mut shares: BTreeMap<u16, [u8; 32]> = signers
                .iter()
                .map(|id| (*id, sign(&pkg, &nonces[id], &keys[*id as usize - 1]).unwrap()))
                .collect();
            for (id, s) in &shares {
                assert!(share_is_valid(&pkg, &public, *id, s));
            }
            let sig = aggregate(&pkg, &public, &shares).unwrap();
            assert!(public.verifying_key().verify(b"digest", &signature(&sig).unwrap()).is_ok());
            // The stored form of the key gives the same package.
            let stored: Vec<Point> = (1..=n)
                .map(|i| {
                    public.verifying_shares()[&identifier(i).unwrap()]
                        .serialize()
                        .unwrap()
                        .try_into()
                        .unwrap()
                })
                .collect();
            let group: Point = public.verifying_key().serialize().unwrap().try_into().unwrap();
            assert_eq!(public_package(&group, &stored, t).unwrap(), public);
            shares.get_mut(&1).unwrap()[31] ^= 1;
            assert!(!share_is_valid(&pkg, &public, 1, &shares[&1]));
            assert!(aggregate(&pkg, &public, &shares).is_err());
        }
    }
}
