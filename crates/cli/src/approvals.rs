//! Approvals: the `[teams]`, `[approvals]` and `[environments.<name>]`
//! sections of `slipway.toml`, and the engine's `ApprovalGate` port over
//! the state database.
//!
//! ```toml
//! [teams]
//! devops-team = ["alice", "bob", "carol"]
//!
//! [approvals]
//! timeout = "24h"            # a manual-approval step's longest wait
//!
//! [environments.production]
//! approvers = ["devops-team"] # users and teams
//! required-approvals = 2
//! prevent-self-review = true  # the run's actor cannot approve
//! wait-timer = "5m"           # or a number of minutes, as on GitHub
//! branches = ["main"]         # who may deploy here
//! timeout = "24h"
//! ```
//!
//! An environment's secrets live in `.slipway/environments/<name>.env`
//! (mode 0600); a job receives them only once its environment lets it
//! start.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Deserialize;
use slipway_engine::approval::{expand, ApprovalGate, Environment, GateDecision, GateRequest, Say};
use slipway_engine::concurrency::BoxFuture;
use slipway_model::LogLevel;
use slipway_store::approvals::NewGate;
use slipway_store::SqliteStore;
use tokio_util::sync::CancellationToken;

use crate::history::now_ms;
use crate::UsageError;

/// GitHub's limit for a pending deployment.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 24 * 3600);
const POLL: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub struct Settings {
    pub teams: Vec<(String, Vec<String>)>,
    pub timeout: Duration,
    pub environments: Vec<Environment>,
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    teams: BTreeMap<String, Vec<String>>,
    approvals: Option<ApprovalsSection>,
    #[serde(default)]
    environments: BTreeMap<String, EnvironmentSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalsSection {
    timeout: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct EnvironmentSection {
    #[serde(default)]
    approvers: Vec<String>,
    required_approvals: Option<usize>,
    #[serde(default)]
    prevent_self_review: bool,
    wait_timer: Option<toml::Value>,
    #[serde(default)]
    branches: Vec<String>,
    timeout: Option<toml::Value>,
}

impl Settings {
    /// From the repository's `slipway.toml` (none: no rules), with each
    /// environment's secrets file.
    pub fn load(dir: &Path) -> anyhow::Result<Settings> {
        let path = dir.join("slipway.toml");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(UsageError(format!("cannot read {}: {e}", path.display())).into()),
        };
        let mut settings = Settings::from_toml(&text)
            .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
        for env in &mut settings.environments {
            let file = dir
                .join(".slipway/environments")
                .join(format!("{}.env", env.name));
            if file.exists() {
                env.secrets = crate::cmd::run::read_private_env_file(&file)?;
            }
        }
        Ok(settings)
    }

    pub fn from_toml(text: &str) -> Result<Settings, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
        let teams: Vec<(String, Vec<String>)> = file.teams.into_iter().collect();
        let timeout = match file.approvals.and_then(|a| a.timeout) {
            Some(v) => duration(&v, "approvals.timeout", false)?,
            None => DEFAULT_TIMEOUT,
        };
        let mut environments = Vec::new();
        for (name, e) in file.environments {
            let key = |k: &str| format!("environments.{name}.{k}");
            let approvers = expand(&e.approvers, &teams);
            let required = e
                .required_approvals
                .unwrap_or(usize::from(!approvers.is_empty()));
            if required > approvers.len() {
                return Err(format!(
                    "{}: {required} approvals asked of {} approver(s) ({}); list more approvers or ask fewer approvals",
                    key("required-approvals"),
                    approvers.len(),
                    approvers.join(", ")
                ));
            }
            for b in &e.branches {
                slipway_workflow::filter_pattern::FilterPattern::parse(b)
                    .map_err(|err| format!("{}: `{b}`: {err}", key("branches")))?;
            }
            environments.push(Environment {
                approvers,
                required,
                prevent_self_review: e.prevent_self_review,
                wait_timer: match &e.wait_timer {
                    Some(v) => duration(v, &key("wait-timer"), true)?,
                    None => Duration::ZERO,
                },
                branches: e.branches,
                timeout: match &e.timeout {
                    Some(v) => duration(v, &key("timeout"), false)?,
                    None => timeout,
                },
                secrets: Vec::new(),
                name,
            });
        }
        Ok(Settings {
            teams,
            timeout,
            environments,
        })
    }
}

/// `"90s"`, `"15m"`, `"2h"`, `"30d"`; a bare number is minutes where
/// GitHub counts in minutes (`wait-timer`), seconds elsewhere.
fn duration(v: &toml::Value, key: &str, minutes: bool) -> Result<Duration, String> {
    let shown = match v {
        toml::Value::String(s) => format!("\"{s}\""),
        toml::Value::Integer(n) => n.to_string(),
        other => other.type_str().to_string(),
    };
    let bad = || {
        format!(
            "{key}: `{shown}` is not a duration; write e.g. \"90s\", \"15m\", \"2h\" or \"30d\""
        )
    };
    let (n, unit) = match v {
        toml::Value::Integer(n) if *n >= 0 => (*n as u64, if minutes { 60 } else { 1 }),
        toml::Value::String(s) => {
            let s = s.trim();
            let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
            let n: u64 = s[..split].parse().map_err(|_| bad())?;
            let unit = match &s[split..] {
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86400,
                _ => return Err(bad()),
            };
            (n, unit)
        }
        _ => return Err(bad()),
    };
    // A year at most: longer waits are mistakes, and deadlines must fit
    // the store's milliseconds.
    match n.checked_mul(unit) {
        Some(secs) if secs <= 366 * 86400 => Ok(Duration::from_secs(secs)),
        _ => Err(format!(
            "{key}: `{shown}` is longer than a year; write at most \"366d\""
        )),
    }
}

/// Gates kept in the state database. The waiting process polls its gate;
/// `slipway approve` and `reject`, from any terminal, write to it.
pub struct StoreApprovals {
    store: SqliteStore,
    run_id: i64,
    /// `--no-wait`: register the gate, then leave the run waiting.
    wait: bool,
    /// Gates waiting now, so the run reads `waiting` while any does.
    waiting: AtomicUsize,
}

impl StoreApprovals {
    pub fn new(store: SqliteStore, run_id: i64, wait: bool) -> StoreApprovals {
        StoreApprovals {
            store,
            run_id,
            wait,
            waiting: AtomicUsize::new(0),
        }
    }

    async fn decide(
        &self,
        request: &GateRequest,
        say: Say<'_>,
        cancel: CancellationToken,
    ) -> Result<(GateDecision, bool), slipway_store::StoreError> {
        let now = now_ms();
        let key = request.job.label();
        let gate = self
            .store
            .open_gate(&NewGate {
                run_id: self.run_id,
                job_key: &key,
                gate: &request.gate,
                job_id: &request.job.id,
                job_name: &request.job.name,
                title: &request.title,
                environment: request.environment.as_deref(),
                url: request.url.as_deref(),
                approvers: &request.approvers,
                required: request.required as i64,
                excluded: request.excluded.as_deref(),
                created_at: now,
                deadline: now.saturating_add(request.timeout.as_millis() as i64),
            })
            .await?;
        let mut seen = 0;
        let mut announced = false;
        loop {
            let gate = self
                .store
                .gate(gate.id)
                .await?
                .unwrap_or_else(|| gate.clone());
            let decisions = self.store.approvals(gate.id).await?;
            let approved: Vec<String> = decisions
                .iter()
                .filter(|d| d.decision == "approve")
                .map(|d| d.user.clone())
                .collect();
            for d in decisions.iter().skip(seen) {
                let comment = d
                    .comment
                    .as_deref()
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default();
                if d.decision == "approve" {
                    say(
                        LogLevel::Notice,
                        format!(
                            "approved by {} ({} of {}){comment}",
                            d.user,
                            approved
                                .iter()
                                .position(|u| *u == d.user)
                                .map_or(0, |p| p + 1),
                            gate.required
                        ),
                    );
                }
            }
            seen = decisions.len();
            match gate.state.as_str() {
                "approved" => return Ok((GateDecision::Approved { by: approved }, announced)),
                "rejected" => {
                    let r = decisions.iter().find(|d| d.decision == "reject");
                    let rejected = GateDecision::Rejected {
                        by: r.map(|d| d.user.clone()).unwrap_or_default(),
                        comment: r.and_then(|d| d.comment.clone()),
                    };
                    return Ok((rejected, announced));
                }
                "timed-out" => return Ok((GateDecision::TimedOut, announced)),
                _ => {}
            }
            if now_ms() > gate.deadline {
                self.store
                    .close_gate(gate.id, "timed-out", now_ms())
                    .await?;
                return Ok((GateDecision::TimedOut, announced));
            }
            if !announced {
                announced = true;
                let job = &request.job.id;
                say(
                    LogLevel::Notice,
                    format!(
                        "{}: waiting for approval, {} of {} approval(s) from {}{}",
                        request.title,
                        approved.len(),
                        gate.required,
                        gate.approvers.join(", "),
                        match &gate.excluded {
                            Some(who) => format!(" (not {who}, who started the run)"),
                            None => String::new(),
                        }
                    ),
                );
                say(
                    LogLevel::Notice,
                    format!(
                        "approve with `slipway approve {run} --job {job} --as NAME`, or reject with `slipway reject {run} --job {job} --as NAME`",
                        run = self.run_id
                    ),
                );
                if self.waiting.fetch_add(1, Ordering::SeqCst) == 0 {
                    self.store
                        .set_run_status(self.run_id, "waiting", std::process::id())
                        .await?;
                }
                if !self.wait {
                    say(
                        LogLevel::Notice,
                        format!(
                            "the run stops here (--no-wait); once approved, go on with `slipway resume {}`",
                            self.run_id
                        ),
                    );
                    return Ok((GateDecision::Detached, false));
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = cancel.cancelled() => return Ok((GateDecision::Cancelled, announced)),
            }
        }
    }
}

impl ApprovalGate for StoreApprovals {
    fn wait<'a>(
        &'a self,
        request: &'a GateRequest,
        say: Say<'a>,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, GateDecision> {
        Box::pin(async move {
            let (decision, counted) = match self.decide(request, say, cancel).await {
                Ok(d) => d,
                Err(e) => {
                    say(LogLevel::Error, format!("approval gate: {e}"));
                    (GateDecision::TimedOut, false)
                }
            };
            // Back to `running` once no gate of this run waits.
            if counted && self.waiting.fetch_sub(1, Ordering::SeqCst) == 1 {
                let _ = self
                    .store
                    .set_run_status(self.run_id, "running", std::process::id())
                    .await;
            }
            decision
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_expand_teams_and_check_their_numbers() {
        let s = Settings::from_toml(
            r#"
[teams]
devops-team = ["alice", "bob", "carol"]
[approvals]
timeout = "2h"
[environments.production]
approvers = ["devops-team", "dave", "bob"]
required-approvals = 2
prevent-self-review = true
wait-timer = 5
branches = ["main"]
[environments.staging]
"#,
        )
        .unwrap();
        let prod = s
            .environments
            .iter()
            .find(|e| e.name == "production")
            .unwrap();
        assert_eq!(prod.approvers, ["alice", "bob", "carol", "dave"]);
        assert_eq!(prod.required, 2);
        assert_eq!(prod.wait_timer, Duration::from_secs(300));
        assert_eq!(prod.timeout, Duration::from_secs(7200));
        let staging = s.environments.iter().find(|e| e.name == "staging").unwrap();
        assert_eq!(staging.required, 0);

        let err = Settings::from_toml(
            "[environments.production]\napprovers = [\"alice\"]\nrequired-approvals = 2\n",
        )
        .unwrap_err();
        assert!(err.starts_with("environments.production.required-approvals: 2 approvals asked of 1 approver(s) (alice)"), "{err}");
        let err =
            Settings::from_toml("[environments.production]\nwait-timer = \"soon\"\n").unwrap_err();
        assert!(
            err.contains("environments.production.wait-timer: `\"soon\"` is not a duration"),
            "{err}"
        );
        let err =
            Settings::from_toml("[environments.production]\napprover = [\"a\"]\n").unwrap_err();
        assert!(
            Settings::from_toml("[approvals]\ntimeout = \"99999999999999999d\"\n")
                .unwrap_err()
                .contains("is longer than a year")
        );
        assert!(err.contains("unknown field `approver`"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }
}
