//! An in-memory stand-in for the chain, so functions can be unit-tested natively with `cargo test`.
//!
//! On every target except wasm32 the SDK's host calls go to a thread-local mock instead of the
//! `nexus` imports. [`MockHost::new`] resets it and hands out a handle to set the input and
//! context and to inspect what the function did. Each test runs on its own thread, so tests don't
//! see each other's state. The mock enforces the ABI's size limits the way the real host does
//! (by failing), so a test catches a key or value the chain would refuse.
//!
//! ```
//! use nexus_sdk::testing::MockHost;
//!
//! #[nexus_sdk::on_call]
//! fn greet(name: String) -> String {
//!     nexus_sdk::kv::set("last", &name);
//!     format!("hello {name}")
//! }
//!
//! let host = MockHost::new();
//! host.set_input("ada");
//! on_call();
//! assert_eq!(host.output_string().as_deref(), Some("hello ada"));
//! assert_eq!(host.kv_get("last"), Some(b"ada".to_vec()));
//! ```

use crate::log::Level;
use nexus_types::abi::{
    ITER_EXCLUSIVE, ITER_REVERSE, MAX_KEY_LEN, MAX_PAYLOAD_LEN, MAX_TOPIC_LEN, MAX_VALUE_LEN,
};
use nexus_types::{Address, Context, EntryPoint, Hash32};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// An event the function emitted.
///
/// ```
/// let host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::emit("topic", [1]);
/// let e: nexus_sdk::testing::Event = host.events().remove(0);
/// assert_eq!((e.topic, e.data), (b"topic".to_vec(), vec![1]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event's topic.
    pub topic: Vec<u8>,
    /// The event's payload.
    pub data: Vec<u8>,
}

/// A log line the function wrote.
///
/// ```
/// use nexus_sdk::{log::Level, testing::{LogLine, MockHost}};
/// let host = MockHost::new();
/// nexus_sdk::log::error("oops");
/// assert_eq!(host.logs(), [LogLine { level: Level::Error, message: "oops".into() }]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its severity.
    pub level: Level,
    /// Its text.
    pub message: String,
}

/// An outbound request the function made; the chain would answer it later through `on_reply`.
///
/// ```
/// use nexus_sdk::testing::{MockHost, Request};
/// let host = MockHost::new();
/// nexus_sdk::eth_send(&[9; 20], b"call", 21_000);
/// let want = Request::EthSend { id: 0, target: [9; 20], data: b"call".to_vec(), gas_limit: 21_000 };
/// assert_eq!(host.requests(), [want]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// [`crate::eth_send`].
    EthSend {
        /// The id the call returned.
        id: u64,
        /// Ethereum contract to call.
        target: Address,
        /// Calldata.
        data: Vec<u8>,
        /// Gas limit on Ethereum.
        gas_limit: u64,
    },
    /// [`crate::request_proof`].
    Proof {
        /// The id the call returned.
        id: u64,
        /// zkVM program to prove.
        program_id: Hash32,
        /// The program's input.
        input: Vec<u8>,
    },
    /// [`crate::send`].
    Send {
        /// The id the call returned.
        id: u64,
        /// Function to call.
        function_id: Hash32,
        /// Its call payload.
        data: Vec<u8>,
        /// Native tokens attached.
        value: Option<u128>,
    },
}

#[derive(Clone, Default)]
struct Effects {
    output: Option<Vec<u8>>,
    kv: BTreeMap<Vec<u8>, Vec<u8>>,
    events: Vec<Event>,
    logs: Vec<LogLine>,
    requests: Vec<Request>,
    next_request_id: u64,
    task_scheduled: bool,
}

struct State {
    input: Vec<u8>,
    context: Context,
    gas: i64,
    effects: Effects,
    fs_root: Option<PathBuf>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            input: Vec::new(),
            context: Context { chain_id: "nexus-mock".into(), height: 1, ..Context::default() },
            gas: i64::MAX,
            effects: Effects::default(),
            fs_root: None,
        }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        if let Some(dir) = self.fs_root.take() {
            // Best effort: a leftover temp directory is harmless.
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

/// The real host traps on ABI misuse; the mock fails the test the same way.
fn check(ok: bool, what: &str) {
    if !ok {
        panic!("AbiViolation: {what}");
    }
}

/// Handle to this thread's mock host.
///
/// ```
/// let host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::emit("ping", b"");
/// assert_eq!(host.events().len(), 1);
/// ```
pub struct MockHost {
    // The state is thread-local; a handle moved to another thread would see a different mock.
    _not_send: PhantomData<*const ()>,
}

impl MockHost {
    /// Resets this thread's mock (empty storage, no input, default context) and returns a handle.
    ///
    /// ```
    /// use nexus_sdk::testing::MockHost;
    /// nexus_sdk::kv::set("k", "v");
    /// let host = MockHost::new();
    /// assert_eq!(host.kv_get("k"), None);
    /// ```
    #[allow(clippy::new_without_default)] // resetting global state should be explicit
    pub fn new() -> Self {
        with(|s| *s = State::default());
        Self { _not_send: PhantomData }
    }

    /// Sets the input the next entry point reads.
    ///
    /// ```
    /// let host = nexus_sdk::testing::MockHost::new();
    /// host.set_input([1, 2, 3]);
    /// assert_eq!(nexus_sdk::input(), vec![1, 2, 3]);
    /// ```
    pub fn set_input(&self, input: impl AsRef<[u8]>) {
        with(|s| s.input = input.as_ref().to_vec());
    }

    /// Replaces the invocation context that [`crate::context`] returns.
    ///
    /// ```
    /// let host = nexus_sdk::testing::MockHost::new();
    /// host.set_context(nexus_sdk::Context { height: 9, ..Default::default() });
    /// assert_eq!(nexus_sdk::block_height(), 9);
    /// ```
    pub fn set_context(&self, context: Context) {
        with(|s| s.context = context);
    }

    /// Changes the current context in place.
    ///
    /// ```
    /// let host = nexus_sdk::testing::MockHost::new();
    /// host.update_context(|c| c.caller = [7; 20]);
    /// assert_eq!(nexus_sdk::caller(), [7; 20]);
    /// ```
    pub fn update_context(&self, f: impl FnOnce(&mut Context)) {
        with(|s| f(&mut s.context));
    }

    /// Sets what [`crate::gas_left`] reports (the mock does not meter; it defaults to `i64::MAX`).
    ///
    /// ```
    /// let host = nexus_sdk::testing::MockHost::new();
    /// host.set_gas_left(500);
    /// assert_eq!(nexus_sdk::gas_left(), 500);
    /// ```
    pub fn set_gas_left(&self, gas: u64) {
        with(|s| s.gas = i64::try_from(gas).unwrap_or(i64::MAX));
    }

    /// The output the last entry point wrote, if any.
    ///
    /// ```
    /// let host = nexus_sdk::testing::MockHost::new();
    /// nexus_sdk::output(b"done");
    /// assert_eq!(host.output(), Some(b"done".to_vec()));
    /// ```
    pub fn output(&self) -> Option<Vec<u8>> {
        with(|s| s.effects.output.clone())
    }

    /// The output as UTF-8 text (lossily converted).
    ///
    /// ```
    /// let host = nexus_sdk::testing::MockHost::new();
    /// nexus_sdk::output("7");
    /// assert_eq!(host.output_string().as_deref(), Some("7"));
    /// ```
    pub fn output_string(&self) -> Option<String> {
        self.output().map(|o| String::from_utf8_lossy(&o).into_owned())
    }

    /// Reads a key straight from the mock's storage.
    ///
    /// ```
    /// let host = nexus_sdk::testing::MockHost::new();
    /// nexus_sdk::kv::set("a", "1");
    /// assert_eq!(host.kv_get("a"), Some(b"1".to_vec()));
    /// ```
    pub fn kv_get(&self, key: impl AsRef<[u8]>) -> Option<Vec<u8>> {
        with(|s| s.effects.kv.get(key.as_ref()).cloned())
    }

    /// Writes a key straight into the mock's storage (to set up a test).
    ///
    /// ```
    /// let host = nexus_sdk::testing::MockHost::new();
    /// host.kv_set("a", "1");
    /// assert_eq!(nexus_sdk::kv::get("a"), Some(b"1".to_vec()));
    /// ```
    pub fn kv_set(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        with(|s| s.effects.kv.insert(key.as_ref().to_vec(), value.as_ref().to_vec()));
    }

    /// A copy of all stored key-value pairs, in key order.
    ///
    /// ```
    /// let host = nexus_sdk::testing::MockHost::new();
    /// nexus_sdk::kv::set("b", "2");
    /// nexus_sdk::kv::set("a", "1");
    /// let keys: Vec<_> = host.kv().into_keys().collect();
    /// assert_eq!(keys, [b"a".to_vec(), b"b".to_vec()]);
    /// ```
    pub fn kv(&self) -> BTreeMap<Vec<u8>, Vec<u8>> {
        with(|s| s.effects.kv.clone())
    }

    /// Events emitted so far.
    ///
    /// ```
    /// use nexus_sdk::testing::{Event, MockHost};
    /// let host = MockHost::new();
    /// nexus_sdk::emit("t", "d");
    /// assert_eq!(host.events(), [Event { topic: b"t".to_vec(), data: b"d".to_vec() }]);
    /// ```
    pub fn events(&self) -> Vec<Event> {
        with(|s| s.effects.events.clone())
    }

    /// Log lines written so far.
    ///
    /// ```
    /// use nexus_sdk::log::Level;
    /// let host = nexus_sdk::testing::MockHost::new();
    /// nexus_sdk::log::warn!("low on {}", "gas");
    /// assert_eq!(host.logs()[0].level, Level::Warn);
    /// assert_eq!(host.logs()[0].message, "low on gas");
    /// ```
    pub fn logs(&self) -> Vec<LogLine> {
        with(|s| s.effects.logs.clone())
    }

    /// Outbound requests made so far.
    ///
    /// ```
    /// use nexus_sdk::testing::{MockHost, Request};
    /// let host = MockHost::new();
    /// let id = nexus_sdk::request_proof(&[1; 32], b"in");
    /// assert_eq!(host.requests(), [Request::Proof { id, program_id: [1; 32], input: b"in".to_vec() }]);
    /// ```
    pub fn requests(&self) -> Vec<Request> {
        with(|s| s.effects.requests.clone())
    }

    /// Whether the function called [`crate::task_schedule`].
    ///
    /// ```
    /// let host = nexus_sdk::testing::MockHost::new();
    /// assert!(!host.task_scheduled());
    /// nexus_sdk::task_schedule();
    /// assert!(host.task_scheduled());
    /// ```
    pub fn task_scheduled(&self) -> bool {
        with(|s| s.effects.task_scheduled)
    }

    /// Clears the per-invocation results (output, events, logs, requests, the task flag) but keeps
    /// storage and files, as between two invocations on chain.
    ///
    /// ```
    /// let host = nexus_sdk::testing::MockHost::new();
    /// nexus_sdk::emit("t", "");
    /// nexus_sdk::kv::set("k", "v");
    /// host.clear_effects();
    /// assert!(host.events().is_empty());
    /// assert_eq!(host.kv_get("k"), Some(b"v".to_vec()));
    /// ```
    pub fn clear_effects(&self) {
        with(|s| {
            let e = &mut s.effects;
            e.output = None;
            e.events.clear();
            e.logs.clear();
            e.requests.clear();
            e.task_scheduled = false;
        });
    }

    /// Runs one invocation the way the chain does: if it fails (a panic, [`crate::abort`], an
    /// entry point returning `Err`), every write it made is rolled back and the message returned.
    ///
    /// Files written through `std::fs` are not rolled back by the mock.
    ///
    /// ```
    /// use nexus_sdk::testing::MockHost;
    ///
    /// #[nexus_sdk::on_call]
    /// fn withdraw(amount: String) -> Result<(), String> {
    ///     nexus_sdk::kv::set("touched", "yes");
    ///     if amount == "too much" { return Err("insufficient funds".into()) }
    ///     Ok(())
    /// }
    ///
    /// let host = MockHost::new();
    /// host.set_input("too much");
    /// assert_eq!(host.invoke(on_call), Err("insufficient funds".to_string()));
    /// assert_eq!(host.kv_get("touched"), None);
    /// ```
    pub fn invoke<R>(&self, f: impl FnOnce() -> R) -> Result<R, String> {
        let before = with(|s| s.effects.clone());
        catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
            with(|s| s.effects = before);
            if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "panic with a non-string payload".to_string()
            }
        })
    }
}

impl Drop for MockHost {
    fn drop(&mut self) {
        with(|s| {
            if let Some(dir) = s.fs_root.take() {
                let _ = std::fs::remove_dir_all(dir);
            }
        });
    }
}

/// The native side of `crate::sys`: each function mirrors one `nexus` import.
pub(crate) mod host {
    use super::*;

    pub(crate) fn input() -> Vec<u8> {
        with(|s| s.input.clone())
    }

    pub(crate) fn output(bytes: &[u8]) {
        check(bytes.len() <= MAX_PAYLOAD_LEN, "output longer than 256 KiB");
        with(|s| s.effects.output = Some(bytes.to_vec()));
    }

    pub(crate) fn kv_get_value(key: &[u8]) -> Option<Vec<u8>> {
        check(key.len() <= MAX_KEY_LEN, "key longer than 1 KiB");
        with(|s| s.effects.kv.get(key).cloned())
    }

    pub(crate) fn kv_set_value(key: &[u8], value: &[u8]) {
        check(key.len() <= MAX_KEY_LEN, "key longer than 1 KiB");
        check(value.len() <= MAX_VALUE_LEN, "value longer than 1 MiB");
        with(|s| s.effects.kv.insert(key.to_vec(), value.to_vec()));
    }

    pub(crate) fn kv_remove(key: &[u8]) -> bool {
        check(key.len() <= MAX_KEY_LEN, "key longer than 1 KiB");
        with(|s| s.effects.kv.remove(key).is_some())
    }

    pub(crate) fn kv_next_entry(start: &[u8], flags: i32) -> Option<(Vec<u8>, Vec<u8>)> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        check(start.len() <= MAX_KEY_LEN, "key longer than 1 KiB");
        check(flags & !(ITER_EXCLUSIVE | ITER_REVERSE) == 0, "unknown kv_next flags");
        let bound = if flags & ITER_EXCLUSIVE != 0 { Excluded(start) } else { Included(start) };
        with(|s| {
            let kv = &s.effects.kv;
            let found = if flags & ITER_REVERSE == 0 {
                kv.range::<[u8], _>((bound, Unbounded)).next()
            } else if start.is_empty() {
                kv.iter().next_back()
            } else {
                kv.range::<[u8], _>((Unbounded, bound)).next_back()
            };
            found.map(|(k, v)| (k.clone(), v.clone()))
        })
    }

    pub(crate) fn emit(topic: &[u8], data: &[u8]) {
        check(topic.len() <= MAX_TOPIC_LEN, "event topic longer than 256 bytes");
        check(data.len() <= MAX_PAYLOAD_LEN, "event data longer than 256 KiB");
        with(|s| s.effects.events.push(Event { topic: topic.to_vec(), data: data.to_vec() }));
    }

    pub(crate) fn log_line(level: i32, message: &str) {
        check(message.len() <= MAX_PAYLOAD_LEN, "log line longer than 256 KiB");
        let level = Level::from_abi(level).unwrap_or(Level::Error);
        with(|s| s.effects.logs.push(LogLine { level, message: message.to_string() }));
    }

    pub(crate) fn context_bytes() -> Vec<u8> {
        use nexus_types::Encode;
        with(|s| s.context.encode())
    }

    pub(crate) fn fuel_left() -> i64 {
        with(|s| s.gas)
    }

    pub(crate) fn abort_with(message: &str) -> ! {
        // Unwinding lets `MockHost::invoke` (or `#[should_panic]`) observe the failure.
        panic!("{message}")
    }

    pub(crate) fn schedule_task() {
        with(|s| s.effects.task_scheduled = true);
    }

    fn request(make: impl FnOnce(u64) -> Request) -> u64 {
        with(|s| {
            let id = s.effects.next_request_id;
            s.effects.next_request_id += 1;
            s.effects.requests.push(make(id));
            id
        })
    }

    pub(crate) fn request_eth_send(target: &Address, data: &[u8], gas_limit: u64) -> u64 {
        check(data.len() <= MAX_PAYLOAD_LEN, "eth_send data longer than 256 KiB");
        request(|id| Request::EthSend { id, target: *target, data: data.to_vec(), gas_limit })
    }

    pub(crate) fn request_zk_proof(program_id: &Hash32, input: &[u8]) -> u64 {
        check(input.len() <= MAX_PAYLOAD_LEN, "proof input longer than 256 KiB");
        request(|id| Request::Proof { id, program_id: *program_id, input: input.to_vec() })
    }

    pub(crate) fn request_send(function_id: &Hash32, data: &[u8], value: Option<u128>) -> u64 {
        check(data.len() <= MAX_PAYLOAD_LEN, "send data longer than 256 KiB");
        request(|id| Request::Send { id, function_id: *function_id, data: data.to_vec(), value })
    }

    /// Records which entry point runs, as the chain does in the context.
    pub(crate) fn enter(entry: EntryPoint) {
        with(|s| s.context.entry = Some(entry));
    }

    /// A per-thread temporary directory standing in for the function's `/`.
    pub(crate) fn fs_root() -> PathBuf {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        with(|s| {
            s.fs_root
                .get_or_insert_with(|| {
                    let n = NEXT.fetch_add(1, Ordering::Relaxed);
                    let dir = std::env::temp_dir().join(format!("nexus-mock-{}-{n}", std::process::id()));
                    std::fs::create_dir_all(&dir)
                        .unwrap_or_else(|e| panic!("cannot create mock root {}: {e}", dir.display()));
                    dir
                })
                .clone()
        })
    }
}
