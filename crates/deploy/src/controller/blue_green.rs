//! Blue-green: green comes up beside blue and passes its smoke tests
//! before any user traffic; then traffic moves step by step (5% -> 50% ->
//! 100% by default), each step baked under analysis; at the end green
//! serves everything and blue is kept idle for an instant rollback until
//! its retirement time.

use std::time::Duration;

use super::{Abort, Controller, DeployPlan, Outcome, Target};
use crate::duration;
use crate::ports::{Events, Instances, Routing};

impl<I: Instances, R: Routing, E: Events> Controller<I, R, E> {
    pub(super) async fn blue_green(&self, plan: &DeployPlan, abort: &Abort) -> Outcome {
        let s = &plan.settings;
        let v = plan.version.as_str();
        if let Err(o) = self.bring_up(plan, abort, s.start_timeout).await {
            return o;
        }
        if let Err(o) = self.smoke(plan, abort).await {
            return o;
        }

        // A first deploy has nothing to shift from.
        let (fresh, shifting): (Vec<&Target>, Vec<&Target>) =
            plan.targets.iter().partition(|t| t.from.is_none());
        if !fresh.is_empty() {
            let moves: Vec<(&str, Vec<(&str, u32)>)> = fresh
                .iter()
                .map(|t| (t.config.name.as_str(), vec![(v, 100)]))
                .collect();
            let names: Vec<&str> = moves.iter().map(|(n, _)| *n).collect();
            self.phase(
                "traffic",
                format!(
                    "no version served {}: all of its traffic goes to {v} at once",
                    names.join(", ")
                ),
            )
            .await;
            if let Err(e) = self.shift(0, 0, &moves).await {
                return self.roll_back(plan, e, None).await;
            }
        }

        let steps = &s.steps;
        for (i, step) in steps.iter().enumerate() {
            if shifting.is_empty() {
                break;
            }
            if let Some(reason) = abort.reason() {
                return self.roll_back(plan, reason, None).await;
            }
            let moves: Vec<(&str, Vec<(&str, u32)>)> = shifting
                .iter()
                .map(|t| {
                    let from = t.from.as_deref().unwrap_or_default();
                    (
                        t.config.name.as_str(),
                        vec![(from, 100 - step.percent), (v, step.percent)],
                    )
                })
                .collect();
            self.phase(
                "traffic",
                format!(
                    "step {}/{}: {}% to {v}, baking {}",
                    i + 1,
                    steps.len(),
                    step.percent,
                    duration::format(step.bake)
                ),
            )
            .await;
            if let Err(e) = self.shift(i + 1, steps.len(), &moves).await {
                return self.roll_back(plan, e, None).await;
            }
            if let Err(o) = self
                .bake(plan, &shifting, i + 1, step, s.inconclusive, abort)
                .await
            {
                return o;
            }
        }

        self.promote(plan, Some(s.keep_previous)).await
    }

    /// Records the new version as serving. With `keep`, the old one stays
    /// (idle, in the route table) that long for an instant rollback.
    pub(super) async fn promote(&self, plan: &DeployPlan, keep: Option<Duration>) -> Outcome {
        let v = plan.version.as_str();
        let retire_at = keep.map(|k| (self.now_ms)() + k.as_millis() as i64);
        let any_previous = plan.targets.iter().any(|t| t.from.is_some());
        let kept = match keep.filter(|_| any_previous) {
            Some(k) => format!(
                "; the previous version stays idle for {} (slipway rollback switches back at once)",
                duration::format(k)
            ),
            None => String::new(),
        };
        self.phase("promote", format!("{v} serves all traffic{kept}"))
            .await;
        let mut problems = Vec::new();
        for t in &plan.targets {
            let previous = if keep.is_some() {
                t.from.as_deref()
            } else {
                None
            };
            if let Err(e) = self
                .routing
                .set_active(
                    &t.config.name,
                    Some(v),
                    t.from.as_deref(),
                    previous.and(retire_at),
                )
                .await
            {
                problems.push(e);
            }
        }
        if !problems.is_empty() {
            // Traffic is on the new version already; only the record of it
            // failed, and the route table the cluster keeps says the same.
            self.phase(
                "promote",
                format!("could not record the promotion: {}", problems.join("; ")),
            )
            .await;
        }
        Outcome::Promoted
    }
}
