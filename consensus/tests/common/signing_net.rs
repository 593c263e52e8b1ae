//! Four validators in memory, each with its own threshold-signing participant and keystore on
//! disk, voting block by block: what the threshold-signing tests and benchmark drive.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{Address as EthAddress, B256};
use ed25519_consensus::SigningKey;
use nexus_consensus::app::tx::Msg;
use nexus_consensus::app::votes::{self, Bundle, SignedExtension};
use nexus_consensus::app::{GenesisValidator, vote_extension};
use nexus_tss::gateway;
use nexus_tss::participant::{Fault, Participant};
use nexus_tss::protocol::TssMsg;

use super::{Chain, genesis, key};

pub const GATEWAY: [u8; 20] = [0x6a; 20];
pub const ETH_CHAIN: u64 = 31_337;

pub struct Net {
    pub chain: Chain,
    pub keys: Vec<SigningKey>,
    pub participants: Vec<Participant>,
    dir: tempfile::TempDir,
    /// Every signature share that left a participant, by (validator, key epoch, commitment
    /// index): the digests signed with that nonce (more than one would give the key away).
    pub published: BTreeMap<(usize, u64, u32), BTreeSet<[u8; 32]>>,
}

impl Net {
    pub fn new(faults: [Fault; 4]) -> Self {
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
        let mut net = Self {
            chain: Chain::with_genesis(&g),
            keys,
            participants: Vec::new(),
            dir,
            published: BTreeMap::new(),
        };
        for (i, fault) in faults.into_iter().enumerate() {
            let p = net.participant(i, fault);
            net.participants.push(p);
        }
        net
    }

    pub fn participant(&self, i: usize, fault: Fault) -> Participant {
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
    pub fn crash(&mut self, i: usize) {
        self.messages(i);
        self.participants[i] = self.participant(i, Fault::Honest);
    }

    /// One block whose bundle carries the extensions of the validators in `online`.
    pub fn step(&mut self, online: &[usize], txs: Vec<Vec<u8>>) {
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

    pub fn until(&mut self, online: &[usize], what: &str, mut done: impl FnMut(&Chain) -> bool) {
        for _ in 0..60 {
            if done(&self.chain) {
                return;
            }
            self.step(online, Vec::new());
        }
        panic!("{what} did not happen within 60 blocks");
    }

    pub fn send(&mut self, sender: [u8; 32], target: [u8; 20], calldata: &[u8]) {
        let input = [target.as_slice(), calldata].concat();
        let tx = self.chain.sign(&key(1), vec![Msg::Call { function: sender, input, value: 0 }]).encode();
        self.step(&[0, 1, 2, 3], vec![tx]);
    }
}

pub fn keyed(c: &Chain) -> bool {
    !c.app.tss_status().keys.is_empty()
}

/// Every batch's signature verifies under the group key for the gateway's digest, and every
/// message's proof leads to its root.
pub fn check_batches(c: &Chain) -> usize {
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
