// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {NexusGateway} from "../NexusGateway.sol";
import {TestBase, Vm} from "./TestBase.sol";

/// @dev A contract calling the gateway, as Ethereum dapps will.
contract GatewayCaller {
    function call(NexusGateway gateway, bytes32 functionId, bytes calldata payload) external payable {
        gateway.callFunction{value: msg.value}(functionId, payload);
    }
}

contract NexusGatewayTest is TestBase {
    // The secp256k1 generator: a valid group key with an even y.
    bytes32 constant KEY_X = 0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798;
    uint64 constant EPOCH = 7;
    bytes32 constant FUNCTION_ID = keccak256("counter");

    NexusGateway gateway;

    function setUp() public {
        gateway = new NexusGateway(address(this));
        gateway.initializeKey(KEY_X, 0, EPOCH);
    }

    function testInitializeKeyStoresKeyAndEpoch() public view {
        assertEq(gateway.groupKeyX(), KEY_X, "groupKeyX");
        assertEq(gateway.groupKeyParity(), 0, "groupKeyParity");
        assertEq(gateway.epoch(), EPOCH, "epoch");
        assertEq(gateway.MAX_PAYLOAD_BYTES(), 16 * 1024, "MAX_PAYLOAD_BYTES");
    }

    function testInitializeKeyEmitsGroupKeySet() public {
        NexusGateway deployed = new NexusGateway(address(this));
        vm.recordLogs();
        deployed.initializeKey(bytes32(uint256(1)), 1, 3);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "log count");
        assertEq(logs[0].emitter, address(deployed), "emitter");
        assertEq(logs[0].topics.length, 2, "topic count");
        assertEq(logs[0].topics[0], NexusGateway.GroupKeySet.selector, "event signature");
        assertEq(logs[0].topics[1], bytes32(uint256(3)), "epoch topic");
        assertEq(logs[0].data, abi.encode(bytes32(uint256(1)), uint8(1)), "data");
    }

    function testInitializeKeyRejectsInvalidKeys() public {
        bytes32 groupOrder = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        _expectInvalidKey(bytes32(0), 0);
        _expectInvalidKey(groupOrder, 0);
        _expectInvalidKey(KEY_X, 2);
        // 5³ + 7 = 132 is not a square modulo p: no point has x = 5.
        _expectInvalidKey(bytes32(uint256(5)), 0);
    }

    function testCallFunctionEmitsExactLog() public {
        bytes memory payload = hex"00010203ff";
        vm.recordLogs();
        gateway.callFunction{value: 3 ether}(FUNCTION_ID, payload);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "log count");
        assertEq(logs[0].emitter, address(gateway), "emitter");
        assertEq(logs[0].topics.length, 3, "topic count");
        assertEq(logs[0].topics[0], keccak256("FunctionCalled(bytes32,address,uint256,bytes)"), "event signature");
        assertEq(logs[0].topics[1], FUNCTION_ID, "functionId topic");
        assertEq(logs[0].topics[2], bytes32(uint256(uint160(address(this)))), "caller topic");
        assertEq(logs[0].data, abi.encode(uint256(3 ether), payload), "data");
    }

    function testCallFunctionExpectEmit() public {
        vm.expectEmit(true, true, true, true, address(gateway));
        emit NexusGateway.FunctionCalled(FUNCTION_ID, address(this), 0, "");
        gateway.callFunction(FUNCTION_ID, "");
    }

    function testValueStaysInGateway() public {
        uint256 before = address(this).balance;
        gateway.callFunction{value: 1 ether}(FUNCTION_ID, "a");
        gateway.callFunction{value: 2 wei}(FUNCTION_ID, "b");
        assertEq(address(gateway).balance, 1 ether + 2 wei, "gateway balance");
        assertEq(address(this).balance, before - 1 ether - 2 wei, "caller balance");
    }

    function testPlainTransferRejected() public {
        (bool ok,) = address(gateway).call{value: 1 wei}("");
        assertTrue(!ok, "a transfer without callFunction must revert: its value would reach no function");
        assertEq(address(gateway).balance, 0, "gateway balance");
    }

    function testPayloadAtLimitAccepted() public {
        bytes memory payload = new bytes(gateway.MAX_PAYLOAD_BYTES());
        payload[payload.length - 1] = 0x2a;
        vm.expectEmit(true, true, true, true, address(gateway));
        emit NexusGateway.FunctionCalled(FUNCTION_ID, address(this), 0, payload);
        gateway.callFunction(FUNCTION_ID, payload);
    }

    function testPayloadOverLimitReverts() public {
        uint256 max = gateway.MAX_PAYLOAD_BYTES();
        bytes memory payload = new bytes(max + 1);
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.PayloadTooLarge.selector, max + 1, max));
        gateway.callFunction(FUNCTION_ID, payload);
    }

    function testZeroFunctionIdReverts() public {
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.ZeroFunctionId.selector));
        gateway.callFunction{value: 1 wei}(bytes32(0), "x");
    }

    function testCallerIsTheCallingContract() public {
        GatewayCaller caller = new GatewayCaller();
        vm.expectEmit(true, true, true, true, address(gateway));
        emit NexusGateway.FunctionCalled(FUNCTION_ID, address(caller), 5 wei, "from a contract");
        caller.call{value: 5 wei}(gateway, FUNCTION_ID, "from a contract");
        assertEq(address(gateway).balance, 5 wei, "gateway balance");
        assertEq(address(caller).balance, 0, "caller balance");
    }

    function testFuzzCallFunction(bytes32 functionId, bytes calldata payload, uint64 value) public {
        if (functionId == bytes32(0) || payload.length > gateway.MAX_PAYLOAD_BYTES()) return;
        vm.expectEmit(true, true, true, true, address(gateway));
        emit NexusGateway.FunctionCalled(functionId, address(this), value, payload);
        gateway.callFunction{value: value}(functionId, payload);
    }

    function _expectInvalidKey(bytes32 x, uint8 parity) private {
        NexusGateway deployed = new NexusGateway(address(this));
        vm.expectRevert(abi.encodeWithSelector(NexusGateway.InvalidGroupKey.selector, x, parity));
        deployed.initializeKey(x, parity, EPOCH);
    }
}
