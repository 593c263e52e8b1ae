// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title NexusGateway
/// @notice Ethereum's door to Nexus. Contracts and accounts call Nexus functions through
/// `callFunction`; Nexus validators watch its `FunctionCalled` logs in finalized blocks and run the
/// called function with the payload (DESIGN.md §5).
/// The other way, `execute` and `executeBatch` run messages Nexus functions sent: the validators
/// sign a batch's Merkle root together (one FROST secp256k1 signature of their group key over a
/// digest binding the chain id, this gateway, the key epoch and the root), and each message comes
/// with its Merkle proof. A nonce bitmap runs every message at most once, across all epochs.
/// @dev The group key does not exist at deployment (the validators generate it by DKG later):
/// the bootstrapper sets the first one with `initializeKey`; afterwards only the current key can
/// hand over to the next (`rotateKey`).
contract NexusGateway {
    /// @notice Largest accepted `callFunction` payload, in bytes (16 KiB). The payload is copied
    /// into every validator's vote extension and the next Nexus block, so it is bounded here where
    /// the caller pays for it rather than discovered oversized by the observers.
    uint256 public constant MAX_PAYLOAD_BYTES = 16 * 1024;

    /// @notice First word of every message leaf, so no other hashed value can be one.
    bytes32 public constant LEAF_TAG = keccak256("nexus/gateway/message/v1");
    /// @notice First word of every batch digest, so no other signed message can be one.
    bytes32 public constant BATCH_TAG = keccak256("nexus/gateway/batch/v1");
    /// @notice First word of every key-rotation digest, so no batch signature can rotate the key.
    bytes32 public constant ROTATE_TAG = keccak256("nexus/gateway/rotate/v1");

    /// @notice At most this many bytes of a target's return or revert data go into `Executed`.
    uint256 public constant MAX_RESULT_BYTES = 1024;

    /// @dev Gas the CALL to a target may spend before the callee starts (a cold account access,
    /// 2,600, plus the opcode's stack work), held back when checking the target gets its limit.
    uint256 private constant CALL_OVERHEAD = 2_700;

    /// @dev secp256k1 field prime and group order.
    uint256 private constant FIELD_PRIME = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    uint256 private constant GROUP_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    /// @dev The tail of the challenge's first SHA-256 input (RFC 9591 H2 = expand_message_xmd to
    /// 48 bytes): the length 0x0030, a zero byte, then the domain "FROST-secp256k1-SHA256-v1chal"
    /// (its length byte 0x1d follows separately: the tail is 33 bytes).
    bytes32 private constant XMD_B0_TAIL = 0x00300046524f53542d736563703235366b312d5348413235362d76316368616c;
    /// @dev The tail of the second and third SHA-256 inputs after their 32-byte block: the index
    /// byte (1 here; the third call overwrites it with 2), the domain and its length 0x1d.
    bytes32 private constant XMD_BI_TAIL = 0x0146524f53542d736563703235366b312d5348413235362d76316368616c1d00;

    /// @notice A FROST signature as the gateway takes it: the commitment point R in full (checked
    /// to be on the curve; its compressed form enters the challenge) and the response z.
    struct Signature {
        uint256 rx;
        uint256 ry;
        uint256 z;
    }

    /// @notice A message a Nexus function sent: call `target` with `data` and exactly `gasLimit`
    /// gas; `sender` is the sending function's id, which the target reads from `messageSender`.
    struct Message {
        uint64 nonce;
        bytes32 sender;
        address target;
        uint64 gasLimit;
        bytes data;
    }

    /// @dev Used nonces, 256 per word.
    mapping(uint256 => uint256) private usedNonces;

    /// @notice x coordinate of the validators' FROST secp256k1 group public key; zero until
    /// `initializeKey`.
    bytes32 public groupKeyX;
    /// @notice Parity of the group key's y coordinate: 0 even, 1 odd (its compressed SEC1 prefix
    /// is `0x02 + groupKeyParity`).
    uint8 public groupKeyParity;
    /// @notice Key epoch: which validator group holds `groupKeyX`; it grows by one per rotation
    /// and is bound into every signed digest, so signatures of a retired group cannot be replayed.
    uint64 public epoch;

    /// @notice The account allowed to set the first group key, once.
    address public immutable bootstrapper;

    /// @dev The running message's sender while its target runs, zero otherwise.
    bytes32 private transient currentSender;

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
    /// `parity` (emitted by `initializeKey` and each `rotateKey`).
    event GroupKeySet(uint64 indexed epoch, bytes32 x, uint8 parity);

    /// @notice Message `nonce` from Nexus function `sender` ran: `target` returned (`success`) or
    /// reverted (`success` false; the nonce is spent either way, so a failing call cannot block
    /// the messages after it), with its first `MAX_RESULT_BYTES` bytes of return or revert data.
    event Executed(uint64 indexed nonce, bytes32 indexed sender, address indexed target, bool success, bytes result);

    /// @notice The signature is not the group key's over the batch (or rotation) digest.
    error InvalidSignature();
    /// @notice The message at `index` of the call is not in the batch with this root.
    error InvalidProof(uint256 index);
    /// @notice This nonce's message already ran.
    error NonceUsed(uint64 nonce);
    /// @notice No group key has been set yet, so nothing can be executed or rotated.
    error KeyNotSet();
    /// @notice `initializeKey` ran already (or a key is set).
    error KeyAlreadySet();
    /// @notice Only the bootstrapper may set the first key.
    error NotBootstrapper();
    /// @notice Too little gas is left to give the target its `gasLimit` under EIP-150's 63/64 rule.
    error InsufficientGas(uint64 nonce, uint64 gasLimit);
    /// @notice `executeBatch` got a different number of messages and proofs.
    error LengthMismatch();

    /// @notice `callFunction`'s payload is `size` bytes, more than `max`.
    error PayloadTooLarge(uint256 size, uint256 max);
    /// @notice `callFunction` was given the zero function id, which no Nexus function has.
    error ZeroFunctionId();
    /// @notice The group key is not a secp256k1 point usable by the signature verifier: x is zero,
    /// not below the group order (the verifier passes it to ecrecover as `r`), or not on the curve;
    /// or the parity is neither 0 nor 1.
    error InvalidGroupKey(bytes32 x, uint8 parity);

    /// @param bootstrapper_ The account that may set the first group key (`initializeKey`).
    constructor(address bootstrapper_) {
        bootstrapper = bootstrapper_;
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

    /// @notice Sets the first group key, of epoch `initialEpoch`; only the bootstrapper, once.
    function initializeKey(bytes32 x, uint8 parity, uint64 initialEpoch) external {
        if (msg.sender != bootstrapper) revert NotBootstrapper();
        if (groupKeyX != 0) revert KeyAlreadySet();
        _setGroupKey(x, parity, initialEpoch);
    }

    /// @notice Hands over to the group key (`newX`, `newParity`) of the next epoch; `signature`
    /// is the current key's over `rotateDigest(newX, newParity)`.
    function rotateKey(bytes32 newX, uint8 newParity, Signature calldata signature) external {
        (uint256 px, uint256 parity, uint64 current) = _key();
        if (!_verify(_rotateDigest(current, newX, newParity), signature, px, parity)) revert InvalidSignature();
        _setGroupKey(newX, newParity, current + 1);
    }

    /// @notice Runs message `m` of the batch with Merkle root `root`, which the group key signed
    /// (`signature` over `batchDigest(root)`): calls `m.target` with `m.data` and `m.gasLimit` gas.
    /// Reverts for a used nonce, a bad proof or signature; a reverting target only marks the
    /// message failed (`Executed` with `success` false).
    function execute(Message calldata m, bytes32[] calldata proof, bytes32 root, Signature calldata signature)
        external
        returns (bool success)
    {
        _checkBatch(root, signature);
        if (!_proves(proof, root, leaf(m))) revert InvalidProof(0);
        // Spent before the call, so the target cannot re-enter the gateway to run it again.
        if (!_spend(m.nonce)) revert NonceUsed(m.nonce);
        success = _run(m);
    }

    /// @notice Runs every message of `ms` (proved by `proofs`, in the same order) of the batch
    /// with Merkle root `root`, checking the signature once. Messages whose nonce already ran are
    /// skipped rather than refused, so relayers racing on a batch cannot make each other fail.
    function executeBatch(
        Message[] calldata ms,
        bytes32[][] calldata proofs,
        bytes32 root,
        Signature calldata signature
    ) external {
        if (ms.length != proofs.length) revert LengthMismatch();
        _checkBatch(root, signature);
        for (uint256 i = 0; i < ms.length; ++i) {
            Message calldata m = ms[i];
            if (!_proves(proofs[i], root, leaf(m))) revert InvalidProof(i);
            if (_spend(m.nonce)) _run(m);
        }
    }

    /// @notice The Nexus function whose message is running, while its target runs (zero
    /// otherwise): how a receiver authenticates which function sent the call.
    function messageSender() external view returns (bytes32) {
        return currentSender;
    }

    /// @notice Whether message `nonce` already ran.
    function nonceUsed(uint64 nonce) external view returns (bool) {
        return usedNonces[nonce >> 8] & (uint256(1) << (nonce & 255)) != 0;
    }

    /// @notice Message `m`'s Merkle leaf.
    function leaf(Message calldata m) public pure returns (bytes32) {
        return keccak256(abi.encode(LEAF_TAG, m.nonce, m.sender, m.target, m.gasLimit, keccak256(m.data)));
    }

    /// @notice What the group signs for the batch with Merkle root `root` here, under the
    /// current key.
    function batchDigest(bytes32 root) public view returns (bytes32) {
        return _batchDigest(epoch, root);
    }

    /// @notice What the current key signs to hand over to the key (`newX`, `newParity`).
    function rotateDigest(bytes32 newX, uint8 newParity) public view returns (bytes32) {
        return _rotateDigest(epoch, newX, newParity);
    }

    /// @notice Whether `signature` is the current group key's FROST signature of `message`.
    function verify(bytes32 message, Signature calldata signature) public view returns (bool) {
        (uint256 px, uint256 parity,) = _key();
        return _verify(message, signature, px, parity);
    }

    /// @dev The current key and epoch (one read of each slot); reverts while no key is set.
    function _key() private view returns (uint256 px, uint256 parity, uint64 current) {
        px = uint256(groupKeyX);
        if (px == 0) revert KeyNotSet();
        (parity, current) = (groupKeyParity, epoch);
    }

    function _batchDigest(uint64 keyEpoch, bytes32 root) private view returns (bytes32) {
        return keccak256(abi.encode(BATCH_TAG, block.chainid, address(this), keyEpoch, root));
    }

    function _rotateDigest(uint64 keyEpoch, bytes32 newX, uint8 newParity) private view returns (bytes32) {
        return keccak256(abi.encode(ROTATE_TAG, block.chainid, address(this), keyEpoch, newX, newParity));
    }

    /// @dev Reverts unless `signature` is the current key's over the batch root `root`.
    function _checkBatch(bytes32 root, Signature calldata signature) private view {
        (uint256 px, uint256 parity, uint64 current) = _key();
        if (!_verify(_batchDigest(current, root), signature, px, parity)) revert InvalidSignature();
    }

    /// @dev Marks `nonce` used; false if it already was.
    function _spend(uint64 nonce) private returns (bool fresh) {
        uint256 bit = uint256(1) << (nonce & 255);
        uint256 word = usedNonces[nonce >> 8];
        fresh = word & bit == 0;
        if (fresh) usedNonces[nonce >> 8] = word | bit;
    }

    /// @dev Whether `proof` (siblings bottom-up, each pair hashed in sorted order) leads from
    /// `node` to `root`.
    function _proves(bytes32[] calldata proof, bytes32 root, bytes32 node) private pure returns (bool) {
        for (uint256 i = 0; i < proof.length; ++i) {
            bytes32 sibling = proof[i];
            assembly ("memory-safe") {
                let lower := xor(node, mul(xor(node, sibling), gt(node, sibling)))
                mstore(0x00, lower)
                mstore(0x20, xor(xor(node, sibling), lower))
                node := keccak256(0x00, 0x40)
            }
        }
        return node == root;
    }

    /// @dev Calls the message's target with exactly its gas limit, as its sender, and logs the
    /// outcome. Memory used for the call is released afterwards so a batch does not grow it.
    function _run(Message calldata m) private returns (bool success) {
        uint64 gasLimit = m.gasLimit;
        address target = m.target;
        bytes calldata data = m.data;
        bytes32 outer = currentSender;
        currentSender = m.sender;
        bool starved;
        bytes memory result;
        assembly ("memory-safe") {
            result := mload(0x40)
            calldatacopy(result, data.offset, data.length)
            // EIP-150 forwards at most 63/64 of what is left after the call's own cost: below this,
            // the target would run with less than its limit and a relayer could make it fail.
            let left := gas()
            let available := sub(left, CALL_OVERHEAD)
            starved := or(lt(left, CALL_OVERHEAD), lt(sub(available, div(available, 64)), gasLimit))
            if iszero(starved) {
                success := call(gasLimit, target, 0, result, data.length, 0, 0)
                // Only the first MAX_RESULT_BYTES are copied: a huge return cannot make the gateway
                // pay for copying it.
                let size := returndatasize()
                if gt(size, MAX_RESULT_BYTES) { size := MAX_RESULT_BYTES }
                mstore(result, size)
                returndatacopy(add(result, 0x20), 0, size)
                mstore(0x40, add(add(result, 0x20), and(add(size, 31), not(31))))
            }
        }
        if (starved) revert InsufficientGas(m.nonce, gasLimit);
        currentSender = outer;
        emit Executed(m.nonce, m.sender, target, success, result);
        assembly ("memory-safe") {
            mstore(0x40, result)
        }
    }

    /// @dev Whether `signature` is the FROST signature of key (`px`, `parity`) over `message`:
    /// with challenge c = H2(R ‖ PK ‖ message), z·G − c·PK must be R. ecrecover computes
    /// z·G − c·PK when given PK as its point, −z·x(PK) as the hash and −c·x(PK) as s, and returns
    /// that point's address, compared with R's. Written in assembly with one scratch area past the
    /// free memory pointer: the check's gas is mostly the precompiles'.
    function _verify(bytes32 message, Signature calldata signature, uint256 px, uint256 parity)
        private
        view
        returns (bool ok)
    {
        assembly ("memory-safe") {
            let rx := calldataload(signature)
            let ry := calldataload(add(signature, 0x20))
            let z := calldataload(add(signature, 0x40))
            let valid := and(and(lt(rx, FIELD_PRIME), lt(ry, FIELD_PRIME)), and(lt(z, GROUP_ORDER), iszero(iszero(z))))
            let rhs := addmod(mulmod(mulmod(rx, rx, FIELD_PRIME), rx, FIELD_PRIME), 7, FIELD_PRIME)
            if and(valid, eq(mulmod(ry, ry, FIELD_PRIME), rhs)) {
                let m := mload(0x40)
                // b0 = SHA-256(64 zero bytes ‖ R compressed ‖ PK compressed ‖ message ‖ 0x0030 ‖ 0x00 ‖ DST ‖ 0x1d),
                // 195 bytes; each mstore comes before the bytes it must not overwrite.
                mstore(m, 0)
                mstore(add(m, 0x20), 0)
                mstore(add(m, 0x41), rx)
                mstore8(add(m, 0x40), add(2, and(ry, 1)))
                mstore(add(m, 0x62), px)
                mstore8(add(m, 0x61), add(2, parity))
                mstore(add(m, 0x82), message)
                mstore(add(m, 0xa2), XMD_B0_TAIL)
                mstore8(add(m, 0xc2), 0x1d)
                let ok0 := staticcall(gas(), 0x02, m, 195, m, 0x20)
                let b0 := mload(m)
                // b1 = SHA-256(b0 ‖ 0x01 ‖ DST ‖ 0x1d); b2 = SHA-256((b0 ^ b1) ‖ 0x02 ‖ DST ‖ 0x1d).
                mstore(add(m, 0x20), XMD_BI_TAIL)
                let ok1 := staticcall(gas(), 0x02, m, 63, m, 0x20)
                let b1 := mload(m)
                mstore(m, xor(b0, b1))
                mstore8(add(m, 0x20), 2)
                let ok2 := staticcall(gas(), 0x02, m, 63, m, 0x20)
                let c := addmod(mulmod(b1, shl(128, 1), GROUP_ORDER), shr(128, mload(m)), GROUP_ORDER)
                // R's address, then ecrecover(−z·px, 27 + parity, px, −c·px).
                mstore(m, rx)
                mstore(add(m, 0x20), ry)
                let expected := and(keccak256(m, 0x40), 0xffffffffffffffffffffffffffffffffffffffff)
                mstore(m, sub(GROUP_ORDER, mulmod(z, px, GROUP_ORDER)))
                mstore(add(m, 0x20), add(27, parity))
                mstore(add(m, 0x40), px)
                mstore(add(m, 0x60), sub(GROUP_ORDER, mulmod(c, px, GROUP_ORDER)))
                let ok3 := staticcall(gas(), 0x01, m, 0x80, m, 0x20)
                // A failed recovery returns no data and leaves the hash in place: require 32 bytes.
                ok := and(and(and(ok0, ok1), and(ok2, ok3)), and(eq(returndatasize(), 0x20), eq(mload(m), expected)))
            }
        }
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
        (bool ok, bytes memory result) = address(0x05)
            .staticcall(abi.encode(uint256(32), uint256(32), uint256(32), rhs, (FIELD_PRIME - 1) / 2, FIELD_PRIME));
        return ok && abi.decode(result, (uint256)) == 1;
    }
}
