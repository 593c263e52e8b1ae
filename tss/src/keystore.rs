//! A validator's threshold-signing secrets, kept only on its own disk: encrypted at rest with a
//! key derived from its consensus key, rewritten whole and atomically (temporary file, fsync,
//! rename, directory fsync) on every change, so a crash leaves either the old or the new
//! contents and a nonce removed before its share was released never comes back.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead as _, KeyInit as _};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::{OsRng, RngCore as _};
use sha2::{Digest as _, Sha256};

use crate::dkg::{ParticipantId, Polynomial, Round1};
use crate::signing::{Commitment, Nonces};

/// First bytes of the file.
const MAGIC: &[u8; 8] = b"NXTSKS01";

/// Why the keystore could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// Reading or writing the file failed.
    #[error("keystore {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a keystore, or was encrypted under another key.
    #[error("keystore {0} does not decrypt with this validator's key (wrong key or corrupted)")]
    Decrypt(PathBuf),
}

/// A key share this validator holds.
#[derive(Debug, Clone, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct HeldShare {
    /// Its participant id in the key.
    pub id: ParticipantId,
    /// The secret signing share.
    pub share: [u8; 32],
}

/// Everything the keystore holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct Contents {
    /// The x25519 secret whose public key is registered for receiving DKG shares.
    pub encryption_secret: Option<[u8; 32]>,
    /// DKG sessions this validator dealt in: its polynomial and round-1 message (republished
    /// as is), until the session ends.
    pub dealings: BTreeMap<u64, (Polynomial, Round1)>,
    /// Shares received per session, by dealer (opened and checked), until the session ends.
    pub received: BTreeMap<u64, BTreeMap<ParticipantId, [u8; 32]>>,
    /// Key shares by key epoch.
    pub shares: BTreeMap<u64, HeldShare>,
    /// Unused nonces by (key epoch, commitment index).
    pub nonces: BTreeMap<(u64, u32), Nonces>,
    /// A batch of commitments made but maybe not yet recorded on chain: (epoch, first index,
    /// commitments); republished as is until the chain records it, never regenerated.
    pub pending_commitments: Option<(u64, u32, Vec<Commitment>)>,
    /// Signature shares already released, by signing job: answered again identically (their
    /// nonces are gone).
    pub released: BTreeMap<u64, [u8; 32]>,
}

/// The open keystore.
#[derive(Debug)]
pub struct Keystore {
    path: PathBuf,
    key: [u8; 32],
    contents: Contents,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeystoreError + '_ {
    move |source| KeystoreError::Io { path: path.to_owned(), source }
}

impl Keystore {
    /// Opens (or creates, empty) the keystore at `path`, encrypted under a key derived from
    /// `secret` (the validator's consensus private key).
    pub fn open(path: &Path, secret: &[u8]) -> Result<Self, KeystoreError> {
        let key: [u8; 32] =
            Sha256::new().chain_update(b"nexus/tss/keystore/v1").chain_update(secret).finalize().into();
        let contents = match fs::read(path) {
            Ok(bytes) => decrypt(&key, &bytes).ok_or_else(|| KeystoreError::Decrypt(path.to_owned()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Contents::default(),
            Err(e) => return Err(io(path)(e)),
        };
        Ok(Self { path: path.to_owned(), key, contents })
    }

    /// What it holds.
    pub fn contents(&self) -> &Contents {
        &self.contents
    }

    /// Changes the contents and makes the change durable before returning; on error the
    /// in-memory contents are left as they were on disk.
    pub fn update<T>(&mut self, change: impl FnOnce(&mut Contents) -> T) -> Result<T, KeystoreError> {
        let mut next = self.contents.clone();
        let out = change(&mut next);
        if next != self.contents {
            self.write(&next)?;
            self.contents = next;
        }
        Ok(out)
    }

    fn write(&self, contents: &Contents) -> Result<(), KeystoreError> {
        let plain = borsh::to_vec(contents).expect("borsh into a Vec");
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let sealed = ChaCha20Poly1305::new(Key::from_slice(&self.key))
            .encrypt(Nonce::from_slice(&nonce), plain.as_slice())
            .expect("encryption of a Vec");
        let tmp = self.path.with_extension("tmp");
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(io(dir))?;
        let mut file = fs::File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(&[MAGIC.as_slice(), &nonce, &sealed].concat()).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600)).map_err(io(&tmp))?;
        }
        fs::rename(&tmp, &self.path).map_err(io(&self.path))?;
        fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
    }
}

fn decrypt(key: &[u8; 32], bytes: &[u8]) -> Option<Contents> {
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let (nonce, sealed) = rest.split_first_chunk::<12>()?;
    let plain = ChaCha20Poly1305::new(Key::from_slice(key)).decrypt(Nonce::from_slice(nonce), sealed).ok()?;
    borsh::from_slice(&plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_survive_reopening_and_stay_secret_from_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tss").join("keystore");
        let mut ks = Keystore::open(&path, b"validator key").unwrap();
        ks.update(|c| c.shares.insert(1, HeldShare { id: 2, share: [5; 32] })).unwrap();
        let bytes = fs::read(&path).unwrap();
        assert!(!bytes.windows(32).any(|w| w == [5; 32]), "the share is on disk in the clear");
        let again = Keystore::open(&path, b"validator key").unwrap();
        assert_eq!(again.contents().shares[&1].share, [5; 32]);
        assert!(matches!(Keystore::open(&path, b"another key"), Err(KeystoreError::Decrypt(_))));
        assert!(!path.with_extension("tmp").exists());
    }
}
