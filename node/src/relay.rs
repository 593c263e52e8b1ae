//! The relaying loop shared by `nexus relayer` and `nexus dev`: reads signed batches and key
//! rotations from a node's API and submits them to the Ethereum gateway with the relayer's own
//! key (the `nexus_ethereum::relayer` keeps one transaction in flight per nonce, so rounds can
//! repeat freely). The gateway's `Executed` logs come back through the validators' observers and
//! reach the sending functions' `on_reply`.

use std::time::Duration;

use alloy_primitives::{Address, B256};
use nexus_api::NexusApiClient as _;
use nexus_api::types::{GatewaySignature, SignedBatchInfo};
use nexus_ethereum::relayer::{BatchMessage, Relayer, Signature, SignedBatch, SignedRotation};

/// How the first key gets onto a gateway that has none: `nexus dev` installs it as the gateway's
/// bootstrapper (anvil's unlocked deployer); a real deployment's bootstrapper does it once.
pub type Bootstrap = Box<dyn Fn(Address, [u8; 32], u8, u64) -> BootstrapFuture + Send + Sync>;

/// The future a [`Bootstrap`] returns.
pub type BootstrapFuture = std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

fn signature(s: &GatewaySignature) -> Signature {
    Signature { rx: s.rx.0, ry: s.ry.0, z: s.z.0 }
}

/// The part of a node batch still to run, in the relayer's form.
fn pending(b: &SignedBatchInfo) -> SignedBatch {
    SignedBatch {
        epoch: b.epoch,
        root: B256::from(b.root.0),
        signature: signature(&b.signature),
        messages: b
            .messages
            .iter()
            .filter(|m| m.status == "signed")
            .map(|m| BatchMessage {
                nonce: m.nonce,
                sender: m.sender.0,
                target: Address::from(m.target.0),
                gas_limit: m.gas_limit,
                data: m.data.0.clone(),
                proof: m.proof.iter().map(|p| B256::from(p.0)).collect(),
            })
            .collect(),
    }
}

/// One relaying round: bootstrap the key if the gateway has none, submit a rotation signed by
/// the gateway's key, then every signed message of that key not yet run. Returns the first job
/// id that may still have work (the next round starts there).
pub async fn round(
    node: &nexus_api::Client,
    relayer: &mut Relayer,
    gateway: Address,
    bootstrap: Option<&Bootstrap>,
    from: u64,
) -> anyhow::Result<u64> {
    let status = node.tss_status().await?;
    let mut epoch = relayer.epoch().await?;
    if epoch == 0 {
        let (Some(boot), Some(active)) = (bootstrap, status.active_epoch) else { return Ok(from) };
        let Some(key) = status.keys.iter().find(|k| k.epoch == active) else { return Ok(from) };
        boot(gateway, key.x.0, key.parity, key.epoch).await.map_err(anyhow::Error::msg)?;
        epoch = relayer.epoch().await?;
    }
    if let Some(r) = status.rotations.iter().find(|r| r.from == epoch) {
        let rotation = SignedRotation {
            epoch: r.from,
            new_x: r.x.0,
            new_parity: r.parity,
            signature: signature(&r.signature),
        };
        relayer.submit_rotation(&rotation).await?;
    }
    // `next` moves past leading batches with nothing left to run; `page` walks all of them.
    let (mut next, mut page, mut waiting) = (from, from, false);
    loop {
        let batches = node.tss_batches(page, Some(64)).await?;
        for b in &batches {
            let batch = pending(b);
            if batch.messages.is_empty() || b.epoch < epoch {
                if !waiting {
                    next = b.job + 1;
                }
                continue;
            }
            waiting = true;
            if b.epoch == epoch {
                relayer.submit_batch(&batch).await?;
            }
        }
        match batches.last() {
            Some(last) if batches.len() == 64 => page = last.job + 1,
            _ => break,
        }
    }
    Ok(next)
}

/// Relays until `stop` resolves, one round every `every`; a failed round is reported and retried.
pub async fn run(
    node: nexus_api::Client,
    mut relayer: Relayer,
    gateway: Address,
    bootstrap: Option<Bootstrap>,
    every: Duration,
    stop: impl Future<Output = ()>,
) {
    let mut from = 0;
    let mut last_error = String::new();
    tokio::pin!(stop);
    loop {
        match round(&node, &mut relayer, gateway, bootstrap.as_ref(), from).await {
            Ok(next) => {
                from = next;
                last_error.clear();
            }
            Err(e) => {
                let e = format!("{e:#}");
                if e != last_error {
                    eprintln!("relayer: {e}");
                    last_error = e;
                }
            }
        }
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
