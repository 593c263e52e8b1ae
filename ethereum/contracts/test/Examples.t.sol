// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {NexusGateway} from "../NexusGateway.sol";
import {EthCaller} from "../examples/EthCaller.sol";
import {TestToken} from "../examples/TestToken.sol";
import {TestBase, Vm} from "./TestBase.sol";

contract ExamplesTest is TestBase {
    function testEthCallerCallsThroughTheGatewayAsItself() public {
        NexusGateway gateway = new NexusGateway(address(this));
        EthCaller caller = new EthCaller(gateway);
        vm.recordLogs();
        caller.callNexus{value: 5}(keccak256("eth-caller"), "hello");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "log count");
        assertEq(logs[0].emitter, address(gateway), "emitter");
        assertEq(logs[0].topics[0], NexusGateway.FunctionCalled.selector, "event");
        assertEq(logs[0].topics[1], keccak256("eth-caller"), "function id");
        assertEq(logs[0].topics[2], bytes32(uint256(uint160(address(caller)))), "caller is the contract");
        assertEq(logs[0].data, abi.encode(uint256(5), bytes("hello")), "value and payload");
        assertEq(address(gateway).balance, 5, "the wei reached the gateway");
        assertEq(caller.sent(), 1, "sent");
    }

    function testTestTokenEmitsStandardTransfers() public {
        TestToken token = new TestToken();
        address to = address(0xBEEF);
        vm.recordLogs();
        token.mint(address(this), 10);
        token.transfer(to, 4);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 2, "log count");
        assertEq(logs[1].topics[0], keccak256("Transfer(address,address,uint256)"), "event");
        assertEq(logs[1].topics[1], bytes32(uint256(uint160(address(this)))), "from");
        assertEq(logs[1].topics[2], bytes32(uint256(uint160(to))), "to");
        assertEq(logs[1].data, abi.encode(uint256(4)), "value");
        assertEq(token.balanceOf(to), 4, "balance");
        vm.expectRevert(abi.encodeWithSelector(TestToken.InsufficientBalance.selector, 6, 7));
        token.transfer(to, 7);
    }
}
