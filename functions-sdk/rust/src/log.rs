//! Log lines for `nexus logs`: functions ([`info()`], …) and `format!`-style macros ([`info!`], …).
//!
//! Logs are not consensus data the function can read back; the chain keeps a bounded number per
//! invocation and counts the lines it drops. Use [`crate::emit`] for anything others rely on.
//!
//! ```
//! # let host = nexus_sdk::testing::MockHost::new();
//! use nexus_sdk::log;
//! log::info("starting");
//! log::debug!("{} items", 3);
//! # assert_eq!(host.logs().len(), 2);
//! ```

use crate::sys;
use nexus_types::abi::log_level;

/// Severity of a log line.
///
/// ```
/// use nexus_sdk::log::Level;
/// assert!(Level::Debug < Level::Error);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Fine-grained tracing.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that the function handled.
    Warn,
    /// A failure.
    Error,
}

impl Level {
    /// The level number the ABI's `log` call takes.
    ///
    /// ```
    /// assert_eq!(nexus_sdk::log::Level::Warn.to_abi(), 2);
    /// ```
    pub const fn to_abi(self) -> i32 {
        match self {
            Self::Debug => log_level::DEBUG,
            Self::Info => log_level::INFO,
            Self::Warn => log_level::WARN,
            Self::Error => log_level::ERROR,
        }
    }

    /// The level for an ABI level number, if it is one.
    ///
    /// ```
    /// use nexus_sdk::log::Level;
    /// assert_eq!(Level::from_abi(0), Some(Level::Debug));
    /// assert_eq!(Level::from_abi(9), None);
    /// ```
    pub const fn from_abi(level: i32) -> Option<Self> {
        match level {
            log_level::DEBUG => Some(Self::Debug),
            log_level::INFO => Some(Self::Info),
            log_level::WARN => Some(Self::Warn),
            log_level::ERROR => Some(Self::Error),
            _ => None,
        }
    }
}

/// Writes a log line at `level`.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::log::write(nexus_sdk::log::Level::Info, "hello");
/// # assert_eq!(host.logs()[0].message, "hello");
/// ```
pub fn write(level: Level, message: impl AsRef<str>) {
    sys::log_line(level.to_abi(), message.as_ref());
}

/// Writes a debug line.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::log::debug("x = 1");
/// # assert_eq!(host.logs()[0].level, nexus_sdk::log::Level::Debug);
/// ```
pub fn debug(message: impl AsRef<str>) {
    write(Level::Debug, message);
}

/// Writes an info line.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::log::info("started");
/// # assert_eq!(host.logs()[0].level, nexus_sdk::log::Level::Info);
/// ```
pub fn info(message: impl AsRef<str>) {
    write(Level::Info, message);
}

/// Writes a warning line.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::log::warn("retrying");
/// # assert_eq!(host.logs()[0].level, nexus_sdk::log::Level::Warn);
/// ```
pub fn warn(message: impl AsRef<str>) {
    write(Level::Warn, message);
}

/// Writes an error line.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::log::error("gave up");
/// # assert_eq!(host.logs()[0].level, nexus_sdk::log::Level::Error);
/// ```
pub fn error(message: impl AsRef<str>) {
    write(Level::Error, message);
}

/// Writes a `format!`-style debug line.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::log::debug!("{}+{}", 1, 2);
/// # assert_eq!(host.logs()[0].message, "1+2");
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __log_debug {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Debug, ::std::format!($($arg)*)) };
}

/// Writes a `format!`-style info line.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::log::info!("height {}", 5);
/// # assert_eq!(host.logs()[0].message, "height 5");
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __log_info {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Info, ::std::format!($($arg)*)) };
}

/// Writes a `format!`-style warning line.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::log::warn!("{} retries left", 2);
/// # assert_eq!(host.logs()[0].message, "2 retries left");
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __log_warn {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Warn, ::std::format!($($arg)*)) };
}

/// Writes a `format!`-style error line.
///
/// ```
/// # let host = nexus_sdk::testing::MockHost::new();
/// nexus_sdk::log::error!("failed: {}", "timeout");
/// # assert_eq!(host.logs()[0].message, "failed: timeout");
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __log_error {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Error, ::std::format!($($arg)*)) };
}

#[doc(inline)]
pub use crate::{__log_debug as debug, __log_error as error, __log_info as info, __log_warn as warn};
