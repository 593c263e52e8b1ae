//! Every kind of bad transaction gets a clear error from `check_tx`, and if a proposer includes
//! it anyway, a failed result that changes nothing (or, once the fee is payable, only the fee and
//! nonce).

mod common;

use common::{CHAIN_ID, Chain, FUNDS, GAS_LIMIT, example, key};
use nexus_consensus::app::tx::{self, DecodeTxError, Msg, Tx};
use nexus_consensus::app::{TxError, gas};
use proptest::prelude::*;

fn call_tx(nonce: u64) -> Tx {
    Tx {
        chain_id: CHAIN_ID,
        nonce,
        expires_at: 0,
        gas_limit: GAS_LIMIT,
        gas_price: 1,
        msgs: vec![Msg::Transfer { to: [7; 20], amount: 1 }],
    }
}

/// Runs `bytes` through check_tx (expecting `expected` in the error text) and then forces it into
/// a block: the block's result fails with a clear reason and the app hash does not move.
fn refused_everywhere(chain: &mut Chain, bytes: Vec<u8>, expected: &str) {
    let err = chain.app.check_tx(&bytes).expect_err("check_tx refuses it");
    assert!(err.to_string().contains(expected), "check_tx said {err:?}, expected {expected:?}");
    let before = chain.app.info().app_hash;
    let r = chain.block(vec![bytes]).txs.remove(0);
    assert!(!r.ok);
    assert!(
        r.error.as_deref().unwrap_or("").contains(expected),
        "block said {:?}, expected {expected:?}",
        r.error
    );
    assert_eq!(r.fee, 0);
    assert_eq!(chain.app.info().app_hash, before, "a refused transaction changed state");
}

#[test]
fn each_bad_transaction_is_refused_with_its_reason() {
    let mut chain = Chain::new();
    chain.block(vec![]);
    let k = key(1);
    let sender = tx::address_of(&k);

    let mut bad_sig = call_tx(0).sign(&k);
    bad_sig.signature[64] = 30;
    refused_everywhere(&mut chain, bad_sig.encode(), "recovery byte");

    refused_everywhere(&mut chain, Tx { chain_id: CHAIN_ID + 1, ..call_tx(0) }.sign(&k).encode(), "chain");
    refused_everywhere(&mut chain, call_tx(1).sign(&k).encode(), "next nonce is 0");
    refused_everywhere(&mut chain, Tx { expires_at: 1, ..call_tx(0) }.sign(&k).encode(), "expired");
    chain.block(vec![]);
    refused_everywhere(
        &mut chain,
        Tx { gas_limit: u64::MAX, ..call_tx(0) }.sign(&k).encode(),
        "block gas limit",
    );
    refused_everywhere(
        &mut chain,
        Tx { gas_limit: 10, ..call_tx(0) }.sign(&k).encode(),
        "before running anything",
    );
    refused_everywhere(&mut chain, Tx { gas_price: 0, ..call_tx(0) }.sign(&k).encode(), "below the minimum");
    let poor = key(9);
    refused_everywhere(&mut chain, call_tx(0).sign(&poor).encode(), "has 0 but");
    refused_everywhere(&mut chain, Tx { msgs: vec![], ..call_tx(0) }.sign(&k).encode(), "1 to 64 messages");
    refused_everywhere(&mut chain, b"not a transaction".to_vec(), "malformed");

    // A valid transaction, then its replay.
    let ok = call_tx(0).sign(&k).encode();
    chain.app.check_tx(&ok).expect("valid");
    assert!(chain.block(vec![ok.clone()]).txs[0].ok);
    refused_everywhere(&mut chain, ok, "already used");
    assert_eq!(chain.app.account(&sender).nonce, 1);
}

#[test]
fn oversize_invalid_or_missing_code_fails_and_only_pays_the_fee() {
    let mut chain = Chain::new();
    let k = key(1);
    let sender = tx::address_of(&k);
    let cases: Vec<(Vec<Msg>, &str)> = vec![
        (vec![Msg::Deploy { code: vec![0; 600 << 10], input: vec![] }], "transaction is"),
        (vec![Msg::Deploy { code: b"\0asm\x01\0\0\0\x05".to_vec(), input: vec![] }], "invalid module"),
        (vec![Msg::Call { function: [3; 32], input: vec![], value: 0 }], "no function 0x0303"),
        (vec![Msg::Call { function: [3; 32], input: vec![], value: FUNDS * 2 }], "no function"),
    ];
    for (msgs, expected) in cases {
        let signed = chain.sign(&k, msgs);
        let bytes = signed.encode();
        let before = chain.app.account(&sender);
        match chain.app.check_tx(&bytes) {
            // Too large to even decode: refused before it can pay anything.
            Err(TxError::Decode(DecodeTxError::TooLarge { .. })) => {
                chain.nonces.insert(sender, before.nonce);
                let r = chain.block(vec![bytes]).txs.remove(0);
                assert!(r.error.as_deref().unwrap_or("").contains(expected), "{:?}", r.error);
                assert_eq!(chain.app.account(&sender), before);
                continue;
            }
            Err(TxError::InsufficientFunds { .. }) => {
                chain.nonces.insert(sender, before.nonce);
                continue;
            }
            other => {
                other.expect("check_tx accepts it");
            }
        }
        let r = chain.block(vec![bytes]).txs.remove(0);
        assert!(!r.ok);
        assert!(r.error.as_deref().unwrap_or("").contains(expected), "{:?} lacks {expected:?}", r.error);
        let after = chain.app.account(&sender);
        assert_eq!(after.nonce, before.nonce + 1);
        assert_eq!(after.balance, before.balance - r.fee);
        assert!(r.gas_used >= gas::TX_BASE);
    }
    // The chain's code size limit applies before compiling anything.
    let mut genesis = common::genesis(&[&k]);
    genesis.params.max_code_bytes = 1_000;
    let mut small = Chain::with_genesis(&genesis);
    let r = small.run(&k, vec![Msg::Deploy { code: example("counter"), input: vec![] }]);
    assert!(r.error.as_deref().unwrap_or("").contains("the limit is 1000"), "{:?}", r.error);
}

#[test]
fn out_of_gas_undoes_the_messages_but_charges_the_whole_limit() {
    let mut chain = Chain::new();
    let k = key(1);
    let sender = tx::address_of(&k);
    let f = chain.deploy(&k, "counter", b"");
    let before = chain.app.account(&sender);
    let tx = Tx {
        chain_id: CHAIN_ID,
        nonce: before.nonce,
        expires_at: 0,
        gas_limit: gas::intrinsic(200) + gas::TRANSFER + 6_000,
        gas_price: 2,
        msgs: vec![Msg::Call { function: f, input: b"1".to_vec(), value: 0 }],
    };
    let r = chain.block(vec![tx.clone().sign(&k).encode()]).txs.remove(0);
    assert!(r.error.as_deref().unwrap_or("").contains("out of gas"), "{:?}", r.error);
    assert_eq!(r.gas_used, tx.gas_limit);
    assert_eq!(chain.app.account(&sender).balance, before.balance - 2 * u128::from(tx.gas_limit));
    let q = chain.app.query_call(&f, vec![]).expect("query");
    assert_eq!(q.output, b"0");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The decoder never panics, and mutating any byte of a valid transaction either fails to
    /// decode or no longer verifies as the original signer.
    #[test]
    fn mutated_transaction_bytes_never_pass_as_the_signer(flip in any::<prop::sample::Index>(), bit in 0u8..8, junk in prop::collection::vec(any::<u8>(), 0..300)) {
        let k = key(1);
        let signer = tx::address_of(&k);
        let mut bytes = call_tx(0).sign(&k).encode();
        let i = flip.index(bytes.len());
        bytes[i] ^= 1 << bit;
        if let Ok(v) = tx::decode_and_verify(&bytes, CHAIN_ID) {
            prop_assert_ne!(v.sender, signer);
        }
        let _ = tx::decode_and_verify(&junk, CHAIN_ID);
    }
}
