//! Example function: a long sum computed over many on_task invocations.
