//! Names and numbers of the host ABI (import module `nexus`); `functions-sdk/ABI.md` explains each call.

/// Version of the host ABI a module is built against; recorded in its manifest.
pub const ABI_VERSION: u32 = 1;

/// Import module that holds the Nexus host functions.
pub const IMPORT_MODULE: &str = "nexus";

/// Name of the custom section that carries a function's [`crate::Manifest`].
pub const MANIFEST_SECTION: &str = "nexus.manifest";

/// Return value of host calls that look something up and find nothing.
pub const NOT_FOUND: i32 = -1;

/// `kv_next` flag: skip a key equal to the start key.
pub const ITER_EXCLUSIVE: i32 = 1;
/// `kv_next` flag: walk towards smaller keys.
pub const ITER_REVERSE: i32 = 2;

/// `log` levels, in increasing severity.
pub mod log_level {
    /// Fine-grained tracing.
    pub const DEBUG: i32 = 0;
    /// Normal operation.
    pub const INFO: i32 = 1;
    /// Something unexpected that the function handled.
    pub const WARN: i32 = 2;
    /// A failure.
    pub const ERROR: i32 = 3;
}

/// `on_task` return value: the task has finished.
pub const TASK_DONE: i32 = 0;
/// `on_task` return value: run `on_task` again in a later block.
pub const TASK_CONTINUE: i32 = 1;

/// Largest key a function may store, in bytes.
pub const MAX_KEY_LEN: usize = 1024;
/// Largest single value a function may store, in bytes.
pub const MAX_VALUE_LEN: usize = 1 << 20;
/// Largest event topic, in bytes.
pub const MAX_TOPIC_LEN: usize = 256;
/// Largest payload of an event, log line, output or outbound request, in bytes.
pub const MAX_PAYLOAD_LEN: usize = 256 * 1024;

/// Host functions in import module `nexus`, with their wasm signatures.
///
/// Each entry is `(name, params, results)` using `i`/`I` for i32/i64.
pub const HOST_FUNCTIONS: &[(&str, &str, &str)] = &[
    ("input_len", "", "i"),
    ("input_read", "i", ""),
    ("output_write", "ii", ""),
    ("ret_read", "i", ""),
    ("kv_get", "ii", "i"),
    ("kv_set", "iiii", ""),
    ("kv_delete", "ii", "i"),
    ("kv_next", "iii", "i"),
    ("emit_event", "iiii", ""),
    ("log", "iii", ""),
    ("context", "", "i"),
    ("gas_left", "", "I"),
    ("abort", "ii", ""),
    ("task_schedule", "", ""),
    ("eth_send", "iiiI", "I"),
    ("request_proof", "iii", "I"),
    ("send", "iiii", "I"),
];
