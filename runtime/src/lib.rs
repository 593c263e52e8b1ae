//! The deterministic WebAssembly engine that runs Nexus functions.
