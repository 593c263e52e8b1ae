//! A minimal, canonical binary encoding: little-endian integers, `u32`-length-prefixed bytes.
//!
//! Canonical means one value has exactly one encoding, which consensus needs; a decoder rejects
//! trailing bytes, unknown tags and lengths that run past the input.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended before the value did.
    UnexpectedEnd,
    /// A tag or discriminant byte had no meaning here.
    InvalidTag(u8),
    /// A string was not UTF-8.
    InvalidUtf8,
    /// Bytes were left over after the value.
    TrailingBytes,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedEnd => f.write_str("input ended before the value did"),
            Self::InvalidTag(t) => write!(f, "invalid tag byte {t:#04x}"),
            Self::InvalidUtf8 => f.write_str("string is not valid UTF-8"),
            Self::TrailingBytes => f.write_str("trailing bytes after the value"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// A value with a canonical byte encoding.
pub trait Encode {
    /// Appends the encoding of `self` to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);

    /// Returns the encoding of `self`.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out
    }
}

/// A value that can be read back from its canonical encoding.
pub trait Decode: Sized {
    /// Reads one value from the front of `r`.
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes `bytes`, which must hold exactly one value.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode_from(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

/// A cursor over bytes being decoded.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError::UnexpectedEnd);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    /// Takes a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// Whether every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Fails unless every byte has been consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.bytes.is_empty() { Ok(()) } else { Err(DecodeError::TrailingBytes) }
    }
}

macro_rules! int_codec {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode_to(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
        impl Decode for $t {
            fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_le_bytes(r.array()?))
            }
        }
    )*};
}
int_codec!(u8, u16, u32, u64, u128, i32, i64);

impl Encode for bool {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl Decode for bool {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode_from(r)? {
            0 => Ok(false),
            1 => Ok(true),
            t => Err(DecodeError::InvalidTag(t)),
        }
    }
}

impl<const N: usize> Encode for [u8; N] {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl<const N: usize> Decode for [u8; N] {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array()
    }
}

impl Encode for [u8] {
    fn encode_to(&self, out: &mut Vec<u8>) {
        // Lengths beyond u32 cannot occur in a 32-bit guest; the host caps payloads far below.
        (self.len() as u32).encode_to(out);
        out.extend_from_slice(self);
    }
}

impl Encode for Vec<u8> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.as_slice().encode_to(out);
    }
}

impl Decode for Vec<u8> {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = u32::decode_from(r)? as usize;
        Ok(r.take(len)?.to_vec())
    }
}

impl Encode for str {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.as_bytes().encode_to(out);
    }
}

impl Encode for String {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.as_str().encode_to(out);
    }
}

impl Decode for String {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        String::from_utf8(Vec::<u8>::decode_from(r)?).map_err(|_| DecodeError::InvalidUtf8)
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.encode_to(out);
            }
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode_from(r)? {
            0 => Ok(None),
            1 => Ok(Some(T::decode_from(r)?)),
            t => Err(DecodeError::InvalidTag(t)),
        }
    }
}

/// Encodes a sequence as a `u32` count followed by the items.
pub fn encode_seq<T: Encode>(items: &[T], out: &mut Vec<u8>) {
    (items.len() as u32).encode_to(out);
    for i in items {
        i.encode_to(out);
    }
}

/// Decodes a sequence written by [`encode_seq`], refusing counts the input cannot hold.
pub fn decode_seq<T: Decode>(r: &mut Reader<'_>) -> Result<Vec<T>, DecodeError> {
    let n = u32::decode_from(r)? as usize;
    // Every item takes at least one byte, so a larger count is a lie; don't pre-allocate it.
    if n > r.bytes.len() {
        return Err(DecodeError::UnexpectedEnd);
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(T::decode_from(r)?);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn values_round_trip_and_reject_garbage() {
        let v: Option<Vec<u8>> = Some(vec![1, 2, 3]);
        let bytes = v.encode();
        assert_eq!(bytes, vec![1, 3, 0, 0, 0, 1, 2, 3]);
        assert_eq!(Option::<Vec<u8>>::decode(&bytes), Ok(v));
        assert_eq!(Option::<Vec<u8>>::decode(&bytes[..5]), Err(DecodeError::UnexpectedEnd));
        assert_eq!(Option::<Vec<u8>>::decode(&[2]), Err(DecodeError::InvalidTag(2)));
        assert_eq!(u8::decode(&[1, 2]), Err(DecodeError::TrailingBytes));
        assert_eq!(bool::decode(&[7]), Err(DecodeError::InvalidTag(7)));
    }

    #[test]
    fn a_lying_sequence_count_is_refused_without_allocating() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 1]);
        assert_eq!(decode_seq::<u8>(&mut r), Err(DecodeError::UnexpectedEnd));
    }
}
