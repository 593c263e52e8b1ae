//! A height-versioned key-value store whose Jellyfish Merkle root is the app hash.
//!
//! Writes for the next height collect with [`Store::apply`]; [`Store::stage`] computes that
//! height's root without persisting (ABCI `FinalizeBlock`), and [`Store::commit`] writes tree
//! nodes, the ordered key index, the (height, root) record and pruning deletions in one atomic
//! batch (ABCI `Commit`), so a crash at any instant leaves the last committed height intact.

mod backend;
mod namespace;
#[cfg(feature = "rocksdb")]
mod rocks;
mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use jmt::storage::NodeKey;
use jmt::{KeyHash, Sha256Jmt};
use sha2::Sha256;

pub use backend::{Backend, Batch, Column, Entry, MemBackend};
pub use ics23::CommitmentProof;
pub use namespace::Namespace;
#[cfg(feature = "rocksdb")]
pub use rocks::RocksBackend;

use tree::{TreeView, encode_value, node_key_bytes, value_key};

/// A Merkle root: the app hash of a height.
pub type AppHash = [u8; 32];

/// The app hash of a state with no keys (`jmt`'s placeholder for an empty subtree).
pub const EMPTY_ROOT: AppHash = *b"SPARSE_MERKLE_PLACEHOLDER_HASH__";

/// Leaf keys and values in the tree carry this leading byte, because ICS23 refuses to prove an
/// empty key or value and the runtime stores both (an empty file, a flag set to `b""`).
const LEAF_TAG: u8 = 1;

fn tagged(bytes: &[u8]) -> Vec<u8> {
    [&[LEAF_TAG][..], bytes].concat()
}

/// Writes for the next height: `Some` sets a key, `None` deletes it.
pub type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// How much history a store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreConfig {
    /// Heights to keep provable, counting the latest; `None` keeps every height (archive).
    pub keep_recent: Option<u64>,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed to open, read or write.
    #[cfg(feature = "rocksdb")]
    #[error("database: {0}")]
    Db(#[from] rocksdb::Error),
    /// The Merkle tree could not be read or updated (usually a missing node: a corrupt database).
    #[error("merkle tree: {0}")]
    Tree(String),
    /// Stored bytes do not decode: the database is corrupt or from an incompatible version.
    #[error("corrupt store: bad {0}")]
    Corrupt(String),
    /// The in-memory backend's lock was poisoned by a panic in another thread.
    #[error("in-memory store lock poisoned")]
    Poisoned,
    /// `stage` or `commit` was asked for a height other than the one after the last committed.
    #[error("cannot commit height {got}: the next height is {expected}")]
    HeightOutOfOrder {
        /// The only height that can be committed next.
        expected: u64,
        /// The height asked for.
        got: u64,
    },
    /// A proof or app hash was asked for a height that is not committed yet.
    #[error("height {height} is not committed (latest committed: {latest:?})")]
    NotCommitted {
        /// The height asked for.
        height: u64,
        /// The last committed height, if any.
        latest: Option<u64>,
    },
    /// A proof or app hash was asked for a height whose tree was pruned.
    #[error("height {height} is pruned; the oldest kept height is {oldest} (run with --archive to keep all)")]
    Pruned {
        /// The height asked for.
        height: u64,
        /// The oldest height still kept.
        oldest: u64,
    },
    /// `keep_recent` was zero, which would prune the height just committed.
    #[error("keep_recent must be at least 1")]
    KeepNothing,
}

const META_LATEST: &[u8] = b"latest";
const META_OLDEST: &[u8] = b"oldest";

/// A committed height's root, computed but not yet written.
#[derive(Debug)]
struct Staged {
    height: u64,
    root: AppHash,
    oldest: u64,
    batch: Batch,
}

/// The verifiable state store over a [`Backend`].
#[derive(Debug)]
pub struct Store<B> {
    backend: B,
    config: StoreConfig,
    latest: Option<(u64, AppHash)>,
    oldest: Option<u64>,
    pending: Changes,
    staged: Option<Staged>,
}

#[cfg(feature = "rocksdb")]
impl Store<RocksBackend> {
    /// Opens (creating if missing) a store in the RocksDB directory at `path`.
    pub fn open(path: impl AsRef<std::path::Path>, config: StoreConfig) -> Result<Self, StoreError> {
        Self::new(RocksBackend::open(path.as_ref())?, config)
    }
}

impl Store<MemBackend> {
    /// An empty archive store in memory.
    pub fn in_memory() -> Self {
        Self::new(MemBackend::default(), StoreConfig::default()).expect("an empty archive store always opens")
    }
}

fn be_u64(bytes: &[u8], what: &str) -> Result<u64, StoreError> {
    Ok(u64::from_be_bytes(bytes.try_into().map_err(|_| StoreError::Corrupt(what.into()))?))
}

fn tree_error(e: anyhow::Error) -> StoreError {
    StoreError::Tree(format!("{e:#}"))
}

impl<B: Backend> Store<B> {
    /// A store over `backend`, resuming from its last committed height.
    pub fn new(backend: B, config: StoreConfig) -> Result<Self, StoreError> {
        if config.keep_recent == Some(0) {
            return Err(StoreError::KeepNothing);
        }
        let latest = match backend.get(Column::Meta, META_LATEST)? {
            Some(bytes) if bytes.len() == 40 => {
                let root: AppHash = bytes[8..].try_into().expect("32 bytes");
                Some((be_u64(&bytes[..8], "latest height")?, root))
            }
            Some(_) => return Err(StoreError::Corrupt("latest height record".into())),
            None => None,
        };
        let oldest =
            backend.get(Column::Meta, META_OLDEST)?.map(|b| be_u64(&b, "oldest height")).transpose()?;
        Ok(Self { backend, config, latest, oldest, pending: Changes::new(), staged: None })
    }

    /// The last committed height and its app hash; `None` before the first commit.
    pub fn latest(&self) -> Option<(u64, AppHash)> {
        self.latest
    }

    /// The backend, for inspection and maintenance tools.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The oldest height still provable; `None` before the first commit.
    pub fn oldest(&self) -> Option<u64> {
        self.oldest
    }

    /// Adds writes for the next height; later writes to a key replace earlier ones.
    pub fn apply(&mut self, changes: Changes) {
        self.staged = None;
        self.pending.extend(changes);
    }

    /// Drops the writes and staged root of the next height (a rejected or re-executed block).
    pub fn discard(&mut self) {
        self.pending.clear();
        self.staged = None;
    }

    /// The value at `key` at the latest committed height.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.backend.get(Column::Index, key)
    }

    /// The first entry at the latest committed height within `from`, in key order, or the last if
    /// `reverse` (`Unbounded` starts at the first or last key).
    pub fn next(&self, from: Bound<&[u8]>, reverse: bool) -> Result<Option<Entry>, StoreError> {
        self.backend.seek(Column::Index, from, reverse)
    }

    /// The node-local record at `key` ([`Column::Aux`]) as of the last commit.
    pub fn get_aux(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.backend.get(Column::Aux, key)
    }

    /// Every node-local record with a key in `start..end`, in key order, as of the last commit.
    pub fn aux_range(&self, start: &[u8], end: &[u8]) -> Result<Vec<Entry>, StoreError> {
        self.backend.range(Column::Aux, start, end)
    }

    /// The first node-local record within `from`, in key order, or the last if `reverse`; with
    /// big-endian heights in keys, `aux_seek(Bound::Included(&[prefix, max].concat()), true)`
    /// finds the latest record under a prefix without scanning.
    pub fn aux_seek(&self, from: Bound<&[u8]>, reverse: bool) -> Result<Option<Entry>, StoreError> {
        self.backend.seek(Column::Aux, from, reverse)
    }

    /// The app hash of a committed `height` still kept (see [`StoreConfig::keep_recent`]).
    pub fn app_hash(&self, height: u64) -> Result<AppHash, StoreError> {
        self.check_kept(height)?;
        let view = TreeView { backend: &self.backend, empty_base: None };
        Ok(Sha256Jmt::new(&view).get_root_hash(height).map_err(tree_error)?.0)
    }

    /// Fails unless `height` is committed and not pruned.
    fn check_kept(&self, height: u64) -> Result<(), StoreError> {
        let latest = self.latest.map(|(h, _)| h);
        if latest.is_none_or(|l| height > l) {
            return Err(StoreError::NotCommitted { height, latest });
        }
        let oldest = self.oldest.unwrap_or(0);
        if height < oldest {
            return Err(StoreError::Pruned { height, oldest });
        }
        Ok(())
    }

    /// A prefix view of the latest committed state: one function's namespace.
    pub fn namespace(&self, prefix: &[u8]) -> Namespace<'_, B> {
        Namespace::new(self, prefix)
    }

    /// The value at `key` at a committed `height`, with an ICS23 proof of it (or of its absence)
    /// against that height's app hash; check it with [`verify_proof`].
    pub fn get_with_proof(
        &self,
        key: &[u8],
        height: u64,
    ) -> Result<(Option<Vec<u8>>, CommitmentProof), StoreError> {
        self.check_kept(height)?;
        let view = TreeView { backend: &self.backend, empty_base: None };
        let tree = Sha256Jmt::new(&view);
        // ICS23 cannot express absence from an empty tree; the empty root itself proves it, so
        // the proof is left empty and `verify_proof` checks the root.
        if tree.get_root_hash(height).map_err(tree_error)?.0 == EMPTY_ROOT {
            return Ok((None, CommitmentProof { proof: None }));
        }
        let (value, proof) = tree.get_with_ics23_proof(tagged(key), height).map_err(tree_error)?;
        let value =
            value.map(|v| v.get(1..).map(<[u8]>::to_vec).ok_or(StoreError::Corrupt("leaf value".into())));
        Ok((value.transpose()?, proof))
    }

    /// Computes the app hash of `height` (the one after the last committed) from the pending
    /// writes, without persisting anything.
    pub fn stage(&mut self, height: u64) -> Result<AppHash, StoreError> {
        if let Some((last, _)) = self.latest
            && height != last + 1
        {
            return Err(StoreError::HeightOutOfOrder { expected: last + 1, got: height });
        }
        if let Some(staged) = &self.staged
            && staged.height == height
        {
            return Ok(staged.root);
        }
        let view = TreeView {
            backend: &self.backend,
            empty_base: if self.latest.is_none() { height.checked_sub(1) } else { None },
        };
        let tree = Sha256Jmt::new(&view);
        // Each key's tree key and its hash, computed once for the tree, the preimages and the index.
        let hashed: Vec<(KeyHash, Vec<u8>)> = self
            .pending
            .keys()
            .map(|k| {
                let tree_key = tagged(k);
                (KeyHash::with::<Sha256>(&tree_key), tree_key)
            })
            .collect();
        let puts: Option<Vec<_>> = hashed
            .iter()
            .zip(self.pending.values())
            .map(|((h, _), v)| Some((*h, tagged(v.as_ref()?))))
            .collect();
        let (root, update) = match puts {
            // Batch insertion hashes each touched node once per block instead of once per write
            // that passes through it, and builds the same tree; it cannot delete, so blocks with
            // deletions (and empty blocks, which it refuses) take the per-write path.
            Some(puts) if !puts.is_empty() => {
                tree.batch_put_value_sets(vec![puts], None, height).map(|(roots, update)| (roots[0], update))
            }
            _ => tree.put_value_set(
                hashed.iter().zip(self.pending.values()).map(|((h, _), v)| (*h, v.as_deref().map(tagged))),
                height,
            ),
        }
        .map_err(tree_error)?;

        let first = self.oldest.unwrap_or(height);
        let oldest = match self.config.keep_recent {
            Some(keep) => first.max((height + 1).saturating_sub(keep)),
            None => first,
        };

        let mut batch = Batch::default();
        let mut new_root = None;
        for (key, node) in update.node_batch.nodes() {
            if key.nibble_path().num_nibbles() == 0 {
                new_root = Some(key);
            }
            batch.put(Column::Nodes, node_key_bytes(key), borsh::to_vec(node).expect("borsh into a Vec"));
        }
        // The writes each new value replaces, found with one pass over the value history.
        let values = update.node_batch.values();
        let replaced = match height.checked_sub(1) {
            Some(previous) => view.last_writes(values.keys().map(|(_, key_hash)| *key_hash), previous)?,
            None => vec![None; values.len()],
        };
        let mut stale_values = Vec::new();
        let mut known = BTreeSet::new();
        for (((version, key_hash), value), replaced) in values.iter().zip(replaced) {
            batch.put(Column::Values, value_key(*key_hash, *version), encode_value(value.as_deref()));
            // The write this one replaces is needed only by heights before this one; and a key
            // written before has its preimage stored already (preimages are never deleted).
            if let Some(written) = replaced {
                stale_values.push(value_key(*key_hash, written));
                known.insert(*key_hash);
            }
            // A deletion marker answers "absent" for later heights just as no entry at all would.
            if value.is_none() {
                stale_values.push(value_key(*key_hash, *version));
            }
        }
        let mut stale_nodes: Vec<Vec<u8>> =
            update.stale_node_index_batch.iter().map(|stale| node_key_bytes(&stale.node_key)).collect();
        // `jmt` copies an unchanged root to the new height without marking the old copy stale;
        // retiring it here keeps empty blocks from leaking one node each. (Retiring an old root
        // that `jmt` already marked stale just repeats an idempotent delete.)
        if let (Some((last, _)), Some(new_root)) = (self.latest, new_root) {
            stale_nodes.push(node_key_bytes(&NodeKey::new(last, new_root.nibble_path().clone())));
        }
        // What this height makes stale is deleted at once if no kept height needs it
        // (keep_recent = 1), else listed under this height for the commit that moves `oldest`
        // past it: one record per height and column rather than one per node, which halves the
        // writes of a commit and the deletes of a prune.
        for (stale, column, keys) in [
            (Column::StaleNodes, Column::Nodes, stale_nodes),
            (Column::StaleValues, Column::Values, stale_values),
        ] {
            if height <= oldest {
                keys.into_iter().for_each(|key| batch.delete(column, key));
            } else if !keys.is_empty() {
                batch.put(
                    stale,
                    height.to_be_bytes().to_vec(),
                    borsh::to_vec(&keys).expect("borsh into a Vec"),
                );
            }
        }
        for ((key, value), (key_hash, tree_key)) in self.pending.iter().zip(hashed) {
            match value {
                Some(value) => {
                    if !known.contains(&key_hash) {
                        batch.put(Column::Preimages, key_hash.0.to_vec(), tree_key);
                    }
                    batch.put(Column::Index, key.clone(), value.clone());
                }
                None => batch.delete(Column::Index, key.clone()),
            }
        }
        batch.put(Column::Meta, META_LATEST.to_vec(), [&height.to_be_bytes()[..], &root.0].concat());
        batch.put(Column::Meta, META_OLDEST.to_vec(), oldest.to_be_bytes().to_vec());
        self.prune(&mut batch, oldest)?;

        self.staged = Some(Staged { height, root: root.0, oldest, batch });
        Ok(root.0)
    }

    /// Queues deletion of every node and value no height from `oldest` on can reach: those made
    /// stale at or before `oldest`.
    fn prune(&self, batch: &mut Batch, oldest: u64) -> Result<(), StoreError> {
        // Everything stale at or before the previous `oldest` is already gone; starting after it
        // keeps RocksDB from stepping over the tombstones of every earlier prune on each commit.
        let start = self.oldest.map_or(0, |previous| previous + 1).to_be_bytes();
        let end = (oldest + 1).to_be_bytes();
        for (stale, column) in [(Column::StaleNodes, Column::Nodes), (Column::StaleValues, Column::Values)] {
            for (key, list) in self.backend.range(stale, &start, &end)? {
                for retired in stale_keys(&key, &list)? {
                    batch.delete(column, retired);
                }
                batch.delete(stale, key);
            }
        }
        Ok(())
    }

    /// Persists `height` (staging it first if needed) in one atomic write and returns its app hash.
    pub fn commit(&mut self, height: u64) -> Result<AppHash, StoreError> {
        self.commit_with_aux(height, Vec::new())
    }

    /// [`Store::commit`], writing node-local `aux` records ([`Column::Aux`]; `None` deletes) in
    /// the same atomic batch, so they exist exactly when the height does.
    pub fn commit_with_aux(
        &mut self,
        height: u64,
        aux: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<AppHash, StoreError> {
        let root = self.stage(height)?;
        let mut staged = self.staged.take().expect("staged just above");
        staged.batch.ops.extend(aux.into_iter().map(|(k, v)| (Column::Aux, k, v)));
        self.backend.write(staged.batch)?;
        self.latest = Some((height, root));
        self.oldest = Some(staged.oldest);
        self.pending.clear();
        Ok(root)
    }
}

/// The keys a stale-index record retires: a height's list (the key is the 8-byte height), or, in
/// stores written before the lists, one key after the height.
fn stale_keys(key: &[u8], list: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
    match key.len() {
        8 => borsh::from_slice(list).map_err(|_| StoreError::Corrupt("stale index".into())),
        n if n > 8 => Ok(vec![key[8..].to_vec()]),
        _ => Err(StoreError::Corrupt("stale index key".into())),
    }
}

/// Whether `proof` shows `key` holding `value` (or, for `None`, absent) under the app hash `root`.
/// Absence from an empty state is shown by an empty proof under [`EMPTY_ROOT`].
pub fn verify_proof(root: &AppHash, key: &[u8], value: Option<&[u8]>, proof: &CommitmentProof) -> bool {
    if proof.proof.is_none() {
        return value.is_none() && *root == EMPTY_ROOT;
    }
    let spec = jmt::ics23_spec();
    let (root, key) = (root.to_vec(), tagged(key));
    match value {
        Some(value) => {
            ics23::verify_membership::<ics23::HostFunctionsManager>(proof, &spec, &root, &key, &tagged(value))
        }
        None => ics23::verify_non_membership::<ics23::HostFunctionsManager>(proof, &spec, &root, &key),
    }
}
