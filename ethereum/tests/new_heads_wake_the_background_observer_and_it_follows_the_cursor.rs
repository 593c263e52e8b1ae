//! The background observer wakes on WebSocket `newHeads` (its polling interval here is a minute,
//! so only the subscription can make it prompt) and follows the cursor it is given, never
//! returning an observation made for an older one.

mod common;

use common::{Anvil, block_ref, mine, wait_until};
use nexus_ethereum::{BlockRef, Endpoint, Observer, ObserverConfig, ObserverHandle};
use std::time::Duration;

#[tokio::test]
async fn new_heads_wake_the_background_observer_and_it_follows_the_cursor() {
    let Some(anvil) = Anvil::start() else { return };
    let p = anvil.provider();
    mine(&p, 6).await;
    // Polling alone would take a minute: only the WebSocket can make the updates below prompt.
    let mut config = ObserverConfig::new(vec![Endpoint::http(anvil.http()).with_ws(anvil.ws())], vec![]);
    config.poll_interval = Duration::from_secs(60);
    config.max_blocks_per_observation = 64;
    let genesis = block_ref(&p, "0x0").await;
    let handle = ObserverHandle::spawn(Observer::new(config).expect("config"), Some(genesis));
    wait_until(Duration::from_secs(10), "a first observation", || handle.latest().is_some()).await;
    // Give the listener time to subscribe before mining.
    tokio::time::sleep(Duration::from_millis(500)).await;

    mine(&p, 3).await;
    let finalized = block_ref(&p, "finalized").await;
    wait_until(Duration::from_secs(10), "a new head wakes the observer", || {
        handle.latest().is_some_and(|o| o.tip() == Some(finalized))
    })
    .await;

    let cursor: BlockRef = finalized;
    handle.set_cursor(Some(cursor));
    assert!(handle.latest().is_none_or(|o| o.cursor == Some(cursor)), "no observation for an older cursor");
    wait_until(Duration::from_secs(10), "an observation from the new cursor", || {
        handle.latest().is_some_and(|o| o.cursor == Some(cursor) && o.blocks.is_empty())
    })
    .await;
}
