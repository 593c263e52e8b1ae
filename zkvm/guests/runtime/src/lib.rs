//! `no_std` runtime for Nexus zkVM guests: `_start`, allocator, public I/O tapes and debug output.
//!
//! A guest is a `#![no_std] #![no_main]` binary that names its entry with [`entry!`]:
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! nexus_zkvm_guest::entry!(main);
//! fn main() {
//!     let input = nexus_zkvm_guest::read_input();
//!     nexus_zkvm_guest::commit(&input);
//! }
//! ```
#![no_std]
#![warn(missing_docs)]

extern crate alloc;

use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;

pub use alloc::{format, string::String, vec};

/// Syscall numbers; these must match `nexus_zkvm::emu::syscall`.
mod sys {
    pub const HALT: u32 = 93;
    pub const DEBUG_WRITE: u32 = 64;
    pub const READ_INPUT: u32 = 0x100;
    pub const WRITE_OUTPUT: u32 = 0x101;
}

#[cfg(target_arch = "riscv32")]
core::arch::global_asm!(
    ".section .text._start, \"ax\"",
    ".globl _start",
    "_start:",
    "    la sp, _stack_top",
    // The loader does not clear .bss, so the runtime does it before any Rust code runs.
    "    la t0, _sbss",
    "    la t1, _ebss",
    "1:  bgeu t0, t1, 2f",
    "    sw zero, 0(t0)",
    "    addi t0, t0, 4",
    "    j 1b",
    "2:  call __nexus_start_rust",
    "3:  j 3b",
);

#[cfg(target_arch = "riscv32")]
#[inline(always)]
fn ecall(number: u32, a0: u32, a1: u32, a2: u32) -> u32 {
    let out;
    // SAFETY: the VM's ecall reads a0-a2/a7 and writes only a0; it touches no Rust-visible memory
    // except DEBUG_WRITE, which only reads the buffer it is given.
    unsafe {
        core::arch::asm!(
            "ecall",
            inlateout("a0") a0 => out,
            in("a1") a1,
            in("a2") a2,
            in("a7") number,
            options(nostack, readonly),
        );
    }
    out
}

#[cfg(not(target_arch = "riscv32"))]
fn ecall(_number: u32, _a0: u32, _a1: u32, _a2: u32) -> u32 {
    unimplemented!("nexus-zkvm-guest only runs on riscv32im-unknown-none-elf")
}

/// A cell for globals of this single-threaded VM.
struct Global<T>(UnsafeCell<T>);

// SAFETY: the VM has one hart and no interrupts, so there is never concurrent access.
unsafe impl<T> Sync for Global<T> {}

/// The bump allocator: memory between the end of .bss and the stack, never freed, which is the
/// fastest policy for short-lived proof programs.
struct BumpAlloc {
    next: Global<usize>,
}

unsafe extern "C" {
    static _heap_start: u8;
    static _heap_end: u8;
}

// SAFETY: every returned block is fresh, aligned and inside the heap; blocks never overlap.
unsafe impl GlobalAlloc for BumpAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded (see `Global`).
        let next = unsafe { &mut *self.next.0.get() };
        if *next == 0 {
            *next = core::ptr::addr_of!(_heap_start) as usize;
        }
        let start = (*next + layout.align() - 1) & !(layout.align() - 1);
        let end = start + layout.size();
        if end > core::ptr::addr_of!(_heap_end) as usize {
            return core::ptr::null_mut();
        }
        *next = end;
        start as *mut u8
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: BumpAlloc = BumpAlloc { next: Global(UnsafeCell::new(0)) };

static OUTPUT: Global<Vec<u8>> = Global(UnsafeCell::new(Vec::new()));

/// Reads word `index` of the public input tape.
pub fn read_input_word(index: u32) -> u32 {
    ecall(sys::READ_INPUT, index, 0, 0)
}

/// Reads the whole public input as bytes.
pub fn read_input() -> Vec<u8> {
    let len = read_input_word(0) as usize;
    let mut bytes = Vec::with_capacity(len.next_multiple_of(4));
    for k in 0..len.div_ceil(4) {
        bytes.extend_from_slice(&read_input_word(1 + k as u32).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// Appends bytes to the public output; it is written out when the guest exits.
pub fn commit(bytes: &[u8]) {
    // SAFETY: single-threaded (see `Global`).
    unsafe { (*OUTPUT.0.get()).extend_from_slice(bytes) }
}

fn flush_output() {
    // SAFETY: single-threaded (see `Global`); this runs once, at exit.
    let out = unsafe { &*OUTPUT.0.get() };
    ecall(sys::WRITE_OUTPUT, 0, out.len() as u32, 0);
    for (k, chunk) in out.chunks(4).enumerate() {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        ecall(sys::WRITE_OUTPUT, 1 + k as u32, u32::from_le_bytes(word), 0);
    }
}

/// Writes the committed output and stops the VM with `code`.
pub fn exit(code: u32) -> ! {
    flush_output();
    ecall(sys::HALT, code, 0, 0);
    #[allow(clippy::empty_loop)]
    loop {}
}

/// Writes bytes to the debug tape (shown by `nexus zk run`, not part of the proof).
pub fn debug_write(bytes: &[u8]) {
    ecall(sys::DEBUG_WRITE, 1, bytes.as_ptr() as u32, bytes.len() as u32);
}

/// `core::fmt` sink for the debug tape.
pub struct DebugWriter;

impl core::fmt::Write for DebugWriter {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        debug_write(s.as_bytes());
        Ok(())
    }
}

/// Prints to the debug tape, like `std::print!`.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        let _ = core::fmt::Write::write_fmt(&mut $crate::DebugWriter, format_args!($($arg)*));
    }};
}

/// Prints a line to the debug tape, like `std::println!`.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {{
        $crate::print!($($arg)*);
        $crate::print!("\n");
    }};
}

/// Declares the guest's `fn main()`; the runtime calls it and exits with code 0 when it returns.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        extern "C" fn __nexus_main() {
            let main: fn() = $main;
            main()
        }
    };
}

#[cfg(target_arch = "riscv32")]
#[unsafe(no_mangle)]
extern "C" fn __nexus_start_rust() -> ! {
    unsafe extern "C" {
        fn __nexus_main();
    }
    // SAFETY: `entry!` defines `__nexus_main` with this signature.
    unsafe { __nexus_main() };
    exit(0)
}

/// Exit code of a guest that panicked.
pub const PANIC_EXIT_CODE: u32 = 101;

#[cfg(target_arch = "riscv32")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("guest panicked: {}", info);
    exit(PANIC_EXIT_CODE)
}
