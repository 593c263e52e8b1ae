//! Determinism: independent application instances fed the same random blocks (transfers, calls,
//! failing and malformed transactions, deploys) produce identical results and app hashes at every
//! height.

mod common;

use common::{Chain, key};
use nexus_consensus::app::tx::Msg;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Transfer { from: u8, to: u8, amount: u64 },
    Count { from: u8, by: u16 },
    BadCount { from: u8 },
    Note { from: u8, name: u8 },
    Junk(Vec<u8>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u8..5, 1u8..6, any::<u64>()).prop_map(|(from, to, amount)| Op::Transfer { from, to, amount }),
        (1u8..5, any::<u16>()).prop_map(|(from, by)| Op::Count { from, by }),
        (1u8..5).prop_map(|from| Op::BadCount { from }),
        (1u8..5, 0u8..4).prop_map(|(from, name)| Op::Note { from, name }),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Op::Junk),
    ]
}

fn to_tx(chain: &mut Chain, counter: [u8; 32], notes: [u8; 32], op: &Op) -> Vec<u8> {
    let call = |function, input: String| Msg::Call { function, input: input.into_bytes(), value: 0 };
    let (from, msg) = match op {
        Op::Transfer { from, to, amount } => (
            *from,
            Msg::Transfer {
                to: nexus_consensus::app::tx::address_of(&key(*to)),
                amount: u128::from(*amount),
            },
        ),
        Op::Count { from, by } => (*from, call(counter, by.to_string())),
        Op::BadCount { from } => (*from, call(counter, "not a number".into())),
        Op::Note { from, name } => (*from, call(notes, format!("append n{name} from {from}"))),
        Op::Junk(bytes) => return bytes.clone(),
    };
    chain.sign(&key(from), vec![msg]).encode()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn the_same_blocks_give_the_same_app_hashes(blocks in prop::collection::vec(prop::collection::vec(op(), 0..12), 1..8)) {
        let (mut a, mut b) = (Chain::new(), Chain::new());
        let counter = a.deploy(&key(1), "counter", b"");
        let notes = a.deploy(&key(2), "notes", b"");
        prop_assert_eq!(b.deploy(&key(1), "counter", b""), counter);
        prop_assert_eq!(b.deploy(&key(2), "notes", b""), notes);
        b.nonces = a.nonces.clone();
        for ops in &blocks {
            let txs: Vec<Vec<u8>> = ops.iter().map(|op| to_tx(&mut a, counter, notes, op)).collect();
            let (ra, rb) = (a.block(txs.clone()), b.block(txs));
            prop_assert_eq!(&ra.txs, &rb.txs);
            prop_assert_eq!(ra.app_hash, rb.app_hash);
            prop_assert_eq!(a.app.info(), b.app.info());
        }
    }
}
