//! Example function: messages to Ethereum. `on_call` with input `target (20 bytes) ‖ calldata`
//! sends `calldata` to the contract `target` through the `NexusGateway`: the validators sign it
//! with their threshold key, a relayer submits it, and the gateway calls the target. When the
//! execution is seen on Ethereum, `on_reply` appends `<request id> ok|failed` to `/replies.txt`.
//! Every send is logged (`nexus logs` shows request → signed → executed).

use std::fs::OpenOptions;
use std::io::Write;

/// Gas the target call gets on Ethereum.
const GAS_LIMIT: u64 = 200_000;

#[nexus_sdk::on_call]
fn call(input: Vec<u8>) -> Result<(), String> {
    let (target, calldata) =
        input.split_first_chunk::<20>().ok_or("input: a 20-byte target, then calldata")?;
    let id = nexus_sdk::eth_send(target, calldata, GAS_LIMIT);
    nexus_sdk::log::info(format!("request {id}: {} bytes to 0x{}", calldata.len(), hex(target)));
    Ok(())
}

#[nexus_sdk::on_reply]
fn reply(r: nexus_sdk::Reply) -> Result<(), String> {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(nexus_sdk::fs::root().join("replies.txt"))
        .map_err(|e| format!("open /replies.txt: {e}"))?;
    let outcome = if r.ok { "ok" } else { "failed" };
    writeln!(file, "{} {outcome}", r.request_id).map_err(|e| format!("append to /replies.txt: {e}"))?;
    nexus_sdk::log::info(format!("request {}: executed on Ethereum ({outcome})", r.request_id));
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// The mock host these tests run against exists only off wasm.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use nexus_sdk::testing::{MockHost, Request};
    use nexus_sdk::{Reply, ReplyKind, types::Encode};

    #[test]
    fn a_call_sends_its_calldata_and_the_reply_is_recorded() {
        let host = MockHost::new();
        host.set_input([[0x22; 20].as_slice(), b"mint"].concat());
        assert!(host.invoke(on_call).is_ok());
        assert_eq!(
            host.requests(),
            vec![Request::EthSend {
                id: 0,
                target: [0x22; 20],
                data: b"mint".to_vec(),
                gas_limit: GAS_LIMIT
            }]
        );
        host.set_input(Reply { request_id: 0, kind: ReplyKind::EthSend, ok: true, data: vec![] }.encode());
        assert!(host.invoke(on_reply).is_ok());
        let file = std::fs::read_to_string(nexus_sdk::fs::root().join("replies.txt")).unwrap();
        assert!(file.ends_with("0 ok\n"), "{file}");
        host.set_input(b"short");
        assert!(host.invoke(on_call).is_err());
    }
}
