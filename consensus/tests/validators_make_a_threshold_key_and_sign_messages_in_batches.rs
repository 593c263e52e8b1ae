//! Four validators, each with its own participant and encrypted keystore, run the DKG through
//! their vote extensions, then sign functions' `eth_send` messages in Merkle batches: the
//! signature verifies under the group key for the gateway's digest, a validator sending bad
//! shares is named as a culprit and signing completes without it, an absent validator does not
//! stop it, and a dealer sending a bad share and not answering the complaint is excluded
//! and the others still make the key.

mod common;

use alloy_primitives::{Address as EthAddress, B256};
use common::{Chain, genesis, key};
use ed25519_consensus::SigningKey;
use nexus_consensus::app::tss::MessageStatus;
use nexus_consensus::app::votes::{self, Bundle, SignedExtension};
use nexus_consensus::app::{GenesisValidator, tx::Msg, vote_extension};
use nexus_tss::gateway;
use nexus_tss::participant::{Fault, Participant};
use nexus_tss::protocol::TssMsg;
use std::collections::{BTreeMap, BTreeSet};

const GATEWAY: [u8; 20] = [0x6a; 20];
const ETH_CHAIN: u64 = 31_337;

struct Net {
    chain: Chain,
    keys: Vec<SigningKey>,
    participants: Vec<Participant>,
    dir: tempfile::TempDir,
    /// Every signature share that left a participant, by (validator, key epoch, commitment
    /// index): the digests signed with that nonce (more than one would give the key away).
    published: BTreeMap<(usize, u64, u32), BTreeSet<[u8; 32]>>,
}

impl Net {
    fn new(faults: [Fault; 4]) -> Self {
        let keys: Vec<SigningKey> = (1..=4u8).map(|i| SigningKey::from([i; 32])).collect();
        let mut g = genesis(&[&key(1)]);
        g.params.eth.gateway = Some(GATEWAY);
        g.params.eth.chain_id = Some(ETH_CHAIN);
        g.params.tss.phase_blocks = 4;
        g.validators = keys
            .iter()
            .map(|k| GenesisValidator { pub_key: k.verification_key().to_bytes(), power: 10, operator: None })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let mut net =
            Self { chain: Chain::with_genesis(&g), keys, participants: Vec::new(), dir, published: BTreeMap::new() };
        for (i, fault) in faults.into_iter().enumerate() {
            let p = net.participant(i, fault);
            net.participants.push(p);
        }
        net
    }

    fn participant(&self, i: usize, fault: Fault) -> Participant {
        let k = &self.keys[i];
        let path = self.dir.path().join(format!("v{i}/keystore"));
        Participant::open(&path, k.verification_key().to_bytes(), k.as_bytes(), fault).unwrap()
    }

    /// What validator `i` publishes now, recording its signature shares.
    fn messages(&mut self, i: usize) -> Vec<TssMsg> {
        let me = self.keys[i].verification_key().to_bytes();
        let snapshot = self.chain.app.tss_snapshot(&me);
        let msgs = self.participants[i].messages(&snapshot).unwrap();
        for m in &msgs {
            if let TssMsg::Share { job, .. } = m {
                let job = snapshot.jobs.iter().find(|j| j.id == *job).unwrap();
                let id = snapshot.keys.iter().find(|k| k.epoch == job.epoch).unwrap().id_of(&me).unwrap();
                let (_, index, _) = job.signers.iter().find(|(s, _, _)| *s == id).unwrap();
                self.published.entry((i, job.epoch, *index)).or_default().insert(job.message);
            }
        }
        msgs
    }

    /// Validator `i` makes its messages and dies before they go anywhere (they count as
    /// published: a crash may come just after they left); it comes back from its keystore.
    fn crash(&mut self, i: usize) {
        self.messages(i);
        self.participants[i] = self.participant(i, Fault::Honest);
    }

    /// One block whose bundle carries the extensions of the validators in `online`.
    fn step(&mut self, online: &[usize], txs: Vec<Vec<u8>>) {
        let height = self.chain.height;
        let name = self.chain.app.params().unwrap().chain_name.clone();
        let mut votes = Vec::new();
        for i in online {
            let msgs = self.messages(*i);
            let k = &self.keys[*i];
            let me = k.verification_key().to_bytes();
            let extension = vote_extension(height, None, &msgs);
            assert!(self.chain.app.verify_vote_extension(height, &extension));
            votes.push(SignedExtension {
                validator: votes::address_of(&me),
                signature: k.sign(&votes::sign_bytes(&extension, height, 0, &name)).to_bytes().to_vec(),
                extension,
            });
        }
        let bundle = Bundle { height, round: 0, votes };
        let proposal = self.chain.app.prepare_proposal(txs, 4 << 20, Some(&bundle));
        assert_eq!(self.chain.app.process_proposal(height + 1, &proposal), Ok(()));
        self.chain.block(proposal);
    }

    fn until(&mut self, online: &[usize], what: &str, mut done: impl FnMut(&Chain) -> bool) {
        for _ in 0..60 {
            if done(&self.chain) {
                return;
            }
            self.step(online, Vec::new());
        }
        panic!("{what} did not happen within 60 blocks");
    }

    fn send(&mut self, sender: [u8; 32], target: [u8; 20], calldata: &[u8]) {
        let input = [target.as_slice(), calldata].concat();
        let tx = self.chain.sign(&key(1), vec![Msg::Call { function: sender, input, value: 0 }]).encode();
        self.step(&[0, 1, 2, 3], vec![tx]);
    }
}

fn keyed(c: &Chain) -> bool {
    !c.app.tss_status().keys.is_empty()
}

/// Every batch's signature verifies under the group key for the gateway's digest, and every
/// message's proof leads to its root.
fn check_batches(c: &Chain) -> usize {
    let status = c.app.tss_status();
    let mut messages = 0;
    for (batch, records) in c.app.tss_batches(0, 100) {
        let key = status.keys.iter().find(|k| k.epoch == batch.epoch).unwrap();
        let digest =
            gateway::batch_digest(ETH_CHAIN, EthAddress::from(GATEWAY), batch.epoch, B256::from(batch.root));
        let group = frost_secp256k1::VerifyingKey::deserialize(&key.group_key).unwrap();
        let signature = frost_secp256k1::Signature::deserialize(&batch.signature).unwrap();
        group.verify(digest.as_slice(), &signature).expect("the batch signature verifies");
        let leaves: Vec<B256> =
            records.iter().map(|(n, m)| nexus_consensus::app::tss::gateway_message(*n, m).leaf()).collect();
        assert_eq!(gateway::merkle_root(&leaves).0, batch.root);
        for i in 0..leaves.len() {
            assert!(gateway::verify_proof(
                leaves[i],
                &gateway::merkle_proof(&leaves, i),
                B256::from(batch.root)
            ));
        }
        messages += records.len();
    }
    messages
}

#[test]
fn four_validators_make_a_key_then_sign_batches_despite_a_culprit_and_an_absentee() {
    let mut net = Net::new([Fault::Honest; 4]);
    net.until(&[0, 1, 2, 3], "the DKG", keyed);
    // Each participant takes up its share at its next vote.
    net.step(&[0, 1, 2, 3], Vec::new());
    let status = net.chain.app.tss_status();
    let record = &status.keys[0];
    assert_eq!((record.epoch, record.threshold, record.members.len(), record.qualified.len()), (1, 3, 4, 4));
    assert!(status.faults.is_empty(), "{:?}", status.faults);
    for p in &net.participants {
        assert!(p.keystore().contents().shares.contains_key(&1), "every validator holds a share");
    }

    let sender = net.chain.deploy(&key(1), "eth-sender", b"");
    for i in 0..5u8 {
        net.send(sender, [0x22; 20], &[i; 4]);
    }
    net.until(&[0, 1, 2, 3], "five messages signed", |c| check_batches(c) == 5);
    for n in 0..5 {
        let m = net.chain.app.tss_message(n).unwrap();
        assert!(matches!(m.status, MessageStatus::Signed { epoch: 1, .. }), "{:?}", m.status);
        assert_eq!((m.function, m.target, m.data.clone()), (sender, [0x22; 20], vec![n as u8; 4]));
    }

    // Validator 3 turns bad: its share is refused, it is named, and the job is signed without it.
    net.participants[3] = net.participant(3, Fault::BadShares);
    for i in 0..4u8 {
        net.send(sender, [0x23; 20], &[i]);
    }
    net.until(&[0, 1, 2, 3], "the next messages signed", |c| check_batches(c) == 9);
    let faults = net.chain.app.tss_status().faults;
    let culprit = net.keys[3].verification_key().to_bytes();
    assert!(
        faults.iter().any(|f| f.validator == culprit && f.reason.contains("invalid signature share")),
        "{faults:?}"
    );

    // Validator 2 goes offline: the other three still sign.
    net.participants[3] = net.participant(3, Fault::Honest);
    net.send(sender, [0x24; 20], b"offline");
    net.until(&[0, 1, 3], "a message signed with one validator offline", |c| check_batches(c) == 10);
}

#[test]
fn a_dealer_sending_a_bad_share_is_accused_and_the_key_is_still_made() {
    let mut net = Net::new([Fault::Honest, Fault::BadDealing, Fault::Honest, Fault::Honest]);
    net.until(&[0, 1, 2, 3], "the DKG", keyed);
    // Each participant takes up its share at its next vote.
    net.step(&[0, 1, 2, 3], Vec::new());
    let status = net.chain.app.tss_status();
    let record = &status.keys[0];
    // The dealer did not answer the complaint with a valid share, so it is out of the key and
    // reported; the other three dealt it, and every member holds a share consistent with it.
    let dealer = net.keys[1].verification_key().to_bytes();
    let id = record.id_of(&dealer).unwrap();
    assert_eq!(record.qualified.len(), 3);
    assert!(!record.qualified.contains(&id));
    assert!(
        status.faults.iter().any(|f| f.validator == dealer && f.reason.contains("complaint")),
        "{:?}",
        status.faults
    );
    for p in &net.participants {
        assert!(p.keystore().contents().shares.contains_key(&record.epoch));
    }
    // It signs.
    let sender = net.chain.deploy(&key(1), "eth-sender", b"");
    net.send(sender, [0x22; 20], b"after a complaint");
    net.until(&[0, 1, 2, 3], "a message signed", |c| check_batches(c) == 1);
}

#[test]
fn a_validator_that_crashes_mid_signing_never_signs_twice_with_one_nonce() {
    let mut net = Net::new([Fault::Honest; 4]);
    net.until(&[0, 1, 2, 3], "the DKG", keyed);
    net.step(&[0, 1, 2, 3], Vec::new());
    let sender = net.chain.deploy(&key(1), "eth-sender", b"");
    // Commitments are posted with the next vote and recorded the block after.
    net.step(&[0, 1, 2, 3], Vec::new());
    net.step(&[0, 1, 2, 3], Vec::new());
    for round in 0..4u8 {
        net.send(sender, [0x22; 20], &[round]);
        // The job is open now; one of its signers computes its share and crashes.
        let me = |i: usize| net.keys[i].verification_key().to_bytes();
        let snapshot = net.chain.app.tss_snapshot(&me(0));
        let job = snapshot.jobs.last().expect("a signing job").clone();
        let key = snapshot.keys.iter().find(|k| k.epoch == job.epoch).unwrap().clone();
        let victim = (0..4).find(|i| job.signers.iter().any(|(s, _, _)| Some(*s) == key.id_of(&me(*i)))).unwrap();
        let (_, index, _) = *job.signers.iter().find(|(s, _, _)| Some(*s) == key.id_of(&me(victim))).unwrap();
        net.crash(victim);
        let held = net.participants[victim].keystore().contents();
        assert!(!held.nonces.contains_key(&(job.epoch, index)), "the nonce outlived its released share");
        assert!(held.released.contains_key(&job.id), "the released share is kept to answer again");
        // The crash lost its vote: the others go on, then it rejoins with the same keystore.
        let others: Vec<usize> = (0..4).filter(|i| *i != victim).collect();
        net.step(&others, Vec::new());
        net.step(&[0, 1, 2, 3], Vec::new());
    }
    net.until(&[0, 1, 2, 3], "every message signed", |c| check_batches(c) == 4);
    for ((validator, epoch, index), digests) in &net.published {
        assert_eq!(digests.len(), 1, "validator {validator} signed two digests with nonce {epoch}/{index}");
    }
    assert!(net.published.len() >= 12, "shares were published: {}", net.published.len());
}
