//! The Rust SDK for writing Nexus functions: entry-point attributes, storage, events, logs,
//! outbound requests and a mock host for native tests, over the `nexus` host ABI.
//!
//! A function is a `cdylib` crate compiled to `wasm32-wasip1`. Mark plain Rust functions with
//! an entry-point attribute; the attribute generates the exported wrapper that reads the input,
//! calls your function and writes its result, and embeds the manifest records (ABI version,
//! triggers) that `nexus deploy` reads:
//!
//! | attribute | export | input | typical use |
//! |---|---|---|---|
//! | [`#[init]`](init) | `init` | deploy arguments | set up state |
//! | [`#[migrate]`](migrate) | `migrate` | upgrade arguments | rewrite state for new code |
//! | [`#[on_call]`](on_call) | `on_call` | call payload | transactions, `send`s, Ethereum `callFunction` |
//! | [`#[on_eth_block]`](on_eth_block) | `on_eth_block` | [`EthBlock`] | every finalized Ethereum block |
//! | [`#[on_eth_log(..)]`](on_eth_log) | `on_eth_log` | [`EthLog`] | matching Ethereum logs |
//! | [`#[on_reply]`](on_reply) | `on_reply` | [`Reply`] | answers to [`eth_send`], [`request_proof`], [`send`] |
//! | [`#[on_task]`](on_task) | `on_task` | none | long computations, periodic work |
//! | [`#[query]`](query) | `query` | query payload | read-only views |
//!
//! The argument and return types each attribute accepts are listed in [`entry`]. A panic, an
//! [`abort`] or an `Err` return fails the invocation and rolls back all its writes.
//!
//! The generated export is a `pub fn` named after the entry point (`on_call()`, `query()`, …) in
//! the module of your function, which keeps its own name; natively, tests call the export after
//! setting the mock's input. A function already named like its export becomes the export itself.
//!
//! ```
//! use nexus_sdk::{kv::Item, testing::MockHost};
//!
//! static COUNT: Item<u64> = Item::new("count");
//!
//! #[nexus_sdk::on_call]
//! fn bump(by: String) -> Result<String, std::num::ParseIntError> {
//!     let n = COUNT.get_or_default() + by.trim().parse::<u64>()?;
//!     COUNT.set(&n);
//!     nexus_sdk::emit("bumped", n.to_le_bytes());
//!     Ok(n.to_string())
//! }
//!
//! // Natively the host calls go to a mock, so the logic is testable with `cargo test`.
//! let host = MockHost::new();
//! host.set_input("5");
//! on_call();
//! assert_eq!(host.output_string().as_deref(), Some("5"));
//! host.set_input("x");
//! assert!(host.invoke(on_call).is_err());
//! assert_eq!(COUNT.get(), Some(5));
//! ```
//!
//! Files work through plain `std::fs` (see [`fs`]); the clock (`std::time`) reads the block time.

pub mod entry;
pub mod fs;
pub mod kv;
pub mod log;
mod manifest;
mod sys;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use entry::{Json, TaskStatus};
pub use nexus_types::{
    self as types, Address, Context, EntryPoint, EthBlock, EthLog, Hash32, Reply, ReplyKind,
};

/// Marks the function run once at deploy: export `init`, input = deploy arguments.
///
/// ```
/// # use nexus_sdk::testing::MockHost;
/// #[nexus_sdk::init]
/// fn setup(owner: String) {
///     nexus_sdk::kv::set("owner", owner);
/// }
/// # let host = MockHost::new();
/// # host.set_input("ada");
/// # init();
/// # assert_eq!(host.kv_get("owner"), Some(b"ada".to_vec()));
/// ```
pub use nexus_sdk_macros::init;

/// Marks the function run at upgrade instead of `init`: export `migrate`, input = upgrade arguments.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// #[nexus_sdk::migrate]
/// fn upgrade() {
///     if let Some(v) = nexus_sdk::kv::get("old") {
///         nexus_sdk::kv::set("new", v);
///         nexus_sdk::kv::delete("old");
///     }
/// }
/// # host.kv_set("old", "1");
/// # migrate();
/// # assert_eq!(host.kv_get("new"), Some(b"1".to_vec()));
/// ```
pub use nexus_sdk_macros::migrate;

/// Marks the function that handles calls: export `on_call`, input = call payload.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// #[nexus_sdk::on_call]
/// fn echo(input: &[u8]) -> Vec<u8> {
///     input.to_vec()
/// }
/// # host.set_input([1, 2]);
/// # on_call();
/// # assert_eq!(host.output(), Some(vec![1, 2]));
/// ```
pub use nexus_sdk_macros::on_call;

/// Marks the function run for every finalized Ethereum block: export `on_eth_block`, input =
/// [`EthBlock`]; embeds the `EthBlocks` trigger.
///
/// ```
/// # use nexus_sdk::{EthBlock, types::Encode};
/// # let host = nexus_sdk::testing::MockHost::new();
/// #[nexus_sdk::on_eth_block]
/// fn track(block: EthBlock) {
///     nexus_sdk::kv::set("eth_height", block.number.to_le_bytes());
/// }
/// # host.set_input(EthBlock { number: 9, ..Default::default() }.encode());
/// # on_eth_block();
/// # assert_eq!(host.kv_get("eth_height"), Some(9u64.to_le_bytes().to_vec()));
/// ```
pub use nexus_sdk_macros::on_eth_block;

/// Marks the function run for matching Ethereum logs: export `on_eth_log`, input = [`EthLog`];
/// embeds an `EthLogs` trigger whose filter comes from the arguments `address = "0x…"` (20 bytes)
/// and `topic0` … `topic3 = "0x…"` (32 bytes each), all optional (omitted = match anything).
///
/// ```
/// # use nexus_sdk::{EthLog, types::Encode};
/// # let host = nexus_sdk::testing::MockHost::new();
/// #[nexus_sdk::on_eth_log(
///     address = "0x5FbDB2315678afecb367f032d93F642f64180aa3",
///     topic0 = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
/// )]
/// fn transfer(log: EthLog) {
///     nexus_sdk::emit("transfer", log.data);
/// }
/// # host.set_input(EthLog { data: vec![1], ..Default::default() }.encode());
/// # on_eth_log();
/// # assert_eq!(host.events()[0].data, [1]);
/// ```
pub use nexus_sdk_macros::on_eth_log;

/// Marks the function that receives answers to outbound requests: export `on_reply`, input = [`Reply`].
///
/// ```
/// # use nexus_sdk::{Reply, ReplyKind, types::Encode};
/// # let host = nexus_sdk::testing::MockHost::new();
/// #[nexus_sdk::on_reply]
/// fn answered(reply: Reply) -> Result<(), String> {
///     if !reply.ok {
///         return Err(format!("request {} failed", reply.request_id));
///     }
///     nexus_sdk::kv::set(format!("reply/{}", reply.request_id), reply.data);
///     Ok(())
/// }
/// # host.set_input(Reply { request_id: 0, kind: ReplyKind::Proof, ok: true, data: vec![7] }.encode());
/// # on_reply();
/// # assert_eq!(host.kv_get("reply/0"), Some(vec![7]));
/// ```
pub use nexus_sdk_macros::on_reply;

/// Marks the task function: export `on_task` (returns `i32`), no input. It runs each block after
/// [`task_schedule`] until it reports [`TaskStatus::Done`]; `#[on_task(every = N)]` also embeds an
/// `Every` trigger that runs it every `N` blocks.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// #[nexus_sdk::on_task(every = 10)]
/// fn tick() -> nexus_sdk::TaskStatus {
///     nexus_sdk::log::info!("tick at {}", nexus_sdk::block_height());
///     nexus_sdk::TaskStatus::Done
/// }
/// # assert_eq!(on_task(), 0);
/// ```
pub use nexus_sdk_macros::on_task;

/// Marks the read-only query handler: export `query`, input = query payload; writes are discarded.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// #[nexus_sdk::query]
/// fn get(key: String) -> Vec<u8> {
///     nexus_sdk::kv::get(key).unwrap_or_default()
/// }
/// # host.kv_set("a", "1");
/// # host.set_input("a");
/// # query();
/// # assert_eq!(host.output(), Some(b"1".to_vec()));
/// ```
pub use nexus_sdk_macros::query;

/// The raw input of the current entry point (the attributes read it for you).
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// host.set_input("payload");
/// assert_eq!(nexus_sdk::input(), b"payload");
/// ```
pub fn input() -> Vec<u8> {
    sys::input()
}

/// Sets the invocation's output, replacing any earlier one (at most 256 KiB).
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::output("first");
/// nexus_sdk::output("second");
/// assert_eq!(host.output_string().as_deref(), Some("second"));
/// ```
pub fn output(bytes: impl AsRef<[u8]>) {
    sys::output(bytes.as_ref());
}

/// Records an event (topic at most 256 bytes, data at most 256 KiB).
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::emit("transfer", [1, 2, 3]);
/// assert_eq!(host.events()[0].topic, b"transfer");
/// ```
pub fn emit(topic: impl AsRef<[u8]>, data: impl AsRef<[u8]>) {
    sys::emit(topic.as_ref(), data.as_ref());
}

/// Fails the invocation with `message`; none of its writes are kept.
///
/// ```should_panic
/// nexus_sdk::abort("invalid state");
/// ```
pub fn abort(message: &str) -> ! {
    sys::abort_with(message)
}

/// The environment of this invocation: chain, height, time, caller, self id, entry point, …
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// host.update_context(|c| c.value = 100);
/// assert_eq!(nexus_sdk::context().value, 100);
/// ```
pub fn context() -> Context {
    use nexus_types::Decode;
    Context::decode(&sys::context_bytes()).unwrap_or_else(|e| abort(&format!("host sent a bad context: {e}")))
}

/// The Nexus block height being executed.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// host.update_context(|c| c.height = 42);
/// assert_eq!(nexus_sdk::block_height(), 42);
/// ```
pub fn block_height() -> u64 {
    context().height
}

/// The block time as a duration since the Unix epoch (what `std::time` reports too).
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// host.update_context(|c| c.time_ns = 1_500_000_000);
/// assert_eq!(nexus_sdk::block_time().as_millis(), 1_500);
/// ```
pub fn block_time() -> core::time::Duration {
    core::time::Duration::from_nanos(context().time_ns)
}

/// Who invoked the function: the transaction signer, the calling function, or the Ethereum sender.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// host.update_context(|c| c.caller = [0xaa; 20]);
/// assert_eq!(nexus_sdk::caller(), [0xaa; 20]);
/// ```
pub fn caller() -> Address {
    context().caller
}

/// This function's own id.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// host.update_context(|c| c.self_id = [3; 32]);
/// assert_eq!(nexus_sdk::self_id(), [3; 32]);
/// ```
pub fn self_id() -> Hash32 {
    context().self_id
}

/// Fuel left in this invocation.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// host.set_gas_left(1_000);
/// assert_eq!(nexus_sdk::gas_left(), 1_000);
/// ```
pub fn gas_left() -> u64 {
    u64::try_from(sys::fuel_left()).unwrap_or(0)
}

/// Asks the chain to run `on_task` from the next block on, until it reports [`TaskStatus::Done`].
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::task_schedule();
/// assert!(host.task_scheduled());
/// ```
pub fn task_schedule() {
    sys::schedule_task();
}

/// Sends a threshold-signed message to the Ethereum contract `target`, with `data` as calldata
/// and `gas_limit` on Ethereum. Returns the request id; the outcome arrives in `on_reply`.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// let first = nexus_sdk::eth_send(&[0x11; 20], b"calldata", 100_000);
/// let second = nexus_sdk::eth_send(&[0x11; 20], b"more", 100_000);
/// assert_eq!((first, second), (0, 1));
/// ```
pub fn eth_send(target: &Address, data: &[u8], gas_limit: u64) -> u64 {
    sys::request_eth_send(target, data, gas_limit)
}

/// Asks for a zkVM proof of program `program_id` run on `input`. Returns the request id; the
/// program's output arrives in `on_reply` once the proof is verified.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// let id = nexus_sdk::request_proof(&[0x22; 32], &7u32.to_le_bytes());
/// assert_eq!(id, 0);
/// ```
pub fn request_proof(program_id: &Hash32, input: &[u8]) -> u64 {
    sys::request_zk_proof(program_id, input)
}

/// Calls the function `function_id` with `data` (and `value` native tokens) after this invocation
/// returns. Returns the request id; the callee's output arrives in `on_reply`.
///
/// ```
/// # use nexus_sdk::testing::{MockHost, Request};
/// # let host = MockHost::new();
/// let id = nexus_sdk::send(&[0x33; 32], b"hi", Some(5));
/// assert!(matches!(host.requests()[0], Request::Send { value: Some(5), .. }));
/// # assert_eq!(id, 0);
/// ```
pub fn send(function_id: &Hash32, data: &[u8], value: Option<u128>) -> u64 {
    sys::request_send(function_id, data, value)
}

/// Makes panics fail the invocation through the host's `abort` with the panic message and location.
///
/// The entry-point attributes call this; call it yourself only if you write exports by hand.
/// Natively it does nothing, so test failures keep Rust's usual report.
///
/// ```
/// nexus_sdk::install_panic_hook();
/// ```
pub fn install_panic_hook() {
    #[cfg(target_arch = "wasm32")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                let msg = info.payload_as_str().unwrap_or("panic");
                let text = match info.location() {
                    Some(l) => format!("panicked at {}:{}: {msg}", l.file(), l.line()),
                    None => format!("panicked: {msg}"),
                };
                sys::abort_with(&text)
            }));
        });
    }
}

/// Support for the macros' expansions; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::manifest::LimitsRecord;
    use crate::{EntryPoint, TaskStatus, sys};

    fn enter(entry: EntryPoint) {
        crate::install_panic_hook();
        #[cfg(not(target_arch = "wasm32"))]
        sys::enter(entry);
        #[cfg(target_arch = "wasm32")]
        let _ = entry;
    }

    /// Runs an entry point: its output is written, its error aborts the invocation.
    pub fn run(entry: EntryPoint, f: impl FnOnce() -> Result<Option<Vec<u8>>, String>) {
        enter(entry);
        match f() {
            Ok(Some(out)) => sys::output(&out),
            Ok(None) => {}
            Err(msg) => sys::abort_with(&msg),
        }
    }

    /// Runs `on_task` and returns the ABI's status code.
    pub fn run_task(f: impl FnOnce() -> Result<TaskStatus, String>) -> i32 {
        enter(EntryPoint::OnTask);
        match f() {
            Ok(status) => status.code(),
            Err(msg) => sys::abort_with(&msg),
        }
    }

    /// Reads and decodes the input as `T`.
    pub fn input<T: crate::entry::FromInput>() -> Result<T, String> {
        T::from_input(sys::input())
    }
}
