//! Threshold-signing component (DESIGN.md §6): the validator set's FROST group key made by a DKG
//! whose messages ride in vote extensions, and the signing of functions' `eth_send` messages in
//! Merkle batches and of key rotations.
//!
//! Every protocol message is part of its validator's signed vote extension, so the node signs it
//! automatically and the next proposer's bundle brings it on chain; FinalizeBlock checks each one
//! here and records it once. Per block, after the transactions:
//! - **DKG**: when the active set differs from the newest key's members (and all of them have
//!   registered an x25519 key), a session starts: round 1 (commitments with proofs of
//!   knowledge, checked here), round 2 (shares sealed to each member), complaints, and, if any,
//!   reveals, which anyone checks against the dealer's commitment. Dealers that miss a round, fail
//!   a check or cannot answer a complaint are excluded and reported; the rest make the key, with
//!   threshold ⌊2n/3⌋+1.
//! - **Signing**: a job fixes the digest, `threshold` signers and one pre-posted commitment each.
//!   Shares arrive in the next height's extensions and are checked one by one as they land; at
//!   `created + 2` a complete job is aggregated, an incomplete one retried with other signers,
//!   and a signer whose share was invalid is recorded as a culprit and slashed.
//! - **Keys on Ethereum**: the first key is usable at once (the gateway's bootstrapper installs
//!   it); a later one only after the old key's signed `rotateKey` is seen executed on Ethereum
//!   (`GroupKeySet`), when messages signed under the old key and not yet executed are re-signed.

use std::collections::{BTreeMap, BTreeSet};

use crate::store::Backend;
use alloy_primitives::{Address as EthAddress, B256};
use borsh::{BorshDeserialize, BorshSerialize};
use nexus_tss::dkg::{self, ParticipantId};
use nexus_tss::gateway::{self, GroupKey};
use nexus_tss::protocol::{DkgSession, Job, JobKind, KeyRecord, Member, Phase, Snapshot, TssMsg};
use nexus_tss::share_box::SEALED_LEN;
use nexus_tss::signing::{self, Commitment};
use nexus_types::Hash32;
use serde::{Deserialize, Serialize};

use super::App;
use super::layers;
use super::records::{LogRecord, Params};
use super::votes::{Bundle, ValidatorAddress};

/// Threshold-signing parameters, fixed at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TssParams {
    /// Blocks a DKG phase waits for members who have not answered.
    pub phase_blocks: u64,
    /// Most messages signed under one Merkle root.
    pub max_batch: u32,
    /// Share of a validator's stake burned for an invalid signature share, in basis points.
    pub culprit_slash_bps: u32,
}

impl Default for TssParams {
    fn default() -> Self {
        Self { phase_blocks: 10, max_batch: 4096, culprit_slash_bps: 10 }
    }
}

/// Most unused commitments the chain keeps per signer and key.
const MAX_STOCK: usize = 256;

/// Largest `eth_send` the chain accepts into the queue (the host call's own cap is larger).
pub const MAX_MESSAGE_DATA: usize = 64 << 10;

/// Counters and the key epochs in use.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TssState {
    /// Next DKG session number.
    pub next_session: u64,
    /// Next signing job id.
    pub next_job: u64,
    /// Next gateway nonce.
    pub next_nonce: u64,
    /// Next fault record number.
    pub next_fault: u64,
    /// The key the gateway holds: messages are signed with it.
    pub active: Option<u64>,
    /// The newest key.
    pub latest: Option<u64>,
    /// Since when the set has wanted a new key but not every member has registered.
    pub waiting_since: Option<u64>,
}

/// An `eth_send` message's progress.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum MessageStatus {
    /// Waiting for a signing job.
    Queued,
    /// In signing job `job`.
    Signing {
        /// The job.
        job: u64,
    },
    /// Signed in the batch of job `batch` under key `epoch`.
    Signed {
        /// The batch's job id.
        batch: u64,
        /// The key.
        epoch: u64,
    },
    /// Executed on Ethereum.
    Executed {
        /// Whether the target call succeeded.
        success: bool,
    },
}

/// A function's message to Ethereum, in state.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct MessageRecord {
    /// The sending function.
    pub function: Hash32,
    /// The id `eth_send` returned to it.
    pub request_id: u64,
    /// The called contract.
    pub target: [u8; 20],
    /// Gas for the call.
    pub gas_limit: u64,
    /// Calldata.
    pub data: Vec<u8>,
    /// Progress.
    pub status: MessageStatus,
}

/// A signed batch, in state, for relayers.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedBatch {
    /// The job that signed it.
    pub job: u64,
    /// The key epoch.
    pub epoch: u64,
    /// The Merkle root.
    pub root: [u8; 32],
    /// Gateway nonces in leaf order.
    pub nonces: Vec<u64>,
    /// The FROST signature (R compressed, z).
    pub signature: Vec<u8>,
    /// Height it was aggregated at.
    pub height: u64,
}

/// A signed key rotation, in state, for relayers.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedRotation {
    /// The current key's epoch (it signed).
    pub from: u64,
    /// The new key's epoch.
    pub to: u64,
    /// The new group key.
    pub group_key: [u8; 33],
    /// The FROST signature.
    pub signature: Vec<u8>,
    /// Height it was aggregated at.
    pub height: u64,
}

/// A reported protocol fault.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Fault {
    /// Height it was recorded at.
    pub height: u64,
    /// The validator's consensus key.
    #[serde(with = "super::records::hex_bytes")]
    pub validator: [u8; 32],
    /// What it did.
    pub reason: String,
}

/// Unused commitments of one signer for one key.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
struct Stock {
    next: u32,
    unused: BTreeMap<u32, Commitment>,
}

mod keys {
    pub const STATE: &[u8] = b"p/tss";
    pub const SESSION: &[u8] = b"p/tss-dkg";
    pub const KEY_PREFIX: &[u8] = b"tk/";
    pub const JOB_PREFIX: &[u8] = b"tj/";
    pub const QUEUE_PREFIX: &[u8] = b"tq/";
    pub const BATCH_PREFIX: &[u8] = b"tb/";
    pub const ROTATION_PREFIX: &[u8] = b"tr/";
    pub const FAULT_PREFIX: &[u8] = b"tf/";
    pub const MESSAGE_PREFIX: &[u8] = b"tm/";
    pub const STOCK_PREFIX: &[u8] = b"tc/";

    fn numbered(prefix: &[u8], n: u64) -> Vec<u8> {
        [prefix, &n.to_be_bytes()].concat()
    }
    pub fn key(epoch: u64) -> Vec<u8> {
        numbered(KEY_PREFIX, epoch)
    }
    pub fn job(id: u64) -> Vec<u8> {
        numbered(JOB_PREFIX, id)
    }
    pub fn queued(nonce: u64) -> Vec<u8> {
        numbered(QUEUE_PREFIX, nonce)
    }
    pub fn batch(job: u64) -> Vec<u8> {
        numbered(BATCH_PREFIX, job)
    }
    pub fn rotation(from: u64) -> Vec<u8> {
        numbered(ROTATION_PREFIX, from)
    }
    pub fn fault(n: u64) -> Vec<u8> {
        numbered(FAULT_PREFIX, n)
    }
    pub fn message(nonce: u64) -> Vec<u8> {
        numbered(MESSAGE_PREFIX, nonce)
    }
    pub fn encryption_key(consensus_key: &[u8; 32]) -> Vec<u8> {
        [b"te/".as_slice(), consensus_key].concat()
    }
    pub fn stock(epoch: u64, id: u16) -> Vec<u8> {
        [STOCK_PREFIX, &epoch.to_be_bytes(), &id.to_be_bytes()].concat()
    }
}

/// The threshold for `n` members: ⌊2n/3⌋ + 1.
pub fn threshold(n: usize) -> u16 {
    u16::try_from(2 * n / 3 + 1).unwrap_or(u16::MAX)
}

/// Whether a validator's protocol messages are well-formed enough to carry (their meaning is
/// checked when they land).
pub fn messages_fit(msgs: &[TssMsg]) -> bool {
    msgs.len() <= nexus_tss::protocol::MAX_MESSAGES
        && msgs.iter().all(|m| match m {
            TssMsg::Commitments { commitments, .. } => {
                commitments.len() <= nexus_tss::protocol::MAX_COMMITMENTS_PER_MESSAGE
            }
            TssMsg::Round2 { sealed, .. } => sealed.iter().all(|(_, s)| s.len() == SEALED_LEN),
            _ => true,
        })
}

fn eth_key(key: &KeyRecord) -> Option<GroupKey> {
    let vk = frost_verifying_key(&key.group_key)?;
    GroupKey::from_frost(&vk).ok()
}

fn frost_verifying_key(bytes: &[u8; 33]) -> Option<frost_secp256k1::VerifyingKey> {
    frost_secp256k1::VerifyingKey::deserialize(bytes).ok()
}

/// The chain's log line about a function's gateway message `nonce` (kind `eth_send`), so
/// `nexus logs` shows each one queued, signed and executed.
pub(super) fn message_log(m: &MessageRecord, nonce: u64, height: u64, what: &str) -> LogRecord {
    LogRecord {
        function: m.function,
        height,
        tx: None,
        entry: "eth_send".into(),
        kind: "eth_send".into(),
        topic: None,
        message: format!(
            "request {}: gateway message {nonce} to 0x{} {what}",
            m.request_id,
            hex::encode(m.target)
        ),
        eth_block: None,
    }
}

/// The gateway message of a record.
pub fn gateway_message(nonce: u64, m: &MessageRecord) -> gateway::Message {
    gateway::Message {
        nonce,
        sender: m.function,
        target: m.target,
        gas_limit: m.gas_limit,
        data: m.data.clone(),
    }
}

impl<B: Backend + Send + Sync + 'static> App<B> {
    fn tss_state(&self) -> TssState {
        self.load(keys::STATE).unwrap_or_default()
    }

    fn fault(&self, state: &mut TssState, height: u64, validator: [u8; 32], reason: String) {
        self.store_value(keys::fault(state.next_fault), &Fault { height, validator, reason });
        state.next_fault += 1;
    }

    /// Queues a function's `eth_send`; returns the gateway nonce it will carry and its record.
    pub(super) fn queue_eth_send(
        &self,
        function: Hash32,
        request_id: u64,
        target: [u8; 20],
        gas_limit: u64,
        data: Vec<u8>,
    ) -> (u64, MessageRecord) {
        let mut state = self.tss_state();
        let nonce = state.next_nonce;
        state.next_nonce += 1;
        self.store_value(keys::STATE.to_vec(), &state);
        let record =
            MessageRecord { function, request_id, target, gas_limit, data, status: MessageStatus::Queued };
        self.store_value(keys::message(nonce), &record);
        self.layers.set(keys::queued(nonce), Vec::new());
        (nonce, record)
    }

    /// The end-of-block threshold-signing step: records the bundle's protocol messages, moves
    /// the DKG along, and settles and creates signing jobs.
    pub(super) fn end_block_tss(
        &self,
        params: &Params,
        height: u64,
        bundle: Option<&Bundle>,
        logs: &mut Vec<LogRecord>,
    ) {
        let mut state = self.tss_state();
        if let Some(bundle) = bundle {
            let set = self.validator_set_at(bundle.height);
            for vote in &bundle.votes {
                let (Some(key), Some((_, msgs))) =
                    (set.get(&vote.validator), super::vote_of(bundle.height, &vote.extension))
                else {
                    continue;
                };
                for msg in msgs {
                    self.ingest(params, &mut state, height, &key.pub_key, msg);
                }
            }
        }
        self.dkg_step(params, &mut state, height);
        self.jobs_step(params, &mut state, height, logs);
        self.store_value(keys::STATE.to_vec(), &state);
        self.layers.commit_tx();
    }

    fn ingest(&self, params: &Params, state: &mut TssState, height: u64, from: &[u8; 32], msg: TssMsg) {
        match msg {
            TssMsg::EncryptionKey(key) => self.store_value(keys::encryption_key(from), &key),
            TssMsg::Commitments { epoch, first, commitments } => {
                let Some(key) = self.load::<KeyRecord>(&keys::key(epoch)) else { return };
                let Some(id) = key.id_of(from) else { return };
                let mut stock: Stock = self.load(&keys::stock(epoch, id)).unwrap_or_default();
                if first != stock.next
                    || stock.unused.len() + commitments.len() > MAX_STOCK
                    || !commitments.iter().all(signing::commitment_is_valid)
                {
                    return;
                }
                stock.next = first + commitments.len() as u32;
                for (i, c) in commitments.into_iter().enumerate() {
                    stock.unused.insert(first + i as u32, c);
                }
                self.store_value(keys::stock(epoch, id), &stock);
            }
            TssMsg::Share { job, share } => {
                let Some(mut j) = self.load::<Job>(&keys::job(job)) else { return };
                let Some(key) = self.load::<KeyRecord>(&keys::key(j.epoch)) else { return };
                let Some(id) = key.id_of(from) else { return };
                if !j.signers.iter().any(|(s, _, _)| *s == id)
                    || j.shares.contains_key(&id)
                    || j.culprits.contains(&id)
                {
                    return;
                }
                let commitments = j.signers.iter().map(|(s, _, c)| (*s, *c)).collect();
                let valid = signing::public_package(&key.group_key, &key.verifying_shares, key.threshold)
                    .and_then(|public| {
                        let package = signing::package(&j.message, &commitments)?;
                        Ok(signing::share_is_valid(&package, &public, id, &share))
                    })
                    .unwrap_or(false);
                if valid {
                    j.shares.insert(id, share);
                } else {
                    j.culprits.push(id);
                    self.fault(state, height, *from, format!("invalid signature share for job {job}"));
                    self.penalize(params, from);
                }
                self.store_value(keys::job(job), &j);
            }
            other => self.ingest_dkg(state, height, from, other),
        }
    }

    fn ingest_dkg(&self, state: &mut TssState, height: u64, from: &[u8; 32], msg: TssMsg) {
        let Some(mut s) = self.load::<DkgSession>(keys::SESSION) else { return };
        let Some(me) = s.id_of(from) else { return };
        if s.excluded.contains_key(&me) {
            return;
        }
        let active: Vec<ParticipantId> = s.active().collect();
        match msg {
            TssMsg::Round1 { session, round1 } if session == s.session && s.phase == Phase::Round1 => {
                if s.round1.contains_key(&me) {
                    return;
                }
                match dkg::check_round1(me, s.threshold, &round1) {
                    Ok(()) => {
                        s.round1.insert(me, round1);
                    }
                    Err(e) => self.exclude(state, &mut s, height, me, format!("round 1: {e}")),
                }
            }
            TssMsg::Round2 { session, sealed } if session == s.session && s.phase == Phase::Round2 => {
                if s.round2.contains_key(&me) {
                    return;
                }
                let to: Vec<ParticipantId> = sealed.iter().map(|(to, _)| *to).collect();
                let want: Vec<ParticipantId> = active.iter().copied().filter(|id| *id != me).collect();
                if to == want && sealed.iter().all(|(_, b)| b.len() == SEALED_LEN) {
                    s.round2.insert(me, sealed);
                } else {
                    self.exclude(
                        state,
                        &mut s,
                        height,
                        me,
                        "round 2: shares not sealed to exactly the other members".into(),
                    );
                }
            }
            TssMsg::Complaints { session, against }
                if session == s.session && s.phase == Phase::Complaints =>
            {
                if s.complaints.contains_key(&me) {
                    return;
                }
                let against: BTreeSet<ParticipantId> =
                    against.into_iter().filter(|d| *d != me && active.contains(d)).collect();
                s.complaints.insert(me, against.into_iter().collect());
            }
            TssMsg::Reveal { session, shares } if session == s.session && s.phase == Phase::Reveal => {
                let Some(round1) = s.round1.get(&me).cloned() else { return };
                for (accuser, share) in shares {
                    let accused = s.complaints.get(&accuser).is_some_and(|a| a.contains(&me));
                    if !accused || s.reveals.contains_key(&(me, accuser)) {
                        continue;
                    }
                    if dkg::share_is_valid(&round1, accuser, &share) {
                        s.reveals.insert((me, accuser), share);
                    } else {
                        self.exclude(
                            state,
                            &mut s,
                            height,
                            me,
                            format!("revealed an invalid share for member {accuser}"),
                        );
                        break;
                    }
                }
            }
            _ => return,
        }
        self.store_value(keys::SESSION.to_vec(), &s);
    }

    fn exclude(
        &self,
        state: &mut TssState,
        s: &mut DkgSession,
        height: u64,
        id: ParticipantId,
        reason: String,
    ) {
        let validator = s.members[usize::from(id) - 1].consensus_key;
        self.fault(state, height, validator, format!("DKG session {}: {reason}", s.session));
        s.excluded.insert(id, reason);
    }

    fn dkg_step(&self, params: &Params, state: &mut TssState, height: u64) {
        match self.load::<DkgSession>(keys::SESSION) {
            Some(s) => self.advance(params, state, height, s),
            None => self.maybe_start(params, state, height),
        }
    }

    fn maybe_start(&self, params: &Params, state: &mut TssState, height: u64) {
        let mut wanted: Vec<[u8; 32]> =
            self.validator_set_at(height + 1).values().map(|k| k.pub_key).collect();
        wanted.sort();
        let latest = state.latest.and_then(|e| self.load::<KeyRecord>(&keys::key(e)));
        if wanted.is_empty() || latest.is_some_and(|k| k.members == wanted) {
            state.waiting_since = None;
            return;
        }
        let members: Vec<Member> = wanted
            .iter()
            .filter_map(|k| {
                let encryption_key = self.load::<[u8; 32]>(&keys::encryption_key(k))?;
                Some(Member { consensus_key: *k, encryption_key })
            })
            .collect();
        let since = *state.waiting_since.get_or_insert(height);
        // Everyone registered, or more than 2/3 have and the rest had three phases to.
        let patient = height.saturating_sub(since) >= 3 * params.tss.phase_blocks;
        if members.len() != wanted.len() && !(patient && 3 * members.len() > 2 * wanted.len()) {
            return;
        }
        state.waiting_since = None;
        let session = DkgSession {
            session: state.next_session,
            epoch: state.latest.map_or(1, |e| e + 1),
            threshold: threshold(members.len()),
            members,
            phase: Phase::Round1,
            deadline: height + params.tss.phase_blocks,
            round1: BTreeMap::new(),
            round2: BTreeMap::new(),
            complaints: BTreeMap::new(),
            reveals: BTreeMap::new(),
            excluded: BTreeMap::new(),
        };
        state.next_session += 1;
        self.store_value(keys::SESSION.to_vec(), &session);
    }

    fn advance(&self, params: &Params, state: &mut TssState, height: u64, mut s: DkgSession) {
        let active: Vec<ParticipantId> = s.active().collect();
        let late = height >= s.deadline;
        let missing: Vec<ParticipantId> = match s.phase {
            Phase::Round1 => active.iter().copied().filter(|id| !s.round1.contains_key(id)).collect(),
            Phase::Round2 => active.iter().copied().filter(|id| !s.round2.contains_key(id)).collect(),
            Phase::Complaints => active.iter().copied().filter(|id| !s.complaints.contains_key(id)).collect(),
            Phase::Reveal => self.unanswered(&s, &active),
        };
        if !missing.is_empty() && !late {
            self.store_value(keys::SESSION.to_vec(), &s);
            return;
        }
        let next = match s.phase {
            Phase::Round1 | Phase::Round2 => {
                let phase = s.phase;
                for id in missing {
                    self.exclude(
                        state,
                        &mut s,
                        height,
                        id,
                        format!("no {phase:?} message before the deadline"),
                    );
                }
                Some(if s.phase == Phase::Round1 { Phase::Round2 } else { Phase::Complaints })
            }
            Phase::Complaints => {
                let accused = s.complaints.values().flatten().any(|d| !s.excluded.contains_key(d));
                accused.then_some(Phase::Reveal)
            }
            Phase::Reveal => {
                for id in missing {
                    self.exclude(
                        state,
                        &mut s,
                        height,
                        id,
                        "did not answer a complaint with a valid share".into(),
                    );
                }
                None
            }
        };
        if s.active().count() < usize::from(s.threshold) {
            self.layers.delete(keys::SESSION.to_vec());
            return;
        }
        match next {
            Some(phase) => {
                (s.phase, s.deadline) = (phase, height + params.tss.phase_blocks);
                self.store_value(keys::SESSION.to_vec(), &s);
            }
            None => self.finish(state, s),
        }
    }

    /// Accused dealers still in that have not revealed every disputed share.
    fn unanswered(&self, s: &DkgSession, active: &[ParticipantId]) -> Vec<ParticipantId> {
        let mut out = BTreeSet::new();
        for (accuser, against) in &s.complaints {
            for dealer in against {
                if active.contains(dealer) && !s.reveals.contains_key(&(*dealer, *accuser)) {
                    out.insert(*dealer);
                }
            }
        }
        out.into_iter().collect()
    }

    fn finish(&self, state: &mut TssState, s: DkgSession) {
        self.layers.delete(keys::SESSION.to_vec());
        let qualified: BTreeMap<ParticipantId, &dkg::Round1> =
            s.active().filter_map(|id| Some((id, s.round1.get(&id)?))).collect();
        let Ok(n) = u16::try_from(s.members.len()) else { return };
        let Ok(public) = dkg::group_key(n, &qualified) else { return };
        let (Ok(group), Ok(shares)) = (
            public.verifying_key().serialize(),
            (1..=n)
                .map(|id| -> Result<[u8; 33], ()> {
                    let ident = dkg::identifier(id).map_err(|_| ())?;
                    let share = public.verifying_shares().get(&ident).ok_or(())?;
                    share.serialize().map_err(|_| ())?.try_into().map_err(|_| ())
                })
                .collect::<Result<Vec<_>, _>>(),
        ) else {
            return;
        };
        let Ok(group_key) = <[u8; 33]>::try_from(group) else { return };
        let key = KeyRecord {
            epoch: s.epoch,
            session: s.session,
            members: s.members.iter().map(|m| m.consensus_key).collect(),
            threshold: s.threshold,
            group_key,
            verifying_shares: shares,
            qualified: qualified.keys().copied().collect(),
            revealed: s.reveals.iter().map(|((d, r), share)| (*d, *r, *share)).collect(),
        };
        // The gateway's verifier needs x below the group order; a new session makes a new key.
        if eth_key(&key).is_none() {
            return;
        }
        self.store_value(keys::key(key.epoch), &key);
        state.latest = Some(key.epoch);
        if state.active.is_none() {
            state.active = Some(key.epoch);
        }
    }

    fn jobs_step(&self, params: &Params, state: &mut TssState, height: u64, logs: &mut Vec<LogRecord>) {
        for (k, v) in layers::scan(&self.layers, keys::JOB_PREFIX, false) {
            let Ok(job) = borsh::from_slice::<Job>(&v) else { continue };
            if height >= job.created + 2 {
                self.layers.delete(k);
                self.settle_job(state, height, job, logs);
            }
        }
        let (Some(gw), Some(chain_id)) = (params.eth.gateway, params.eth.chain_id) else { return };
        let gw = EthAddress::from(gw);
        let Some(active) = state.active else { return };
        let open: Vec<Job> = layers::scan(&self.layers, keys::JOB_PREFIX, false)
            .values()
            .filter_map(|v| borsh::from_slice(v).ok())
            .collect();
        if let Some(latest) = state.latest.filter(|l| *l > active)
            && self.load::<SignedRotation>(&keys::rotation(active)).is_none()
            && !open.iter().any(|j| matches!(j.kind, JobKind::Rotation { .. }))
            && let (Some(old), Some(new)) =
                (self.load::<KeyRecord>(&keys::key(active)), self.load::<KeyRecord>(&keys::key(latest)))
            && let Some(new_key) = eth_key(&new)
        {
            let digest = gateway::rotate_digest(chain_id, gw, active, &new_key);
            self.open_job(state, height, &old, JobKind::Rotation { to: latest }, digest.0, 0, &[]);
        }
        let queued: Vec<u64> = layers::scan(&self.layers, keys::QUEUE_PREFIX, false)
            .keys()
            .take(params.tss.max_batch as usize)
            .filter_map(|k| k[keys::QUEUE_PREFIX.len()..].try_into().ok().map(u64::from_be_bytes))
            .collect();
        if queued.is_empty() {
            return;
        }
        let Some(key) = self.load::<KeyRecord>(&keys::key(active)) else { return };
        let leaves: Vec<B256> = queued
            .iter()
            .filter_map(|n| {
                Some(gateway_message(*n, &self.load::<MessageRecord>(&keys::message(*n))?).leaf())
            })
            .collect();
        let root = gateway::merkle_root(&leaves);
        let digest = gateway::batch_digest(chain_id, gw, active, root);
        if let Some(job) = self.open_job(
            state,
            height,
            &key,
            JobKind::Batch { nonces: queued.clone(), root: root.0 },
            digest.0,
            0,
            &[],
        ) {
            for n in queued {
                self.layers.delete(keys::queued(n));
                self.set_status(n, MessageStatus::Signing { job });
            }
        }
    }

    fn set_status(&self, nonce: u64, status: MessageStatus) {
        if let Some(mut m) = self.load::<MessageRecord>(&keys::message(nonce)) {
            m.status = status;
            self.store_value(keys::message(nonce), &m);
        }
    }

    /// Opens a job signing `message` with `key`, choosing `threshold` signers that have unused
    /// commitments and are not in `avoid` (rotating the starting member by job id so the work
    /// spreads). `None` when too few signers can.
    #[allow(clippy::too_many_arguments)]
    fn open_job(
        &self,
        state: &mut TssState,
        height: u64,
        key: &KeyRecord,
        kind: JobKind,
        message: [u8; 32],
        attempt: u32,
        avoid: &[ParticipantId],
    ) -> Option<u64> {
        let n = key.members.len();
        let id = state.next_job;
        let start = (id % n as u64) as usize;
        let mut signers = Vec::new();
        let mut stocks = Vec::new();
        for i in 0..n {
            let member = ((start + i) % n + 1) as u16;
            if signers.len() == usize::from(key.threshold) || avoid.contains(&member) {
                continue;
            }
            let mut stock: Stock = self.load(&keys::stock(key.epoch, member)).unwrap_or_default();
            if let Some((index, c)) = stock.unused.pop_first() {
                signers.push((member, index, c));
                stocks.push((member, stock));
            }
        }
        if signers.len() < usize::from(key.threshold) {
            return None;
        }
        for (member, stock) in stocks {
            self.store_value(keys::stock(key.epoch, member), &stock);
        }
        signers.sort_by_key(|(m, _, _)| *m);
        state.next_job += 1;
        let job = Job {
            id,
            epoch: key.epoch,
            kind,
            message,
            signers,
            created: height,
            attempt,
            shares: BTreeMap::new(),
            culprits: Vec::new(),
        };
        self.store_value(keys::job(id), &job);
        Some(id)
    }

    /// Aggregates a job whose shares are all in, or signs the same thing again with other signers.
    fn settle_job(&self, state: &mut TssState, height: u64, job: Job, logs: &mut Vec<LogRecord>) {
        let Some(key) = self.load::<KeyRecord>(&keys::key(job.epoch)) else { return };
        let complete = job.shares.len() == job.signers.len();
        let signature = complete
            .then(|| {
                let public =
                    signing::public_package(&key.group_key, &key.verifying_shares, key.threshold).ok()?;
                let commitments = job.signers.iter().map(|(s, _, c)| (*s, *c)).collect();
                let package = signing::package(&job.message, &commitments).ok()?;
                signing::aggregate(&package, &public, &job.shares).ok()
            })
            .flatten();
        match (signature, &job.kind) {
            (Some(signature), JobKind::Batch { nonces, root }) => {
                for n in nonces {
                    self.set_status(*n, MessageStatus::Signed { batch: job.id, epoch: job.epoch });
                    if let Some(m) = self.load::<MessageRecord>(&keys::message(*n)) {
                        let text = format!("signed in batch {} under key {}", job.id, job.epoch);
                        logs.push(message_log(&m, *n, height, &text));
                    }
                }
                let batch = SignedBatch {
                    job: job.id,
                    epoch: job.epoch,
                    root: *root,
                    nonces: nonces.clone(),
                    signature,
                    height,
                };
                self.store_value(keys::batch(job.id), &batch);
            }
            (Some(signature), JobKind::Rotation { to }) => {
                let Some(new) = self.load::<KeyRecord>(&keys::key(*to)) else { return };
                let rotation =
                    SignedRotation { from: job.epoch, to: *to, group_key: new.group_key, signature, height };
                self.store_value(keys::rotation(job.epoch), &rotation);
            }
            (None, kind) => {
                // Retry without the signers that failed this time; if that leaves too few,
                // without the culprits only.
                let missing: Vec<ParticipantId> =
                    job.signers.iter().map(|(s, _, _)| *s).filter(|s| !job.shares.contains_key(s)).collect();
                let retried = self
                    .open_job(state, height, &key, kind.clone(), job.message, job.attempt + 1, &missing)
                    .or_else(|| {
                        self.open_job(
                            state,
                            height,
                            &key,
                            kind.clone(),
                            job.message,
                            job.attempt + 1,
                            &job.culprits,
                        )
                    });
                if let JobKind::Batch { nonces, .. } = kind {
                    for n in nonces {
                        match retried {
                            Some(j) => self.set_status(*n, MessageStatus::Signing { job: j }),
                            None => {
                                self.set_status(*n, MessageStatus::Queued);
                                self.layers.set(keys::queued(*n), Vec::new());
                            }
                        }
                    }
                }
            }
        }
    }

    /// Called for a gateway `GroupKeySet` seen on Ethereum: the key of `epoch` is the gateway's
    /// now, so messages signed under an older one and not executed are signed again.
    pub(super) fn key_installed(&self, epoch: u64, x: [u8; 32]) {
        let mut state = self.tss_state();
        let Some(key) = self.load::<KeyRecord>(&keys::key(epoch)) else { return };
        if eth_key(&key).is_none_or(|k| k.x != x) || state.active.is_some_and(|a| a >= epoch) {
            return;
        }
        state.active = Some(epoch);
        self.store_value(keys::STATE.to_vec(), &state);
        for (k, v) in layers::scan(&self.layers, keys::MESSAGE_PREFIX, false) {
            let Ok(m) = borsh::from_slice::<MessageRecord>(&v) else { continue };
            if matches!(m.status, MessageStatus::Signed { epoch: e, .. } if e < epoch) {
                let nonce =
                    u64::from_be_bytes(k[keys::MESSAGE_PREFIX.len()..].try_into().expect("8-byte nonce"));
                self.set_status(nonce, MessageStatus::Queued);
                self.layers.set(keys::queued(nonce), Vec::new());
            }
        }
    }

    /// Called for a gateway `Executed` seen on Ethereum: the message's record, now executed, if
    /// it was one of ours from `sender` and not seen before.
    pub(super) fn message_executed(
        &self,
        nonce: u64,
        sender: Hash32,
        success: bool,
    ) -> Option<MessageRecord> {
        let mut m = self.load::<MessageRecord>(&keys::message(nonce))?;
        if m.function != sender || matches!(m.status, MessageStatus::Executed { .. }) {
            return None;
        }
        self.layers.delete(keys::queued(nonce));
        m.status = MessageStatus::Executed { success };
        m.data = Vec::new();
        self.store_value(keys::message(nonce), &m);
        Some(m)
    }

    fn penalize(&self, params: &Params, consensus_key: &[u8; 32]) {
        let address: ValidatorAddress = super::votes::address_of(consensus_key);
        self.slash_by_consensus_address(&address, params.tss.culprit_slash_bps);
    }

    /// What this validator's participant needs from committed state.
    pub fn tss_snapshot(&self, me: &[u8; 32]) -> Snapshot {
        let committed = |k: &[u8]| self.layers.committed(k);
        let load = |k: &[u8]| committed(k);
        let state: TssState = load(keys::STATE).and_then(|b| borsh::from_slice(&b).ok()).unwrap_or_default();
        let keys: Vec<KeyRecord> = layers::scan(&self.layers, keys::KEY_PREFIX, true)
            .values()
            .filter_map(|v| borsh::from_slice::<KeyRecord>(v).ok())
            .filter(|k| state.active.is_none_or(|a| k.epoch >= a))
            .collect();
        let commitments = keys
            .iter()
            .filter_map(|k| {
                let id = k.id_of(me)?;
                let stock: Stock = load(&keys::stock(k.epoch, id))
                    .and_then(|b| borsh::from_slice(&b).ok())
                    .unwrap_or_default();
                Some((k.epoch, (stock.next, stock.unused.len() as u32)))
            })
            .collect();
        Snapshot {
            height: self.store.latest().map_or(0, |(h, _)| h),
            registered_key: load(&keys::encryption_key(me)).and_then(|b| borsh::from_slice(&b).ok()),
            session: load(keys::SESSION).and_then(|b| borsh::from_slice(&b).ok()),
            keys,
            commitments,
            jobs: layers::scan(&self.layers, keys::JOB_PREFIX, true)
                .values()
                .filter_map(|v| borsh::from_slice(v).ok())
                .collect(),
        }
    }

    /// The threshold-signing state at the last committed height, for the node API.
    pub fn tss_status(&self) -> TssStatus {
        let scan = |prefix: &[u8]| layers::scan(&self.layers, prefix, true).into_values();
        TssStatus {
            state: self.layers.committed(keys::STATE).and_then(decode).unwrap_or_default(),
            session: self.layers.committed(keys::SESSION).and_then(decode),
            keys: scan(keys::KEY_PREFIX).filter_map(decode).collect(),
            faults: scan(keys::FAULT_PREFIX).filter_map(decode).collect(),
            rotations: scan(keys::ROTATION_PREFIX).filter_map(decode).collect(),
            stocks: layers::scan(&self.layers, keys::STOCK_PREFIX, true)
                .into_iter()
                .filter_map(|(k, v)| {
                    let rest = k.get(keys::STOCK_PREFIX.len()..)?;
                    let epoch = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
                    let member = u16::from_be_bytes(rest.get(8..10)?.try_into().ok()?);
                    let stock: Stock = decode(v)?;
                    Some((epoch, member, stock.next, stock.unused.len() as u32))
                })
                .collect(),
        }
    }

    /// Signed batches from job `from` on, with their messages (at most `limit` batches).
    pub fn tss_batches(&self, from: u64, limit: usize) -> Vec<(SignedBatch, Vec<(u64, MessageRecord)>)> {
        let mut out = Vec::new();
        for v in layers::scan(&self.layers, keys::BATCH_PREFIX, true).into_values() {
            let Ok(batch) = borsh::from_slice::<SignedBatch>(&v) else { continue };
            if batch.job < from {
                continue;
            }
            let messages = batch
                .nonces
                .iter()
                .filter_map(|n| {
                    let m =
                        self.layers.committed(&keys::message(*n)).and_then(|b| borsh::from_slice(&b).ok())?;
                    Some((*n, m))
                })
                .collect();
            out.push((batch, messages));
            if out.len() == limit {
                break;
            }
        }
        out
    }

    /// A message's record at the last committed height.
    pub fn tss_message(&self, nonce: u64) -> Option<MessageRecord> {
        self.layers.committed(&keys::message(nonce)).and_then(|b| borsh::from_slice(&b).ok())
    }
}

/// Threshold-signing state, for the node API.
#[derive(Debug, Clone, Default)]
pub struct TssStatus {
    /// Counters and key epochs.
    pub state: TssState,
    /// The running DKG.
    pub session: Option<DkgSession>,
    /// Every key made.
    pub keys: Vec<KeyRecord>,
    /// Reported faults.
    pub faults: Vec<Fault>,
    /// Signed key rotations.
    pub rotations: Vec<SignedRotation>,
    /// Nonce commitments on chain: (key epoch, member, next index, unused); the unused ones are
    /// always the indexes just below `next` (jobs take the lowest first).
    pub stocks: Vec<(u64, u16, u32, u32)>,
}

/// The validator-side hook: this node's participant, fed committed state at each `ExtendVote`.
pub trait TssSource: Send + Sync {
    /// This validator's consensus key.
    fn consensus_key(&self) -> [u8; 32];
    /// The protocol messages to put in the next vote extension.
    fn messages(&self, snapshot: &Snapshot) -> Vec<TssMsg>;
}

impl TssSource for std::sync::Mutex<nexus_tss::participant::Participant> {
    fn consensus_key(&self) -> [u8; 32] {
        self.lock().unwrap_or_else(|e| e.into_inner()).consensus_key()
    }

    fn messages(&self, snapshot: &Snapshot) -> Vec<TssMsg> {
        match self.lock().unwrap_or_else(|e| e.into_inner()).messages(snapshot) {
            Ok(m) => m,
            Err(e) => {
                // Without a durable keystore nothing may be published; the node goes on voting.
                eprintln!("threshold signing: {e}");
                Vec::new()
            }
        }
    }
}

fn decode<T: BorshDeserialize>(bytes: Vec<u8>) -> Option<T> {
    borsh::from_slice(&bytes).ok()
}
