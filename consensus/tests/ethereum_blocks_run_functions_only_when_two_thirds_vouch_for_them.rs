//! Finalized Ethereum blocks through the application: validators vote commitments to what their
//! observers saw, the proposer injects the blocks and logs more than 2/3 of the power vouch for,
//! and FinalizeBlock runs `on_eth_block`, `on_eth_log` and gateway calls for each block in order,
//! never skipping one. Data that is malformed, off the chain, oversized or backed by too little
//! power is refused in ProcessProposal, and one lying validator changes nothing.

mod common;

use std::sync::{Arc, Mutex};

use alloy_primitives::{Address as EthAddress, B256, Bytes, U256};
use alloy_sol_types::SolEvent as _;
use common::{Chain, genesis, key};
use ed25519_consensus::SigningKey;
use nexus_consensus::app::eth::{
    self, EthCursor, EthData, EthDataError, EthObservation, EthSource, EthVote, FunctionCalled, ObservedBlock,
};
use nexus_consensus::app::votes::{self, Bundle, SignedExtension};
use nexus_consensus::app::{GenesisValidator, ProposalError, vote_extension};
use nexus_types::{EthBlock, EthLog, EthLogFilter};

const GATEWAY: [u8; 20] = [0x6a; 20];

/// This node's observer: whatever the test says it saw.
#[derive(Default)]
struct FakeObserver(Mutex<Option<Arc<EthObservation>>>);

impl EthSource for FakeObserver {
    fn observation(&self, _: Option<EthCursor>, _: &[EthLogFilter]) -> Option<Arc<EthObservation>> {
        self.0.lock().unwrap().clone()
    }
}

fn header(number: u64) -> EthBlock {
    EthBlock {
        number,
        hash: [number as u8; 32],
        parent_hash: [(number - 1) as u8; 32],
        timestamp: 1_000 + number,
        base_fee: 7,
    }
}

/// A gateway `callFunction(function, payload)` from `caller` with `value` wei, in block `number`.
fn gateway_call(
    number: u64,
    index: u32,
    function: [u8; 32],
    caller: [u8; 20],
    value: u64,
    payload: &[u8],
) -> EthLog {
    let event = FunctionCalled {
        functionId: B256::from(function),
        caller: EthAddress::from(caller),
        value: U256::from(value),
        payload: Bytes::copy_from_slice(payload),
    };
    let data = event.encode_log_data();
    EthLog {
        block_number: number,
        block_hash: [number as u8; 32],
        log_index: index,
        tx_hash: [0xee; 32],
        address: GATEWAY,
        topics: data.topics().iter().map(|t| t.0).collect(),
        data: data.data.to_vec(),
    }
}

struct Net {
    chain: Chain,
    validators: Vec<SigningKey>,
    observer: Arc<FakeObserver>,
}

impl Net {
    fn new() -> Self {
        let validators: Vec<SigningKey> = (1..=4u8).map(|i| SigningKey::from([i; 32])).collect();
        let mut g = genesis(&[&key(1)]);
        g.params.eth.gateway = Some(GATEWAY);
        g.params.eth.max_blocks_per_block = 8;
        g.validators = validators
            .iter()
            .map(|k| GenesisValidator { pub_key: k.verification_key().to_bytes(), power: 10, operator: None })
            .collect();
        let mut chain = Chain::with_genesis(&g);
        let observer = Arc::new(FakeObserver::default());
        chain.app.set_eth_source(observer.clone());
        Self { chain, validators, observer }
    }

    fn observation(&self, blocks: Vec<ObservedBlock>) -> EthObservation {
        let filters = self.chain.app.eth_filters();
        let finalized =
            blocks.last().map(|b| EthCursor { number: b.header.number, hash: b.header.hash }).unwrap();
        EthObservation { filters: eth::filters_hash(&filters), finalized, blocks }
    }

    /// The previous height's bundle: validator i votes for `seen[i]` (`None`: saw nothing).
    fn bundle(&self, seen: &[Option<&EthObservation>]) -> Bundle {
        let height = self.chain.height;
        let name = self.chain.app.params().unwrap().chain_name.clone();
        Bundle {
            height,
            round: 0,
            votes: self
                .validators
                .iter()
                .zip(seen)
                .map(|(k, o)| {
                    let extension = vote_extension(height, o.map(EthVote::of).as_ref(), &[]);
                    SignedExtension {
                        validator: votes::address_of(&k.verification_key().to_bytes()),
                        signature: k
                            .sign(&votes::sign_bytes(&extension, height, 0, &name))
                            .to_bytes()
                            .to_vec(),
                        extension,
                    }
                })
                .collect(),
        }
    }

    /// Proposes with this node's observer seeing `own` and the votes of `seen`, checks, runs.
    fn block(&mut self, own: &EthObservation, seen: &[Option<&EthObservation>]) -> Vec<Vec<u8>> {
        *self.observer.0.lock().unwrap() = Some(Arc::new(own.clone()));
        let proposal = self.chain.app.prepare_proposal(Vec::new(), 4 << 20, Some(&self.bundle(seen)));
        assert_eq!(self.chain.app.process_proposal(self.chain.height + 1, &proposal), Ok(()));
        self.chain.block(proposal.clone());
        proposal
    }

    fn file(&self, function: [u8; 32], path: &str) -> String {
        let bytes = self.chain.app.fs_read(&function, path).expect("the file exists");
        String::from_utf8(bytes).unwrap()
    }
}

#[test]
fn backed_blocks_run_every_subscriber_in_order_and_a_liar_changes_nothing() {
    let mut net = Net::new();
    let counter = net.chain.deploy(&key(1), "eth-block-counter", b"");
    let caller = net.chain.deploy(&key(1), "eth-caller", b"");

    // The first agreed block anchors the cursor; nothing runs for it.
    let anchor = net.observation(vec![ObservedBlock { header: header(10), logs: vec![] }]);
    let proposal = net.block(&anchor, &[Some(&anchor); 4]);
    assert_eq!(proposal.len(), 2, "bundle and anchor");
    assert_eq!(net.chain.app.eth_cursor(), Some(EthCursor { number: 10, hash: [10; 32] }));
    assert!(net.chain.app.fs_read(&counter, "/blocks.txt").is_err());

    // Three blocks, one with a gateway call; one validator lies about block 12.
    let call = gateway_call(12, 3, caller, [0xc0; 20], 5, b"hello");
    let honest = net.observation(vec![
        ObservedBlock { header: header(11), logs: vec![] },
        ObservedBlock { header: header(12), logs: vec![call.clone()] },
        ObservedBlock { header: header(13), logs: vec![] },
    ]);
    let mut lie = honest.clone();
    lie.blocks[1].logs.clear();
    net.block(&honest, &[Some(&honest), Some(&honest), Some(&honest), Some(&lie)]);
    let lines: Vec<String> = net.file(counter, "/blocks.txt").lines().map(String::from).collect();
    assert_eq!(
        lines,
        (11..=13u8).map(|n| format!("{n} 0x{} 7", hex::encode([n; 32]))).collect::<Vec<_>>(),
        "every block once, in order"
    );
    assert_eq!(
        net.file(caller, "/calls.txt"),
        format!("0x{} 5 0x{}\n", "c0".repeat(20), hex::encode(b"hello"))
    );
    assert_eq!(net.chain.app.eth_cursor().map(|c| c.number), Some(13));

    // Two liars of four: block 14 is backed by only half the power, so nothing is injected, and a
    // proposer who injects it anyway is refused.
    let next = net.observation(vec![ObservedBlock { header: header(14), logs: vec![] }]);
    let mut forged = next.clone();
    forged.blocks[0].header.timestamp += 1;
    let split = [Some(&next), Some(&next), Some(&forged), Some(&forged)];
    let proposal = net.block(&next, &split);
    assert_eq!(proposal.len(), 1, "only the bundle");
    let bundle = net.bundle(&split);
    let forced = vec![bundle.encode(), EthData { blocks: next.blocks.clone() }.encode()];
    assert_eq!(
        net.chain.app.process_proposal(net.chain.height + 1, &forced),
        Err(ProposalError::Eth(EthDataError::Unbacked { number: 14, signed: 20, total: 40 }))
    );
    // Backed data a proposer altered is backed by nobody.
    let bundle = net.bundle(&[Some(&next); 4]);
    let altered = vec![bundle.encode(), EthData { blocks: forged.blocks.clone() }.encode()];
    assert!(matches!(
        net.chain.app.process_proposal(net.chain.height + 1, &altered),
        Err(ProposalError::Eth(EthDataError::Unbacked { signed: 0, .. }))
    ));
    // A gap, garbage, a log no filter wants, and data without votes are refused too.
    let gap = net.observation(vec![ObservedBlock { header: header(15), logs: vec![] }]);
    let bad = [
        EthData { blocks: gap.blocks.clone() }.encode(),
        b"NXEB\xff\xff".to_vec(),
        EthData {
            blocks: vec![ObservedBlock {
                header: header(14),
                logs: vec![gateway_call(14, 0, caller, [1; 20], 0, b"")],
            }],
        }
        .encode(),
    ];
    for data in bad {
        let txs = vec![bundle.encode(), data];
        assert!(matches!(
            net.chain.app.process_proposal(net.chain.height + 1, &txs),
            Err(ProposalError::Eth(_))
        ));
    }
    let unvoted = vec![EthData { blocks: next.blocks.clone() }.encode()];
    assert!(net.chain.app.process_proposal(net.chain.height + 1, &unvoted).is_err());

    // Once the honest majority is back, block 14 runs: nothing was skipped.
    net.block(&next, &[Some(&next), Some(&next), Some(&next), None]);
    assert!(net.file(counter, "/blocks.txt").ends_with(&format!("14 0x{} 7\n", hex::encode([14u8; 32]))));
}

#[test]
fn catching_up_processes_at_most_the_cap_per_block() {
    let mut net = Net::new();
    let counter = net.chain.deploy(&key(1), "eth-block-counter", b"");
    let anchor = net.observation(vec![ObservedBlock { header: header(1), logs: vec![] }]);
    net.block(&anchor, &[Some(&anchor); 4]);
    let backlog =
        net.observation((2..=20).map(|n| ObservedBlock { header: header(n), logs: vec![] }).collect());
    net.block(&backlog, &[Some(&backlog); 4]);
    assert_eq!(net.chain.app.eth_cursor().map(|c| c.number), Some(9), "8 blocks per Nexus block");
    net.block(&backlog, &[Some(&backlog); 4]);
    net.block(&backlog, &[Some(&backlog); 4]);
    assert_eq!(net.chain.app.eth_cursor().map(|c| c.number), Some(20));
    let numbers: Vec<u64> = net
        .file(counter, "/blocks.txt")
        .lines()
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(numbers, (2..=20).collect::<Vec<_>>());
}
