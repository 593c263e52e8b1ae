//! Byte and halfword loads and stores on the word-granular memory.
//!
//! The CPU does the word access itself (reading word `mp`, writing `mn`) and asks this table,
//! on the `op` bus, for the relation between the word, the byte offset, `rs2` and the result:
//! `(op, off, mp_lo, mp_hi, b_lo, v_lo, v_hi, q_lo)` where `v` is the loaded value (loads) or
//! the new word (stores) and `q_lo` the low part of the word address, which this table has the
//! range table check (below 2^14) for the CPU. The word is split into bytes here, so the CPU
//! needs no byte columns.

use p3_air::WindowAccess;
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;

use super::air::{OP, c, op_fields, op_tag, provide, send};
use super::alu::{sign8, sign16};
use super::config::Val;
use super::trace::RangeCount;
use crate::isa::Op;

columns!(
    /// One row per sub-word access: one-hot offset `o0..o3`, word bytes `w0..w3`, low bytes of
    /// `rs2`, the selected byte or halfword `sel` and its sign (`sgb` for LB, `sgh` for LH),
    /// the word address's low part `q_lo` (below 2^14).
    subword { o0, o1, o2, o3, w0, w1, w2, w3, b0, b1, sel, sgb, sgh, v_lo, v_hi, q_lo,
              is_lb, is_lh, is_lbu, is_lhu, is_sb, is_sh, mult }
);

pub(crate) fn eval_subword<AB: InteractionBuilder<F = Val>>(b: &mut AB) {
    use subword::*;
    let l: Vec<AB::Expr> = b.main().current_slice().iter().map(|&v| v.into()).collect();
    let x = |i: usize| l[i].clone();
    let one = AB::Expr::ONE;
    let k256 = c::<AB>(256);
    let ops = [
        (is_lb, Op::Lb),
        (is_lh, Op::Lh),
        (is_lbu, Op::Lbu),
        (is_lhu, Op::Lhu),
        (is_sb, Op::Sb),
        (is_sh, Op::Sh),
    ];
    let mut active = AB::Expr::ZERO;
    let mut op = AB::Expr::ZERO;
    for (col, o) in ops {
        b.assert_bool(x(col));
        active += x(col);
        op += x(col) * c::<AB>(o as u32);
    }
    b.assert_bool(active.clone());
    b.assert_zero(x(mult) * (one.clone() - active.clone()));
    let mut onehot = AB::Expr::ZERO;
    for k in 0..4 {
        b.assert_bool(x(o0 + k));
        onehot += x(o0 + k);
    }
    b.assert_eq(onehot, active.clone());
    let off = x(o1) + c::<AB>(2) * x(o2) + c::<AB>(3) * x(o3);
    let half = x(is_lh) + x(is_lhu) + x(is_sh);
    b.assert_zero(half * (x(o1) + x(o3)));

    for (hi, lo) in [(w1, w0), (w3, w2), (b1, b0)] {
        send(b, "pair", vec![x(hi), x(lo)], active.clone());
    }
    let h01 = x(w0) + k256.clone() * x(w1);
    let h23 = x(w2) + k256.clone() * x(w3);
    let bh = x(b0) + k256.clone() * x(b1);

    // Loads: the selected byte or (aligned) halfword, sign-extended for LB/LH.
    let byte_ld = x(is_lb) + x(is_lbu);
    let half_ld = x(is_lh) + x(is_lhu);
    let picked = (0..4).fold(AB::Expr::ZERO, |acc, k| acc + x(o0 + k) * x(w0 + k));
    b.assert_zero(byte_ld.clone() * (x(sel) - picked));
    b.assert_zero(half_ld.clone() * (x(sel) - x(o0) * h01.clone() - x(o2) * h23.clone()));
    b.assert_bool(x(sgb));
    b.assert_bool(x(sgh));
    b.assert_zero(x(sgb) * (one.clone() - x(is_lb)));
    b.assert_zero(x(sgh) * (one.clone() - x(is_lh)));
    sign8(b, x(sel), x(sgb), x(is_lb));
    sign16(b, x(sel), x(sgh), x(is_lh));
    let loads = byte_ld + half_ld;
    b.assert_zero(loads.clone() * (x(v_lo) - x(sel) - c::<AB>(0xff00) * x(sgb)));
    b.assert_zero(loads * (x(v_hi) - c::<AB>(0xffff) * (x(sgb) + x(sgh))));

    // Stores: the word with the addressed byte or halfword replaced.
    let keep = |o: usize, new: AB::Expr, old: AB::Expr| x(o) * new + (one.clone() - x(o)) * old;
    b.assert_zero(x(is_sb) * (x(v_lo) - keep(o0, x(b0), x(w0)) - k256.clone() * keep(o1, x(b0), x(w1))));
    b.assert_zero(x(is_sb) * (x(v_hi) - keep(o2, x(b0), x(w2)) - k256 * keep(o3, x(b0), x(w3))));
    b.assert_zero(x(is_sh) * (x(v_lo) - keep(o0, bh.clone(), h01.clone())));
    b.assert_zero(x(is_sh) * (x(v_hi) - keep(o2, bh.clone(), h23.clone())));

    send(b, OP, op_fields(vec![c::<AB>(op_tag::WORD), x(q_lo)]), active);
    provide(b, OP, vec![op, off, h01, h23, bh, x(v_lo), x(v_hi), x(q_lo)], x(mult));
}

/// Appends a row for a sub-word access to `word`, the low part of whose address is `word_lo`,
/// and returns `v`: the loaded value, or the new word.
pub(crate) fn subword_row(
    rows: &mut Vec<Val>,
    op: Op,
    off: u32,
    word: u32,
    rs2: u32,
    word_lo: u32,
    rc: &mut RangeCount,
) -> u32 {
    use subword::*;
    let start = rows.len();
    rows.resize(start + WIDTH, Val::ZERO);
    let r = &mut rows[start..];
    let bytes = word.to_le_bytes().map(u32::from);
    let shift = 8 * off;
    let sel_v = match op {
        Op::Lb | Op::Lbu => (word >> shift) & 0xff,
        Op::Lh | Op::Lhu => (word >> shift) & 0xffff,
        _ => 0,
    };
    let out = match op {
        Op::Lb => sel_v as u8 as i8 as i32 as u32,
        Op::Lh => sel_v as u16 as i16 as i32 as u32,
        Op::Lbu | Op::Lhu => sel_v,
        Op::Sb => (word & !(0xff << shift)) | ((rs2 & 0xff) << shift),
        _ => (word & !(0xffff << shift)) | ((rs2 & 0xffff) << shift),
    };
    r[o0 + off as usize] = Val::ONE;
    for k in 0..4 {
        r[w0 + k] = Val::from_u32(bytes[k]);
    }
    // Loads name x0 as rs2, so these are zero for them.
    r[b0] = Val::from_u32(rs2 & 0xff);
    r[b1] = Val::from_u32((rs2 >> 8) & 0xff);
    r[sel] = Val::from_u32(sel_v);
    r[sgb] = Val::from_bool(op == Op::Lb && sel_v >> 7 == 1);
    r[sgh] = Val::from_bool(op == Op::Lh && sel_v >> 15 == 1);
    r[v_lo] = Val::from_u32(out & 0xffff);
    r[v_hi] = Val::from_u32(out >> 16);
    r[q_lo] = Val::from_u32(word_lo);
    r[match op {
        Op::Lb => is_lb,
        Op::Lh => is_lh,
        Op::Lbu => is_lbu,
        Op::Lhu => is_lhu,
        Op::Sb => is_sb,
        _ => is_sh,
    }] = Val::ONE;
    r[mult] = Val::ONE;
    rc.pair(bytes[1], bytes[0]);
    rc.pair(bytes[3], bytes[2]);
    rc.pair((rs2 >> 8) & 0xff, rs2 & 0xff);
    rc.word(word_lo);
    match op {
        Op::Lb => rc.sign8(sel_v),
        Op::Lh => rc.sign16(sel_v),
        _ => {}
    }
    out
}
