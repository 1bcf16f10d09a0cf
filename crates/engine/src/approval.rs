//! Approval gates: a job's protected `environment`, and the
//! `trstringer/manual-approval` step. The engine asks the port to wait for
//! a decision; the store behind it keeps the request and every approval,
//! so approvals given from another terminal release the run and a run
//! whose process died finds them again when resumed.

use std::sync::Arc;
use std::time::Duration;

use slipway_model::{JobKey, LogLevel};
use tokio_util::sync::CancellationToken;

use crate::concurrency::BoxFuture;

/// What a gate asks for.
#[derive(Debug, Clone)]
pub struct GateRequest {
    pub job: JobKey,
    /// Which gate of the job: `environment`, or `step N` (1-based).
    pub gate: String,
    /// What is being approved, for people: "deploy to production".
    pub title: String,
    pub environment: Option<String>,
    pub url: Option<String>,
    /// Who may decide (teams already expanded to their members).
    pub approvers: Vec<String>,
    /// Approvals needed to go on; one rejection ends the wait.
    pub required: usize,
    /// Someone who may not approve: the run's actor when self-review is
    /// prevented.
    pub excluded: Option<String>,
    /// Longest wait before the gate fails.
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GateDecision {
    Approved {
        by: Vec<String>,
    },
    Rejected {
        by: String,
        comment: Option<String>,
    },
    TimedOut,
    Cancelled,
    /// The run stops here and is left waiting (`--no-wait`); approvals
    /// go on arriving, and `slipway resume` continues it.
    Detached,
}

/// Progress a gate reports while it waits (who approved so far, how to
/// approve), written to the job's log.
pub type Say<'a> = &'a (dyn Fn(LogLevel, String) + Send + Sync);

pub trait ApprovalGate: Send + Sync {
    fn wait<'a>(
        &'a self,
        request: &'a GateRequest,
        say: Say<'a>,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, GateDecision>;
}

/// A shared gate, for `RunSpec`.
#[derive(Clone)]
pub struct Approvals(pub Arc<dyn ApprovalGate>);

impl std::fmt::Debug for Approvals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Approvals")
    }
}

/// Protection rules of one environment (from `slipway.toml`).
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub name: String,
    /// Users, teams expanded.
    pub approvers: Vec<String>,
    pub required: usize,
    pub prevent_self_review: bool,
    /// Waited before the job starts, after any approval.
    pub wait_timer: Duration,
    /// Branch patterns allowed to deploy here; empty: any.
    pub branches: Vec<String>,
    pub timeout: Duration,
    /// Given to the job only once it may start.
    pub secrets: Vec<(String, String)>,
}

/// Teams by name, for approver lists that name them.
pub fn expand(names: &[String], teams: &[(String, Vec<String>)]) -> Vec<String> {
    let mut users: Vec<String> = Vec::new();
    for name in names {
        let members = match teams.iter().find(|(t, _)| t == name) {
            Some((_, members)) => members.clone(),
            None => vec![name.clone()],
        };
        for m in members {
            if !users.contains(&m) {
                users.push(m);
            }
        }
    }
    users
}
