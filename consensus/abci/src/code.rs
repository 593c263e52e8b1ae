//! The codes of refused `CheckTx`s and failed transactions: the node API's error codes (so a
//! validator's API passes CometBFT's answer through unchanged), in codespace [`CODESPACE`].

use nexus_consensus::app::TxError;
use nexus_consensus::app::tx::DecodeTxError;

/// The codespace of every Nexus code.
pub const CODESPACE: &str = "nexus";

/// The bytes are not a transaction (too large, undecodable, no or too many messages).
pub const TX_MALFORMED: u32 = 1000;
/// The signature is invalid.
pub const TX_BAD_SIGNATURE: u32 = 1001;
/// Signed for another chain.
pub const TX_WRONG_CHAIN: u32 = 1002;
/// The nonce was already used.
pub const TX_NONCE_TOO_LOW: u32 = 1003;
/// The nonce skips ahead of the sender's next one.
pub const TX_NONCE_TOO_HIGH: u32 = 1004;
/// Past its expiry height.
pub const TX_EXPIRED: u32 = 1005;
/// Asks for more gas than a block holds.
pub const TX_GAS_LIMIT_ABOVE_BLOCK: u32 = 1006;
/// Its gas limit does not cover its intrinsic cost.
pub const TX_GAS_LIMIT_TOO_LOW: u32 = 1007;
/// Its gas price is below the chain's minimum.
pub const TX_GAS_PRICE_TOO_LOW: u32 = 1008;
/// The sender cannot pay its value and maximum fee.
pub const TX_INSUFFICIENT_FUNDS: u32 = 1009;
/// The node is too busy to check it (or to answer a query); retry.
pub const MEMPOOL_FULL: u32 = 1010;
/// The chain has not been initialized.
pub const NOT_INITIALIZED: u32 = 3000;
/// An executed transaction failed (its result says why).
pub const TX_FAILED: u32 = 4000;
/// An ABCI query path the application does not serve.
pub const QUERY_UNKNOWN_PATH: u32 = 4001;
/// An ABCI query whose data does not parse.
pub const QUERY_MALFORMED: u32 = 4002;
/// An ABCI query the state could not answer (pruned height, storage error).
pub const QUERY_FAILED: u32 = 4003;

/// The code of a refused transaction.
pub fn of(e: &TxError) -> u32 {
    match e {
        TxError::Decode(d) => match d {
            DecodeTxError::TooLarge { .. } | DecodeTxError::Malformed(_) | DecodeTxError::MessageCount(_) => {
                TX_MALFORMED
            }
            DecodeTxError::BadSignature(_) => TX_BAD_SIGNATURE,
            DecodeTxError::WrongChain { .. } => TX_WRONG_CHAIN,
        },
        TxError::NotInitialized => NOT_INITIALIZED,
        TxError::NonceTooLow { .. } => TX_NONCE_TOO_LOW,
        TxError::NonceTooHigh { .. } => TX_NONCE_TOO_HIGH,
        TxError::Expired { .. } => TX_EXPIRED,
        TxError::GasLimitAboveBlock { .. } => TX_GAS_LIMIT_ABOVE_BLOCK,
        TxError::GasLimitTooLow { .. } => TX_GAS_LIMIT_TOO_LOW,
        TxError::GasPriceTooLow { .. } => TX_GAS_PRICE_TOO_LOW,
        TxError::InsufficientFunds { .. } => TX_INSUFFICIENT_FUNDS,
    }
}
