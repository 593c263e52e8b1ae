// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title NexusGateway
/// @notice Ethereum's door to Nexus. Contracts and accounts call Nexus functions through
/// `callFunction`; Nexus validators watch its `FunctionCalled` logs in finalized blocks and run the
/// called function with the payload (DESIGN.md §5).
/// The other way, `execute` runs a message the Nexus validators signed together: a FROST
/// secp256k1 signature of their group key over a digest binding the chain id, this gateway's
/// address, the key epoch and a nonce (a nonce bitmap rejects replays).
/// @dev `rotateKey(newKey, signature)`, signed by the current key, comes with key rotation and
/// moves to the next epoch through `_setGroupKey`.
contract NexusGateway {
    /// @notice Largest accepted `callFunction` payload, in bytes (16 KiB). The payload is copied
    /// into every validator's vote extension and the next Nexus block, so it is bounded here where
    /// the caller pays for it rather than discovered oversized by the observers.
    uint256 public constant MAX_PAYLOAD_BYTES = 16 * 1024;

    /// @notice First word of every execution digest, so that no other signed message can be one.
    bytes32 public constant EXECUTE_TAG = keccak256("nexus/gateway/execute/v1");

    /// @dev FROST-secp256k1-SHA256-v1's challenge hash domain (RFC 9591 H2 with expand_message_xmd).
    bytes private constant CHALLENGE_DST = "FROST-secp256k1-SHA256-v1chal";
    /// @dev The challenge's 48 uniform bytes are b1 · 2^128 + (b2's first 16 bytes), reduced mod n.
    uint256 private constant TWO_POW_128 = 1 << 128;

    /// @notice A FROST signature as `execute` takes it: the commitment point R in full (checked to
    /// be on the curve; its compressed form enters the challenge) and the response z.
    struct Signature {
        uint256 rx;
        uint256 ry;
        uint256 z;
    }

    /// @dev Used nonces, 256 per word.
    mapping(uint256 => uint256) private usedNonces;

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

    /// @notice Message `nonce` ran: `target` was called with its data and returned (`success`) or
    /// reverted (`success` false; the nonce is spent either way, so a failing call cannot block
    /// the messages after it).
    event Executed(uint256 indexed nonce, address indexed target, bool success);

    /// @notice The signature is not the group key's over this message's digest.
    error InvalidSignature();
    /// @notice This nonce's message already ran.
    error NonceUsed(uint256 nonce);

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

    /// @notice Runs message `nonce`, signed by the validators' group key: calls `target` with
    /// `data`. Reverts for a used nonce or a bad signature; a reverting target only marks the
    /// message failed (`Executed` with `success` false).
    function execute(uint256 nonce, address target, bytes calldata data, Signature calldata signature)
        external
        returns (bool success)
    {
        uint256 bit = 1 << (nonce & 255);
        uint256 word = usedNonces[nonce >> 8];
        if (word & bit != 0) revert NonceUsed(nonce);
        if (!verify(digest(nonce, target, data), signature)) revert InvalidSignature();
        usedNonces[nonce >> 8] = word | bit;
        (success,) = target.call(data);
        emit Executed(nonce, target, success);
    }

    /// @notice Whether message `nonce` already ran.
    function nonceUsed(uint256 nonce) external view returns (bool) {
        return usedNonces[nonce >> 8] & (1 << (nonce & 255)) != 0;
    }

    /// @notice What the group signs for message `nonce` calling `target` with `data` here, now.
    function digest(uint256 nonce, address target, bytes calldata data) public view returns (bytes32) {
        return keccak256(abi.encode(EXECUTE_TAG, block.chainid, address(this), epoch, nonce, target, keccak256(data)));
    }

    /// @notice Whether `signature` is the group key's FROST signature of `message`: with challenge
    /// c = H2(R ‖ PK ‖ message), z·G − c·PK must be R. ecrecover computes z·G − c·PK when given
    /// PK as its point, −z·x(PK) as the hash and −c·x(PK) as s, and returns that point's address.
    function verify(bytes32 message, Signature calldata signature) public view returns (bool) {
        (uint256 rx, uint256 ry, uint256 z) = (signature.rx, signature.ry, signature.z);
        if (z == 0 || z >= GROUP_ORDER || rx >= FIELD_PRIME || ry >= FIELD_PRIME) return false;
        if (mulmod(ry, ry, FIELD_PRIME) != addmod(mulmod(mulmod(rx, rx, FIELD_PRIME), rx, FIELD_PRIME), 7, FIELD_PRIME)) {
            return false;
        }
        uint256 px = uint256(groupKeyX);
        uint8 parity = groupKeyParity;
        uint256 c = _challenge(abi.encodePacked(uint8(2 + (ry & 1)), rx, uint8(2 + parity), px, message));
        address recovered = ecrecover(
            bytes32(GROUP_ORDER - mulmod(z, px, GROUP_ORDER)),
            27 + parity,
            bytes32(px),
            bytes32(GROUP_ORDER - mulmod(c, px, GROUP_ORDER))
        );
        return recovered != address(0) && recovered == address(uint160(uint256(keccak256(abi.encode(rx, ry)))));
    }

    /// @dev H2 of FROST-secp256k1-SHA256-v1: expand_message_xmd(SHA-256) to 48 bytes, mod n.
    function _challenge(bytes memory input) private pure returns (uint256) {
        bytes memory dst = abi.encodePacked(CHALLENGE_DST, uint8(CHALLENGE_DST.length));
        bytes32 b0 = sha256(abi.encodePacked(bytes32(0), bytes32(0), input, uint16(48), uint8(0), dst));
        bytes32 b1 = sha256(abi.encodePacked(b0, uint8(1), dst));
        bytes32 b2 = sha256(abi.encodePacked(b0 ^ b1, uint8(2), dst));
        return addmod(mulmod(uint256(b1), TWO_POW_128, GROUP_ORDER), uint256(b2) >> 128, GROUP_ORDER);
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
