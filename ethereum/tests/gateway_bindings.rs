//! The `sol!` bindings agree with the compiled contract: selectors and event signatures match
//! the artifact's ABI (hashed here independently of alloy's own derivation), and logs and revert
//! data built by hand, byte by byte as the EVM lays them out, decode to the expected values.

use alloy_primitives::{B256, Bytes, Log, LogData, U256, address, b256, hex, keccak256};
use alloy_sol_types::{SolCall, SolError, SolEvent, SolInterface};
use nexus_ethereum::NexusGateway;
use serde_json::Value;

fn artifact() -> Value {
    serde_json::from_str(include_str!("../abi/NexusGateway.json")).expect("abi/NexusGateway.json is JSON")
}

/// `name(type,…)` of the artifact's ABI entry `kind`/`name`, as Solidity hashes it.
fn abi_signature(kind: &str, name: &str) -> String {
    let artifact = artifact();
    let entry = artifact["abi"]
        .as_array()
        .expect("abi is an array")
        .iter()
        .find(|e| e["type"] == kind && e["name"] == name)
        .unwrap_or_else(|| panic!("the artifact has no {kind} {name}"));
    let types: Vec<&str> = entry["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|input| input["type"].as_str().expect("input type"))
        .collect();
    format!("{name}({})", types.join(","))
}

fn selector_hex(signature: &str) -> String {
    hex::encode(&keccak256(signature)[..4])
}

#[test]
fn function_selectors_match_the_compiled_contract() {
    let artifact = artifact();
    let identifiers = artifact["methodIdentifiers"].as_object().expect("methodIdentifiers");
    // Every selector solc reported is the keccak of its signature, and the bindings use it.
    let bound = [
        (NexusGateway::callFunctionCall::SIGNATURE, NexusGateway::callFunctionCall::SELECTOR),
        (NexusGateway::MAX_PAYLOAD_BYTESCall::SIGNATURE, NexusGateway::MAX_PAYLOAD_BYTESCall::SELECTOR),
        (NexusGateway::epochCall::SIGNATURE, NexusGateway::epochCall::SELECTOR),
        (NexusGateway::groupKeyXCall::SIGNATURE, NexusGateway::groupKeyXCall::SELECTOR),
        (NexusGateway::groupKeyParityCall::SIGNATURE, NexusGateway::groupKeyParityCall::SELECTOR),
        (NexusGateway::BATCH_TAGCall::SIGNATURE, NexusGateway::BATCH_TAGCall::SELECTOR),
        (NexusGateway::LEAF_TAGCall::SIGNATURE, NexusGateway::LEAF_TAGCall::SELECTOR),
        (NexusGateway::MAX_RESULT_BYTESCall::SIGNATURE, NexusGateway::MAX_RESULT_BYTESCall::SELECTOR),
        (NexusGateway::ROTATE_TAGCall::SIGNATURE, NexusGateway::ROTATE_TAGCall::SELECTOR),
        (NexusGateway::batchDigestCall::SIGNATURE, NexusGateway::batchDigestCall::SELECTOR),
        (NexusGateway::bootstrapperCall::SIGNATURE, NexusGateway::bootstrapperCall::SELECTOR),
        (NexusGateway::executeCall::SIGNATURE, NexusGateway::executeCall::SELECTOR),
        (NexusGateway::executeBatchCall::SIGNATURE, NexusGateway::executeBatchCall::SELECTOR),
        (NexusGateway::initializeKeyCall::SIGNATURE, NexusGateway::initializeKeyCall::SELECTOR),
        (NexusGateway::leafCall::SIGNATURE, NexusGateway::leafCall::SELECTOR),
        (NexusGateway::messageSenderCall::SIGNATURE, NexusGateway::messageSenderCall::SELECTOR),
        (NexusGateway::nonceUsedCall::SIGNATURE, NexusGateway::nonceUsedCall::SELECTOR),
        (NexusGateway::rotateDigestCall::SIGNATURE, NexusGateway::rotateDigestCall::SELECTOR),
        (NexusGateway::rotateKeyCall::SIGNATURE, NexusGateway::rotateKeyCall::SELECTOR),
        (NexusGateway::verifyCall::SIGNATURE, NexusGateway::verifyCall::SELECTOR),
    ];
    assert_eq!(identifiers.len(), bound.len(), "a function of the contract has no check here");
    for (signature, selector) in bound {
        let reported =
            identifiers[signature].as_str().unwrap_or_else(|| panic!("solc reported no {signature}"));
        assert_eq!(reported, selector_hex(signature), "{signature}");
        assert_eq!(hex::encode(selector), reported, "{signature}");
    }
    assert_eq!(NexusGateway::callFunctionCall::SIGNATURE, "callFunction(bytes32,bytes)");
    assert_eq!(abi_signature("function", "callFunction"), "callFunction(bytes32,bytes)");
}

#[test]
fn event_and_error_signatures_match_the_compiled_contract() {
    let function_called = abi_signature("event", "FunctionCalled");
    assert_eq!(function_called, "FunctionCalled(bytes32,address,uint256,bytes)");
    assert_eq!(NexusGateway::FunctionCalled::SIGNATURE, function_called);
    assert_eq!(NexusGateway::FunctionCalled::SIGNATURE_HASH, keccak256(&function_called));

    let group_key_set = abi_signature("event", "GroupKeySet");
    assert_eq!(NexusGateway::GroupKeySet::SIGNATURE_HASH, keccak256(&group_key_set));
    let executed = abi_signature("event", "Executed");
    assert_eq!(executed, "Executed(uint64,bytes32,address,bool,bytes)");
    assert_eq!(NexusGateway::Executed::SIGNATURE_HASH, keccak256(&executed));

    for (signature, selector) in [
        (NexusGateway::PayloadTooLarge::SIGNATURE, NexusGateway::PayloadTooLarge::SELECTOR),
        (NexusGateway::ZeroFunctionId::SIGNATURE, NexusGateway::ZeroFunctionId::SELECTOR),
        (NexusGateway::InvalidGroupKey::SIGNATURE, NexusGateway::InvalidGroupKey::SELECTOR),
        (NexusGateway::InvalidSignature::SIGNATURE, NexusGateway::InvalidSignature::SELECTOR),
        (NexusGateway::NonceUsed::SIGNATURE, NexusGateway::NonceUsed::SELECTOR),
        (NexusGateway::InvalidProof::SIGNATURE, NexusGateway::InvalidProof::SELECTOR),
        (NexusGateway::KeyNotSet::SIGNATURE, NexusGateway::KeyNotSet::SELECTOR),
        (NexusGateway::KeyAlreadySet::SIGNATURE, NexusGateway::KeyAlreadySet::SELECTOR),
        (NexusGateway::NotBootstrapper::SIGNATURE, NexusGateway::NotBootstrapper::SELECTOR),
        (NexusGateway::InsufficientGas::SIGNATURE, NexusGateway::InsufficientGas::SELECTOR),
        (NexusGateway::LengthMismatch::SIGNATURE, NexusGateway::LengthMismatch::SELECTOR),
    ] {
        let name = signature.split('(').next().expect("name");
        assert_eq!(abi_signature("error", name), signature);
        assert_eq!(hex::encode(selector), selector_hex(signature), "{signature}");
    }
}

/// A 32-byte ABI word holding `value`.
fn word(value: u64) -> [u8; 32] {
    U256::from(value).to_be_bytes()
}

#[test]
fn hand_built_function_called_log_decodes() {
    let gateway = address!("5FbDB2315678afecb367f032d93F642f64180aa3");
    let function_id = b256!("1111111111111111111111111111111111111111111111111111111111111111");
    let caller = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    let payload = b"hello, nexus: a payload longer than one 32-byte word".to_vec();

    // Non-indexed fields (value, payload): value, offset of the bytes, their length, then the
    // bytes right-padded to whole words.
    let mut data = Vec::new();
    data.extend_from_slice(&word(1_000_000_007));
    data.extend_from_slice(&word(0x40));
    data.extend_from_slice(&word(payload.len() as u64));
    data.extend_from_slice(&payload);
    data.resize(data.len().next_multiple_of(32), 0);

    let topics = vec![
        keccak256("FunctionCalled(bytes32,address,uint256,bytes)"),
        function_id,
        B256::left_padding_from(caller.as_slice()),
    ];
    let log = Log { address: gateway, data: LogData::new(topics, data.into()).expect("at most 4 topics") };

    let decoded = NexusGateway::FunctionCalled::decode_log(&log).expect("decodes");
    assert_eq!(decoded.address, gateway);
    assert_eq!(
        decoded.data,
        NexusGateway::FunctionCalled {
            functionId: function_id,
            caller,
            value: U256::from(1_000_000_007u64),
            payload: Bytes::from(payload),
        }
    );

    // A log of another event is not mistaken for a call.
    let mut other = log.clone();
    other.data = LogData::new_unchecked(
        vec![keccak256("GroupKeySet(uint64,bytes32,uint8)"), function_id, B256::ZERO],
        other.data.data,
    );
    assert!(NexusGateway::FunctionCalled::decode_log(&other).is_err());
}

#[test]
fn payload_too_large_revert_decodes() {
    let mut revert = keccak256("PayloadTooLarge(uint256,uint256)")[..4].to_vec();
    revert.extend_from_slice(&word(16 * 1024 + 1));
    revert.extend_from_slice(&word(16 * 1024));
    let error = NexusGateway::NexusGatewayErrors::abi_decode(&revert).expect("decodes");
    assert_eq!(
        error,
        NexusGateway::NexusGatewayErrors::PayloadTooLarge(NexusGateway::PayloadTooLarge {
            size: U256::from(16 * 1024 + 1),
            max: U256::from(16 * 1024),
        })
    );
}

#[test]
fn bytecode_is_the_artifact_s() {
    let artifact = artifact();
    for (bound, field) in
        [(&NexusGateway::BYTECODE, "bytecode"), (&NexusGateway::DEPLOYED_BYTECODE, "deployedBytecode")]
    {
        let object = artifact[field]["object"].as_str().expect("object");
        assert!(!bound.is_empty(), "{field} is empty");
        assert_eq!(format!("{bound}"), object, "{field}");
    }
    // The call encoding is the layout validators see in transactions: selector, id, offset of the
    // bytes, their length, then the bytes right-padded.
    let call = NexusGateway::callFunctionCall {
        functionId: B256::repeat_byte(7),
        payload: Bytes::from_static(b"x"),
    };
    let mut expected = NexusGateway::callFunctionCall::SELECTOR.to_vec();
    expected.extend_from_slice(&[7; 32]);
    expected.extend_from_slice(&word(0x40));
    expected.extend_from_slice(&word(1));
    expected.push(b'x');
    expected.resize(4 + 4 * 32, 0);
    assert_eq!(call.abi_encode(), expected);
}
