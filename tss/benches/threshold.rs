//! CPU cost of threshold signing's steps: the DKG for 4 validators (threshold 3) and a simulated
//! 100 (threshold 67), a FROST signature by 3 and by 67 signers, and a 4,096-message batch's
//! Merkle root and proofs.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use alloy_primitives::B256;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use frost_secp256k1::keys::{KeyPackage, PublicKeyPackage};
use nexus_tss::dkg::{self, ParticipantId, Polynomial, Round1};
use nexus_tss::gateway::{self, Message};
use nexus_tss::signing::{self, Commitment, Nonces};
use rand_core::OsRng;

/// (validators, threshold ⌊2n/3⌋ + 1) as the chain picks it.
const GROUPS: [(u16, u16); 2] = [(4, 3), (100, 67)];

/// Messages in the benchmarked batch: the target of 1,000 per block, rounded up to a
/// power of two so the tree is full.
const BATCH: usize = 4_096;

/// Every member's dealing, as the chain would have collected them.
fn dealings(n: u16, t: u16) -> Vec<(Polynomial, Round1)> {
    (1..=n).map(|me| dkg::deal(me, t, &mut OsRng).expect("deal")).collect()
}

fn qualified(dealings: &[(Polynomial, Round1)]) -> BTreeMap<ParticipantId, &Round1> {
    dealings.iter().zip(1..).map(|((_, r), id)| (id, r)).collect()
}

/// The shares every dealer gave member `me`.
fn shares_for(dealings: &[(Polynomial, Round1)], me: ParticipantId) -> BTreeMap<ParticipantId, [u8; 32]> {
    dealings.iter().zip(1..).map(|((p, _), id)| (id, dkg::share_for(p, me).expect("share"))).collect()
}

fn chain_part(n: u16, t: u16, dealings: &[(Polynomial, Round1)]) -> PublicKeyPackage {
    for ((_, round1), dealer) in dealings.iter().zip(1..) {
        dkg::check_round1(dealer, t, round1).expect("a valid dealing");
    }
    dkg::group_key(n, &qualified(dealings)).expect("group key")
}

fn member_part(
    me: ParticipantId,
    dealings: &[(Polynomial, Round1)],
    shares: &BTreeMap<ParticipantId, [u8; 32]>,
    public: &PublicKeyPackage,
) -> KeyPackage {
    for ((_, round1), dealer) in dealings.iter().zip(1..) {
        // A member need not check the share it dealt itself.
        if dealer != me {
            assert!(dkg::share_is_valid(round1, me, &shares[&dealer]), "share from {dealer}");
        }
    }
    dkg::key_share(me, shares, public).expect("key share")
}

/// The DKG in the parts a validator runs: its own dealing (`deal`: the polynomial, its
/// commitment and proof, and the n shares it owes), the chain's checks that every validator
/// repeats in FinalizeBlock (`chain`: n `check_round1` and `group_key`; `group_key` alone splits
/// it), and its own key (`member`: `share_is_valid` for the n − 1 shares it receives and
/// `key_share`). One validator's CPU is the sum of the three, the network's n times that; for
/// n = 4, `whole` runs every member's part at once as a check of that sum. Sealing shares to
/// their recipients is not included.
fn dkg_bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("dkg");
    for (n, t) in GROUPS {
        let all = dealings(n, t);
        let public = chain_part(n, t, &all);
        let mine = shares_for(&all, 1);
        group.bench_function(BenchmarkId::new("deal", format!("n={n},t={t}")), |b| {
            b.iter(|| {
                let (polynomial, round1) = dkg::deal(1, t, &mut OsRng).expect("deal");
                let shares: Vec<_> =
                    (1..=n).map(|to| dkg::share_for(&polynomial, to).expect("share")).collect();
                black_box((round1, shares))
            });
        });
        group.bench_function(BenchmarkId::new("chain", format!("n={n},t={t}")), |b| {
            b.iter(|| black_box(chain_part(n, t, &all)));
        });
        // The chain's part without the round-1 checks, to see which of the two dominates.
        group.bench_function(BenchmarkId::new("group_key", format!("n={n},t={t}")), |b| {
            b.iter(|| black_box(dkg::group_key(n, &qualified(&all)).expect("group key")));
        });
        group.bench_function(BenchmarkId::new("member", format!("n={n},t={t}")), |b| {
            b.iter(|| black_box(member_part(1, &all, &mine, &public)));
        });
        if n <= 4 {
            group.bench_function(BenchmarkId::new("whole", format!("n={n},t={t}")), |b| {
                b.iter(|| {
                    let all = dealings(n, t);
                    let keys: Vec<_> = (1..=n)
                        .map(|me| {
                            let public = chain_part(n, t, &all);
                            member_part(me, &all, &shares_for(&all, me), &public)
                        })
                        .collect();
                    black_box(keys)
                });
            });
        }
    }
    group.finish();
}

/// A key of `n` members made by the DKG, and the first `t` members' key packages, nonces and
/// published commitments.
#[allow(clippy::type_complexity)]
fn signers(
    n: u16,
    t: u16,
) -> (PublicKeyPackage, Vec<(ParticipantId, KeyPackage, Nonces)>, BTreeMap<ParticipantId, Commitment>) {
    let all = dealings(n, t);
    let public = dkg::group_key(n, &qualified(&all)).expect("group key");
    let mut keys = Vec::new();
    let mut commitments = BTreeMap::new();
    for me in 1..=t {
        let key = dkg::key_share(me, &shares_for(&all, me), &public).expect("key share");
        let (nonces, commitment) = signing::new_nonces(&key, &mut OsRng).expect("nonces");
        commitments.insert(me, commitment);
        keys.push((me, key, nonces));
    }
    (public, keys, commitments)
}

/// Signing one message as the chain aggregates it (`chain`: the package, t `share_is_valid` and
/// `aggregate`), as one signer answers (`signer`: the package and its share), and end to end on
/// one core (`round`: the package, t shares, t checks and aggregation).
fn signing_bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("signing");
    let message = [0x42; 32];
    for (n, t) in GROUPS {
        // Each nonce pair signs the same package on every iteration: harmless here, as these
        // keys never sign anything else, and it keeps nonce generation (done ahead of time on
        // the chain) out of the measurement.
        let (public, keys, commitments) = signers(n, t);
        let package = signing::package(&message, &commitments).expect("package");
        let shares: BTreeMap<_, _> = keys
            .iter()
            .map(|(id, key, nonces)| (*id, signing::sign(&package, nonces, key).expect("share")))
            .collect();
        let label = format!("t={t},n={n}");
        group.bench_function(BenchmarkId::new("signer", &label), |b| {
            let (_, key, nonces) = &keys[0];
            b.iter(|| {
                let package = signing::package(&message, &commitments).expect("package");
                black_box(signing::sign(&package, nonces, key).expect("share"))
            });
        });
        group.bench_function(BenchmarkId::new("chain", &label), |b| {
            b.iter(|| {
                let package = signing::package(&message, &commitments).expect("package");
                for (id, share) in &shares {
                    assert!(signing::share_is_valid(&package, &public, *id, share), "share of {id}");
                }
                black_box(signing::aggregate(&package, &public, &shares).expect("aggregate"))
            });
        });
        group.bench_function(BenchmarkId::new("round", &label), |b| {
            b.iter(|| {
                let package = signing::package(&message, &commitments).expect("package");
                let shares: BTreeMap<_, _> = keys
                    .iter()
                    .map(|(id, key, nonces)| (*id, signing::sign(&package, nonces, key).expect("share")))
                    .collect();
                for (id, share) in &shares {
                    assert!(signing::share_is_valid(&package, &public, *id, share), "share of {id}");
                }
                black_box(signing::aggregate(&package, &public, &shares).expect("aggregate"))
            });
        });
    }
    group.finish();
}

/// A batch's Merkle work: hashing the leaves, the root, one proof, and every message's proof.
fn merkle_bench(c: &mut Criterion) {
    let messages: Vec<Message> = (0..BATCH as u64)
        .map(|nonce| Message {
            nonce,
            sender: [0xaa; 32],
            target: [0x22; 20],
            gas_limit: 200_000,
            data: nonce.to_be_bytes().repeat(8),
        })
        .collect();
    let leaves: Vec<B256> = messages.iter().map(Message::leaf).collect();
    let mut group = c.benchmark_group("merkle");
    let label = format!("{BATCH} messages");
    group.bench_function(BenchmarkId::new("leaves", &label), |b| {
        b.iter(|| black_box(messages.iter().map(Message::leaf).collect::<Vec<_>>()));
    });
    group.bench_function(BenchmarkId::new("root", &label), |b| {
        b.iter(|| black_box(gateway::merkle_root(&leaves)));
    });
    group.bench_function(BenchmarkId::new("one proof", &label), |b| {
        b.iter(|| black_box(gateway::merkle_proof(&leaves, BATCH / 3)));
    });
    // What a node does to serve a signed batch: every message's proof.
    group.bench_function(BenchmarkId::new("every proof", &label), |b| {
        b.iter(|| black_box(gateway::merkle_proofs(&leaves)));
    });
    group.finish();
}

fn config() -> Criterion {
    // Small samples: the n = 100 DKG and t = 67 signing steps take a large fraction of a second
    // each, and the whole run should stay within a few minutes.
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

// criterion_group! generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group! {
        name = benches;
        config = config();
        targets = dkg_bench, signing_bench, merkle_bench
    }
}
criterion_main!(group::benches);
