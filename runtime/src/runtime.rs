//! Loading functions and invoking their entry points.

use crate::cache::ModuleCache;
use crate::error::{DeployError, InvocationError};
use crate::host::{self, Event, HostState, HostTrap, LogLine, OutboundRequest};
use crate::profile::{self, DEFAULT_MEMORY_BYTES, MAX_CALL_DEPTH_UNITS, MAX_MEMORY_BYTES};
use crate::state::{Overlay, StateDiff, StateReader};
use crate::validate::{self, DEPTH_EXPORT, ModuleInfo};
use crate::{gas, instrument};
use nexus_types::abi::{TASK_CONTINUE, TASK_DONE};
use nexus_types::{Context, EntryPoint};
use nexus_wasi::{ProcExit, WasiConfig, WasiCtx};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use wasmtime::{Engine, Instance, InstancePre, Linker, Module, Store, Trap};

/// Bytes of stdout and of stderr kept per invocation.
pub const MAX_STDIO_BYTES: usize = 64 << 10;

/// The engine, the host functions and the compiled-module cache of one node.
pub struct Runtime<S: StateReader + Send + 'static> {
    engine: Engine,
    linker: Linker<HostState<S>>,
    cache: Option<ModuleCache>,
}

/// A validated, compiled function ready to be invoked.
pub struct Function<S: 'static> {
    /// `sha256` of the original module bytes: the function's code identity.
    pub code_hash: [u8; 32],
    /// What validation learned (manifest, entry points).
    pub info: ModuleInfo,
    pre: InstancePre<HostState<S>>,
}

impl<S> std::fmt::Debug for Function<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function").field("code_hash", &hex::encode(self.code_hash)).finish_non_exhaustive()
    }
}

/// One invocation's inputs.
#[derive(Debug, Clone)]
pub struct Call {
    /// Which entry point to run.
    pub entry: EntryPoint,
    /// The entry point's input (stdin for WASI commands).
    pub input: Vec<u8>,
    /// What the function may learn about its surroundings.
    pub context: Context,
    /// Fuel available, including [`gas::INVOCATION_BASE`].
    pub fuel: u64,
    /// Bytes of storage (keys + values + files) the function may hold after this invocation.
    pub storage_quota: u64,
    /// WASI arguments (`argv`, including `argv[0]`).
    pub args: Vec<String>,
    /// WASI environment variables.
    pub env: Vec<(String, String)>,
    /// Seed of the deterministic `random_get` stream.
    pub random_seed: [u8; 32],
    /// Extra WASI preopens `(guest path, directory in the function's filesystem)`; `/` is always there.
    pub preopens: Vec<(String, String)>,
}

impl Call {
    /// A call of `entry` with `input` and defaults for everything else.
    pub fn new(entry: EntryPoint, input: Vec<u8>) -> Self {
        Self {
            entry,
            input,
            context: Context::default(),
            fuel: 100_000_000,
            storage_quota: 64 << 20,
            args: vec!["function".into()],
            env: Vec::new(),
            random_seed: [0; 32],
            preopens: Vec::new(),
        }
    }
}

/// What a `on_task` invocation (or `task_schedule`) decided about further task invocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskControl {
    /// Nothing changes.
    None,
    /// Start calling `on_task` from the next block (`task_schedule` was called).
    Schedule,
    /// `on_task` wants to run again.
    Continue,
    /// `on_task` finished.
    Done,
}

/// Everything an invocation produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationResult {
    /// Success, or why it failed (then output, events, requests and diff are empty).
    pub outcome: Result<(), InvocationError>,
    /// The output (`output_write`, or stdout for WASI commands).
    pub output: Vec<u8>,
    /// Fuel consumed, including the fixed invocation cost.
    pub fuel_used: u64,
    /// Events emitted.
    pub events: Vec<Event>,
    /// Log lines (kept on failure too: they explain it).
    pub logs: Vec<LogLine>,
    /// Log lines dropped for exceeding the per-invocation budget.
    pub logs_dropped: u32,
    /// What the function wrote to stdout (reactors) — kept on failure.
    pub stdout: Vec<u8>,
    /// What the function wrote to stderr — kept on failure.
    pub stderr: Vec<u8>,
    /// Outbound requests for the chain.
    pub requests: Vec<OutboundRequest>,
    /// Task scheduling decision.
    pub task: TaskControl,
    /// State writes (key-value, files, metadata), sorted by key.
    pub diff: StateDiff,
}

impl<S: StateReader + Send + 'static> Runtime<S> {
    /// A runtime with the deterministic profile and, optionally, a compiled-module cache directory.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Self, DeployError> {
        let engine =
            Engine::new(&profile::engine_config()).map_err(|e| DeployError::Compile(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        nexus_wasi::add_to_linker(&mut linker).map_err(|e| DeployError::Compile(e.to_string()))?;
        host::add_to_linker(&mut linker).map_err(|e| DeployError::Compile(e.to_string()))?;
        let cache = cache_dir
            .map(|d| ModuleCache::open(d, &engine))
            .transpose()
            .map_err(|e| DeployError::Compile(format!("cannot open the module cache: {e}")))?;
        Ok(Self { engine, linker, cache })
    }

    /// The wasmtime engine (for benchmarks and tools).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Validates, instruments and compiles `wasm` (or loads it from the cache).
    pub fn load(&self, wasm: &[u8]) -> Result<Function<S>, DeployError> {
        let code_hash: [u8; 32] = Sha256::digest(wasm).into();
        let info = validate::analyze(wasm)?;
        let cached = self.cache.as_ref().and_then(|c| c.load(&self.engine, &code_hash));
        let module = match cached {
            Some(m) => m,
            None => {
                let instrumented = instrument::instrument(wasm, &info)?;
                let m = Module::new(&self.engine, &instrumented)
                    .map_err(|e| DeployError::Compile(e.to_string()))?;
                if let Some(c) = &self.cache {
                    // A cache that cannot be written only costs a recompile next time.
                    let _ = c.store(&code_hash, &m);
                }
                m
            }
        };
        self.finish_load(code_hash, info, &module)
    }

    /// Links an already-compiled module (from [`Runtime::load`] or the cache).
    fn finish_load(
        &self,
        code_hash: [u8; 32],
        info: ModuleInfo,
        module: &Module,
    ) -> Result<Function<S>, DeployError> {
        let pre = self.linker.instantiate_pre(module).map_err(|e| DeployError::Link(e.to_string()))?;
        Ok(Function { code_hash, info, pre })
    }

    /// Runs one entry point of `f` against `state`, returning the result and the state back.
    ///
    /// Never panics on anything the module does; every failure is in `outcome`.
    pub fn invoke(&self, f: &Function<S>, call: Call, state: S) -> (InvocationResult, S) {
        let memory_limit =
            f.info.manifest.limits.memory_bytes.unwrap_or(DEFAULT_MEMORY_BYTES).min(MAX_MEMORY_BYTES)
                as usize;
        let command = f.info.is_command();
        let wasi = WasiCtx::new(WasiConfig {
            args: call.args,
            env: call.env,
            stdin: if command { call.input.clone() } else { Vec::new() },
            time_ns: call.context.time_ns,
            random_seed: call.random_seed,
            max_output_bytes: MAX_STDIO_BYTES,
            preopens: call.preopens,
        });
        let host = HostState {
            overlay: Overlay::new(state, call.storage_quota),
            wasi,
            context: Context { entry: Some(call.entry), ..call.context },
            input: call.input,
            output: Vec::new(),
            ret: Vec::new(),
            events: Vec::new(),
            logs: Vec::new(),
            log_bytes: 0,
            logs_dropped: 0,
            requests: Vec::new(),
            task_scheduled: false,
            memory: None,
            memory_limit,
        };
        let mut store = Store::new(&self.engine, host);
        store.limiter(|h| h);
        let upfront =
            gas::INVOCATION_BASE + (f.info.initial_memory_bytes >> 16) * gas::INITIAL_MEMORY_PER_PAGE;
        let outcome = match call.fuel.checked_sub(upfront) {
            None => Err(InvocationError::OutOfGas),
            Some(fuel) => {
                store.set_fuel(fuel).expect("fuel is enabled in the profile");
                run(&mut store, f, call.entry)
            }
        };
        let fuel_left = store.get_fuel().unwrap_or(0);
        let fuel_used =
            if outcome == Err(InvocationError::OutOfGas) { call.fuel } else { call.fuel - fuel_left };
        let mut host = store.into_data();
        let (stdout, stderr) = host.wasi.take_output();
        let (stdout, stderr) = (stdout.bytes, stderr.bytes);
        let (task, outcome) = task_control(outcome, host.task_scheduled);
        // Queries may answer but never change anything; failures change nothing either.
        let keep = outcome.is_ok() && call.entry != EntryPoint::Query;
        let (diff, state) = host.overlay.into_parts(keep);
        let output = match (&outcome, command) {
            (Err(_), _) => Vec::new(),
            (Ok(()), true) => stdout.clone(),
            (Ok(()), false) => host.output,
        };
        let result = InvocationResult {
            outcome,
            output,
            fuel_used,
            events: if keep { host.events } else { Vec::new() },
            logs: host.logs,
            logs_dropped: host.logs_dropped,
            stdout,
            stderr,
            requests: if keep { host.requests } else { Vec::new() },
            task: if keep { task } else { TaskControl::None },
            diff,
        };
        (result, state)
    }
}

/// Turns `on_task`'s return value (or a `task_schedule` call) into the task decision.
fn task_control(
    outcome: Result<Option<i32>, InvocationError>,
    scheduled: bool,
) -> (TaskControl, Result<(), InvocationError>) {
    match outcome {
        Ok(Some(TASK_CONTINUE)) => (TaskControl::Continue, Ok(())),
        Ok(Some(TASK_DONE)) => (TaskControl::Done, Ok(())),
        Ok(Some(other)) => (
            TaskControl::None,
            Err(InvocationError::AbiViolation(format!(
                "on_task returned {other}, expected 0 (done) or 1 (continue)"
            ))),
        ),
        Ok(None) if scheduled => (TaskControl::Schedule, Ok(())),
        Ok(None) => (TaskControl::None, Ok(())),
        Err(e) => (TaskControl::None, Err(e)),
    }
}

/// Instantiates and runs the entry point; `Some(code)` is `on_task`'s return value.
fn run<S: StateReader + Send + 'static>(
    store: &mut Store<HostState<S>>,
    f: &Function<S>,
    entry: EntryPoint,
) -> Result<Option<i32>, InvocationError> {
    let entry = if entry == EntryPoint::Migrate && !f.info.entry_points.contains(&EntryPoint::Migrate) {
        EntryPoint::Init
    } else {
        entry
    };
    if !f.info.entry_points.contains(&entry) {
        return Err(InvocationError::MissingEntryPoint(entry.export_name()));
    }
    let instance = f.pre.instantiate(&mut *store).map_err(|e| classify(e, store, None))?;
    store.data_mut().memory = instance.get_memory(&mut *store, "memory");
    let call = |store: &mut Store<HostState<S>>, name: &str| -> Result<Option<i32>, InvocationError> {
        let r = if name == "on_task" {
            let func = instance.get_typed_func::<(), i32>(&mut *store, name);
            func.and_then(|func| func.call(&mut *store, ())).map(Some)
        } else {
            let func = instance.get_typed_func::<(), ()>(&mut *store, name);
            func.and_then(|func| func.call(&mut *store, ())).map(|()| None)
        };
        r.map_err(|e| classify(e, store, Some(&instance)))
    };
    if f.info.has_initialize && entry != EntryPoint::Start {
        call(store, "_initialize")?;
    }
    match call(store, entry.export_name()) {
        // A command's normal end: `proc_exit(0)` or returning from `_start`.
        Err(InvocationError::Exit(0)) => Ok(None),
        other => other,
    }
}

/// Maps an engine error to the stable enum.
fn classify<S: 'static>(
    e: wasmtime::Error,
    store: &mut Store<HostState<S>>,
    instance: Option<&Instance>,
) -> InvocationError {
    if let Some(t) = e.downcast_ref::<HostTrap>() {
        return match t {
            HostTrap::Abi(m) => InvocationError::AbiViolation(m.clone()),
            HostTrap::Quota => InvocationError::QuotaExceeded,
            HostTrap::Abort(m) => InvocationError::Aborted(m.clone()),
            HostTrap::MemoryLimit => InvocationError::MemoryLimit,
        };
    }
    if let Some(ProcExit(code)) = e.downcast_ref::<ProcExit>() {
        return InvocationError::Exit(*code);
    }
    let Some(trap) = e.downcast_ref::<Trap>() else {
        return InvocationError::Trap(e.to_string());
    };
    match trap {
        Trap::OutOfFuel => InvocationError::OutOfGas,
        Trap::UnreachableCodeReached => {
            let depth = instance
                .and_then(|i| i.get_global(&mut *store, DEPTH_EXPORT))
                .and_then(|g| g.get(&mut *store).i32())
                .map_or(0, |d| d as u32);
            if depth > MAX_CALL_DEPTH_UNITS {
                InvocationError::StackDepth
            } else {
                InvocationError::Unreachable
            }
        }
        Trap::MemoryOutOfBounds | Trap::HeapMisaligned => InvocationError::MemoryOutOfBounds,
        Trap::TableOutOfBounds | Trap::IndirectCallToNull | Trap::NullReference => {
            InvocationError::TableOutOfBounds
        }
        Trap::BadSignature => InvocationError::BadSignature,
        Trap::IntegerOverflow => InvocationError::IntegerOverflow,
        Trap::IntegerDivisionByZero => InvocationError::DivisionByZero,
        Trap::BadConversionToInteger => InvocationError::InvalidConversion,
        other => InvocationError::Trap(other.to_string()),
    }
}
