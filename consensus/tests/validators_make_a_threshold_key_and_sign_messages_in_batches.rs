//! Four validators, each with its own participant and encrypted keystore, run the DKG through
//! their vote extensions, then sign functions' `eth_send` messages in Merkle batches: the
//! signature verifies under the group key for the gateway's digest, a validator sending bad
//! shares is named as a culprit and signing completes without it, an absent validator does not
//! stop it, and a dealer sending a bad share and not answering the complaint is excluded
//! and the others still make the key.

mod common;

use common::key;
use common::signing_net::{Net, check_batches, keyed};
use nexus_consensus::app::tss::MessageStatus;
use nexus_tss::participant::Fault;

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
        let victim =
            (0..4).find(|i| job.signers.iter().any(|(s, _, _)| Some(*s) == key.id_of(&me(*i)))).unwrap();
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
