//! Building, signing and sending transactions: the nonce from the node, a generous default gas
//! limit, a progress line while waiting for inclusion, and the committed result.

use anyhow::anyhow;
use k256::ecdsa::SigningKey;
use nexus_api::NexusApiClient as _;
use nexus_api::types::{Address, Bytes, TxRecord};
use nexus_consensus::app::gas;
use nexus_consensus::app::tx::{Msg, SignedTx, Tx};
use serde_json::json;

use super::signer::SignerArgs;
use super::{Node, hex0x};

/// Gas set aside per invocation (deploy's `init`, upgrade's `migrate`, a call's `on_call`) or per
/// delete when no `--gas-limit` is given: a tenth of the default per-invocation fuel cap, far
/// more than typical functions use, and refunded when unused.
pub const INVOCATION_ALLOWANCE: u64 = 100_000_000;

/// The options of every command that sends a transaction.
#[derive(Debug, Clone, clap::Args)]
pub struct TxArgs {
    #[command(flatten)]
    pub signer: SignerArgs,
    /// Most gas the transaction may use; unused gas is refunded [default: intrinsic cost + 200 per
    /// code byte + 100,000,000 per invocation].
    #[arg(long, value_name = "GAS")]
    pub gas_limit: Option<u64>,
    /// Price per unit of gas, in the smallest unit of the native token.
    #[arg(long, default_value_t = 1, value_name = "PRICE")]
    pub gas_price: u128,
}

/// A gas limit that covers a transaction of `msgs` encoded in `tx_bytes` bytes.
pub fn default_gas_limit(msgs: &[Msg], tx_bytes: usize) -> u64 {
    let per_msg: u64 = msgs
        .iter()
        .map(|m| match m {
            Msg::Transfer { .. } => gas::TRANSFER,
            Msg::Deploy { code, .. } | Msg::Upgrade { code, .. } => {
                gas::PER_CODE_BYTE.saturating_mul(code.len() as u64).saturating_add(INVOCATION_ALLOWANCE)
            }
            Msg::Call { .. } | Msg::Delete { .. } => INVOCATION_ALLOWANCE,
            Msg::CreateValidator { .. }
            | Msg::Delegate { .. }
            | Msg::Undelegate { .. }
            | Msg::Unjail
            | Msg::WithdrawRewards { .. } => gas::STAKING,
        })
        .fold(0, u64::saturating_add);
    gas::intrinsic(tx_bytes).saturating_add(per_msg)
}

/// Signs `msgs` as one transaction; `gas_limit: None` picks [`default_gas_limit`].
pub fn sign(
    key: &SigningKey,
    chain_id: u64,
    nonce: u64,
    msgs: Vec<Msg>,
    gas_limit: Option<u64>,
    gas_price: u128,
) -> SignedTx {
    let mut tx = Tx { chain_id, nonce, expires_at: 0, gas_limit: 0, gas_price, msgs };
    // Borsh encodes the gas limit in fixed width, so the size with a placeholder is the real size.
    let size = SignedTx { tx: tx.clone(), signature: [0; 65] }.encode().len();
    tx.gas_limit = gas_limit.unwrap_or_else(|| default_gas_limit(&tx.msgs, size));
    tx.sign(key)
}

/// Signs `msgs` with the chosen key and waits for the committed result, showing `what` on a
/// progress line. A transaction that executed and failed is a result (`ok = false`), not an
/// error; a transaction the node refused is an error.
pub async fn send(
    node: &Node,
    args: &TxArgs,
    msgs: Vec<Msg>,
    what: &str,
    json: bool,
) -> anyhow::Result<TxRecord> {
    let status = node.status().await?;
    let signer = args.signer.resolve(status.dev)?;
    let address = Address(signer.address);
    if signer.dev_default {
        eprintln!(
            "note: no key given (--private-key, --keystore, --mnemonic or NEXUS_PRIVATE_KEY); signing with \
             dev account 0 ({address}) of the dev chain"
        );
    }
    let account = node.client.get_account(address).await.map_err(|e| node.explain(e))?;
    let signed =
        sign(&signer.key, status.chain_id, account.pending_nonce, msgs, args.gas_limit, args.gas_price);
    let hash = hex0x(&signed.hash());
    let bar = crate::cmd::spinner(json);
    bar.set_message(format!("{what}: waiting for {hash} to be committed"));
    let sent = node.client.send_tx(Bytes(signed.encode()), Some(true)).await;
    bar.finish_and_clear();
    let sent = sent.map_err(|e| node.explain(e))?;
    sent.result.ok_or_else(|| {
        anyhow!("the node accepted {hash} but returned no result; look it up with `nexus tx {hash}`")
    })
}

/// The fields every transaction's JSON output carries.
pub fn record_json(r: &TxRecord) -> serde_json::Value {
    json!({
        "tx": hex0x(&r.hash),
        "height": r.height,
        "ok": r.ok,
        "error": r.error,
        "gas_used": r.gas_used,
        "fee": r.fee.to_string(),
    })
}

/// The error for a transaction that executed and failed.
pub fn failed(r: &TxRecord) -> anyhow::Error {
    anyhow!(
        "transaction {} failed at height {}: {} (nothing it did was kept; gas used {})",
        hex0x(&r.hash),
        r.height,
        r.error.as_deref().unwrap_or("no reason given"),
        r.gas_used
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexus_consensus::app::tx::decode_and_verify;

    #[test]
    fn the_default_gas_limit_covers_intrinsic_code_and_invocations() {
        let key = SigningKey::from_bytes(&[7; 32].into()).unwrap();
        let code = vec![0u8; 1000];
        let signed = sign(&key, 5, 9, vec![Msg::Deploy { code, input: vec![] }], None, 1);
        let size = signed.encode().len();
        assert_eq!(
            signed.tx.gas_limit,
            gas::intrinsic(size) + gas::PER_CODE_BYTE * 1000 + INVOCATION_ALLOWANCE
        );
        let v = decode_and_verify(&signed.encode(), 5).unwrap();
        assert_eq!(v.sender, nexus_consensus::app::tx::address_of(&key));
        assert_eq!(v.tx.nonce, 9);
        let fixed = sign(&key, 5, 0, vec![Msg::Delete { function: [1; 32] }], Some(12345), 3);
        assert_eq!((fixed.tx.gas_limit, fixed.tx.gas_price), (12345, 3));
    }
}
