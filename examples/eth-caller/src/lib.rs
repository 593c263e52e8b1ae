//! Example function: what Ethereum contracts send through the `NexusGateway`. Each
//! `callFunction(thisFunctionId, payload)` on Ethereum, once its block is finalized, runs
//! `on_call` with the payload as input, the Ethereum sender as caller and the attached wei as
//! value; the function appends `0x<caller> <value> 0x<payload>` to `/calls.txt` and counts the
//! calls (item `calls`). Nexus transactions may call it too. `query` outputs the count.

use std::fs::OpenOptions;
use std::io::Write;

use nexus_sdk::kv::Item;

static CALLS: Item<u64> = Item::new("calls");

#[nexus_sdk::on_call]
fn call(payload: Vec<u8>) -> Result<(), String> {
    let context = nexus_sdk::context();
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(nexus_sdk::fs::root().join("calls.txt"))
        .map_err(|e| format!("open /calls.txt: {e}"))?;
    writeln!(file, "0x{} {} 0x{}", hex::encode(context.caller), context.value, hex::encode(&payload))
        .map_err(|e| format!("append to /calls.txt: {e}"))?;
    CALLS.set(&(CALLS.get().unwrap_or(0) + 1));
    Ok(())
}

#[nexus_sdk::query]
fn count() -> String {
    CALLS.get().unwrap_or(0).to_string()
}

// The mock host these tests run against exists only off wasm.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use nexus_sdk::testing::MockHost;

    #[test]
    fn each_call_is_recorded_with_its_caller_and_value() {
        let host = MockHost::new();
        host.update_context(|c| {
            c.caller = [0x11; 20];
            c.value = 42;
        });
        host.set_input(b"hi");
        assert!(host.invoke(on_call).is_ok());
        let file = std::fs::read_to_string(nexus_sdk::fs::root().join("calls.txt")).unwrap();
        assert!(file.ends_with(&format!("0x{} 42 0x6869\n", "11".repeat(20))), "{file}");
        query();
        assert_eq!(host.output_string().as_deref(), Some("1"));
    }
}
