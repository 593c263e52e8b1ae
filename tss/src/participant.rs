//! A validator's side of the protocol: from a [`Snapshot`] of committed state, the messages its
//! node publishes next. Every secret it makes is in the keystore before anything derived from it
//! leaves ([`Participant::messages`] returns only after the keystore write), and a nonce is
//! deleted before the share that used it is returned, so no nonce ever signs twice, crash or not.

use std::collections::BTreeMap;
use std::path::Path;

use rand_core::OsRng;
use x25519_dalek::{PublicKey, StaticSecret};

use crate::dkg::{self, ParticipantId};
use crate::keystore::{HeldShare, Keystore, KeystoreError};
use crate::protocol::{DkgSession, KeyRecord, Phase, Snapshot, TssMsg};
use crate::share_box::{self, Slot};
use crate::signing;

/// Commitments posted at a time, and the stock under which more are posted.
const COMMITMENT_BATCH: u32 = 32;
const COMMITMENT_LOW: u32 = 16;

/// A validator taking part in threshold signing.
#[derive(Debug)]
pub struct Participant {
    consensus_key: [u8; 32],
    keystore: Keystore,
    /// Test-only misbehaviour (`NEXUS_FAULT`): corrupt signature shares or one dealt share.
    fault: Fault,
}

/// Deliberate misbehaviour, for tests of the complaint and culprit paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// None.
    #[default]
    Honest,
    /// Every signature share is corrupted.
    BadShares,
    /// The round-2 share to the lowest other member is corrupted, and the complaint unanswered.
    BadDealing,
}

impl Fault {
    /// The fault named by `NEXUS_FAULT` (`tss-bad-share`, `tss-bad-dealing`), if any.
    pub fn from_env() -> Self {
        match std::env::var("NEXUS_FAULT").as_deref() {
            Ok("tss-bad-share") => Self::BadShares,
            Ok("tss-bad-dealing") => Self::BadDealing,
            _ => Self::Honest,
        }
    }
}

impl Participant {
    /// The participant of the validator with ed25519 key pair (`consensus_key`, `secret`), its
    /// keystore at `path` (encrypted under `secret`).
    pub fn open(
        path: &Path,
        consensus_key: [u8; 32],
        secret: &[u8],
        fault: Fault,
    ) -> Result<Self, KeystoreError> {
        Ok(Self { consensus_key, keystore: Keystore::open(path, secret)?, fault })
    }

    /// This validator's consensus key.
    pub fn consensus_key(&self) -> [u8; 32] {
        self.consensus_key
    }

    /// The keystore (tests inspect it).
    pub fn keystore(&self) -> &Keystore {
        &self.keystore
    }

    /// What to publish next, given committed state.
    pub fn messages(&mut self, s: &Snapshot) -> Result<Vec<TssMsg>, KeystoreError> {
        let mut out = Vec::new();
        let secret = self.encryption_secret()?;
        let public = PublicKey::from(&secret).to_bytes();
        if s.registered_key != Some(public) {
            out.push(TssMsg::EncryptionKey(public));
        }
        if let Some(session) = &s.session {
            self.dkg(session, &secret, &mut out)?;
        }
        for key in &s.keys {
            self.hold(key)?;
        }
        self.commitments(s, &mut out)?;
        self.shares(s, &mut out)?;
        Ok(out)
    }

    fn encryption_secret(&mut self) -> Result<StaticSecret, KeystoreError> {
        let bytes = self.keystore.update(|c| {
            *c.encryption_secret.get_or_insert_with(|| StaticSecret::random_from_rng(OsRng).to_bytes())
        })?;
        Ok(StaticSecret::from(bytes))
    }

    fn dkg(
        &mut self,
        session: &DkgSession,
        secret: &StaticSecret,
        out: &mut Vec<TssMsg>,
    ) -> Result<(), KeystoreError> {
        let Some(me) = session.id_of(&self.consensus_key) else { return Ok(()) };
        if session.excluded.contains_key(&me) {
            return Ok(());
        }
        let n = session.session;
        let dealt = self.keystore.update(|c| {
            c.dealings
                .entry(n)
                .or_insert_with(|| {
                    let (polynomial, round1) =
                        dkg::deal(me, session.threshold, &mut OsRng).expect("threshold ≥ 1");
                    (polynomial, round1)
                })
                .clone()
        })?;
        let (polynomial, round1) = dealt;
        match session.phase {
            Phase::Round1 if !session.round1.contains_key(&me) => {
                out.push(TssMsg::Round1 { session: n, round1 });
            }
            Phase::Round2 if !session.round2.contains_key(&me) => {
                let mut sealed = Vec::new();
                for to in session.active().filter(|to| *to != me) {
                    let mut share = dkg::share_for(&polynomial, to).expect("ids are non-zero");
                    if self.fault == Fault::BadDealing && sealed.is_empty() {
                        share[31] ^= 1;
                    }
                    let recipient = &session.members[usize::from(to) - 1].encryption_key;
                    let slot = Slot { session: n, dealer: me, recipient: to };
                    sealed.push((to, share_box::seal(secret, recipient, slot, &share)));
                }
                out.push(TssMsg::Round2 { session: n, sealed });
            }
            Phase::Complaints if !session.complaints.contains_key(&me) => {
                let mut received =
                    BTreeMap::from([(me, dkg::share_for(&polynomial, me).expect("non-zero id"))]);
                let mut against = Vec::new();
                for (dealer, sealed) in &session.round2 {
                    let opened = sealed.iter().find(|(to, _)| *to == me).and_then(|(_, bytes)| {
                        let from = &session.members[usize::from(*dealer) - 1].encryption_key;
                        share_box::open(
                            secret,
                            from,
                            Slot { session: n, dealer: *dealer, recipient: me },
                            bytes,
                        )
                    });
                    match (opened, session.round1.get(dealer)) {
                        (Some(share), Some(r1)) if dkg::share_is_valid(r1, me, &share) => {
                            received.insert(*dealer, share);
                        }
                        _ => against.push(*dealer),
                    }
                }
                self.keystore.update(|c| c.received.insert(n, received))?;
                out.push(TssMsg::Complaints { session: n, against });
            }
            Phase::Reveal => {
                let accusers: Vec<ParticipantId> = session
                    .complaints
                    .iter()
                    .filter(|(accuser, against)| {
                        against.contains(&me) && !session.reveals.contains_key(&(me, **accuser))
                    })
                    .map(|(accuser, _)| *accuser)
                    .collect();
                if !accusers.is_empty() && self.fault != Fault::BadDealing {
                    let shares = accusers
                        .iter()
                        .map(|a| (*a, dkg::share_for(&polynomial, *a).expect("non-zero id")))
                        .collect();
                    out.push(TssMsg::Reveal { session: n, shares });
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Takes up this validator's share of a finished key, once.
    fn hold(&mut self, key: &KeyRecord) -> Result<(), KeystoreError> {
        let Some(me) = key.id_of(&self.consensus_key) else { return Ok(()) };
        if self.keystore.contents().shares.contains_key(&key.epoch) {
            return Ok(());
        }
        let Some(received) = self.keystore.contents().received.get(&key.session) else { return Ok(()) };
        let mut shares: BTreeMap<ParticipantId, [u8; 32]> =
            received.iter().filter(|(d, _)| key.qualified.contains(d)).map(|(d, s)| (*d, *s)).collect();
        for (dealer, recipient, share) in &key.revealed {
            if *recipient == me {
                shares.insert(*dealer, *share);
            }
        }
        let held = signing::public_package(&key.group_key, &key.verifying_shares, key.threshold)
            .ok()
            .and_then(|public| dkg::key_share(me, &shares, &public).ok());
        let session = key.session;
        self.keystore.update(|c| {
            if let Some(package) = &held {
                c.shares
                    .insert(key.epoch, HeldShare { id: me, share: signing::signing_share_bytes(package) });
            }
            c.dealings.remove(&session);
            c.received.remove(&session);
        })
    }

    fn commitments(&mut self, s: &Snapshot, out: &mut Vec<TssMsg>) -> Result<(), KeystoreError> {
        self.forget_consumed(s)?;
        for key in &s.keys {
            let Some(held) = self.keystore.contents().shares.get(&key.epoch).cloned() else { continue };
            let (next, unused) = s.commitments.get(&key.epoch).copied().unwrap_or((0, 0));
            let pending = self.keystore.contents().pending_commitments.clone();
            let batch = match pending {
                Some((epoch, first, list)) if epoch == key.epoch && first == next => Some((first, list)),
                _ if unused >= COMMITMENT_LOW => None,
                _ => {
                    let Ok(public) =
                        signing::public_package(&key.group_key, &key.verifying_shares, key.threshold)
                    else {
                        continue;
                    };
                    let Ok(package) = signing::key_package(held.id, &held.share, &public) else { continue };
                    let made: Vec<_> = (0..COMMITMENT_BATCH)
                        .map(|_| signing::new_nonces(&package, &mut OsRng).expect("nonces for a valid key"))
                        .collect();
                    let list: Vec<_> = made.iter().map(|(_, c)| *c).collect();
                    let epoch = key.epoch;
                    self.keystore.update(|c| {
                        for (i, (nonces, _)) in made.into_iter().enumerate() {
                            c.nonces.insert((epoch, next + i as u32), nonces);
                        }
                        c.pending_commitments = Some((epoch, next, list.clone()));
                    })?;
                    Some((next, list))
                }
            };
            if let Some((first, commitments)) = batch {
                out.push(TssMsg::Commitments { epoch: key.epoch, first, commitments });
            }
        }
        Ok(())
    }

    /// Drops nonces whose commitments the chain has handed to a job this validator will not
    /// sign (it was away, or the job is over): the chain never uses an index twice, so they
    /// could only ever be a liability. Keys no longer in the snapshot are retired with theirs.
    fn forget_consumed(&mut self, s: &Snapshot) -> Result<(), KeystoreError> {
        let mine: Vec<(u64, u32)> = s
            .jobs
            .iter()
            .filter_map(|j| {
                let id = s.keys.iter().find(|k| k.epoch == j.epoch)?.id_of(&self.consensus_key)?;
                j.signers.iter().find(|(m, _, _)| *m == id).map(|(_, index, _)| (j.epoch, *index))
            })
            .collect();
        let first_unused: BTreeMap<u64, u32> =
            s.commitments.iter().map(|(epoch, (next, unused))| (*epoch, next - unused)).collect();
        let live: Vec<u64> = s.keys.iter().map(|k| k.epoch).collect();
        self.keystore.update(|c| {
            c.nonces.retain(|(epoch, index), _| {
                live.contains(epoch)
                    && (mine.contains(&(*epoch, *index))
                        || first_unused.get(epoch).is_none_or(|f| index >= f))
            });
        })
    }

    fn shares(&mut self, s: &Snapshot, out: &mut Vec<TssMsg>) -> Result<(), KeystoreError> {
        let open: Vec<u64> = s.jobs.iter().map(|j| j.id).collect();
        self.keystore.update(|c| c.released.retain(|job, _| open.contains(job)))?;
        for job in &s.jobs {
            let Some(key) = s.keys.iter().find(|k| k.epoch == job.epoch) else { continue };
            let Some(held) = self.keystore.contents().shares.get(&job.epoch).cloned() else { continue };
            let Some((_, index, _)) = job.signers.iter().find(|(id, _, _)| *id == held.id) else { continue };
            if let Some(share) = self.keystore.contents().released.get(&job.id) {
                out.push(TssMsg::Share { job: job.id, share: *share });
                continue;
            }
            let Some(nonces) = self.keystore.contents().nonces.get(&(job.epoch, *index)).cloned() else {
                continue;
            };
            let commitments = job.signers.iter().map(|(id, _, c)| (*id, *c)).collect();
            let share = signing::public_package(&key.group_key, &key.verifying_shares, key.threshold)
                .and_then(|public| signing::key_package(held.id, &held.share, &public))
                .and_then(|package| {
                    signing::sign(&signing::package(&job.message, &commitments)?, &nonces, &package)
                });
            let (epoch, index, id) = (job.epoch, *index, job.id);
            let Ok(mut share) = share else {
                // Unusable nonces are dropped rather than retried.
                self.keystore.update(|c| c.nonces.remove(&(epoch, index)))?;
                continue;
            };
            if self.fault == Fault::BadShares {
                share[0] ^= 1;
            }
            self.keystore.update(|c| {
                c.nonces.remove(&(epoch, index));
                c.released.insert(id, share);
            })?;
            out.push(TssMsg::Share { job: id, share });
        }
        Ok(())
    }
}
