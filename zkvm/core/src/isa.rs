//! RV32IM instruction decoding into a flat form shared by the emulator and the AIRs.

/// Every RV32IM operation the VM executes.
///
/// Register-immediate forms decode to the same operation as their register-register twin with
/// `Instr::use_imm` set, so the ALU tables only ever see one operation per function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Op {
    /// `rd = a + b`.
    Add = 0,
    /// `rd = a - b`.
    Sub,
    /// `rd = a ^ b`.
    Xor,
    /// `rd = a | b`.
    Or,
    /// `rd = a & b`.
    And,
    /// `rd = (a as i32) < (b as i32)`.
    Slt,
    /// `rd = a < b`.
    Sltu,
    /// `rd = a << (b & 31)`.
    Sll,
    /// `rd = a >> (b & 31)` logical.
    Srl,
    /// `rd = a >> (b & 31)` arithmetic.
    Sra,
    /// Low 32 bits of `a * b`.
    Mul,
    /// High 32 bits of signed × signed.
    Mulh,
    /// High 32 bits of signed × unsigned.
    Mulhsu,
    /// High 32 bits of unsigned × unsigned.
    Mulhu,
    /// Signed division, RISC-V semantics for zero divisors and overflow.
    Div,
    /// Unsigned division.
    Divu,
    /// Signed remainder.
    Rem,
    /// Unsigned remainder.
    Remu,
    /// `rd = imm`.
    Lui,
    /// `rd = pc + imm`.
    Auipc,
    /// `rd = pc + 4; pc += imm`.
    Jal,
    /// `rd = pc + 4; pc = (rs1 + imm) & !1`.
    Jalr,
    /// Branch if equal.
    Beq,
    /// Branch if not equal.
    Bne,
    /// Branch if less than (signed).
    Blt,
    /// Branch if greater or equal (signed).
    Bge,
    /// Branch if less than (unsigned).
    Bltu,
    /// Branch if greater or equal (unsigned).
    Bgeu,
    /// Load sign-extended byte.
    Lb,
    /// Load sign-extended halfword.
    Lh,
    /// Load word.
    Lw,
    /// Load zero-extended byte.
    Lbu,
    /// Load zero-extended halfword.
    Lhu,
    /// Store byte.
    Sb,
    /// Store halfword.
    Sh,
    /// Store word.
    Sw,
    /// Environment call: the VM's syscalls, selected by `a7`.
    Ecall,
    /// `fence`: a no-op on a single-hart VM.
    Fence,
}

/// Number of distinct [`Op`] values.
pub const NUM_OPS: usize = Op::Fence as usize + 1;

impl Op {
    /// All operations in discriminant order.
    pub const ALL: [Op; NUM_OPS] = [
        Op::Add,
        Op::Sub,
        Op::Xor,
        Op::Or,
        Op::And,
        Op::Slt,
        Op::Sltu,
        Op::Sll,
        Op::Srl,
        Op::Sra,
        Op::Mul,
        Op::Mulh,
        Op::Mulhsu,
        Op::Mulhu,
        Op::Div,
        Op::Divu,
        Op::Rem,
        Op::Remu,
        Op::Lui,
        Op::Auipc,
        Op::Jal,
        Op::Jalr,
        Op::Beq,
        Op::Bne,
        Op::Blt,
        Op::Bge,
        Op::Bltu,
        Op::Bgeu,
        Op::Lb,
        Op::Lh,
        Op::Lw,
        Op::Lbu,
        Op::Lhu,
        Op::Sb,
        Op::Sh,
        Op::Sw,
        Op::Ecall,
        Op::Fence,
    ];

    /// True for the operations computed by an ALU table from two operands.
    pub fn is_alu(self) -> bool {
        (self as u8) <= Op::Remu as u8
    }

    /// True for loads.
    pub fn is_load(self) -> bool {
        matches!(self, Op::Lb | Op::Lh | Op::Lw | Op::Lbu | Op::Lhu)
    }

    /// True for stores.
    pub fn is_store(self) -> bool {
        matches!(self, Op::Sb | Op::Sh | Op::Sw)
    }

    /// True for conditional branches.
    pub fn is_branch(self) -> bool {
        matches!(self, Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu)
    }
}

/// A decoded instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instr {
    /// The operation.
    pub op: Op,
    /// Destination register (0 when the instruction writes none).
    pub rd: u8,
    /// First source register (0 when unused).
    pub rs1: u8,
    /// Second source register (0 when unused).
    pub rs2: u8,
    /// Sign-extended immediate (already shifted for `lui`/`auipc`).
    pub imm: u32,
    /// The second ALU operand is `imm` rather than `rs2`.
    pub use_imm: bool,
}

fn bits(word: u32, hi: u32, lo: u32) -> u32 {
    (word >> lo) & ((1 << (hi - lo + 1)) - 1)
}

fn sext(value: u32, width: u32) -> u32 {
    let shift = 32 - width;
    (((value << shift) as i32) >> shift) as u32
}

/// Decodes one 32-bit instruction word; `None` for anything outside RV32IM.
pub fn decode(word: u32) -> Option<Instr> {
    let opcode = word & 0x7f;
    let rd = bits(word, 11, 7) as u8;
    let rs1 = bits(word, 19, 15) as u8;
    let rs2 = bits(word, 24, 20) as u8;
    let f3 = bits(word, 14, 12);
    let f7 = bits(word, 31, 25);
    let imm_i = sext(bits(word, 31, 20), 12);
    let imm_s = sext((bits(word, 31, 25) << 5) | bits(word, 11, 7), 12);
    let imm_b = sext(
        (bits(word, 31, 31) << 12)
            | (bits(word, 7, 7) << 11)
            | (bits(word, 30, 25) << 5)
            | (bits(word, 11, 8) << 1),
        13,
    );
    let imm_u = word & 0xffff_f000;
    let imm_j = sext(
        (bits(word, 31, 31) << 20)
            | (bits(word, 19, 12) << 12)
            | (bits(word, 20, 20) << 11)
            | (bits(word, 30, 21) << 1),
        21,
    );
    let mk = |op, rd, rs1, rs2, imm, use_imm| Some(Instr { op, rd, rs1, rs2, imm, use_imm });
    match opcode {
        0x37 => mk(Op::Lui, rd, 0, 0, imm_u, true),
        0x17 => mk(Op::Auipc, rd, 0, 0, imm_u, true),
        0x6f => mk(Op::Jal, rd, 0, 0, imm_j, true),
        0x67 if f3 == 0 => mk(Op::Jalr, rd, rs1, 0, imm_i, true),
        0x63 => {
            let op = match f3 {
                0 => Op::Beq,
                1 => Op::Bne,
                4 => Op::Blt,
                5 => Op::Bge,
                6 => Op::Bltu,
                7 => Op::Bgeu,
                _ => return None,
            };
            mk(op, 0, rs1, rs2, imm_b, false)
        }
        0x03 => {
            let op = match f3 {
                0 => Op::Lb,
                1 => Op::Lh,
                2 => Op::Lw,
                4 => Op::Lbu,
                5 => Op::Lhu,
                _ => return None,
            };
            mk(op, rd, rs1, 0, imm_i, true)
        }
        0x23 => {
            let op = match f3 {
                0 => Op::Sb,
                1 => Op::Sh,
                2 => Op::Sw,
                _ => return None,
            };
            mk(op, 0, rs1, rs2, imm_s, false)
        }
        0x13 => {
            let (op, imm) = match (f3, f7) {
                (0, _) => (Op::Add, imm_i),
                (2, _) => (Op::Slt, imm_i),
                (3, _) => (Op::Sltu, imm_i),
                (4, _) => (Op::Xor, imm_i),
                (6, _) => (Op::Or, imm_i),
                (7, _) => (Op::And, imm_i),
                (1, 0) => (Op::Sll, u32::from(rs2)),
                (5, 0) => (Op::Srl, u32::from(rs2)),
                (5, 0x20) => (Op::Sra, u32::from(rs2)),
                _ => return None,
            };
            mk(op, rd, rs1, 0, imm, true)
        }
        0x33 => {
            let op = match (f7, f3) {
                (0, 0) => Op::Add,
                (0x20, 0) => Op::Sub,
                (0, 1) => Op::Sll,
                (0, 2) => Op::Slt,
                (0, 3) => Op::Sltu,
                (0, 4) => Op::Xor,
                (0, 5) => Op::Srl,
                (0x20, 5) => Op::Sra,
                (0, 6) => Op::Or,
                (0, 7) => Op::And,
                (1, 0) => Op::Mul,
                (1, 1) => Op::Mulh,
                (1, 2) => Op::Mulhsu,
                (1, 3) => Op::Mulhu,
                (1, 4) => Op::Div,
                (1, 5) => Op::Divu,
                (1, 6) => Op::Rem,
                (1, 7) => Op::Remu,
                _ => return None,
            };
            mk(op, rd, rs1, rs2, 0, false)
        }
        // FENCE and FENCE.I order memory on multi-hart machines; one hart makes them no-ops.
        0x0f => mk(Op::Fence, 0, 0, 0, 0, false),
        // The syscall number (a7) and first argument (a0) are the two register operands; a0 is
        // also where READ_INPUT returns its word.
        0x73 if word == 0x0000_0073 => mk(Op::Ecall, 10, 17, 10, 0, false),
        _ => None,
    }
}

/// Computes an ALU operation exactly as RV32IM defines it.
pub fn alu(op: Op, a: u32, b: u32) -> u32 {
    match op {
        Op::Add => a.wrapping_add(b),
        Op::Sub => a.wrapping_sub(b),
        Op::Xor => a ^ b,
        Op::Or => a | b,
        Op::And => a & b,
        Op::Slt => u32::from((a as i32) < (b as i32)),
        Op::Sltu => u32::from(a < b),
        Op::Sll => a << (b & 31),
        Op::Srl => a >> (b & 31),
        Op::Sra => ((a as i32) >> (b & 31)) as u32,
        Op::Mul => a.wrapping_mul(b),
        Op::Mulh => ((i64::from(a as i32) * i64::from(b as i32)) >> 32) as u32,
        Op::Mulhsu => ((i64::from(a as i32) * i64::from(b)) >> 32) as u32,
        Op::Mulhu => ((u64::from(a) * u64::from(b)) >> 32) as u32,
        Op::Div => {
            if b == 0 {
                u32::MAX
            } else {
                (a as i32).wrapping_div(b as i32) as u32
            }
        }
        Op::Divu => a.checked_div(b).unwrap_or(u32::MAX),
        Op::Rem => {
            if b == 0 {
                a
            } else {
                (a as i32).wrapping_rem(b as i32) as u32
            }
        }
        Op::Remu => {
            if b == 0 {
                a
            } else {
                a % b
            }
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_addi_and_rejects_garbage() {
        // addi a0, zero, -1
        let i = decode(0xfff0_0513).expect("addi");
        assert_eq!((i.op, i.rd, i.rs1, i.imm, i.use_imm), (Op::Add, 10, 0, u32::MAX, true));
        assert!(decode(0).is_none());
        assert!(decode(0xffff_ffff).is_none());
    }

    #[test]
    fn division_edge_cases_follow_the_spec() {
        assert_eq!(alu(Op::Div, 7, 0), u32::MAX);
        assert_eq!(alu(Op::Rem, 7, 0), 7);
        assert_eq!(alu(Op::Div, 0x8000_0000, u32::MAX), 0x8000_0000);
        assert_eq!(alu(Op::Rem, 0x8000_0000, u32::MAX), 0);
        assert_eq!(alu(Op::Divu, 7, 0), u32::MAX);
        assert_eq!(alu(Op::Remu, 7, 0), 7);
    }
}
