//! Security level of a proof: Plonky3's conjectured and proven soundness estimates
//! (`p3_uni_stark::{ConjecturedSecurity, ProvenSecurity}`, composed by `p3-security`) for our
//! FRI parameters and the shape of the batch.
//!
//! The batch is one FRI low-degree test over every table's committed columns, so the report is
//! computed for one combined instance: constraints summed over the tables, the largest
//! constraint degree and quotient chunk count, the number of batched openings summed with
//! `p3_batch_stark::num_batched_openings` (main, preprocessed, quotient and LogUp columns), and
//! the tallest table's height. Lookups are counted before Plonky3 packs same-bus ones into
//! shared columns, which over-counts columns and constraints and so can only under-state the
//! level.

use p3_air::{AirLayout, BaseAir};
use p3_batch_stark::num_batched_openings;
use p3_batch_stark::symbolic::get_symbolic_constraints;
use p3_lookup::LogUpGadget;
use p3_lookup::Lookups;
use p3_security::fri::FriRegime;
use p3_security::grinding::GrindingSites;
use p3_security::shape::{InstanceShape, StarkAirParams};
use p3_security::stark::{conjectured_security_report, proven_security_report};
use p3_uni_stark::OpeningShape;
use p3_util::log2_ceil_usize;
use serde::{Deserialize, Serialize};

use super::air::VmAir;
use super::config::{Challenge, Params, Val};

/// Bits of the challenge field: KoalaBear (p < 2^31) to the 4th, rounded down.
pub const CHALLENGE_FIELD_BITS: usize = 123;
/// Collision resistance of the Poseidon2 Merkle hash: half its 8-element (≈ 248-bit) digest,
/// rounded down.
pub const HASH_COLLISION_BITS: usize = 123;

/// Soundness estimates of a proof, in bits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityReport {
    /// Conjectured security (Plonky3's random-words FRI conjecture, ePrint 2025/2010 §1.5).
    pub conjectured_bits: usize,
    /// The protocol round that limits the conjectured level.
    pub conjectured_binding: String,
    /// Proven security: the better of the unique- and list-decoding regimes (ePrint 2024/1553
    /// Theorems 2 and 3 with the Johnson-bound MCA of ePrint 2026/2056).
    pub proven_bits: usize,
    /// The protocol round that limits the proven level.
    pub proven_binding: String,
}

/// Computes the security report for `airs` at trace heights `2^degree_bits[i]`.
pub fn security_report(params: &Params, airs: &[VmAir], degree_bits: &[usize]) -> SecurityReport {
    let gadget = LogUpGadget::new();
    let mut num_constraints = 0;
    let mut max_degree = 2;
    let mut batched = 0;
    for air in airs {
        let lookups = Lookups::<Val>::from_air::<Challenge, _>(air);
        let (base, ext) = get_symbolic_constraints::<Val, Challenge, _, _>(
            air,
            AirLayout::from_air(air),
            &lookups,
            &gadget,
        );
        num_constraints += base.len() + ext.len();
        let degree = base
            .iter()
            .map(|c| c.degree_multiple())
            .chain(ext.iter().map(|c| c.degree_multiple()))
            .max()
            .unwrap_or(0);
        max_degree = max_degree.max(degree);
        batched += num_batched_openings(
            air.width(),
            !air.main_next_row_columns().is_empty(),
            air.preprocessed_width(),
            false,
            1 << log2_ceil_usize(degree.max(2) - 1),
            lookups.len(),
            4,
            OpeningShape::new(),
        );
    }
    let fri = FriRegime {
        log_blowup: params.log_blowup,
        num_queries: params.num_queries,
        log_final_poly_len: params.log_final_poly_len,
        max_log_arity: params.max_log_arity,
        commit_pow_bits: params.commit_pow_bits,
        query_pow_bits: params.query_pow_bits,
    };
    let air = StarkAirParams {
        num_constraints,
        max_constraint_degree: max_degree,
        num_quotient_chunks: 1 << log2_ceil_usize(max_degree - 1),
        // Transition constraints read the next row.
        max_combo: 2,
    };
    let shape = InstanceShape {
        log_trace_length: degree_bits.iter().copied().max().unwrap_or(0),
        modulus_bits: CHALLENGE_FIELD_BITS,
        collision_resistance: HASH_COLLISION_BITS,
        num_batched_functions: batched,
    };
    let grinding = GrindingSites {
        out_of_domain: params.ood_pow_bits,
        batch_combination: params.batch_pow_bits,
        lookup_challenge: params.lookup_pow_bits,
    };
    let conjectured = conjectured_security_report(&fri, &air, &shape, &[], &grinding);
    let proven = proven_security_report(&fri, &air, &shape, &[], &grinding);
    let (_, proven_term) = proven.binding();
    SecurityReport {
        conjectured_bits: conjectured.security_bits() as usize,
        conjectured_binding: format!("{:?}", conjectured.binding()),
        proven_bits: proven.security_bits() as usize,
        proven_binding: format!("{proven_term:?}"),
    }
}

/// The level of a proof made of one STARK per segment: the weakest segment's, less log2 of the
/// number of segments rounded up, because a forger needs to break only one of them (union
/// bound). `None` for no segments.
pub fn combined_report(segments: &[SecurityReport]) -> Option<SecurityReport> {
    let penalty = segments.len().next_power_of_two().trailing_zeros() as usize;
    let conjectured = segments.iter().min_by_key(|r| r.conjectured_bits)?;
    let proven = segments.iter().min_by_key(|r| r.proven_bits)?;
    Some(SecurityReport {
        conjectured_bits: conjectured.conjectured_bits.saturating_sub(penalty),
        conjectured_binding: conjectured.conjectured_binding.clone(),
        proven_bits: proven.proven_bits.saturating_sub(penalty),
        proven_binding: proven.proven_binding.clone(),
    })
}
