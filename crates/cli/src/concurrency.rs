//! Concurrency groups over the state database, shared by every run of the
//! repository: the engine's `ConcurrencyGate` port.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use slipway_engine::concurrency::{BoxFuture, ConcurrencyGate};
use slipway_store::SqliteStore;
use tokio_util::sync::CancellationToken;

use crate::history::{alive, now_ms};

/// How often waiters and holders look at the table.
const POLL: Duration = Duration::from_millis(200);

pub struct StoreGate {
    store: SqliteStore,
    run_id: i64,
    /// Held slots -> the task that watches each for a `cancel`.
    watchers: Mutex<HashMap<i64, tokio::task::JoinHandle<()>>>,
}

impl StoreGate {
    pub fn new(store: SqliteStore, run_id: i64) -> StoreGate {
        StoreGate {
            store,
            run_id,
            watchers: Mutex::new(HashMap::new()),
        }
    }

    async fn wait(
        &self,
        group: &str,
        cancel_in_progress: bool,
        cancel: CancellationToken,
    ) -> Result<Option<i64>, slipway_store::StoreError> {
        let me = self
            .store
            .slot_enter(group, self.run_id, std::process::id(), now_ms())
            .await?;
        loop {
            let slots = self.store.slots(group).await?;
            // Slots whose process died hold nothing.
            for s in &slots {
                if s.pid != i64::from(std::process::id()) && !alive(s.pid) {
                    self.store.slot_leave(s.id).await?;
                }
            }
            let slots: Vec<_> = slots
                .into_iter()
                .filter(|s| s.pid == i64::from(std::process::id()) || alive(s.pid))
                .collect();
            let mine = slots.iter().find(|s| s.id == me).map(|s| s.state.clone());
            if mine.as_deref() != Some("pending") || cancel.is_cancelled() {
                // A newer waiter replaced this one, or the run was cancelled.
                self.store.slot_leave(me).await?;
                return Ok(None);
            }
            let holders: Vec<_> = slots
                .iter()
                .filter(|s| s.id != me && (s.state == "running" || s.state == "cancel"))
                .collect();
            if holders.is_empty() {
                if self.store.slot_try_take(me, group).await? {
                    self.watch(me, cancel);
                    return Ok(Some(me));
                }
                // An older waiter is about to take it; look again shortly.
            } else {
                // Someone holds the group: only the newest waiter waits,
                // older ones give way (as on GitHub).
                for s in slots.iter().filter(|s| s.state == "pending" && s.id < me) {
                    self.store.slot_move(s.id, "pending", "cancel").await?;
                }
                if cancel_in_progress {
                    for h in holders.iter().filter(|h| h.state == "running") {
                        self.store.slot_move(h.id, "running", "cancel").await?;
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = cancel.cancelled() => {}
            }
        }
    }

    /// While the slot is held, a `cancel` written by a newer run cancels us.
    fn watch(&self, slot: i64, cancel: CancellationToken) {
        let store = self.store.clone();
        let handle = tokio::spawn(async move {
            loop {
                tokio::time::sleep(POLL).await;
                match store.slot_state(slot).await {
                    Ok(Some(state)) if state == "cancel" => {
                        cancel.cancel();
                        return;
                    }
                    Ok(Some(_)) => {}
                    _ => return,
                }
            }
        });
        if let Ok(mut w) = self.watchers.lock() {
            w.insert(slot, handle);
        }
    }
}

impl ConcurrencyGate for StoreGate {
    fn acquire<'a>(
        &'a self,
        group: &'a str,
        cancel_in_progress: bool,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, Option<i64>> {
        Box::pin(async move {
            match self.wait(group, cancel_in_progress, cancel).await {
                Ok(slot) => slot,
                Err(e) => {
                    // Without the database, run rather than block forever.
                    eprintln!("warning: concurrency group `{group}` not enforced: {e}");
                    Some(-1)
                }
            }
        })
    }

    fn release(&self, slot: i64) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Ok(mut w) = self.watchers.lock() {
                if let Some(h) = w.remove(&slot) {
                    h.abort();
                }
            }
            let _ = self.store.slot_leave(slot).await;
        })
    }
}
