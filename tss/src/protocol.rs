//! The threshold-signing protocol as the chain sees it: the messages validators publish in
//! their vote extensions, and the records consensus state keeps (a DKG session, finished keys,
//! signing jobs). The chain's checks live with the chain; the validator's side is
//! [`crate::participant`].

use std::collections::BTreeMap;

use crate::dkg::{ParticipantId, Point, Round1};
use crate::signing::Commitment;

/// Most protocol messages in one vote extension.
pub const MAX_MESSAGES: usize = 256;

/// Most commitments one message may post.
pub const MAX_COMMITMENTS_PER_MESSAGE: usize = 64;

/// A protocol message, signed as part of its validator's vote extension.
#[derive(Debug, Clone, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub enum TssMsg {
    /// Registers the x25519 public key DKG shares are sealed to.
    EncryptionKey([u8; 32]),
    /// A dealer's round-1 commitment and proof of knowledge.
    Round1 {
        /// The DKG session.
        session: u64,
        /// The dealing's public part.
        round1: Round1,
    },
    /// A dealer's shares, each sealed to its recipient, for every other member still in.
    Round2 {
        /// The DKG session.
        session: u64,
        /// (recipient, sealed share).
        sealed: Vec<(ParticipantId, Vec<u8>)>,
    },
    /// The dealers whose shares to this member did not open or did not match their commitment;
    /// empty when all were good (an acknowledgement).
    Complaints {
        /// The DKG session.
        session: u64,
        /// Accused dealers.
        against: Vec<ParticipantId>,
    },
    /// An accused dealer's answer: the shares it owes its accusers, in the clear, for anyone to
    /// check against its commitment.
    Reveal {
        /// The DKG session.
        session: u64,
        /// (accuser, share).
        shares: Vec<(ParticipantId, [u8; 32])>,
    },
    /// Nonce commitments for signing with key `epoch`, numbered from `first`.
    Commitments {
        /// The key.
        epoch: u64,
        /// Index of the first commitment.
        first: u32,
        /// The commitments.
        commitments: Vec<Commitment>,
    },
    /// A signature share for a signing job.
    Share {
        /// The job.
        job: u64,
        /// The share.
        share: [u8; 32],
    },
}

/// A DKG's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub enum Phase {
    /// Dealers publish commitments and proofs.
    Round1,
    /// Dealers publish sealed shares.
    Round2,
    /// Members acknowledge or accuse dealers.
    Complaints,
    /// Accused dealers reveal the disputed shares.
    Reveal,
}

/// A DKG member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct Member {
    /// Its validator's consensus key.
    pub consensus_key: [u8; 32],
    /// Its registered x25519 key.
    pub encryption_key: [u8; 32],
}

/// A running DKG, in state.
#[derive(Debug, Clone, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct DkgSession {
    /// Unique number of the session.
    pub session: u64,
    /// Epoch of the key it makes.
    pub epoch: u64,
    /// Members; member `i` has participant id `i + 1`.
    pub members: Vec<Member>,
    /// Signers a signature needs.
    pub threshold: u16,
    /// Current phase.
    pub phase: Phase,
    /// The height at which the phase ends even if someone has not answered.
    pub deadline: u64,
    /// Round-1 messages that passed their checks.
    pub round1: BTreeMap<ParticipantId, Round1>,
    /// Sealed shares by dealer.
    pub round2: BTreeMap<ParticipantId, Vec<(ParticipantId, Vec<u8>)>>,
    /// Accusations by accuser.
    pub complaints: BTreeMap<ParticipantId, Vec<ParticipantId>>,
    /// Valid revealed shares by (dealer, accuser).
    pub reveals: BTreeMap<(ParticipantId, ParticipantId), [u8; 32]>,
    /// Members out of the session, with why.
    pub excluded: BTreeMap<ParticipantId, String>,
}

impl DkgSession {
    /// The id of the member with this consensus key.
    pub fn id_of(&self, consensus_key: &[u8; 32]) -> Option<ParticipantId> {
        member_id(self.members.iter().map(|m| &m.consensus_key), consensus_key)
    }

    /// Members still in, in id order.
    pub fn active(&self) -> impl Iterator<Item = ParticipantId> + '_ {
        (1..=self.members.len() as u16).filter(|id| !self.excluded.contains_key(id))
    }
}

fn member_id<'a>(mut keys: impl Iterator<Item = &'a [u8; 32]>, key: &[u8; 32]) -> Option<ParticipantId> {
    keys.position(|k| k == key).and_then(|i| u16::try_from(i + 1).ok())
}

/// A finished key, in state.
#[derive(Debug, Clone, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct KeyRecord {
    /// Its epoch (the gateway binds it into every digest).
    pub epoch: u64,
    /// The DKG session that made it.
    pub session: u64,
    /// Members' consensus keys; member `i` has participant id `i + 1`.
    pub members: Vec<[u8; 32]>,
    /// Signers a signature needs.
    pub threshold: u16,
    /// The group public key.
    pub group_key: Point,
    /// Members' verifying shares, in id order.
    pub verifying_shares: Vec<Point>,
    /// Dealers whose polynomials make up the key.
    pub qualified: Vec<ParticipantId>,
    /// Shares revealed in the complaint round, (dealer, recipient, share): their recipients use
    /// these instead of what they were sent.
    pub revealed: Vec<(ParticipantId, ParticipantId, [u8; 32])>,
}

impl KeyRecord {
    /// The id of the member with this consensus key.
    pub fn id_of(&self, consensus_key: &[u8; 32]) -> Option<ParticipantId> {
        member_id(self.members.iter(), consensus_key)
    }
}

/// What a signing job signs.
#[derive(Debug, Clone, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub enum JobKind {
    /// A batch of gateway messages under one Merkle root.
    Batch {
        /// The messages' gateway nonces, in leaf order.
        nonces: Vec<u64>,
        /// The Merkle root.
        root: [u8; 32],
    },
    /// The gateway's move from this job's key to key `to`.
    Rotation {
        /// The new key's epoch.
        to: u64,
    },
}

/// A signing job, in state: the message, the signers and their commitments are fixed here, so a
/// share can only be for this.
#[derive(Debug, Clone, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct Job {
    /// Unique id.
    pub id: u64,
    /// The signing key's epoch.
    pub epoch: u64,
    /// What is signed.
    pub kind: JobKind,
    /// The 32-byte digest the group signs.
    pub message: [u8; 32],
    /// Signers with the index and value of the commitment each must use.
    pub signers: Vec<(ParticipantId, u32, Commitment)>,
    /// The height that created it; shares come in the next height's vote extensions.
    pub created: u64,
    /// How many jobs signed the same thing before and failed.
    pub attempt: u32,
    /// Valid shares received so far.
    pub shares: BTreeMap<ParticipantId, [u8; 32]>,
    /// Signers whose share did not verify.
    pub culprits: Vec<ParticipantId>,
}

/// What a validator's node needs from committed state to take its part.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The chain's height the snapshot is at.
    pub height: u64,
    /// The x25519 key the chain has registered for this validator.
    pub registered_key: Option<[u8; 32]>,
    /// The running DKG.
    pub session: Option<DkgSession>,
    /// Keys this validator may hold a share of (active, pending or being retired).
    pub keys: Vec<KeyRecord>,
    /// For each key epoch: the next commitment index the chain expects from this validator and
    /// how many of its commitments are unused.
    pub commitments: BTreeMap<u64, (u32, u32)>,
    /// Open signing jobs.
    pub jobs: Vec<Job>,
}
