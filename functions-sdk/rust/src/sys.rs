//! The host calls as safe functions: the real `nexus` imports on wasm32, the thread-local
//! [`crate::testing::MockHost`] everywhere else, so SDK code above this layer is the same on both.

#[cfg(target_arch = "wasm32")]
pub(crate) use wasm::*;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use crate::testing::host::*;

#[cfg(target_arch = "wasm32")]
mod wasm {
    use nexus_types::{Address, Hash32};

    // Signatures follow `nexus_types::abi::HOST_FUNCTIONS`; pointers and `usize` are i32 on wasm32.
    #[link(wasm_import_module = "nexus")]
    unsafe extern "C" {
        fn input_len() -> i32;
        fn input_read(ptr: *mut u8);
        fn output_write(ptr: *const u8, len: usize);
        fn ret_read(ptr: *mut u8);
        fn kv_get(key: *const u8, key_len: usize) -> i32;
        fn kv_set(key: *const u8, key_len: usize, val: *const u8, val_len: usize);
        fn kv_delete(key: *const u8, key_len: usize) -> i32;
        fn kv_next(key: *const u8, key_len: usize, flags: i32) -> i32;
        fn emit_event(topic: *const u8, topic_len: usize, data: *const u8, data_len: usize);
        fn log(level: i32, ptr: *const u8, len: usize);
        fn context() -> i32;
        fn gas_left() -> i64;
        fn abort(ptr: *const u8, len: usize);
        fn task_schedule();
        fn eth_send(target: *const u8, data: *const u8, data_len: usize, gas_limit: i64) -> i64;
        fn request_proof(program_id: *const u8, input: *const u8, input_len: usize) -> i64;
        fn send(function_id: *const u8, data: *const u8, data_len: usize, value: *const u8) -> i64;
    }

    /// Copies `len` bytes of the host's return buffer out, or `None` for a negative length.
    fn take_ret(len: i32) -> Option<Vec<u8>> {
        let len = usize::try_from(len).ok()?;
        let mut buf = Vec::with_capacity(len);
        // SAFETY: the host writes exactly `len` bytes, which the buffer has capacity for.
        unsafe {
            ret_read(buf.as_mut_ptr());
            buf.set_len(len);
        }
        Some(buf)
    }

    pub(crate) fn input() -> Vec<u8> {
        // SAFETY: plain host calls; the buffer has room for the `input_len` bytes the host copies.
        unsafe {
            let len = usize::try_from(input_len()).unwrap_or(0);
            let mut buf = Vec::with_capacity(len);
            input_read(buf.as_mut_ptr());
            buf.set_len(len);
            buf
        }
    }

    pub(crate) fn output(bytes: &[u8]) {
        // SAFETY: the host only reads the given range.
        unsafe { output_write(bytes.as_ptr(), bytes.len()) }
    }

    pub(crate) fn kv_get_value(key: &[u8]) -> Option<Vec<u8>> {
        // SAFETY: the host only reads the key range.
        take_ret(unsafe { kv_get(key.as_ptr(), key.len()) })
    }

    pub(crate) fn kv_set_value(key: &[u8], value: &[u8]) {
        // SAFETY: the host only reads the given ranges.
        unsafe { kv_set(key.as_ptr(), key.len(), value.as_ptr(), value.len()) }
    }

    pub(crate) fn kv_remove(key: &[u8]) -> bool {
        // SAFETY: the host only reads the key range.
        unsafe { kv_delete(key.as_ptr(), key.len()) == 1 }
    }

    pub(crate) fn kv_next_entry(start: &[u8], flags: i32) -> Option<(Vec<u8>, Vec<u8>)> {
        // SAFETY: the host only reads the key range.
        let mut entry = take_ret(unsafe { kv_next(start.as_ptr(), start.len(), flags) })?;
        // The buffer is `[key_len: u32 LE][key][value]`.
        let key_len = u32::from_le_bytes(entry[..4].try_into().ok()?) as usize;
        let value = entry.split_off(4 + key_len);
        entry.drain(..4);
        Some((entry, value))
    }

    pub(crate) fn emit(topic: &[u8], data: &[u8]) {
        // SAFETY: the host only reads the given ranges.
        unsafe { emit_event(topic.as_ptr(), topic.len(), data.as_ptr(), data.len()) }
    }

    pub(crate) fn log_line(level: i32, message: &str) {
        // SAFETY: the host only reads the given range.
        unsafe { log(level, message.as_ptr(), message.len()) }
    }

    pub(crate) fn context_bytes() -> Vec<u8> {
        // SAFETY: plain host call.
        take_ret(unsafe { context() }).unwrap_or_default()
    }

    pub(crate) fn fuel_left() -> i64 {
        // SAFETY: plain host call.
        unsafe { gas_left() }
    }

    pub(crate) fn abort_with(message: &str) -> ! {
        // SAFETY: the host only reads the range, then fails the invocation without returning.
        unsafe { abort(message.as_ptr(), message.len()) };
        core::arch::wasm32::unreachable()
    }

    pub(crate) fn schedule_task() {
        // SAFETY: plain host call.
        unsafe { task_schedule() }
    }

    pub(crate) fn request_eth_send(target: &Address, data: &[u8], gas_limit: u64) -> u64 {
        let gas = i64::try_from(gas_limit).unwrap_or(i64::MAX);
        // SAFETY: the host reads 20 bytes at `target` and the data range.
        unsafe { eth_send(target.as_ptr(), data.as_ptr(), data.len(), gas) as u64 }
    }

    pub(crate) fn request_zk_proof(program_id: &Hash32, input: &[u8]) -> u64 {
        // SAFETY: the host reads 32 bytes at `program_id` and the input range.
        unsafe { request_proof(program_id.as_ptr(), input.as_ptr(), input.len()) as u64 }
    }

    pub(crate) fn request_send(function_id: &Hash32, data: &[u8], value: Option<u128>) -> u64 {
        let value = value.map(u128::to_le_bytes);
        let value_ptr = value.as_ref().map_or(core::ptr::null(), |v| v.as_ptr());
        // SAFETY: the host reads 32 bytes at `function_id`, the data range and 16 bytes at a
        // non-null `value_ptr`, which lives until the call returns.
        unsafe { send(function_id.as_ptr(), data.as_ptr(), data.len(), value_ptr) as u64 }
    }
}
