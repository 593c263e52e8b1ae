// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {NexusGateway} from "../NexusGateway.sol";
import {FrostVectors as V} from "./FrostVectors.sol";
import {TestBase, Vm} from "./TestBase.sol";

/// @dev The messages' target: records ordinary calls (data, sender, the gas it got) and behaves
/// as the vectors' special payloads ask.
contract Receiver {
    bytes public last;
    bytes32 public lastSender;
    uint256 public calls;
    uint256 public gasAtEntry;

    fallback(bytes calldata input) external returns (bytes memory) {
        uint256 entry = gasleft();
        bytes32 h = keccak256(input);
        if (h == keccak256("noop")) return "";
        if (h == keccak256("revert")) revert("the receiver refused");
        if (h == keccak256("big")) return new bytes(5000);
        last = input;
        calls += 1;
        gasAtEntry = entry;
        lastSender = NexusGateway(msg.sender).messageSender();
        return "ok";
    }
}

/// @dev `execute`, `executeBatch` and `rotateKey` with real FROST signatures from the Rust crate
/// (FrostVectors.sol), signed for this test's first two deployments: the gateway and the receiver.
contract GatewayExecuteTest is TestBase {
    uint256 constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint256 constant P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    bytes32 constant EXECUTED = keccak256("Executed(uint64,bytes32,address,bool,bytes)");

    NexusGateway gateway;
    Receiver receiver;

    function setUp() public {
        gateway = new NexusGateway(address(this));
        receiver = new Receiver();
        gateway.initializeKey(V.KEY_X, V.KEY_PARITY, 1);
    }

    function testTheVectorsWereSignedForThisDeployment() public view {
        assertEq(address(gateway), V.GATEWAY, "gateway address");
        assertEq(address(receiver), V.RECEIVER, "receiver address");
        assertEq(block.chainid, V.CHAIN_ID, "chain id");
        assertEq(gateway.batchDigest(V.A_ROOT), V.A_DIGEST, "batch digest");
        assertEq(gateway.rotateDigest(V.NEXT_KEY_X, V.NEXT_KEY_PARITY), V.ROTATE_DIGEST, "rotate digest");
        (NexusGateway.Message[] memory ms,) = V.single();
        assertEq(gateway.leaf(ms[0]), V.SINGLE_ROOT, "a one-message batch's root is its leaf");
    }

    function testARealSignatureVerifiesWithinTheGasTarget() public {
        uint256 before = gasleft();
        bool ok = gateway.verify(V.A_DIGEST, V.aSig());
        uint256 cold = before - gasleft();
        before = gasleft();
        gateway.verify(V.A_DIGEST, V.aSig());
        uint256 warm = before - gasleft();
        assertTrue(ok, "a real FROST signature verifies");
        _log("verify, cold (external call, two cold key slots, the check)", cold);
        _log("verify, warm (the check, calldata and a warm call)", warm);
        // The warm call is the check itself plus ≈ 1,000 of call, calldata and ABI overhead.
        assertTrue(warm <= 8_000, string.concat("the warm check used ", _dec(warm), " gas"));
    }

    function testExecuteCallsTheTargetWithItsGasAndSenderAndAReplayReverts() public {
        (NexusGateway.Message[] memory ms, bytes32[][] memory proofs) = V.a();
        assertEq(gateway.messageSender(), bytes32(0), "no sender outside a message");
        bool success = gateway.execute(ms[0], proofs[0], V.A_ROOT, V.aSig());
        assertTrue(success, "the target ran");
        assertEq(receiver.calls(), 1, "calls");
        assertEq(receiver.last(), ms[0].data, "the exact payload");
        assertEq(receiver.lastSender(), ms[0].sender, "messageSender during the call");
        assertEq(gateway.messageSender(), bytes32(0), "the sender is cleared after the call");
        assertTrue(gateway.nonceUsed(0), "nonce 0 spent");
        assertTrue(!gateway.nonceUsed(1), "nonce 1 free");
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.NonceUsed.selector, 0));
        gateway.execute(ms[0], proofs[0], V.A_ROOT, V.aSig());
    }

    function testASingleMessageBatchExecutesWithAnEmptyProof() public {
        (NexusGateway.Message[] memory ms, bytes32[][] memory proofs) = V.single();
        assertEq(proofs[0].length, 0, "empty proof");
        uint256 before = gasleft();
        gateway.execute(ms[0], proofs[0], V.SINGLE_ROOT, V.singleSig());
        uint256 used = before - gasleft();
        _log("execute, one-message batch (receiver stores 3 slots)", used);
        assertEq(receiver.last(), "single", "payload");
    }

    function testATargetThatRevertsSpendsTheNonceAndReportsItsData() public {
        (NexusGateway.Message[] memory ms, bytes32[][] memory proofs) = V.a();
        vm.recordLogs();
        bool success = gateway.execute(ms[1], proofs[1], V.A_ROOT, V.aSig());
        assertTrue(!success, "the target reverted");
        assertTrue(gateway.nonceUsed(1), "the nonce is spent");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "one log");
        assertEq(logs[0].topics[0], EXECUTED, "Executed");
        assertEq(logs[0].topics[1], bytes32(uint256(1)), "nonce");
        assertEq(logs[0].topics[2], ms[1].sender, "sender");
        assertEq(logs[0].topics[3], bytes32(uint256(uint160(V.RECEIVER))), "target");
        bytes memory revertData = abi.encodeWithSignature("Error(string)", "the receiver refused");
        assertEq(logs[0].data, abi.encode(false, revertData), "success false and the revert data");
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.NonceUsed.selector, 1));
        gateway.execute(ms[1], proofs[1], V.A_ROOT, V.aSig());
    }

    function testAHugeReturnIsCutTo1024Bytes() public {
        (NexusGateway.Message[] memory ms, bytes32[][] memory proofs) = V.a();
        vm.recordLogs();
        assertTrue(gateway.execute(ms[2], proofs[2], V.A_ROOT, V.aSig()), "ran");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        (bool success, bytes memory result) = abi.decode(logs[0].data, (bool, bytes));
        assertTrue(success, "success");
        // The receiver returns abi.encode(new bytes(5000)): 5,064 bytes.
        assertEq(result.length, gateway.MAX_RESULT_BYTES(), "result length");
    }

    function testExecuteBatchRunsEveryMessageAndSkipsUsedOnes() public {
        (NexusGateway.Message[] memory ms, bytes32[][] memory proofs) = V.a();
        gateway.execute(ms[0], proofs[0], V.A_ROOT, V.aSig());
        vm.recordLogs();
        gateway.executeBatch(ms, proofs, V.A_ROOT, V.aSig());
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 4, "the used nonce 0 is skipped, the other four run");
        for (uint256 i = 0; i < 4; ++i) {
            assertEq(logs[i].topics[1], bytes32(uint256(i + 1)), "nonce order");
        }
        for (uint64 n = 0; n < 5; ++n) {
            assertTrue(gateway.nonceUsed(n), "every nonce spent");
        }
        assertEq(receiver.calls(), 3, "hello, hungry and last were recorded");
        assertEq(receiver.lastSender(), ms[4].sender, "the last message's sender");
        // A racing relayer's copy of the whole batch succeeds and runs nothing.
        vm.recordLogs();
        gateway.executeBatch(ms, proofs, V.A_ROOT, V.aSig());
        assertEq(vm.getRecordedLogs().length, 0, "nothing ran twice");
        assertEq(receiver.calls(), 3, "calls");
    }

    function testTamperedProofsLeavesAndRootsAreRefused() public {
        (NexusGateway.Message[] memory ms, bytes32[][] memory proofs) = V.a();
        bytes32[] memory proof = proofs[0];
        proof[1] = bytes32(uint256(proof[1]) ^ 1);
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidProof.selector, 0));
        gateway.execute(ms[0], proof, V.A_ROOT, V.aSig());
        proof[1] = bytes32(uint256(proof[1]) ^ 1);

        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidProof.selector, 0));
        gateway.execute(ms[0], proofs[1], V.A_ROOT, V.aSig());
        NexusGateway.Message memory m = ms[0];
        NexusGateway.Message memory altered =
            NexusGateway.Message(m.nonce, m.sender, m.target, m.gasLimit, "hello from nexuS");
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidProof.selector, 0));
        gateway.execute(altered, proofs[0], V.A_ROOT, V.aSig());
        // A relayer lowering a message's gas limit changes its leaf.
        m = ms[3];
        ms[3] = NexusGateway.Message(m.nonce, m.sender, m.target, 1, m.data);
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidProof.selector, 3));
        gateway.executeBatch(ms, proofs, V.A_ROOT, V.aSig());
        ms[3] = m;
        // A root the group did not sign: the signature fails before any proof is looked at.
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidSignature.selector));
        gateway.execute(ms[0], proofs[0], bytes32(uint256(V.A_ROOT) ^ 1), V.aSig());

        bytes32[][] memory four = new bytes32[][](4);
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.LengthMismatch.selector));
        gateway.executeBatch(ms, four, V.A_ROOT, V.aSig());
        assertEq(receiver.calls(), 0, "nothing ran");
    }

    function testARelayerCannotStarveTheTarget() public {
        (NexusGateway.Message[] memory ms, bytes32[][] memory proofs) = V.a();
        // Message 3 asks for 1,000,000 gas: with 900,000 for the whole call it cannot get it.
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InsufficientGas.selector, 3, 1_000_000));
        gateway.execute{gas: 900_000}(ms[3], proofs[3], V.A_ROOT, V.aSig());
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InsufficientGas.selector, 3, 1_000_000));
        gateway.executeBatch{gas: 1_000_000}(ms, proofs, V.A_ROOT, V.aSig());
        assertTrue(!gateway.nonceUsed(3), "a starved message keeps its nonce");
        assertTrue(gateway.execute{gas: 1_100_000}(ms[3], proofs[3], V.A_ROOT, V.aSig()), "enough gas");
        uint256 got = receiver.gasAtEntry();
        assertTrue(got <= 1_000_000 && got > 1_000_000 - 1_000, string.concat("the target got ", _dec(got)));
    }

    function testSixteenMessagesShareOneSignatureCheck() public {
        (NexusGateway.Message[] memory ms, bytes32[][] memory proofs) = V.sixteen();
        uint256 before = gasleft();
        gateway.executeBatch(ms, proofs, V.SIXTEEN_ROOT, V.sixteenSig());
        uint256 sixteen = before - gasleft();
        for (uint64 n = 100; n < 116; ++n) {
            assertTrue(gateway.nonceUsed(n), "spent");
        }
        (NexusGateway.Message[] memory one, bytes32[][] memory oneProof) = V.single();
        before = gasleft();
        gateway.executeBatch(one, oneProof, V.SINGLE_ROOT, V.singleSig());
        uint256 single = before - gasleft();
        _log("executeBatch, 16 no-op messages, total", sixteen);
        _log("executeBatch, 16 no-op messages, per message", sixteen / 16);
        _log("executeBatch, 1 message (receiver stores 3 slots)", single);
    }

    function testTamperedSignaturesAndOtherKeysAreRefused() public {
        NexusGateway.Signature memory s = V.aSig();
        bytes32 d = V.A_DIGEST;
        assertTrue(!gateway.verify(d, NexusGateway.Signature(s.rx, s.ry, s.z + 1)), "z + 1");
        // z + n does not fit in a word for this z; any z at or above n is refused outright.
        assertTrue(!gateway.verify(d, NexusGateway.Signature(s.rx, s.ry, N)), "z = n");
        assertTrue(!gateway.verify(d, NexusGateway.Signature(s.rx, s.ry, type(uint256).max)), "z > n");
        assertTrue(!gateway.verify(d, NexusGateway.Signature(s.rx, s.ry, 0)), "z = 0");
        assertTrue(!gateway.verify(d, NexusGateway.Signature(s.rx, P - s.ry, s.z)), "-R");
        assertTrue(!gateway.verify(d, NexusGateway.Signature(s.rx + 1, s.ry, s.z)), "R off the curve");
        assertTrue(!gateway.verify(d, NexusGateway.Signature(P, s.ry, s.z)), "rx = p");
        assertTrue(!gateway.verify(bytes32(uint256(d) ^ 1), s), "another message");
        assertTrue(!gateway.verify(d, V.aSigByNextKey()), "another group's signature");
        (NexusGateway.Message[] memory ms, bytes32[][] memory proofs) = V.a();
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidSignature.selector));
        gateway.executeBatch(ms, proofs, V.A_ROOT, V.aSigByNextKey());
        assertEq(receiver.calls(), 0, "nothing ran");
        assertTrue(!gateway.nonceUsed(0), "a refused message spends no nonce");
    }

    function testNothingRunsBeforeTheKeyAndOnlyTheBootstrapperSetsItOnce() public {
        address bootstrapper = address(0xB007);
        NexusGateway fresh = new NexusGateway(bootstrapper);
        (NexusGateway.Message[] memory ms, bytes32[][] memory proofs) = V.a();
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.KeyNotSet.selector));
        fresh.execute(ms[0], proofs[0], V.A_ROOT, V.aSig());
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.KeyNotSet.selector));
        fresh.executeBatch(ms, proofs, V.A_ROOT, V.aSig());
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.KeyNotSet.selector));
        fresh.rotateKey(V.NEXT_KEY_X, V.NEXT_KEY_PARITY, V.rotateSig());
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.NotBootstrapper.selector));
        fresh.initializeKey(V.KEY_X, V.KEY_PARITY, 1);
        vm.prank(bootstrapper);
        fresh.initializeKey(V.KEY_X, V.KEY_PARITY, 1);
        assertEq(fresh.groupKeyX(), V.KEY_X, "key");
        vm.prank(bootstrapper);
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.KeyAlreadySet.selector));
        fresh.initializeKey(V.NEXT_KEY_X, V.NEXT_KEY_PARITY, 2);
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.KeyAlreadySet.selector));
        gateway.initializeKey(V.NEXT_KEY_X, V.NEXT_KEY_PARITY, 2);
    }

    function testRotationHandsOverAndRetiresTheOldKey() public {
        (NexusGateway.Message[] memory c, bytes32[][] memory cProofs) = V.c();
        // Batch C is signed for epoch 2: refused while the gateway is at epoch 1.
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidSignature.selector));
        gateway.execute(c[0], cProofs[0], V.C_ROOT, V.cSig());
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidSignature.selector));
        gateway.rotateKey(V.NEXT_KEY_X, V.NEXT_KEY_PARITY, V.rotateSigByNextKey());
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidSignature.selector));
        gateway.rotateKey(V.NEXT_KEY_X, V.NEXT_KEY_PARITY ^ 1, V.rotateSig());

        vm.expectEmit(true, true, true, true, address(gateway));
        emit NexusGateway.GroupKeySet(2, V.NEXT_KEY_X, V.NEXT_KEY_PARITY);
        gateway.rotateKey(V.NEXT_KEY_X, V.NEXT_KEY_PARITY, V.rotateSig());
        assertEq(gateway.epoch(), 2, "epoch");
        assertEq(gateway.groupKeyX(), V.NEXT_KEY_X, "key");
        assertEq(gateway.groupKeyParity(), V.NEXT_KEY_PARITY, "parity");
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidSignature.selector));
        gateway.rotateKey(V.NEXT_KEY_X, V.NEXT_KEY_PARITY, V.rotateSig());

        (NexusGateway.Message[] memory a, bytes32[][] memory aProofs) = V.a();
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidSignature.selector));
        gateway.execute(a[0], aProofs[0], V.A_ROOT, V.aSig());
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidSignature.selector));
        gateway.execute(a[0], aProofs[0], V.A_ROOT, V.aSigByNextKey());
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidSignature.selector));
        gateway.execute(c[0], cProofs[0], V.C_ROOT, V.cSigByOldKey());
        assertTrue(gateway.execute(c[0], cProofs[0], V.C_ROOT, V.cSig()), "the new key's batch runs");
        assertEq(receiver.last(), "after rotation", "payload");
    }
}
