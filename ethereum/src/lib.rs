//! Nexus's side of Ethereum: typed bindings to the `NexusGateway` contract, and the observer that
//! reports finalized Ethereum blocks and the logs functions subscribe to (DESIGN.md §5).
//!
//! The bindings come from `abi/NexusGateway.json`, the committed artifact that
//! `scripts/build-contracts.sh` compiles from `contracts/NexusGateway.sol`
//! (`scripts/test-contracts.sh` fails when it is stale). A Nexus request is the `FunctionCalled`
//! log of a finalized Ethereum block, identified by that block's number and the log's index in it.
//!
//! The observer ([`Observer`], [`ObserverHandle`]) reads those blocks and logs from one or more
//! JSON-RPC endpoints, cross-checks them and reports what follows the chain's cursor, with a
//! compact [`ObservationDigest`] for vote extensions. The [`relayer`] submits signed batches and
//! key rotations to the gateway.

pub mod devnet;
mod handle;
mod observation;
mod observer;
pub mod relayer;

pub use handle::ObserverHandle;
pub use observation::{BlockRef, Observation, ObservationDigest, ObservedBlock};
pub use observer::{
    ConfigError, Endpoint, Filter, MAX_BLOCKS_PER_OBSERVATION, ObserveError, Observer, ObserverConfig,
};

/// The example contracts (`contracts/examples`): `EthCaller` calls a Nexus function through the
/// gateway (the `eth-caller` example function stores what it gets), `TestToken` is a minimal
/// ERC-20 whose `Transfer` logs the `eth-watcher` example function follows, and `NexusReceiver`
/// takes the messages a Nexus function (say `eth-sender`) sends through the gateway.
pub mod examples {
    alloy_sol_types::sol!(
        /// A contract calling Nexus functions through the gateway.
        #[sol(all_derives)]
        EthCaller,
        "abi/EthCaller.json"
    );

    alloy_sol_types::sol!(
        /// A minimal ERC-20 emitting standard `Transfer` logs.
        #[sol(all_derives)]
        TestToken,
        "abi/TestToken.json"
    );

    alloy_sol_types::sol!(
        /// A receiver of Nexus messages: `receiveMessage(payload)` from the gateway only, and
        /// only from its allowed Nexus function (`messageSender`); keeps the last one.
        #[sol(all_derives)]
        NexusReceiver,
        "abi/NexusReceiver.json"
    );
}

alloy_sol_types::sol!(
    /// The Nexus gateway on Ethereum: `callFunction` calls, the `FunctionCalled` and
    /// `GroupKeySet` events, the custom errors, and the creation and runtime bytecode
    /// (`NexusGateway::BYTECODE`, `NexusGateway::DEPLOYED_BYTECODE`) for deploying it on anvil.
    #[sol(all_derives)]
    NexusGateway,
    "abi/NexusGateway.json"
);
