//! Helpers shared by the runtime's integration tests.
#![allow(dead_code, missing_docs)]

use nexus_runtime::{Call, Function, InvocationResult, MemState, Runtime};
use nexus_types::{Context, EntryPoint};

pub fn runtime() -> Runtime<MemState> {
    Runtime::new(None).expect("runtime")
}

pub fn load_wat(rt: &Runtime<MemState>, wat: &str) -> Function<MemState> {
    rt.load(&wat::parse_str(wat).expect("valid wat")).expect("module loads")
}

/// Invokes and applies the diff to `state`, like the chain would.
pub fn call(
    rt: &Runtime<MemState>,
    f: &Function<MemState>,
    entry: EntryPoint,
    input: &[u8],
    state: &mut MemState,
) -> InvocationResult {
    let mut c = Call::new(entry, input.to_vec());
    c.context = Context { height: 1, time_ns: 1_700_000_000_000_000_000, ..Context::default() };
    let (r, s) = rt.invoke(f, c, std::mem::take(state));
    *state = s;
    nexus_runtime::apply_diff(state, &r.diff);
    r
}

/// Where `scripts/build-examples.sh` puts the example functions.
pub fn example(name: &str) -> Vec<u8> {
    let dir = std::env::var("NEXUS_EXAMPLES_DIR").unwrap_or_else(|_| {
        let target = std::env::var("CARGO_TARGET_DIR")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_string());
        format!("{target}/examples-wasm")
    });
    let path = format!("{dir}/{name}.wasm");
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("cannot read {path} ({e}); build the examples first with `scripts/build-examples.sh` (make examples)")
    })
}
