//! Example function: a heartbeat that fires on its own every block, with no transaction.
//!
//! The chain invokes `on_task` every block (`every = 1`): it counts the tick in key-value storage
//! (item `ticks`), logs it, emits event `tick` with the height, and appends
//! a line `height <h> time <unix seconds>` to `/ticks.log` through `std::fs`. `query` outputs
//! `<ticks> ticks, last at height <h>`.

use std::fs::OpenOptions;
use std::io::Write;

use nexus_sdk::TaskStatus;
use nexus_sdk::kv::Item;

static TICKS: Item<u64> = Item::new("ticks");
static LAST: Item<u64> = Item::new("last");

#[nexus_sdk::on_task(every = 1)]
fn tick() -> Result<TaskStatus, String> {
    let height = nexus_sdk::block_height();
    let ticks = TICKS.get().unwrap_or(0) + 1;
    TICKS.set(&ticks);
    LAST.set(&height);
    let mut log = OpenOptions::new()
        .append(true)
        .create(true)
        .open(nexus_sdk::fs::root().join("ticks.log"))
        .map_err(|e| format!("open /ticks.log: {e}"))?;
    writeln!(log, "height {height} time {}", nexus_sdk::block_time().as_secs())
        .map_err(|e| format!("append to /ticks.log: {e}"))?;
    nexus_sdk::log::info!("tick {ticks} at height {height}");
    nexus_sdk::emit("tick", height.to_string());
    Ok(TaskStatus::Done)
}

#[nexus_sdk::query]
fn status() -> String {
    format!("{} ticks, last at height {}", TICKS.get().unwrap_or(0), LAST.get().unwrap_or(0))
}

// The mock host these tests run against exists only off wasm.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use nexus_sdk::testing::MockHost;

    #[test]
    fn each_tick_counts_logs_and_appends_a_line() {
        let host = MockHost::new();
        for height in [5, 6] {
            host.update_context(|c| {
                c.height = height;
                c.time_ns = height * 1_000_000_000;
            });
            assert_eq!(host.invoke(on_task), Ok(TaskStatus::Done.code()));
        }
        query();
        assert_eq!(host.output_string().as_deref(), Some("2 ticks, last at height 6"));
        assert_eq!(
            host.events().iter().map(|e| e.data.clone()).collect::<Vec<_>>(),
            vec![b"5".to_vec(), b"6".to_vec()]
        );
        let log = std::fs::read_to_string(nexus_sdk::fs::root().join("ticks.log")).expect("log file");
        assert!(log.ends_with("height 5 time 5\nheight 6 time 6\n"), "{log}");
    }
}
