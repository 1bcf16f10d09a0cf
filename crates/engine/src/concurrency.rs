//! The port for `concurrency` groups: runs and jobs sharing a group name
//! take turns, across every run that shares the state folder.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Lifecycle: `acquire` waits until the group is free and returns the slot
/// held. While it is held, `cancel` is cancelled if a newer run or job
/// takes the group over with `cancel-in-progress`. `release` frees it.
/// A waiter that a newer waiter replaces (only the newest waits, as on
/// GitHub), or whose `cancel` fires first, gets `None`.
pub trait ConcurrencyGate: Send + Sync {
    fn acquire<'a>(
        &'a self,
        group: &'a str,
        cancel_in_progress: bool,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, Option<i64>>;
    fn release(&self, slot: i64) -> BoxFuture<'_, ()>;
}

/// A shared gate, for `RunSpec`.
#[derive(Clone)]
pub struct Gate(pub Arc<dyn ConcurrencyGate>);

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gate")
    }
}
