//! Translation between tendermint's ABCI types and the application's.

use nexus_consensus::Backend;
use nexus_consensus::app::votes::ValidatorKey;
use nexus_consensus::app::votes::{Bundle, SignedExtension};
use nexus_consensus::app::{App, BlockOutcome, CommitVote, GenesisValidator, Misbehavior};
use tendermint::abci::response;
use tendermint::abci::types::{
    BlockSignatureInfo, CommitInfo, ExecTxResult, ExtendedCommitInfo, MisbehaviorKind,
};
use tendermint::block::BlockIdFlag;
use tendermint::block::Height;
use tendermint::merkle::proof::{ProofOp, ProofOps};
use tendermint::validator;
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
        // The injected bundle and Ethereum data are block transactions too: CometBFT wants a
        // result for each.
        tx_results: (0..outcome.injected)
            .map(|_| ExecTxResult::default())
            .chain(outcome.txs.iter().map(|r| ExecTxResult {
                code: if r.ok { 0 } else { code::TX_FAILED }.into(),
                log: r.error.clone().unwrap_or_default(),
                gas_wanted: i64::try_from(r.gas_limit).unwrap_or(i64::MAX),
                gas_used: i64::try_from(r.gas_used).unwrap_or(i64::MAX),
                codespace: if r.ok { String::new() } else { code::CODESPACE.into() },
                ..Default::default()
            }))
            .collect(),
        validator_updates: outcome.validator_updates.iter().filter_map(validator_update).collect(),
        consensus_param_updates: None,
        app_hash: app_hash(&outcome.app_hash),
    }
}

/// The extensions of `height`'s precommits for the block (those for it with a signature).
pub(crate) fn bundle(height: u64, commit: &ExtendedCommitInfo) -> Bundle {
    Bundle {
        height,
        round: commit.round.value(),
        votes: commit
            .votes
            .iter()
            .filter(|v| v.sig_info == BlockSignatureInfo::Flag(BlockIdFlag::Commit))
            .filter_map(|v| {
                let signature = v.extension_signature.as_ref()?;
                Some(SignedExtension {
                    validator: v.validator.address,
                    extension: v.vote_extension.to_vec(),
                    signature: signature.as_bytes().to_vec(),
                })
            })
            .collect(),
    }
}

/// A genesis validator from CometBFT's `InitChain` (ed25519 keys only).
pub(crate) fn genesis_validator(u: &validator::Update) -> Result<GenesisValidator, crate::AbciError> {
    let key = u
        .pub_key
        .ed25519()
        .ok_or_else(|| crate::AbciError::Genesis("validator keys must be ed25519".into()))?;
    let pub_key: [u8; 32] = key.as_bytes().try_into().expect("an ed25519 key is 32 bytes");
    Ok(GenesisValidator { pub_key, power: u.power.value(), operator: None })
}

/// A genesis validator as CometBFT's `InitChain` answer lists it.
pub(crate) fn genesis_update(v: &GenesisValidator) -> Result<validator::Update, crate::AbciError> {
    validator_update(&ValidatorKey { pub_key: v.pub_key, power: v.power }).ok_or_else(|| {
        crate::AbciError::Genesis(format!(
            "validator 0x{} is not a valid ed25519 key or its power {} is too large",
            hex::encode(v.pub_key),
            v.power
        ))
    })
}

/// A validator update for CometBFT; `None` for a key that is not a valid ed25519 point (the
/// application checked ownership at registration, so this does not happen) or an absurd power.
pub(crate) fn validator_update(v: &ValidatorKey) -> Option<validator::Update> {
    let pub_key = tendermint::PublicKey::from_raw_ed25519(&v.pub_key)?;
    Some(validator::Update { pub_key, power: v.power.try_into().ok()? })
}

/// The previous height's precommits, for liveness and rewards: a nil precommit counts as signed
/// (the validator was online), only an absent one as missed.
pub(crate) fn last_commit(commit: &CommitInfo) -> Vec<CommitVote> {
    commit
        .votes
        .iter()
        .map(|v| CommitVote {
            validator: v.validator.address,
            power: v.validator.power.value(),
            signed: v.sig_info.is_signed(),
        })
        .collect()
}

/// Misbehavior CometBFT proved: duplicate votes and light-client attacks alike tombstone.
pub(crate) fn misbehavior(evidence: &[tendermint::abci::types::Misbehavior]) -> Vec<Misbehavior> {
    evidence
        .iter()
        .filter(|m| m.kind != MisbehaviorKind::Unknown)
        .map(|m| Misbehavior { validator: m.validator.address, height: m.height.value() })
        .collect()
}

pub(crate) fn query_refused(code: u32, log: String) -> response::Query {
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
