//! The STARK configuration: KoalaBear, degree-4 extension, Poseidon2 Merkle trees and
//! challenger, and FRI parameters identified by a params id carried in every proof.

use p3_challenger::DuplexChallenger;
use p3_commit::ExtensionMmcs;
use p3_dft::Radix2DFTSmallBatch;
use p3_field::Field;
use p3_field::extension::BinomialExtensionField;
use p3_fri::{FriParameters, TwoAdicFriPcs};
use p3_koala_bear::{KoalaBear, Poseidon2KoalaBear, default_koalabear_poseidon2_16};
use p3_merkle_tree::MerkleTreeMmcs;
use p3_symmetric::{PaddingFreeSponge, TruncatedPermutation};
use p3_uni_stark::StarkConfig;

/// The base field.
pub type Val = KoalaBear;
/// The degree-4 extension the challenges live in.
pub type Challenge = BinomialExtensionField<Val, 4>;
type Perm = Poseidon2KoalaBear<16>;
type Hash = PaddingFreeSponge<Perm, 16, 8, 8>;
type Compress = TruncatedPermutation<Perm, 2, 8, 16>;
type ValMmcs = MerkleTreeMmcs<<Val as Field>::Packing, <Val as Field>::Packing, Hash, Compress, 2, 8>;
type ChallengeMmcs = ExtensionMmcs<Val, Challenge, ValMmcs>;
type Challenger = DuplexChallenger<Val, Perm, 16, 8>;
// Same evaluations as `Radix2DitParallel`, so proofs are unchanged; 25–75% less CPU time on
// this machine for our widths (47 main, 36 LogUp and 8 quotient columns at 2^20 rows).
type Dft = Radix2DFTSmallBatch<Val>;
type Pcs = TwoAdicFriPcs<Val, Dft, ValMmcs, ChallengeMmcs>;
/// The full STARK configuration type.
pub type Config = StarkConfig<Pcs, Challenge, Challenger>;

/// A named, versioned set of proof parameters; verifiers reject proofs for any other id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Identifier written into every proof.
    pub id: u32,
    /// log2 of the FRI blowup.
    pub log_blowup: usize,
    /// Number of FRI queries.
    pub num_queries: usize,
    /// Grinding bits before the FRI queries.
    pub query_pow_bits: usize,
    /// log2 of the largest FRI folding arity.
    pub max_log_arity: usize,
    /// log2 of the number of coefficients of FRI's final polynomial, sent in the clear.
    pub log_final_poly_len: usize,
    /// Grinding bits at every FRI commit-phase (folding) round.
    pub commit_pow_bits: usize,
    /// Grinding bits before the out-of-domain point is sampled.
    pub ood_pow_bits: usize,
    /// Grinding bits before the opening-batching challenge.
    pub batch_pow_bits: usize,
    /// Grinding bits before the LogUp challenges.
    pub lookup_pow_bits: usize,
}

/// The current parameters: rate 1/2 with 88 queries and 20 bits of query grinding, grinding
/// at every FRI folding round (8 bits) and before the out-of-domain, batching and LogUp
/// challenges (16 bits each), and FRI stopping at a 32-coefficient final polynomial.
/// `security::security_report` gives ≈ 105 conjectured bits for a 2^20-cycle segment
/// (STATUS.md has the numbers); without the grinding at the other rounds the report is capped
/// near 90 bits by the batching and commit-phase rounds whatever the number of queries.
/// Fewer queries with more grinding keep the level of id 2 (96 queries, 16-bit query
/// grinding) with proofs ≈ 8% smaller; the final polynomial drops FRI's last rounds, whose
/// openings cost every query 7 sibling values each. The id also names the AIRs of this build
/// (retired: id 1, 84 queries and query grinding only, ≈ 90 bits; id 2, the AIRs before the
/// CPU did its own ADD/SUB; id 3, the same parameters with separate `alu`, `sub` and `io`
/// buses; id 4, a CPU row with four memory accesses; id 5, CPU columns for `is_real` and the
/// next pc, and sign bits split off in two lookups; id 6, a flag column for LUI/AUIPC/FENCE
/// and none for `real`).
pub const PARAMS: Params = Params {
    id: 7,
    log_blowup: 1,
    num_queries: 88,
    query_pow_bits: 20,
    max_log_arity: 3,
    log_final_poly_len: 5,
    commit_pow_bits: 8,
    ood_pow_bits: 16,
    batch_pow_bits: 16,
    lookup_pow_bits: 16,
};

// FRI's final domain (2^(log_blowup + log_final_poly_len)) must be smaller than every table's
// low-degree extension, so no table joins FRI below it.
const _: () = assert!(
    super::trace::MIN_HEIGHT << PARAMS.log_blowup > 1 << (PARAMS.log_blowup + PARAMS.log_final_poly_len)
);

/// Every params id this build can verify.
pub const KNOWN_PARAMS: [Params; 1] = [PARAMS];

/// Looks up parameters by id.
pub fn params_by_id(id: u32) -> Option<Params> {
    KNOWN_PARAMS.iter().copied().find(|p| p.id == id)
}

/// Builds the Plonky3 configuration for a parameter set.
pub fn make_config(p: &Params) -> Config {
    // The published Poseidon2 round constants, so proofs do not depend on any local seed.
    let perm = default_koalabear_poseidon2_16();
    let hash = Hash::new(perm.clone());
    let compress = Compress::new(perm.clone());
    let val_mmcs = ValMmcs::new(hash, compress, 0);
    let challenge_mmcs = ChallengeMmcs::new(val_mmcs.clone());
    let fri = FriParameters {
        log_blowup: p.log_blowup,
        log_final_poly_len: p.log_final_poly_len,
        max_log_arity: p.max_log_arity,
        num_queries: p.num_queries,
        batch_proof_of_work_bits: p.batch_pow_bits,
        commit_proof_of_work_bits: p.commit_pow_bits,
        query_proof_of_work_bits: p.query_pow_bits,
        mmcs: challenge_mmcs,
    };
    let pcs = Pcs::new(Dft::default(), val_mmcs, fri);
    Config::new(pcs, Challenger::new(perm))
        .with_ood_proof_of_work_bits(p.ood_pow_bits)
        .with_lookup_proof_of_work_bits(p.lookup_pow_bits)
}
