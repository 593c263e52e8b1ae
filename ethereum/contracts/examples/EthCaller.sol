// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {NexusGateway} from "../NexusGateway.sol";

/// @title EthCaller
/// @notice Example: a contract that calls a Nexus function through the gateway (the
/// `eth-caller` example function stores what it receives). The function sees this contract as
/// its caller and the wei forwarded as its value.
contract EthCaller {
    /// @notice The gateway calls go through.
    NexusGateway public immutable gateway;

    /// @notice How many calls this contract has sent.
    uint256 public sent;

    constructor(NexusGateway gateway_) {
        gateway = gateway_;
    }

    /// @notice Calls Nexus function `functionId` with `payload`, forwarding the wei attached.
    function callNexus(bytes32 functionId, bytes calldata payload) external payable {
        sent += 1;
        gateway.callFunction{value: msg.value}(functionId, payload);
    }
}
