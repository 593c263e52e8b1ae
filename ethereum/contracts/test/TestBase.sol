// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @notice The few forge cheatcodes these tests use, declared by hand: forge-std is not
/// vendored, so the toolchain stays offline and the repo holds only code written for it.
interface Vm {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function expectRevert(bytes calldata revertData) external;
    function prank(address sender) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter) external;
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);
}

/// @notice Base of the gateway tests: the cheatcode handle and assertions that revert with a
/// message naming what differed (forge reports a reverting test as failed).
abstract contract TestBase {
    /// @dev forge's cheatcode address: address(uint160(uint256(keccak256("hevm cheat code")))).
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);
    /// @dev forge's console address: address(bytes20(bytes("console.log"))) left-padded.
    address internal constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    function assertEq(uint256 actual, uint256 expected, string memory what) internal pure {
        if (actual != expected) revert(string.concat(what, ": got ", _dec(actual), ", want ", _dec(expected)));
    }

    function assertEq(bytes32 actual, bytes32 expected, string memory what) internal pure {
        assertEq(uint256(actual), uint256(expected), what);
    }

    function assertEq(address actual, address expected, string memory what) internal pure {
        assertEq(uint256(uint160(actual)), uint256(uint160(expected)), what);
    }

    function assertEq(bytes memory actual, bytes memory expected, string memory what) internal pure {
        if (keccak256(actual) != keccak256(expected)) revert(string.concat(what, ": bytes differ"));
    }

    function assertTrue(bool condition, string memory what) internal pure {
        if (!condition) revert(what);
    }

    /// @dev Prints `what` and `value` in forge's output (`-vv`) through its console address.
    function _log(string memory what, uint256 value) internal view {
        (bool ok,) = CONSOLE.staticcall(abi.encodeWithSignature("log(string,uint256)", what, value));
        ok;
    }

    function _dec(uint256 value) internal pure returns (string memory) {
        if (value == 0) return "0";
        uint256 digits;
        for (uint256 v = value; v != 0; v /= 10) {
            digits++;
        }
        bytes memory out = new bytes(digits);
        for (; value != 0; value /= 10) {
            out[--digits] = bytes("0123456789")[value % 10];
        }
        return string(out);
    }
}
