//! Deploys as plain data: what a deploy reports while it runs
//! ([`DeployEvent`]), what the cluster keeps across its own restarts, and
//! the port ([`DeployStore`]) through which the deploy controller keeps it.
//!
//! Times are milliseconds since the Unix epoch.

use std::future::Future;

use serde::{Deserialize, Serialize};

/// How a deploy moves traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// New instances come up beside the old ones and take traffic as they
    /// become healthy; the old ones stop once the new version is stable.
    Rolling,
    /// The new version (green) comes up beside the serving one (blue),
    /// passes smoke tests, then takes traffic step by step under analysis.
    BlueGreen,
    /// Traffic back to the previous version (`slipway rollback`).
    Rollback,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Rolling => "rolling",
            Strategy::BlueGreen => "blue-green",
            Strategy::Rollback => "rollback",
        }
    }

    pub fn parse(s: &str) -> Option<Strategy> {
        match s {
            "rolling" => Some(Strategy::Rolling),
            "blue-green" => Some(Strategy::BlueGreen),
            "rollback" => Some(Strategy::Rollback),
            _ => None,
        }
    }
}

/// Where a deploy stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployState {
    Running,
    /// The new version serves all traffic.
    Promoted,
    /// Traffic went back to the previous version after a breach, a failed
    /// check, a cancellation or an interruption; the new version stopped.
    RolledBack,
    /// The deploy stopped before any traffic moved (the new version did
    /// not start, never became healthy, or failed its smoke tests).
    Failed,
    /// Nothing to do: every service already ran the version.
    Unchanged,
}

impl DeployState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployState::Running => "running",
            DeployState::Promoted => "promoted",
            DeployState::RolledBack => "rolled-back",
            DeployState::Failed => "failed",
            DeployState::Unchanged => "unchanged",
        }
    }

    pub fn parse(s: &str) -> Option<DeployState> {
        match s {
            "running" => Some(DeployState::Running),
            "promoted" => Some(DeployState::Promoted),
            "rolled-back" => Some(DeployState::RolledBack),
            "failed" => Some(DeployState::Failed),
            "unchanged" => Some(DeployState::Unchanged),
            _ => None,
        }
    }

    /// Whether a deploy in this state reached its goal.
    pub fn succeeded(self) -> bool {
        matches!(self, DeployState::Promoted | DeployState::Unchanged)
    }
}

/// One version's figures over an analysis window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionFigures {
    pub version: String,
    /// Its share of the service's traffic now, in percent.
    pub traffic_percent: f64,
    pub requests: u64,
    /// Failed requests (5xx answers and router errors) per hundred;
    /// `None` without requests.
    pub error_rate_percent: Option<f64>,
    /// `None` without requests.
    pub p95_ms: Option<f64>,
}

/// What one analysis of one version concluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Healthy,
    /// Too few requests in the window to judge: shown, never taken for
    /// healthy.
    Inconclusive {
        requests: u64,
        needed: u64,
    },
    Breach(Breach),
}

/// A threshold crossed: which metric, its value and the limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    pub service: String,
    pub version: String,
    /// `error_rate` (percent) or `p95` (milliseconds).
    pub metric: String,
    pub value: f64,
    pub threshold: f64,
    /// The window the figures were read over, in seconds.
    pub window_seconds: u64,
    pub requests: u64,
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.metric.as_str() {
            "error_rate" => write!(
                f,
                "{} {}: error rate {:.2}% is over {}% ({} requests in {} s)",
                self.service,
                self.version,
                self.value,
                self.threshold,
                self.requests,
                self.window_seconds
            ),
            _ => write!(
                f,
                "{} {}: p95 latency {:.0} ms is over {} ms ({} requests in {} s)",
                self.service,
                self.version,
                self.value,
                self.threshold,
                self.requests,
                self.window_seconds
            ),
        }
    }
}

/// One service's move in a deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceChange {
    pub service: String,
    /// The version serving before the deploy (blue); `None` for a first
    /// deploy.
    pub from: Option<String>,
    pub to: String,
}

/// A service's traffic split: `(version, weight)`; weights are percents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceWeights {
    pub service: String,
    pub weights: Vec<(String, u32)>,
}

/// What happens during a deploy, as plain data for every consumer: the
/// terminal, the store, the notifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeployEvent {
    Started {
        deploy: i64,
        cluster: String,
        strategy: Strategy,
        version: String,
        services: Vec<ServiceChange>,
    },
    /// A phase begins: `start`, `health`, `smoke`, `traffic`, `stable`,
    /// `promote`, `rollback`, `retire`.
    Phase { phase: String, message: String },
    /// An instance of a version changed state: `starting`, `healthy`,
    /// `unhealthy`, `exited`, `stopped`.
    Instance {
        service: String,
        version: String,
        slot: u32,
        address: String,
        state: String,
        detail: Option<String>,
    },
    Smoke {
        service: String,
        check: String,
        ok: bool,
        detail: String,
    },
    /// Weights changed (each service in one atomic swap).
    Traffic {
        /// 1-based step of the blue-green steps; 0 for other moves.
        step: usize,
        steps: usize,
        weights: Vec<ServiceWeights>,
    },
    /// One analysis of one service.
    Analysis {
        service: String,
        step: usize,
        window_seconds: u64,
        versions: Vec<VersionFigures>,
        /// The verdict on the version being deployed.
        verdict: Verdict,
    },
    Finished {
        state: DeployState,
        reason: Option<String>,
        breach: Option<Breach>,
        /// The deploy failed because it asked for something that does not
        /// exist (a version, a service): the command exits 2.
        #[serde(default)]
        invalid: bool,
        seconds: f64,
    },
}

/// An event as kept: its place in the deploy and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployEventRecord {
    pub seq: i64,
    pub at: i64,
    #[serde(flatten)]
    pub event: DeployEvent,
}

/// A deploy as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployRecord {
    pub id: i64,
    pub cluster: String,
    pub strategy: Strategy,
    pub version: String,
    pub services: Vec<ServiceChange>,
    pub actor: Option<String>,
    pub state: DeployState,
    /// The phase it is in (or ended in).
    pub phase: String,
    pub reason: Option<String>,
    pub breach: Option<Breach>,
    /// The options it ran with, as JSON text.
    pub request: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

/// A deploy about to start.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDeploy {
    pub cluster: String,
    pub strategy: Strategy,
    pub version: String,
    pub services: Vec<ServiceChange>,
    pub actor: Option<String>,
    pub request: String,
    pub started_at: i64,
}

/// Who holds a service a new deploy wanted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub service: String,
    pub deploy: i64,
    pub actor: Option<String>,
    pub version: String,
    pub started_at: i64,
}

/// A service of a cluster: which version serves, which served before,
/// and the route table the router is to have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRecord {
    pub service: String,
    pub active: Option<String>,
    pub previous: Option<String>,
    /// When the previous version is to be stopped (kept until then for an
    /// instant rollback).
    pub retire_at: Option<i64>,
    /// `(version, weight)`, weights in percent.
    pub routes: Vec<(String, u32)>,
}

/// One running instance of a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRecord {
    pub cluster: String,
    pub service: String,
    pub version: String,
    /// 0..instances of the version.
    pub slot: u32,
    /// The loopback port it listens on.
    pub port: u16,
    /// `process` or `docker`.
    pub runtime: String,
    pub pid: Option<i64>,
    /// The process's start time (clock ticks since boot, from
    /// `/proc/PID/stat`), so a reused pid is not taken for it.
    pub pid_start: Option<i64>,
    pub container: Option<String>,
    pub restarts: u32,
    pub started_at: i64,
}

/// A failure of the store itself (the message says what).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFailure(pub String);

impl std::fmt::Display for StoreFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreFailure {}

pub type StoreResult<T> = Result<T, StoreFailure>;

/// Where deploys and the state of clusters are kept (the SQLite store).
///
/// Lifecycle: one store per cluster daemon (and one per command that
/// reads history); every method is one transaction, safe to call from
/// several processes at once.
pub trait DeployStore: Clone + Send + Sync + 'static {
    /// Records a deploy and takes its services in one transaction; when a
    /// running deploy holds one of them, nothing is written and the holder
    /// is returned.
    fn begin_deploy(
        &self,
        new: &NewDeploy,
    ) -> impl Future<Output = StoreResult<Result<i64, Held>>> + Send;

    fn set_phase(&self, id: i64, phase: &str) -> impl Future<Output = StoreResult<()>> + Send;

    /// Appends an event; `record.seq` is the deploy's next number.
    fn add_event(
        &self,
        id: i64,
        record: &DeployEventRecord,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Ends a deploy and lets go of its services.
    fn finish_deploy(
        &self,
        id: i64,
        state: DeployState,
        reason: Option<&str>,
        breach: Option<&Breach>,
        finished_at: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn deploy(&self, id: i64) -> impl Future<Output = StoreResult<Option<DeployRecord>>> + Send;

    /// Newest first; `cluster` and `service` filter when given.
    fn deploys(
        &self,
        cluster: Option<&str>,
        service: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<DeployRecord>>> + Send;

    /// Events of a deploy with `seq` above `after`, in order.
    fn deploy_events(
        &self,
        id: i64,
        after: i64,
    ) -> impl Future<Output = StoreResult<Vec<DeployEventRecord>>> + Send;

    /// Deploys of the cluster still `running` (after a crash: the ones to
    /// recover).
    fn running_deploys(
        &self,
        cluster: &str,
    ) -> impl Future<Output = StoreResult<Vec<DeployRecord>>> + Send;

    fn services(
        &self,
        cluster: &str,
    ) -> impl Future<Output = StoreResult<Vec<ServiceRecord>>> + Send;

    /// Replaces a service's record (routes included) in one transaction.
    fn save_service(
        &self,
        cluster: &str,
        record: &ServiceRecord,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn instances(
        &self,
        cluster: &str,
    ) -> impl Future<Output = StoreResult<Vec<InstanceRecord>>> + Send;

    /// Inserts or replaces the instance (cluster, service, version, slot).
    fn save_instance(
        &self,
        record: &InstanceRecord,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn remove_instance(
        &self,
        cluster: &str,
        service: &str,
        version: &str,
        slot: u32,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
