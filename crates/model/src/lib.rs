//! Plain types shared by every slipway crate. Nothing here touches a process,
//! a socket or a disk.

use serde::Serialize;

/// How a job or step ended, as GitHub reports it in `needs.<id>.result`
/// and `steps.<id>.conclusion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Conclusion {
    Success,
    Failure,
    Cancelled,
    Skipped,
}

impl Conclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            Conclusion::Success => "success",
            Conclusion::Failure => "failure",
            Conclusion::Cancelled => "cancelled",
            Conclusion::Skipped => "skipped",
        }
    }
}

/// Exit codes, one place for the whole binary (see DESIGN.md).
pub mod exit {
    pub const SUCCESS: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const INVALID: i32 = 2;
    pub const WAITING: i32 = 3;
    pub const CANCELLED: i32 = 130;
}
