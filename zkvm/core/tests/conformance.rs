//! Differential conformance: generated RV32IM programs run under `qemu-riscv32` (an independent
//! implementation) and under our emulator must leave identical registers and memory.
//!
//! Each program dumps its registers and data buffer with a Linux `write(1, ..)` — the same
//! syscall number as our DEBUG_WRITE — so qemu's stdout is compared with our debug tape.

use std::collections::BTreeSet;
use std::process::Command;

use nexus_zkvm::elf::Program;
use nexus_zkvm::emu::{Machine, Trap};
use nexus_zkvm::isa::{Op, decode};

mod common;
use common::asm::*;

const DATA_LEN: u32 = 256;
const DUMP_LEN: u32 = 128;
/// The register holding the data buffer's address; generated code never overwrites it.
const DATA_REG: u32 = 3;

const SPECIAL: [u32; 10] = [0, 1, u32::MAX, 0x8000_0000, 0x7fff_ffff, 31, 32, 0xffff_ff80, 0x1234_5678, 2];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
    fn value(&mut self) -> u32 {
        if self.below(3) == 0 { SPECIAL[self.below(SPECIAL.len() as u32) as usize] } else { self.next() }
    }
}

const R_OPS: [(Op, u32, u32); 18] = [
    (Op::Add, 0, 0),
    (Op::Sub, 0x20, 0),
    (Op::Sll, 0, 1),
    (Op::Slt, 0, 2),
    (Op::Sltu, 0, 3),
    (Op::Xor, 0, 4),
    (Op::Srl, 0, 5),
    (Op::Sra, 0x20, 5),
    (Op::Or, 0, 6),
    (Op::And, 0, 7),
    (Op::Mul, 1, 0),
    (Op::Mulh, 1, 1),
    (Op::Mulhsu, 1, 2),
    (Op::Mulhu, 1, 3),
    (Op::Div, 1, 4),
    (Op::Divu, 1, 5),
    (Op::Rem, 1, 6),
    (Op::Remu, 1, 7),
];

fn any_reg(rng: &mut Rng) -> u32 {
    rng.below(32)
}

/// A destination register other than the data pointer (x0 allowed: writes must be dropped).
fn dest_reg(rng: &mut Rng) -> u32 {
    loop {
        let r = rng.below(32);
        if r != DATA_REG {
            return r;
        }
    }
}

/// How a generated unit jumps forward: it skips `skip` following units.
#[derive(Clone, Copy)]
enum Jump {
    /// Conditional branch with this funct3 and sources.
    Branch(u32, u32, u32),
    /// `jal rd`.
    Jal(u32),
    /// `auipc t, 0; jalr rd, t, off (+1 when odd)`: checks that `jalr` clears bit 0.
    Jalr(u32, u32, bool),
}

/// One generated unit: plain instructions, or a forward jump over whole units, so no jump
/// ever lands between an `auipc` and the `jalr` that uses it.
enum Unit {
    Plain(u32),
    Jump(Jump, u32),
}

fn random_unit(rng: &mut Rng) -> Unit {
    let skip = rng.below(4);
    match rng.below(12) {
        0..=3 => {
            let (_, f7, f3) = R_OPS[rng.below(R_OPS.len() as u32) as usize];
            Unit::Plain(r_type(f7, any_reg(rng), any_reg(rng), f3, dest_reg(rng), 0x33))
        }
        4..=5 => {
            let f3 = [0, 2, 3, 4, 6, 7, 1, 5][rng.below(8) as usize];
            let (rd, rs1) = (dest_reg(rng), any_reg(rng));
            Unit::Plain(match f3 {
                1 => r_type(0, rng.below(32), rs1, 1, rd, 0x13),
                5 => r_type(if rng.below(2) == 0 { 0 } else { 0x20 }, rng.below(32), rs1, 5, rd, 0x13),
                _ => {
                    let imm = [0, -1, 2047, -2048, 1][rng.below(5) as usize];
                    let imm = if rng.below(2) == 0 { imm } else { ((rng.next() << 20) as i32) >> 20 };
                    i_type(imm, rs1, f3, rd, 0x13)
                }
            })
        }
        6 => {
            let opc = if rng.below(2) == 0 { 0x37 } else { 0x17 };
            Unit::Plain(u_type(rng.value() >> 12, dest_reg(rng), opc))
        }
        7 => {
            // Loads at aligned offsets inside the buffer, including sign-extending ones.
            let (f3, size) = [(0, 1), (1, 2), (2, 4), (4, 1), (5, 2)][rng.below(5) as usize];
            let off = (rng.below(DATA_LEN) / size * size) as i32;
            Unit::Plain(i_type(off, DATA_REG, f3, dest_reg(rng), 0x03))
        }
        8 => {
            let (f3, size) = [(0, 1), (1, 2), (2, 4)][rng.below(3) as usize];
            let off = (rng.below(DATA_LEN) / size * size) as i32;
            Unit::Plain(s_type(off, any_reg(rng), DATA_REG, f3))
        }
        9 => {
            let f3 = [0, 1, 4, 5, 6, 7][rng.below(6) as usize];
            Unit::Jump(Jump::Branch(f3, any_reg(rng), any_reg(rng)), skip)
        }
        10 => Unit::Jump(Jump::Jal(dest_reg(rng)), skip),
        _ => {
            let t = loop {
                let t = dest_reg(rng);
                if t != 0 {
                    break t;
                }
            };
            Unit::Jump(Jump::Jalr(t, dest_reg(rng), rng.below(2) == 1), skip)
        }
    }
}

/// Lays out units as code, resolving each forward jump to the start of its target unit (jumps
/// past the end land on the epilogue).
fn lay_out(units: &[Unit]) -> Vec<u32> {
    let size = |u: &Unit| match u {
        Unit::Jump(Jump::Jalr(..), _) => 2,
        _ => 1,
    };
    let mut starts = vec![0i32];
    for u in units {
        starts.push(starts.last().copied().unwrap_or(0) + size(u));
    }
    let mut code = Vec::new();
    for (i, u) in units.iter().enumerate() {
        match *u {
            Unit::Plain(w) => code.push(w),
            Unit::Jump(jump, skip) => {
                let target = starts[(i + 1 + skip as usize).min(units.len())];
                let off = 4 * (target - starts[i]);
                match jump {
                    Jump::Branch(f3, a, b) => code.push(b_type(off, b, a, f3)),
                    Jump::Jal(rd) => code.push(j_type(off, rd)),
                    Jump::Jalr(t, rd, odd) => {
                        code.push(u_type(0, t, 0x17));
                        code.push(i_type(off + i32::from(odd), t, 0, rd, 0x67));
                    }
                }
            }
        }
    }
    code
}

/// Wraps straight-line code into an ELF that sets up registers, runs it and dumps the state.
fn build_elf(body: &[u32], init: &[u32; 32], data: &[u8]) -> Vec<u8> {
    let mut prologue = Vec::new();
    // Placeholder for the data address; patched once the code length is known.
    li(&mut prologue, DATA_REG, 0);
    for r in 1..32 {
        if r != DATA_REG {
            li(&mut prologue, r, init[r as usize]);
        }
    }
    let mut epilogue = Vec::new();
    for r in 1..32 {
        epilogue.push(s_type((DATA_LEN + 4 * r) as i32, r, DATA_REG, 2));
    }
    li(&mut epilogue, 17, 64);
    li(&mut epilogue, 10, 1);
    epilogue.push(i_type(0, DATA_REG, 0, 11, 0x13));
    li(&mut epilogue, 12, DATA_LEN + DUMP_LEN);
    epilogue.push(0x73);
    li(&mut epilogue, 17, 93);
    li(&mut epilogue, 10, 0);
    epilogue.push(0x73);

    let n_code = (prologue.len() + body.len() + epilogue.len()) as u32;
    let data_addr = BASE + HEADER + 4 * n_code;
    let mut patched = Vec::new();
    li(&mut patched, DATA_REG, data_addr);
    prologue[..2].copy_from_slice(&patched);

    let mut code = prologue;
    code.extend_from_slice(body);
    code.extend_from_slice(&epilogue);
    let mut tail = data.to_vec();
    tail.resize((DATA_LEN + DUMP_LEN) as usize, 0);
    elf(&code, &tail)
}

fn qemu_available() -> bool {
    let found = Command::new("qemu-riscv32").arg("--version").output().is_ok();
    if !found {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(!ci, "qemu-riscv32 is required under CI: run scripts/install-zkvm-tools.sh");
        eprintln!("qemu-riscv32 not found; skipping (run scripts/install-zkvm-tools.sh)");
    }
    found
}

fn run_qemu(elf: &[u8], dir: &std::path::Path, name: &str) -> Vec<u8> {
    let path = dir.join(name);
    std::fs::write(&path, elf).expect("write test ELF");
    // qemu's loader, like the kernel's, refuses files without execute permission.
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod test ELF");
    let out = Command::new("qemu-riscv32").arg(&path).output().expect("run qemu-riscv32");
    if !out.status.success() {
        let _ = std::fs::write(format!("/tmp/zk-{name}.elf"), elf);
    }
    assert!(out.status.success(), "qemu failed on {name}: {out:?}");
    out.stdout
}

fn run_ours(elf: &[u8]) -> Result<Vec<u8>, Trap> {
    let program = Program::from_elf(elf).expect("load");
    let mut m = Machine::new(&program, &[]);
    m.run(1 << 20, |_| {})?;
    assert_eq!(m.exit_code, Some(0));
    Ok(m.debug)
}

#[test]
fn random_programs_match_qemu() {
    if !qemu_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut seen: BTreeSet<Op> = BTreeSet::new();
    for case in 0..60 {
        let units: Vec<Unit> = (0..200).map(|_| random_unit(&mut rng)).collect();
        let body = lay_out(&units);
        seen.extend(body.iter().filter_map(|&w| decode(w)).map(|i| i.op));
        let mut init = [0u32; 32];
        for v in init.iter_mut() {
            *v = rng.value();
        }
        let data: Vec<u8> = (0..DATA_LEN).map(|_| rng.next() as u8).collect();
        let elf = build_elf(&body, &init, &data);
        let expected = run_qemu(&elf, dir.path(), &format!("case{case}"));
        let ours = run_ours(&elf).expect("no trap");
        assert_eq!(ours, expected, "case {case} differs from qemu");
    }
    let missing: Vec<Op> = Op::ALL
        .iter()
        .copied()
        .filter(|op| *op != Op::Ecall && *op != Op::Fence && !seen.contains(op))
        .collect();
    assert!(missing.is_empty(), "ops never generated: {missing:?}");
}

#[test]
fn alu_edge_cases_match_qemu() {
    if !qemu_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // Every R-type op over every pair of special values; each result stored to the buffer,
    // which is dumped after every batch.
    for (op, f7, f3) in R_OPS {
        let mut body = Vec::new();
        for (k, &a) in SPECIAL.iter().enumerate() {
            for &b in &SPECIAL {
                li(&mut body, 5, a);
                li(&mut body, 6, b);
                body.push(r_type(f7, 6, 5, f3, 7, 0x33));
                let slot = 4 * ((k * SPECIAL.len()) as i32 % 64);
                body.push(s_type(slot, 7, DATA_REG, 2));
                body.push(r_type(0, 7, 8, 4, 8, 0x33)); // x8 ^= result keeps every result alive
            }
        }
        let elf = build_elf(&body, &[0; 32], &[0; DATA_LEN as usize]);
        let expected = run_qemu(&elf, dir.path(), &format!("{op:?}"));
        assert_eq!(run_ours(&elf).expect("no trap"), expected, "{op:?}");
    }
}

#[test]
fn illegal_and_misaligned_instructions_trap() {
    let data = [0u8; DATA_LEN as usize];
    type IsExpected = fn(&Trap) -> bool;
    let cases: [(Vec<u32>, IsExpected); 5] = [
        (vec![0xffff_ffff], |t| matches!(t, Trap::IllegalInstruction { .. })),
        (vec![0x0010_0073], |t| matches!(t, Trap::IllegalInstruction { .. })), // ebreak
        (vec![i_type(1, DATA_REG, 2, 5, 0x03)], |t| matches!(t, Trap::MisalignedAccess { .. })),
        (vec![s_type(2, 5, DATA_REG, 2)], |t| matches!(t, Trap::MisalignedAccess { .. })),
        (vec![j_type(6, 1)], |t| matches!(t, Trap::MisalignedFetch { .. })),
    ];
    for (body, is_expected) in cases {
        let elf = build_elf(&body, &[0; 32], &data);
        let err = run_ours(&elf).expect_err("traps");
        assert!(is_expected(&err), "{body:x?}: {err}");
    }
}
