//! The deterministic WebAssembly engine that runs Nexus functions: validation, instrumentation,
//! compilation with a node-local cache, the `nexus` host ABI, and invocations with state diffs.
//!
//! ```no_run
//! use nexus_runtime::{Call, MemState, Runtime};
//! use nexus_types::EntryPoint;
//!
//! let runtime: Runtime<MemState> = Runtime::new(None)?;
//! let function = runtime.load(&std::fs::read("counter.wasm")?)?;
//! let (result, _state) = runtime.invoke(&function, Call::new(EntryPoint::OnCall, vec![]), MemState::new());
//! println!("{:?} used {} fuel", result.outcome, result.fuel_used);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cache;
pub mod error;
pub mod gas;
pub mod host;
pub mod instrument;
pub mod profile;
mod runtime;
pub mod state;
pub mod validate;

pub use error::{DeployError, InvocationError};
pub use host::{Event, LogLine, OutboundRequest};
pub use runtime::{Call, Function, InvocationResult, MAX_STDIO_BYTES, Runtime, TaskControl};
pub use state::{MemState, StateDiff, StateReader, apply_diff};
pub use validate::ModuleInfo;
