//! A chain in memory driven block by block, with funded keys, for the application's tests.
#![allow(dead_code, missing_docs)]

use std::sync::Arc;

use k256::ecdsa::SigningKey;
use nexus_consensus::app::tx::{Msg, SignedTx, Tx, address_of};
use nexus_consensus::app::{
    App, BlockInput, BlockOutcome, Genesis, GenesisAccount, NodeConfig, Params, TxRecord,
};
use nexus_consensus::{MemBackend, Store, StoreConfig};

pub mod signing_net;

pub const CHAIN_ID: u64 = 4242;
pub const FUNDS: u128 = 1_000_000_000_000_000_000;
pub const GAS_LIMIT: u64 = 500_000_000;

pub fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n.max(1); 32].into()).expect("a valid scalar")
}

/// The bytes of a built example module.
pub fn example(name: &str) -> Vec<u8> {
    let dir = std::env::var("NEXUS_EXAMPLES_DIR").unwrap_or_else(|_| {
        let target = std::env::var("CARGO_TARGET_DIR")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_string());
        format!("{target}/examples-wasm")
    });
    let path = format!("{dir}/{name}.wasm");
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}; build the examples with scripts/build-examples.sh"))
}

pub fn genesis(keys: &[&SigningKey]) -> Genesis {
    Genesis {
        params: Params { chain_id: CHAIN_ID, chain_name: "nexus-test".into(), ..Params::default() },
        accounts: keys.iter().map(|k| GenesisAccount { address: address_of(k), balance: FUNDS }).collect(),
        validators: Vec::new(),
    }
}

pub struct Chain {
    pub app: App<MemBackend>,
    pub height: u64,
    pub nonces: std::collections::BTreeMap<[u8; 20], u64>,
}

impl Chain {
    /// A chain with keys 1..=4 funded.
    pub fn new() -> Self {
        Self::with_genesis(&genesis(&[&key(1), &key(2), &key(3), &key(4)]))
    }

    pub fn with_genesis(genesis: &Genesis) -> Self {
        let store = Store::new(Arc::new(MemBackend::default()), StoreConfig::default()).expect("store");
        let mut app = App::new(store, NodeConfig::default()).expect("app");
        app.init_chain(genesis, 1).expect("init_chain");
        Self { app, height: 0, nonces: Default::default() }
    }

    /// Signs `msgs` from `key` with its next nonce.
    pub fn sign(&mut self, key: &SigningKey, msgs: Vec<Msg>) -> SignedTx {
        self.sign_with_gas(key, msgs, GAS_LIMIT)
    }

    /// Signs `msgs` from `key` with its next nonce and gas limit `gas_limit`.
    pub fn sign_with_gas(&mut self, key: &SigningKey, msgs: Vec<Msg>, gas_limit: u64) -> SignedTx {
        let nonce = self.nonces.entry(address_of(key)).or_default();
        let tx = Tx { chain_id: CHAIN_ID, nonce: *nonce, expires_at: 0, gas_limit, gas_price: 1, msgs };
        *nonce += 1;
        tx.sign(key)
    }

    /// Executes and commits a block of raw transactions (without check_tx).
    pub fn block(&mut self, txs: Vec<Vec<u8>>) -> BlockOutcome {
        self.block_with(BlockInput { txs, ..BlockInput::default() })
    }

    /// Executes and commits the next block with `input`'s transactions, last commit and
    /// misbehavior (its height and time are the chain's next).
    pub fn block_with(&mut self, input: BlockInput) -> BlockOutcome {
        self.height += 1;
        let input = BlockInput {
            height: self.height,
            time_ns: 1_700_000_000_000_000_000 + self.height * 1_000_000_000,
            ..input
        };
        let outcome = self.app.finalize_block(&input).expect("finalize_block");
        let info = self.app.commit().expect("commit");
        assert_eq!(info.app_hash, outcome.app_hash);
        outcome
    }

    /// Submits one transaction through check_tx and a block; returns its result.
    pub fn run(&mut self, key: &SigningKey, msgs: Vec<Msg>) -> TxRecord {
        let bytes = self.sign(key, msgs).encode();
        self.app.check_tx(&bytes).expect("check_tx accepts it");
        self.block(vec![bytes]).txs.remove(0)
    }

    /// Like `run`, but the transaction must succeed.
    pub fn ok(&mut self, key: &SigningKey, msgs: Vec<Msg>) -> TxRecord {
        let r = self.run(key, msgs);
        assert!(r.ok, "transaction failed: {:?}", r.error);
        r
    }

    pub fn deploy(&mut self, key: &SigningKey, name: &str, input: &[u8]) -> [u8; 32] {
        let r = self.ok(key, vec![Msg::Deploy { code: example(name), input: input.to_vec() }]);
        r.results[0].function.expect("a deploy names its function")
    }

    pub fn call(&mut self, key: &SigningKey, function: [u8; 32], input: &str) -> TxRecord {
        self.run(key, vec![Msg::Call { function, input: input.as_bytes().to_vec(), value: 0 }])
    }
}
