//! The ordered key-value store the virtual filesystem lives in, and an in-memory implementation.

use std::collections::BTreeMap;
use std::ops::Bound;

/// Ordered key-value storage for one function's filesystem namespace (keys are already private to the VFS).
pub trait Storage {
    /// The value stored under `key`.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
    /// Err(QuotaExceeded) if the write would push the function over its storage quota; nothing is written then.
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), QuotaExceeded>;
    /// Removes `key` (a no-op when absent).
    fn delete(&mut self, key: &[u8]);
    /// First entry with key >= start (> if exclusive), or <= / < if reverse (empty start + reverse = from the end).
    fn next(&self, start: &[u8], exclusive: bool, reverse: bool) -> Option<(Vec<u8>, Vec<u8>)>;
}

/// A write was refused because it would exceed the function's storage quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("storage quota exceeded")]
pub struct QuotaExceeded;

/// A [`Storage`] over a `BTreeMap`, with an optional quota on `sum(key.len() + value.len())`.
///
/// Used by tests, benches and tools; the chain's own store implements [`Storage`] over its state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemStorage {
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
    used: u64,
    quota: Option<u64>,
}

impl MemStorage {
    /// An empty store without a quota.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that refuses writes taking it above `quota` bytes.
    pub fn with_quota(quota: u64) -> Self {
        Self { quota: Some(quota), ..Self::default() }
    }

    /// All entries, in key order.
    pub fn entries(&self) -> &BTreeMap<Vec<u8>, Vec<u8>> {
        &self.entries
    }

    /// Bytes counted against the quota.
    pub fn used(&self) -> u64 {
        self.used
    }
}

fn cost(key: &[u8], value: &[u8]) -> u64 {
    (key.len() + value.len()) as u64
}

impl Storage for MemStorage {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.entries.get(key).cloned()
    }

    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), QuotaExceeded> {
        let old = self.entries.get(key).map_or(0, |v| cost(key, v));
        let used = self.used - old + cost(key, value);
        if self.quota.is_some_and(|q| used > q) {
            return Err(QuotaExceeded);
        }
        self.used = used;
        match self.entries.get_mut(key) {
            Some(v) => {
                v.clear();
                v.extend_from_slice(value);
            }
            None => {
                self.entries.insert(key.to_vec(), value.to_vec());
            }
        }
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) {
        if let Some(v) = self.entries.remove(key) {
            self.used -= cost(key, &v);
        }
    }

    fn next(&self, start: &[u8], exclusive: bool, reverse: bool) -> Option<(Vec<u8>, Vec<u8>)> {
        let bound = if exclusive { Bound::Excluded(start) } else { Bound::Included(start) };
        let found = if reverse {
            if start.is_empty() {
                self.entries.iter().next_back()
            } else {
                self.entries.range::<[u8], _>((Bound::Unbounded, bound)).next_back()
            }
        } else {
            self.entries.range::<[u8], _>((bound, Bound::Unbounded)).next()
        };
        found.map(|(k, v)| (k.clone(), v.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_in_both_directions() {
        let mut s = MemStorage::new();
        for k in [b"a", b"b", b"c"] {
            s.set(k, b"v").unwrap();
        }
        let key = |r: Option<(Vec<u8>, Vec<u8>)>| r.map(|(k, _)| k);
        assert_eq!(key(s.next(b"b", false, false)), Some(b"b".to_vec()));
        assert_eq!(key(s.next(b"b", true, false)), Some(b"c".to_vec()));
        assert_eq!(key(s.next(b"b", false, true)), Some(b"b".to_vec()));
        assert_eq!(key(s.next(b"b", true, true)), Some(b"a".to_vec()));
        assert_eq!(key(s.next(b"", false, true)), Some(b"c".to_vec()));
        assert_eq!(key(s.next(b"c", true, false)), None);
    }

    #[test]
    fn quota_counts_keys_and_values() {
        let mut s = MemStorage::with_quota(10);
        s.set(b"k", b"123456789").unwrap();
        assert_eq!(s.set(b"x", b""), Err(QuotaExceeded));
        s.set(b"k", b"1").unwrap();
        assert_eq!(s.used(), 2);
        s.delete(b"k");
        assert_eq!(s.used(), 0);
    }
}
