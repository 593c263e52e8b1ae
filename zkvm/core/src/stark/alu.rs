//! The ALU tables: each proves `op(a, b) = c` for its family of operations and provides the
//! tuple `(op, a_lo, a_hi, b_lo, b_hi, c_lo, c_hi)` on the `op` bus, once per row it holds.
//!
//! Inputs arrive range checked (they are register values, immediates or other tables' outputs),
//! so a table only has to range check what it introduces itself. Divisions reuse the multiplier
//! and comparator by sending their own `alu` requests; shifts are a byte barrel shifter of
//! their own rather than a product with `2^sh`, which cost a multiplier row per shift. ADD and SUB,
//! which most instructions need (address arithmetic, BEQ/BNE), are done by the CPU row itself.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::InteractionBuilder;

use super::air::{OP, c, op_fields, provide, send};
use super::config::Val;
use super::trace::RangeCount;
use crate::isa::{Op, alu};

columns!(
    /// AND/OR/XOR on bytes: each byte pair is looked up with its AND and XOR (OR = AND + XOR).
    bitwise { a0, a1, a2, a3, b0, b1, b2, b3, n0, n1, n2, n3, x0, x1, x2, x3, is_and, is_or, is_xor, mult }
);

columns!(
    /// SLT/SLTU: `d + b = a + 2^32·lt` (so `lt` is the unsigned borrow); the signed result is
    /// `lt ⊕ sa ⊕ sb` with the operands' sign bits.
    lt { a_lo, a_hi, b_lo, b_hi, d_lo, d_hi, k0, lt, sa, sb, u, res, is_slt, is_sltu, mult }
);

columns!(
    /// SLL/SRL/SRA as a barrel shifter on bytes. The amount `sh = b mod 32` has bits `e0..e4`
    /// (`b_lo = sh + 32·rest`): each byte `a_i` of `a` is multiplied by `m = 2^r` (left) or
    /// `2^(8-r)` (right), `r = sh mod 8`, and split into bytes `lo_i + 256·hi_i`; neighbouring
    /// halves make the bytes shifted by `r`, which are then moved by `q = sh / 8` whole bytes
    /// into `c0..c3`. `p01` and `p` build `2^r` from the bits, `e34 = e3·e4` makes the byte
    /// move's selectors linear, `sign` is `a`'s top bit (SRA) and `top` the sign bits entering
    /// the top byte.
    shift { a0, a1, a2, a3, b_lo, b_hi, e0, e1, e2, e3, e4, rest, e34, p01, p, m,
            lo0, lo1, lo2, lo3, hi0, hi1, hi2, hi3, sign, top, c0, c1, c2, c3,
            is_sll, is_srl, is_sra, mult }
);

columns!(
    /// MUL/MULH/MULHSU/MULHU: the 64-bit product of the operands in bytes `p0..p7`, computed
    /// column by column with carries `k0..k7`, the operands zero-extended (`is_u`) or
    /// sign-extended as MULH (`is_mulh`) or MULHSU (`is_mulhsu`) extend them. A row answers
    /// MUL (the low word, the same for every extension) `m_lo` times and its high-word
    /// operation `m_hi` times: compilers follow a MUL by a MULHU of the same operands for a
    /// 64-bit product, and a division asks for both.
    mul { a0, a1, a2, a3, b0, b1, b2, b3, p0, p1, p2, p3, p4, p5, p6, p7,
          k0, k1, k2, k3, k4, k5, k6, k7, sa, sb, is_u, is_mulh, is_mulhsu, m_lo, m_hi }
);

columns!(
    /// DIV/DIVU/REM/REMU: `a = b·q + r` (64-bit, via the multiplier's `m` = low and `h` = high
    /// words of `b·q`), `|r| < |b|` unless `b = 0`, `r` has `a`'s sign; `bz` marks `b = 0`
    /// (then `q = -1`), `ovf` marks `INT_MIN / -1` (whose 64-bit product is the one that
    /// wraps). `ar`/`ab` are `|r|`/`|b|` with borrows `j0`/`j1`.
    div { a_lo, a_hi, b_lo, b_hi, q_lo, q_hi, r_lo, r_hi, m_lo, m_hi, h_lo, h_hi, k0, k1, k2, k3,
          sa, sb, sr, ar_lo, ar_hi, j0, ab_lo, ab_hi, j1, bz, binv, ovf,
          is_div, is_divu, is_rem, is_remu, mult }
);

fn flags<AB: InteractionBuilder<F = Val>>(
    b: &mut AB,
    l: &[AB::Expr],
    cols: &[usize],
    mult: usize,
) -> AB::Expr {
    let mut active = AB::Expr::ZERO;
    for &col in cols {
        b.assert_bool(l[col].clone());
        active += l[col].clone();
    }
    b.assert_bool(active.clone());
    // Padding rows provide nothing.
    b.assert_zero(l[mult].clone() * (AB::Expr::ONE - active.clone()));
    active
}

fn op_of<AB: AirBuilder>(l: &[AB::Expr], pairs: &[(usize, Op)]) -> AB::Expr {
    pairs.iter().fold(AB::Expr::ZERO, |acc, &(col, op)| acc + l[col].clone() * c::<AB>(op as u32))
}

fn row<AB: AirBuilder>(b: &mut AB) -> Vec<AB::Expr> {
    b.main().current_slice().iter().map(|&v| v.into()).collect()
}

/// Two bytes as a 16-bit limb.
fn limb<AB: AirBuilder>(lo: AB::Expr, hi: AB::Expr) -> AB::Expr {
    lo + c::<AB>(256) * hi
}

/// The word in the four byte columns from `first`, as its two limbs.
fn byte_word<AB: AirBuilder>(l: &[AB::Expr], first: usize) -> [AB::Expr; 2] {
    let x = |i: usize| l[first + i].clone();
    [limb::<AB>(x(0), x(1)), limb::<AB>(x(2), x(3))]
}

/// An `op` bus message: the operation, then the limbs of the operands and of the result.
fn op_message<E: PrimeCharacteristicRing>(op: E, a: [E; 2], b: [E; 2], out: [E; 2]) -> Vec<E> {
    let ([a_lo, a_hi], [b_lo, b_hi], [c_lo, c_hi]) = (a, b, out);
    op_fields(vec![op, a_lo, a_hi, b_lo, b_hi, c_lo, c_hi])
}

pub(crate) fn eval_bitwise<AB: InteractionBuilder<F = Val>>(b: &mut AB) {
    use bitwise::*;
    let l = row(b);
    let x = |i: usize| l[i].clone();
    let active = flags(b, &l, &[is_and, is_or, is_xor], mult);
    let mut res = Vec::new();
    for k in 0..4 {
        send(b, "byte", vec![x(a0 + k), x(b0 + k), x(n0 + k), x(x0 + k)], active.clone());
        // OR = AND + XOR, bit by bit without carries.
        res.push((x(is_and) + x(is_or)) * x(n0 + k) + (x(is_xor) + x(is_or)) * x(x0 + k));
    }
    let op = op_of::<AB>(&l, &[(is_and, Op::And), (is_or, Op::Or), (is_xor, Op::Xor)]);
    let out = byte_word::<AB>(&res, 0);
    provide(b, OP, op_message(op, byte_word::<AB>(&l, a0), byte_word::<AB>(&l, b0), out), x(mult));
}

/// Sends the lookups proving `hi = 2^15·s + rest` with `rest < 2^15`, when `en`.
pub(crate) fn sign16<AB: InteractionBuilder<F = Val>>(b: &mut AB, hi: AB::Expr, s: AB::Expr, en: AB::Expr) {
    let rest = hi - c::<AB>(1 << 15) * s;
    send(b, "r16", vec![rest.clone()], en.clone());
    send(b, "r16", vec![rest + c::<AB>(1 << 15)], en);
}

pub(crate) fn eval_lt<AB: InteractionBuilder<F = Val>>(b: &mut AB) {
    use lt::*;
    let l = row(b);
    let x = |i: usize| l[i].clone();
    let two16 = c::<AB>(1 << 16);
    for col in [k0, lt, sa, sb] {
        b.assert_bool(x(col));
    }
    let active = flags(b, &l, &[is_slt, is_sltu], mult);
    b.assert_zero(x(d_lo) + x(b_lo) - x(a_lo) - two16.clone() * x(k0));
    b.assert_zero(x(d_hi) + x(b_hi) + x(k0) - x(a_hi) - two16 * x(lt));
    send(b, "r16", vec![x(d_lo)], active.clone());
    send(b, "r16", vec![x(d_hi)], active);
    // Unsigned comparisons have no sign bits, so one formula serves both.
    b.assert_zero(x(is_sltu) * x(sa));
    b.assert_zero(x(is_sltu) * x(sb));
    sign16(b, x(a_hi), x(sa), x(is_slt));
    sign16(b, x(b_hi), x(sb), x(is_slt));
    let two = c::<AB>(2);
    b.assert_zero(x(u) - x(sa) - x(sb) + two.clone() * x(sa) * x(sb));
    b.assert_zero(x(res) - x(lt) - x(u) + two * x(lt) * x(u));
    let op = op_of::<AB>(&l, &[(is_slt, Op::Slt), (is_sltu, Op::Sltu)]);
    provide(b, OP, op_message(op, [x(a_lo), x(a_hi)], [x(b_lo), x(b_hi)], [x(res), AB::Expr::ZERO]), x(mult));
}

pub(crate) fn eval_shift<AB: InteractionBuilder<F = Val>>(b: &mut AB) {
    use shift::*;
    let l = row(b);
    let x = |i: usize| l[i].clone();
    let one = AB::Expr::ONE;
    for col in [e0, e1, e2, e3, e4, sign] {
        b.assert_bool(x(col));
    }
    let active = flags(b, &l, &[is_sll, is_srl, is_sra], mult);
    let right = x(is_srl) + x(is_sra);
    // b_lo = sh + 32·rest with rest < 2^11.
    let sh = x(e0) + c::<AB>(2) * x(e1) + c::<AB>(4) * x(e2) + c::<AB>(8) * x(e3) + c::<AB>(16) * x(e4);
    b.assert_zero(active.clone() * (x(b_lo) - sh - c::<AB>(32) * x(rest)));
    send(b, "r16", vec![x(rest)], active.clone());
    send(b, "r16", vec![x(rest) + c::<AB>((1 << 16) - (1 << 11))], active.clone());
    // p = 2^r; m = p for SLL and 256 / p for right shifts.
    b.assert_zero(active.clone() * (x(p01) - (one.clone() + x(e0)) * (one.clone() + c::<AB>(3) * x(e1))));
    b.assert_zero(active.clone() * (x(p) - x(p01) * (one.clone() + c::<AB>(15) * x(e2))));
    b.assert_zero(x(is_sll) * (x(m) - x(p)));
    b.assert_zero(right.clone() * (x(m) * x(p) - c::<AB>(256)));
    // a_i·m < 2^16 splits into unique bytes.
    for i in 0..4 {
        b.assert_zero(x(a0 + i) * x(m) - x(lo0 + i) - c::<AB>(256) * x(hi0 + i));
    }
    for (hi, lo) in [(a1, a0), (a3, a2), (hi0, lo0), (hi1, lo1), (hi2, lo2), (hi3, lo3)] {
        send(b, "pair", vec![x(hi), x(lo)], active.clone());
    }
    // SRA fills with a's top bit, the others with zeros.
    sign8(b, x(a3), x(sign), x(is_sra));
    b.assert_zero((one.clone() - x(is_sra)) * x(sign));
    b.assert_zero(x(top) - x(sign) * (c::<AB>(256) - x(m)));
    let fill = c::<AB>(255) * x(sign);
    // Bytes shifted by r: left s_k = lo_k + hi_(k-1), right t_k = hi_k + lo_(k+1) (the top
    // byte takes `top`, bytes beyond it are `fill`).
    let s_byte = |k: usize| x(lo0 + k) + if k > 0 { x(hi0 + k - 1) } else { AB::Expr::ZERO };
    let t_byte = |k: usize| match k {
        0..=2 => x(hi0 + k) + x(lo0 + k + 1),
        3 => x(hi3) + x(top),
        _ => fill.clone(),
    };
    // One-hot byte move q = e3 + 2·e4, linear in e3, e4 and e34.
    let z = [one.clone() - x(e3) - x(e4) + x(e34), x(e3) - x(e34), x(e4) - x(e34), x(e34)];
    b.assert_zero(x(e34) - x(e3) * x(e4));
    for k in 0..4 {
        let left = (0..=k).fold(AB::Expr::ZERO, |acc, q| acc + z[q].clone() * s_byte(k - q));
        let right_k = (0..4).fold(AB::Expr::ZERO, |acc, q| acc + z[q].clone() * t_byte(k + q));
        b.assert_zero(x(is_sll) * (x(c0 + k) - left));
        b.assert_zero(right.clone() * (x(c0 + k) - right_k));
    }
    let op = op_of::<AB>(&l, &[(is_sll, Op::Sll), (is_srl, Op::Srl), (is_sra, Op::Sra)]);
    let fields = op_message(op, byte_word::<AB>(&l, a0), [x(b_lo), x(b_hi)], byte_word::<AB>(&l, c0));
    provide(b, OP, fields, x(mult));
}

/// Sends the lookup proving `byte = 128·s + rest` with `rest < 128`, when `en`: `rest` and
/// `rest + 128` both being bytes bounds `rest` from both sides in one `pair` message.
pub(crate) fn sign8<AB: InteractionBuilder<F = Val>>(b: &mut AB, byte: AB::Expr, s: AB::Expr, en: AB::Expr) {
    let rest = byte - c::<AB>(128) * s;
    send(b, "pair", vec![rest.clone(), rest + c::<AB>(128)], en);
}

pub(crate) fn eval_mul<AB: InteractionBuilder<F = Val>>(b: &mut AB) {
    use mul::*;
    let l = row(b);
    let x = |i: usize| l[i].clone();
    b.assert_bool(x(sa));
    b.assert_bool(x(sb));
    let active = flags(b, &l, &[is_u, is_mulh, is_mulhsu], m_lo);
    b.assert_zero(x(m_hi) * (AB::Expr::ONE - active.clone()));
    b.assert_zero(x(sa) * x(is_u));
    b.assert_zero(x(sb) * (AB::Expr::ONE - x(is_mulh)));
    sign8(b, x(a3), x(sa), x(is_mulh) + x(is_mulhsu));
    sign8(b, x(b3), x(sb), x(is_mulh));
    for (hi, lo) in [(a1, a0), (a3, a2), (b1, b0), (b3, b2), (p1, p0), (p3, p2), (p5, p4), (p7, p6)] {
        send(b, "pair", vec![x(hi), x(lo)], active.clone());
    }
    let ext = |base: usize, s: usize, i: usize| if i < 4 { x(base + i) } else { c::<AB>(255) * x(s) };
    for k in 0..8 {
        let mut sum = if k > 0 { x(k0 + k - 1) } else { AB::Expr::ZERO };
        for i in 0..=k {
            sum += ext(a0, sa, i) * ext(b0, sb, k - i);
        }
        b.assert_zero(sum - x(p0 + k) - c::<AB>(256) * x(k0 + k));
        send(b, "r16", vec![x(k0 + k)], active.clone());
    }
    let high_op = op_of::<AB>(&l, &[(is_u, Op::Mulhu), (is_mulh, Op::Mulh), (is_mulhsu, Op::Mulhsu)]);
    for (op, p, m) in [(c::<AB>(Op::Mul as u32), p0, m_lo), (high_op, p4, m_hi)] {
        let fields = op_message(op, byte_word::<AB>(&l, a0), byte_word::<AB>(&l, b0), byte_word::<AB>(&l, p));
        provide(b, OP, fields, x(m));
    }
}

pub(crate) fn eval_div<AB: InteractionBuilder<F = Val>>(b: &mut AB) {
    use div::*;
    let l = row(b);
    let x = |i: usize| l[i].clone();
    let one = AB::Expr::ONE;
    let two16 = c::<AB>(1 << 16);
    let ffff = c::<AB>(0xffff);
    for col in [k0, k1, k2, k3, sa, sb, sr, j0, j1, bz, ovf] {
        b.assert_bool(x(col));
    }
    let active = flags(b, &l, &[is_div, is_divu, is_rem, is_remu], mult);
    let sg = x(is_div) + x(is_rem);
    let us = x(is_divu) + x(is_remu);

    // Signs (signed ops only).
    for s in [sa, sb, sr] {
        b.assert_zero(us.clone() * x(s));
    }
    sign16(b, x(a_hi), x(sa), sg.clone());
    sign16(b, x(b_hi), x(sb), sg.clone());
    sign16(b, x(r_hi), x(sr), sg.clone());
    send(b, "r16", vec![x(r_lo)], active.clone());
    send(b, "r16", vec![x(r_hi)], active.clone());

    // b = 0 ⇔ bz, and then q = 2^32 - 1 (r = a follows from the equation).
    b.assert_zero(x(bz) * x(b_lo));
    b.assert_zero(x(bz) * x(b_hi));
    b.assert_zero((x(b_lo) + x(b_hi)) * x(binv) - active.clone() + x(bz));
    b.assert_zero(x(bz) * (x(q_lo) - ffff.clone()));
    b.assert_zero(x(bz) * (x(q_hi) - ffff.clone()));

    // ovf only for INT_MIN / -1 in a signed op.
    b.assert_zero(x(ovf) * x(a_lo));
    b.assert_zero(x(ovf) * (x(a_hi) - c::<AB>(0x8000)));
    b.assert_zero(x(ovf) * (x(b_lo) - ffff.clone()));
    b.assert_zero(x(ovf) * (x(b_hi) - ffff.clone()));
    b.assert_zero(x(ovf) * us.clone());

    // b·q = h:m from the multiplier (signed for DIV/REM).
    let mul_hi = sg.clone() * c::<AB>(Op::Mulh as u32) + us.clone() * c::<AB>(Op::Mulhu as u32);
    for (op, lo, hi) in [(c::<AB>(Op::Mul as u32), m_lo, m_hi), (mul_hi, h_lo, h_hi)] {
        let fields = op_message(op, [x(b_lo), x(b_hi)], [x(q_lo), x(q_hi)], [x(lo), x(hi)]);
        send(b, OP, fields, active.clone());
    }

    // h:m + sext(r) = sext(a) (mod 2^64); unsigned ops have no high part at all.
    b.assert_zero(x(m_lo) + x(r_lo) - x(a_lo) - two16.clone() * x(k0));
    b.assert_zero(x(m_hi) + x(r_hi) + x(k0) - x(a_hi) - two16.clone() * x(k1));
    b.assert_zero(us.clone() * x(k1));
    b.assert_zero(us.clone() * x(h_lo));
    b.assert_zero(us * x(h_hi));
    let hi_en = sg * (one.clone() - x(ovf));
    b.assert_zero(
        hi_en.clone()
            * (x(h_lo) + ffff.clone() * x(sr) + x(k1) - ffff.clone() * x(sa) - two16.clone() * x(k2)),
    );
    b.assert_zero(
        hi_en * (x(h_hi) + ffff.clone() * x(sr) + x(k2) - ffff.clone() * x(sa) - two16.clone() * x(k3)),
    );

    // A non-zero remainder has the dividend's sign.
    b.assert_zero(x(sr) * (one.clone() - x(sa)));
    b.assert_zero((x(sa) - x(sr)) * (x(r_lo) + x(r_hi)));

    // |r| < |b| when b ≠ 0, with |v| = 2^32 - v for a negative v.
    for (v_lo, v_hi, s, j, m_lo_, m_hi_) in
        [(r_lo, r_hi, sr, j0, ar_lo, ar_hi), (b_lo, b_hi, sb, j1, ab_lo, ab_hi)]
    {
        b.assert_zero((one.clone() - x(s)) * x(j));
        b.assert_zero(x(m_lo_) - x(v_lo) - x(s) * (two16.clone() * x(j) - c::<AB>(2) * x(v_lo)));
        b.assert_zero(x(m_hi_) - x(v_hi) - x(s) * (two16.clone() - x(j) - c::<AB>(2) * x(v_hi)));
        send(b, "r16", vec![x(m_lo_)], active.clone());
        send(b, "r16", vec![x(m_hi_)], active.clone());
    }
    send(
        b,
        OP,
        op_message(
            c::<AB>(Op::Sltu as u32),
            [x(ar_lo), x(ar_hi)],
            [x(ab_lo), x(ab_hi)],
            [one, AB::Expr::ZERO],
        ),
        active - x(bz),
    );

    let quot = x(is_div) + x(is_divu);
    let rem = x(is_rem) + x(is_remu);
    let out_lo = quot.clone() * x(q_lo) + rem.clone() * x(r_lo);
    let out_hi = quot * x(q_hi) + rem * x(r_hi);
    let op =
        op_of::<AB>(&l, &[(is_div, Op::Div), (is_divu, Op::Divu), (is_rem, Op::Rem), (is_remu, Op::Remu)]);
    provide(b, OP, op_message(op, [x(a_lo), x(a_hi)], [x(b_lo), x(b_hi)], [out_lo, out_hi]), x(mult));
}

fn v(x: u32) -> Val {
    Val::from_u32(x)
}

fn put_limbs(r: &mut [Val], lo: usize, hi: usize, x: u32) {
    r[lo] = v(x & 0xffff);
    r[hi] = v(x >> 16);
}

fn put_bytes(r: &mut [Val], first: usize, x: u32) {
    for (k, byte) in x.to_le_bytes().into_iter().enumerate() {
        r[first + k] = v(u32::from(byte));
    }
}

/// Rows of every ALU table, filled as the CPU (and the tables themselves) call operations.
#[derive(Default)]
pub(crate) struct AluTrace {
    /// Rows per table, flattened, in the order of [`AluTrace::WIDTHS`].
    pub tables: [Vec<Val>; 5],
    /// The operands and extension column of the multiplier's last row, which the next
    /// multiplication answers too if it has the same operands.
    last_product: Option<(u32, u32, usize)>,
}

impl AluTrace {
    /// Widths of the ALU tables, in proof order.
    pub const WIDTHS: [usize; 5] = [bitwise::WIDTH, lt::WIDTH, shift::WIDTH, mul::WIDTH, div::WIDTH];

    fn new_row(&mut self, table: usize) -> &mut [Val] {
        let w = Self::WIDTHS[table];
        let t = &mut self.tables[table];
        t.resize(t.len() + w, Val::ZERO);
        let n = t.len();
        &mut t[n - w..]
    }

    /// Records `op(a, b)` in its table (and whatever that table needs), returning the result.
    pub fn call(&mut self, op: Op, a: u32, b: u32, rc: &mut RangeCount) -> u32 {
        let out = alu(op, a, b);
        match op {
            Op::And | Op::Or | Op::Xor => self.bitwise(op, a, b, out, rc),
            Op::Slt | Op::Sltu => self.lt(op, a, b, out, rc),
            Op::Sll | Op::Srl | Op::Sra => self.shift(op, a, b, out, rc),
            Op::Mul | Op::Mulh | Op::Mulhsu | Op::Mulhu => self.mul(op, a, b, rc),
            Op::Div | Op::Divu | Op::Rem | Op::Remu => self.div(op, a, b, out, rc),
            _ => unreachable!("{op:?} is not an ALU table operation"),
        }
        out
    }

    fn bitwise(&mut self, op: Op, a: u32, b: u32, _out: u32, rc: &mut RangeCount) {
        use bitwise::*;
        let r = self.new_row(0);
        put_bytes(r, a0, a);
        put_bytes(r, b0, b);
        put_bytes(r, n0, a & b);
        put_bytes(r, x0, a ^ b);
        for k in 0..4 {
            rc.byte((a >> (8 * k)) & 0xff, (b >> (8 * k)) & 0xff);
        }
        r[match op {
            Op::And => is_and,
            Op::Or => is_or,
            _ => is_xor,
        }] = Val::ONE;
        r[mult] = Val::ONE;
    }

    fn lt(&mut self, op: Op, a: u32, b: u32, out: u32, rc: &mut RangeCount) {
        use lt::*;
        let r = self.new_row(1);
        put_limbs(r, a_lo, a_hi, a);
        put_limbs(r, b_lo, b_hi, b);
        let d = a.wrapping_sub(b);
        put_limbs(r, d_lo, d_hi, d);
        r[k0] = Val::from_bool((a & 0xffff) < (b & 0xffff));
        r[lt] = Val::from_bool(a < b);
        let signed = op == Op::Slt;
        let (s_a, s_b) = if signed { (a >> 31, b >> 31) } else { (0, 0) };
        r[sa] = v(s_a);
        r[sb] = v(s_b);
        r[u] = v(s_a ^ s_b);
        r[res] = v(out);
        r[if signed { is_slt } else { is_sltu }] = Val::ONE;
        r[mult] = Val::ONE;
        rc.r16(d & 0xffff);
        rc.r16(d >> 16);
        if signed {
            rc.sign16(a >> 16);
            rc.sign16(b >> 16);
        }
    }

    fn shift(&mut self, op: Op, a: u32, b: u32, out: u32, rc: &mut RangeCount) {
        use shift::*;
        let sh = b & 31;
        let rest_v = (b & 0xffff) >> 5;
        let p_v = 1u32 << (sh & 7);
        let m_v = if op == Op::Sll { p_v } else { 256 / p_v };
        let sign_v = u32::from(op == Op::Sra && (a as i32) < 0);
        let r = self.new_row(2);
        put_bytes(r, a0, a);
        put_limbs(r, b_lo, b_hi, b);
        for k in 0..5 {
            r[e0 + k] = v((sh >> k) & 1);
        }
        r[rest] = v(rest_v);
        r[e34] = v((sh >> 3) & (sh >> 4) & 1);
        r[p01] = v(1 << (sh & 3));
        r[p] = v(p_v);
        r[m] = v(m_v);
        for (i, byte) in a.to_le_bytes().into_iter().enumerate() {
            let prod = u32::from(byte) * m_v;
            r[lo0 + i] = v(prod & 0xff);
            r[hi0 + i] = v(prod >> 8);
            rc.pair(prod >> 8, prod & 0xff);
        }
        r[sign] = v(sign_v);
        r[top] = v(sign_v * (256 - m_v));
        put_bytes(r, c0, out);
        r[match op {
            Op::Sll => is_sll,
            Op::Srl => is_srl,
            _ => is_sra,
        }] = Val::ONE;
        r[mult] = Val::ONE;
        rc.pair(a >> 8 & 0xff, a & 0xff);
        rc.pair(a >> 24, a >> 16 & 0xff);
        if op == Op::Sra {
            rc.sign8(a >> 24);
        }
        rc.r16(rest_v);
        rc.r16(rest_v + (1 << 16) - (1 << 11));
    }

    fn mul(&mut self, op: Op, a: u32, b: u32, rc: &mut RangeCount) {
        use mul::*;
        let kind = match op {
            Op::Mulh => is_mulh,
            Op::Mulhsu => is_mulhsu,
            _ => is_u,
        };
        let count = if op == Op::Mul { m_lo } else { m_hi };
        // MUL's low word does not depend on the extension, so any row with its operands serves.
        if let Some((la, lb, lkind)) = self.last_product
            && (la, lb) == (a, b)
            && (op == Op::Mul || lkind == kind)
        {
            let t = &mut self.tables[3];
            let row = t.len() - mul::WIDTH;
            t[row + count] += Val::ONE;
            return;
        }
        self.last_product = Some((a, b, kind));
        let s_a = matches!(op, Op::Mulh | Op::Mulhsu) && a >> 31 == 1;
        let s_b = op == Op::Mulh && b >> 31 == 1;
        let ext = |x: u32, s: bool| -> [u32; 8] {
            let mut out = [if s { 255 } else { 0 }; 8];
            for (k, byte) in x.to_le_bytes().into_iter().enumerate() {
                out[k] = u32::from(byte);
            }
            out
        };
        let (ae, be) = (ext(a, s_a), ext(b, s_b));
        let r = self.new_row(3);
        put_bytes(r, a0, a);
        put_bytes(r, b0, b);
        let mut carry = 0u32;
        let mut prod = [0u32; 8];
        for k in 0..8 {
            let sum: u32 = (0..=k).map(|i| ae[i] * be[k - i]).sum::<u32>() + carry;
            prod[k] = sum & 0xff;
            carry = sum >> 8;
            r[p0 + k] = v(prod[k]);
            r[k0 + k] = v(carry);
            rc.r16(carry);
        }
        r[sa] = Val::from_bool(s_a);
        r[sb] = Val::from_bool(s_b);
        r[kind] = Val::ONE;
        r[count] = Val::ONE;
        for (hi, lo) in [(ae[1], ae[0]), (ae[3], ae[2]), (be[1], be[0]), (be[3], be[2])] {
            rc.pair(hi, lo);
        }
        for k in 0..4 {
            rc.pair(prod[2 * k + 1], prod[2 * k]);
        }
        if matches!(op, Op::Mulh | Op::Mulhsu) {
            rc.sign8(ae[3]);
        }
        if op == Op::Mulh {
            rc.sign8(be[3]);
        }
    }

    fn div(&mut self, op: Op, a: u32, b: u32, out: u32, rc: &mut RangeCount) {
        use div::*;
        let signed = matches!(op, Op::Div | Op::Rem);
        let q = if signed { alu(Op::Div, a, b) } else { alu(Op::Divu, a, b) };
        let rm = if signed { alu(Op::Rem, a, b) } else { alu(Op::Remu, a, b) };
        debug_assert_eq!(out, if matches!(op, Op::Div | Op::Divu) { q } else { rm });
        let m = self.call(Op::Mul, b, q, rc);
        let h = self.call(if signed { Op::Mulh } else { Op::Mulhu }, b, q, rc);
        let neg = |x: u32| signed && x >> 31 == 1;
        let abs = |x: u32| if neg(x) { x.wrapping_neg() } else { x };
        if b != 0 {
            self.call(Op::Sltu, abs(rm), abs(b), rc);
        }
        let r = self.new_row(4);
        put_limbs(r, a_lo, a_hi, a);
        put_limbs(r, b_lo, b_hi, b);
        put_limbs(r, q_lo, q_hi, q);
        put_limbs(r, r_lo, r_hi, rm);
        put_limbs(r, m_lo, m_hi, m);
        put_limbs(r, h_lo, h_hi, h);
        // Carries of h:m + sext(r) = sext(a) (mod 2^64), limb by limb.
        let sext_hi = |x: u32| if neg(x) { 0xffff } else { 0 };
        let lo = (m & 0xffff) + (rm & 0xffff);
        let mid = (m >> 16) + (rm >> 16) + (lo >> 16);
        let top0 = (h & 0xffff) + sext_hi(rm) + (mid >> 16);
        let top1 = (h >> 16) + sext_hi(rm) + (top0 >> 16);
        r[k0] = v(lo >> 16);
        r[k1] = v(mid >> 16);
        let is_ovf = signed && a == 0x8000_0000 && b == u32::MAX;
        if signed && !is_ovf {
            r[k2] = v(top0 >> 16);
            r[k3] = v(top1 >> 16);
        }
        r[sa] = Val::from_bool(neg(a));
        r[sb] = Val::from_bool(neg(b));
        r[sr] = Val::from_bool(neg(rm));
        put_limbs(r, ar_lo, ar_hi, abs(rm));
        put_limbs(r, ab_lo, ab_hi, abs(b));
        r[j0] = Val::from_bool(neg(rm) && rm & 0xffff != 0);
        r[j1] = Val::from_bool(neg(b) && b & 0xffff != 0);
        r[bz] = Val::from_bool(b == 0);
        if b != 0 {
            r[binv] = v((b & 0xffff) + (b >> 16)).inverse();
        }
        r[ovf] = Val::from_bool(is_ovf);
        r[match op {
            Op::Div => is_div,
            Op::Divu => is_divu,
            Op::Rem => is_rem,
            _ => is_remu,
        }] = Val::ONE;
        r[mult] = Val::ONE;
        if signed {
            rc.sign16(a >> 16);
            rc.sign16(b >> 16);
            rc.sign16(rm >> 16);
        }
        for x in [rm, abs(rm), abs(b)] {
            rc.r16(x & 0xffff);
            rc.r16(x >> 16);
        }
    }
}
