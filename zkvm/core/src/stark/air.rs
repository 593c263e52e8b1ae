//! The AIRs of the VM's tables and the buses connecting them.
//!
//! Buses (LogUp, one message = one tuple; `+` produces, `-` consumes):
//! - `rom` (pc, decoded fields…, packed flags): CPU `+1` per cycle, program ROM `-mult`.
//! - `mem` (addr, lo, hi, ts): offline memory checking within one segment. Each CPU access
//!   consumes the previous (value, timestamp) of its address and produces the new one; the
//!   boundary table produces the segment's initial state at ts 0 and consumes the final one.
//!   Registers live at `REG_BASE + r` (writes to x0 at `REG_BASE + SINK`). The boundary's
//!   addresses and values are preprocessed
//!   (the verifier rebuilds them from the state chained across segments, see
//!   `stark::verify_program`).
//! - `op` (tag, seven fields): everything a CPU row asks of another table, told apart by the
//!   tag (fields a message does not use are zero):
//!   - ALU operations (tag = the `Op`; fields a_lo, a_hi, b_lo, b_hi, c_lo, c_hi): CPU `+1` for
//!     every operation but ADD and SUB (which the CPU row proves itself), ALU tables `-mult`;
//!     the division table also sends requests to the multiplier and comparator;
//!   - byte and halfword loads and stores (tag = the `Op`; fields off, word_lo, word_hi,
//!     rs2_lo, v_lo, v_hi, q_lo) against the sub-word table, which also range checks `q_lo`;
//!   - range checks against the range table: LW and SW's `q_lo < 2^14` (tag
//!     [`op_tag::WORD`]; field q_lo, the sub-word table sends it for the other loads and
//!     stores) and the low limb of the CPU's own ADD/SUB result on other rows (tag
//!     [`op_tag::LIMB`]; field c_lo);
//!   - syscalls (tag = an [`op_tag`]; fields idx_lo, idx_hi, lo, hi, the exit code in both
//!     halves for HALT) against the public I/O table.
//!
//!   A row makes at most one of these requests, so the CPU sends them as one exclusive group
//!   (one LogUp column instead of three; the selectors are zero on padding rows).
//! - `r16` (x): 16-bit range check; `pair` (hi, lo): two bytes (`(0, v)` checks one byte);
//!   `byte` (a, b, a & b, a ^ b): the bitwise relation of two bytes. All three against the
//!   range table, whose row `x = 256·hi + lo` (built from the bits of `hi` and `lo`) serves
//!   each bus with its own multiplicity column.
//!
//! Words are two 16-bit limbs `(lo, hi)`; every limb written to a register or memory is range
//! checked where it is produced (ALU outputs) or comes from public data (boundary, input, ROM).
//!
//! A segment's proof has the ALU and sub-word tables only if the segment uses them
//! ([`Table::is_optional`]).
//!
//! CPU public values: the segment's first pc, the pc after its last row, and whether it is the
//! last segment (only the last one may halt or end before its final row).

use std::sync::Arc;

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

pub use super::alu::{bitwise, div, lt, mul, shift};
use super::alu::{eval_bitwise, eval_div, eval_lt, eval_mul, eval_shift};
use super::subword::eval_subword;
pub use super::subword::subword;

/// Memory-argument address of register 0; data word addresses are below it.
pub const REG_BASE: u32 = 1 << 29;

/// The register slot after x31 that writes to x0 go to (the ROM decodes rd = x0 of a writing
/// instruction as it). No instruction reads it, so x0 is never written and reads zero, and
/// every row but a branch makes its third access without a flag saying whether it writes.
pub const SINK: u8 = 32;

/// The memory-argument address of register slot `r` (x0..x31, or the sink).
pub const fn reg_addr(r: u8) -> u32 {
    REG_BASE + r as u32
}

/// The register slot an instruction's rd write goes to: rd, or the sink for x0.
pub const fn write_slot(rd: u8) -> u8 {
    if rd == 0 { SINK } else { rd }
}

/// `op` bus tags above every `Op` (the ALU and sub-word tags): syscalls and the word-address
/// check.
pub mod op_tag {
    /// `READ_INPUT`: (index, word).
    pub const INPUT: u32 = 0x100;
    /// `WRITE_OUTPUT`: (index, word).
    pub const OUTPUT: u32 = 0x101;
    /// `HALT`: (exit code, exit code): a0 as the second access reads it and as the third
    /// writes it back, so that all three syscalls send (a0, the third access's value).
    pub const EXIT: u32 = 0x102;
    /// Loads and stores: the low part of the word address is below 2^14 (the range table
    /// answers).
    pub const WORD: u32 = 0x103;
    /// The low limb of the CPU's own ADD/SUB result is below 2^16 (the range table answers).
    pub const LIMB: u32 = 0x104;
    const _: () = assert!(crate::isa::NUM_OPS <= INPUT as usize);
}

/// The bus of every request a CPU row makes to another table (see the module doc).
pub(crate) const OP: &str = "op";
/// Fields of an `op` message, the tag included.
pub(crate) const OP_MSG: usize = 8;

/// An `op` message of `fields` (the tag first), the fields it does not use zero.
pub(crate) fn op_fields<E: PrimeCharacteristicRing>(mut fields: Vec<E>) -> Vec<E> {
    fields.resize(OP_MSG, E::ZERO);
    fields
}

columns!(
    /// CPU columns: one row per executed instruction.
    cpu {
        // Three times the row's cycle: its accesses' timestamps are `time + 1..3`.
        time,
        // Decoded instruction (`DECODED`), checked against the ROM. `op` tags the row's `op`
        // bus request (the ALU operation, or the sub-word load/store). `reg1..3` are the
        // memory-argument addresses of the registers the three accesses touch (`REG_BASE +
        // rs1`; `REG_BASE + rs2`, 0 for loads; `REG_BASE + rd`, 0 for stores), so that the
        // accesses' addresses are few terms. Fields an instruction does not use carry others:
        // JAL's target in `imm_lo`, a branch's in `k_lo`. `real` is 1 on rows that execute an
        // instruction and 0 on padding; every instruction has one class, LUI/AUIPC/FENCE the
        // one without a flag of its own (`f_const`). `flags` packs the boolean ones as the ROM
        // does (`pack_flags`).
        pc, op, imm_lo, imm_hi, k_lo, k_hi, reg1, reg2, reg3,
        f_alu, real, f_jal, f_jalr, f_branch, f_load, f_store, f_ecall,
        op_add, op_sub, sub_load, sub_store, flags,
        // Carries of the CPU's own ADD/SUB.
        k0, k1,
        // The three accesses' values (see `eval_cpu`): rs1 (or a7); rs2, a0 or the loaded word;
        // the old and new value of rd, of a1 or of the stored word. Then the ALU result.
        a_lo, a_hi, b_lo, b_hi, r_lo, r_hi, rdp_lo, rdp_hi, c_lo, c_hi,
        // Loads and stores: word address, the same for loads only (zero otherwise), byte offset.
        q, q_load, off,
        // Range-checked timestamp gaps to the previous access, for the three accesses.
        d1_lo, d1_hi, d2_lo, d2_hi, d3_lo, d3_hi,
        // Syscall selector (DEBUG_WRITE: an ecall with none of them).
        s_halt, s_read, s_write,
    }
);

/// A branch writes no register, so its condition's witnesses ride in the third access's value
/// columns, which nothing else constrains on branch rows: `z = [rs1 = rs2]` with `inv` the
/// inverse of the difference's limb sum otherwise, `cond` the compared relation, `taken`
/// whether the branch jumps (`cond` flipped by `neg`), and `target` the pc it goes to. Each is
/// fixed by its constraint, so none needs a boolean check of its own. Its two decoded flags
/// ride in ROM fields it leaves unused, which the ROM (public) fixes to 0 or 1.
#[allow(non_upper_case_globals)]
pub mod branch {
    use super::cpu;
    /// 1 when the operands are equal.
    pub const z: usize = cpu::r_lo;
    /// Inverse of `c_lo + c_hi` when the operands differ.
    pub const inv: usize = cpu::r_hi;
    /// The relation the branch tests (before `neg`).
    pub const cond: usize = cpu::rdp_lo;
    /// Whether the branch jumps.
    pub const taken: usize = cpu::rdp_hi;
    /// The pc the branch goes to (the byte-offset column, which only loads and stores use).
    pub const target: usize = cpu::off;
    /// Decoded: BEQ/BNE (the operands' equality is the relation), in the ROM field `k_hi`
    /// (a branch's target is `k_lo`).
    pub const eqtype: usize = cpu::k_hi;
    /// Decoded: BNE/BGE/BGEU (the branch jumps when the relation does not hold), in the ROM
    /// field `reg3` (a branch writes no register, so its third access is disabled).
    pub const neg: usize = cpu::reg3;
}

/// JALR accesses no data word, so the bit it clears from its target (`rs1 + imm`) rides in
/// the byte-offset column.
pub const JALR_BIT: usize = cpu::off;

/// Decoded: SLTU and SLTIU, whose rd gets the borrow of the CPU's SUB (`a < b` unsigned), in
/// the ROM field `k_lo`, which ALU instructions leave unused. (The branches that test the
/// borrow, BLTU and BGEU, are the ones with the CPU's SUB that are not equality tests.)
pub const SLTU: usize = cpu::k_lo;

columns!(
    /// Program ROM preprocessed columns: the CPU's `ROM_FIELDS` verbatim, then its `FLAGS`
    /// packed into one field element.
    rom { pc, op, imm_lo, imm_hi, k_lo, k_hi, reg1, reg2, reg3, flags }
);

/// The instruction classes with a flag column, the first seven `FLAGS`. A real row has at
/// most one of them; the rows with none are `f_const`.
pub const CLASSES: &[usize] = FLAGS.split_at(7).0;

/// LUI, AUIPC and FENCE (a constant that writes nothing): a real row of no other class, `col`
/// reading CPU columns. A column of `real` rather than of this flag keeps bus multiplicities
/// a single variable, which Plonky3 resolves per row when it builds the LogUp trace.
pub fn f_const<E: PrimeCharacteristicRing>(col: impl Fn(usize) -> E) -> E {
    CLASSES.iter().fold(col(cpu::real), |acc, &c| acc - col(c))
}

/// The CPU columns holding an instruction's decoded fields (the ROM's content, unpacked).
pub const DECODED: std::ops::RangeInclusive<usize> = cpu::pc..=cpu::flags;

/// Decoded fields the ROM message carries as they are, in `rom` column order.
pub const ROM_FIELDS: [usize; 9] =
    [cpu::pc, cpu::op, cpu::imm_lo, cpu::imm_hi, cpu::k_lo, cpu::k_hi, cpu::reg1, cpu::reg2, cpu::reg3];

/// Decoded boolean fields, packed as bit `i` of the ROM's `flags` column: one field element
/// instead of eleven halves the ROM commitment every verifier recomputes per segment. The
/// CPU constrains each to be boolean, which makes the packing unique, and keeps the packed
/// value in a column of its own: as a sum in the `rom` message it would be forty expression
/// nodes for Plonky3 to walk per row. The first seven are the instruction classes
/// (`CLASSES`); `real` is the `rom` message's multiplicity and `f_const` follows from the
/// two.
pub const FLAGS: [usize; 11] = [
    cpu::f_alu,
    cpu::f_jal,
    cpu::f_jalr,
    cpu::f_branch,
    cpu::f_load,
    cpu::f_store,
    cpu::f_ecall,
    cpu::op_add,
    cpu::op_sub,
    cpu::sub_load,
    cpu::sub_store,
];

/// `FLAGS` packed as bits, `col` reading CPU columns.
pub fn pack_flags<E: PrimeCharacteristicRing>(col: impl Fn(usize) -> E) -> E {
    FLAGS.iter().enumerate().fold(E::ZERO, |acc, (i, &c)| acc + col(c) * E::from_u32(1 << i))
}

/// The `rom` bus message of a CPU row or decoded instruction, `col` reading CPU columns.
pub fn rom_message<E: PrimeCharacteristicRing>(col: impl Fn(usize) -> E) -> Vec<E> {
    ROM_FIELDS.iter().chain([&cpu::flags]).map(|&c| col(c)).collect()
}

columns!(
    /// Program ROM main columns.
    rom_main { mult }
);

columns!(
    /// Memory boundary preprocessed columns: one row per address the segment touches (unique,
    /// increasing), with its value at the segment's start and end.
    boundary { addr, init_lo, init_hi, fin_lo, fin_hi, is_real }
);

columns!(
    /// Memory boundary main columns: the timestamp of each address's last access.
    boundary_main { fin_ts }
);

/// CPU public values.
pub mod cpu_pv {
    /// pc of the segment's first row.
    pub const START_PC: usize = 0;
    /// pc after the segment's last row (non-final segments).
    pub const END_PC: usize = 1;
    /// 1 for the last segment, 0 otherwise.
    pub const IS_LAST: usize = 2;
    /// Number of CPU public values.
    pub const COUNT: usize = 3;
}

columns!(
    /// Public I/O preprocessed columns: `free` rows (input) take any multiplicity, the others
    /// exactly `fixed` (output words and the exit code exactly once, padding never).
    io { kind, idx_lo, idx_hi, lo, hi, free, fixed }
);

columns!(
    /// Public I/O main columns.
    io_main { mult }
);

columns!(
    /// Range table columns: the bits of two bytes `hi` and `lo` (row `256·hi + lo`), and the
    /// multiplicities of the `r16`, `pair` and `byte` buses and of the `op_tag::WORD` (only
    /// below 2^14) and `op_tag::LIMB` checks for `x = 256·hi + lo`. Built from bits rather than
    /// preprocessed, so verifiers need not commit 2^16 rows per segment.
    range {
        h0, h1, h2, h3, h4, h5, h6, h7, l0, l1, l2, l3, l4, l5, l6, l7,
        m16, mpair, mbit, mword, mlimb,
    }
);

/// Number of fields in a ROM bus message.
pub const ROM_MSG: usize = rom::WIDTH;

/// The VM's tables, in proof order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Table {
    /// One row per cycle.
    Cpu,
    /// Decoded program (preprocessed).
    Rom,
    /// The segment's initial and final memory state (preprocessed addresses and values).
    Boundary,
    /// Public input, output and exit code (preprocessed).
    Io,
    /// 16-bit and byte range checks.
    Range,
    /// AND, OR, XOR.
    Bitwise,
    /// SLT, SLTU.
    Lt,
    /// SLL, SRL, SRA.
    Shift,
    /// MUL, MULH, MULHSU, MULHU.
    Mul,
    /// DIV, DIVU, REM, REMU.
    Div,
    /// Byte and halfword loads and stores.
    SubWord,
}

impl Table {
    /// All tables in proof order.
    pub const ALL: [Table; 11] = [
        Table::Cpu,
        Table::Rom,
        Table::Boundary,
        Table::Io,
        Table::Range,
        Table::Bitwise,
        Table::Lt,
        Table::Shift,
        Table::Mul,
        Table::Div,
        Table::SubWord,
    ];

    /// Whether a segment that does not use the table leaves it out of its proof (the others are
    /// in every segment). Leaving a table out only removes the tuples it provides, so a segment
    /// whose rows need them cannot balance its buses without it.
    pub fn is_optional(self) -> bool {
        matches!(self, Table::Bitwise | Table::Lt | Table::Shift | Table::Mul | Table::Div | Table::SubWord)
    }

    /// The set of tables as a mask, bit `i` standing for `Table::ALL[i]`.
    pub fn mask(tables: &[Table]) -> u16 {
        tables.iter().fold(0, |m, &t| m | 1 << t as u16)
    }

    /// The tables of a mask, in proof order; `None` if it has unknown bits or lacks a table
    /// every segment has.
    pub fn from_mask(mask: u16) -> Option<Vec<Table>> {
        let tables: Vec<Table> = Table::ALL.into_iter().filter(|&t| mask & 1 << t as u16 != 0).collect();
        let complete = Table::ALL.iter().all(|t| t.is_optional() || tables.contains(t));
        (complete && Table::mask(&tables) == mask).then_some(tables)
    }

    /// Main-trace column names.
    pub fn column_names(self) -> &'static [&'static str] {
        match self {
            Table::Cpu => cpu::NAMES,
            Table::Rom => rom_main::NAMES,
            Table::Boundary => boundary_main::NAMES,
            Table::Io => io_main::NAMES,
            Table::Range => range::NAMES,
            Table::Bitwise => bitwise::NAMES,
            Table::Lt => lt::NAMES,
            Table::Shift => shift::NAMES,
            Table::Mul => mul::NAMES,
            Table::Div => div::NAMES,
            Table::SubWord => subword::NAMES,
        }
    }
}

/// One table's AIR; preprocessed tables carry their fixed columns.
#[derive(Clone, Debug)]
pub struct VmAir {
    /// Which table.
    pub table: Table,
    /// Preprocessed columns (ROM, boundary, I/O), shared between prover and verifier.
    pub preprocessed: Option<Arc<RowMajorMatrix<crate::stark::config::Val>>>,
}

type Val = crate::stark::config::Val;

impl BaseAir<Val> for VmAir {
    fn width(&self) -> usize {
        self.table.column_names().len()
    }

    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        self.preprocessed.as_ref().map(|m| (**m).clone())
    }

    fn preprocessed_width(&self) -> usize {
        self.preprocessed.as_ref().map_or(0, |m| m.width)
    }

    fn num_public_values(&self) -> usize {
        match self.table {
            Table::Cpu => cpu_pv::COUNT,
            _ => 0,
        }
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        match self.table {
            Table::Cpu => vec![cpu::real, cpu::pc, cpu::time],
            _ => vec![],
        }
    }

    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for VmAir {
    fn eval(&self, builder: &mut AB) {
        match self.table {
            Table::Cpu => eval_cpu(builder),
            Table::Rom => eval_rom(builder),
            Table::Boundary => eval_boundary(builder),
            Table::Io => eval_io(builder),
            Table::Range => eval_range(builder),
            Table::Bitwise => eval_bitwise(builder),
            Table::Lt => eval_lt(builder),
            Table::Shift => eval_shift(builder),
            Table::Mul => eval_mul(builder),
            Table::Div => eval_div(builder),
            Table::SubWord => eval_subword(builder),
        }
    }
}

pub(crate) fn c<AB: AirBuilder>(v: u32) -> AB::Expr {
    AB::Expr::from_u32(v)
}

/// Produces (`+count`) a message, `count` being at most 1 per row.
pub(crate) fn send<AB: InteractionBuilder>(b: &mut AB, bus: &str, fields: Vec<AB::Expr>, count: AB::Expr) {
    b.push_interaction(bus, fields, Count::bounded(count, 1));
}

/// Consumes (`-count`) a message, `count` being at most 1 per row.
pub(crate) fn recv<AB: InteractionBuilder>(b: &mut AB, bus: &str, fields: Vec<AB::Expr>, count: AB::Expr) {
    b.push_interaction(bus, fields, Count::bounded(-count, 1));
}

/// Consumes a table entry `mult` times; the multiplicity is the provided side of a lookup.
pub(crate) fn provide<AB: InteractionBuilder>(b: &mut AB, bus: &str, fields: Vec<AB::Expr>, mult: AB::Expr) {
    b.push_interaction(bus, fields, Count::provided(-mult));
}

fn eval_cpu<AB: InteractionBuilder<F = Val>>(b: &mut AB) {
    let main = b.main();
    let l = main.current_slice().to_vec();
    let n = main.next_slice().to_vec();
    let x = |i: usize| -> AB::Expr { l[i].into() };
    let nx = |i: usize| -> AB::Expr { n[i].into() };
    let pv = |i: usize| -> AB::Expr { b.public_values()[i].into() };
    let (start_pc, end_pc, is_last) = (pv(cpu_pv::START_PC), pv(cpu_pv::END_PC), pv(cpu_pv::IS_LAST));
    let two16 = c::<AB>(1 << 16);
    let one = AB::Expr::ONE;
    let real = x(cpu::real);
    let next_real = nx(cpu::real);
    let f_const = f_const(x);

    // Booleans; the decoded ones too, so that their packing in the ROM message is unique. A
    // boolean `f_const` leaves a real row at most one class flag (its class is the ROM's) and
    // a padding row none.
    for col in FLAGS.into_iter().chain([cpu::real, cpu::s_halt, cpu::s_read, cpu::s_write, cpu::k0, cpu::k1])
    {
        b.assert_bool(x(col));
    }
    b.assert_bool(f_const.clone());

    // Start, step and end of the segment.
    b.when_first_row().assert_one(real.clone());
    b.when_first_row().assert_eq(x(cpu::pc), start_pc);
    b.when_first_row().assert_zero(x(cpu::time));
    {
        let mut t = b.when_transition();
        t.assert_zero(next_real.clone() * (one.clone() - real.clone()));
        t.assert_zero(next_real.clone() * (nx(cpu::time) - x(cpu::time) - c::<AB>(3)));
        // Real rows end only at a HALT, and nothing runs after one.
        t.assert_zero((real.clone() - next_real.clone()) * (one.clone() - x(cpu::s_halt)));
        t.assert_zero(x(cpu::s_halt) * next_real);
    }
    // The last segment ends at a HALT; the others run every row (they cannot halt: their I/O
    // table has no exit row) and hand their next pc to the following segment.
    b.when_last_row().assert_zero(is_last.clone() * real.clone() * (one.clone() - x(cpu::s_halt)));
    b.when_last_row().assert_zero((one.clone() - is_last.clone()) * (one.clone() - real.clone()));

    // The instruction at pc is the ROM's.
    b.assert_eq(x(cpu::flags), pack_flags(x));
    send(b, "rom", rom_message(x), real.clone());
    // Padding rows have no decoded flags (booleans summing to zero are all zero), so requests
    // and accesses can be selected by the flags alone.
    b.assert_zero((one.clone() - real.clone()) * FLAGS.into_iter().map(x).sum::<AB::Expr>());

    // The second ALU operand. The ROM leaves `imm` zero where rs2 is read and reads x0 (zero)
    // as rs2 where `imm` is used, so `imm + b` is it, except for loads and stores (`b` is
    // the loaded word or the value stored, the address is `rs1 + imm`).
    let opnd_lo = x(cpu::imm_lo) + x(cpu::b_lo);
    let opnd_hi = x(cpu::imm_hi) + x(cpu::b_hi);
    let own = x(cpu::op_add) + x(cpu::op_sub);
    // ADD (`a + opnd = c + 2^32·k1`) and SUB (`c + opnd = a + 2^32·k1`) right here, limb by
    // limb with carry `k0`: most instructions need one, and a table row costs more than this.
    // With 16-bit limbs and boolean carries, each result limb is unique.
    let ls = x(cpu::f_load) + x(cpu::f_store);
    let not_ls = one.clone() - ls.clone();
    let own_lo = x(cpu::imm_lo) + not_ls.clone() * x(cpu::b_lo);
    let own_hi = x(cpu::imm_hi) + not_ls.clone() * x(cpu::b_hi);
    let add = x(cpu::op_add);
    let sub = x(cpu::op_sub);
    b.assert_zero(add.clone() * (x(cpu::a_lo) + own_lo.clone() - x(cpu::c_lo) - two16.clone() * x(cpu::k0)));
    b.assert_zero(
        add * (x(cpu::a_hi) + own_hi.clone() + x(cpu::k0) - x(cpu::c_hi) - two16.clone() * x(cpu::k1)),
    );
    b.assert_zero(sub.clone() * (x(cpu::c_lo) + own_lo - x(cpu::a_lo) - two16.clone() * x(cpu::k0)));
    b.assert_zero(sub * (x(cpu::c_hi) + own_hi + x(cpu::k0) - x(cpu::a_hi) - two16.clone() * x(cpu::k1)));
    // Loads and stores need `c_hi < 2^15` (the address is below 2^31), the others `< 2^16`.
    // `c_lo < 2^16` is an `op` request (`op_tag::LIMB`, below) on rows other than loads and
    // stores, whose word address check bounds it.
    send(b, "r16", vec![x(cpu::c_hi) + c::<AB>(1 << 15) * ls.clone()], own.clone());

    // The value written to rd; SLTU/SLTIU write the borrow of the CPU's SUB (`a < b`
    // unsigned), so the comparator table is left to signed comparisons and division.
    let sltu = x(cpu::f_alu) * x(SLTU);
    // LW and SW (`sub_*` only where `f_*`, by the ROM).
    let word_access = ls.clone() - x(cpu::sub_load) - x(cpu::sub_store);
    b.assert_zero(sltu.clone() * (x(cpu::r_lo) - x(cpu::k1)));
    b.assert_zero(sltu.clone() * x(cpu::r_hi));
    // LW loads the word itself and SW stores rs2; the sub-word table relates the others. Syscalls other than READ_INPUT leave the register
    // of their third access (a0, or a1 for WRITE_OUTPUT) unchanged.
    for (r, cc, k, bb, p) in [
        (cpu::r_lo, cpu::c_lo, cpu::k_lo, cpu::b_lo, cpu::rdp_lo),
        (cpu::r_hi, cpu::c_hi, cpu::k_hi, cpu::b_hi, cpu::rdp_hi),
    ] {
        b.assert_zero((x(cpu::f_alu) - sltu.clone()) * (x(r) - x(cc)));
        b.assert_zero((f_const.clone() + x(cpu::f_jal) + x(cpu::f_jalr)) * (x(r) - x(k)));
        b.assert_zero(word_access.clone() * (x(r) - x(bb)));
        b.assert_zero((x(cpu::f_ecall) - x(cpu::s_read)) * (x(r) - x(p)));
    }

    // Next pc: each class's, matched against the next row's pc, or on the last row against
    // the end pc a non-final segment hands on (the final segment's last real row is a HALT,
    // which falls through to pc + 4; the row after it holds pc + 4). Padding rows constrain
    // nothing. Plonky3's row selectors are not 0/1 valued off their zeros, so each equation is
    // gated by one rather than the next pc summed from them.
    let pc4 = x(cpu::pc) + c::<AB>(4);
    let end = end_pc.clone() + is_last.clone() * (pc4.clone() - end_pc);
    // jalr clears bit 0 (a boolean); the next row's ROM lookup rejects any target that is not
    // an aligned code address, so the bit needs no further constraint.
    let jbit = x(JALR_BIT);
    b.assert_zero(x(cpu::f_jalr) * jbit.clone() * (one.clone() - jbit.clone()));
    b.assert_zero(
        x(cpu::f_branch)
            * (x(branch::target) - pc4.clone() - x(branch::taken) * (x(cpu::k_lo) - pc4.clone())),
    );
    let seq = x(cpu::f_alu) + f_const + x(cpu::f_load) + x(cpu::f_store) + x(cpu::f_ecall);
    for (flag, next) in [
        (seq, pc4),
        (x(cpu::f_jal), x(cpu::imm_lo)),
        (x(cpu::f_jalr), x(cpu::c_lo) + two16.clone() * x(cpu::c_hi) - jbit),
        (x(cpu::f_branch), x(branch::target)),
    ] {
        b.when_transition().assert_zero(flag.clone() * (nx(cpu::pc) - next.clone()));
        b.when_last_row().assert_zero(flag * (end.clone() - next));
    }

    // Branch condition: z = [a - b == 0] for BEQ/BNE (limbs of a 16-bit-limbed difference sum
    // to zero only if both are zero), the SUB's borrow for BLTU/BGEU (the other branches with
    // the CPU's SUB), the SLT bit for BLT/BGE; `neg` flips it.
    let s = x(cpu::c_lo) + x(cpu::c_hi);
    let fb = x(cpu::f_branch);
    b.assert_zero(fb.clone() * (s.clone() * x(branch::inv) - one.clone() + x(branch::z)));
    b.assert_zero(fb.clone() * s * x(branch::z));
    b.assert_zero(
        fb.clone()
            * (x(branch::cond)
                - x(branch::eqtype) * x(branch::z)
                - (x(cpu::op_sub) - x(branch::eqtype)) * x(cpu::k1)
                - (one.clone() - x(cpu::op_sub)) * x(cpu::c_lo)),
    );
    b.assert_zero(
        fb * (x(branch::taken) - x(branch::cond) - x(branch::neg)
            + c::<AB>(2) * x(branch::cond) * x(branch::neg)),
    );

    // Loads and stores address word `q = c / 4` (c < 2^31, byte offset `off`, zero for word
    // accesses); `q` is zero on other rows and `q_load` is its copy on loads, so that the
    // accesses' addresses below are linear. `q_lo = q - 2^14·c_hi` is checked below 2^14 (an
    // `op` request: the sub-word table's for byte and halfword accesses, the row's own for LW
    // and SW) and `off` is below 4 (zero here, one-hot in the sub-word table), so
    // `4·q_lo + off = c_lo` holds over the integers and bounds `c_lo` below 2^16 without a
    // check of its own. ALU requests, loads and stores, and the CPU's own ADD/SUB elsewhere
    // exclude each other, so neither check costs the row a LogUp message.
    let q_lo = x(cpu::q) - c::<AB>(1 << 14) * x(cpu::c_hi);
    b.assert_zero(ls.clone() * (x(cpu::c_lo) - c::<AB>(4) * q_lo.clone() - x(cpu::off)));
    b.assert_zero(not_ls * x(cpu::q));
    b.assert_zero(x(cpu::q_load) - x(cpu::f_load) * x(cpu::q));
    b.assert_zero(word_access.clone() * x(cpu::off));

    // Syscalls: on ecall rows at most one selector, none for DEBUG_WRITE (a boolean
    // difference leaves the booleans' sum at most `f_ecall`), matching a7 (= rs1's value).
    let s_debug = x(cpu::f_ecall) - x(cpu::s_halt) - x(cpu::s_read) - x(cpu::s_write);
    b.assert_bool(s_debug.clone());
    b.assert_zero(
        x(cpu::f_ecall)
            * (x(cpu::a_lo)
                - c::<AB>(crate::emu::syscall::HALT) * x(cpu::s_halt)
                - c::<AB>(crate::emu::syscall::DEBUG_WRITE) * s_debug
                - c::<AB>(crate::emu::syscall::READ_INPUT) * x(cpu::s_read)
                - c::<AB>(crate::emu::syscall::WRITE_OUTPUT) * x(cpu::s_write)),
    );
    b.assert_zero(x(cpu::f_ecall) * x(cpu::a_hi));
    // Every request to another table, at most one per row (see the module doc): the ALU call
    // (an operation other than the CPU's own ADD/SUB), the sub-word load or store (the table
    // relates the word, offset and rs2 to the loaded value or the stored word), and a syscall:
    // a0 (the second access) with the third access's value, which is the word READ_INPUT
    // writes to a0, the a1 WRITE_OUTPUT reads, or for HALT a0 again (written back unchanged).
    // One branch for the three (the tag picks the syscall) is fewer extension-field products
    // per row where Plonky3 evaluates the group's constraint.
    let alu_en = x(cpu::f_alu) + x(cpu::f_jalr) + x(cpu::f_branch) + x(cpu::f_load) + x(cpu::f_store);
    let z0 = || AB::Expr::ZERO;
    let syscall_tag = c::<AB>(op_tag::INPUT) * x(cpu::s_read)
        + c::<AB>(op_tag::OUTPUT) * x(cpu::s_write)
        + c::<AB>(op_tag::EXIT) * x(cpu::s_halt);
    let sub_word = |word: [usize; 2], rs2_lo: AB::Expr| {
        let [w_lo, w_hi] = word;
        vec![x(cpu::op), x(cpu::off), x(w_lo), x(w_hi), rs2_lo, x(cpu::r_lo), x(cpu::r_hi), q_lo.clone()]
    };
    let requests = vec![
        (
            alu_en - x(cpu::op_add) - x(cpu::op_sub),
            op_fields(vec![
                x(cpu::op),
                x(cpu::a_lo),
                x(cpu::a_hi),
                opnd_lo,
                opnd_hi,
                x(cpu::c_lo),
                x(cpu::c_hi),
            ]),
        ),
        // Loads relate the word read into `b` (rs2 is x0), stores the old word and rs2's low
        // half.
        (x(cpu::sub_load), sub_word([cpu::b_lo, cpu::b_hi], z0())),
        (x(cpu::sub_store), sub_word([cpu::rdp_lo, cpu::rdp_hi], x(cpu::b_lo))),
        (word_access, op_fields(vec![c::<AB>(op_tag::WORD), q_lo.clone()])),
        (own - ls.clone(), op_fields(vec![c::<AB>(op_tag::LIMB), x(cpu::c_lo)])),
        (
            x(cpu::s_read) + x(cpu::s_write) + x(cpu::s_halt),
            op_fields(vec![syscall_tag, x(cpu::b_lo), x(cpu::b_hi), x(cpu::r_lo), x(cpu::r_hi)]),
        ),
    ];
    b.push_exclusive_interaction(
        OP,
        requests.into_iter().map(|(flag, fields)| (flag, Count::bounded(AB::Expr::ONE, 1), fields)),
    );

    // Memory accesses at timestamps `time + 1..3`. No instruction makes more than three: the
    // first reads rs1 (a7 for ecall); the second reads rs2 (a0 for ecall) or, for a load, the
    // data word; the third writes rd (the sink for x0, a0 for ecall, or reads a1 for
    // WRITE_OUTPUT) or, for a store, the data word; branches make no third access. The ROM
    // decodes `reg2` = 0 for loads and `reg3` = 0 for stores, and `s_write` is zero off ecall
    // rows, so each address below is one of its cases.
    let ts = |k: u32| x(cpu::time) + c::<AB>(k);
    let accesses = [
        (
            x(cpu::reg1),
            (cpu::a_lo, cpu::a_hi),
            (cpu::a_lo, cpu::a_hi),
            (cpu::d1_lo, cpu::d1_hi),
            real.clone(),
        ),
        (
            x(cpu::reg2) + x(cpu::q_load),
            (cpu::b_lo, cpu::b_hi),
            (cpu::b_lo, cpu::b_hi),
            (cpu::d2_lo, cpu::d2_hi),
            real.clone(),
        ),
        (
            x(cpu::reg3) + x(cpu::s_write) + x(cpu::q) - x(cpu::q_load),
            (cpu::rdp_lo, cpu::rdp_hi),
            (cpu::r_lo, cpu::r_hi),
            (cpu::d3_lo, cpu::d3_hi),
            real.clone() - x(cpu::f_branch),
        ),
    ];
    for (k, (addr, (plo, phi), (nlo, nhi), (dlo, dhi), en)) in accesses.into_iter().enumerate() {
        // The previous access's timestamp is `now - 1 - gap` (`now = ts(k + 1)`) with the gap
        // `d_lo + 2^16·d_hi` range checked below 2^24, so it is earlier than `now` without a
        // column of its own.
        let prev = ts(k as u32) - x(dlo) - two16.clone() * x(dhi);
        recv(b, "mem", vec![addr.clone(), x(plo), x(phi), prev], en.clone());
        send(b, "mem", vec![addr, x(nlo), x(nhi), ts(k as u32 + 1)], en.clone());
        send(b, "r16", vec![x(dlo)], en);
    }
    // The gaps' high bytes, two in one lookup; an access a row does not make has a zero gap.
    send(b, "pair", vec![x(cpu::d1_hi), x(cpu::d2_hi)], real.clone());
    send(b, "pair", vec![AB::Expr::ZERO, x(cpu::d3_hi)], real);
}

fn eval_rom<AB: InteractionBuilder<F = Val>>(b: &mut AB) {
    let prep = b.preprocessed().current_slice().to_vec();
    let mult: AB::Expr = b.main().current_slice()[rom_main::mult].into();
    let fields = prep.iter().map(|&v| v.into()).collect();
    provide(b, "rom", fields, mult);
}

fn eval_boundary<AB: InteractionBuilder<F = Val>>(b: &mut AB) {
    let p: Vec<AB::Expr> = b.preprocessed().current_slice().iter().map(|&v| v.into()).collect();
    let fin_ts: AB::Expr = b.main().current_slice()[boundary_main::fin_ts].into();
    let real = p[boundary::is_real].clone();
    send(
        b,
        "mem",
        vec![
            p[boundary::addr].clone(),
            p[boundary::init_lo].clone(),
            p[boundary::init_hi].clone(),
            AB::Expr::ZERO,
        ],
        real.clone(),
    );
    recv(
        b,
        "mem",
        vec![p[boundary::addr].clone(), p[boundary::fin_lo].clone(), p[boundary::fin_hi].clone(), fin_ts],
        real,
    );
}

fn eval_io<AB: InteractionBuilder<F = Val>>(b: &mut AB) {
    let p: Vec<AB::Expr> = b.preprocessed().current_slice().iter().map(|&v| v.into()).collect();
    let mult: AB::Expr = b.main().current_slice()[io_main::mult].into();
    b.assert_zero((AB::Expr::ONE - p[io::free].clone()) * (mult.clone() - p[io::fixed].clone()));
    provide(b, OP, op_fields(p[io::kind..=io::hi].to_vec()), mult);
}

fn eval_range<AB: InteractionBuilder<F = Val>>(b: &mut AB) {
    let m: Vec<AB::Expr> = b.main().current_slice().iter().map(|&v| v.into()).collect();
    let (mut hi, mut lo, mut and, mut xor) = (AB::Expr::ZERO, AB::Expr::ZERO, AB::Expr::ZERO, AB::Expr::ZERO);
    for i in 0..8 {
        let (h, l) = (m[range::h0 + i].clone(), m[range::l0 + i].clone());
        b.assert_bool(h.clone());
        b.assert_bool(l.clone());
        let w = c::<AB>(1 << i);
        let both = h.clone() * l.clone();
        hi += w.clone() * h.clone();
        lo += w.clone() * l.clone();
        and += w.clone() * both.clone();
        xor += w * (h + l - both.clone() - both);
    }
    provide(b, "r16", vec![hi.clone() * c::<AB>(256) + lo.clone()], m[range::m16].clone());
    provide(b, "pair", vec![hi.clone(), lo.clone()], m[range::mpair].clone());
    provide(b, "byte", vec![hi.clone(), lo.clone(), and, xor], m[range::mbit].clone());
    let x = hi * c::<AB>(256) + lo;
    // x < 2^14: the top two bits of `hi` are clear.
    b.assert_zero(m[range::mword].clone() * (m[range::h6].clone() + m[range::h7].clone()));
    for (tag, mult) in [(op_tag::WORD, range::mword), (op_tag::LIMB, range::mlimb)] {
        provide(b, OP, op_fields(vec![c::<AB>(tag), x.clone()]), m[mult].clone());
    }
}

/// Field element from a u32 that is known to be below the modulus.
pub fn f(v: u32) -> Val {
    Val::from_u32(v)
}

/// Shorthand used by the trace generator: a field zero vector.
pub fn zeros(n: usize) -> Vec<Val> {
    Val::zero_vec(n)
}
