//! Against a real anvil: logs are filtered exactly by address and topic, each reported once even
//! when several filters match, in log-index order, with the gateway's `FunctionCalled` decodable
//! to the caller, value and payload that were sent.

mod common;

use alloy::primitives::{Address, Log, LogData};
use alloy_sol_types::SolEvent;
use common::{
    Anvil, DEV, block_ref, call_gateway, deploy_gateway, hex_u64, hex32, mine, observe_until_caught_up,
};
use nexus_ethereum::{Endpoint, Filter, NexusGateway, Observer, ObserverConfig};

#[tokio::test]
async fn the_observer_reports_only_logs_its_filters_match() {
    let Some(anvil) = Anvil::start() else { return };
    let p = anvil.provider();
    let genesis = block_ref(&p, "0x0").await;
    let a = deploy_gateway(&p).await;
    let b = deploy_gateway(&p).await;
    let (x, y) = ([0x11; 32], [0x22; 32]);
    let wanted = call_gateway(&p, a, x, b"hello nexus", 42).await;
    call_gateway(&p, a, y, b"other function", 0).await;
    call_gateway(&p, b, x, b"other gateway", 0).await;
    mine(&p, 5).await;

    // Gateway a's calls of function x, asked twice (by its own filter and a topic-only one).
    let by_id = Filter { address: None, topics: [None, Some(x), None, None] };
    let only_a = Filter { topics: [None, Some(x), None, None], ..Filter::gateway_calls(a.0.0) };
    let mut config = ObserverConfig::new(vec![Endpoint::http(anvil.http())], vec![only_a, by_id]);
    config.max_blocks_per_observation = 64;
    let observer = Observer::new(config).expect("config");
    let (_, blocks) = observe_until_caught_up(&observer, genesis, 4).await;
    let logs: Vec<_> = blocks.iter().flat_map(|b| &b.logs).collect();
    assert_eq!(logs.len(), 2, "a's call of x (once, though two filters match) and b's call of x: {logs:?}");

    let log = logs.iter().find(|l| l.address == a.0.0).expect("gateway a's log");
    assert_eq!(log.block_number, hex_u64(&wanted["blockNumber"]));
    assert_eq!(log.block_hash, hex32(&wanted["blockHash"]));
    assert_eq!(log.tx_hash, hex32(&wanted["transactionHash"]));
    assert_eq!(u64::from(log.log_index), hex_u64(&wanted["logs"][0]["logIndex"]));
    let decoded = NexusGateway::FunctionCalled::decode_log(&Log {
        address: Address::from(log.address),
        data: LogData::new_unchecked(
            log.topics.iter().map(|t| (*t).into()).collect(),
            log.data.clone().into(),
        ),
    })
    .expect("a FunctionCalled log");
    assert_eq!(decoded.functionId.0, x);
    assert_eq!(decoded.caller, DEV.parse::<Address>().expect("dev address"));
    assert_eq!(decoded.value, alloy::primitives::U256::from(42));
    assert_eq!(decoded.payload.as_ref(), b"hello nexus");

    // The gateway filter alone: all of a's calls and nothing of b, in order.
    let mut config =
        ObserverConfig::new(vec![Endpoint::http(anvil.http())], vec![Filter::gateway_calls(a.0.0)]);
    config.max_blocks_per_observation = 64;
    let (_, blocks) = observe_until_caught_up(&Observer::new(config).expect("config"), genesis, 4).await;
    let ids: Vec<[u8; 32]> = blocks.iter().flat_map(|b| &b.logs).map(|l| l.topics[1]).collect();
    assert_eq!(ids, vec![x, y]);
    assert!(blocks.iter().flat_map(|b| &b.logs).all(|l| l.address == a.0.0));
}
