//! Vote extensions through the application: on a chain with validators, every block after the
//! first must start with the previous height's extensions, signed by validators holding more than
//! 2/3 of the power; ProcessProposal refuses a block without them, with a forged or short set, or
//! with a bundle anywhere else; FinalizeBlock executes the rest as usual.

mod common;

use common::{Chain, genesis, key};
use ed25519_consensus::SigningKey;
use nexus_consensus::app::votes::{self, Bundle, SignedExtension, VoteError};
use nexus_consensus::app::{GenesisValidator, ProposalError};

fn validators() -> Vec<SigningKey> {
    (1..=4u8).map(|i| SigningKey::from([i; 32])).collect()
}

fn bundle(chain: &Chain, signers: &[SigningKey], height: u64) -> Bundle {
    let chain_name = chain.app.params().unwrap().chain_name.clone();
    Bundle {
        height,
        round: 0,
        votes: signers
            .iter()
            .map(|k| {
                let extension = chain.app.extend_vote(height);
                SignedExtension {
                    validator: votes::address_of(&k.verification_key().to_bytes()),
                    signature: k
                        .sign(&votes::sign_bytes(&extension, height, 0, &chain_name))
                        .to_bytes()
                        .to_vec(),
                    extension,
                }
            })
            .collect(),
    }
}

#[test]
fn blocks_after_the_first_need_more_than_two_thirds_of_signed_extensions_first() {
    let vals = validators();
    let mut g = genesis(&[&key(1)]);
    g.validators = vals
        .iter()
        .map(|k| GenesisValidator { pub_key: k.verification_key().to_bytes(), power: 10, operator: None })
        .collect();
    let mut chain = Chain::with_genesis(&g);
    assert_eq!(chain.app.validator_set_at(1).len(), 4);

    // The first block has no previous height: nothing to carry.
    let tx = chain
        .sign(&key(1), vec![nexus_consensus::app::tx::Msg::Transfer { to: [9; 20], amount: 1 }])
        .encode();
    assert_eq!(chain.app.process_proposal(1, std::slice::from_ref(&tx)), Ok(()));
    chain.block(vec![tx]);

    let tx = chain
        .sign(&key(1), vec![nexus_consensus::app::tx::Msg::Transfer { to: [9; 20], amount: 2 }])
        .encode();
    // Missing.
    assert_eq!(
        chain.app.process_proposal(2, std::slice::from_ref(&tx)),
        Err(ProposalError::Votes(VoteError::Placement(true)))
    );
    // Too little power: 2 of 4 equal validators is not more than 2/3.
    let short = chain.app.prepare_proposal(vec![tx.clone()], 1 << 20, Some(&bundle(&chain, &vals[..2], 1)));
    assert_eq!(
        chain.app.process_proposal(2, &short),
        Err(ProposalError::Votes(VoteError::Insufficient { signed: 20, total: 40 }))
    );
    // Signed by a stranger.
    let forged = chain.app.prepare_proposal(
        vec![tx.clone()],
        1 << 20,
        Some(&bundle(&chain, &[SigningKey::from([77; 32])], 1)),
    );
    assert!(matches!(
        chain.app.process_proposal(2, &forged),
        Err(ProposalError::Votes(VoteError::UnknownValidator(_)))
    ));
    // For another height.
    let stale = chain.app.prepare_proposal(vec![tx.clone()], 1 << 20, Some(&bundle(&chain, &vals, 0)));
    assert!(matches!(
        chain.app.process_proposal(2, &stale),
        Err(ProposalError::Votes(VoteError::Height { .. }))
    ));
    // A second bundle among the transactions.
    let good = bundle(&chain, &vals[..3], 1);
    let mut twice = chain.app.prepare_proposal(vec![tx.clone()], 1 << 20, Some(&good));
    twice.push(good.encode());
    assert_eq!(chain.app.process_proposal(2, &twice), Err(ProposalError::Votes(VoteError::Placement(false))));

    // Three of four: accepted, and executed with the bundle set aside.
    let block = chain.app.prepare_proposal(vec![tx], 1 << 20, Some(&good));
    assert_eq!(block.len(), 2);
    assert_eq!(chain.app.process_proposal(2, &block), Ok(()));
    let outcome = chain.block(block);
    assert_eq!(outcome.bundle, Some(good));
    assert_eq!(outcome.txs.len(), 1);
    assert!(outcome.txs[0].ok, "{:?}", outcome.txs[0].error);
}

#[test]
fn a_chain_without_validators_carries_no_bundle() {
    let mut chain = Chain::new();
    assert!(chain.app.validator_set_at(1).is_empty());
    chain.block(vec![]);
    assert_eq!(chain.app.process_proposal(2, &[]), Ok(()));
    let unsigned = Bundle { height: 1, round: 0, votes: Vec::new() };
    assert!(chain.app.prepare_proposal(Vec::new(), 1 << 20, Some(&unsigned)).is_empty());
}

#[test]
fn duplicate_or_powerless_genesis_validators_are_refused() {
    let k = SigningKey::from([5; 32]).verification_key().to_bytes();
    for validators in [
        vec![
            GenesisValidator { pub_key: k, power: 10, operator: None },
            GenesisValidator { pub_key: k, power: 5, operator: None },
        ],
        vec![GenesisValidator { pub_key: k, power: 0, operator: None }],
    ] {
        let mut g = genesis(&[&key(1)]);
        g.validators = validators;
        let store = nexus_consensus::Store::new(
            std::sync::Arc::new(nexus_consensus::MemBackend::default()),
            Default::default(),
        )
        .unwrap();
        let mut app = nexus_consensus::app::App::new(store, Default::default()).unwrap();
        assert!(app.init_chain(&g, 1).is_err());
    }
}
