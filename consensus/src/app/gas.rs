//! The gas schedule outside wasm execution, and the meter a transaction spends from. Inside an
//! invocation one unit of fuel is one unit of gas.

/// Charged once per transaction.
pub const TX_BASE: u64 = 20_000;
/// Charged per byte of the transaction on the wire.
pub const PER_TX_BYTE: u64 = 16;
/// Charged per byte of a deployed or upgraded module: validation, instrumentation and compilation
/// scale with size, and every node pays them whether or not it had the module cached.
pub const PER_CODE_BYTE: u64 = 200;
/// Charged per native-token transfer.
pub const TRANSFER: u64 = 5_000;
/// Charged per staking message (create validator, delegate, undelegate, unjail, withdraw): a
/// handful of reads and writes of fixed size.
pub const STAKING: u64 = 20_000;
/// Charged per key a `delete` removes.
pub const PER_DELETED_KEY: u64 = 1_000;

/// Gas that a transaction must be able to pay before anything runs.
pub fn intrinsic(tx_bytes: usize) -> u64 {
    TX_BASE + PER_TX_BYTE * tx_bytes as u64
}

/// Spent more gas than the limit allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfGas;

/// Gas left in a transaction (or in a block's scheduled-invocation budget).
#[derive(Debug, Clone, Copy)]
pub struct Meter {
    limit: u64,
    used: u64,
}

impl Meter {
    /// A meter with `limit` gas.
    pub fn new(limit: u64) -> Self {
        Self { limit, used: 0 }
    }

    /// Gas still available.
    pub fn remaining(&self) -> u64 {
        self.limit - self.used
    }

    /// Gas spent so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Spends `amount`, or spends everything and fails if that is more than is left.
    pub fn charge(&mut self, amount: u64) -> Result<(), OutOfGas> {
        if amount > self.remaining() {
            self.used = self.limit;
            return Err(OutOfGas);
        }
        self.used += amount;
        Ok(())
    }
}
