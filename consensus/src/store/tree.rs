//! The Jellyfish Merkle tree's view of a [`Backend`], and the byte layout of tree data in it.

use std::ops::Bound;

use jmt::storage::{HasPreimage, LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Version};

use super::StoreError;
use super::backend::{Backend, Column};

/// The tree as stored in a backend, read by `jmt` to update it or to build proofs.
pub(super) struct TreeView<'a, B> {
    pub backend: &'a B,
    /// The version just before the first height of an empty store: `jmt` builds each version on
    /// the previous root, so an empty store must show an empty root there for any initial height.
    pub empty_base: Option<Version>,
}

pub(super) fn node_key_bytes(key: &NodeKey) -> Vec<u8> {
    borsh::to_vec(key).expect("borsh encoding into a Vec cannot fail")
}

/// Value history keys sort by key hash, then height, so the value at or before a height is one
/// reverse seek away.
pub(super) fn value_key(key_hash: KeyHash, version: Version) -> Vec<u8> {
    [&key_hash.0[..], &version.to_be_bytes()].concat()
}

/// A value history entry: a leading 1 and the value, or a lone 0 for a deletion.
pub(super) fn encode_value(value: Option<&[u8]>) -> Vec<u8> {
    match value {
        Some(v) => [&[1u8][..], v].concat(),
        None => vec![0],
    }
}

fn decode_value(bytes: &[u8]) -> Result<Option<OwnedValue>, StoreError> {
    match bytes.split_first() {
        Some((1, v)) => Ok(Some(v.to_vec())),
        Some((0, [])) => Ok(None),
        _ => Err(StoreError::Corrupt("value history entry".into())),
    }
}

impl<B: Backend> TreeView<'_, B> {
    /// The latest version at or before `max_version` in which `key_hash` was written.
    pub(super) fn last_write(
        &self,
        key_hash: KeyHash,
        max_version: Version,
    ) -> Result<Option<(Version, Vec<u8>)>, StoreError> {
        let from = value_key(key_hash, max_version);
        match self.backend.seek(Column::Values, Bound::Included(&from), true)? {
            Some((k, v)) if k.len() == 40 && k[..32] == key_hash.0 => {
                let version = u64::from_be_bytes(k[32..].try_into().expect("8 bytes"));
                Ok(Some((version, v)))
            }
            _ => Ok(None),
        }
    }

    /// [`TreeView::last_write`]'s version for each of `key_hashes`, in one pass.
    pub(super) fn last_writes(
        &self,
        key_hashes: impl Iterator<Item = KeyHash>,
        max_version: Version,
    ) -> Result<Vec<Option<Version>>, StoreError> {
        let froms: Vec<Vec<u8>> = key_hashes.map(|h| value_key(h, max_version)).collect();
        let found = self.backend.floor_keys(Column::Values, &froms)?;
        Ok(froms
            .iter()
            .zip(found)
            .map(|(from, key)| match key {
                Some(k) if k.len() == 40 && k[..32] == from[..32] => {
                    Some(u64::from_be_bytes(k[32..].try_into().expect("8 bytes")))
                }
                _ => None,
            })
            .collect())
    }
}

impl<B: Backend> TreeReader for TreeView<'_, B> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        if let Some(bytes) = self.backend.get(Column::Nodes, &node_key_bytes(node_key))? {
            return Ok(Some(borsh::from_slice(&bytes)?));
        }
        let is_root = node_key.nibble_path().num_nibbles() == 0;
        Ok((is_root && Some(node_key.version()) == self.empty_base).then_some(Node::Null))
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        match self.last_write(key_hash, max_version)? {
            Some((_, bytes)) => Ok(decode_value(&bytes)?),
            None => Ok(None),
        }
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only `jmt`'s snapshot restore asks for this; state sync is not built on this store yet.
        anyhow::bail!("restoring the tree from a snapshot is not supported")
    }
}

impl<B: Backend> HasPreimage for TreeView<'_, B> {
    fn preimage(&self, key_hash: KeyHash) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.backend.get(Column::Preimages, &key_hash.0)?)
    }
}
