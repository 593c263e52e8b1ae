//! Example function: a counter kept in key-value storage.
