//! Child processes that cannot outlive the `nexus` process that started them.

use std::os::unix::process::CommandExt as _;
use std::process::Command;

/// Has the kernel send `signal` to the child started by `cmd` when the thread spawning it exits.
///
/// A SIGKILLed `nexus validator start` runs no cleanup, and CometBFT's own reaction to losing
/// its application (stopping itself) can hang; an orphaned cometbft would then hold the ports
/// and home that a restart needs. Spawn from a thread that lives as long as the process (the
/// main thread): the signal follows the spawning thread, not the process.
pub fn die_with_parent(cmd: &mut Command, signal: libc::c_int) -> &mut Command {
    let parent = std::process::id();
    // SAFETY: the closure runs between fork and exec and makes only async-signal-safe calls
    // (prctl, getppid); it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, signal) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect: then nobody would signal us.
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::other("the parent process exited during spawn"));
            }
            Ok(())
        })
    }
}
