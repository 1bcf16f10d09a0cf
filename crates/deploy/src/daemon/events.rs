//! Where one deploy's events go: numbered and kept in the store, sent to
//! whoever follows the deploy, written to the daemon's log, and the ones
//! people want to hear about (started, each traffic step, rolled back,
//! done) sent to the notification channels, or the outbox.

use std::sync::Arc;

use slipway_model::deploy::{DeployEvent, DeployEventRecord, DeployState, DeployStore};
use slipway_notify::Notifier;
use tokio::sync::broadcast;

use crate::controller::system_now_ms;
use crate::ports::Events;
use crate::render;

pub struct DeployEvents<S> {
    pub id: i64,
    pub cluster: String,
    store: S,
    /// The last number given. Held while an event is stored and sent, so
    /// that events from the controller and from the instances' supervisors
    /// reach followers in the order of their numbers, none skipped.
    seq: tokio::sync::Mutex<i64>,
    live: broadcast::Sender<DeployEventRecord>,
    notifier: Option<Arc<Notifier>>,
}

impl<S: DeployStore> DeployEvents<S> {
    pub fn new(
        id: i64,
        cluster: &str,
        store: S,
        live: broadcast::Sender<DeployEventRecord>,
        notifier: Option<Arc<Notifier>>,
    ) -> Self {
        DeployEvents {
            id,
            cluster: cluster.to_string(),
            store,
            seq: tokio::sync::Mutex::new(0),
            live,
            notifier,
        }
    }

    fn notify(&self, event: &DeployEvent) {
        let Some(notifier) = self.notifier.clone() else {
            return;
        };
        let kind = match event {
            DeployEvent::Started { .. } => "deploy.started",
            DeployEvent::Traffic { step, .. } if *step > 0 => "deploy.traffic",
            DeployEvent::Finished { state, .. } => match state {
                DeployState::RolledBack => "deploy.rolled-back",
                DeployState::Failed => "deploy.failed",
                _ => "deploy.done",
            },
            _ => return,
        };
        let text = render::event_line(event);
        let (id, cluster) = (self.id.to_string(), self.cluster.clone());
        // Delivery retries for up to a minute: never hold the deploy up.
        tokio::spawn(async move {
            notifier
                .notify_event(
                    kind,
                    &[("cluster", &cluster), ("deploy", &id), ("message", &text)],
                )
                .await;
        });
    }
}

impl<S: DeployStore> Events for DeployEvents<S> {
    async fn emit(&self, event: DeployEvent) {
        let mut seq = self.seq.lock().await;
        *seq += 1;
        let record = DeployEventRecord {
            seq: *seq,
            at: system_now_ms(),
            event,
        };
        println!("deploy {}: {}", self.id, render::event_line(&record.event));
        if let DeployEvent::Phase { phase, .. } = &record.event {
            if let Err(e) = self.store.set_phase(self.id, phase).await {
                eprintln!("deploy {}: {e}", self.id);
            }
        }
        // The deploy's record ends before anyone hears it ended, so that
        // what they ask next already sees it (and its services are free).
        if let DeployEvent::Finished {
            state,
            reason,
            breach,
            ..
        } = &record.event
        {
            if let Err(e) = self
                .store
                .finish_deploy(
                    self.id,
                    *state,
                    reason.as_deref(),
                    breach.as_ref(),
                    record.at,
                )
                .await
            {
                eprintln!("deploy {}: {e}", self.id);
            }
        }
        if let Err(e) = self.store.add_event(self.id, &record).await {
            eprintln!("deploy {}: {e}", self.id);
        }
        self.notify(&record.event);
        // Nobody following is fine.
        let _ = self.live.send(record);
    }
}
