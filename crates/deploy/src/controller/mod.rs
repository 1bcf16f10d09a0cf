//! The deploy controller: brings a new version up beside the serving one,
//! moves traffic by the strategy's steps while judging the new version's
//! figures, and either promotes it or puts all traffic back on the old one
//! in one swap per service.
//!
//! It works through three ports ([`Instances`], [`Routing`], [`Events`])
//! and tokio's clock, so its tests run on fakes under paused time.

mod abort;
mod bake;
mod blue_green;
mod bring_up;
mod rollback;
mod rolling;

use std::sync::Arc;
use std::time::{Duration, Instant};

use slipway_model::deploy::{
    Breach, DeployEvent, DeployState, ServiceChange, ServiceWeights, Strategy,
};

use crate::config::ServiceConfig;
use crate::ports::{Events, Instances, Route, Routing};
use crate::settings::Settings;

pub use abort::Abort;
pub use rollback::{undo, RollbackTarget};

/// How long a version that lost its traffic may take to finish the
/// requests it holds before its instances stop anyway.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// One service of a deploy.
#[derive(Debug, Clone)]
pub struct Target {
    pub config: ServiceConfig,
    /// The version serving now (blue); `None` for a first deploy.
    pub from: Option<String>,
}

/// A deploy the daemon has checked and recorded.
#[derive(Debug, Clone)]
pub struct DeployPlan {
    pub id: i64,
    pub cluster: String,
    pub strategy: Strategy,
    pub version: String,
    pub targets: Vec<Target>,
    pub settings: Settings,
}

impl DeployPlan {
    pub fn changes(&self) -> Vec<ServiceChange> {
        self.targets
            .iter()
            .map(|t| ServiceChange {
                service: t.config.name.clone(),
                from: t.from.clone(),
                to: self.version.clone(),
            })
            .collect()
    }
}

/// How a deploy ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Promoted,
    /// Traffic is back on the previous version.
    RolledBack {
        reason: String,
        breach: Option<Breach>,
    },
    /// Stopped before any traffic moved.
    Failed {
        reason: String,
        /// The request named something that does not exist: exit 2.
        bad_input: bool,
    },
}

impl Outcome {
    pub fn state(&self) -> DeployState {
        match self {
            Outcome::Promoted => DeployState::Promoted,
            Outcome::RolledBack { .. } => DeployState::RolledBack,
            Outcome::Failed { .. } => DeployState::Failed,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Promoted => None,
            Outcome::RolledBack { reason, .. } | Outcome::Failed { reason, .. } => Some(reason),
        }
    }

    pub fn breach(&self) -> Option<&Breach> {
        match self {
            Outcome::RolledBack { breach, .. } => breach.as_ref(),
            _ => None,
        }
    }
}

/// Runs deploys against a cluster's ports.
pub struct Controller<I, R, E> {
    pub instances: Arc<I>,
    pub routing: Arc<R>,
    pub events: Arc<E>,
    /// Wall-clock milliseconds, for the retirement time of a kept version.
    pub now_ms: fn() -> i64,
}

impl<I, R, E> Clone for Controller<I, R, E> {
    fn clone(&self) -> Self {
        Controller {
            instances: self.instances.clone(),
            routing: self.routing.clone(),
            events: self.events.clone(),
            now_ms: self.now_ms,
        }
    }
}

pub fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl<I: Instances, R: Routing, E: Events> Controller<I, R, E> {
    pub fn new(instances: Arc<I>, routing: Arc<R>, events: Arc<E>) -> Self {
        Controller {
            instances,
            routing,
            events,
            now_ms: system_now_ms,
        }
    }

    /// Runs the deploy to its end and reports every step as events,
    /// `Started` first and `Finished` last. `abort` rolls it back from
    /// wherever it is.
    pub async fn run(&self, plan: &DeployPlan, abort: &Abort) -> Outcome {
        let started = Instant::now();
        self.emit(DeployEvent::Started {
            deploy: plan.id,
            cluster: plan.cluster.clone(),
            strategy: plan.strategy,
            version: plan.version.clone(),
            services: plan.changes(),
        })
        .await;
        let outcome = match plan.strategy {
            Strategy::BlueGreen => self.blue_green(plan, abort).await,
            Strategy::Rolling => self.rolling(plan, abort).await,
            Strategy::Rollback => Outcome::Failed {
                reason: "a rollback is not run as a deploy".into(),
                bad_input: true,
            },
        };
        self.emit(DeployEvent::Finished {
            state: outcome.state(),
            reason: outcome.reason().map(str::to_string),
            breach: outcome.breach().cloned(),
            invalid: matches!(
                outcome,
                Outcome::Failed {
                    bad_input: true,
                    ..
                }
            ),
            seconds: started.elapsed().as_secs_f64(),
        })
        .await;
        outcome
    }

    async fn emit(&self, event: DeployEvent) {
        self.events.emit(event).await;
    }

    async fn phase(&self, phase: &str, message: String) {
        self.emit(DeployEvent::Phase {
            phase: phase.to_string(),
            message,
        })
        .await;
    }

    /// A route table of the given weights, each version with the
    /// addresses of its running instances.
    fn table(&self, service: &str, weights: &[(&str, u32)]) -> Vec<Route> {
        weights
            .iter()
            .map(|(version, weight)| Route {
                version: version.to_string(),
                weight: *weight,
                upstreams: self.instances.addresses(service, version),
            })
            .collect()
    }

    /// Sets the weights of several services, one swap each, back to back,
    /// then reports them in one event.
    async fn shift(
        &self,
        step: usize,
        steps: usize,
        moves: &[(&str, Vec<(&str, u32)>)],
    ) -> Result<(), String> {
        for (service, weights) in moves {
            let table = self.table(service, weights);
            self.routing.route(service, &table).await?;
        }
        self.emit(DeployEvent::Traffic {
            step,
            steps,
            weights: moves
                .iter()
                .map(|(service, weights)| ServiceWeights {
                    service: service.to_string(),
                    weights: weights.iter().map(|(v, w)| (v.to_string(), *w)).collect(),
                })
                .collect(),
        })
        .await;
        Ok(())
    }

    /// Puts every service's traffic back on the version it came from, in
    /// one swap per service, then drains and stops the new version.
    async fn roll_back(
        &self,
        plan: &DeployPlan,
        reason: String,
        breach: Option<Breach>,
    ) -> Outcome {
        self.phase("rollback", format!("rolling back: {reason}"))
            .await;
        let moves: Vec<(&str, Vec<(&str, u32)>)> = plan
            .targets
            .iter()
            .map(|t| {
                let weights = match &t.from {
                    Some(from) => vec![(from.as_str(), 100), (plan.version.as_str(), 0)],
                    None => vec![(plan.version.as_str(), 0)],
                };
                (t.config.name.as_str(), weights)
            })
            .collect();
        let mut problems = Vec::new();
        if let Err(e) = self.shift(0, 0, &moves).await {
            problems.push(e);
        }
        for t in &plan.targets {
            self.routing
                .wait_drained(&t.config.name, &plan.version, DRAIN_TIMEOUT)
                .await;
            let weights: Vec<(&str, u32)> = match &t.from {
                Some(from) => vec![(from.as_str(), 100)],
                None => Vec::new(),
            };
            let table = self.table(&t.config.name, &weights);
            if let Err(e) = self.routing.route(&t.config.name, &table).await {
                problems.push(e);
            }
            self.instances.stop(&t.config, &plan.version).await;
        }
        let reason = if problems.is_empty() {
            reason
        } else {
            format!("{reason}; while rolling back: {}", problems.join("; "))
        };
        Outcome::RolledBack { reason, breach }
    }

    /// Stops the new version's instances after a deploy failed before any
    /// traffic moved.
    async fn give_up(&self, plan: &DeployPlan, reason: String, bad_input: bool) -> Outcome {
        self.phase("stop", format!("stopping {}: {reason}", plan.version))
            .await;
        for t in &plan.targets {
            self.instances.stop(&t.config, &plan.version).await;
        }
        Outcome::Failed { reason, bad_input }
    }
}

#[cfg(test)]
mod tests;
