//! A bake: traffic held at one step while the new version is judged
//! every interval. A breach (as many in a row as the failure limit asks)
//! rolls the deploy back at once; a step whose bake never saw enough
//! traffic to judge is judged once more over the whole bake, and then
//! inconclusive is inconclusive: never taken for healthy.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use slipway_model::deploy::{DeployEvent, Verdict, VersionFigures};
use tokio::time::{sleep_until, Instant};

use super::{Abort, Controller, DeployPlan, Outcome, Target};
use crate::analysis::{judge, Thresholds};
use crate::ports::{Events, Instances, Routing};
use crate::settings::{Inconclusive, Step};

impl<I: Instances, R: Routing, E: Events> Controller<I, R, E> {
    /// Holds `step` for its bake, analysing `targets` every interval.
    /// `Err` is the deploy's end: rolled back.
    pub(super) async fn bake(
        &self,
        plan: &DeployPlan,
        targets: &[&Target],
        step_number: usize,
        step: &Step,
        inconclusive: Inconclusive,
        abort: &Abort,
    ) -> Result<(), Outcome> {
        let s = &plan.settings;
        let thresholds = Thresholds {
            max_error_rate: s.max_error_rate,
            max_p95_ms: s.max_p95_ms,
            min_requests: s.min_requests,
        };
        let window = s.window();
        let start = Instant::now();
        let end = start + step.bake;
        let mut next = start + s.interval;
        let mut judged: BTreeSet<&str> = BTreeSet::new();
        let mut strikes: BTreeMap<&str, u32> = BTreeMap::new();
        loop {
            let wake = next.min(end);
            tokio::select! {
                reason = abort.aborted() => {
                    return Err(self.roll_back(plan, reason, None).await);
                }
                _ = sleep_until(wake) => {}
            }
            if wake == next {
                next += s.interval;
                for t in targets {
                    let name = t.config.name.as_str();
                    let verdict = self
                        .analyse(plan, name, step_number, window, &thresholds)
                        .await;
                    match verdict {
                        Verdict::Breach(b) => {
                            let n = strikes.entry(name).or_default();
                            *n += 1;
                            if *n >= s.failure_limit {
                                let reason = b.to_string();
                                return Err(self.roll_back(plan, reason, Some(b)).await);
                            }
                        }
                        Verdict::Healthy => {
                            strikes.insert(name, 0);
                            judged.insert(name);
                        }
                        Verdict::Inconclusive { .. } => {}
                    }
                }
            }
            if wake >= end {
                break;
            }
        }

        // Services no window could judge: once more over the whole bake.
        for t in targets {
            let name = t.config.name.as_str();
            if judged.contains(name) {
                continue;
            }
            match self
                .analyse(plan, name, step_number, step.bake.max(window), &thresholds)
                .await
            {
                Verdict::Healthy => {}
                Verdict::Breach(b) => {
                    let reason = b.to_string();
                    return Err(self.roll_back(plan, reason, Some(b)).await);
                }
                Verdict::Inconclusive { requests, needed } => {
                    let what = format!(
                        "{name} {}: {requests} requests at {}% in {}, fewer than the {needed} needed to judge it",
                        plan.version,
                        step.percent,
                        crate::duration::format(step.bake)
                    );
                    match inconclusive {
                        Inconclusive::Fail => {
                            return Err(self
                                .roll_back(plan, format!("inconclusive: {what}"), None)
                                .await)
                        }
                        Inconclusive::Continue => {
                            self.phase("traffic", format!("going on without a verdict: {what}"))
                                .await;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads a service's figures, judges the new version and reports both.
    async fn analyse(
        &self,
        plan: &DeployPlan,
        service: &str,
        step: usize,
        window: Duration,
        thresholds: &Thresholds,
    ) -> Verdict {
        // Figures are counted in whole seconds, the second under way
        // included; at an analysis that second has only just begun, so one
        // more is read to hold a full window.
        let window_seconds = window.as_secs_f64().ceil().max(1.0) as u64 + 1;
        let versions = self
            .routing
            .figures(service, Duration::from_secs(window_seconds));
        let figures = versions
            .iter()
            .find(|f| f.version == plan.version)
            .cloned()
            .unwrap_or(VersionFigures {
                version: plan.version.clone(),
                traffic_percent: 0.0,
                requests: 0,
                error_rate_percent: None,
                p95_ms: None,
            });
        let verdict = judge(service, &figures, window_seconds, thresholds);
        self.emit(DeployEvent::Analysis {
            service: service.to_string(),
            step,
            window_seconds,
            versions,
            verdict: verdict.clone(),
        })
        .await;
        verdict
    }
}
