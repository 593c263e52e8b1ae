//! Two endpoints for one anvil, the second through a proxy that can lie: while it tells the truth
//! they agree; when it alters a finalized block's hash or drops logs, the observer reports nothing
//! but an error naming both endpoints; when it stops lying, observations resume.

mod common;

use common::{Anvil, Proxy, Tamper, block_ref, call_gateway, deploy_gateway, mine};
use nexus_ethereum::{Endpoint, Filter, ObserveError, Observer, ObserverConfig};

#[tokio::test]
async fn endpoints_that_disagree_make_the_observer_report_nothing() {
    let Some(anvil) = Anvil::start() else { return };
    let p = anvil.provider();
    let genesis = block_ref(&p, "0x0").await;
    let gateway = deploy_gateway(&p).await;
    let call = call_gateway(&p, gateway, [0x33; 32], b"payload", 0).await;
    mine(&p, 6).await;
    let proxy = Proxy::start(anvil.http().port().expect("port"));
    let liar: url::Url = proxy.http().parse().expect("url");
    let mut config = ObserverConfig::new(
        vec![Endpoint::http(anvil.http()), Endpoint::http(liar.clone())],
        vec![Filter::gateway_calls(gateway.0.0)],
    );
    config.max_blocks_per_observation = 64;
    let observer = Observer::new(config).expect("config");

    let honest = observer.observe(Some(genesis)).await.expect("both endpoints tell the truth");
    assert_eq!(honest.blocks.iter().map(|b| b.logs.len()).sum::<usize>(), 1);

    proxy.set(Tamper::BlockHash(3));
    let err = observer.observe(Some(genesis)).await.expect_err("block 3's hash differs");
    let expected =
        format!("Ethereum endpoints {} and {liar} disagree on the header of block 3", anvil.http());
    assert_eq!(err.to_string(), expected);

    proxy.set(Tamper::DropLogs);
    let err = observer.observe(Some(genesis)).await.expect_err("the gateway's log is missing");
    let number = common::hex_u64(&call["blockNumber"]);
    assert!(
        matches!(&err, ObserveError::Disagreement { number: n, what: "logs", .. } if *n == number),
        "{err}"
    );

    proxy.set(Tamper::Nothing);
    assert_eq!(observer.observe(Some(genesis)).await.expect("agreement again"), honest);
}
