//! Example function: a long sum computed over many on_task invocations.
//!
//! A computation too big for one block's fuel is split into slices: `on_call` with input `N`
//! (decimal text) starts summing `1..=N` and calls `task_schedule`; each `on_task` adds at most
//! [`SLICE`] numbers, checkpoints its progress in key-value storage and asks to run again until
//! it is done, then stores the result and emits event `sum` with it as decimal text. `query`
//! outputs the progress as JSON: `{"n":N,"next":K,"sum":S,"done":bool}`.

use nexus_sdk::kv::Item;
use nexus_sdk::{Json, TaskStatus};
use serde::{Deserialize, Serialize};

/// Numbers added per `on_task` invocation: small enough for one block's default fuel.
pub const SLICE: u64 = 10_000;

/// The checkpointed state of the current (or last) sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The sum runs over `1..=n`.
    pub n: u64,
    /// The next number to add.
    pub next: u64,
    /// The sum of `1..next`.
    pub sum: u128,
    /// Whether `next > n`.
    pub done: bool,
}

static PROGRESS: Item<Progress> = Item::new("progress");

#[nexus_sdk::on_call]
fn start(n: &str) -> Result<String, String> {
    let n: u64 = n.trim().parse().map_err(|e| format!("N must be a whole number: {e}"))?;
    if PROGRESS.get().is_some_and(|p| !p.done) {
        return Err("a sum is already running; query its progress".into());
    }
    PROGRESS.set(&Progress { n, next: 1, sum: 0, done: false });
    nexus_sdk::task_schedule();
    Ok(format!("summing 1..={n} in slices of {SLICE}"))
}

#[nexus_sdk::on_task]
fn step() -> Result<TaskStatus, &'static str> {
    let Some(mut p) = PROGRESS.get() else { return Err("on_task ran with no sum started") };
    if p.done {
        return Ok(TaskStatus::Done);
    }
    let end = p.n.min(p.next.saturating_add(SLICE - 1));
    // `end` may be u64::MAX, so count with an inclusive range rather than `next += 1` past it.
    for i in p.next..=end {
        p.sum += u128::from(i);
    }
    p.next = end.saturating_add(1);
    p.done = end == p.n;
    PROGRESS.set(&p);
    if p.done {
        nexus_sdk::emit("sum", p.sum.to_string());
        Ok(TaskStatus::Done)
    } else {
        Ok(TaskStatus::Continue)
    }
}

#[nexus_sdk::query]
fn progress() -> Json<Option<Progress>> {
    Json(PROGRESS.get())
}

// The mock host these tests run against exists only off wasm.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use nexus_sdk::testing::MockHost;

    /// Runs `on_task` the way the chain does, block after block, and counts the invocations.
    fn run_to_completion(host: &MockHost) -> u32 {
        let mut runs = 0;
        loop {
            runs += 1;
            assert!(runs < 1_000, "task never finished");
            if host.invoke(on_task).unwrap() == TaskStatus::Done.code() {
                return runs;
            }
        }
    }

    #[test]
    fn the_sum_is_spread_over_slices_and_matches_the_formula() {
        let host = MockHost::new();
        let n = 3 * SLICE + 7;
        host.set_input(n.to_string());
        on_call();
        assert!(host.task_scheduled());
        assert_eq!(host.invoke(on_task), Ok(TaskStatus::Continue.code()));
        query();
        assert_eq!(
            host.output_string().as_deref(),
            Some(
                format!(r#"{{"n":{n},"next":{},"sum":{},"done":false}}"#, SLICE + 1, SLICE * (SLICE + 1) / 2)
                    .as_str()
            )
        );
        assert_eq!(run_to_completion(&host), 3);
        let want = u128::from(n) * u128::from(n + 1) / 2;
        assert_eq!(PROGRESS.get(), Some(Progress { n, next: n + 1, sum: want, done: true }));
        assert_eq!(host.events().last().map(|e| e.data.clone()), Some(want.to_string().into_bytes()));
    }

    #[test]
    fn a_second_start_waits_for_the_first_sum() {
        let host = MockHost::new();
        host.set_input("5");
        on_call();
        assert!(host.invoke(on_call).unwrap_err().contains("already running"));
        assert_eq!(run_to_completion(&host), 1);
        assert_eq!(PROGRESS.get().map(|p| p.sum), Some(15));
        host.set_input("0");
        on_call();
        assert_eq!(run_to_completion(&host), 1);
        assert_eq!(PROGRESS.get().map(|p| (p.sum, p.done)), Some((0, true)));
    }

    #[test]
    fn the_largest_n_does_not_overflow_the_cursor() {
        let _host = MockHost::new();
        PROGRESS.set(&Progress { n: u64::MAX, next: u64::MAX - 2, sum: 0, done: false });
        assert_eq!(on_task(), TaskStatus::Done.code());
        let p = PROGRESS.get().unwrap();
        assert_eq!(p.sum, 3 * u128::from(u64::MAX) - 3);
        assert!(p.done);
    }

    #[test]
    fn a_task_without_a_sum_fails() {
        let host = MockHost::new();
        assert_eq!(host.invoke(on_task), Err("on_task ran with no sum started".to_string()));
    }
}
