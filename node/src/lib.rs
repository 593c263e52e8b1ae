//! The nexus command: build, inspect, run and (later) serve Nexus functions.
