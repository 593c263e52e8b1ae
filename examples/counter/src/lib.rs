//! Example function: a counter kept in key-value storage.
//!
//! State layout, shared with `examples/c-counter` and `examples/go-counter` so one host test
//! can drive all three: key `count` holds the value as a `u64` little-endian.
//!
//! * `init` sets the counter to 0.
//! * `on_call` adds the input (decimal text; empty means 1), emits event `incremented` with the
//!   new value as decimal text, and outputs the new value.
//! * `query` outputs the current value as decimal text.

const KEY: &str = "count";

fn load() -> u64 {
    match nexus_sdk::kv::get(KEY) {
        None => 0,
        Some(bytes) => match <[u8; 8]>::try_from(bytes.as_slice()) {
            Ok(le) => u64::from_le_bytes(le),
            Err(_) => nexus_sdk::abort("stored count is not 8 bytes"),
        },
    }
}

#[nexus_sdk::init]
fn start() {
    nexus_sdk::kv::set(KEY, 0u64.to_le_bytes());
}

#[nexus_sdk::on_call]
fn increment(amount: &str) -> Result<String, String> {
    let amount = amount.trim();
    let by = if amount.is_empty() {
        1
    } else {
        amount.parse::<u64>().map_err(|e| format!("amount {amount:?} is not a whole number: {e}"))?
    };
    let value = load().checked_add(by).ok_or("counter would overflow")?;
    nexus_sdk::kv::set(KEY, value.to_le_bytes());
    nexus_sdk::emit("incremented", value.to_string());
    nexus_sdk::log::debug!("count +{by} = {value}");
    Ok(value.to_string())
}

#[nexus_sdk::query]
fn value() -> String {
    load().to_string()
}

// The mock host these tests run against exists only off wasm.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use nexus_sdk::testing::MockHost;

    #[test]
    fn counts_from_zero_by_the_given_amounts() {
        let host = MockHost::new();
        init();
        assert_eq!(host.kv_get(KEY), Some(0u64.to_le_bytes().to_vec()));
        host.set_input("");
        on_call();
        host.set_input(" 41\n");
        on_call();
        assert_eq!(host.output_string().as_deref(), Some("42"));
        assert_eq!(host.events().last().map(|e| e.data.clone()), Some(b"42".to_vec()));
        assert_eq!(host.events().len(), 2);
        query();
        assert_eq!(host.output_string().as_deref(), Some("42"));
    }

    #[test]
    fn bad_amounts_and_overflow_fail_without_changing_the_count() {
        let host = MockHost::new();
        host.kv_set(KEY, (u64::MAX - 1).to_le_bytes());
        host.set_input("two");
        assert!(host.invoke(on_call).unwrap_err().contains("not a whole number"));
        host.set_input("2");
        assert_eq!(host.invoke(on_call), Err("counter would overflow".to_string()));
        assert_eq!(host.kv_get(KEY), Some((u64::MAX - 1).to_le_bytes().to_vec()));
        assert!(host.events().is_empty());
    }

    #[test]
    fn a_corrupt_count_aborts() {
        let host = MockHost::new();
        host.kv_set(KEY, [1, 2, 3]);
        assert_eq!(host.invoke(query), Err("stored count is not 8 bytes".to_string()));
    }
}
