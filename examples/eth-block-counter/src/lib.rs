//! Example function: runs on every finalized Ethereum block and appends a line
//! `<number> 0x<hash> <base fee>` to `/blocks.txt`, so the file lists exactly the blocks the chain
//! processed, in order, and logs it. It keeps the count in key-value storage (item `count`);
//! `query` outputs `<count> blocks, last <number>`.

use std::fs::OpenOptions;
use std::io::Write;

use nexus_sdk::EthBlock;
use nexus_sdk::kv::Item;

static COUNT: Item<u64> = Item::new("count");
static LAST: Item<u64> = Item::new("last");

#[nexus_sdk::on_eth_block]
fn block(b: EthBlock) -> Result<(), String> {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(nexus_sdk::fs::root().join("blocks.txt"))
        .map_err(|e| format!("open /blocks.txt: {e}"))?;
    writeln!(file, "{} 0x{} {}", b.number, hex::encode(b.hash), b.base_fee)
        .map_err(|e| format!("append to /blocks.txt: {e}"))?;
    COUNT.set(&(COUNT.get().unwrap_or(0) + 1));
    LAST.set(&b.number);
    nexus_sdk::log::info!("ethereum block {} base fee {}", b.number, b.base_fee);
    Ok(())
}

#[nexus_sdk::query]
fn status() -> String {
    format!("{} blocks, last {}", COUNT.get().unwrap_or(0), LAST.get().unwrap_or(0))
}

// The mock host these tests run against exists only off wasm.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use nexus_sdk::testing::MockHost;
    use nexus_sdk::types::Encode;

    #[test]
    fn each_block_appends_its_line() {
        let host = MockHost::new();
        for number in [7u64, 8] {
            host.set_input(
                EthBlock { number, hash: [number as u8; 32], base_fee: 9, ..Default::default() }.encode(),
            );
            assert!(host.invoke(on_eth_block).is_ok());
        }
        let file = std::fs::read_to_string(nexus_sdk::fs::root().join("blocks.txt")).unwrap();
        assert!(file.ends_with(&format!("7 0x{} 9\n8 0x{} 9\n", "07".repeat(32), "08".repeat(32))), "{file}");
        query();
        assert_eq!(host.output_string().as_deref(), Some("2 blocks, last 8"));
    }
}
