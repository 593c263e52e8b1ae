//! The RV32IM emulator: executes a [`Program`] and reports every step to an observer.

use crate::elf::Program;
use crate::isa::{Instr, Op, alu};

/// Syscall numbers, selected by register `a7` on `ecall`.
///
/// `HALT` and `DEBUG_WRITE` reuse Linux's `exit` and `write` numbers so a test program behaves the
/// same under `qemu-riscv32` and under this VM, which the conformance tests rely on.
pub mod syscall {
    /// Stop with exit code `a0`.
    pub const HALT: u32 = 93;
    /// Append `a2` bytes at address `a1` to the debug tape; not part of the proof.
    pub const DEBUG_WRITE: u32 = 64;
    /// `a0 = input_tape[a0]`.
    pub const READ_INPUT: u32 = 0x100;
    /// `output_tape[a0] = a1`; each index is written exactly once.
    pub const WRITE_OUTPUT: u32 = 0x101;
}

/// Register numbers the syscall ABI uses.
pub const REG_A0: u8 = 10;
/// Second argument register.
pub const REG_A1: u8 = 11;
/// Third argument register.
pub const REG_A2: u8 = 12;
/// Syscall number register.
pub const REG_A7: u8 = 17;

/// Largest output tape index a guest may write; keeps a hostile guest from exhausting memory.
pub const MAX_OUTPUT_WORDS: u32 = 1 << 20;

/// Why execution stopped abnormally.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum Trap {
    /// `pc` is not the address of a legal RV32IM instruction in the program's code.
    #[error("illegal instruction at pc {pc:#x}")]
    IllegalInstruction {
        /// Faulting program counter.
        pc: u32,
    },
    /// A jump or branch targeted an address that is not 4-byte aligned.
    #[error("misaligned instruction fetch at pc {pc:#x} (target {target:#x})")]
    MisalignedFetch {
        /// Address of the jump or branch.
        pc: u32,
        /// The misaligned target.
        target: u32,
    },
    /// A halfword or word access at an address not aligned to its size.
    #[error("misaligned memory access at pc {pc:#x} (address {addr:#x})")]
    MisalignedAccess {
        /// Faulting program counter.
        pc: u32,
        /// The misaligned data address.
        addr: u32,
    },
    /// `ecall` with an unknown syscall number.
    #[error("unknown syscall {number} at pc {pc:#x}")]
    UnknownSyscall {
        /// Faulting program counter.
        pc: u32,
        /// The value of `a7`.
        number: u32,
    },
    /// The guest read past the end of its input tape.
    #[error("input tape index {index} out of range (tape has {len} words)")]
    InputOutOfRange {
        /// The requested index.
        index: u32,
        /// Number of words on the tape.
        len: u32,
    },
    /// The guest wrote an output tape index twice or beyond the limit.
    #[error("output tape index {index} written twice or out of range")]
    BadOutputWrite {
        /// The offending index.
        index: u32,
    },
    /// The program did not halt within the cycle limit.
    #[error("cycle limit of {0} reached")]
    CycleLimit(u64),
    /// The guest halted with an output tape that is not a length-prefixed byte string.
    #[error("malformed output tape (expected a byte-length word followed by the data words)")]
    MalformedOutput,
}

/// Memory access made by one step (at most one per instruction).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemAccess {
    /// Word-aligned byte address.
    pub addr: u32,
    /// Word before the access.
    pub before: u32,
    /// Word after the access (equal to `before` for loads).
    pub after: u32,
}

/// Everything one executed instruction did, as the trace generator needs it.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// Program counter of the instruction.
    pub pc: u32,
    /// The decoded instruction.
    pub instr: Instr,
    /// Value of `rs1` read (0 when unused).
    pub rs1_val: u32,
    /// Value of `rs2` read (0 when unused).
    pub rs2_val: u32,
    /// Value written to `rd` (only meaningful when `rd != 0` and the op writes a register).
    pub rd_val: u32,
    /// The data memory access, if any.
    pub mem: Option<MemAccess>,
    /// Program counter after the instruction.
    pub next_pc: u32,
    /// For `ecall`: the syscall number (`a7`) it executed.
    pub syscall: Option<u32>,
}

const PAGE_WORDS: usize = 1024;
const PAGE_SHIFT: u32 = 12;

/// Word-addressed sparse memory covering the 32-bit address space.
#[derive(Clone)]
pub struct Memory {
    pages: Vec<Option<Box<[u32; PAGE_WORDS]>>>,
}

impl Default for Memory {
    fn default() -> Self {
        Memory { pages: vec![None; 1 << (32 - PAGE_SHIFT)] }
    }
}

impl Memory {
    /// Reads the word at a word-aligned byte address.
    #[inline]
    pub fn load_word(&self, addr: u32) -> u32 {
        match &self.pages[(addr >> PAGE_SHIFT) as usize] {
            Some(page) => page[((addr >> 2) as usize) & (PAGE_WORDS - 1)],
            None => 0,
        }
    }

    /// Writes the word at a word-aligned byte address.
    #[inline]
    pub fn store_word(&mut self, addr: u32, value: u32) {
        let page = self.pages[(addr >> PAGE_SHIFT) as usize].get_or_insert_with(|| Box::new([0; PAGE_WORDS]));
        page[((addr >> 2) as usize) & (PAGE_WORDS - 1)] = value;
    }

    /// Reads one byte.
    pub fn load_byte(&self, addr: u32) -> u8 {
        (self.load_word(addr & !3) >> (8 * (addr & 3))) as u8
    }
}

/// The machine state of a running guest.
#[derive(Clone)]
pub struct Machine<'p> {
    /// The program being run.
    pub program: &'p Program,
    /// Registers `x0..x31`; `x0` stays zero.
    pub regs: [u32; 32],
    /// Program counter.
    pub pc: u32,
    /// Data memory.
    pub mem: Memory,
    /// Words the guest can read with `READ_INPUT`.
    pub input: Vec<u32>,
    /// Words written with `WRITE_OUTPUT` (`None` where not yet written).
    pub output: Vec<Option<u32>>,
    /// Bytes written with `DEBUG_WRITE`.
    pub debug: Vec<u8>,
    /// Instructions executed so far.
    pub cycles: u64,
    /// Exit code once halted.
    pub exit_code: Option<u32>,
}

/// Encodes a byte string as a tape: its length in bytes, then the bytes as little-endian words.
pub fn bytes_to_tape(bytes: &[u8]) -> Vec<u32> {
    let mut tape = Vec::with_capacity(1 + bytes.len().div_ceil(4));
    tape.push(bytes.len() as u32);
    tape.extend(bytes.chunks(4).map(|c| {
        let mut w = [0u8; 4];
        w[..c.len()].copy_from_slice(c);
        u32::from_le_bytes(w)
    }));
    tape
}

/// Decodes a tape produced by [`bytes_to_tape`]; `None` unless it is exactly such an encoding.
pub fn tape_to_bytes(tape: &[u32]) -> Option<Vec<u8>> {
    let (&len, words) = tape.split_first()?;
    if words.len() != (len as usize).div_ceil(4) {
        return None;
    }
    let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    if bytes[len as usize..].iter().any(|&b| b != 0) {
        return None;
    }
    bytes.truncate(len as usize);
    Some(bytes)
}

impl<'p> Machine<'p> {
    /// A machine at the program's entry point with its initial image loaded and all registers zero.
    pub fn new(program: &'p Program, input: &[u8]) -> Self {
        let mut mem = Memory::default();
        for (&addr, &word) in &program.image {
            mem.store_word(addr, word);
        }
        Machine {
            program,
            regs: [0; 32],
            pc: program.entry,
            mem,
            input: bytes_to_tape(input),
            output: Vec::new(),
            debug: Vec::new(),
            cycles: 0,
            exit_code: None,
        }
    }

    /// The output tape, if every index up to its end was written.
    pub fn output_tape(&self) -> Option<Vec<u32>> {
        self.output.iter().copied().collect()
    }

    /// Runs until halt, a trap, or `max_cycles` total cycles, reporting each step to `observe`.
    pub fn run(&mut self, max_cycles: u64, mut observe: impl FnMut(&Step)) -> Result<(), Trap> {
        while self.exit_code.is_none() {
            if self.cycles >= max_cycles {
                return Err(Trap::CycleLimit(max_cycles));
            }
            let step = self.step()?;
            observe(&step);
        }
        Ok(())
    }

    /// Executes one instruction.
    #[inline]
    pub fn step(&mut self) -> Result<Step, Trap> {
        let pc = self.pc;
        let instr = self.program.fetch(pc).ok_or(Trap::IllegalInstruction { pc })?;
        let rs1_val = self.regs[usize::from(instr.rs1)];
        let rs2_val = self.regs[usize::from(instr.rs2)];
        let b = if instr.use_imm { instr.imm } else { rs2_val };
        let mut next_pc = pc.wrapping_add(4);
        let mut rd_val = 0;
        let mut mem = None;
        let mut syscall_no = None;
        match instr.op {
            op if op.is_alu() => rd_val = alu(op, rs1_val, b),
            Op::Lui => rd_val = instr.imm,
            Op::Auipc => rd_val = pc.wrapping_add(instr.imm),
            Op::Jal => {
                rd_val = next_pc;
                next_pc = pc.wrapping_add(instr.imm);
            }
            Op::Jalr => {
                rd_val = next_pc;
                next_pc = rs1_val.wrapping_add(instr.imm) & !1;
            }
            op if op.is_branch() => {
                let taken = match op {
                    Op::Beq => rs1_val == rs2_val,
                    Op::Bne => rs1_val != rs2_val,
                    Op::Blt => (rs1_val as i32) < (rs2_val as i32),
                    Op::Bge => (rs1_val as i32) >= (rs2_val as i32),
                    Op::Bltu => rs1_val < rs2_val,
                    _ => rs1_val >= rs2_val,
                };
                if taken {
                    next_pc = pc.wrapping_add(instr.imm);
                }
            }
            op if op.is_load() => {
                let addr = rs1_val.wrapping_add(instr.imm);
                let size = match op {
                    Op::Lw => 4,
                    Op::Lh | Op::Lhu => 2,
                    _ => 1,
                };
                if addr % size != 0 {
                    return Err(Trap::MisalignedAccess { pc, addr });
                }
                let word = self.mem.load_word(addr & !3);
                let shifted = word >> (8 * (addr & 3));
                rd_val = match op {
                    Op::Lw => word,
                    Op::Lh => shifted as u16 as i16 as i32 as u32,
                    Op::Lhu => shifted as u16 as u32,
                    Op::Lb => shifted as u8 as i8 as i32 as u32,
                    _ => shifted as u8 as u32,
                };
                mem = Some(MemAccess { addr: addr & !3, before: word, after: word });
            }
            op if op.is_store() => {
                let addr = rs1_val.wrapping_add(instr.imm);
                let (size, mask) = match op {
                    Op::Sw => (4, u32::MAX),
                    Op::Sh => (2, 0xffff),
                    _ => (1, 0xff),
                };
                if addr % size != 0 {
                    return Err(Trap::MisalignedAccess { pc, addr });
                }
                let shift = 8 * (addr & 3);
                let before = self.mem.load_word(addr & !3);
                let after = (before & !(mask << shift)) | ((rs2_val & mask) << shift);
                self.mem.store_word(addr & !3, after);
                mem = Some(MemAccess { addr: addr & !3, before, after });
            }
            Op::Ecall => {
                let number = self.regs[usize::from(REG_A7)];
                let a0 = self.regs[usize::from(REG_A0)];
                let a1 = self.regs[usize::from(REG_A1)];
                syscall_no = Some(number);
                match number {
                    syscall::HALT => self.exit_code = Some(a0),
                    syscall::DEBUG_WRITE => {
                        let len = self.regs[usize::from(REG_A2)];
                        for k in 0..len {
                            let byte = self.mem.load_byte(a1.wrapping_add(k));
                            self.debug.push(byte);
                        }
                    }
                    syscall::READ_INPUT => {
                        let len = self.input.len() as u32;
                        rd_val =
                            *self.input.get(a0 as usize).ok_or(Trap::InputOutOfRange { index: a0, len })?;
                    }
                    syscall::WRITE_OUTPUT => {
                        if a0 >= MAX_OUTPUT_WORDS {
                            return Err(Trap::BadOutputWrite { index: a0 });
                        }
                        let index = a0 as usize;
                        if self.output.len() <= index {
                            self.output.resize(index + 1, None);
                        }
                        if self.output[index].replace(a1).is_some() {
                            return Err(Trap::BadOutputWrite { index: a0 });
                        }
                    }
                    number => return Err(Trap::UnknownSyscall { pc, number }),
                }
            }
            _ => {} // fence
        }
        if !next_pc.is_multiple_of(4) {
            return Err(Trap::MisalignedFetch { pc, target: next_pc });
        }
        let writes_rd = instr.rd != 0 && writes_register(instr.op, syscall_no);
        if writes_rd {
            self.regs[usize::from(instr.rd)] = rd_val;
        } else {
            rd_val = 0;
        }
        self.pc = next_pc;
        self.cycles += 1;
        Ok(Step { pc, instr, rs1_val, rs2_val, rd_val, mem, next_pc, syscall: syscall_no })
    }
}

/// Whether an instruction writes its `rd` (before the `rd != 0` check).
pub fn writes_register(op: Op, syscall: Option<u32>) -> bool {
    match op {
        Op::Ecall => syscall == Some(syscall::READ_INPUT),
        op => !op.is_branch() && !op.is_store() && op != Op::Fence,
    }
}

/// Result of running a guest to completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    /// Bytes the guest committed as its public output.
    pub output: Vec<u8>,
    /// Exit code passed to `HALT`.
    pub exit_code: u32,
    /// Instructions executed.
    pub cycles: u64,
    /// Bytes printed to the debug tape (not proven).
    pub debug: Vec<u8>,
}

/// Runs `program` on `input` to completion.
pub fn run_program(program: &Program, input: &[u8], max_cycles: u64) -> Result<Execution, Trap> {
    let mut m = Machine::new(program, input);
    m.run(max_cycles, |_| {})?;
    finish(&m)
}

/// Extracts the [`Execution`] summary of a halted machine.
pub fn finish(m: &Machine<'_>) -> Result<Execution, Trap> {
    let tape = m.output_tape().ok_or(Trap::MalformedOutput)?;
    let output = tape_to_bytes(&tape).ok_or(Trap::MalformedOutput)?;
    Ok(Execution { output, exit_code: m.exit_code.unwrap_or(0), cycles: m.cycles, debug: m.debug.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tapes_round_trip_and_reject_bad_encodings() {
        for len in 0..10 {
            let bytes: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(37) | 1).collect();
            assert_eq!(tape_to_bytes(&bytes_to_tape(&bytes)), Some(bytes));
        }
        assert_eq!(tape_to_bytes(&[]), None);
        assert_eq!(tape_to_bytes(&[5, 1]), None);
        assert_eq!(tape_to_bytes(&[1, 0x100]), None);
    }
}
