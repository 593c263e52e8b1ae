//! Staking parameters small enough for tests to watch epochs, windows and unbonding go by.

/// Five-block epochs, a ten-block downtime window needing five signatures, ten-block jail, and
/// unbonding after 30 blocks and 20 seconds (so CometBFT's evidence max age is 15 blocks, 10 s).
pub fn fast_params() -> serde_json::Value {
    serde_json::json!({
        "staking": {
            "epoch_blocks": 5,
            "downtime_window": 10,
            "min_signed_per_window": 5,
            "downtime_jail_blocks": 10,
            "unbonding_blocks": 30,
            "unbonding_seconds": 20
        }
    })
}

/// One token in the smallest unit (the default power reduction: one token, one vote).
pub const TOKEN: u128 = 1_000_000_000_000_000_000;
