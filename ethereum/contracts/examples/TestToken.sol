// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title TestToken
/// @notice Example: the smallest ERC-20 that emits standard `Transfer` logs, for the
/// `eth-watcher` example function and its tests. Anyone may mint.
contract TestToken {
    /// @notice ERC-20 `Transfer`, emitted by `mint` (from the zero address) and `transfer`.
    event Transfer(address indexed from, address indexed to, uint256 value);

    /// @notice Balances.
    mapping(address => uint256) public balanceOf;

    /// @notice A transfer of more than the sender holds.
    error InsufficientBalance(uint256 balance, uint256 needed);

    /// @notice Creates `value` tokens for `to`.
    function mint(address to, uint256 value) external {
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    /// @notice Moves `value` of the sender's tokens to `to`.
    function transfer(address to, uint256 value) external returns (bool) {
        uint256 balance = balanceOf[msg.sender];
        if (balance < value) revert InsufficientBalance(balance, value);
        balanceOf[msg.sender] = balance - value;
        balanceOf[to] += value;
        emit Transfer(msg.sender, to, value);
        return true;
    }
}
