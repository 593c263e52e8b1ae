//! WASI preview 1 over a virtual, key-value-backed filesystem that is part of consensus state.
