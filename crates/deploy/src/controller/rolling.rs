//! Rolling: the new version's instances start beside the old ones; once
//! healthy they take the traffic in as many steps as there are instances,
//! each step watched for one analysis interval; when the new version is
//! stable the old one stops. Not stable within the timeout: the old
//! version keeps (or takes back) all traffic and the deploy fails.

use tokio::time::Instant;

use super::{Abort, Controller, DeployPlan, Outcome, Target};
use crate::duration;
use crate::ports::{Events, Instances, Routing};
use crate::settings::{Inconclusive, Step};

impl<I: Instances, R: Routing, E: Events> Controller<I, R, E> {
    pub(super) async fn rolling(&self, plan: &DeployPlan, abort: &Abort) -> Outcome {
        let s = &plan.settings;
        let v = plan.version.as_str();
        let deadline = Instant::now() + s.stable_timeout;
        if let Err(o) = self.bring_up(plan, abort, s.stable_timeout).await {
            return o;
        }

        let parts = plan
            .targets
            .iter()
            .map(|t| t.config.instances)
            .max()
            .unwrap_or(1)
            .max(1);
        let targets: Vec<&Target> = plan.targets.iter().collect();
        for k in 1..=parts {
            if let Some(reason) = abort.reason() {
                return self.roll_back(plan, reason, None).await;
            }
            if Instant::now() >= deadline {
                return self
                    .roll_back(
                        plan,
                        format!(
                            "{v} was not stable within {}",
                            duration::format(s.stable_timeout)
                        ),
                        None,
                    )
                    .await;
            }
            let percent = k * 100 / parts;
            let moves: Vec<(&str, Vec<(&str, u32)>)> = targets
                .iter()
                .map(|t| {
                    let weights = match t.from.as_deref() {
                        Some(from) => vec![(from, 100 - percent), (v, percent)],
                        None => vec![(v, 100)],
                    };
                    (t.config.name.as_str(), weights)
                })
                .collect();
            self.phase(
                "traffic",
                format!(
                    "{k}/{parts}: {percent}% to {v}, watched for {}",
                    duration::format(s.interval)
                ),
            )
            .await;
            if let Err(e) = self.shift(k as usize, parts as usize, &moves).await {
                return self.roll_back(plan, e, None).await;
            }
            // Stability is about health and breaches; a quiet staging
            // cluster must not fail its deploys for want of traffic.
            let step = Step {
                percent,
                bake: s.interval,
            };
            if let Err(o) = self
                .bake(
                    plan,
                    &targets,
                    k as usize,
                    &step,
                    Inconclusive::Continue,
                    abort,
                )
                .await
            {
                return o;
            }
        }

        // Stable: the old version goes.
        self.phase(
            "retire",
            format!("{v} is stable; stopping the previous version"),
        )
        .await;
        for t in &plan.targets {
            let Some(from) = t.from.as_deref() else {
                continue;
            };
            let table = self.table(&t.config.name, &[(v, 100)]);
            if let Err(e) = self.routing.route(&t.config.name, &table).await {
                self.phase("retire", format!("{}: {e}", t.config.name))
                    .await;
            }
            self.routing
                .wait_drained(&t.config.name, from, super::DRAIN_TIMEOUT)
                .await;
            self.instances.stop(&t.config, from).await;
        }
        self.promote(plan, None).await
    }
}
