//! `nexus kv get <fn> <key> [--prove]`: a function's key-value entry; with `--prove` the node's
//! ICS23 proof is checked here, against the app hash, so the answer need not be taken on trust.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use nexus_api::NexusApiClient as _;
use nexus_api::types::{Bytes, H256, KvValue};
use nexus_consensus::app::function_kv_key;
use prost::Message as _;

use crate::client::{NodeArgs, block_on, parse_function_id, show};

/// Arguments of `nexus kv`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Kv,
}

#[derive(Debug, clap::Subcommand)]
enum Kv {
    /// Read one entry.
    Get {
        /// The function id (0x…).
        function: String,
        /// The key: hex (`0x…`), `@file`, or text.
        key: String,
        /// Fetch a proof and verify it against the app hash.
        #[arg(long)]
        prove: bool,
        /// Read at this committed height instead of the latest.
        #[arg(long)]
        height: Option<u64>,
        #[command(flatten)]
        node: NodeArgs,
    },
}

/// Runs `nexus kv`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Kv::Get { function, key, prove, height, node } = args.command;
    let id = parse_function_id(&function)?;
    let key = super::parse_input(&key)?;
    block_on(async move {
        let n = node.connect().await?;
        n.function(id).await?;
        let kv =
            n.client.kv_get(id, Bytes(key.clone()), Some(prove), height).await.map_err(|e| n.explain(e))?;
        if prove {
            verify(&id, &key, &kv)?;
        }
        let value = kv.value.as_ref().map(|v| v.0.as_slice());
        if node.json {
            super::print_json(&serde_json::json!({
                "function": id.to_string(),
                "key": show::bytes_json(&key),
                "height": kv.height,
                "app_hash": kv.app_hash.to_string(),
                "value": value.map(show::bytes_json),
                "proof_verified": prove,
            }));
        } else {
            match value {
                Some(v) => println!("{}", super::show_bytes(v)),
                None => println!("(no value)"),
            }
            if prove {
                println!("proof verified against app hash {} at height {}", kv.app_hash, kv.height);
            }
        }
        Ok(ExitCode::SUCCESS)
    })?
}

/// Checks the node's proof of `kv.value` (or of the key's absence) under `kv.app_hash`.
fn verify(id: &H256, key: &[u8], kv: &KvValue) -> anyhow::Result<()> {
    let Some(proof) = &kv.proof else {
        bail!("the node sent no proof; it may not support proofs at height {}", kv.height);
    };
    let proof =
        ics23::CommitmentProof::decode(proof.0.as_slice()).context("the node's proof does not decode")?;
    let value = kv.value.as_ref().map(|v| v.0.as_slice());
    if !nexus_consensus::verify_proof(&kv.app_hash.0, &function_kv_key(&id.0, key), value, &proof) {
        bail!(
            "the proof does NOT verify against app hash {} at height {}: the node's answer cannot be trusted",
            kv.app_hash,
            kv.height
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexus_consensus::Store;
    use std::collections::BTreeMap;

    /// A store holding one function entry, and the node's answer for it.
    fn answer(id: &H256, key: &[u8], value: &[u8]) -> KvValue {
        let mut store = Store::in_memory();
        store.apply(BTreeMap::from([
            (function_kv_key(&id.0, key), Some(value.to_vec())),
            (b"other".to_vec(), Some(b"x".to_vec())),
        ]));
        let root = store.commit(1).unwrap();
        let (found, proof) = store.get_with_proof(&function_kv_key(&id.0, key), 1).unwrap();
        KvValue {
            height: 1,
            app_hash: H256(root),
            value: found.map(Bytes),
            proof: Some(Bytes(proof.encode_to_vec())),
        }
    }

    #[test]
    fn a_true_answer_verifies_and_any_lie_is_caught() {
        let id = H256([7; 32]);
        let kv = answer(&id, b"count", b"6");
        verify(&id, b"count", &kv).expect("the honest answer verifies");

        let mut lie = kv.clone();
        lie.value = Some(Bytes(b"7".to_vec()));
        assert!(verify(&id, b"count", &lie).unwrap_err().to_string().contains("does NOT verify"));
        let mut absent = kv.clone();
        absent.value = None;
        assert!(verify(&id, b"count", &absent).is_err());
        let mut other_root = kv.clone();
        other_root.app_hash = H256([1; 32]);
        assert!(verify(&id, b"count", &other_root).is_err());
        // The same proof does not vouch for another function's key.
        assert!(verify(&H256([8; 32]), b"count", &kv).is_err());
        let mut garbage = kv.clone();
        garbage.proof = Some(Bytes(vec![0xff; 9]));
        assert!(verify(&id, b"count", &garbage).unwrap_err().to_string().contains("does not decode"));
        let mut missing = kv;
        missing.proof = None;
        assert!(verify(&id, b"count", &missing).unwrap_err().to_string().contains("sent no proof"));
    }
}
