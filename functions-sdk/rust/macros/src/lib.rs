//! Attribute macros of the Nexus Rust SDK.
