//! The manifest a function embeds in its `nexus.manifest` custom section: ABI version, triggers, limits.
//!
//! The section is a stream of self-delimiting records `[tag: u8][len: u32 LE][payload]`, so that
//! records emitted independently (one per SDK attribute) and concatenated by the linker still
//! form a valid manifest. A module without the section gets [`Manifest::default`].

use crate::abi::ABI_VERSION;
use crate::codec::{Decode, DecodeError, Encode, Reader, decode_seq, encode_seq};
use crate::{Address, Hash32};
use alloc::vec::Vec;
use core::fmt;

const TAG_ABI: u8 = 1;
const TAG_ETH_BLOCKS: u8 = 2;
const TAG_ETH_LOGS: u8 = 3;
const TAG_EVERY: u8 = 4;
const TAG_LIMITS: u8 = 5;

/// Which Ethereum logs a function wants; `None` fields match anything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EthLogFilter {
    /// Emitting contract.
    pub address: Option<Address>,
    /// Topic constraints by position (at most four).
    pub topics: Vec<Option<Hash32>>,
}

impl Encode for EthLogFilter {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.address.encode_to(out);
        encode_seq(&self.topics, out);
    }
}

impl Decode for EthLogFilter {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { address: Decode::decode_from(r)?, topics: decode_seq(r)? })
    }
}

/// What makes the chain invoke a function without a transaction naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// `on_eth_block` for every finalized Ethereum block.
    EthBlocks,
    /// `on_eth_log` for every log matching the filter.
    EthLogs(EthLogFilter),
    /// `on_task` every `blocks` Nexus blocks.
    Every {
        /// Period in Nexus blocks (at least 1).
        blocks: u64,
    },
}

/// Resource limits a function asks for; `None` takes the chain's default, and the chain caps each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Fuel per invocation.
    pub fuel: Option<u64>,
    /// Linear memory in bytes.
    pub memory_bytes: Option<u64>,
    /// Bytes of key-value and file storage together.
    pub storage_bytes: Option<u64>,
}

impl Encode for Limits {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.fuel.encode_to(out);
        self.memory_bytes.encode_to(out);
        self.storage_bytes.encode_to(out);
    }
}

impl Decode for Limits {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            fuel: Decode::decode_from(r)?,
            memory_bytes: Decode::decode_from(r)?,
            storage_bytes: Decode::decode_from(r)?,
        })
    }
}

/// A function's declared ABI version, triggers and limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Host ABI version the module was built for.
    pub abi_version: u32,
    /// Triggers, in the order they appear in the section.
    pub triggers: Vec<Trigger>,
    /// Requested limits.
    pub limits: Limits,
}

impl Default for Manifest {
    fn default() -> Self {
        Self { abi_version: ABI_VERSION, triggers: Vec::new(), limits: Limits::default() }
    }
}

/// Why a manifest section was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestError {
    /// A record could not be decoded.
    Decode(DecodeError),
    /// A record tag this ABI does not know.
    UnknownRecord(u8),
    /// The module asks for an ABI version this host does not speak.
    UnsupportedAbi(u32),
    /// Two records set the same thing (ABI version or limits) differently.
    Conflicting(&'static str),
    /// An `every` trigger with a period of zero blocks.
    ZeroPeriod,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decode(e) => write!(f, "malformed manifest record: {e}"),
            Self::UnknownRecord(t) => write!(f, "unknown manifest record tag {t}"),
            Self::UnsupportedAbi(v) => {
                write!(f, "module targets host ABI v{v}, this node speaks v{ABI_VERSION}")
            }
            Self::Conflicting(what) => write!(f, "manifest sets {what} twice with different values"),
            Self::ZeroPeriod => f.write_str("`every` trigger with a period of 0 blocks"),
        }
    }
}

impl core::error::Error for ManifestError {}

impl From<DecodeError> for ManifestError {
    fn from(e: DecodeError) -> Self {
        Self::Decode(e)
    }
}

fn record(tag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + payload.len());
    out.push(tag);
    (payload.len() as u32).encode_to(&mut out);
    out.extend_from_slice(payload);
    out
}

impl Manifest {
    /// The record declaring the ABI version this crate speaks.
    pub fn abi_record() -> Vec<u8> {
        record(TAG_ABI, &ABI_VERSION.encode())
    }

    /// The record declaring one trigger.
    pub fn trigger_record(t: &Trigger) -> Vec<u8> {
        match t {
            Trigger::EthBlocks => record(TAG_ETH_BLOCKS, &[]),
            Trigger::EthLogs(f) => record(TAG_ETH_LOGS, &f.encode()),
            Trigger::Every { blocks } => record(TAG_EVERY, &blocks.encode()),
        }
    }

    /// The record declaring limits.
    pub fn limits_record(l: &Limits) -> Vec<u8> {
        record(TAG_LIMITS, &l.encode())
    }

    /// Encodes the whole manifest as a section body.
    pub fn to_section(&self) -> Vec<u8> {
        let mut out = record(TAG_ABI, &self.abi_version.encode());
        for t in &self.triggers {
            out.extend(Self::trigger_record(t));
        }
        if self.limits != Limits::default() {
            out.extend(Self::limits_record(&self.limits));
        }
        out
    }

    /// Parses the concatenated records of one or more `nexus.manifest` sections.
    pub fn parse(section: &[u8]) -> Result<Self, ManifestError> {
        let mut m = Manifest::default();
        let mut abi: Option<u32> = None;
        let mut limits: Option<Limits> = None;
        let mut r = Reader::new(section);
        while !r.is_empty() {
            let tag = u8::decode_from(&mut r)?;
            let len = u32::decode_from(&mut r)? as usize;
            let payload = r.take(len)?;
            match tag {
                TAG_ABI => {
                    let v = u32::decode(payload)?;
                    if abi.is_some_and(|old| old != v) {
                        return Err(ManifestError::Conflicting("the ABI version"));
                    }
                    abi = Some(v);
                }
                TAG_ETH_BLOCKS => {
                    if !payload.is_empty() {
                        return Err(DecodeError::TrailingBytes.into());
                    }
                    push_unique(&mut m.triggers, Trigger::EthBlocks);
                }
                TAG_ETH_LOGS => {
                    push_unique(&mut m.triggers, Trigger::EthLogs(EthLogFilter::decode(payload)?))
                }
                TAG_EVERY => {
                    let blocks = u64::decode(payload)?;
                    if blocks == 0 {
                        return Err(ManifestError::ZeroPeriod);
                    }
                    push_unique(&mut m.triggers, Trigger::Every { blocks });
                }
                TAG_LIMITS => {
                    let l = Limits::decode(payload)?;
                    if limits.is_some_and(|old| old != l) {
                        return Err(ManifestError::Conflicting("limits"));
                    }
                    limits = Some(l);
                }
                t => return Err(ManifestError::UnknownRecord(t)),
            }
        }
        if let Some(v) = abi {
            if v != ABI_VERSION {
                return Err(ManifestError::UnsupportedAbi(v));
            }
            m.abi_version = v;
        }
        m.limits = limits.unwrap_or_default();
        Ok(m)
    }
}

// The same attribute expanded twice (say, in two codegen units) must not double a trigger.
fn push_unique(v: &mut Vec<Trigger>, t: Trigger) {
    if !v.contains(&t) {
        v.push(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn concatenated_records_parse_into_one_manifest() {
        let filter = EthLogFilter { address: Some([7; 20]), topics: vec![Some([1; 32]), None] };
        let mut section = Manifest::abi_record();
        section.extend(Manifest::trigger_record(&Trigger::EthBlocks));
        section.extend(Manifest::trigger_record(&Trigger::EthLogs(filter.clone())));
        section.extend(Manifest::abi_record());
        section.extend(Manifest::limits_record(&Limits { fuel: Some(5), ..Limits::default() }));
        let m = Manifest::parse(&section).unwrap();
        assert_eq!(m.triggers, vec![Trigger::EthBlocks, Trigger::EthLogs(filter)]);
        assert_eq!(m.limits.fuel, Some(5));
        assert_eq!(Manifest::parse(&m.to_section()).unwrap(), m);
    }

    #[test]
    fn bad_manifests_are_refused_with_the_reason() {
        assert_eq!(Manifest::parse(&[9, 0, 0, 0, 0]), Err(ManifestError::UnknownRecord(9)));
        assert_eq!(
            Manifest::parse(&record(TAG_ABI, &99u32.encode())),
            Err(ManifestError::UnsupportedAbi(99))
        );
        assert_eq!(
            Manifest::parse(&Manifest::trigger_record(&Trigger::Every { blocks: 0 })),
            Err(ManifestError::ZeroPeriod)
        );
        assert_eq!(Manifest::parse(&[TAG_ABI, 9, 0, 0, 0]), Err(DecodeError::UnexpectedEnd.into()));
    }
}
