//! Why a message was not delivered. Messages name the webhook by scheme
//! and host at most, never by its whole URL.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The webhook URL cannot be used (not http/https, no host).
    InvalidUrl,
    /// The receiver refused the message for good (4xx other than 429, or
    /// an unexpected redirect): retrying would not help.
    Rejected,
    /// Retries used up the time allowed.
    GaveUp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    kind: ErrorKind,
    message: String,
    /// Requests made before giving up (0 when none could be made).
    pub attempts: u32,
    /// From the first request to giving up.
    pub elapsed: Duration,
    /// The HTTP status of the last answer, if there was one.
    pub status: Option<u16>,
}

impl DeliveryError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> DeliveryError {
        DeliveryError {
            kind,
            message: message.into(),
            attempts: 0,
            elapsed: Duration::ZERO,
            status: None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}
