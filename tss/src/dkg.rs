//! The distributed key generation's mathematics (RFC 9591 appendix C, Pedersen's DKG with
//! proofs of knowledge), split so that the chain can check every public step and exclude a
//! misbehaving dealer: a participant deals a random polynomial ([`deal`]), everyone checks the
//! dealing's commitment and proof ([`check_round1`]) and any share revealed against it
//! ([`share_is_valid`]), the group key and every participant's verifying share follow from the
//! qualified dealers' commitments alone ([`group_key`]), and a participant's signing share is
//! the sum of the shares the qualified dealers gave it ([`key_share`]).

use std::collections::{BTreeMap, BTreeSet};

use frost_core::keys::dkg::{compute_proof_of_knowledge, verify_proof_of_knowledge};
use frost_core::keys::{
    CoefficientCommitment, KeyPackage, PublicKeyPackage, SecretShare, SigningShare,
    VerifiableSecretSharingCommitment, sum_commitments,
};
use frost_core::{Field as _, Group as _, Signature};
use frost_secp256k1::{Identifier, Secp256K1Sha256};
use k256::Scalar;
use rand_core::{CryptoRng, RngCore};

/// The suite every key is generated in.
type C = Secp256K1Sha256;

/// A participant's index in a DKG or key: 1 for the first member, and so on.
pub type ParticipantId = u16;

/// A compressed secp256k1 point.
pub type Point = [u8; 33];

/// Why a DKG step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DkgError {
    /// Zero is not a participant id.
    #[error("participant ids start at 1")]
    ZeroId,
    /// The threshold is zero or above the number of participants.
    #[error("threshold {threshold} of {n} participants is not possible")]
    Threshold {
        /// The threshold asked for.
        threshold: u16,
        /// Participants.
        n: usize,
    },
    /// A commitment's length is not the threshold, or a point or scalar does not decode.
    #[error("malformed dealing: {0}")]
    Malformed(String),
    /// The proof of knowledge of the dealing's secret does not verify.
    #[error("the proof of knowledge of participant {0}'s secret does not verify")]
    ProofOfKnowledge(ParticipantId),
    /// The shares summed do not match the participant's verifying share.
    #[error("the shares do not add up to participant {0}'s verifying share")]
    ShareMismatch(ParticipantId),
    /// No dealer qualified.
    #[error("no qualified dealer")]
    NoDealers,
}

/// What a dealer publishes in round 1: commitments to its polynomial's coefficients, and a
/// Schnorr proof that it knows the constant term (which stops rogue-key attacks).
#[derive(Debug, Clone, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct Round1 {
    /// `a_k · G` for each coefficient, `threshold` of them.
    pub commitment: Vec<Point>,
    /// The proof of knowledge: R (33 bytes) then z (32 bytes).
    pub proof: Vec<u8>,
}

/// A dealer's secret polynomial: only in its keystore, until the DKG ends.
#[derive(Clone, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct Polynomial {
    /// The coefficients, constant term first, as big-endian scalars.
    pub coefficients: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Polynomial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Polynomial(<secret>)")
    }
}

/// The FROST identifier of participant `id`.
pub fn identifier(id: ParticipantId) -> Result<Identifier, DkgError> {
    Identifier::try_from(id).map_err(|_| DkgError::ZeroId)
}

fn scalar(bytes: &[u8; 32]) -> Result<Scalar, DkgError> {
    <<C as frost_core::Ciphersuite>::Group as frost_core::Group>::Field::deserialize(bytes)
        .map_err(|e| DkgError::Malformed(format!("scalar: {e:?}")))
}

fn scalar_bytes(s: &Scalar) -> [u8; 32] {
    <<C as frost_core::Ciphersuite>::Group as frost_core::Group>::Field::serialize(s)
}

fn point_bytes(p: &k256::ProjectivePoint) -> Result<Point, DkgError> {
    <C as frost_core::Ciphersuite>::Group::serialize(p)
        .map_err(|e| DkgError::Malformed(format!("point: {e:?}")))
}

/// Deals a fresh random polynomial of degree `threshold - 1` as participant `me`: the secret to
/// keep and the round-1 message to publish.
pub fn deal<R: RngCore + CryptoRng>(
    me: ParticipantId,
    threshold: u16,
    rng: &mut R,
) -> Result<(Polynomial, Round1), DkgError> {
    if threshold == 0 {
        return Err(DkgError::Threshold { threshold, n: 0 });
    }
    let coefficients: Vec<Scalar> = (0..threshold)
        .map(|_| <<C as frost_core::Ciphersuite>::Group as frost_core::Group>::Field::random(rng))
        .collect();
    let g = <C as frost_core::Ciphersuite>::Group::generator();
    let commitment = VerifiableSecretSharingCommitment::<C>::new(
        coefficients.iter().map(|a| CoefficientCommitment::new(g * a)).collect(),
    );
    let proof = compute_proof_of_knowledge(identifier(me)?, &coefficients, &commitment, rng)
        .map_err(|e| DkgError::Malformed(format!("proof: {e:?}")))?;
    let round1 = Round1 {
        commitment: commitment
            .coefficients()
            .iter()
            .map(|c| point_bytes(&c.value()))
            .collect::<Result<_, _>>()?,
        proof: proof.serialize().map_err(|e| DkgError::Malformed(format!("proof: {e:?}")))?,
    };
    Ok((Polynomial { coefficients: coefficients.iter().map(scalar_bytes).collect() }, round1))
}

/// The share `polynomial` deals to participant `to`: f(to).
pub fn share_for(polynomial: &Polynomial, to: ParticipantId) -> Result<[u8; 32], DkgError> {
    let coefficients: Vec<Scalar> = polynomial.coefficients.iter().map(scalar).collect::<Result<_, _>>()?;
    Ok(SigningShare::<C>::from_coefficients(&coefficients, identifier(to)?)
        .serialize()
        .try_into()
        .expect("32 bytes"))
}

fn commitment(round1: &Round1) -> Result<VerifiableSecretSharingCommitment<C>, DkgError> {
    VerifiableSecretSharingCommitment::deserialize(round1.commitment.iter().map(|p| p.to_vec()))
        .map_err(|e| DkgError::Malformed(format!("commitment: {e:?}")))
}

/// Checks dealer `dealer`'s round-1 message for a DKG of threshold `threshold`: its length and
/// encoding, and its proof of knowledge.
pub fn check_round1(dealer: ParticipantId, threshold: u16, round1: &Round1) -> Result<(), DkgError> {
    if round1.commitment.len() != usize::from(threshold) {
        return Err(DkgError::Malformed(format!(
            "{} coefficient commitments for threshold {threshold}",
            round1.commitment.len()
        )));
    }
    let commitment = commitment(round1)?;
    let proof = Signature::<C>::deserialize(&round1.proof)
        .map_err(|e| DkgError::Malformed(format!("proof: {e:?}")))?;
    verify_proof_of_knowledge(identifier(dealer)?, &commitment, &proof)
        .map_err(|_| DkgError::ProofOfKnowledge(dealer))
}

/// Whether `share` is what the dealer of `round1` owes participant `to` (g^share equals its
/// commitment evaluated at `to`). The round-1 message must have passed [`check_round1`].
pub fn share_is_valid(round1: &Round1, to: ParticipantId, share: &[u8; 32]) -> bool {
    let (Ok(commitment), Ok(to), Ok(share)) =
        (commitment(round1), identifier(to), SigningShare::deserialize(share))
    else {
        return false;
    };
    SecretShare::new(to, share, commitment).verify().is_ok()
}

/// The group's public key package: the qualified dealers' summed commitments evaluated for every
/// participant in `members` (1..=n). Deterministic; every validator computes it in state.
pub fn group_key(
    members: u16,
    qualified: &BTreeMap<ParticipantId, &Round1>,
) -> Result<PublicKeyPackage<C>, DkgError> {
    if qualified.is_empty() {
        return Err(DkgError::NoDealers);
    }
    let commitments: Vec<VerifiableSecretSharingCommitment<C>> =
        qualified.values().map(|r| commitment(r)).collect::<Result<_, _>>()?;
    let refs: Vec<&VerifiableSecretSharingCommitment<C>> = commitments.iter().collect();
    let sum = sum_commitments(&refs).map_err(|e| DkgError::Malformed(format!("commitments: {e:?}")))?;
    let ids: BTreeSet<Identifier> = (1..=members).map(identifier).collect::<Result<_, _>>()?;
    PublicKeyPackage::from_commitment(&ids, &sum)
        .map_err(|e| DkgError::Malformed(format!("group key: {e:?}")))
}

/// Participant `me`'s key package: the sum of the shares the qualified dealers gave it, checked
/// against its verifying share in `public`.
pub fn key_share(
    me: ParticipantId,
    shares: &BTreeMap<ParticipantId, [u8; 32]>,
    public: &PublicKeyPackage<C>,
) -> Result<KeyPackage<C>, DkgError> {
    let id = identifier(me)?;
    let mut sum = Scalar::ZERO;
    for share in shares.values() {
        sum += scalar(share)?;
    }
    let signing = SigningShare::<C>::new(sum);
    let verifying = *public.verifying_shares().get(&id).ok_or(DkgError::ShareMismatch(me))?;
    if frost_core::keys::VerifyingShare::<C>::from(signing) != verifying {
        return Err(DkgError::ShareMismatch(me));
    }
    let threshold = public.min_signers().ok_or(DkgError::NoDealers)?;
    Ok(KeyPackage::new(id, signing, verifying, *public.verifying_key(), threshold))
}

/// A point's compressed bytes (for verifying shares and group keys kept in state).
pub fn compressed(element: &k256::ProjectivePoint) -> Result<Point, DkgError> {
    point_bytes(element)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    fn run(n: u16, t: u16, bad_dealer: Option<u16>) -> (PublicKeyPackage<C>, Vec<KeyPackage<C>>) {
        let dealings: Vec<(Polynomial, Round1)> = (1..=n).map(|i| deal(i, t, &mut OsRng).unwrap()).collect();
        for (i, (_, r1)) in dealings.iter().enumerate() {
            check_round1(i as u16 + 1, t, r1).unwrap();
        }
        let mut qualified = BTreeMap::new();
        for (i, (poly, r1)) in dealings.iter().enumerate() {
            let dealer = i as u16 + 1;
            let honest = (1..=n).all(|to| {
                let mut s = share_for(poly, to).unwrap();
                if Some(dealer) == bad_dealer && to == 1 {
                    s[31] ^= 1;
                }
                share_is_valid(r1, to, &s)
            });
            if honest {
                qualified.insert(dealer, r1);
            }
        }
        assert_eq!(qualified.len(), n as usize - usize::from(bad_dealer.is_some()));
        let public = group_key(n, &qualified).unwrap();
        let keys = (1..=n)
            .map(|me| {
                let shares = qualified
                    .keys()
                    .map(|d| (*d, share_for(&dealings[*d as usize - 1].0, me).unwrap()))
                    .collect();
                key_share(me, &shares, &public).unwrap()
            })
            .collect();
        (public, keys)
    }

    #[test]
    fn a_dkg_without_a_bad_dealer_yields_consistent_shares() {
        for (n, t) in [(1, 1), (2, 2), (4, 3), (7, 5)] {
            let (public, keys) = run(n, t, None);
            assert_eq!(keys.len(), n as usize);
            assert_eq!(public.verifying_shares().len(), n as usize);
        }
    }

    #[test]
    fn an_inconsistent_dealer_is_caught_and_the_rest_still_make_a_key() {
        let (public, keys) = run(4, 3, Some(2));
        assert_eq!(keys.len(), 4);
        assert_eq!(public.min_signers(), Some(3));
    }

    #[test]
    fn a_forged_proof_of_knowledge_is_refused() {
        let (_, mut r1) = deal(1, 3, &mut OsRng).unwrap();
        assert_eq!(check_round1(2, 3, &r1), Err(DkgError::ProofOfKnowledge(2)));
        r1.proof[40] ^= 1;
        assert!(check_round1(1, 3, &r1).is_err());
        let (_, short) = deal(1, 2, &mut OsRng).unwrap();
        assert!(matches!(check_round1(1, 3, &short), Err(DkgError::Malformed(_))));
    }
}
