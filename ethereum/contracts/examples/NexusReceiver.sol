// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {NexusGateway} from "../NexusGateway.sol";

/// @title NexusReceiver
/// @notice Example: a contract that takes messages a Nexus function sends to Ethereum (the
/// `eth-sender` example function sends `receiveMessage(payload)` calldata to it). The gateway
/// runs a message only once the validators' group key signed it, so a receiver has two things
/// to check: that the gateway is calling, and which Nexus function sent the message
/// (`gateway.messageSender()`, set only while the gateway runs it).
contract NexusReceiver {
    /// @notice The gateway whose messages this contract takes.
    NexusGateway public immutable gateway;

    /// @notice The only Nexus function whose messages are accepted; zero accepts any function.
    bytes32 public immutable allowedSender;

    /// @notice The payload of the last accepted message.
    bytes public lastPayload;
    /// @notice The Nexus function that sent the last accepted message.
    bytes32 public lastSender;
    /// @notice How many messages were accepted.
    uint256 public received;

    /// @notice Nexus function `sender` delivered `payload`.
    event MessageReceived(bytes32 indexed sender, bytes payload);

    /// @notice `caller` is not the gateway: anyone could call this directly and claim anything.
    error NotGateway(address caller);
    /// @notice The message came from Nexus function `sender`, not the allowed one.
    error UnexpectedSender(bytes32 sender, bytes32 allowed);

    /// @param gateway_ The gateway that delivers messages.
    /// @param allowedSender_ The Nexus function allowed to send them; zero for any.
    constructor(NexusGateway gateway_, bytes32 allowedSender_) {
        gateway = gateway_;
        allowedSender = allowedSender_;
    }

    /// @notice Takes `payload` from a Nexus function, through the gateway only.
    function receiveMessage(bytes calldata payload) external {
        if (msg.sender != address(gateway)) revert NotGateway(msg.sender);
        bytes32 sender = gateway.messageSender();
        if (allowedSender != bytes32(0) && sender != allowedSender) revert UnexpectedSender(sender, allowedSender);
        lastPayload = payload;
        lastSender = sender;
        received += 1;
        emit MessageReceived(sender, payload);
    }
}
