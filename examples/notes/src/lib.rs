//! Example function: notes kept as files through std::fs.
