//! A tiny RV32IM assembler and ELF writer for hand-made test programs.

pub fn r_type(f7: u32, rs2: u32, rs1: u32, f3: u32, rd: u32, opc: u32) -> u32 {
    (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc
}
pub fn i_type(imm: i32, rs1: u32, f3: u32, rd: u32, opc: u32) -> u32 {
    (((imm as u32) & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc
}
pub fn s_type(imm: i32, rs2: u32, rs1: u32, f3: u32) -> u32 {
    let imm = imm as u32;
    (((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1f) << 7) | 0x23
}
pub fn b_type(imm: i32, rs2: u32, rs1: u32, f3: u32) -> u32 {
    let imm = imm as u32;
    (((imm >> 12) & 1) << 31)
        | (((imm >> 5) & 0x3f) << 25)
        | (rs2 << 20)
        | (rs1 << 15)
        | (f3 << 12)
        | (((imm >> 1) & 0xf) << 8)
        | (((imm >> 11) & 1) << 7)
        | 0x63
}
pub fn j_type(imm: i32, rd: u32) -> u32 {
    let imm = imm as u32;
    (((imm >> 20) & 1) << 31)
        | (((imm >> 1) & 0x3ff) << 21)
        | (((imm >> 11) & 1) << 20)
        | (((imm >> 12) & 0xff) << 12)
        | (rd << 7)
        | 0x6f
}
pub fn u_type(imm20: u32, rd: u32, opc: u32) -> u32 {
    (imm20 << 12) | (rd << 7) | opc
}

/// `li rd, value` as `lui` + `addi`.
pub fn li(code: &mut Vec<u32>, rd: u32, value: u32) {
    let lo = ((value << 20) as i32) >> 20;
    let hi = value.wrapping_sub(lo as u32) >> 12;
    code.push(u_type(hi, rd, 0x37));
    code.push(i_type(lo, rd, 0, rd, 0x13));
}

/// Writes a 4-byte output, the word in `reg`: WRITE_OUTPUT of the tape's byte length, then
/// of the word (clobbers a0, a1 and a7).
pub fn output_word(code: &mut Vec<u32>, reg: u32) {
    let (a0, a1, a7) = (10, 11, 17);
    li(code, a7, 0x101);
    li(code, a0, 0);
    li(code, a1, 4);
    code.push(0x73); // output[0] = 4 (byte length)
    li(code, a0, 1);
    code.push(i_type(0, reg, 0, a1, 0x13));
    code.push(0x73); // output[1] = reg
}

/// Load address of the single RWX segment every generated ELF uses.
pub const BASE: u32 = 0x10000;
/// ELF header + one program header.
pub const HEADER: u32 = 52 + 32;

/// An ELF with one RWX segment holding `code` (entry at its first word) then `data`.
pub fn elf(code: &[u32], data: &[u8]) -> Vec<u8> {
    let total = HEADER + 4 * code.len() as u32 + data.len() as u32;
    let mut file = Vec::new();
    let mut ident = [0u8; 16];
    ident[..7].copy_from_slice(&[0x7f, b'E', b'L', b'F', 1, 1, 1]);
    file.extend_from_slice(&ident);
    for half in [2u16, 0xf3] {
        file.extend_from_slice(&half.to_le_bytes());
    }
    for word in [1u32, BASE + HEADER, 52, 0, 0] {
        file.extend_from_slice(&word.to_le_bytes());
    }
    for half in [52u16, 32, 1, 40, 0, 0] {
        file.extend_from_slice(&half.to_le_bytes());
    }
    for word in [1u32, 0, BASE, BASE, total, total, 7, 0x1000] {
        file.extend_from_slice(&word.to_le_bytes());
    }
    for w in code {
        file.extend_from_slice(&w.to_le_bytes());
    }
    file.extend_from_slice(data);
    file
}
