//! Proves one benchmark guest at its benchmark size and prints the measurements BENCHMARKS.md
//! reports: `cargo run --release -p nexus-zkvm --example prove_guest -- <guest> [size [k]]`
//! with guest one of fib (n), keccak (permutations), sha256 (bytes), sort (elements), matmul
//! (n), sieve (limit), ecdsa (one secp256k1 signature check; size unused). Executions longer
//! than one segment (2^20 cycles, or 2^k) are proven in several. Peak RSS is the process's,
//! so run one guest per process.

use std::time::Instant;

use nexus_zkvm::cli::{peak_rss_bytes, simd_level, unmap_large_buffers_when_freed};
use nexus_zkvm::elf::Program;
use nexus_zkvm::stark::{DEFAULT_LOG_SEGMENT, Proof, prove_program_segmented, verify_program};
use sha2::Digest;

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = [11, 12].iter().filter_map(|&i| fields.get(i).and_then(|v| v.parse::<f64>().ok())).sum();
    ticks / 100.0
}

fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// A valid signature by a fixed key: SEC1 compressed key || prehash || signature.
fn ecdsa_input() -> Vec<u8> {
    use k256::ecdsa::SigningKey;
    use k256::ecdsa::signature::hazmat::PrehashSigner;
    let key = SigningKey::from_slice(&[0x42; 32]).expect("valid scalar");
    let prehash: [u8; 32] = sha2::Sha256::digest(b"nexus zkvm ecdsa benchmark").into();
    let (sig, _): (k256::ecdsa::Signature, _) = key.sign_prehash(&prehash).expect("signs");
    let mut input = key.verifying_key().to_encoded_point(true).as_bytes().to_vec();
    input.extend_from_slice(&prehash);
    input.extend_from_slice(&sig.to_bytes());
    input
}

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "fib".into());
    let size: Option<u32> = args.next().and_then(|a| a.parse().ok());
    let log_segment = args.next().map_or(DEFAULT_LOG_SEGMENT, |a| a.parse().expect("segment log"));
    let input = match name.as_str() {
        "fib" => words(&[size.unwrap_or(100_000)]),
        "keccak" => words(&[size.unwrap_or(10)]),
        "sha256" => (0..size.unwrap_or(1024)).map(|i| (i * 7 + 3) as u8).collect(),
        "sort" => words(&[size.unwrap_or(4096), 12345]),
        "matmul" => words(&[size.unwrap_or(32), 7]),
        "sieve" => words(&[size.unwrap_or(100_000)]),
        "ecdsa" => ecdsa_input(),
        other => panic!("unknown guest {other}"),
    };
    let path = format!("{}/../guests/out/{name}.elf", env!("CARGO_MANIFEST_DIR"));
    let elf =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e} (run scripts/build-zkvm-guests.sh)"));
    let program = Program::from_elf(&elf).expect("loads");
    println!("SIMD: {}", simd_level());
    unmap_large_buffers_when_freed();
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let proven = prove_program_segmented(&program, &input, log_segment, &mut |_, _| {}).expect("proves");
    let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
    let bytes = proven.proof.to_bytes();
    let proof = Proof::from_bytes(&bytes).expect("decodes");
    let t1 = Instant::now();
    verify_program(&program, &input, &proven.output, proven.exit_code, &proof).expect("verifies");
    let cold_ms = t1.elapsed().as_secs_f64() * 1e3;
    let t2 = Instant::now();
    verify_program(&program, &input, &proven.output, proven.exit_code, &proof).expect("verifies");
    let warm_ms = t2.elapsed().as_secs_f64() * 1e3;
    // Table heights and committed widths per segment: where the rows (and so the time and
    // memory) go. A committed cell is one base-field value per trace row in the main,
    // preprocessed, LogUp (four per extension column) or quotient (four per chunk) trace; the
    // prover's CPU time has been close to proportional to their sum (BENCHMARKS.md).
    let mut cells = 0u64;
    for (k, s) in proof.segments.iter().enumerate() {
        let tables = nexus_zkvm::stark::air::Table::from_mask(s.tables).expect("proven table set");
        let opened = &s.stark.opened_values.instances;
        let shown: Vec<String> = tables
            .iter()
            .zip(&s.stark.degree_bits)
            .zip(opened)
            .map(|((t, &b), o)| {
                let base = &o.base_opened_values;
                let width = base.trace_local.len()
                    + base.preprocessed.as_ref().map_or(0, |p| p.local.len())
                    + o.permutation_local.len()
                    + base.quotient_chunks.iter().map(Vec::len).sum::<usize>();
                cells += (width as u64) << b;
                format!("{t:?} 2^{b} ×{width}")
            })
            .collect();
        println!("segment {k}: {}", shown.join(", "));
    }
    let largest_segment =
        proof.segments.iter().map(|s| postcard::to_allocvec(s).map_or(0, |b| b.len())).max().unwrap_or(0);
    println!(
        "{name}: cycles {} | segments {} | wall {wall:.2} s | cpu {cpu:.2} s | {:.0} cycles/cpu-s | peak RSS {:.0} MiB | \
         {:.1} committed cells/cycle | proof {} KiB (largest segment {} KiB) | verify {cold_ms:.1} ms (cached commitment {warm_ms:.1} ms) | security {} conjectured / {} proven bits",
        proven.cycles,
        proof.segments.len(),
        proven.cycles as f64 / cpu,
        peak_rss_bytes().unwrap_or(0) as f64 / 1048576.0,
        cells as f64 / proven.cycles as f64,
        bytes.len() / 1024,
        largest_segment / 1024,
        proven.security.conjectured_bits,
        proven.security.proven_bits,
    );
}
