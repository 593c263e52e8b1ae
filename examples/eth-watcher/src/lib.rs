//! Example function: reacts to ERC-20 `Transfer(address indexed from, address indexed to, uint256
//! value)` logs in finalized Ethereum blocks. It adds each transfer's value to what the
//! recipient received from that token (key-value item `received/<token>/<to>`, a decimal
//! string) and emits event `transfer` with `<token> <from> <to> <value>`. `query` takes
//! `<token> <address>` (0x hex) and outputs the total received.

use nexus_sdk::EthLog;

fn key(token: &str, to: &str) -> String {
    format!("received/{}/{}", token.to_lowercase(), to.to_lowercase())
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

#[nexus_sdk::on_eth_log(topic0 = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")]
fn transfer(log: EthLog) -> Result<(), String> {
    let [_, from, to] = log.topics.as_slice() else {
        return Err(format!("a Transfer log has three topics, this one {}", log.topics.len()));
    };
    // Amounts beyond 128 bits are not tokens anyone holds; refuse rather than wrap.
    let value = <[u8; 32]>::try_from(log.data.as_slice())
        .ok()
        .filter(|word| word[..16].iter().all(|b| *b == 0))
        .map(|word| u128::from_be_bytes(word[16..].try_into().expect("16 bytes")))
        .ok_or_else(|| {
            format!("Transfer data is {} bytes, expected a uint256 below 2^128", log.data.len())
        })?;
    let (token, from, to) = (hex0x(&log.address), hex0x(&from[12..]), hex0x(&to[12..]));
    let item = key(&token, &to);
    let before: u128 = nexus_sdk::kv::get(item.as_bytes())
        .map(|b| String::from_utf8_lossy(&b).parse().unwrap_or(0))
        .unwrap_or(0);
    nexus_sdk::kv::set(item.as_bytes(), before.saturating_add(value).to_string().as_bytes());
    nexus_sdk::emit("transfer", format!("{token} {from} {to} {value}"));
    Ok(())
}

#[nexus_sdk::query]
fn received(input: String) -> Result<String, String> {
    let (token, address) = input.split_once(' ').ok_or("expected `<token> <address>`")?;
    let total = nexus_sdk::kv::get(key(token.trim(), address.trim()).as_bytes())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|| "0".into());
    Ok(total)
}

// The mock host these tests run against exists only off wasm.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use nexus_sdk::testing::MockHost;
    use nexus_sdk::types::Encode;

    /// keccak256("Transfer(address,address,uint256)").
    const TRANSFER: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

    fn topic(hex_str: &str) -> [u8; 32] {
        hex::decode(hex_str.trim_start_matches("0x")).unwrap().try_into().unwrap()
    }

    #[test]
    fn transfers_add_up_per_token_and_recipient() {
        let host = MockHost::new();
        let mut to = [0u8; 32];
        to[31] = 0xbb;
        let mut amount = [0u8; 32];
        amount[31] = 5;
        let log = EthLog {
            address: [0xaa; 20],
            topics: vec![topic(TRANSFER), [0; 32], to],
            data: amount.to_vec(),
            ..Default::default()
        };
        for _ in 0..2 {
            host.set_input(log.encode());
            assert!(host.invoke(on_eth_log).is_ok());
        }
        host.set_input(format!("{} 0x{}", hex0x(&[0xaa; 20]), "00".repeat(19) + "bb"));
        query();
        assert_eq!(host.output_string().as_deref(), Some("10"));
    }
}
