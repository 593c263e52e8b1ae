//! Trace generation: runs the emulator segment by segment and fills every table, plus the
//! preprocessed tables the verifier rebuilds from public data (program, input, the segment's
//! boundary state, outputs and exit code).

use std::collections::BTreeMap;
use std::sync::Arc;

use p3_field::{Field, PrimeCharacteristicRing, PrimeField32};
use p3_matrix::dense::RowMajorMatrix;

use super::air::{
    DECODED, JALR_BIT, REG_BASE, SINK, SLTU, Table, boundary, boundary_main, branch, cpu, cpu_pv, f, io,
    op_tag, pack_flags, range, reg_addr, rom, rom_message, subword, write_slot,
};
use super::alu::AluTrace;
use super::config::Val;
use super::subword::subword_row;
use crate::elf::Program;
use crate::emu::{Machine, Memory, Step, Trap, bytes_to_tape, tape_to_bytes};
use crate::isa::{Instr, Op};

/// Smallest table height: tiny tables gain nothing below it, and FRI can stop at a final
/// polynomial shorter than every table (see `config::PARAMS`).
pub const MIN_HEIGHT: usize = 64;

/// Height of a table with `n` used rows.
pub fn height(n: usize) -> usize {
    n.next_power_of_two().max(MIN_HEIGHT)
}

/// Why a trace could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The guest trapped.
    #[error(transparent)]
    Trap(#[from] Trap),
    /// A data address at or above 2^31 (the proven address space is the lower 2 GiB).
    #[error("data address {0:#x} outside the proven address space")]
    AddressOutOfRange(u32),
}

fn split(v: u32) -> (Val, Val) {
    (f(v & 0xffff), f(v >> 16))
}

/// The decoded fields (`DECODED` columns of a CPU row) of the instruction at `pc`.
fn decode_row(pc: u32, i: &Instr) -> [Val; cpu::WIDTH] {
    let mut r = [Val::ZERO; cpu::WIDTH];
    r[cpu::pc] = f(pc);
    r[cpu::real] = Val::ONE;
    let reg = |r: u8| f(reg_addr(r));
    r[cpu::reg1] = reg(i.rs1);
    if !i.op.is_load() {
        r[cpu::reg2] = reg(i.rs2);
    }
    // Writes to x0 go to the sink; a branch's `reg3` holds its `neg` flag (below).
    if !i.op.is_store() {
        r[cpu::reg3] = reg(write_slot(i.rd));
    }
    // The CPU adds `imm + rs2` as the second operand (`imm` alone for stores): the decoder
    // reads x0 as rs2 where the immediate is the operand, and the ROM leaves `imm` zero where
    // rs2 is.
    debug_assert!(i.op.is_store() || !i.use_imm || i.rs2 == 0);
    let set_imm = |r: &mut [Val; cpu::WIDTH]| (r[cpu::imm_lo], r[cpu::imm_hi]) = split(i.imm);
    match i.op {
        op if op.is_alu() => {
            r[cpu::f_alu] = Val::ONE;
            r[SLTU] = Val::from_bool(op == Op::Sltu);
            if i.use_imm {
                set_imm(&mut r);
            }
        }
        Op::Lui | Op::Auipc => {
            let k = if i.op == Op::Lui { i.imm } else { pc.wrapping_add(i.imm) };
            (r[cpu::k_lo], r[cpu::k_hi]) = split(k);
        }
        Op::Jal => {
            r[cpu::f_jal] = Val::ONE;
            (r[cpu::k_lo], r[cpu::k_hi]) = split(pc.wrapping_add(4));
            r[cpu::imm_lo] = f(pc.wrapping_add(i.imm));
        }
        Op::Jalr => {
            r[cpu::f_jalr] = Val::ONE;
            set_imm(&mut r);
            (r[cpu::k_lo], r[cpu::k_hi]) = split(pc.wrapping_add(4));
        }
        op if op.is_branch() => {
            r[cpu::f_branch] = Val::ONE;
            r[branch::eqtype] = Val::from_bool(matches!(op, Op::Beq | Op::Bne));
            r[branch::neg] = Val::from_bool(matches!(op, Op::Bne | Op::Bge | Op::Bgeu));
            r[cpu::k_lo] = f(pc.wrapping_add(i.imm));
        }
        op if op.is_load() || op.is_store() => {
            r[cpu::f_load] = Val::from_bool(op.is_load());
            r[cpu::f_store] = Val::from_bool(op.is_store());
            set_imm(&mut r);
            if !matches!(op, Op::Lw | Op::Sw) {
                r[if op.is_load() { cpu::sub_load } else { cpu::sub_store }] = Val::ONE;
                r[cpu::op] = f(op as u32);
            }
        }
        Op::Ecall => {
            r[cpu::f_ecall] = Val::ONE;
        }
        // FENCE, the one op left: a constant (no class flag, `air::f_const`) that writes
        // nothing, so it falls through to pc + 4 and touches nothing.
        _ => {}
    }
    let call = alu_call(i.op);
    if r[cpu::sub_load] == Val::ZERO && r[cpu::sub_store] == Val::ZERO {
        r[cpu::op] = call.map_or(Val::ZERO, |op| f(op as u32));
    }
    // The ADD and SUB calls the CPU does itself rather than through the `op` bus.
    r[cpu::op_add] = Val::from_bool(call == Some(Op::Add));
    r[cpu::op_sub] = Val::from_bool(call == Some(Op::Sub));
    r[cpu::flags] = pack_flags(|c| r[c]);
    r
}

/// The ALU operation an instruction needs: its own (ALU instructions), the address sum (JALR,
/// loads, stores) or the comparison (branches). Unsigned comparisons are the borrow of a SUB
/// (see [`uses_borrow`]).
fn alu_call(op: Op) -> Option<Op> {
    match op {
        op if uses_borrow(op) => Some(Op::Sub),
        op if op.is_alu() => Some(op),
        op if op == Op::Jalr || op.is_load() || op.is_store() => Some(Op::Add),
        Op::Beq | Op::Bne => Some(Op::Sub),
        Op::Blt | Op::Bge => Some(Op::Slt),
        _ => None,
    }
}

/// Whether the instruction's result (SLTU, SLTIU) or branch condition (BLTU, BGEU) is the
/// borrow of `a - b`, which the CPU's own SUB has as its top carry.
fn uses_borrow(op: Op) -> bool {
    matches!(op, Op::Sltu | Op::Bltu | Op::Bgeu)
}

/// Width of an instruction's decoded fields.
const DECODED_WIDTH: usize = cpu::flags - cpu::pc + 1;

/// The program's instructions decoded once: the ROM table and the CPU's decoded fields.
pub struct Rom {
    /// The ROM preprocessed table, one row per instruction.
    pub table: RowMajorMatrix<Val>,
    /// Each ROM row's decoded fields (the CPU's `DECODED` columns), row after row.
    decoded: Vec<Val>,
    /// ROM row of each code index (`None` where the word does not decode).
    index: Vec<Option<usize>>,
}

impl Rom {
    /// Decodes `program`.
    pub fn new(program: &Program) -> Self {
        let mut rows = Vec::new();
        let mut decoded = Vec::new();
        let mut index = vec![None; program.code.len()];
        for (k, instr) in program.code.iter().enumerate() {
            let pc = program.code_base + 4 * k as u32;
            if let Some(i) = instr {
                let row = decode_row(pc, i);
                index[k] = Some(decoded.len() / DECODED_WIDTH);
                rows.extend(rom_message(|c| row[c]));
                decoded.extend_from_slice(&row[DECODED]);
            }
        }
        let h = height(rows.len() / rom::WIDTH);
        rows.resize(h * rom::WIDTH, Val::ZERO);
        Rom { table: RowMajorMatrix::new(rows, rom::WIDTH), decoded, index }
    }

    /// The decoded fields of ROM row `row`.
    fn decoded(&self, row: usize) -> &[Val] {
        &self.decoded[row * DECODED_WIDTH..(row + 1) * DECODED_WIDTH]
    }
}

/// One address a segment touches, with its value at the segment's start and end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateRow {
    /// Memory-argument address (data word address, or `REG_BASE + r`).
    pub addr: u32,
    /// Value when the segment starts.
    pub init: u32,
    /// Value when the segment ends.
    pub fin: u32,
}

/// The public facts of one segment, from which its preprocessed tables and public values are
/// built: the prover takes them from the execution, the verifier rebuilds them from the proof's
/// boundary data and the memory state chained through the previous segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentFacts {
    /// pc of the segment's first instruction.
    pub start_pc: u32,
    /// pc after the segment's last instruction (0 for the last segment, which halts).
    pub end_pc: u32,
    /// The exit code, in the last segment only.
    pub exit_code: Option<u32>,
    /// Output tape `(index, word)` written in this segment, by increasing index.
    pub outputs: Vec<(u32, u32)>,
    /// Every address the segment touches, by increasing address.
    pub state: Vec<StateRow>,
}

impl SegmentFacts {
    /// The CPU table's public values (see `air::cpu_pv`).
    pub fn public_values(&self) -> Vec<Val> {
        let mut pv = vec![Val::ZERO; cpu_pv::COUNT];
        pv[cpu_pv::START_PC] = f(self.start_pc);
        pv[cpu_pv::END_PC] = f(self.end_pc);
        pv[cpu_pv::IS_LAST] = Val::from_bool(self.exit_code.is_some());
        pv
    }
}

/// The boundary preprocessed table: one row per touched address.
pub fn boundary_table(state: &[StateRow]) -> RowMajorMatrix<Val> {
    let mut rows = Vec::with_capacity(height(state.len()) * boundary::WIDTH);
    for r in state {
        let (init_lo, init_hi) = split(r.init);
        let (fin_lo, fin_hi) = split(r.fin);
        rows.extend_from_slice(&[f(r.addr), init_lo, init_hi, fin_lo, fin_hi, Val::ONE]);
    }
    rows.resize(height(state.len()) * boundary::WIDTH, Val::ZERO);
    RowMajorMatrix::new(rows, boundary::WIDTH)
}

/// The public I/O table of a segment: input words (any multiplicity), the output words the
/// segment writes and, in the last segment, the exit code (each exactly once).
pub fn io_table(input_tape: &[u32], outputs: &[(u32, u32)], exit_code: Option<u32>) -> RowMajorMatrix<Val> {
    let mut rows = Vec::new();
    let mut push = |kind: u32, idx: u32, v: u32, free: bool| {
        let (ilo, ihi) = split(idx);
        let (lo, hi) = split(v);
        rows.extend_from_slice(&[f(kind), ilo, ihi, lo, hi, Val::from_bool(free), Val::from_bool(!free)]);
    };
    for (k, &w) in input_tape.iter().enumerate() {
        push(op_tag::INPUT, k as u32, w, true);
    }
    for &(k, w) in outputs {
        push(op_tag::OUTPUT, k, w, false);
    }
    if let Some(code) = exit_code {
        push(op_tag::EXIT, code, code, false);
    }
    let h = height(rows.len() / io::WIDTH);
    rows.resize(h * io::WIDTH, Val::ZERO);
    RowMajorMatrix::new(rows, io::WIDTH)
}

/// Preprocessed matrices for `tables` of a segment (`None` for tables without).
pub fn preprocessed(
    program: &Program,
    input_tape: &[u32],
    facts: &SegmentFacts,
    tables: &[Table],
) -> Vec<Option<Arc<RowMajorMatrix<Val>>>> {
    tables
        .iter()
        .map(|t| match t {
            Table::Rom => Some(Arc::new(Rom::new(program).table)),
            Table::Boundary => Some(Arc::new(boundary_table(&facts.state))),
            Table::Io => Some(Arc::new(io_table(input_tape, &facts.outputs, facts.exit_code))),
            _ => None,
        })
        .collect()
}

/// Counts range-table lookups (per bus) so the range table's multiplicities match.
pub(crate) struct RangeCount {
    m16: Vec<u32>,
    mpair: Vec<u32>,
    mbit: Vec<u32>,
    mword: Vec<u32>,
    mlimb: Vec<u32>,
}

impl RangeCount {
    fn new() -> Self {
        let counts = || vec![0; 1 << 16];
        RangeCount { m16: counts(), mpair: counts(), mbit: counts(), mword: counts(), mlimb: counts() }
    }
    /// `r16(v)`.
    pub fn r16(&mut self, v: u32) {
        self.m16[v as usize] += 1;
    }
    /// `pair(hi, lo)`.
    pub fn pair(&mut self, hi: u32, lo: u32) {
        self.mpair[(hi << 8 | lo) as usize] += 1;
    }
    /// An `op` request checking the low part of a word address (below 2^14).
    pub fn word(&mut self, v: u32) {
        self.mword[v as usize] += 1;
    }
    /// An `op` request checking the low limb of the CPU's own ADD/SUB result.
    pub fn limb(&mut self, v: u32) {
        self.mlimb[v as usize] += 1;
    }
    /// `byte(a, b, a & b, a ^ b)`.
    pub fn byte(&mut self, a: u32, b: u32) {
        self.mbit[(a << 8 | b) as usize] += 1;
    }
    /// The two `r16` lookups splitting off the sign bit of a 16-bit limb.
    pub fn sign16(&mut self, x: u32) {
        let rest = x & 0x7fff;
        self.r16(rest);
        self.r16(rest + (1 << 15));
    }
    /// The `pair` lookup splitting off the sign bit of a byte.
    pub fn sign8(&mut self, x: u32) {
        let rest = x & 0x7f;
        self.pair(rest, rest + (1 << 7));
    }
}

/// The main traces of one segment, plus its public facts.
#[derive(Clone)]
pub struct Witness {
    /// The tables the segment uses (see [`Table::is_optional`]), in [`Table::ALL`] order.
    pub tables: Vec<Table>,
    /// Main trace per table of `tables`.
    pub traces: Vec<RowMajorMatrix<Val>>,
    /// Input tape.
    pub input_tape: Vec<u32>,
    /// The segment's public facts.
    pub facts: SegmentFacts,
    /// Cycles executed in this segment.
    pub cycles: u64,
}

/// The CPU's own ADD or SUB of `a` and `b`: fills the carries and counts the result's range
/// checks (for a load or store address, `c_hi < 2^15`: the address is below 2^31).
fn own_add_sub(
    row: &mut [Val],
    op: Op,
    a: u32,
    b: u32,
    address: bool,
    rc: &mut RangeCount,
) -> Result<u32, TraceError> {
    let out = crate::isa::alu(op, a, b);
    if address && out >= 1 << 31 {
        return Err(TraceError::AddressOutOfRange(out));
    }
    // Both are a sum `x + b = y + 2^32·k1`: x = a for ADD, x = out for SUB.
    let x = if op == Op::Add { a } else { out };
    let lo = (x & 0xffff) + (b & 0xffff);
    let hi = (x >> 16) + (b >> 16) + (lo >> 16);
    row[cpu::k0] = f(lo >> 16);
    row[cpu::k1] = f(hi >> 16);
    // An address's low limb is bounded by its word address's check (see the CPU AIR).
    if !address {
        rc.limb(out & 0xffff);
    }
    rc.r16((out >> 16) + (u32::from(address) << 15));
    Ok(out)
}

/// Register slots of the memory argument: x0..x31 and the sink.
const SLOTS: usize = SINK as usize + 1;

/// Timestamp and value bookkeeping for one segment's memory argument.
struct MemState {
    ts: Memory,
    reg_ts: [u32; SLOTS],
    regs: [u32; SLOTS],
    /// Touched addresses and their values when the segment started.
    touched: BTreeMap<u32, u32>,
}

impl MemState {
    /// Records an access to a register at `now`; returns the previous timestamp.
    fn reg(&mut self, r: u8, now: u32) -> u32 {
        self.touched.entry(reg_addr(r)).or_insert(self.regs[usize::from(r)]);
        std::mem::replace(&mut self.reg_ts[usize::from(r)], now)
    }
    /// Records an access to data word `waddr` (holding `before`) at `now`; returns the previous
    /// timestamp.
    fn word(&mut self, waddr: u32, before: u32, now: u32) -> u32 {
        self.touched.entry(waddr).or_insert(before);
        let prev = self.ts.load_word(waddr << 2);
        self.ts.store_word(waddr << 2, now);
        prev
    }
}

/// Fills the timestamp gap columns of one access and counts its 16-bit range check (the high
/// bytes of the gaps are checked in pairs, see [`gap_pairs`]).
fn access(row: &mut [Val], cols: (usize, usize), prev: u32, now: u32, rc: &mut RangeCount) {
    let d = now - prev - 1;
    row[cols.0] = f(d & 0xffff);
    row[cols.1] = f(d >> 16);
    rc.r16(d & 0xffff);
}

/// Counts the two `pair` lookups that check the gaps' high bytes of a real row (zero for an
/// access the instruction does not make).
fn gap_pairs(row: &[Val], rc: &mut RangeCount) {
    let byte = |c: usize| row[c].as_canonical_u32();
    rc.pair(byte(cpu::d1_hi), byte(cpu::d2_hi));
    rc.pair(0, byte(cpu::d3_hi));
}

/// Tails at least this tall (2^18 rows) are worth splitting: below it, a segment's fixed cost
/// (the 2^16-row range table, the ROM, FRI's queries) eats what the split saves.
pub const MIN_LOG_TAIL_SPLIT: usize = 18;

/// The segment lengths for a run of `cycles`: segments of `2^log_segment`, then the rest.
/// Every table is padded to a power of two, so a rest of `r` cycles costs `next_pow2(r)` rows;
/// while that is at least `2^min_log_split` and `r` fills at most three quarters of it, the
/// rest is cut into a half-height segment and a smaller one (keccak's 345k cycles: 2^18 +
/// 2^17 rows instead of 2^19). Every length is a power of two, so non-final segments fill
/// their CPU table exactly; the last one ends at the HALT.
pub fn segment_plan(cycles: u64, log_segment: usize, min_log_split: usize) -> Vec<usize> {
    let full = 1u64 << log_segment;
    let mut plan = vec![full as usize; (cycles.max(1) - 1).div_euclid(full) as usize];
    let mut rest = cycles - plan.len() as u64 * full;
    loop {
        let padded = rest.max(1).next_power_of_two();
        if padded >= 1 << min_log_split && 4 * rest <= 3 * padded {
            plan.push(padded as usize / 2);
            rest -= padded / 2;
        } else {
            plan.push(padded as usize);
            return plan;
        }
    }
}

/// Runs `program` in segments of the lengths `plan` gives (powers of two; the last one repeats)
/// and hands each segment's traces to `each` as soon as they are complete, so only one segment
/// is in memory at a time.
pub fn for_each_segment<E: From<TraceError>>(
    program: &Program,
    input: &[u8],
    plan: &[usize],
    max_cycles: u64,
    mut each: impl FnMut(Witness) -> Result<(), E>,
) -> Result<(), E> {
    assert!(plan.iter().all(|n| n.is_power_of_two()), "segment lengths are powers of two");
    let input_tape = bytes_to_tape(input);
    let rom = Rom::new(program);
    let mut machine = Machine::new(program, input);
    // The sink's value (see `air::SINK`) carries over from segment to segment like a register's.
    let mut sink = 0;
    for k in 0.. {
        let len = plan[k.min(plan.len() - 1)];
        let start_pc = machine.pc;
        let mut start_regs = [sink; SLOTS];
        start_regs[..32].copy_from_slice(&machine.regs);
        // A fresh log per segment, dropped before the segment is handed on: kept, it would sit
        // in memory (≈ 60 MB per 2^20 steps) while the segment is proven.
        let mut steps: Vec<Step> = Vec::new();
        while steps.len() < len && machine.exit_code.is_none() {
            if machine.cycles >= max_cycles {
                return Err(TraceError::from(Trap::CycleLimit(max_cycles)).into());
            }
            steps.push(machine.step().map_err(TraceError::from)?);
        }
        let last = machine.exit_code.is_some();
        let witness = segment(program, &rom, &input_tape, &machine, start_pc, start_regs, &steps)?;
        drop(steps);
        sink = witness.facts.state.iter().find(|r| r.addr == reg_addr(SINK)).map_or(sink, |r| r.fin);
        each(witness)?;
        if last {
            break;
        }
    }
    Ok(())
}

/// Runs `program` and generates every segment's traces.
pub fn generate(
    program: &Program,
    input: &[u8],
    log_segment: usize,
    max_cycles: u64,
) -> Result<Vec<Witness>, TraceError> {
    let mut out = Vec::new();
    for_each_segment(program, input, &[1 << log_segment], max_cycles, |w| {
        out.push(w);
        Ok::<(), TraceError>(())
    })?;
    Ok(out)
}

/// Generates the traces of the segment that executed `steps`, `machine` being the state after it.
fn segment(
    program: &Program,
    rom: &Rom,
    input_tape: &[u32],
    machine: &Machine<'_>,
    start_pc: u32,
    start_regs: [u32; SLOTS],
    steps: &[Step],
) -> Result<Witness, TraceError> {
    let last = machine.exit_code.is_some();
    if last {
        let tape = machine.output_tape().ok_or(Trap::MalformedOutput)?;
        tape_to_bytes(&tape).ok_or(Trap::MalformedOutput)?;
    }
    let mut rom_mult = vec![0u32; rom.index.iter().flatten().count()];
    let mut rc = RangeCount::new();
    let mut ms =
        MemState { ts: Memory::default(), reg_ts: [0; SLOTS], regs: start_regs, touched: BTreeMap::new() };
    let mut input_reads = vec![0u32; input_tape.len()];
    let mut outputs = Vec::new();
    let mut alu = AluTrace::default();
    let mut sub_rows: Vec<Val> = Vec::new();

    let n = steps.len();
    let h = height(n);
    let mut cpu_vals = Val::zero_vec(h * cpu::WIDTH);
    for (clk, s) in steps.iter().enumerate() {
        let row = &mut cpu_vals[clk * cpu::WIDTH..(clk + 1) * cpu::WIDTH];
        let code_idx = ((s.pc - program.code_base) / 4) as usize;
        let rom_row_idx = rom.index[code_idx].expect("executed instructions decode");
        rom_mult[rom_row_idx] += 1;
        let decoded = rom.decoded(rom_row_idx);
        row[cpu::time] = f(3 * clk as u32);
        row[DECODED].copy_from_slice(decoded);
        let i = s.instr;
        let is = |c: usize| decoded[c - cpu::pc] == Val::ONE;

        let a = s.rs1_val;
        let bv = s.rs2_val;
        (row[cpu::a_lo], row[cpu::a_hi]) = split(a);
        (row[cpu::b_lo], row[cpu::b_hi]) = split(bv);
        let operand = if i.use_imm || i.op.is_store() { i.imm } else { bv };

        // ALU call: the operation itself, address arithmetic, or a branch comparison.
        let alu_op = alu_call(i.op);
        let address = i.op.is_load() || i.op.is_store();
        let cval = alu_op
            .map(|op| match op {
                Op::Add | Op::Sub => own_add_sub(row, op, a, operand, address, &mut rc),
                _ => Ok(alu.call(op, a, operand, &mut rc)),
            })
            .transpose()?;
        if let Some(cval) = cval {
            (row[cpu::c_lo], row[cpu::c_hi]) = split(cval);
            if is(cpu::f_branch) {
                let sum = (cval & 0xffff) + (cval >> 16);
                row[branch::z] = Val::from_bool(sum == 0);
                if sum != 0 {
                    row[branch::inv] = f(sum).inverse();
                }
                let cond = if is(branch::eqtype) {
                    sum == 0
                } else if is(cpu::op_sub) {
                    row[cpu::k1] == Val::ONE
                } else {
                    cval == 1
                };
                row[branch::cond] = Val::from_bool(cond);
                row[branch::taken] = Val::from_bool(cond != is(branch::neg));
                row[branch::target] = f(s.next_pc);
            }
            if i.op == Op::Jalr {
                row[JALR_BIT] = f(cval & 1);
            }
        }

        // The three accesses (see the CPU AIR): rs1; rs2 or a load's word; rd, a1 for
        // WRITE_OUTPUT, or a store's word.
        let clk3 = 3 * clk as u32;
        let t1 = ms.reg(i.rs1, clk3 + 1);
        access(row, (cpu::d1_lo, cpu::d1_hi), t1, clk3 + 1, &mut rc);
        let data = s.mem.zip(cval).map(|(m, addr)| (m, addr, addr >> 2));
        if let Some((m, addr, waddr)) = data {
            row[cpu::q] = f(waddr);
            row[cpu::off] = f(addr & 3);
            // The sub-word table checks its own accesses' (see `subword_row`).
            if matches!(i.op, Op::Lw | Op::Sw) {
                rc.word(waddr & 0x3fff);
            }
            if i.op.is_load() {
                row[cpu::q_load] = f(waddr);
                (row[cpu::b_lo], row[cpu::b_hi]) = split(m.before);
                let t2 = ms.word(waddr, m.before, clk3 + 2);
                access(row, (cpu::d2_lo, cpu::d2_hi), t2, clk3 + 2, &mut rc);
            }
        }
        if !i.op.is_load() {
            let t2 = ms.reg(i.rs2, clk3 + 2);
            access(row, (cpu::d2_lo, cpu::d2_hi), t2, clk3 + 2, &mut rc);
        }

        // The value the third access writes (to the sink when rd = x0): the AIR ties it to its
        // source whatever rd is.
        let write_output = s.syscall == Some(crate::emu::syscall::WRITE_OUTPUT);
        let third = if write_output { 11 } else { write_slot(i.rd) };
        let new_val = match (i.op, data) {
            // The borrow of the CPU's SUB.
            (Op::Sltu, _) => row[cpu::k1].as_canonical_u32(),
            (op, _) if op.is_alu() => cval.unwrap_or(0),
            (Op::Lui, _) => i.imm,
            (Op::Auipc, _) => s.pc.wrapping_add(i.imm),
            (Op::Jal | Op::Jalr, _) => s.pc.wrapping_add(4),
            (op, Some((m, addr, waddr))) if is(cpu::sub_load) || is(cpu::sub_store) => {
                let v = subword_row(&mut sub_rows, op, addr & 3, m.before, bv, waddr & 0x3fff, &mut rc);
                debug_assert!(op.is_load() || v == m.after);
                v
            }
            (_, Some((m, _, _))) => m.after,
            (Op::Ecall, _) if s.syscall == Some(crate::emu::syscall::READ_INPUT) => s.rd_val,
            (Op::Ecall, _) => ms.regs[usize::from(third)],
            _ => 0,
        };
        // Branch rows keep their condition's witnesses here (`air::branch`).
        if !is(cpu::f_branch) {
            (row[cpu::r_lo], row[cpu::r_hi]) = split(new_val);
        }
        if let Some((m, _, waddr)) = data.filter(|_| i.op.is_store()) {
            (row[cpu::rdp_lo], row[cpu::rdp_hi]) = split(m.before);
            let t3 = ms.word(waddr, m.before, clk3 + 3);
            access(row, (cpu::d3_lo, cpu::d3_hi), t3, clk3 + 3, &mut rc);
        } else if !is(cpu::f_branch) {
            (row[cpu::rdp_lo], row[cpu::rdp_hi]) = split(ms.regs[usize::from(third)]);
            let t3 = ms.reg(third, clk3 + 3);
            access(row, (cpu::d3_lo, cpu::d3_hi), t3, clk3 + 3, &mut rc);
            ms.regs[usize::from(third)] = new_val;
        }
        gap_pairs(row, &mut rc);

        if let Some(no) = s.syscall {
            use crate::emu::syscall;
            let col = match no {
                syscall::HALT => Some(cpu::s_halt),
                syscall::DEBUG_WRITE => None,
                syscall::READ_INPUT => {
                    input_reads[bv as usize] += 1;
                    Some(cpu::s_read)
                }
                _ => {
                    outputs.push((bv, machine.output[bv as usize].expect("written outputs are recorded")));
                    Some(cpu::s_write)
                }
            };
            if let Some(col) = col {
                row[col] = Val::ONE;
            }
        }
    }
    // The row after a HALT holds the pc that follows it (the CPU AIR reads a row's next pc
    // from the next row).
    if let Some(s) = steps.last()
        && n < h
    {
        cpu_vals[n * cpu::WIDTH + cpu::pc] = f(s.next_pc);
    }
    let cpu_trace = RowMajorMatrix::new(cpu_vals, cpu::WIDTH);

    // Boundary: every touched address with its first and last value and last timestamp.
    let mut state = Vec::with_capacity(ms.touched.len());
    let mut fin_ts = Val::zero_vec(height(ms.touched.len()));
    for (k, (&addr, &init)) in ms.touched.iter().enumerate() {
        let (fin, ts) = if addr >= REG_BASE {
            let r = (addr - REG_BASE) as usize;
            (ms.regs[r], ms.reg_ts[r])
        } else {
            (machine.mem.load_word(addr << 2), ms.ts.load_word(addr << 2))
        };
        state.push(StateRow { addr, init, fin });
        fin_ts[k] = f(ts);
    }
    outputs.sort_unstable();

    let rom_h = height(rom_mult.len());
    let mut rom_main: Vec<Val> = rom_mult.iter().map(|&m| f(m)).collect();
    rom_main.resize(rom_h, Val::ZERO);

    let io_rows = input_tape.len() + outputs.len() + usize::from(last);
    let mut io_main: Vec<Val> = input_reads.iter().map(|&m| f(m)).collect();
    io_main.resize(io_rows, Val::ONE);
    io_main.resize(height(io_rows), Val::ZERO);

    let mut rvals = Vec::with_capacity(range::WIDTH << 16);
    for x in 0..1usize << 16 {
        let (hi, lo) = (x >> 8, x & 0xff);
        rvals.extend((0..8).map(|i| Val::from_bool(hi >> i & 1 == 1)));
        rvals.extend((0..8).map(|i| Val::from_bool(lo >> i & 1 == 1)));
        rvals.extend_from_slice(&[
            f(rc.m16[x]),
            f(rc.mpair[x]),
            f(rc.mbit[x]),
            f(rc.mword[x]),
            f(rc.mlimb[x]),
        ]);
    }

    let mut traces = vec![
        cpu_trace,
        RowMajorMatrix::new(rom_main, 1),
        RowMajorMatrix::new(fin_ts, boundary_main::WIDTH),
        RowMajorMatrix::new(io_main, 1),
        RowMajorMatrix::new(rvals, range::WIDTH),
    ];
    let mut tables = Table::ALL[..traces.len()].to_vec();
    let widths = AluTrace::WIDTHS.into_iter().chain([subword::WIDTH]);
    let optional = Table::ALL[traces.len()..].iter();
    for ((mut vals, width), &table) in alu.tables.into_iter().chain([sub_rows]).zip(widths).zip(optional) {
        if vals.is_empty() {
            continue;
        }
        vals.resize(height(vals.len() / width) * width, Val::ZERO);
        traces.push(RowMajorMatrix::new(vals, width));
        tables.push(table);
    }
    let facts = SegmentFacts {
        start_pc,
        end_pc: if last { 0 } else { machine.pc },
        exit_code: machine.exit_code,
        outputs,
        state,
    };
    Ok(Witness { tables, traces, input_tape: input_tape.to_vec(), facts, cycles: n as u64 })
}
