//! The job side of approval gates: a protected `environment` before the
//! job's steps, and `trstringer/manual-approval` among them. Both wait
//! through the `ApprovalGate` port (see `approval.rs`).

use std::time::Duration;

use slipway_expr::Value;
use slipway_model::{JobKey, LogLevel};
use slipway_workflow::filter_pattern::{included, FilterPattern};
use slipway_workflow::workflow;
use tokio_util::sync::CancellationToken;

use crate::approval::{expand, GateDecision, GateRequest};
use crate::job::Shared;

/// How a gate ended for the job.
pub(crate) enum Passage {
    Open,
    /// The job fails, for this reason.
    Closed(String),
    Cancelled,
    /// Left waiting: the run stops here (`--no-wait`).
    Parked,
}

/// A job's `environment:` against its protection rules: branches allowed,
/// approvals, the wait timer. On the way through, the environment's
/// secrets join the job's `secrets`.
pub(crate) async fn environment(
    shared: &Shared,
    key: &JobKey,
    env: &workflow::Environment,
    ctx: &mut slipway_expr::MapContexts,
    cancel: &CancellationToken,
) -> Passage {
    let name = match env.name.template.eval(ctx) {
        Ok(v) => v.to_display_string(),
        Err(e) => return Passage::Closed(format!("`environment.name`: {}", e.message)),
    };
    let url = match env.url.as_ref().map(|u| u.template.eval(ctx)) {
        Some(Ok(v)) => Some(v.to_display_string()).filter(|u| !u.is_empty()),
        Some(Err(e)) => return Passage::Closed(format!("`environment.url`: {}", e.message)),
        None => None,
    };
    shared.log(
        key,
        None,
        LogLevel::Notice,
        match &url {
            Some(url) => format!("environment `{name}`: {url}"),
            None => format!("environment `{name}`"),
        },
    );
    let Some(rules) = shared.environments.iter().find(|e| e.name == name) else {
        return Passage::Open;
    };
    if !rules.branches.is_empty() {
        let branch = shared.event.ref_name();
        let patterns: Vec<FilterPattern> = rules
            .branches
            .iter()
            .filter_map(|b| FilterPattern::parse(b).ok())
            .collect();
        if !included(&patterns, branch) {
            return Passage::Closed(format!(
                "environment `{name}` takes deployments from {} only; this run is for `{branch}`",
                rules
                    .branches
                    .iter()
                    .map(|b| format!("`{b}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    if rules.required > 0 {
        let request = GateRequest {
            job: key.clone(),
            gate: "environment".into(),
            title: format!("deploy to {name}"),
            environment: Some(name.clone()),
            url,
            approvers: rules.approvers.clone(),
            required: rules.required,
            excluded: rules
                .prevent_self_review
                .then(|| shared.event.actor.clone()),
            timeout: rules.timeout,
        };
        match wait(shared, key, None, &request, cancel).await {
            Passage::Open => {}
            other => return other,
        }
    }
    if !rules.wait_timer.is_zero() {
        shared.log(
            key,
            None,
            LogLevel::Notice,
            format!(
                "waiting {} (the wait timer of environment `{name}`)",
                human(rules.wait_timer)
            ),
        );
        tokio::select! {
            _ = tokio::time::sleep(rules.wait_timer) => {}
            _ = cancel.cancelled() => return Passage::Cancelled,
        }
    }
    if !rules.secrets.is_empty() {
        let mut secrets = match ctx.get("secrets") {
            Some(Value::Object(entries)) => entries.clone(),
            _ => Vec::new(),
        };
        for (k, v) in &rules.secrets {
            shared.masker.add(v);
            match secrets.iter_mut().find(|(ok, _)| ok == k) {
                Some(slot) => slot.1 = Value::String(v.clone()),
                None => secrets.push((k.clone(), Value::String(v.clone()))),
            }
        }
        ctx.insert("secrets", Value::Object(secrets));
    }
    Passage::Open
}

/// `trstringer/manual-approval`: `approvers` (users and teams, comma
/// separated), `minimum-approvals` (default: all of them, as upstream),
/// `issue-title`, `exclude-workflow-initiator-as-approver`,
/// `fail-on-denial` (default true). The step's `timeout-minutes`, else
/// the configured approval timeout, bounds the wait.
pub(crate) async fn manual_approval(
    shared: &Shared,
    key: &JobKey,
    step: usize,
    with: &[(String, String)],
    timeout: Option<Duration>,
    cancel: &CancellationToken,
) -> (Passage, Vec<(LogLevel, String)>) {
    let input = |name: &str| {
        with.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let flag =
        |name: &str, default: bool| input(name).map_or(default, |v| v.eq_ignore_ascii_case("true"));
    let names: Vec<String> = input("approvers")
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return (
            Passage::Closed(
                "input `approvers` is required: users or teams, comma-separated".into(),
            ),
            Vec::new(),
        );
    }
    let approvers = expand(&names, &shared.teams);
    let required = match input("minimum-approvals").map(str::parse::<usize>) {
        None => approvers.len(),
        Some(Ok(n)) if n >= 1 && n <= approvers.len() => n,
        Some(_) => {
            return (
                Passage::Closed(format!(
                    "input `minimum-approvals` must be a number from 1 to {} (the approvers: {})",
                    approvers.len(),
                    approvers.join(", ")
                )),
                Vec::new(),
            )
        }
    };
    let request = GateRequest {
        job: key.clone(),
        gate: format!("step {}", step + 1),
        title: input("issue-title")
            .map(str::to_string)
            .unwrap_or_else(|| format!("manual approval for job `{}`", key.label())),
        environment: None,
        url: None,
        approvers,
        required,
        excluded: flag("exclude-workflow-initiator-as-approver", false)
            .then(|| shared.event.actor.clone()),
        timeout: timeout.unwrap_or(shared.approval_timeout),
    };
    match wait(shared, key, Some(step), &request, cancel).await {
        Passage::Closed(why) if why.starts_with("rejected") && !flag("fail-on-denial", true) => (
            Passage::Open,
            vec![(
                LogLevel::Warning,
                format!("{why}; `fail-on-denial: false` lets the job go on"),
            )],
        ),
        other => (other, Vec::new()),
    }
}

async fn wait(
    shared: &Shared,
    key: &JobKey,
    step: Option<usize>,
    request: &GateRequest,
    cancel: &CancellationToken,
) -> Passage {
    let Some(approvals) = &shared.approvals else {
        return Passage::Closed(format!(
            "{} needs approval, and this run has no approval store",
            request.title
        ));
    };
    let say = |level: LogLevel, line: String| shared.log(key, step, level, line);
    match approvals.0.wait(request, &say, cancel.clone()).await {
        GateDecision::Approved { by } => {
            shared.log(
                key,
                step,
                LogLevel::Notice,
                format!("approved by {}", by.join(", ")),
            );
            Passage::Open
        }
        GateDecision::Rejected { by, comment } => Passage::Closed(match comment {
            Some(c) => format!("rejected by {by}: {c}"),
            None => format!("rejected by {by}"),
        }),
        GateDecision::TimedOut => Passage::Closed(format!(
            "no decision on {} within {}",
            request.title,
            human(request.timeout)
        )),
        GateDecision::Cancelled => Passage::Cancelled,
        GateDecision::Detached => Passage::Parked,
    }
}

/// `90s`, `15m`, `2h 30m`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}
