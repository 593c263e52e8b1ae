//! Trace generation: runs the emulator and fills every table, plus the preprocessed tables the
//! verifier rebuilds from public data (program, input, output, exit code).

use std::collections::BTreeSet;
use std::sync::Arc;

use p3_field::{Field, PrimeCharacteristicRing};
use p3_matrix::dense::RowMajorMatrix;

use super::air::{REG_BASE, Table, addsub, boundary, cpu, f, image, io, io_kind, range, rom};
use super::config::Val;
use crate::elf::Program;
use crate::emu::{Machine, Memory, Step, Trap, bytes_to_tape};
use crate::isa::{Instr, Op};

/// Smallest table height; tiny FRI instances below this gain nothing.
pub const MIN_HEIGHT: usize = 8;

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
    /// The guest executed an instruction the proof system does not support yet.
    #[error("instruction {0:?} at pc {1:#x} is not supported by the prover yet")]
    Unsupported(Op, u32),
    /// A data address at or above 2^31 (the proven address space is the lower 2 GiB).
    #[error("data address {0:#x} outside the proven address space")]
    AddressOutOfRange(u32),
}

/// Whether the prover's tables cover an instruction.
fn supported(op: Op) -> bool {
    matches!(
        op,
        Op::Add
            | Op::Sub
            | Op::Lui
            | Op::Auipc
            | Op::Jal
            | Op::Jalr
            | Op::Beq
            | Op::Bne
            | Op::Lw
            | Op::Sw
            | Op::Ecall
            | Op::Fence
    )
}

fn split(v: u32) -> (Val, Val) {
    (f(v & 0xffff), f(v >> 16))
}

/// ROM fields of the instruction at `pc`, or `None` if the proof system cannot execute it.
fn rom_row(pc: u32, i: &Instr) -> Option<[Val; rom::WIDTH]> {
    if !supported(i.op) {
        return None;
    }
    let mut r = [Val::ZERO; rom::WIDTH];
    r[rom::pc] = f(pc);
    r[rom::rs1] = f(u32::from(i.rs1));
    r[rom::rs2] = f(u32::from(i.rs2));
    r[rom::rd] = f(u32::from(i.rd));
    let writes = i.rd != 0;
    let set_imm = |r: &mut [Val; rom::WIDTH], use_imm: bool| {
        (r[rom::imm_lo], r[rom::imm_hi]) = split(i.imm);
        r[rom::use_imm] = Val::from_bool(use_imm);
    };
    match i.op {
        Op::Add | Op::Sub => {
            r[rom::f_alu] = Val::ONE;
            r[rom::alu_op] = f(i.op as u32);
            set_imm(&mut r, i.use_imm);
            r[rom::writes_rd] = Val::from_bool(writes);
        }
        Op::Lui | Op::Auipc => {
            r[rom::f_const] = Val::ONE;
            let k = if i.op == Op::Lui { i.imm } else { pc.wrapping_add(i.imm) };
            (r[rom::k_lo], r[rom::k_hi]) = split(k);
            r[rom::writes_rd] = Val::from_bool(writes);
        }
        Op::Jal => {
            r[rom::f_jal] = Val::ONE;
            (r[rom::k_lo], r[rom::k_hi]) = split(pc.wrapping_add(4));
            r[rom::target] = f(pc.wrapping_add(i.imm));
            r[rom::writes_rd] = Val::from_bool(writes);
        }
        Op::Jalr => {
            r[rom::f_jalr] = Val::ONE;
            r[rom::alu_op] = f(Op::Add as u32);
            set_imm(&mut r, true);
            (r[rom::k_lo], r[rom::k_hi]) = split(pc.wrapping_add(4));
            r[rom::writes_rd] = Val::from_bool(writes);
        }
        Op::Beq | Op::Bne => {
            r[rom::f_branch] = Val::ONE;
            r[rom::alu_op] = f(Op::Sub as u32);
            r[rom::eqtype] = Val::ONE;
            r[rom::neg] = Val::from_bool(i.op == Op::Bne);
            r[rom::target] = f(pc.wrapping_add(i.imm));
        }
        Op::Lw => {
            r[rom::f_load] = Val::ONE;
            r[rom::alu_op] = f(Op::Add as u32);
            set_imm(&mut r, true);
            r[rom::writes_rd] = Val::from_bool(writes);
        }
        Op::Sw => {
            r[rom::f_store] = Val::ONE;
            r[rom::alu_op] = f(Op::Add as u32);
            set_imm(&mut r, true);
        }
        Op::Ecall => {
            r[rom::f_ecall] = Val::ONE;
            r[rom::writes_rd] = Val::ONE;
        }
        _ => {} // fence: falls through to pc + 4 and touches nothing
    }
    Some(r)
}

/// The ROM preprocessed table and a map from code index to ROM row.
pub fn rom_table(program: &Program) -> (RowMajorMatrix<Val>, Vec<Option<usize>>) {
    let mut rows = Vec::new();
    let mut index = vec![None; program.code.len()];
    for (k, instr) in program.code.iter().enumerate() {
        let pc = program.code_base + 4 * k as u32;
        if let Some(row) = instr.as_ref().and_then(|i| rom_row(pc, i)) {
            index[k] = Some(rows.len() / rom::WIDTH);
            rows.extend_from_slice(&row);
        }
    }
    let h = height(rows.len() / rom::WIDTH);
    rows.resize(h * rom::WIDTH, Val::ZERO);
    (RowMajorMatrix::new(rows, rom::WIDTH), index)
}

/// The image preprocessed table: one row per non-zero initial word.
pub fn image_table(program: &Program) -> RowMajorMatrix<Val> {
    let mut rows = Vec::new();
    for (&addr, &word) in &program.image {
        let (lo, hi) = split(word);
        rows.extend_from_slice(&[f(addr >> 2), lo, hi, Val::ONE]);
    }
    let h = height(rows.len() / image::WIDTH);
    rows.resize(h * image::WIDTH, Val::ZERO);
    RowMajorMatrix::new(rows, image::WIDTH)
}

/// The public I/O table: input words (any multiplicity), output words and exit code (once).
pub fn io_table(input_tape: &[u32], output_tape: &[u32], exit_code: u32) -> RowMajorMatrix<Val> {
    let mut rows = Vec::new();
    let mut push = |kind: u32, idx: u32, v: u32, free: bool| {
        let (ilo, ihi) = split(idx);
        let (lo, hi) = split(v);
        rows.extend_from_slice(&[f(kind), ilo, ihi, lo, hi, Val::from_bool(free), Val::from_bool(!free)]);
    };
    for (k, &w) in input_tape.iter().enumerate() {
        push(io_kind::INPUT, k as u32, w, true);
    }
    for (k, &w) in output_tape.iter().enumerate() {
        push(io_kind::OUTPUT, k as u32, w, false);
    }
    push(io_kind::EXIT, 0, exit_code, false);
    let h = height(rows.len() / io::WIDTH);
    rows.resize(h * io::WIDTH, Val::ZERO);
    RowMajorMatrix::new(rows, io::WIDTH)
}

/// The range table: every 16-bit value and a byte flag.
pub fn range_table() -> RowMajorMatrix<Val> {
    let mut rows = Vec::with_capacity(2 << 16);
    for x in 0..1u32 << 16 {
        rows.push(f(x));
        rows.push(Val::from_bool(x < 256));
    }
    RowMajorMatrix::new(rows, range::WIDTH)
}

/// Preprocessed matrices for every table (`None` for tables without).
pub fn preprocessed(
    program: &Program,
    input_tape: &[u32],
    output_tape: &[u32],
    exit_code: u32,
) -> Vec<Option<Arc<RowMajorMatrix<Val>>>> {
    Table::ALL
        .iter()
        .map(|t| match t {
            Table::Rom => Some(Arc::new(rom_table(program).0)),
            Table::Image => Some(Arc::new(image_table(program))),
            Table::Io => Some(Arc::new(io_table(input_tape, output_tape, exit_code))),
            Table::Range => Some(Arc::new(range_table())),
            _ => None,
        })
        .collect()
}

/// Counts range-check lookups so the range table's multiplicities match.
struct RangeCount {
    m16: Vec<u32>,
    m8: Vec<u32>,
}

impl RangeCount {
    fn r16(&mut self, v: u32) {
        self.m16[v as usize] += 1;
    }
    fn r8(&mut self, v: u32) {
        self.m8[v as usize] += 1;
    }
}

/// All main traces of one execution, in [`Table::ALL`] order, plus its public facts.
#[derive(Clone)]
pub struct Witness {
    /// Main trace per table.
    pub traces: Vec<RowMajorMatrix<Val>>,
    /// Input tape.
    pub input_tape: Vec<u32>,
    /// Output tape.
    pub output_tape: Vec<u32>,
    /// Exit code.
    pub exit_code: u32,
    /// Cycles executed.
    pub cycles: u64,
}

/// Timestamp and value bookkeeping for the memory argument.
struct MemState {
    ts: Memory,
    reg_ts: [u32; 32],
    regs: [u32; 32],
    touched: BTreeSet<u32>,
}

impl MemState {
    /// Records an access to a register at `now`; returns the previous timestamp.
    fn reg(&mut self, r: u8, now: u32) -> u32 {
        self.touched.insert(REG_BASE + u32::from(r));
        std::mem::replace(&mut self.reg_ts[usize::from(r)], now)
    }
    /// Records an access to data word `waddr` at `now`; returns the previous timestamp.
    fn word(&mut self, waddr: u32, now: u32) -> u32 {
        self.touched.insert(waddr);
        let prev = self.ts.load_word(waddr << 2);
        self.ts.store_word(waddr << 2, now);
        prev
    }
}

/// Fills the timestamp columns of one access and counts its range checks.
fn access(row: &mut [Val], cols: (usize, usize, usize), prev: u32, now: u32, rc: &mut RangeCount) {
    let d = now - prev - 1;
    row[cols.0] = f(prev);
    row[cols.1] = f(d & 0xffff);
    row[cols.2] = f(d >> 16);
    rc.r16(d & 0xffff);
    rc.r8(d >> 16);
}

/// Runs `program` and generates every table's trace.
pub fn generate(program: &Program, input: &[u8], max_cycles: u64) -> Result<Witness, TraceError> {
    let mut machine = Machine::new(program, input);
    let mut steps: Vec<Step> = Vec::new();
    let mut unsupported = None;
    machine.run(max_cycles, |s| {
        if unsupported.is_none() && !supported(s.instr.op) {
            unsupported = Some((s.instr.op, s.pc));
        }
        steps.push(*s);
    })?;
    if let Some((op, pc)) = unsupported {
        return Err(TraceError::Unsupported(op, pc));
    }
    let tape = machine.output_tape().ok_or(Trap::MalformedOutput)?;
    crate::emu::tape_to_bytes(&tape).ok_or(Trap::MalformedOutput)?;
    let exit_code = machine.exit_code.unwrap_or(0);
    let input_tape = bytes_to_tape(input);

    let (_, rom_index) = rom_table(program);
    let mut rom_mult = vec![0u32; rom_index.iter().flatten().count()];
    let mut rc = RangeCount { m16: vec![0; 1 << 16], m8: vec![0; 1 << 16] };
    let mut ms = MemState { ts: Memory::default(), reg_ts: [0; 32], regs: [0; 32], touched: BTreeSet::new() };
    let mut input_reads = vec![0u32; input_tape.len()];
    let mut addsub_rows: Vec<[Val; addsub::WIDTH]> = Vec::new();

    let n = steps.len();
    let h = height(n);
    let mut cpu_vals = Val::zero_vec(h * cpu::WIDTH);
    let (rom_pre, _) = rom_table(program);
    for (clk, s) in steps.iter().enumerate() {
        let row = &mut cpu_vals[clk * cpu::WIDTH..(clk + 1) * cpu::WIDTH];
        let code_idx = ((s.pc - program.code_base) / 4) as usize;
        let rom_row_idx = rom_index[code_idx].expect("supported instruction has a ROM row");
        rom_mult[rom_row_idx] += 1;
        let rom_vals = &rom_pre.values[rom_row_idx * rom::WIDTH..(rom_row_idx + 1) * rom::WIDTH];
        row[cpu::is_real] = Val::ONE;
        row[cpu::clk] = f(clk as u32);
        row[cpu::pc] = rom_vals[rom::pc];
        row[cpu::alu_op..=cpu::neg].copy_from_slice(&rom_vals[rom::alu_op..=rom::neg]);
        let i = s.instr;
        let is = |c: usize| rom_vals[c] == Val::ONE;

        let a = s.rs1_val;
        let bv = s.rs2_val;
        (row[cpu::a_lo], row[cpu::a_hi]) = split(a);
        (row[cpu::b_lo], row[cpu::b_hi]) = split(bv);
        let operand = if is(rom::use_imm) { i.imm } else { bv };

        // ALU call.
        let alu_c = match i.op {
            Op::Add | Op::Jalr | Op::Lw | Op::Sw => Some((Op::Add, a.wrapping_add(operand))),
            Op::Sub | Op::Beq | Op::Bne => Some((Op::Sub, a.wrapping_sub(operand))),
            _ => None,
        };
        if let Some((op, cval)) = alu_c {
            (row[cpu::c_lo], row[cpu::c_hi]) = split(cval);
            let mut ar = [Val::ZERO; addsub::WIDTH];
            (ar[addsub::a_lo], ar[addsub::a_hi]) = split(a);
            (ar[addsub::b_lo], ar[addsub::b_hi]) = split(operand);
            (ar[addsub::c_lo], ar[addsub::c_hi]) = split(cval);
            let (k0, k1) = if op == Op::Add {
                let lo = (a & 0xffff) + (operand & 0xffff);
                let hi = (a >> 16) + (operand >> 16) + (lo >> 16);
                (lo >> 16, hi >> 16)
            } else {
                let lo = (cval & 0xffff) + (operand & 0xffff);
                let hi = (cval >> 16) + (operand >> 16) + (lo >> 16);
                (lo >> 16, hi >> 16)
            };
            ar[addsub::k0] = f(k0);
            ar[addsub::k1] = f(k1);
            ar[if op == Op::Add { addsub::is_add } else { addsub::is_sub }] = Val::ONE;
            ar[addsub::mult] = Val::ONE;
            rc.r16(cval & 0xffff);
            rc.r16(cval >> 16);
            addsub_rows.push(ar);
            if is(rom::f_branch) {
                let sum = (cval & 0xffff) + (cval >> 16);
                row[cpu::z] = Val::from_bool(sum == 0);
                if sum != 0 {
                    row[cpu::inv] = f(sum).inverse();
                }
                let cond = sum == 0;
                row[cpu::cond] = Val::from_bool(cond);
                row[cpu::taken] = Val::from_bool(cond != (i.op == Op::Bne));
            }
            if i.op == Op::Jalr {
                row[cpu::jbit] = f(cval & 1);
            }
        }
        row[cpu::next_pc] = f(s.next_pc);

        // The value rd receives. Computed even when rd = x0 (then it is not written), because
        // the AIR ties it to its source whatever rd is.
        let new_rd = match i.op {
            Op::Add | Op::Sub => alu_c.map_or(0, |(_, v)| v),
            Op::Lui => i.imm,
            Op::Auipc => s.pc.wrapping_add(i.imm),
            Op::Jal | Op::Jalr => s.pc.wrapping_add(4),
            Op::Lw => s.mem.map_or(0, |m| m.before),
            Op::Ecall if s.syscall == Some(crate::emu::syscall::READ_INPUT) => s.rd_val,
            Op::Ecall => bv,
            _ => 0,
        };
        (row[cpu::r_lo], row[cpu::r_hi]) = split(new_rd);

        // Memory slot.
        let clk4 = 4 * clk as u32;
        let t1 = ms.reg(i.rs1, clk4 + 1);
        access(row, (cpu::t1, cpu::d1_lo, cpu::d1_hi), t1, clk4 + 1, &mut rc);
        let t2 = ms.reg(i.rs2, clk4 + 2);
        access(row, (cpu::t2, cpu::d2_lo, cpu::d2_hi), t2, clk4 + 2, &mut rc);
        if let Some(m) = s.mem {
            if m.addr >= 1 << 31 {
                return Err(TraceError::AddressOutOfRange(m.addr));
            }
            let waddr = m.addr >> 2;
            row[cpu::mem_addr] = f(waddr);
            row[cpu::q_lo] = f(waddr & 0x3fff);
            rc.r16(waddr & 0x3fff);
            rc.r16((waddr & 0x3fff) + (1 << 16) - (1 << 14));
            rc.r16((m.addr >> 16) + (1 << 15));
            (row[cpu::mp_lo], row[cpu::mp_hi]) = split(m.before);
            (row[cpu::mn_lo], row[cpu::mn_hi]) = split(m.after);
            let tm = ms.word(waddr, clk4 + 3);
            access(row, (cpu::tm, cpu::dm_lo, cpu::dm_hi), tm, clk4 + 3, &mut rc);
        } else if i.op == Op::Ecall {
            let a1 = ms.regs[11];
            row[cpu::mem_addr] = f(REG_BASE + 11);
            (row[cpu::mp_lo], row[cpu::mp_hi]) = split(a1);
            (row[cpu::mn_lo], row[cpu::mn_hi]) = split(a1);
            let tm = ms.reg(11, clk4 + 3);
            access(row, (cpu::tm, cpu::dm_lo, cpu::dm_hi), tm, clk4 + 3, &mut rc);
        }
        if is(rom::writes_rd) {
            (row[cpu::rdp_lo], row[cpu::rdp_hi]) = split(ms.regs[usize::from(i.rd)]);
            let td = ms.reg(i.rd, clk4 + 4);
            access(row, (cpu::td, cpu::dd_lo, cpu::dd_hi), td, clk4 + 4, &mut rc);
            ms.regs[usize::from(i.rd)] = new_rd;
        }

        if let Some(no) = s.syscall {
            use crate::emu::syscall;
            let col = match no {
                syscall::HALT => cpu::s_halt,
                syscall::DEBUG_WRITE => cpu::s_debug,
                syscall::READ_INPUT => {
                    input_reads[bv as usize] += 1;
                    cpu::s_read
                }
                _ => cpu::s_write,
            };
            row[col] = Val::ONE;
        }
    }
    let cpu_trace = RowMajorMatrix::new(cpu_vals, cpu::WIDTH);

    // Boundary: every touched address and every image word, sorted.
    let mut addrs: BTreeSet<u32> = ms.touched;
    addrs.extend(program.image.keys().map(|a| a >> 2));
    let bh = height(addrs.len());
    let mut bvals = Val::zero_vec(bh * boundary::WIDTH);
    let addr_list: Vec<u32> = addrs.into_iter().collect();
    for (k, &addr) in addr_list.iter().enumerate() {
        let row = &mut bvals[k * boundary::WIDTH..(k + 1) * boundary::WIDTH];
        let (init, fin, fin_ts) = if addr >= REG_BASE {
            let r = (addr - REG_BASE) as usize;
            (0, ms.regs[r], ms.reg_ts[r])
        } else {
            let init = program.image.get(&(addr << 2)).copied();
            row[boundary::in_image] = Val::from_bool(init.is_some());
            (init.unwrap_or(0), machine.mem.load_word(addr << 2), ms.ts.load_word(addr << 2))
        };
        row[boundary::addr] = f(addr);
        (row[boundary::init_lo], row[boundary::init_hi]) = split(init);
        (row[boundary::fin_lo], row[boundary::fin_hi]) = split(fin);
        row[boundary::fin_ts] = f(fin_ts);
        row[boundary::is_real] = Val::ONE;
        let gap = addr_list.get(k + 1).map_or(0, |next| next - addr - 1);
        row[boundary::g_lo] = f(gap & 0xffff);
        row[boundary::g_hi] = f(gap >> 16);
        rc.r16(gap & 0xffff);
        rc.r16(gap >> 16);
        rc.r16((gap >> 16) + (1 << 16) - (1 << 13));
    }
    let boundary_trace = RowMajorMatrix::new(bvals, boundary::WIDTH);

    let rom_h = height(rom_mult.len());
    let mut rom_main: Vec<Val> = rom_mult.iter().map(|&m| f(m)).collect();
    rom_main.resize(rom_h, Val::ZERO);

    let img_h = height(program.image.len());
    let mut img_main = vec![Val::ONE; program.image.len()];
    img_main.resize(img_h, Val::ZERO);

    let io_rows = input_tape.len() + tape.len() + 1;
    let mut io_main: Vec<Val> = input_reads.iter().map(|&m| f(m)).collect();
    io_main.resize(io_rows, Val::ONE);
    io_main.resize(height(io_rows), Val::ZERO);

    let ah = height(addsub_rows.len());
    let mut avals: Vec<Val> = addsub_rows.into_iter().flatten().collect();
    avals.resize(ah * addsub::WIDTH, Val::ZERO);

    let mut rvals = Vec::with_capacity(2 << 16);
    for x in 0..1usize << 16 {
        rvals.push(f(rc.m16[x]));
        rvals.push(f(rc.m8[x]));
    }

    let traces = vec![
        cpu_trace,
        RowMajorMatrix::new(rom_main, 1),
        boundary_trace,
        RowMajorMatrix::new(img_main, 1),
        RowMajorMatrix::new(io_main, 1),
        RowMajorMatrix::new(rvals, 2),
        RowMajorMatrix::new(avals, addsub::WIDTH),
    ];
    Ok(Witness { traces, input_tape, output_tape: tape, exit_code, cycles: n as u64 })
}
