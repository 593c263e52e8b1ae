//! Round-2 shares on a public chain: each is sealed to its recipient's registered x25519 key
//! with ChaCha20-Poly1305 under a key that binds the session, dealer and recipient, so a share
//! cannot be read by anyone else or replayed into another slot.

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest as _, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};

/// Length of a sealed 32-byte share (ciphertext and tag).
pub const SEALED_LEN: usize = 48;

/// Where a sealed share belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// The DKG session.
    pub session: u64,
    /// Who dealt it.
    pub dealer: u16,
    /// Who may open it.
    pub recipient: u16,
}

impl Slot {
    fn bytes(&self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..8].copy_from_slice(&self.session.to_be_bytes());
        out[8..10].copy_from_slice(&self.dealer.to_be_bytes());
        out[10..].copy_from_slice(&self.recipient.to_be_bytes());
        out
    }
}

fn cipher(mine: &StaticSecret, theirs: &[u8; 32], slot: Slot) -> ChaCha20Poly1305 {
    let shared = mine.diffie_hellman(&PublicKey::from(*theirs));
    let key = Sha256::new()
        .chain_update(b"nexus/tss/share/v1")
        .chain_update(shared.as_bytes())
        .chain_update(slot.bytes())
        .finalize();
    ChaCha20Poly1305::new(Key::from_slice(&key))
}

/// Seals `share` from the dealer (`mine`) to the recipient's public key.
pub fn seal(mine: &StaticSecret, recipient: &[u8; 32], slot: Slot, share: &[u8; 32]) -> Vec<u8> {
    // The key is unique per slot, so a fixed nonce is never reused under one key.
    cipher(mine, recipient, slot)
        .encrypt(Nonce::from_slice(&[0; 12]), Payload { msg: share, aad: &slot.bytes() })
        .expect("ChaCha20-Poly1305 encrypts any 32 bytes")
}

/// Opens a share sealed by the dealer (public key `dealer`) to us (`mine`); `None` if it was not
/// sealed for this slot and key.
pub fn open(mine: &StaticSecret, dealer: &[u8; 32], slot: Slot, sealed: &[u8]) -> Option<[u8; 32]> {
    let plain = cipher(mine, dealer, slot)
        .decrypt(Nonce::from_slice(&[0; 12]), Payload { msg: sealed, aad: &slot.bytes() })
        .ok()?;
    plain.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn only_the_recipient_opens_a_share_and_only_in_its_slot() {
        let (dealer, recipient, other) = (
            StaticSecret::random_from_rng(OsRng),
            StaticSecret::random_from_rng(OsRng),
            StaticSecret::random_from_rng(OsRng),
        );
        let (dp, rp) = (PublicKey::from(&dealer).to_bytes(), PublicKey::from(&recipient).to_bytes());
        let slot = Slot { session: 3, dealer: 1, recipient: 2 };
        let sealed = seal(&dealer, &rp, slot, &[7; 32]);
        assert_eq!(sealed.len(), SEALED_LEN);
        assert_eq!(open(&recipient, &dp, slot, &sealed), Some([7; 32]));
        assert_eq!(open(&other, &dp, slot, &sealed), None);
        assert_eq!(open(&recipient, &dp, Slot { session: 4, ..slot }, &sealed), None);
        let mut tampered = sealed.clone();
        tampered[0] ^= 1;
        assert_eq!(open(&recipient, &dp, slot, &tampered), None);
    }
}
