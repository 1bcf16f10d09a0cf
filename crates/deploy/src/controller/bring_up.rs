//! Bringing the new version up beside the serving one: prepare (checkout
//! and build, or find the image), start, wait until healthy, smoke-test.
//! Nothing here touches traffic; a failure stops what was started.

use std::time::Duration;

use futures_util::future::join_all;
use slipway_model::deploy::DeployEvent;

use super::{Abort, Controller, DeployPlan, Outcome};
use crate::duration;
use crate::ports::{Events, Instances, Routing};

impl<I: Instances, R: Routing, E: Events> Controller<I, R, E> {
    pub(super) async fn bring_up(
        &self,
        plan: &DeployPlan,
        abort: &Abort,
        timeout: Duration,
    ) -> Result<(), Outcome> {
        let v = plan.version.as_str();
        self.clear_leftovers(plan).await;

        let names: Vec<&str> = plan
            .targets
            .iter()
            .map(|t| t.config.name.as_str())
            .collect();
        self.phase("start", format!("starting {v} of {}", names.join(", ")))
            .await;
        let prepared = join_all(
            plan.targets
                .iter()
                .map(|t| self.instances.prepare(&t.config, v)),
        )
        .await;
        let errors: Vec<_> = prepared.into_iter().filter_map(Result::err).collect();
        if !errors.is_empty() {
            let bad_input = errors.iter().any(|e| e.bad_input);
            let reason = errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(self.give_up(plan, reason, bad_input).await);
        }
        let started = join_all(
            plan.targets
                .iter()
                .map(|t| self.instances.start(&t.config, v)),
        )
        .await;
        let errors: Vec<String> = started
            .into_iter()
            .filter_map(|r| r.err().map(|e| e.message))
            .collect();
        if !errors.is_empty() {
            return Err(self.give_up(plan, errors.join("; "), false).await);
        }

        self.phase(
            "health",
            format!(
                "waiting for {v} to be healthy (at most {})",
                duration::format(timeout)
            ),
        )
        .await;
        let healthy = join_all(
            plan.targets
                .iter()
                .map(|t| self.instances.wait_healthy(&t.config, v, timeout)),
        );
        let results = tokio::select! {
            results = healthy => results,
            reason = abort.aborted() => {
                return Err(self.give_up(plan, format!("{reason} before any traffic moved"), false).await);
            }
        };
        let errors: Vec<String> = results
            .into_iter()
            .filter_map(|r| r.err().map(|e| e.message))
            .collect();
        if !errors.is_empty() {
            let serving: Vec<String> = plan
                .targets
                .iter()
                .filter_map(|t| t.from.as_ref().map(|f| format!("{f} of {}", t.config.name)))
                .collect();
            let keeps = if serving.is_empty() {
                String::new()
            } else {
                format!("; {} keeps serving", serving.join(", "))
            };
            return Err(self
                .give_up(plan, format!("{}{keeps}", errors.join("; ")), false)
                .await);
        }
        Ok(())
    }

    /// The smoke tests of every service, against the new version directly,
    /// before it takes any user traffic.
    pub(super) async fn smoke(&self, plan: &DeployPlan, abort: &Abort) -> Result<(), Outcome> {
        let v = plan.version.as_str();
        self.phase("smoke", format!("smoke tests against {v}"))
            .await;
        let mut failed = Vec::new();
        for t in &plan.targets {
            if let Some(reason) = abort.reason() {
                return Err(self
                    .give_up(plan, format!("{reason} before any traffic moved"), false)
                    .await);
            }
            for r in self.instances.smoke(&t.config, v).await {
                if !r.ok {
                    failed.push(format!("{} {}: {}", t.config.name, r.check, r.detail));
                }
                self.emit(DeployEvent::Smoke {
                    service: t.config.name.clone(),
                    check: r.check,
                    ok: r.ok,
                    detail: r.detail,
                })
                .await;
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(self
                .give_up(
                    plan,
                    format!("smoke tests failed: {}", failed.join("; ")),
                    false,
                )
                .await)
        }
    }

    /// Instances of the version being deployed that do not serve: a version
    /// kept for rollback that is deployed again, or what an earlier attempt
    /// left. They go (out of the route table first) so the deploy starts
    /// clean; so does a version kept from the deploy before the last.
    async fn clear_leftovers(&self, plan: &DeployPlan) {
        let v = plan.version.as_str();
        for t in &plan.targets {
            let name = t.config.name.as_str();
            let routes = self.routing.routes(name);
            let stale: Vec<String> = routes
                .iter()
                .filter(|r| Some(&r.version) != t.from.as_ref())
                .map(|r| r.version.clone())
                .collect();
            if !stale.is_empty() {
                let keep: Vec<_> = routes
                    .into_iter()
                    .filter(|r| Some(&r.version) == t.from.as_ref())
                    .collect();
                // Stale versions have no weight (the serving one has it
                // all), so nothing is in flight to them for long.
                let _ = self.routing.route(name, &keep).await;
                for s in &stale {
                    self.routing
                        .wait_drained(name, s, super::DRAIN_TIMEOUT)
                        .await;
                    self.instances.stop(&t.config, s).await;
                }
            }
            if t.from.as_deref() != Some(v) && !self.instances.addresses(name, v).is_empty() {
                self.instances.stop(&t.config, v).await;
            }
        }
    }
}
