//! The errors of the runtime: why a module is refused, and why an invocation failed.

use nexus_types::manifest::ManifestError;

/// Why a module cannot be deployed (or loaded). Each names what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeployError {
    /// The bytes are not a well-formed WebAssembly module.
    #[error("not a valid WebAssembly module: {message} (at byte offset {offset:#x})")]
    Malformed {
        /// What the parser or validator reported.
        message: String,
        /// Byte offset in the module.
        offset: usize,
    },
    /// The module uses a WebAssembly feature the deterministic profile turns off.
    #[error(
        "uses {feature}, which Nexus functions cannot use (at byte offset {offset:#x}); rebuild without it (e.g. drop `-C target-feature=+simd128`)"
    )]
    FeatureNotAllowed {
        /// Human name of the feature.
        feature: &'static str,
        /// Byte offset of the first use.
        offset: usize,
    },
    /// An import this host does not provide, or with the wrong signature.
    #[error("imports `{module}.{name}`{detail}")]
    UnknownImport {
        /// Import module.
        module: String,
        /// Import name.
        name: String,
        /// What is wrong with it.
        detail: String,
    },
    /// An entry point is exported with the wrong signature.
    #[error("export `{name}` must have type {expected}, found {found}")]
    BadEntryPoint {
        /// Export name.
        name: String,
        /// The signature the ABI requires.
        expected: &'static str,
        /// What the module declares.
        found: String,
    },
    /// The module exports no entry point at all.
    #[error(
        "exports no entry point; export at least one of init, on_call, on_eth_block, on_eth_log, on_reply, on_task, query or _start"
    )]
    NoEntryPoint,
    /// The module imports host functions but does not export its memory as `memory`.
    #[error("imports host functions but exports no memory named `memory`")]
    NoMemoryExport,
    /// The module declares more memory or table space than the profile allows.
    #[error("{what} of {requested} exceeds the limit of {limit}")]
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// What the module asks for.
        requested: u64,
        /// The limit.
        limit: u64,
    },
    /// The `nexus.manifest` custom section is invalid.
    #[error("invalid manifest section: {0}")]
    Manifest(#[from] ManifestError),
    /// The module uses a name the runtime reserves for its instrumentation.
    #[error("export name `{0}` is reserved by the runtime")]
    ReservedName(String),
    /// An import has the right name but not the signature the host defines (WASI imports).
    #[error("imports do not match what the host provides: {0}")]
    Link(String),
    /// The engine failed to compile the (validated) module; a bug or a resource limit.
    #[error("compilation failed: {0}")]
    Compile(String),
}

/// Why an invocation failed. Stable: the chain stores [`InvocationError::code`] in results.
///
/// On any of these, none of the invocation's writes, events or requests are kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvocationError {
    /// The fuel limit was reached.
    #[error("out of gas")]
    OutOfGas,
    /// An `unreachable` instruction was executed (Rust panics end here without the SDK hook).
    #[error("unreachable executed (the function trapped)")]
    Unreachable,
    /// A memory access fell outside linear memory.
    #[error("memory access out of bounds")]
    MemoryOutOfBounds,
    /// Integer division or remainder by zero.
    #[error("integer division by zero")]
    DivisionByZero,
    /// Signed integer overflow in division (`i32::MIN / -1`).
    #[error("integer overflow")]
    IntegerOverflow,
    /// A float could not be converted to an integer.
    #[error("invalid conversion to integer")]
    InvalidConversion,
    /// A table access or indirect call fell outside the table, or hit a null entry.
    #[error("table access out of bounds or to a null entry")]
    TableOutOfBounds,
    /// An indirect call's signature did not match.
    #[error("indirect call signature mismatch")]
    BadSignature,
    /// The deterministic call-depth budget ran out.
    #[error("call stack too deep")]
    StackDepth,
    /// Linear memory or a table would grow beyond the function's limit.
    #[error("memory limit exceeded")]
    MemoryLimit,
    /// The function broke the host ABI (bad pointer, oversize argument, bad call order).
    #[error("host ABI violation: {0}")]
    AbiViolation(String),
    /// A key-value write would exceed the function's storage quota.
    #[error("storage quota exceeded")]
    QuotaExceeded,
    /// The function called `proc_exit` with a non-zero code.
    #[error("exited with code {0}")]
    Exit(u32),
    /// The function called `abort` (the SDK's panic hook does), with its message.
    #[error("aborted: {0}")]
    Aborted(String),
    /// The requested entry point is not exported by the module.
    #[error("the function has no `{0}` entry point")]
    MissingEntryPoint(&'static str),
    /// Any other trap; the message is the engine's.
    #[error("trapped: {0}")]
    Trap(String),
}

impl InvocationError {
    /// A stable numeric code for results stored on chain.
    pub fn code(&self) -> u16 {
        match self {
            Self::OutOfGas => 1,
            Self::Unreachable => 2,
            Self::MemoryOutOfBounds => 3,
            Self::DivisionByZero => 4,
            Self::IntegerOverflow => 5,
            Self::InvalidConversion => 6,
            Self::TableOutOfBounds => 7,
            Self::BadSignature => 8,
            Self::StackDepth => 9,
            Self::MemoryLimit => 10,
            Self::AbiViolation(_) => 11,
            Self::QuotaExceeded => 12,
            Self::Exit(_) => 13,
            Self::Aborted(_) => 14,
            Self::MissingEntryPoint(_) => 15,
            Self::Trap(_) => 16,
        }
    }
}
