//! Nexus's side of Ethereum: typed bindings to the `NexusGateway` contract that the observer and
//! relayer (DESIGN.md §5) read and call.
//!
//! The bindings come from `abi/NexusGateway.json`, the committed artifact that
//! `scripts/build-contracts.sh` compiles from `contracts/NexusGateway.sol`
//! (`scripts/test-contracts.sh` fails when it is stale). A Nexus request is the `FunctionCalled`
//! log of a finalized Ethereum block, identified by that block's number and the log's index in it.

alloy_sol_types::sol!(
    /// The Nexus gateway on Ethereum: `callFunction` calls, the `FunctionCalled` and
    /// `GroupKeySet` events, the custom errors, and the creation and runtime bytecode
    /// (`NexusGateway::BYTECODE`, `NexusGateway::DEPLOYED_BYTECODE`) for deploying it on anvil.
    #[sol(all_derives)]
    NexusGateway,
    "abi/NexusGateway.json"
);
