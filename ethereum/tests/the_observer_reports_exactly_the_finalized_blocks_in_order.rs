//! Against a real anvil: the observer reports every finalized block after the cursor once, in
//! order, with anvil's hashes and parent links, never one above `finalized`, at most K at a time;
//! a cursor that is not on the chain is an error, and the digest is small and prefix-comparable.

mod common;

use common::{Anvil, block, block_ref, hex_u64, hex32, mine, observe_until_caught_up};
use nexus_ethereum::{BlockRef, Endpoint, ObservationDigest, ObserveError, Observer, ObserverConfig};

#[tokio::test]
async fn the_observer_reports_exactly_the_finalized_blocks_in_order() {
    let Some(anvil) = Anvil::start() else { return };
    let p = anvil.provider();
    mine(&p, 30).await;
    let mut config = ObserverConfig::new(vec![Endpoint::http(anvil.http())], vec![]);
    config.max_blocks_per_observation = 4;
    let observer = Observer::new(config).expect("config");

    let genesis = block_ref(&p, "0x0").await;
    let finalized = block_ref(&p, "finalized").await;
    let latest = block_ref(&p, "latest").await;
    assert!(finalized.number > 0 && finalized.number < latest.number, "anvil finalizes behind the head");

    let first = observer.observe(Some(genesis)).await.expect("observe");
    assert_eq!(first.finalized, finalized);
    assert_eq!(first.blocks.iter().map(|b| b.header.number).collect::<Vec<_>>(), vec![1, 2, 3, 4], "K = 4");

    let (tip, blocks) = observe_until_caught_up(&observer, genesis, 20).await;
    assert_eq!(tip, finalized, "stops at finalized, not at the head");
    assert_eq!(blocks.len() as u64, finalized.number, "every block from 1 to finalized, once");
    let mut parent = genesis.hash;
    for (i, b) in blocks.iter().enumerate() {
        let expected = block(&p, &format!("{:#x}", i + 1)).await;
        assert_eq!(b.header.number, i as u64 + 1);
        assert_eq!(b.header.hash, hex32(&expected["hash"]));
        assert_eq!(b.header.parent_hash, parent);
        assert_eq!(b.header.timestamp, hex_u64(&expected["timestamp"]));
        assert_eq!(b.header.base_fee, u128::from(hex_u64(&expected["baseFeePerGas"])));
        parent = b.header.hash;
    }

    // Caught up: nothing new until anvil finalizes more, then exactly the new blocks.
    let idle = observer.observe(Some(tip)).await.expect("observe");
    assert!(idle.blocks.is_empty());
    mine(&p, 3).await;
    let next = observer.observe(Some(tip)).await.expect("observe");
    let new_finalized = block_ref(&p, "finalized").await;
    assert_eq!(next.blocks.first().map(|b| b.header.parent_hash), Some(tip.hash));
    assert_eq!(next.tip(), Some(new_finalized));

    // No cursor yet: the finalized block alone anchors the chain.
    let anchor = observer.observe(None).await.expect("observe");
    assert_eq!(anchor.blocks.len(), 1);
    assert_eq!(anchor.tip(), Some(new_finalized));
}

#[tokio::test]
async fn a_cursor_off_the_chain_is_reported_not_followed() {
    let Some(anvil) = Anvil::start() else { return };
    let p = anvil.provider();
    mine(&p, 10).await;
    let observer =
        Observer::new(ObserverConfig::new(vec![Endpoint::http(anvil.http())], vec![])).expect("config");
    let real = block_ref(&p, "0x2").await;
    let forged = BlockRef { number: 2, hash: [7; 32] };
    let err = observer.observe(Some(forged)).await.expect_err("the cursor's hash is not block 2's");
    assert!(
        matches!(&err, ObserveError::BrokenChain { number: 3, expected, parent, .. }
            if expected.0 == forged.hash && parent.0 == real.hash),
        "{err}"
    );
    let finalized = block_ref(&p, "finalized").await;
    let err = observer
        .observe(Some(BlockRef { number: finalized.number, hash: [7; 32] }))
        .await
        .expect_err("the cursor is the finalized number with another hash");
    assert!(matches!(err, ObserveError::CursorNotOnChain { .. }), "{err}");
}

#[tokio::test]
async fn the_digest_is_small_and_agrees_on_common_prefixes() {
    let Some(anvil) = Anvil::start() else { return };
    let p = anvil.provider();
    mine(&p, 12).await;
    let genesis = block_ref(&p, "0x0").await;
    let observe_k = |k| {
        let mut config = ObserverConfig::new(vec![Endpoint::http(anvil.http())], vec![]);
        config.max_blocks_per_observation = k;
        Observer::new(config).expect("config")
    };
    let four = observe_k(4).observe(Some(genesis)).await.expect("observe").digest();
    let two = observe_k(2).observe(Some(genesis)).await.expect("observe").digest();
    assert_eq!(four.encode().len(), ObservationDigest::encoded_len(4));
    assert!(four.encode().len() <= 200, "a vote extension's share stays small");
    assert_eq!(four.start, 1);
    assert_eq!(four.chain[..2], two.chain[..], "the first two blocks commit alike");
    let later = observe_k(2).observe(Some(block_ref(&p, "0x2").await)).await.expect("observe").digest();
    assert_ne!(later.chain[0], four.chain[2], "a commitment binds everything before it, not the block alone");
}
