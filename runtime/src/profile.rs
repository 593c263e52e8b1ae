//! The one engine profile every node runs: features, fuel, NaN canonicalization, limits, pooling.
//!
//! Everything here is consensus: two nodes with different settings could disagree on whether a
//! module is valid, how much fuel it burns or where it traps.

use crate::gas;
use wasmparser::WasmFeatures;
use wasmtime::{Config, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

/// Largest linear memory any function may have, whatever its manifest asks.
pub const MAX_MEMORY_BYTES: u64 = 256 << 20;
/// Linear memory a function gets when its manifest does not ask.
pub const DEFAULT_MEMORY_BYTES: u64 = 64 << 20;
/// Largest table any function may have.
pub const MAX_TABLE_ELEMENTS: usize = 100_000;
/// Budget of the injected call-depth counter (see `instrument`).
pub const MAX_CALL_DEPTH_UNITS: u32 = 4096;
/// Native stack wasm may use. Sized so the call-depth budget always runs out first: each unit of
/// the budget covers at most ~200 bytes of a Cranelift frame (see `instrument::frame_units`).
pub const MAX_WASM_STACK_BYTES: usize = 1 << 20;
/// Concurrent instances the pooling allocator keeps slots for.
pub const POOL_INSTANCES: u32 = 64;

/// The wasm features a function may use; checked by our own validator, never engine defaults.
pub fn features() -> WasmFeatures {
    WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::REFERENCE_TYPES
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::FLOATS
        | WasmFeatures::CALL_INDIRECT_OVERLONG
        | WasmFeatures::BULK_MEMORY_OPT
}

/// Features the profile turns off, with the name an author would search for.
pub const REJECTED_FEATURES: &[(WasmFeatures, &str)] = &[
    (WasmFeatures::SIMD, "SIMD (v128)"),
    (WasmFeatures::RELAXED_SIMD, "relaxed SIMD"),
    (WasmFeatures::THREADS, "threads / shared memory / atomics"),
    (WasmFeatures::MULTI_MEMORY, "multiple memories"),
    (WasmFeatures::MEMORY64, "64-bit memories (memory64)"),
    (WasmFeatures::GC, "garbage collection (GC)"),
    (WasmFeatures::FUNCTION_REFERENCES, "typed function references"),
    (WasmFeatures::EXCEPTIONS, "exception handling"),
    (WasmFeatures::LEGACY_EXCEPTIONS, "legacy exception handling"),
    (WasmFeatures::COMPONENT_MODEL, "the component model"),
    (WasmFeatures::EXTENDED_CONST, "extended constant expressions"),
    (WasmFeatures::WIDE_ARITHMETIC, "wide arithmetic"),
    (WasmFeatures::CUSTOM_PAGE_SIZES, "custom page sizes"),
    (WasmFeatures::STACK_SWITCHING, "stack switching"),
];

/// Builds the wasmtime configuration of the profile.
pub fn engine_config() -> Config {
    let mut c = Config::new();
    c.consume_fuel(true)
        .operator_cost(gas::operator_costs())
        .cranelift_nan_canonicalization(true)
        .cranelift_opt_level(OptLevel::Speed)
        .wasm_simd(false)
        .wasm_relaxed_simd(false)
        .wasm_multi_memory(false)
        .wasm_memory64(false)
        .wasm_gc(false)
        .wasm_extended_const(false)
        .wasm_wide_arithmetic(false)
        .wasm_custom_page_sizes(false)
        .wasm_bulk_memory(true)
        .wasm_multi_value(true)
        .wasm_tail_call(true)
        .max_wasm_stack(MAX_WASM_STACK_BYTES)
        // Backtraces cost time on every trap and say nothing consensus needs.
        .wasm_backtrace_max_frames(None)
        .generate_address_map(false)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling()));
    c
}

fn pooling() -> PoolingAllocationConfig {
    let mut p = PoolingAllocationConfig::default();
    p.total_core_instances(POOL_INSTANCES)
        .total_memories(POOL_INSTANCES)
        .total_tables(POOL_INSTANCES)
        .max_memories_per_module(1)
        .max_tables_per_module(1)
        .max_memory_size(MAX_MEMORY_BYTES as usize)
        .table_elements(MAX_TABLE_ELEMENTS)
        // Go and C++ modules carry many functions; the instance context grows with them.
        .max_core_instance_size(16 << 20)
        // Re-zeroing a small resident prefix beats an madvise round trip for small functions.
        .linear_memory_keep_resident(64 << 10)
        .table_keep_resident(16 << 10);
    p
}
