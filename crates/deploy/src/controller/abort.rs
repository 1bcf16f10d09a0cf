//! How a running deploy is told to stop: Ctrl-C on the command that
//! started it, `slipway rollback` on one of its services, the daemon
//! shutting down. The first reason given is the one recorded.

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

#[derive(Clone, Default)]
pub struct Abort {
    token: CancellationToken,
    reason: Arc<Mutex<Option<String>>>,
}

impl Abort {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the deploy to roll back; later reasons are ignored.
    pub fn abort(&self, reason: impl Into<String>) {
        let mut r = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        if r.is_none() {
            *r = Some(reason.into());
        }
        drop(r);
        self.token.cancel();
    }

    pub fn reason(&self) -> Option<String> {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Resolves with the reason once the deploy is aborted.
    pub async fn aborted(&self) -> String {
        self.token.cancelled().await;
        self.reason().unwrap_or_else(|| "aborted".into())
    }
}
