// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title NexusGateway
/// @notice Ethereum's door to Nexus. Contracts and accounts call Nexus functions through
/// `callFunction`; Nexus validators watch its `FunctionCalled` logs in finalized blocks and run the
/// called function with the payload (DESIGN.md §5).
/// @dev The gateway also holds the FROST secp256k1 group key of the Nexus validators and its epoch.
/// The threshold-signing work adds, on top of this storage: `execute(message, signature)`, which
/// verifies a group signature over a digest binding the chain id, this gateway's address, `epoch`
/// and a nonce (a nonce bitmap rejects replays), and `rotateKey(newKey, signature)`, signed by the
/// current key, which moves to the next epoch through `_setGroupKey`.
contract NexusGateway {
    /// @notice Largest accepted `callFunction` payload, in bytes (16 KiB). The payload is copied
    /// into every validator's vote extension and the next Nexus block, so it is bounded here where
    /// the caller pays for it rather than discovered oversized by the observers.
    uint256 public constant MAX_PAYLOAD_BYTES = 16 * 1024;

    /// @dev secp256k1 field prime and group order.
    uint256 private constant FIELD_PRIME = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    uint256 private constant GROUP_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    /// @notice x coordinate of the validators' FROST secp256k1 group public key.
    bytes32 public groupKeyX;
    /// @notice Parity of the group key's y coordinate: 0 even, 1 odd (its compressed SEC1 prefix
    /// is `0x02 + groupKeyParity`).
    uint8 public groupKeyParity;
    /// @notice Key epoch: which validator group holds `groupKeyX`; it grows by one per rotation
    /// and is bound into every signed digest, so signatures of a retired group cannot be replayed.
    uint64 public epoch;

    /// @notice An Ethereum account or contract called the Nexus function `functionId`.
    /// @dev Validators identify the request by this log's position, (block number, log index):
    /// unique on the chain, and only finalized blocks are observed. The gateway keeps no request
    /// counter, so a call writes no storage.
    /// @param functionId The called Nexus function's id (never zero).
    /// @param caller `msg.sender` of `callFunction`: the contract or account making the call.
    /// @param value Wei sent with the call; it stays in the gateway.
    /// @param payload Input handed to the function, at most `MAX_PAYLOAD_BYTES` long.
    event FunctionCalled(bytes32 indexed functionId, address indexed caller, uint256 value, bytes payload);

    /// @notice The group key for `epoch` is now the one whose x coordinate is `x` and y parity
    /// `parity`. Emitted at deployment (and, with the threshold-signing work, on each rotation).
    event GroupKeySet(uint64 indexed epoch, bytes32 x, uint8 parity);

    /// @notice `callFunction`'s payload is `size` bytes, more than `max`.
    error PayloadTooLarge(uint256 size, uint256 max);
    /// @notice `callFunction` was given the zero function id, which no Nexus function has.
    error ZeroFunctionId();
    /// @notice The group key is not a secp256k1 point usable by the signature verifier: x is zero,
    /// not below the group order (the verifier passes it to ecrecover as `r`), or not on the curve;
    /// or the parity is neither 0 nor 1.
    error InvalidGroupKey(bytes32 x, uint8 parity);

    /// @param x x coordinate of the initial FROST group key.
    /// @param parity y parity of that key: 0 even, 1 odd.
    /// @param initialEpoch Epoch of that key (the Nexus validator set that generated it).
    constructor(bytes32 x, uint8 parity, uint64 initialEpoch) {
        _setGroupKey(x, parity, initialEpoch);
    }

    /// @notice Calls the Nexus function `functionId` with `payload`; any wei sent stays in the
    /// gateway. Nexus runs the function once the block holding this call is finalized.
    /// @param functionId The Nexus function to call (non-zero).
    /// @param payload Its input, at most `MAX_PAYLOAD_BYTES` bytes.
    function callFunction(bytes32 functionId, bytes calldata payload) external payable {
        if (functionId == bytes32(0)) revert ZeroFunctionId();
        if (payload.length > MAX_PAYLOAD_BYTES) revert PayloadTooLarge(payload.length, MAX_PAYLOAD_BYTES);
        emit FunctionCalled(functionId, msg.sender, msg.value, payload);
    }

    function _setGroupKey(bytes32 x, uint8 parity, uint64 newEpoch) private {
        if (parity > 1 || uint256(x) == 0 || uint256(x) >= GROUP_ORDER || !_onCurve(uint256(x))) {
            revert InvalidGroupKey(x, parity);
        }
        groupKeyX = x;
        groupKeyParity = parity;
        epoch = newEpoch;
        emit GroupKeySet(newEpoch, x, parity);
    }

    /// @dev Whether some y satisfies y² = x³ + 7 (mod p): by Euler's criterion, iff
    /// (x³ + 7)^((p-1)/2) = 1, computed with the modexp precompile. x³ + 7 is never 0 mod p
    /// (secp256k1 has no point of order 2).
    function _onCurve(uint256 x) private view returns (bool) {
        uint256 rhs = addmod(mulmod(mulmod(x, x, FIELD_PRIME), x, FIELD_PRIME), 7, FIELD_PRIME);
        (bool ok, bytes memory result) = address(0x05).staticcall(
            abi.encode(uint256(32), uint256(32), uint256(32), rhs, (FIELD_PRIME - 1) / 2, FIELD_PRIME)
        );
        return ok && abi.decode(result, (uint256)) == 1;
    }
}
