//! The wire form of a segment's boundary list: addresses as deltas and values as LEB128
//! varints, deflated. A segment lists every word it touches, and the words of one array sit
//! next to each other and hold similar values, so this is where proofs compress (the sieve
//! benchmark's 25k-word bitmap: ≈ 170 KB as plain varints, a few KB deflated).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

/// Most entries a segment can have: each of its at most 2^21 CPU rows touches at most one
/// data word, plus the 32 registers.
const MAX_ENTRIES: usize = (1 << super::MAX_LOG_CPU_HEIGHT) + 32;
/// Largest inflated list accepted (two varints of at most five bytes per entry), so that a
/// few hostile bytes cannot make the verifier allocate more than a real segment needs.
const MAX_INFLATED: usize = MAX_ENTRIES * 10;

/// Encodes `(address, final value)` pairs (addresses increasing) for serde.
pub fn serialize<S: Serializer>(touched: &[(u32, u32)], s: S) -> Result<S::Ok, S::Error> {
    let mut raw = Vec::with_capacity(touched.len() * 6);
    let mut prev = 0u32;
    for &(addr, fin) in touched {
        // Wrapping keeps the encoding total; the verifier rejects lists out of order anyway.
        put(&mut raw, addr.wrapping_sub(prev));
        put(&mut raw, fin);
        prev = addr;
    }
    s.serialize_bytes(&miniz_oxide::deflate::compress_to_vec(&raw, 6))
}

/// Decodes what [`serialize`] wrote; malformed or oversized input is an error.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(u32, u32)>, D::Error> {
    let packed: Vec<u8> = serde::de::Deserialize::deserialize(d).map(|b: ByteBuf| b.0)?;
    let raw = miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_INFLATED)
        .map_err(|e| D::Error::custom(format!("boundary list: {e:?}")))?;
    let mut bytes = raw.as_slice();
    let mut touched = Vec::new();
    let mut prev = 0u32;
    while !bytes.is_empty() {
        let delta = take(&mut bytes).ok_or_else(|| D::Error::custom("boundary list: bad varint"))?;
        let fin = take(&mut bytes).ok_or_else(|| D::Error::custom("boundary list: bad varint"))?;
        prev = prev.wrapping_add(delta);
        touched.push((prev, fin));
        if touched.len() > MAX_ENTRIES {
            return Err(D::Error::custom("boundary list: more entries than a segment can touch"));
        }
    }
    Ok(touched)
}

/// Owned bytes that deserialize from serde's byte form (postcard writes `&[u8]` that way).
struct ByteBuf(Vec<u8>);

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v))
            }
        }
        d.deserialize_bytes(Visitor)
    }
}

fn put(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// One LEB128 u32; `None` if truncated or longer than five bytes or above `u32::MAX`.
fn take(bytes: &mut &[u8]) -> Option<u32> {
    let mut v = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(5) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return u32::try_from(v).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct List(#[serde(with = "super")] Vec<(u32, u32)>);

    #[test]
    fn lists_round_trip_and_runs_of_words_shrink() {
        let bitmap: Vec<(u32, u32)> =
            (0..25_000u32).map(|i| (0x8000 + i, [0, 1, 0x0100_0001][i as usize % 3])).collect();
        for list in [vec![], vec![(0, 0)], vec![(5, u32::MAX), (1 << 29, 7)], bitmap.clone()] {
            let bytes = postcard::to_allocvec(&List(list.clone())).expect("encodes");
            assert_eq!(postcard::from_bytes::<List>(&bytes).expect("decodes"), List(list));
        }
        let bytes = postcard::to_allocvec(&List(bitmap)).expect("encodes");
        assert!(bytes.len() < 5_000, "{} bytes", bytes.len());
    }

    #[test]
    fn malformed_lists_are_errors() {
        let deflated = |raw: &[u8]| miniz_oxide::deflate::compress_to_vec(raw, 6);
        for packed in [
            b"not deflate".to_vec(),
            deflated(&[0x80]),                              // truncated varint
            deflated(&[0xff; 6]),                           // six-byte varint
            deflated(&[0x80, 0x80, 0x80, 0x80, 0x10]),      // 2^32
            deflated(&[1]),                                 // an address without its value
            deflated(&vec![0; 2 * super::MAX_ENTRIES + 2]), // one entry too many
            // A deflate bomb beyond the limit.
            miniz_oxide::deflate::compress_to_vec(&vec![0u8; super::MAX_INFLATED + 1], 9),
        ] {
            let bytes = postcard::to_allocvec(&serde_bytes_of(&packed)).expect("encodes");
            assert!(postcard::from_bytes::<List>(&bytes).is_err());
        }
    }

    /// Serializes raw bytes the way `serialize` frames its output.
    fn serde_bytes_of(b: &[u8]) -> impl serde::Serialize + '_ {
        struct Bytes<'a>(&'a [u8]);
        impl serde::Serialize for Bytes<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        Bytes(b)
    }
}
