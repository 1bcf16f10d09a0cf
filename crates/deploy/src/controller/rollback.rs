//! `slipway rollback`: traffic back to the version each service ran
//! before its last deploy, in one swap per service; that version is
//! started again first if it was already stopped. The version rolled
//! back from drains and stops.

use std::time::Instant;

use slipway_model::deploy::{DeployEvent, DeployRecord, DeployState, ServiceChange, Strategy};

use super::{Abort, Controller, DRAIN_TIMEOUT};
use crate::config::ServiceConfig;
use crate::ports::{Events, Instances, Routing};
use crate::settings::Settings;

/// One service to roll back.
#[derive(Debug, Clone)]
pub struct RollbackTarget {
    pub config: ServiceConfig,
    /// Serving now.
    pub from: String,
    /// Served before.
    pub to: String,
}

/// What rolling a service back means: undoing its last deploy if that
/// deploy promoted a new version over an old one, once. `Ok((from, to))`,
/// or why there is nothing to do (a deploy that rolled back or failed has
/// already left the old version serving).
pub fn undo(
    service: &str,
    cluster: &str,
    last: Option<&DeployRecord>,
    active: Option<&str>,
) -> Result<(String, String), String> {
    let Some(d) = last else {
        return Err(format!(
            "{service}: nothing to roll back: it was never deployed on cluster {cluster}"
        ));
    };
    let previous = d
        .services
        .iter()
        .find(|c| c.service == service)
        .and_then(|c| c.from.clone());
    match (active, previous) {
        (Some(active), Some(previous))
            if d.state == DeployState::Promoted && d.strategy != Strategy::Rollback =>
        {
            Ok((active.to_string(), previous))
        }
        _ => Err(format!(
            "{service}: nothing to roll back: the last deploy ({} #{}, {}) {}; {} serves",
            d.strategy.as_str(),
            d.id,
            d.version,
            match d.state {
                DeployState::Promoted => "had no previous version".to_string(),
                other => format!("ended {}", other.as_str()),
            },
            active.unwrap_or("no version")
        )),
    }
}

impl<I: Instances, R: Routing, E: Events> Controller<I, R, E> {
    pub async fn rollback(
        &self,
        id: i64,
        cluster: &str,
        targets: &[RollbackTarget],
        settings: &Settings,
        abort: &Abort,
    ) -> DeployState {
        let started = Instant::now();
        let mut versions: Vec<&str> = targets.iter().map(|t| t.to.as_str()).collect();
        versions.dedup();
        self.emit(DeployEvent::Started {
            deploy: id,
            cluster: cluster.to_string(),
            strategy: Strategy::Rollback,
            version: versions.join(","),
            services: targets
                .iter()
                .map(|t| ServiceChange {
                    service: t.config.name.clone(),
                    from: Some(t.from.clone()),
                    to: t.to.clone(),
                })
                .collect(),
        })
        .await;
        let (state, reason) = match self.roll_back_to(targets, settings, abort).await {
            Ok(()) => (DeployState::RolledBack, None),
            Err(reason) => (DeployState::Failed, Some(reason)),
        };
        self.emit(DeployEvent::Finished {
            state,
            reason,
            breach: None,
            invalid: false,
            seconds: started.elapsed().as_secs_f64(),
        })
        .await;
        state
    }

    async fn roll_back_to(
        &self,
        targets: &[RollbackTarget],
        settings: &Settings,
        abort: &Abort,
    ) -> Result<(), String> {
        for t in targets {
            if !self.instances.addresses(&t.config.name, &t.to).is_empty() {
                continue;
            }
            self.phase(
                "start",
                format!(
                    "{} of {} was stopped: starting it again",
                    t.to, t.config.name
                ),
            )
            .await;
            let up = async {
                self.instances.prepare(&t.config, &t.to).await?;
                self.instances.start(&t.config, &t.to).await?;
                self.instances
                    .wait_healthy(&t.config, &t.to, settings.start_timeout)
                    .await
            };
            let result = tokio::select! {
                r = up => r.map_err(|e| e.message),
                reason = abort.aborted() => Err(reason),
            };
            if let Err(e) = result {
                self.instances.stop(&t.config, &t.to).await;
                return Err(format!(
                    "cannot start {} of {} again: {e}; {} keeps serving",
                    t.to, t.config.name, t.from
                ));
            }
        }
        let moves: Vec<(&str, Vec<(&str, u32)>)> = targets
            .iter()
            .map(|t| {
                (
                    t.config.name.as_str(),
                    vec![(t.to.as_str(), 100), (t.from.as_str(), 0)],
                )
            })
            .collect();
        self.phase(
            "rollback",
            "all traffic back to the previous versions".into(),
        )
        .await;
        self.shift(0, 0, &moves).await?;
        for t in targets {
            self.routing
                .wait_drained(&t.config.name, &t.from, DRAIN_TIMEOUT)
                .await;
            let table = self.table(&t.config.name, &[(t.to.as_str(), 100)]);
            self.routing.route(&t.config.name, &table).await?;
            self.instances.stop(&t.config, &t.from).await;
            self.routing
                .set_active(&t.config.name, Some(&t.to), None, None)
                .await?;
        }
        Ok(())
    }
}
