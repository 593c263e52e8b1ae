//! How the entry-point attributes turn the invocation's input bytes into the user function's
//! argument, and its return value into output bytes, a task status or a failure.
//!
//! | argument type | input it accepts |
//! |---|---|
//! | none | input is not read (saves gas) |
//! | `Vec<u8>`, `&[u8]` | the raw bytes |
//! | `String`, `&str` | UTF-8 text (anything else fails the invocation) |
//! | [`EthBlock`], [`EthLog`], [`Reply`] (or `&` them) | the `nexus_types` encoding the chain passes to `on_eth_block`, `on_eth_log`, `on_reply` |
//! | [`Json<T>`] | JSON text decoding into any `serde` type `T` |
//!
//! | return type | effect |
//! |---|---|
//! | `()` | no output |
//! | `Vec<u8>`, `&'static [u8]`, `String`, `&'static str` | those bytes become the output |
//! | [`Json<T>`] | `T` serialized as JSON becomes the output |
//! | `Result<T, E: Display>` | `Ok` as `T`; `Err` fails the invocation with the message, rolling back its writes |
//!
//! `#[on_task]` functions return a [`TaskStatus`], a `bool` (`true` = run again), `()` (done), or a
//! `Result` of those. You can implement these traits for your own types.
//!
//! ```
//! use nexus_sdk::{Json, testing::MockHost};
//!
//! #[derive(serde::Deserialize)]
//! struct Order { qty: u32, price: u32 }
//!
//! #[nexus_sdk::query]
//! fn total(order: Json<Order>) -> Json<u64> {
//!     Json(u64::from(order.0.qty) * u64::from(order.0.price))
//! }
//!
//! let host = MockHost::new();
//! host.set_input(r#"{"qty": 3, "price": 7}"#);
//! query();
//! assert_eq!(host.output_string().as_deref(), Some("21"));
//! ```

use core::fmt::Display;
use nexus_types::{Decode, EthBlock, EthLog, Reply};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A value carried as JSON: decode the input into `T`, or encode `T` as the output.
///
/// ```
/// use nexus_sdk::entry::{FromInput, IntoOutput};
/// use nexus_sdk::Json;
/// let Json(v) = Json::<Vec<u8>>::from_input(b"[1,2]".to_vec()).unwrap();
/// assert_eq!(v, [1, 2]);
/// assert_eq!(Json(v).into_output(), Ok(Some(b"[1,2]".to_vec())));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Json<T>(pub T);

/// A type an entry point's argument can be decoded into from the input bytes.
///
/// ```
/// use nexus_sdk::entry::FromInput;
/// assert_eq!(String::from_input(b"hi".to_vec()), Ok("hi".to_string()));
/// assert!(String::from_input(vec![0xff]).is_err());
/// ```
pub trait FromInput: Sized {
    /// Decodes the input, or explains why it cannot (the invocation then fails with that message).
    fn from_input(input: Vec<u8>) -> Result<Self, String>;
}

impl FromInput for Vec<u8> {
    fn from_input(input: Vec<u8>) -> Result<Self, String> {
        Ok(input)
    }
}

impl FromInput for String {
    fn from_input(input: Vec<u8>) -> Result<Self, String> {
        String::from_utf8(input).map_err(|e| format!("input is not UTF-8: {e}"))
    }
}

macro_rules! codec_input {
    ($($t:ty),*) => {$(
        impl FromInput for $t {
            fn from_input(input: Vec<u8>) -> Result<Self, String> {
                <$t>::decode(&input).map_err(|e| format!("input is not a valid {}: {e}", stringify!($t)))
            }
        }
    )*};
}
codec_input!(EthBlock, EthLog, Reply);

impl<T: DeserializeOwned> FromInput for Json<T> {
    fn from_input(input: Vec<u8>) -> Result<Self, String> {
        serde_json::from_slice(&input).map(Json).map_err(|e| format!("input is not the expected JSON: {e}"))
    }
}

/// A type an entry point may return; it becomes the invocation's output or failure.
///
/// ```
/// use nexus_sdk::entry::IntoOutput;
/// assert_eq!("ok".into_output(), Ok(Some(b"ok".to_vec())));
/// assert_eq!(().into_output(), Ok(None));
/// assert_eq!(Err::<(), _>("boom").into_output(), Err("boom".to_string()));
/// ```
pub trait IntoOutput {
    /// The output bytes (`None` = no output), or the failure message.
    fn into_output(self) -> Result<Option<Vec<u8>>, String>;
}

impl IntoOutput for () {
    fn into_output(self) -> Result<Option<Vec<u8>>, String> {
        Ok(None)
    }
}

impl IntoOutput for Vec<u8> {
    fn into_output(self) -> Result<Option<Vec<u8>>, String> {
        Ok(Some(self))
    }
}

impl IntoOutput for &'static [u8] {
    fn into_output(self) -> Result<Option<Vec<u8>>, String> {
        Ok(Some(self.to_vec()))
    }
}

impl IntoOutput for String {
    fn into_output(self) -> Result<Option<Vec<u8>>, String> {
        Ok(Some(self.into_bytes()))
    }
}

impl IntoOutput for &'static str {
    fn into_output(self) -> Result<Option<Vec<u8>>, String> {
        Ok(Some(self.as_bytes().to_vec()))
    }
}

impl<T: Serialize> IntoOutput for Json<T> {
    fn into_output(self) -> Result<Option<Vec<u8>>, String> {
        serde_json::to_vec(&self.0).map(Some).map_err(|e| format!("output does not serialize to JSON: {e}"))
    }
}

impl<T: IntoOutput, E: Display> IntoOutput for Result<T, E> {
    fn into_output(self) -> Result<Option<Vec<u8>>, String> {
        self.map_err(|e| e.to_string())?.into_output()
    }
}

/// What an `on_task` invocation tells the chain.
///
/// ```
/// use nexus_sdk::TaskStatus;
/// assert_eq!(TaskStatus::Continue.code(), 1);
/// assert_eq!(TaskStatus::Done.code(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Run `on_task` again in the next block.
    Continue,
    /// The task has finished.
    Done,
}

impl TaskStatus {
    /// The `on_task` return value the ABI defines for this status.
    ///
    /// ```
    /// assert_eq!(nexus_sdk::TaskStatus::Continue.code(), nexus_sdk::types::abi::TASK_CONTINUE);
    /// ```
    pub const fn code(self) -> i32 {
        match self {
            Self::Continue => nexus_types::abi::TASK_CONTINUE,
            Self::Done => nexus_types::abi::TASK_DONE,
        }
    }
}

/// A type an `#[on_task]` function may return.
///
/// ```
/// use nexus_sdk::{TaskStatus, entry::IntoTaskStatus};
/// assert_eq!(true.into_task_status(), Ok(TaskStatus::Continue));
/// assert_eq!(().into_task_status(), Ok(TaskStatus::Done));
/// assert_eq!(Err::<bool, _>("no").into_task_status(), Err("no".to_string()));
/// ```
pub trait IntoTaskStatus {
    /// The status, or the failure message.
    fn into_task_status(self) -> Result<TaskStatus, String>;
}

impl IntoTaskStatus for TaskStatus {
    fn into_task_status(self) -> Result<TaskStatus, String> {
        Ok(self)
    }
}

impl IntoTaskStatus for bool {
    fn into_task_status(self) -> Result<TaskStatus, String> {
        Ok(if self { TaskStatus::Continue } else { TaskStatus::Done })
    }
}

impl IntoTaskStatus for () {
    fn into_task_status(self) -> Result<TaskStatus, String> {
        Ok(TaskStatus::Done)
    }
}

impl<T: IntoTaskStatus, E: Display> IntoTaskStatus for Result<T, E> {
    fn into_task_status(self) -> Result<TaskStatus, String> {
        self.map_err(|e| e.to_string())?.into_task_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexus_types::{Encode, ReplyKind};

    #[test]
    fn typed_inputs_decode_and_garbage_is_refused_with_the_type_name() {
        let r = Reply { request_id: 4, kind: ReplyKind::Proof, ok: true, data: vec![1] };
        assert_eq!(Reply::from_input(r.encode()), Ok(r));
        let err = EthBlock::from_input(vec![1, 2]).unwrap_err();
        assert!(err.contains("EthBlock"), "{err}");
        assert!(Json::<u8>::from_input(b"300".to_vec()).is_err());
    }

    #[test]
    fn nested_results_keep_the_innermost_error() {
        let r: Result<Result<String, &str>, &str> = Ok(Err("inner"));
        assert_eq!(r.into_output(), Err("inner".to_string()));
        let t: Result<TaskStatus, String> = Err("stop".into());
        assert_eq!(t.into_task_status(), Err("stop".to_string()));
    }
}
