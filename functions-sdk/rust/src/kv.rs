//! The function's key-value store: raw bytes ([`get`], [`set`], [`delete`], [`iter`], [`range`])
//! and typed helpers ([`Item`], [`Map`]).
//!
//! Keys are ordered bytewise; iteration walks them in that order (or its reverse), never in
//! insertion or hash order, so every validator sees the same sequence. Typed values are stored with
//! [`postcard`]: compact (fewer bytes means less gas and storage quota), `no_std`, deterministic
//! for a given type, and driven by the same `serde` derives as JSON. It is not self-describing, so
//! changing a stored type needs a `#[migrate]` that rewrites old values.
//!
//! ```
//! # let _host = nexus_sdk::testing::MockHost::new();
//! use nexus_sdk::kv;
//! kv::set("greeting", "hello");
//! assert_eq!(kv::get("greeting").as_deref(), Some(&b"hello"[..]));
//! assert!(kv::delete("greeting"));
//! assert_eq!(kv::get("greeting"), None);
//! ```

use crate::sys;
use core::borrow::Borrow;
use core::marker::PhantomData;
use core::ops::{Bound, RangeBounds};
use nexus_types::abi::{ITER_EXCLUSIVE, ITER_REVERSE};
use nexus_types::keys::prefix_end;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Reads the value stored under `key`.
///
/// ```
/// # let _host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::kv::set([1, 2], [3]);
/// assert_eq!(nexus_sdk::kv::get([1, 2]), Some(vec![3]));
/// assert_eq!(nexus_sdk::kv::get("missing"), None);
/// ```
pub fn get(key: impl AsRef<[u8]>) -> Option<Vec<u8>> {
    sys::kv_get_value(key.as_ref())
}

/// Stores `value` under `key` (keys up to 1 KiB, values up to 1 MiB; larger ones fail the invocation).
///
/// ```
/// # let _host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::kv::set("n", 5u32.to_le_bytes());
/// assert_eq!(nexus_sdk::kv::get("n"), Some(vec![5, 0, 0, 0]));
/// ```
pub fn set(key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
    sys::kv_set_value(key.as_ref(), value.as_ref());
}

/// Removes `key`; returns whether it was there.
///
/// ```
/// # let _host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::kv::set("k", "v");
/// assert!(nexus_sdk::kv::delete("k"));
/// assert!(!nexus_sdk::kv::delete("k"));
/// ```
pub fn delete(key: impl AsRef<[u8]>) -> bool {
    sys::kv_remove(key.as_ref())
}

/// Every entry whose key starts with `prefix`, in ascending key order (`.rev()` for descending).
///
/// ```
/// # let _host = nexus_sdk::testing::MockHost::new();
/// use nexus_sdk::kv;
/// for k in ["user/b", "user/a", "other", "user/c"] {
///     kv::set(k, "");
/// }
/// let keys: Vec<_> = kv::iter("user/").map(|(k, _)| String::from_utf8(k).unwrap()).collect();
/// assert_eq!(keys, ["user/a", "user/b", "user/c"]);
/// let last = kv::iter("user/").rev().next().unwrap().0;
/// assert_eq!(last, b"user/c");
/// ```
pub fn iter(prefix: impl AsRef<[u8]>) -> Iter {
    let prefix = prefix.as_ref();
    let back = match prefix_end(prefix) {
        Some(end) => Bound::Excluded(end),
        None => Bound::Unbounded,
    };
    Iter { front: Bound::Included(prefix.to_vec()), back, done: false }
}

/// Every entry whose key lies in `range`, in ascending key order (`.rev()` for descending).
///
/// ```
/// # let _host = nexus_sdk::testing::MockHost::new();
/// use nexus_sdk::kv;
/// for k in ["a", "b", "c", "d"] {
///     kv::set(k, k);
/// }
/// let keys: Vec<_> = kv::range("b".."d").map(|(k, _)| k).collect();
/// assert_eq!(keys, [b"b".to_vec(), b"c".to_vec()]);
/// let down: Vec<_> = kv::range("b"..).rev().map(|(_, v)| v).collect();
/// assert_eq!(down, [b"d".to_vec(), b"c".to_vec(), b"b".to_vec()]);
/// ```
pub fn range<K: AsRef<[u8]>>(range: impl RangeBounds<K>) -> Iter {
    let own = |b: Bound<&K>| match b {
        Bound::Included(k) => Bound::Included(k.as_ref().to_vec()),
        Bound::Excluded(k) => Bound::Excluded(k.as_ref().to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    };
    Iter { front: own(range.start_bound()), back: own(range.end_bound()), done: false }
}

/// An iterator over stored entries, from [`iter`] or [`range`]; each step is one host call.
///
/// ```
/// # let _host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::kv::set("x", "1");
/// let mut it: nexus_sdk::kv::Iter = nexus_sdk::kv::iter("");
/// assert_eq!(it.next(), Some((b"x".to_vec(), b"1".to_vec())));
/// assert_eq!(it.next(), None);
/// ```
#[derive(Debug, Clone)]
pub struct Iter {
    front: Bound<Vec<u8>>,
    back: Bound<Vec<u8>>,
    done: bool,
}

fn below(key: &[u8], bound: &Bound<Vec<u8>>) -> bool {
    match bound {
        Bound::Included(b) => key <= b.as_slice(),
        Bound::Excluded(b) => key < b.as_slice(),
        Bound::Unbounded => true,
    }
}

fn above(key: &[u8], bound: &Bound<Vec<u8>>) -> bool {
    match bound {
        Bound::Included(b) => key >= b.as_slice(),
        Bound::Excluded(b) => key > b.as_slice(),
        Bound::Unbounded => true,
    }
}

impl Iterator for Iter {
    type Item = (Vec<u8>, Vec<u8>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let found = match &self.front {
            Bound::Included(k) => sys::kv_next_entry(k, 0),
            Bound::Excluded(k) => sys::kv_next_entry(k, ITER_EXCLUSIVE),
            Bound::Unbounded => sys::kv_next_entry(&[], 0),
        };
        match found {
            Some((k, v)) if below(&k, &self.back) => {
                self.front = Bound::Excluded(k.clone());
                Some((k, v))
            }
            _ => {
                self.done = true;
                None
            }
        }
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        // An empty start key means "from the end" to the host, so the empty key itself is special.
        let found = match &self.back {
            Bound::Unbounded => sys::kv_next_entry(&[], ITER_REVERSE),
            Bound::Included(k) if k.is_empty() => sys::kv_get_value(&[]).map(|v| (Vec::new(), v)),
            Bound::Excluded(k) if k.is_empty() => None,
            Bound::Included(k) => sys::kv_next_entry(k, ITER_REVERSE),
            Bound::Excluded(k) => sys::kv_next_entry(k, ITER_REVERSE | ITER_EXCLUSIVE),
        };
        match found {
            Some((k, v)) if above(&k, &self.front) => {
                self.back = Bound::Excluded(k.clone());
                Some((k, v))
            }
            _ => {
                self.done = true;
                None
            }
        }
    }
}

/// Encodes a typed value for storage.
fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value)
        .unwrap_or_else(|e| crate::abort(&format!("cannot encode a stored value: {e}")))
}

/// Decodes a stored value; a mismatch means the stored type changed without a migration.
fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> T {
    postcard::from_bytes(bytes).unwrap_or_else(|e| {
        crate::abort(&format!("stored value at {:?} does not decode: {e}", String::from_utf8_lossy(key)))
    })
}

/// One typed value stored under a fixed key.
///
/// ```
/// # let _host = nexus_sdk::testing::MockHost::new();
/// use nexus_sdk::kv::Item;
/// static OWNER: Item<String> = Item::new("owner");
/// assert_eq!(OWNER.get(), None);
/// OWNER.set(&"ada".to_string());
/// assert_eq!(OWNER.get().as_deref(), Some("ada"));
/// ```
#[derive(Debug)]
pub struct Item<T> {
    key: &'static str,
    _value: PhantomData<fn() -> T>,
}

impl<T> Item<T> {
    /// An item stored under `key`.
    ///
    /// ```
    /// const COUNT: nexus_sdk::kv::Item<u64> = nexus_sdk::kv::Item::new("count");
    /// assert_eq!(COUNT.key(), "count");
    /// ```
    pub const fn new(key: &'static str) -> Self {
        Self { key, _value: PhantomData }
    }

    /// The raw key the item is stored under.
    ///
    /// ```
    /// assert_eq!(nexus_sdk::kv::Item::<u8>::new("k").key(), "k");
    /// ```
    pub const fn key(&self) -> &'static str {
        self.key
    }
}

impl<T: Serialize + DeserializeOwned> Item<T> {
    /// The stored value, or `None` if it was never set. A value that does not decode as `T`
    /// fails the invocation.
    ///
    /// ```
    /// # let _host = nexus_sdk::testing::MockHost::new();
    /// const N: nexus_sdk::kv::Item<u32> = nexus_sdk::kv::Item::new("n");
    /// N.set(&3);
    /// assert_eq!(N.get(), Some(3));
    /// ```
    pub fn get(&self) -> Option<T> {
        get(self.key).map(|b| decode(self.key.as_bytes(), &b))
    }

    /// The stored value, or `T::default()` if it was never set.
    ///
    /// ```
    /// # let _host = nexus_sdk::testing::MockHost::new();
    /// const N: nexus_sdk::kv::Item<u32> = nexus_sdk::kv::Item::new("n");
    /// assert_eq!(N.get_or_default(), 0);
    /// ```
    pub fn get_or_default(&self) -> T
    where
        T: Default,
    {
        self.get().unwrap_or_default()
    }

    /// Stores `value`.
    ///
    /// ```
    /// # let _host = nexus_sdk::testing::MockHost::new();
    /// const FLAGS: nexus_sdk::kv::Item<Vec<bool>> = nexus_sdk::kv::Item::new("flags");
    /// FLAGS.set(&vec![true, false]);
    /// assert_eq!(FLAGS.get(), Some(vec![true, false]));
    /// ```
    pub fn set(&self, value: &T) {
        set(self.key, encode(value));
    }

    /// Removes the value; returns whether there was one.
    ///
    /// ```
    /// # let _host = nexus_sdk::testing::MockHost::new();
    /// const N: nexus_sdk::kv::Item<u8> = nexus_sdk::kv::Item::new("n");
    /// N.set(&1);
    /// assert!(N.delete());
    /// assert_eq!(N.get(), None);
    /// ```
    pub fn delete(&self) -> bool {
        delete(self.key)
    }

    /// Replaces the value with `f(current)` and returns the new value.
    ///
    /// ```
    /// # let _host = nexus_sdk::testing::MockHost::new();
    /// const HITS: nexus_sdk::kv::Item<u64> = nexus_sdk::kv::Item::new("hits");
    /// HITS.update(|n| n.unwrap_or(0) + 1);
    /// assert_eq!(HITS.update(|n| n.unwrap_or(0) + 1), 2);
    /// ```
    pub fn update(&self, f: impl FnOnce(Option<T>) -> T) -> T {
        let new = f(self.get());
        self.set(&new);
        new
    }
}

/// A key type of a [`Map`], encoded so that byte order equals the key's own order.
///
/// Integers are stored big-endian (signed ones with the sign bit flipped), strings and byte
/// strings as their bytes.
///
/// ```
/// use nexus_sdk::kv::Key;
/// let (mut a, mut b) = (Vec::new(), Vec::new());
/// (-1i64).encode_key(&mut a);
/// 1i64.encode_key(&mut b);
/// assert!(a < b);
/// ```
pub trait Key {
    /// Appends the key's encoding to `out`.
    fn encode_key(&self, out: &mut Vec<u8>);
}

/// A [`Key`] that can be read back, so a [`Map`] can iterate its keys.
///
/// ```
/// use nexus_sdk::kv::{Key, OwnedKey};
/// let mut bytes = Vec::new();
/// 300u16.encode_key(&mut bytes);
/// assert_eq!(u16::decode_key(&bytes), Some(300));
/// assert_eq!(u16::decode_key(&[1]), None);
/// ```
pub trait OwnedKey: Key + Sized {
    /// Decodes a key written by [`Key::encode_key`]; `None` if the bytes are not one.
    fn decode_key(bytes: &[u8]) -> Option<Self>;
}

macro_rules! unsigned_key {
    ($($t:ty),*) => {$(
        impl Key for $t {
            fn encode_key(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
        }
        impl OwnedKey for $t {
            fn decode_key(bytes: &[u8]) -> Option<Self> {
                Some(<$t>::from_be_bytes(bytes.try_into().ok()?))
            }
        }
    )*};
}
unsigned_key!(u8, u16, u32, u64, u128);

macro_rules! signed_key {
    ($($t:ty => $u:ty),*) => {$(
        impl Key for $t {
            fn encode_key(&self, out: &mut Vec<u8>) {
                // Flipping the sign bit maps MIN..=MAX onto 0..=MAX unsigned, preserving order.
                out.extend_from_slice(&((*self as $u) ^ (1 << (<$u>::BITS - 1))).to_be_bytes());
            }
        }
        impl OwnedKey for $t {
            fn decode_key(bytes: &[u8]) -> Option<Self> {
                let u = <$u>::from_be_bytes(bytes.try_into().ok()?);
                Some((u ^ (1 << (<$u>::BITS - 1))) as $t)
            }
        }
    )*};
}
signed_key!(i8 => u8, i16 => u16, i32 => u32, i64 => u64, i128 => u128);

impl Key for str {
    fn encode_key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
}

impl Key for String {
    fn encode_key(&self, out: &mut Vec<u8>) {
        self.as_str().encode_key(out);
    }
}

impl OwnedKey for String {
    fn decode_key(bytes: &[u8]) -> Option<Self> {
        String::from_utf8(bytes.to_vec()).ok()
    }
}

impl Key for [u8] {
    fn encode_key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl Key for Vec<u8> {
    fn encode_key(&self, out: &mut Vec<u8>) {
        self.as_slice().encode_key(out);
    }
}

impl OwnedKey for Vec<u8> {
    fn decode_key(bytes: &[u8]) -> Option<Self> {
        Some(bytes.to_vec())
    }
}

impl<const N: usize> Key for [u8; N] {
    fn encode_key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl<const N: usize> OwnedKey for [u8; N] {
    fn decode_key(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok()
    }
}

/// Typed values under typed keys; map `name` owns every raw key that starts with `name/`.
///
/// ```
/// # let _host = nexus_sdk::testing::MockHost::new();
/// use nexus_sdk::kv::Map;
/// static BALANCES: Map<[u8; 20], u128> = Map::new("balances");
/// BALANCES.set(&[1; 20], &50);
/// BALANCES.set(&[2; 20], &70);
/// assert_eq!(BALANCES.get(&[1; 20]), Some(50));
/// let total: u128 = BALANCES.iter().map(|(_, v)| v).sum();
/// assert_eq!(total, 120);
/// ```
#[derive(Debug)]
pub struct Map<K, V> {
    name: &'static str,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Map<K, V> {
    /// A map whose entries live under `name/`.
    ///
    /// ```
    /// static NAMES: nexus_sdk::kv::Map<u64, String> = nexus_sdk::kv::Map::new("names");
    /// assert_eq!(NAMES.name(), "names");
    /// ```
    pub const fn new(name: &'static str) -> Self {
        Self { name, _types: PhantomData }
    }

    /// The map's name, the prefix of its raw keys.
    ///
    /// ```
    /// assert_eq!(nexus_sdk::kv::Map::<u8, u8>::new("m").name(), "m");
    /// ```
    pub const fn name(&self) -> &'static str {
        self.name
    }

    fn prefix(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(self.name.len() + 1);
        p.extend_from_slice(self.name.as_bytes());
        p.push(b'/');
        p
    }

    fn raw_key<Q: Key + ?Sized>(&self, key: &Q) -> Vec<u8> {
        let mut k = self.prefix();
        key.encode_key(&mut k);
        k
    }
}

impl<K: OwnedKey, V: Serialize + DeserializeOwned> Map<K, V> {
    /// The value under `key`, if any.
    ///
    /// ```
    /// # let _host = nexus_sdk::testing::MockHost::new();
    /// static M: nexus_sdk::kv::Map<String, u32> = nexus_sdk::kv::Map::new("m");
    /// M.set("a", &1);
    /// assert_eq!(M.get("a"), Some(1));
    /// assert_eq!(M.get("b"), None);
    /// ```
    pub fn get<Q: Key + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let raw = self.raw_key(key);
        get(&raw).map(|b| decode(&raw, &b))
    }

    /// Whether `key` has a value.
    ///
    /// ```
    /// # let _host = nexus_sdk::testing::MockHost::new();
    /// static M: nexus_sdk::kv::Map<u8, ()> = nexus_sdk::kv::Map::new("set");
    /// M.set(&4, &());
    /// assert!(M.contains(&4));
    /// assert!(!M.contains(&5));
    /// ```
    pub fn contains<Q: Key + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        get(self.raw_key(key)).is_some()
    }

    /// Stores `value` under `key`.
    ///
    /// ```
    /// # let _host = nexus_sdk::testing::MockHost::new();
    /// static M: nexus_sdk::kv::Map<u8, String> = nexus_sdk::kv::Map::new("m");
    /// M.set(&1, &"one".to_string());
    /// assert_eq!(M.get(&1).as_deref(), Some("one"));
    /// ```
    pub fn set<Q: Key + ?Sized>(&self, key: &Q, value: &V)
    where
        K: Borrow<Q>,
    {
        set(self.raw_key(key), encode(value));
    }

    /// Removes `key`; returns whether it had a value.
    ///
    /// ```
    /// # let _host = nexus_sdk::testing::MockHost::new();
    /// static M: nexus_sdk::kv::Map<u8, u8> = nexus_sdk::kv::Map::new("m");
    /// M.set(&1, &1);
    /// assert!(M.delete(&1));
    /// assert!(!M.delete(&1));
    /// ```
    pub fn delete<Q: Key + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        delete(self.raw_key(key))
    }

    /// Replaces the value under `key` with `f(current)` and returns the new value.
    ///
    /// ```
    /// # let _host = nexus_sdk::testing::MockHost::new();
    /// static VOTES: nexus_sdk::kv::Map<String, u32> = nexus_sdk::kv::Map::new("votes");
    /// VOTES.update("yes", |v| v.unwrap_or(0) + 1);
    /// assert_eq!(VOTES.update("yes", |v| v.unwrap_or(0) + 1), 2);
    /// ```
    pub fn update<Q: Key + ?Sized>(&self, key: &Q, f: impl FnOnce(Option<V>) -> V) -> V
    where
        K: Borrow<Q>,
    {
        let new = f(self.get(key));
        self.set(key, &new);
        new
    }

    /// All entries in ascending key order (`.rev()` for descending).
    ///
    /// ```
    /// # let _host = nexus_sdk::testing::MockHost::new();
    /// static M: nexus_sdk::kv::Map<i32, ()> = nexus_sdk::kv::Map::new("m");
    /// for k in [3, -7, 0] {
    ///     M.set(&k, &());
    /// }
    /// let keys: Vec<i32> = M.iter().map(|(k, _)| k).collect();
    /// assert_eq!(keys, [-7, 0, 3]);
    /// ```
    pub fn iter(&self) -> MapIter<K, V> {
        MapIter { inner: iter(self.prefix()), skip: self.prefix().len(), _types: PhantomData }
    }

    /// The entries whose keys lie in `range`, in ascending key order (`.rev()` for descending).
    ///
    /// ```
    /// # let _host = nexus_sdk::testing::MockHost::new();
    /// static M: nexus_sdk::kv::Map<u64, u64> = nexus_sdk::kv::Map::new("squares");
    /// for k in 0..10 {
    ///     M.set(&k, &(k * k));
    /// }
    /// let v: Vec<u64> = M.range(3..6).map(|(_, v)| v).collect();
    /// assert_eq!(v, [9, 16, 25]);
    /// let top: Vec<u64> = M.range(8..).rev().map(|(k, _)| k).collect();
    /// assert_eq!(top, [9, 8]);
    /// ```
    pub fn range(&self, range: impl RangeBounds<K>) -> MapIter<K, V> {
        let prefix = self.prefix();
        let raw = |b: Bound<&K>| match b {
            Bound::Included(k) => Bound::Included(self.raw_key(k)),
            Bound::Excluded(k) => Bound::Excluded(self.raw_key(k)),
            Bound::Unbounded => Bound::Unbounded,
        };
        let front = match raw(range.start_bound()) {
            Bound::Unbounded => Bound::Included(prefix.clone()),
            b => b,
        };
        // The prefix ends in `/`, which is below 0xff, so it always has an end.
        let back = match raw(range.end_bound()) {
            Bound::Unbounded => prefix_end(&prefix).map_or(Bound::Unbounded, Bound::Excluded),
            b => b,
        };
        MapIter { inner: Iter { front, back, done: false }, skip: prefix.len(), _types: PhantomData }
    }
}

/// An iterator over a [`Map`]'s entries.
///
/// ```
/// # let _host = nexus_sdk::testing::MockHost::new();
/// static M: nexus_sdk::kv::Map<u8, u8> = nexus_sdk::kv::Map::new("m");
/// M.set(&1, &10);
/// let mut it: nexus_sdk::kv::MapIter<u8, u8> = M.iter();
/// assert_eq!(it.next(), Some((1, 10)));
/// assert_eq!(it.next(), None);
/// ```
#[derive(Debug)]
pub struct MapIter<K, V> {
    inner: Iter,
    skip: usize,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K: OwnedKey, V: DeserializeOwned> MapIter<K, V> {
    fn typed(&self, (raw, value): (Vec<u8>, Vec<u8>)) -> (K, V) {
        let key = K::decode_key(&raw[self.skip..]).unwrap_or_else(|| {
            crate::abort(&format!("stored key {:?} does not decode", String::from_utf8_lossy(&raw)))
        });
        (key, decode(&raw, &value))
    }
}

impl<K: OwnedKey, V: DeserializeOwned> Iterator for MapIter<K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        let raw = self.inner.next()?;
        Some(self.typed(raw))
    }
}

impl<K: OwnedKey, V: DeserializeOwned> DoubleEndedIterator for MapIter<K, V> {
    fn next_back(&mut self) -> Option<(K, V)> {
        let raw = self.inner.next_back()?;
        Some(self.typed(raw))
    }
}

// The mock host these tests run against exists only off wasm.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::testing::MockHost;

    #[test]
    fn prefix_iteration_stops_at_the_prefix_and_handles_0xff() {
        let host = MockHost::new();
        for k in [&b"a"[..], b"a\xff", b"a\xff\xff", b"b", b"\xff", b"\xff\xff"] {
            host.kv_set(k, k);
        }
        let keys = |p: &[u8]| iter(p).map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(keys(b"a"), [b"a".to_vec(), b"a\xff".to_vec(), b"a\xff\xff".to_vec()]);
        assert_eq!(keys(b"\xff"), [b"\xff".to_vec(), b"\xff\xff".to_vec()]);
        assert_eq!(keys(b"").len(), 6);
        assert_eq!(
            iter(b"a\xff").rev().map(|(k, _)| k).collect::<Vec<_>>(),
            [b"a\xff\xff".to_vec(), b"a\xff".to_vec()]
        );
    }

    #[test]
    fn front_and_back_meet_without_repeating_an_entry() {
        let host = MockHost::new();
        for k in ["1", "2", "3", "4", "5"] {
            host.kv_set(k, k);
        }
        let mut it = iter("");
        let mut seen = Vec::new();
        while let Some((k, _)) = it.next() {
            seen.push(k);
            match it.next_back() {
                Some((k, _)) => seen.push(k),
                None => break,
            }
        }
        seen.sort();
        assert_eq!(seen.len(), 5);
        seen.dedup();
        assert_eq!(seen.len(), 5);
    }

    #[test]
    fn the_empty_key_is_reachable_from_both_ends() {
        let host = MockHost::new();
        host.kv_set("", "root");
        host.kv_set("z", "last");
        assert_eq!(range::<&str>(..="").rev().collect::<Vec<_>>(), [(Vec::new(), b"root".to_vec())]);
        assert_eq!(range::<&str>(.."").next(), None);
        assert_eq!(iter("").rev().map(|(k, _)| k).collect::<Vec<_>>(), [b"z".to_vec(), Vec::new()]);
    }

    #[test]
    fn map_keys_keep_their_order_and_stay_in_their_namespace() {
        let _host = MockHost::new();
        let m: Map<i64, u8> = Map::new("m");
        let other: Map<i64, u8> = Map::new("m2");
        for k in [i64::MIN, -1, 0, 1, i64::MAX] {
            m.set(&k, &1);
            other.set(&k, &2);
        }
        set("m", "an item named like the map");
        assert_eq!(m.iter().map(|(k, _)| k).collect::<Vec<_>>(), [i64::MIN, -1, 0, 1, i64::MAX]);
        assert!(m.iter().all(|(_, v)| v == 1));
        assert_eq!(m.range(-1..=1).rev().map(|(k, _)| k).collect::<Vec<_>>(), [1, 0, -1]);
        assert_eq!(m.range(..0).count(), 2);
    }

    #[test]
    fn a_value_of_the_wrong_type_fails_the_invocation() {
        let host = MockHost::new();
        host.kv_set("n", [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        let n: Item<u32> = Item::new("n");
        let err = host.invoke(|| n.get()).unwrap_err();
        assert!(err.contains("does not decode"), "{err}");
    }
}
