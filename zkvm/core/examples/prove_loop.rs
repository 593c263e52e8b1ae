//! Measures proving on a hand-assembled loop (ADD/ADDI/BNE): `cargo run --release -p nexus-zkvm
//! --example prove_loop -- <iterations>`. Prints cycles, wall and CPU seconds, cycles per
//! CPU-second, peak RSS, proof size and verify time.

#[allow(dead_code)]
#[path = "../tests/common/asm.rs"]
mod asm;

use std::time::Instant;

use asm::*;
use nexus_zkvm::cli::{peak_rss_bytes, simd_level};
use nexus_zkvm::elf::Program;
use nexus_zkvm::stark::{prove_program, verify_program};

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = [11, 12].iter().filter_map(|&i| fields.get(i).and_then(|v| v.parse::<f64>().ok())).sum();
    ticks / 100.0
}

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let mut c = Vec::new();
    li(&mut c, 17, 0x100);
    li(&mut c, 10, 1);
    c.push(0x73);
    c.push(i_type(0, 10, 0, 8, 0x13));
    c.push(i_type(0, 0, 0, 9, 0x13));
    c.push(i_type(0, 0, 0, 18, 0x13));
    c.push(r_type(0, 18, 9, 0, 9, 0x33));
    c.push(i_type(1, 18, 0, 18, 0x13));
    c.push(b_type(-8, 8, 18, 1));
    li(&mut c, 17, 0x101);
    li(&mut c, 10, 0);
    li(&mut c, 11, 4);
    c.push(0x73);
    li(&mut c, 10, 1);
    c.push(i_type(0, 9, 0, 11, 0x13));
    c.push(0x73);
    li(&mut c, 17, 93);
    li(&mut c, 10, 0);
    c.push(0x73);
    let program = Program::from_elf(&elf(&c, &[])).expect("loads");
    let input = n.to_le_bytes();
    println!("SIMD: {}", simd_level());
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let proven = prove_program(&program, &input).expect("proves");
    let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
    let size = proven.proof.to_bytes().len();
    let t1 = Instant::now();
    verify_program(&program, &input, &proven.output, proven.exit_code, &proven.proof).expect("verifies");
    let verify_ms = t1.elapsed().as_secs_f64() * 1e3;
    println!(
        "cycles {} | wall {wall:.2} s | cpu {cpu:.2} s | {:.0} cycles/cpu-s | peak RSS {:.0} MiB | proof {} KiB | verify {verify_ms:.1} ms",
        proven.cycles,
        proven.cycles as f64 / cpu,
        peak_rss_bytes().unwrap_or(0) as f64 / 1048576.0,
        size / 1024
    );
}
