//! The Rust SDK for writing Nexus functions.
