//! ELF32 RISC-V loader: turns a guest binary into the immutable [`Program`] image the VM runs.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::isa::{Instr, decode};

/// Why an ELF file cannot be loaded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ElfError {
    /// The file is shorter than a header it declares.
    #[error("ELF file truncated: {0}")]
    Truncated(&'static str),
    /// The file is not a little-endian ELF32 RISC-V executable.
    #[error("not a little-endian ELF32 RISC-V executable: {0}")]
    WrongFormat(&'static str),
    /// A loadable segment is malformed (overlapping, misaligned or out of the address space).
    #[error("bad loadable segment: {0}")]
    BadSegment(&'static str),
    /// The program has no executable segment.
    #[error("ELF has no executable segment")]
    NoCode,
    /// The entry point is not an aligned address inside the code.
    #[error("entry point {0:#x} is not an aligned address inside the code")]
    BadEntry(u32),
}

/// A loaded guest program: code, initial memory and entry point.
#[derive(Clone, Debug)]
pub struct Program {
    /// Address of the first instruction executed.
    pub entry: u32,
    /// Address of `code[0]`; code is word-aligned and contiguous.
    pub code_base: u32,
    /// Raw instruction words of the executable range, one per 4 bytes.
    pub code_words: Vec<u32>,
    /// Decoded instructions, `None` where the word is not RV32IM.
    pub code: Vec<Option<Instr>>,
    /// Non-zero initial memory words keyed by word-aligned byte address (code included).
    pub image: BTreeMap<u32, u32>,
}

const PT_LOAD: u32 = 1;
const PF_X: u32 = 1;
const EM_RISCV: u16 = 0xf3;

fn u16_at(b: &[u8], off: usize) -> Result<u16, ElfError> {
    b.get(off..off + 2).map(|s| u16::from_le_bytes([s[0], s[1]])).ok_or(ElfError::Truncated("header field"))
}

fn u32_at(b: &[u8], off: usize) -> Result<u32, ElfError> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(ElfError::Truncated("header field"))
}

impl Program {
    /// Parses an ELF32 RISC-V executable.
    pub fn from_elf(elf: &[u8]) -> Result<Self, ElfError> {
        if elf.len() < 52 {
            return Err(ElfError::Truncated("ELF header"));
        }
        if elf[0..4] != [0x7f, b'E', b'L', b'F'] {
            return Err(ElfError::WrongFormat("bad magic"));
        }
        if elf[4] != 1 || elf[5] != 1 {
            return Err(ElfError::WrongFormat("not ELF32 little-endian"));
        }
        if u16_at(elf, 18)? != EM_RISCV {
            return Err(ElfError::WrongFormat("machine is not RISC-V"));
        }
        let entry = u32_at(elf, 24)?;
        let phoff = u32_at(elf, 28)? as usize;
        let phentsize = usize::from(u16_at(elf, 42)?);
        let phnum = usize::from(u16_at(elf, 44)?);
        if phentsize < 32 {
            return Err(ElfError::WrongFormat("program header entry too small"));
        }

        let mut bytes: BTreeMap<u32, u8> = BTreeMap::new();
        let mut code_range: Option<(u32, u32)> = None;
        for i in 0..phnum {
            let ph = phoff.checked_add(i * phentsize).ok_or(ElfError::Truncated("program headers"))?;
            if elf.len() < ph + 32 {
                return Err(ElfError::Truncated("program headers"));
            }
            if u32_at(elf, ph)? != PT_LOAD {
                continue;
            }
            let offset = u32_at(elf, ph + 4)? as usize;
            let vaddr = u32_at(elf, ph + 8)?;
            let filesz = u32_at(elf, ph + 16)?;
            let memsz = u32_at(elf, ph + 20)?;
            let flags = u32_at(elf, ph + 24)?;
            if filesz > memsz {
                return Err(ElfError::BadSegment("file size exceeds memory size"));
            }
            let end =
                vaddr.checked_add(memsz).ok_or(ElfError::BadSegment("segment wraps the address space"))?;
            let data =
                elf.get(offset..offset + filesz as usize).ok_or(ElfError::Truncated("segment data"))?;
            for (k, &byte) in data.iter().enumerate() {
                // Zero bytes are the default memory value, so only non-zero ones are kept.
                if byte != 0 {
                    bytes.insert(vaddr + k as u32, byte);
                }
            }
            if flags & PF_X != 0 && memsz > 0 {
                if vaddr % 4 != 0 {
                    return Err(ElfError::BadSegment("code segment not word-aligned"));
                }
                code_range = Some(match code_range {
                    None => (vaddr, end),
                    Some((lo, hi)) => (lo.min(vaddr), hi.max(end)),
                });
            }
        }
        let (code_lo, code_hi) = code_range.ok_or(ElfError::NoCode)?;
        let mut image: BTreeMap<u32, u32> = BTreeMap::new();
        for (&addr, &byte) in &bytes {
            *image.entry(addr & !3).or_insert(0) |= u32::from(byte) << (8 * (addr & 3));
        }
        let n_words = (code_hi - code_lo).div_ceil(4);
        let code_words: Vec<u32> =
            (0..n_words).map(|k| image.get(&(code_lo + 4 * k)).copied().unwrap_or(0)).collect();
        let code = code_words.iter().map(|&w| decode(w)).collect();
        if entry % 4 != 0 || entry < code_lo || entry >= code_hi {
            return Err(ElfError::BadEntry(entry));
        }
        Ok(Program { entry, code_base: code_lo, code_words, code, image })
    }

    /// The decoded instruction at `pc`, if `pc` is an aligned address of a legal instruction.
    #[inline]
    pub fn fetch(&self, pc: u32) -> Option<Instr> {
        let off = pc.wrapping_sub(self.code_base);
        if !off.is_multiple_of(4) {
            return None;
        }
        self.code.get((off / 4) as usize).copied().flatten()
    }

    /// The program identifier: SHA-256 over a domain tag, the entry point and the whole
    /// initial image, so any change to code, data or entry point yields a different id.
    pub fn program_id(&self) -> ProgramId {
        let mut h = Sha256::new();
        h.update(b"nexus-zkvm/program/v1");
        h.update(self.entry.to_le_bytes());
        h.update(self.code_base.to_le_bytes());
        h.update((self.code_words.len() as u32).to_le_bytes());
        h.update((self.image.len() as u32).to_le_bytes());
        for (&addr, &word) in &self.image {
            h.update(addr.to_le_bytes());
            h.update(word.to_le_bytes());
        }
        ProgramId(h.finalize().into())
    }
}

/// Identifier of a guest program, binding its ELF image and entry point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProgramId(pub [u8; 32]);

impl ProgramId {
    /// Lower-case hex form, as printed by the CLI.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses the hex form.
    pub fn from_hex(s: &str) -> Option<Self> {
        let bytes = hex::decode(s.trim()).ok()?;
        Some(ProgramId(bytes.try_into().ok()?))
    }
}

impl std::fmt::Display for ProgramId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}
