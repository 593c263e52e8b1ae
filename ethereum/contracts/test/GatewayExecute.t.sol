// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {NexusGateway} from "../NexusGateway.sol";
import {FrostVectors as V} from "./FrostVectors.sol";
import {TestBase} from "./TestBase.sol";

/// @dev Records what the gateway calls it with.
contract Receiver {
    bytes public last;
    uint256 public calls;

    fallback() external {
        last = msg.data;
        calls += 1;
    }
}

/// @dev `execute` with real FROST signatures from the Rust crate (FrostVectors.sol), signed for
/// this test's first two deployments: the gateway and the receiver.
contract GatewayExecuteTest is TestBase {
    uint256 constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint256 constant P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;

    NexusGateway gateway;
    Receiver receiver;

    function setUp() public {
        gateway = new NexusGateway(V.KEY_X, V.KEY_PARITY, 1);
        receiver = new Receiver();
    }

    function sig() internal pure returns (NexusGateway.Signature memory) {
        return NexusGateway.Signature(V.RX, V.RY, V.Z);
    }

    function testTheVectorsWereSignedForThisDeployment() public view {
        assertEq(address(gateway), V.GATEWAY, "gateway address");
        assertEq(address(receiver), V.RECEIVER, "receiver address");
        assertEq(block.chainid, V.CHAIN_ID, "chain id");
        assertEq(gateway.digest(0, V.RECEIVER, V.DATA), V.DIGEST, "digest");
    }

    function testARealSignatureVerifiesWithinTheGasTarget() public view {
        uint256 before = gasleft();
        bool ok = gateway.verify(V.DIGEST, sig());
        uint256 used = before - gasleft();
        assertTrue(ok, "a real FROST signature verifies");
        // Includes the external call and two cold storage reads of the key (≈ 6,800 together);
        // the ≤ 8,000 target for the check alone is not met yet (see BENCHMARKS.md).
        assertTrue(used <= 20_000, string.concat("verify used ", _dec(used), " gas"));
    }

    function testExecuteCallsTheTargetOnceAndAReplayReverts() public {
        uint256 before = gasleft();
        bool success = gateway.execute(0, V.RECEIVER, V.DATA, sig());
        uint256 used = before - gasleft();
        assertTrue(success, "the target ran");
        assertEq(receiver.calls(), 1, "calls");
        assertEq(receiver.last(), V.DATA, "the exact payload");
        assertTrue(gateway.nonceUsed(0), "nonce 0 spent");
        assertTrue(!gateway.nonceUsed(1), "nonce 1 free");
        assertTrue(used < 150_000, string.concat("execute used ", _dec(used), " gas"));
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.NonceUsed.selector, 0));
        gateway.execute(0, V.RECEIVER, V.DATA, sig());
    }

    function testTamperedSignaturesOtherKeysAndOtherMessagesAreRefused() public {
        NexusGateway.Signature memory s = sig();
        assertTrue(!gateway.verify(V.DIGEST, NexusGateway.Signature(s.rx, s.ry, s.z + 1)), "z + 1");
        // z + n does not fit in a word for this z; any z at or above n is refused outright.
        assertTrue(!gateway.verify(V.DIGEST, NexusGateway.Signature(s.rx, s.ry, N)), "z = n");
        assertTrue(!gateway.verify(V.DIGEST, NexusGateway.Signature(s.rx, s.ry, type(uint256).max)), "z > n");
        assertTrue(!gateway.verify(V.DIGEST, NexusGateway.Signature(s.rx, s.ry, 0)), "z = 0");
        assertTrue(!gateway.verify(V.DIGEST, NexusGateway.Signature(s.rx, P - s.ry, s.z)), "-R");
        assertTrue(!gateway.verify(V.DIGEST, NexusGateway.Signature(s.rx + 1, s.ry, s.z)), "R off the curve");
        assertTrue(!gateway.verify(bytes32(uint256(V.DIGEST) ^ 1), s), "another message");
        NexusGateway.Signature memory other = NexusGateway.Signature(V.OTHER_RX, V.OTHER_RY, V.OTHER_Z);
        assertTrue(!gateway.verify(V.DIGEST, other), "another group's signature");
        NexusGateway otherGateway = new NexusGateway(V.OTHER_KEY_X, V.OTHER_KEY_PARITY, 1);
        assertTrue(otherGateway.verify(V.DIGEST, other), "the other group's signature under its own key");
        assertTrue(!otherGateway.verify(V.DIGEST, s), "our signature under the other key");

        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidSignature.selector));
        gateway.execute(0, V.RECEIVER, V.DATA, other);
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidSignature.selector));
        gateway.execute(1, V.RECEIVER, V.DATA, s);
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidSignature.selector));
        gateway.execute(0, address(this), V.DATA, s);
        assertEq(receiver.calls(), 0, "nothing ran");
        assertTrue(!gateway.nonceUsed(0), "a refused message spends no nonce");
    }
}
