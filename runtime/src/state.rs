//! A function's state as the runtime sees it: a committed ordered key-value store read through a
//! per-invocation overlay that collects writes, enforces the storage quota, and becomes the
//! invocation's state diff only if it succeeds.
//!
//! One function's state holds three namespaces, by first key byte: `k` user key-value pairs,
//! `f` the virtual filesystem (see `nexus_wasi`), `m` runtime metadata (storage in use, next
//! request id). The chain prefixes all of it with the function's id.

use nexus_types::keys::prefix_end;
use std::collections::BTreeMap;
use std::ops::Bound;

/// Namespace of user key-value pairs.
pub const NS_KV: u8 = b'k';
/// Namespace of the virtual filesystem.
pub const NS_FS: u8 = b'f';
/// Namespace of runtime metadata.
pub const NS_META: u8 = b'm';
const META_USED: &[u8] = b"mused";
const META_NEXT_REQUEST: &[u8] = b"mreq";

/// Read access to one function's committed state.
pub trait StateReader {
    /// The value at `key`.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
    /// The first entry at or after `start` (strictly after if `exclusive`); at or before (before)
    /// if `reverse`, where an empty `start` means from the end.
    fn next(&self, start: &[u8], exclusive: bool, reverse: bool) -> Option<(Vec<u8>, Vec<u8>)>;
}

/// An in-memory state, for `nexus run`, tests and benchmarks.
pub type MemState = BTreeMap<Vec<u8>, Vec<u8>>;

fn range_bounds(start: &[u8], exclusive: bool, reverse: bool) -> (Bound<&[u8]>, Bound<&[u8]>) {
    let edge = if exclusive { Bound::Excluded(start) } else { Bound::Included(start) };
    match (reverse, start.is_empty()) {
        (false, _) => (edge, Bound::Unbounded),
        (true, true) => (Bound::Unbounded, Bound::Unbounded),
        (true, false) => (Bound::Unbounded, edge),
    }
}

fn first_in<'a, V>(
    map: &'a BTreeMap<Vec<u8>, V>,
    start: &[u8],
    exclusive: bool,
    reverse: bool,
) -> Option<(&'a Vec<u8>, &'a V)> {
    let mut range = map.range::<[u8], _>(range_bounds(start, exclusive, reverse));
    if reverse { range.next_back() } else { range.next() }
}

impl StateReader for MemState {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        BTreeMap::get(self, key).cloned()
    }

    fn next(&self, start: &[u8], exclusive: bool, reverse: bool) -> Option<(Vec<u8>, Vec<u8>)> {
        first_in(self, start, exclusive, reverse).map(|(k, v)| (k.clone(), v.clone()))
    }
}

/// The writes of one invocation: `Some(value)` sets, `None` deletes. Sorted by key.
pub type StateDiff = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Applies a diff to an in-memory state.
pub fn apply_diff(state: &mut MemState, diff: &StateDiff) {
    for (k, v) in diff {
        match v {
            Some(v) => state.insert(k.clone(), v.clone()),
            None => state.remove(k),
        };
    }
}

/// A write that would take the function over its storage quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverQuota;

/// Committed state plus this invocation's pending writes.
#[derive(Debug)]
pub struct Overlay<S> {
    base: S,
    writes: StateDiff,
    quota: u64,
    /// Bytes (keys + values) stored before this invocation, read lazily.
    used_before: Option<u64>,
    used_delta: i64,
}

impl<S: StateReader> Overlay<S> {
    /// Starts an overlay over `base` with a storage quota in bytes.
    pub fn new(base: S, quota: u64) -> Self {
        Self { base, writes: StateDiff::new(), quota, used_before: None, used_delta: 0 }
    }

    /// The value at a raw (namespaced) key, seeing this invocation's writes.
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self.writes.get(key) {
            Some(v) => v.clone(),
            None => self.base.get(key),
        }
    }

    fn size_of(&self, key: &[u8]) -> u64 {
        self.get(key).map_or(0, |v| (key.len() + v.len()) as u64)
    }

    fn used_before(&mut self) -> u64 {
        match self.used_before {
            Some(u) => u,
            None => {
                let u =
                    self.base.get(META_USED).and_then(|v| v.try_into().ok()).map_or(0, u64::from_le_bytes);
                self.used_before = Some(u);
                u
            }
        }
    }

    /// Writes a raw key, failing without writing if the quota would be exceeded.
    pub fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), OverQuota> {
        let old = self.size_of(key) as i64;
        let new = (key.len() + value.len()) as i64;
        let used = self.used_before() as i64 + self.used_delta - old + new;
        if new > old && used as u64 > self.quota {
            return Err(OverQuota);
        }
        self.used_delta += new - old;
        self.writes.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    /// Deletes a raw key; returns whether a value was there.
    pub fn delete(&mut self, key: &[u8]) -> bool {
        let old = self.size_of(key);
        if old == 0 {
            return false;
        }
        self.used_before();
        self.used_delta -= old as i64;
        self.writes.insert(key.to_vec(), None);
        true
    }

    /// The first live entry from `start` within keys starting with `prefix` (see [`StateReader::next`];
    /// here an empty `start` with `reverse` means the end of the prefix).
    pub fn next_in(
        &self,
        prefix: &[u8],
        start: &[u8],
        exclusive: bool,
        reverse: bool,
    ) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut cursor: Vec<u8>;
        let mut excl = exclusive;
        if reverse && start.len() <= prefix.len() {
            // From the end of the namespace: just below the first key after every prefixed key, or
            // (no such key: the prefix is empty or all 0xff) from the very end.
            match prefix_end(prefix) {
                Some(end) => {
                    cursor = end;
                    excl = true;
                }
                None => {
                    cursor = Vec::new();
                    excl = false;
                }
            }
        } else {
            cursor = start.to_vec();
        }
        loop {
            let from_base = self.base.next(&cursor, excl, reverse);
            let from_writes = first_in(&self.writes, &cursor, excl, reverse);
            let pick_writes = match (&from_base, &from_writes) {
                (None, None) => return None,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some((bk, _)), Some((wk, _))) => {
                    if reverse {
                        *wk >= bk
                    } else {
                        *wk <= bk
                    }
                }
            };
            let (key, value) = if pick_writes {
                let (k, v) = from_writes?;
                (k.clone(), v.clone())
            } else {
                let (k, v) = from_base?;
                // A pending write to the same key shadows the committed value.
                let shadow = self.writes.get(&k).cloned();
                (k, shadow.unwrap_or(Some(v)))
            };
            if !key.starts_with(prefix) {
                return None;
            }
            if let Some(v) = value {
                return Some((key, v));
            }
            cursor = key;
            excl = true;
        }
    }

    /// The next outbound request id, advancing the stored counter.
    pub fn take_request_id(&mut self) -> u64 {
        let id = self.get(META_NEXT_REQUEST).and_then(|v| v.try_into().ok()).map_or(0, u64::from_le_bytes);
        // Metadata is not charged against the quota: the author does not control it.
        self.writes.insert(META_NEXT_REQUEST.to_vec(), Some((id + 1).to_le_bytes().to_vec()));
        id
    }

    /// Bytes of storage in use including this invocation's writes.
    pub fn used(&mut self) -> u64 {
        (self.used_before() as i64 + self.used_delta) as u64
    }

    /// Finishes the invocation: its diff (with the usage counter updated) and the base back.
    pub fn into_parts(mut self, keep: bool) -> (StateDiff, S) {
        if !keep {
            return (StateDiff::new(), self.base);
        }
        if self.used_delta != 0 {
            let used = self.used();
            self.writes.insert(META_USED.to_vec(), Some(used.to_le_bytes().to_vec()));
        }
        (self.writes, self.base)
    }

    /// The committed state underneath.
    pub fn base(&self) -> &S {
        &self.base
    }
}

impl<S: StateReader> nexus_wasi::Storage for Overlay<S> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        Overlay::get(self, &fs_key(key))
    }

    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), nexus_wasi::QuotaExceeded> {
        Overlay::set(self, &fs_key(key), value).map_err(|OverQuota| nexus_wasi::QuotaExceeded)
    }

    fn delete(&mut self, key: &[u8]) {
        Overlay::delete(self, &fs_key(key));
    }

    fn next(&self, start: &[u8], exclusive: bool, reverse: bool) -> Option<(Vec<u8>, Vec<u8>)> {
        let start = if start.is_empty() && reverse { vec![NS_FS] } else { fs_key(start) };
        self.next_in(&[NS_FS], &start, exclusive, reverse).map(|(k, v)| (k[1..].to_vec(), v))
    }
}

fn fs_key(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 1);
    k.push(NS_FS);
    k.extend_from_slice(key);
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn model_next(
        m: &MemState,
        prefix: &[u8],
        start: &[u8],
        excl: bool,
        rev: bool,
    ) -> Option<(Vec<u8>, Vec<u8>)> {
        let it = m.iter().filter(|(k, _)| k.starts_with(prefix));
        let hit = |k: &Vec<u8>| {
            let whole_ns = rev && start.len() <= prefix.len();
            match (rev, excl) {
                _ if whole_ns => true,
                (false, false) => k.as_slice() >= start,
                (false, true) => k.as_slice() > start,
                (true, false) => k.as_slice() <= start,
                (true, true) => k.as_slice() < start,
            }
        };
        let mut found: Vec<_> = it.filter(|(k, _)| hit(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        if rev { found.pop() } else { found.into_iter().next() }
    }

    proptest! {
        #[test]
        fn overlay_iteration_matches_applying_the_writes(
            base in proptest::collection::btree_map(proptest::collection::vec(0u8..4, 1..4), proptest::collection::vec(0u8..255, 0..3), 0..12),
            writes in proptest::collection::vec((proptest::collection::vec(0u8..4, 1..4), proptest::option::of(proptest::collection::vec(0u8..255, 0..3))), 0..12),
            start in proptest::collection::vec(0u8..4, 0..4),
            excl: bool, rev: bool,
        ) {
            let mut o = Overlay::new(base.clone(), u64::MAX);
            let mut model = base;
            for (k, v) in &writes {
                match v {
                    Some(v) => { o.set(k, v).unwrap(); model.insert(k.clone(), v.clone()); }
                    None => { o.delete(k); model.remove(k); }
                }
            }
            for prefix in [vec![], vec![1u8]] {
                let start = if start.starts_with(&prefix) { start.clone() } else { prefix.clone() };
                prop_assert_eq!(o.next_in(&prefix, &start, excl, rev), model_next(&model, &prefix, &start, excl, rev));
            }
        }
    }

    #[test]
    fn the_quota_refuses_growth_but_allows_shrinking() {
        let mut o = Overlay::new(MemState::new(), 10);
        o.set(b"k1", b"12345678").unwrap();
        assert_eq!(o.set(b"k2", b"x"), Err(OverQuota));
        o.set(b"k1", b"1").unwrap();
        o.set(b"k2", b"x").unwrap();
        assert_eq!(o.used(), 6);
        assert!(o.delete(b"k1"));
        let (diff, _) = o.into_parts(true);
        assert_eq!(diff.get(META_USED.as_ref()), Some(&Some(3u64.to_le_bytes().to_vec())));
    }
}
