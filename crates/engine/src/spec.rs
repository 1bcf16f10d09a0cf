//! What a run is asked to do.

use std::path::PathBuf;

use slipway_workflow::{Event, Workflow};

#[derive(Debug, Clone)]
pub struct RunSpec {
    pub run_id: u64,
    pub workflow: Workflow,
    pub event: Event,
    /// Jobs asked for (`--job`); with what they need. Empty: every job.
    pub jobs: Vec<String>,
    /// Job instances running at once.
    pub parallel: usize,
    /// Override workflow-level `env` (`--env KEY=VALUE`).
    pub env_overrides: Vec<(String, String)>,
    pub secrets: Vec<(String, String)>,
    pub vars: Vec<(String, String)>,
    /// The checkout the steps run in.
    pub workspace: PathBuf,
    /// The repository the run was started in (where its `.slipway/` state
    /// lives; the workspace may be a checkout under it). Steps see it as
    /// `SLIPWAY_REPOSITORY`, so `slipway` commands in them use that state.
    pub repository: PathBuf,
    /// This run's own folder: RUNNER_TEMP of each job, environment files,
    /// the event payload, artifacts.
    pub run_dir: PathBuf,
    /// PATH of the machine, the base every job's PATH starts from.
    pub host_path: String,
    /// Where job-level `concurrency` groups are coordinated; without one,
    /// groups are not enforced.
    pub gate: Option<crate::concurrency::Gate>,
    /// The slipway binary (for built-ins that run its commands, such as
    /// the coverage upload); None where there is none, e.g. in tests.
    pub slipway: Option<PathBuf>,
    /// Where approval gates wait; without one, a gate fails its job.
    pub approvals: Option<crate::approval::Approvals>,
    /// Protection rules by environment name (`slipway.toml`).
    pub environments: Vec<crate::approval::Environment>,
    /// Teams by name, for `trstringer/manual-approval`'s `approvers`.
    pub teams: Vec<(String, Vec<String>)>,
    /// How long a manual-approval step waits at most.
    pub approval_timeout: std::time::Duration,
    /// Jobs not to run, with the result they count as: those a resumed
    /// run finished before, or those `--skip-needs` leaves out.
    pub prior: Vec<PriorJob>,
}

#[derive(Debug, Clone)]
pub struct PriorJob {
    pub id: String,
    pub conclusion: slipway_model::Conclusion,
    pub outputs: Vec<(String, String)>,
    /// Its instances as the earlier process recorded them (kept in the
    /// run's summary); empty for a job that was not run.
    pub summaries: Vec<crate::summary::JobSummary>,
}

impl RunSpec {
    /// Indices of the jobs to run: those asked for and everything they
    /// need, in file order; every job when none was asked for.
    pub fn selected(&self) -> Result<Vec<usize>, String> {
        let jobs = &self.workflow.jobs;
        if self.jobs.is_empty() {
            return Ok((0..jobs.len()).collect());
        }
        let mut keep = vec![false; jobs.len()];
        let mut stack = Vec::new();
        for id in &self.jobs {
            match jobs.iter().position(|j| &j.id.value == id) {
                Some(i) => stack.push(i),
                None => {
                    let known: Vec<&str> = jobs.iter().map(|j| j.id.value.as_str()).collect();
                    return Err(format!(
                        "--job {id}: no such job; jobs: {}",
                        known.join(", ")
                    ));
                }
            }
        }
        while let Some(i) = stack.pop() {
            if !keep[i] {
                keep[i] = true;
                stack.extend(jobs[i].needs.iter().copied());
            }
        }
        Ok((0..jobs.len()).filter(|&i| keep[i]).collect())
    }
}
