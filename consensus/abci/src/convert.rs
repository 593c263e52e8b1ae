//! Translation between tendermint's ABCI types and the application's.

use nexus_consensus::Backend;
use nexus_consensus::app::{App, BlockOutcome};
use tendermint::abci::response;
use tendermint::abci::types::ExecTxResult;
use tendermint::block::Height;
use tendermint::merkle::proof::{ProofOp, ProofOps};
use tendermint::{AppHash, Time};
use tower_abci::BoxError;

use crate::code;

/// The ABCI query path for a function's key-value entry: data is the 32-byte function id followed
/// by the key; the answer carries the value and, when asked, its ICS23 proof.
pub const QUERY_KV: &str = "/kv";

/// The ProofOp type of an ICS23 commitment proof over the app hash.
const PROOF_OP_ICS23: &str = "ics23:jmt";

pub(crate) fn app_hash(hash: &[u8; 32]) -> AppHash {
    AppHash::try_from(hash.to_vec()).expect("any byte string is an app hash")
}

pub(crate) fn height(h: u64) -> Result<Height, BoxError> {
    Height::try_from(h).map_err(|e| BoxError::from(format!("height {h}: {e}")))
}

/// Block time in nanoseconds since the Unix epoch; times before it (never produced by CometBFT)
/// count as 0.
pub(crate) fn time_ns(t: Time) -> u64 {
    u64::try_from(t.unix_timestamp_nanos()).unwrap_or(0)
}

/// A CheckTx refusal with a node API error code and a readable reason.
pub(crate) fn check_refused(code: u32, reason: &str) -> response::CheckTx {
    response::CheckTx {
        code: code.into(),
        log: reason.into(),
        codespace: code::CODESPACE.into(),
        ..Default::default()
    }
}

/// FinalizeBlock's answer. Only code, data and gas enter CometBFT's results hash, and all three
/// are deterministic; the log carries the failure reason for explorers.
pub(crate) fn finalize_response(outcome: &BlockOutcome) -> response::FinalizeBlock {
    response::FinalizeBlock {
        events: Vec::new(),
        tx_results: outcome
            .txs
            .iter()
            .map(|r| ExecTxResult {
                code: if r.ok { 0 } else { code::TX_FAILED }.into(),
                log: r.error.clone().unwrap_or_default(),
                gas_wanted: i64::try_from(r.gas_limit).unwrap_or(i64::MAX),
                gas_used: i64::try_from(r.gas_used).unwrap_or(i64::MAX),
                codespace: if r.ok { String::new() } else { code::CODESPACE.into() },
                ..Default::default()
            })
            .collect(),
        validator_updates: Vec::new(),
        consensus_param_updates: None,
        app_hash: app_hash(&outcome.app_hash),
    }
}

fn query_refused(code: u32, log: String) -> response::Query {
    response::Query { code: code.into(), log, codespace: code::CODESPACE.into(), ..Default::default() }
}

/// ABCI `Query`, for light clients and CometBFT's own RPC (`abci_query`): see [`QUERY_KV`].
pub(crate) fn query<B: Backend + Send + Sync + 'static>(
    app: &App<B>,
    q: &tendermint::v0_38::abci::request::Query,
) -> response::Query {
    if q.path != QUERY_KV {
        return query_refused(
            code::QUERY_UNKNOWN_PATH,
            format!("unknown query path {:?}; use {QUERY_KV}", q.path),
        );
    }
    let Some((function, key)) = q.data.split_first_chunk::<32>() else {
        return query_refused(
            code::QUERY_MALFORMED,
            "data must be a 32-byte function id followed by the key".into(),
        );
    };
    let at = Some(q.height.value()).filter(|h| *h > 0);
    match app.kv_get_with_proof(function, key, at) {
        Ok(proven) => response::Query {
            key: q.data.clone(),
            value: proven.value.clone().unwrap_or_default().into(),
            proof: q.prove.then(|| ProofOps {
                ops: vec![ProofOp {
                    field_type: PROOF_OP_ICS23.into(),
                    key: q.data.to_vec(),
                    data: prost::Message::encode_to_vec(&proven.proof),
                }],
            }),
            height: Height::try_from(proven.height).unwrap_or_default(),
            log: if proven.value.is_some() { "exists" } else { "absent" }.into(),
            ..Default::default()
        },
        Err(e) => query_refused(code::QUERY_FAILED, e.to_string()),
    }
}
