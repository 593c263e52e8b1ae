// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {NexusGateway} from "../NexusGateway.sol";
import {NexusReceiver} from "../examples/NexusReceiver.sol";
import {TestBase, Vm} from "./TestBase.sol";

/// @notice forge's `createWallet` cheatcode, declared here because TestBase's `Vm` lacks it: it
/// gives k·G for any k, which is all a Schnorr signer needs that Solidity cannot compute cheaply.
interface WalletVm {
    struct Wallet {
        address addr;
        uint256 publicKeyX;
        uint256 publicKeyY;
        uint256 privateKey;
    }

    function createWallet(uint256 privateKey) external returns (Wallet memory);
}

/// @dev The example receiver behind a real gateway. The FrostVectors are signed for other
/// deployments and payloads, so this test signs its own batches: a FROST signature with one
/// signer is a plain Schnorr signature under the suite's challenge hash, which it computes as
/// RFC 9591 specifies (the gateway's assembly verifier then checks it independently).
contract NexusReceiverTest is TestBase {
    uint256 constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    WalletVm constant WALLETS = WalletVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);
    bytes32 constant SENDER = keccak256("eth-sender");
    bytes32 constant OTHER = keccak256("another function");
    bytes32 constant EXECUTED = keccak256("Executed(uint64,bytes32,address,bool,bytes)");

    uint256 secret = uint256(keccak256("nexus receiver test group key")) % N;
    uint256 keyX;
    uint8 keyParity;
    NexusGateway gateway;

    function setUp() public {
        gateway = new NexusGateway(address(this));
        WalletVm.Wallet memory key = WALLETS.createWallet(secret);
        (keyX, keyParity) = (key.publicKeyX, uint8(key.publicKeyY & 1));
        gateway.initializeKey(bytes32(keyX), keyParity, 1);
    }

    function testAGatewayMessageReachesItWithItsSender() public {
        NexusReceiver receiver = new NexusReceiver(gateway, SENDER);
        NexusGateway.Message memory m = _message(0, SENDER, receiver, "hello from nexus");
        bytes32 root = gateway.leaf(m);
        vm.expectEmit(true, false, false, true, address(receiver));
        emit NexusReceiver.MessageReceived(SENDER, "hello from nexus");
        bool success = gateway.execute(m, new bytes32[](0), root, _sign(gateway.batchDigest(root)));
        assertTrue(success, "the receiver took the message");
        assertEq(receiver.received(), 1, "received");
        assertEq(receiver.lastPayload(), bytes("hello from nexus"), "the exact payload");
        assertEq(receiver.lastSender(), SENDER, "the sending function");
    }

    function testADirectCallIsRefused() public {
        NexusReceiver receiver = new NexusReceiver(gateway, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(NexusReceiver.NotGateway.selector, address(this)));
        receiver.receiveMessage("forged");
        // Even the gateway's own address gets nowhere outside a message: no function sent it.
        NexusReceiver strict = new NexusReceiver(gateway, SENDER);
        vm.prank(address(gateway));
        vm.expectRevert(abi.encodeWithSelector(NexusReceiver.UnexpectedSender.selector, bytes32(0), SENDER));
        strict.receiveMessage("forged");
        assertEq(receiver.received() + strict.received(), 0, "nothing received");
    }

    function testAnotherFunctionsMessageIsRefused() public {
        NexusReceiver receiver = new NexusReceiver(gateway, SENDER);
        NexusGateway.Message memory m = _message(7, OTHER, receiver, "not from eth-sender");
        bytes32 root = gateway.leaf(m);
        vm.recordLogs();
        bool success = gateway.execute(m, new bytes32[](0), root, _sign(gateway.batchDigest(root)));
        // The gateway spends the nonce and records the refusal rather than reverting.
        assertTrue(!success, "the receiver refused");
        assertTrue(gateway.nonceUsed(7), "nonce spent");
        assertEq(receiver.received(), 0, "received");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "only the gateway's log");
        assertEq(logs[0].topics[0], EXECUTED, "Executed");
        (bool ok, bytes memory result) = abi.decode(logs[0].data, (bool, bytes));
        assertTrue(!ok, "logged as failed");
        assertEq(result, abi.encodeWithSelector(NexusReceiver.UnexpectedSender.selector, OTHER, SENDER), "why");
    }

    function testAZeroAllowedSenderAcceptsEveryFunction() public {
        NexusReceiver receiver = new NexusReceiver(gateway, bytes32(0));
        NexusGateway.Message[] memory ms = new NexusGateway.Message[](2);
        ms[0] = _message(1, SENDER, receiver, "first");
        ms[1] = _message(2, OTHER, receiver, "second");
        (bytes32 a, bytes32 b) = (gateway.leaf(ms[0]), gateway.leaf(ms[1]));
        bytes32 root = a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
        bytes32[][] memory proofs = new bytes32[][](2);
        (proofs[0], proofs[1]) = (new bytes32[](1), new bytes32[](1));
        (proofs[0][0], proofs[1][0]) = (b, a);
        gateway.executeBatch(ms, proofs, root, _sign(gateway.batchDigest(root)));
        assertEq(receiver.received(), 2, "both received");
        assertEq(receiver.lastSender(), OTHER, "the last sender");
        assertEq(receiver.lastPayload(), bytes("second"), "the last payload");
    }

    function _message(uint64 nonce, bytes32 sender, NexusReceiver target, bytes memory payload)
        internal
        pure
        returns (NexusGateway.Message memory)
    {
        return NexusGateway.Message(
            nonce, sender, address(target), 200_000, abi.encodeCall(NexusReceiver.receiveMessage, (payload))
        );
    }

    /// @dev The group key's signature of `digest`: R = k·G for a nonce derived from the key and
    /// the digest, z = k + c·x with the FROST challenge c.
    function _sign(bytes32 digest) internal returns (NexusGateway.Signature memory) {
        uint256 k = uint256(keccak256(abi.encode(secret, digest))) % N;
        WalletVm.Wallet memory r = WALLETS.createWallet(k);
        uint256 c = _challenge(r.publicKeyX, r.publicKeyY, digest);
        return NexusGateway.Signature(r.publicKeyX, r.publicKeyY, addmod(k, mulmod(c, secret, N), N));
    }

    /// @dev H2(R ‖ PK ‖ digest) of FROST-secp256k1-SHA256-v1: expand_message_xmd with SHA-256 to
    /// 48 bytes, read big-endian modulo the group order.
    function _challenge(uint256 rx, uint256 ry, bytes32 digest) internal view returns (uint256) {
        bytes memory dst = "FROST-secp256k1-SHA256-v1chal";
        bytes memory input =
            abi.encodePacked(uint8(2 + (ry & 1)), rx, uint8(2 + keyParity), keyX, digest);
        bytes32 b0 =
            sha256(abi.encodePacked(bytes32(0), bytes32(0), input, uint16(48), uint8(0), dst, uint8(dst.length)));
        bytes32 b1 = sha256(abi.encodePacked(b0, uint8(1), dst, uint8(dst.length)));
        bytes32 b2 = sha256(abi.encodePacked(b0 ^ b1, uint8(2), dst, uint8(dst.length)));
        return addmod(mulmod(uint256(b1), 1 << 128, N), uint256(b2) >> 128, N);
    }
}
