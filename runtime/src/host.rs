//! The `nexus` host functions (see `functions-sdk/ABI.md`) and the per-invocation store data.

use crate::state::{NS_KV, Overlay, StateReader};
use nexus_types::abi::{self, IMPORT_MODULE, ITER_EXCLUSIVE, ITER_REVERSE, NOT_FOUND};
use nexus_types::{Address, Context, Encode, Hash32};
use nexus_wasi::gas::charge;
use nexus_wasi::{WasiCtx, WasiView};
use std::fmt;
use wasmtime::{Caller, Extern, Linker, Memory, ResourceLimiter};

/// Most events one invocation may emit.
pub const MAX_EVENTS: usize = 1024;
/// Most outbound requests one invocation may make.
pub const MAX_REQUESTS: usize = 256;
/// Bytes of log text kept per invocation; further lines are dropped and counted.
pub const MAX_LOG_BYTES: usize = 64 << 10;

/// An event a function emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Topic, chosen by the function.
    pub topic: Vec<u8>,
    /// Payload.
    pub data: Vec<u8>,
}

/// A log line a function wrote with `log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Level (see `nexus_types::abi::log_level`).
    pub level: i32,
    /// The message (lossily decoded UTF-8).
    pub message: String,
}

/// Asynchronous work an invocation asked for; the chain carries it out after the invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundRequest {
    /// A message to an Ethereum contract, to be threshold-signed by the validators.
    EthSend {
        /// Request id (per function).
        id: u64,
        /// Target contract.
        target: Address,
        /// Calldata.
        data: Vec<u8>,
        /// Gas the gateway should forward.
        gas_limit: u64,
    },
    /// A zkVM proof of a program on an input.
    Proof {
        /// Request id (per function).
        id: u64,
        /// The program to prove.
        program_id: Hash32,
        /// Its input.
        input: Vec<u8>,
    },
    /// A call of another function.
    Send {
        /// Request id (per function).
        id: u64,
        /// The function to call.
        function: Hash32,
        /// Its input.
        data: Vec<u8>,
        /// Native tokens to attach.
        value: u128,
    },
}

/// Why a host call stopped the invocation; mapped to `InvocationError` by the runtime.
#[derive(Debug)]
pub(crate) enum HostTrap {
    Abi(String),
    Quota,
    Abort(String),
    MemoryLimit,
}

impl fmt::Display for HostTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Abi(m) => write!(f, "ABI violation: {m}"),
            Self::Quota => f.write_str("storage quota exceeded"),
            Self::Abort(m) => write!(f, "aborted: {m}"),
            Self::MemoryLimit => f.write_str("memory limit exceeded"),
        }
    }
}

impl std::error::Error for HostTrap {}

fn abi(msg: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::new(HostTrap::Abi(msg.into()))
}

/// Everything one invocation's store holds.
pub(crate) struct HostState<S> {
    pub overlay: Overlay<S>,
    pub wasi: WasiCtx,
    pub context: Context,
    pub input: Vec<u8>,
    pub output: Vec<u8>,
    pub ret: Vec<u8>,
    pub events: Vec<Event>,
    pub logs: Vec<LogLine>,
    pub log_bytes: usize,
    pub logs_dropped: u32,
    pub requests: Vec<OutboundRequest>,
    pub task_scheduled: bool,
    pub memory: Option<Memory>,
    pub memory_limit: usize,
}

impl<S: StateReader + Send + 'static> WasiView for HostState<S> {
    fn wasi_parts(&mut self) -> (&mut WasiCtx, &mut dyn nexus_wasi::Storage) {
        (&mut self.wasi, &mut self.overlay)
    }
}

impl<S: Send> ResourceLimiter for HostState<S> {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Trapping (instead of returning -1 to `memory.grow`) gives the author a clear error
        // where an allocator would otherwise abort with a bare `unreachable`.
        if desired > self.memory_limit { Err(wasmtime::Error::new(HostTrap::MemoryLimit)) } else { Ok(true) }
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > crate::profile::MAX_TABLE_ELEMENTS {
            Err(wasmtime::Error::new(HostTrap::MemoryLimit))
        } else {
            Ok(true)
        }
    }
}

fn memory<S: 'static>(caller: &mut Caller<'_, HostState<S>>) -> wasmtime::Result<Memory> {
    if let Some(m) = caller.data().memory {
        return Ok(m);
    }
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => {
            caller.data_mut().memory = Some(m);
            Ok(m)
        }
        _ => Err(abi("the module exports no memory named `memory`")),
    }
}

fn check_len(what: &str, len: i32, max: usize) -> wasmtime::Result<usize> {
    let len = usize::try_from(len).map_err(|_| abi(format!("negative {what} length")))?;
    if len > max {
        return Err(abi(format!("{what} of {len} bytes exceeds the limit of {max}")));
    }
    Ok(len)
}

fn read_bytes<S: 'static>(
    caller: &mut Caller<'_, HostState<S>>,
    what: &str,
    ptr: i32,
    len: i32,
    max: usize,
) -> wasmtime::Result<Vec<u8>> {
    let len = check_len(what, len, max)?;
    charge(caller, len as u64)?;
    let mem = memory(caller)?;
    let start = ptr as u32 as usize;
    mem.data(&caller)
        .get(start..start.saturating_add(len))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| abi(format!("{what} at {start:#x}+{len} is outside memory")))
}

fn write_bytes<S: 'static>(
    caller: &mut Caller<'_, HostState<S>>,
    ptr: i32,
    bytes: &[u8],
) -> wasmtime::Result<()> {
    charge(caller, bytes.len() as u64)?;
    let mem = memory(caller)?;
    let start = ptr as u32 as usize;
    mem.data_mut(caller)
        .get_mut(start..start.saturating_add(bytes.len()))
        .ok_or_else(|| abi(format!("destination at {start:#x}+{} is outside memory", bytes.len())))?
        .copy_from_slice(bytes);
    Ok(())
}

fn read_array<const N: usize, S: 'static>(
    caller: &mut Caller<'_, HostState<S>>,
    what: &str,
    ptr: i32,
) -> wasmtime::Result<[u8; N]> {
    let v = read_bytes(caller, what, ptr, N as i32, N)?;
    Ok(v.try_into().unwrap_or([0; N]))
}

fn set_ret<S>(caller: &mut Caller<'_, HostState<S>>, bytes: Vec<u8>) -> i32 {
    let len = bytes.len() as i32;
    caller.data_mut().ret = bytes;
    len
}

fn kv_key(user_key: Vec<u8>) -> Vec<u8> {
    let mut k = Vec::with_capacity(user_key.len() + 1);
    k.push(NS_KV);
    k.extend(user_key);
    k
}

fn push_request<S: StateReader>(
    caller: &mut Caller<'_, HostState<S>>,
    make: impl FnOnce(u64) -> OutboundRequest,
) -> wasmtime::Result<i64> {
    let state = caller.data_mut();
    if state.requests.len() >= MAX_REQUESTS {
        return Err(abi(format!("more than {MAX_REQUESTS} outbound requests in one invocation")));
    }
    let id = state.overlay.take_request_id();
    state.requests.push(make(id));
    Ok(id as i64)
}

/// Defines every `nexus` host function on `linker`.
pub(crate) fn add_to_linker<S: StateReader + Send + 'static>(
    linker: &mut Linker<HostState<S>>,
) -> wasmtime::Result<()> {
    let m = IMPORT_MODULE;
    linker.func_wrap(m, "input_len", |mut c: Caller<'_, HostState<S>>| -> wasmtime::Result<i32> {
        charge(&mut c, 0)?;
        Ok(c.data().input.len() as i32)
    })?;
    linker.func_wrap(m, "input_read", |mut c: Caller<'_, HostState<S>>, ptr: i32| {
        let input = std::mem::take(&mut c.data_mut().input);
        let r = write_bytes(&mut c, ptr, &input);
        c.data_mut().input = input;
        r
    })?;
    linker.func_wrap(m, "output_write", |mut c: Caller<'_, HostState<S>>, ptr: i32, len: i32| {
        let out = read_bytes(&mut c, "output", ptr, len, abi::MAX_PAYLOAD_LEN)?;
        c.data_mut().output = out;
        Ok(())
    })?;
    linker.func_wrap(m, "ret_read", |mut c: Caller<'_, HostState<S>>, ptr: i32| {
        let ret = std::mem::take(&mut c.data_mut().ret);
        let r = write_bytes(&mut c, ptr, &ret);
        c.data_mut().ret = ret;
        r
    })?;
    linker.func_wrap(
        m,
        "kv_get",
        |mut c: Caller<'_, HostState<S>>, kp: i32, kl: i32| -> wasmtime::Result<i32> {
            let key = kv_key(read_bytes(&mut c, "key", kp, kl, abi::MAX_KEY_LEN)?);
            match c.data().overlay.get(&key) {
                Some(v) => {
                    charge(&mut c, v.len() as u64)?;
                    Ok(set_ret(&mut c, v))
                }
                None => Ok(NOT_FOUND),
            }
        },
    )?;
    linker.func_wrap(
        m,
        "kv_set",
        |mut c: Caller<'_, HostState<S>>, kp: i32, kl: i32, vp: i32, vl: i32| {
            let key = kv_key(read_bytes(&mut c, "key", kp, kl, abi::MAX_KEY_LEN)?);
            let value = read_bytes(&mut c, "value", vp, vl, abi::MAX_VALUE_LEN)?;
            c.data_mut().overlay.set(&key, &value).map_err(|_| wasmtime::Error::new(HostTrap::Quota))
        },
    )?;
    linker.func_wrap(
        m,
        "kv_delete",
        |mut c: Caller<'_, HostState<S>>, kp: i32, kl: i32| -> wasmtime::Result<i32> {
            let key = kv_key(read_bytes(&mut c, "key", kp, kl, abi::MAX_KEY_LEN)?);
            Ok(i32::from(c.data_mut().overlay.delete(&key)))
        },
    )?;
    linker.func_wrap(
        m,
        "kv_next",
        |mut c: Caller<'_, HostState<S>>, kp: i32, kl: i32, flags: i32| -> wasmtime::Result<i32> {
            if flags & !(ITER_EXCLUSIVE | ITER_REVERSE) != 0 {
                return Err(abi(format!("unknown kv_next flags {flags:#x}")));
            }
            let start = kv_key(read_bytes(&mut c, "key", kp, kl, abi::MAX_KEY_LEN)?);
            let found = c.data().overlay.next_in(
                &[NS_KV],
                &start,
                flags & ITER_EXCLUSIVE != 0,
                flags & ITER_REVERSE != 0,
            );
            let Some((key, value)) = found else { return Ok(NOT_FOUND) };
            let user_key = &key[1..];
            let mut ret = Vec::with_capacity(4 + user_key.len() + value.len());
            ret.extend_from_slice(&(user_key.len() as u32).to_le_bytes());
            ret.extend_from_slice(user_key);
            ret.extend_from_slice(&value);
            charge(&mut c, ret.len() as u64)?;
            Ok(set_ret(&mut c, ret))
        },
    )?;
    linker.func_wrap(
        m,
        "emit_event",
        |mut c: Caller<'_, HostState<S>>, tp: i32, tl: i32, dp: i32, dl: i32| {
            let topic = read_bytes(&mut c, "event topic", tp, tl, abi::MAX_TOPIC_LEN)?;
            let data = read_bytes(&mut c, "event data", dp, dl, abi::MAX_PAYLOAD_LEN)?;
            let state = c.data_mut();
            if state.events.len() >= MAX_EVENTS {
                return Err(abi(format!("more than {MAX_EVENTS} events in one invocation")));
            }
            state.events.push(Event { topic, data });
            Ok(())
        },
    )?;
    linker.func_wrap(m, "log", |mut c: Caller<'_, HostState<S>>, level: i32, p: i32, l: i32| {
        if !(abi::log_level::DEBUG..=abi::log_level::ERROR).contains(&level) {
            return Err(abi(format!("log level {level} is not 0..=3")));
        }
        let msg = read_bytes(&mut c, "log message", p, l, abi::MAX_PAYLOAD_LEN)?;
        let state = c.data_mut();
        if state.log_bytes + msg.len() > MAX_LOG_BYTES {
            state.logs_dropped += 1;
        } else {
            state.log_bytes += msg.len();
            state.logs.push(LogLine { level, message: String::from_utf8_lossy(&msg).into_owned() });
        }
        Ok(())
    })?;
    linker.func_wrap(m, "context", |mut c: Caller<'_, HostState<S>>| -> wasmtime::Result<i32> {
        let bytes = c.data().context.encode();
        charge(&mut c, bytes.len() as u64)?;
        Ok(set_ret(&mut c, bytes))
    })?;
    linker.func_wrap(m, "gas_left", |mut c: Caller<'_, HostState<S>>| -> wasmtime::Result<i64> {
        charge(&mut c, 0)?;
        Ok(c.get_fuel()? as i64)
    })?;
    linker.func_wrap(
        m,
        "abort",
        |mut c: Caller<'_, HostState<S>>, p: i32, l: i32| -> wasmtime::Result<()> {
            let msg = read_bytes(&mut c, "abort message", p, l, abi::MAX_PAYLOAD_LEN)?;
            Err(wasmtime::Error::new(HostTrap::Abort(String::from_utf8_lossy(&msg).into_owned())))
        },
    )?;
    linker.func_wrap(m, "task_schedule", |mut c: Caller<'_, HostState<S>>| {
        charge(&mut c, 0)?;
        c.data_mut().task_scheduled = true;
        Ok(())
    })?;
    linker.func_wrap(
        m,
        "eth_send",
        |mut c: Caller<'_, HostState<S>>, tp: i32, dp: i32, dl: i32, gas: i64| -> wasmtime::Result<i64> {
            let target = read_array::<20, S>(&mut c, "target address", tp)?;
            let data = read_bytes(&mut c, "eth_send data", dp, dl, abi::MAX_PAYLOAD_LEN)?;
            let gas_limit = u64::try_from(gas).map_err(|_| abi("negative eth_send gas limit"))?;
            push_request(&mut c, |id| OutboundRequest::EthSend { id, target, data, gas_limit })
        },
    )?;
    linker.func_wrap(
        m,
        "request_proof",
        |mut c: Caller<'_, HostState<S>>, pp: i32, ip: i32, il: i32| -> wasmtime::Result<i64> {
            let program_id = read_array::<32, S>(&mut c, "program id", pp)?;
            let input = read_bytes(&mut c, "proof input", ip, il, abi::MAX_PAYLOAD_LEN)?;
            push_request(&mut c, |id| OutboundRequest::Proof { id, program_id, input })
        },
    )?;
    linker.func_wrap(
        m,
        "send",
        |mut c: Caller<'_, HostState<S>>, fp: i32, dp: i32, dl: i32, vp: i32| -> wasmtime::Result<i64> {
            let function = read_array::<32, S>(&mut c, "function id", fp)?;
            let data = read_bytes(&mut c, "send data", dp, dl, abi::MAX_PAYLOAD_LEN)?;
            let value =
                if vp == 0 { 0 } else { u128::from_le_bytes(read_array::<16, S>(&mut c, "value", vp)?) };
            push_request(&mut c, |id| OutboundRequest::Send { id, function, data, value })
        },
    )?;
    Ok(())
}
