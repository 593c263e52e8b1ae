//! Stopping anvil makes observations fail with an error naming the endpoint; restarting it (its
//! chain kept by `--state`) lets them resume from the caller's cursor, for direct calls and for
//! the background task alike.

mod common;

use common::{Anvil, block_ref, mine, observe_until_caught_up, wait_until};
use nexus_ethereum::{Endpoint, ObserveError, Observer, ObserverConfig, ObserverHandle};
use std::time::Duration;

fn state_file(dir: &tempfile::TempDir) -> String {
    dir.path().join("anvil-state.json").to_str().expect("utf-8 path").to_string()
}

#[tokio::test]
async fn the_observer_survives_an_endpoint_outage_and_resumes_from_the_cursor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(mut anvil) = Anvil::start_with(&["--state", &state_file(&dir)]) else { return };
    let p = anvil.provider();
    mine(&p, 10).await;
    let observer =
        Observer::new(ObserverConfig::new(vec![Endpoint::http(anvil.http())], vec![])).expect("config");
    let (cursor, _) = observe_until_caught_up(&observer, block_ref(&p, "0x0").await, 4).await;

    anvil.stop();
    let err = observer.observe(Some(cursor)).await.expect_err("anvil is down");
    assert!(matches!(err, ObserveError::Unreachable { .. }), "{err}");
    let message = err.to_string();
    assert!(message.starts_with(&format!("Ethereum endpoint {} is unreachable", anvil.http())), "{message}");

    anvil.restart();
    mine(&p, 5).await;
    let resumed = observer.observe(Some(cursor)).await.expect("anvil is back");
    assert_eq!(
        resumed.blocks.first().map(|b| b.header.parent_hash),
        Some(cursor.hash),
        "continues the cursor"
    );
    assert_eq!(resumed.tip(), Some(block_ref(&p, "finalized").await));
}

#[tokio::test]
async fn the_background_observer_reports_the_outage_and_recovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(mut anvil) = Anvil::start_with(&["--state", &state_file(&dir)]) else { return };
    let p = anvil.provider();
    mine(&p, 8).await;
    let mut config = ObserverConfig::new(vec![Endpoint::http(anvil.http())], vec![]);
    config.poll_interval = Duration::from_millis(100);
    let genesis = block_ref(&p, "0x0").await;
    let handle = ObserverHandle::spawn(Observer::new(config).expect("config"), Some(genesis));
    wait_until(Duration::from_secs(10), "a first observation", || handle.latest().is_some()).await;
    let finalized = block_ref(&p, "finalized").await;
    assert_eq!(handle.latest().and_then(|o| o.tip()), Some(finalized));

    anvil.stop();
    wait_until(Duration::from_secs(10), "the outage is reported", || {
        handle.latest().is_none()
            && handle.last_error().is_some_and(|e| matches!(*e, ObserveError::Unreachable { .. }))
    })
    .await;

    anvil.restart();
    mine(&p, 4).await;
    let finalized = block_ref(&p, "finalized").await;
    wait_until(Duration::from_secs(10), "observations resume", || {
        handle.latest().is_some_and(|o| o.tip() == Some(finalized))
    })
    .await;
    assert!(handle.last_error().is_none());
}
